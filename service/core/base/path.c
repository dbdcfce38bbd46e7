/* path.c - path joins. See path.h. */
#include "path.h"

#include <string.h>

int path_join(char *out, size_t n, const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    if (a + b + 2 > n) {
        if (n) out[0] = 0;
        return -1;
    }
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return 0;
}

/* path.h - joining a directory and a file name, the one copy (model files,
 * synthetic data files). Stateless and thread-safe. */
#ifndef PATH_PATH_H
#define PATH_PATH_H

#include <stddef.h>

/* dir + "/" + name into out (n bytes); 0, or -1 when it does not fit (out
 * is then the empty string). */
int path_join(char *out, size_t n, const char *dir, const char *name);

#endif

/* hugemem.c - see hugemem.h. */
#include "hugemem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { HUGEMEM_PAGE = 2 << 20 };

void *hugemem_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes < HUGEMEM_PAGE) return posix_memalign(&p, 64, bytes ? bytes : 1) ? NULL : p;
    if (posix_memalign(&p, HUGEMEM_PAGE, bytes)) return NULL;
    madvise(p, bytes, MADV_HUGEPAGE); /* advice: without it, 4 KB pages */
    return p;
}

void *hugemem_calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    void *p = hugemem_alloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

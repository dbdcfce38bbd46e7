/* hugemem.h - large arrays on transparent huge pages, for the catalogue-
 * sized arrays the request path reads at random (at 1M items each read of
 * a 4 KB-paged array is a TLB miss besides the cache miss; a 2 MB page
 * covers 512 times the bytes).
 *
 * The kernel here gives huge pages on request only (THP "madvise"), so a
 * block of 2 MB or more is aligned to 2 MB and marked MADV_HUGEPAGE; a
 * smaller one is aligned to a cache line (64 bytes). Either is released
 * with free().
 *
 * Thread safety: reentrant (malloc's own). */
#ifndef HUGEMEM_H
#define HUGEMEM_H

#include <stddef.h>

/* bytes of uninitialised memory (free() it), or NULL. */
void *hugemem_alloc(size_t bytes);

/* n * size zeroed bytes (free() it), or NULL (also on overflow). */
void *hugemem_calloc(size_t n, size_t size);

#endif

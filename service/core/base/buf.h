/* buf.h - growth of heap arrays, the one copy of the reserve pattern
 * (capacity doubled from 64 until the need fits). Stateless. */
#ifndef BUF_BUF_H
#define BUF_BUF_H

#include <stddef.h>

/* Makes room for need elements of size elem in *p (capacity *cap): 0 with
 * *p and *cap updated, or -1 on overflow or OOM leaving both as they were.
 * The check is inline (hot paths call it per element); buf_grow grows. */
int buf_grow(void **p, size_t *cap, size_t need, size_t elem);
static inline int buf_reserve(void **p, size_t *cap, size_t need, size_t elem) {
    return need <= *cap ? 0 : buf_grow(p, cap, need, elem);
}

#endif

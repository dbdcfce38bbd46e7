/* keysort.h - sorting small arrays by a 64-bit key, for the request path.
 *
 * qsort costs a call through a pointer per comparison and, in glibc, a
 * merge sort with a scratch buffer; a pool of a few hundred candidates is
 * sorted several times per request. Here the order is one integer
 * compare: the caller packs what it sorts by into the key (keysort_desc:
 * a float descending, then a 32-bit tie-break ascending) and sorts
 * (key, idx) entries, idx naming the element. */
#ifndef KEYSORT_H
#define KEYSORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct keysort_entry {
    uint64_t key;
    uint32_t idx;
} keysort_entry;

/* A key whose ascending order is v descending, then tie ascending (-0 and
 * +0 are equal; NaN sorts last). Inline: it is made for every entry of
 * every sort. */
static inline uint64_t keysort_desc(float v, uint32_t tie) {
    if (v == 0) v = 0; /* -0 -> +0 */
    uint32_t b;
    memcpy(&b, &v, sizeof(b));
    /* IEEE order as unsigned: flip every bit of negatives, the sign of the
     * rest; then invert for descending. NaN (all ones after the flip, or
     * above +inf) ends up first ascending, so it is mapped last below. */
    uint32_t asc = (b & 0x80000000u) ? ~b : b | 0x80000000u;
    if (v != v) asc = 0; /* NaN: after everything */
    return ((uint64_t)(~asc) << 32) | tie;
}

/* From KEYSORT_RADIX_MIN to KEYSORT_RADIX_MAX entries keysort_sort sorts
 * by bytes (LSD radix: no compare to mispredict); below, its quicksort
 * wins; above, the radix scratch would not fit the stack. */
#define KEYSORT_RADIX_MIN 56
#define KEYSORT_RADIX_MAX 1024

/* Sorts e[0..n) by key ascending (not stable: equal keys in any order;
 * callers make keys unique with the tie-break). */
void keysort_sort(keysort_entry *e, size_t n);

#endif

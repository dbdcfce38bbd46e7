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

typedef struct keysort_entry {
    uint64_t key;
    uint32_t idx;
} keysort_entry;

/* A key whose ascending order is v descending, then tie ascending (-0 and
 * +0 are equal; NaN sorts last). */
uint64_t keysort_desc(float v, uint32_t tie);

/* Sorts e[0..n) by key ascending (not stable: equal keys in any order;
 * callers make keys unique with the tie-break). */
void keysort_sort(keysort_entry *e, size_t n);

#endif

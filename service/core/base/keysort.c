/* keysort.c - see keysort.h. */
#include "keysort.h"

#include <string.h>

static void insertion(keysort_entry *e, size_t n) {
    for (size_t i = 1; i < n; i++) {
        keysort_entry x = e[i];
        size_t j = i;
        for (; j > 0 && e[j - 1].key > x.key; j--)
            e[j] = e[j - 1];
        e[j] = x;
    }
}

static void swap_e(keysort_entry *a, keysort_entry *b) {
    keysort_entry t = *a;
    *a = *b;
    *b = t;
}

/* Quicksort (median of three) down to runs of 16, then one insertion
 * pass; recursion on the smaller side keeps the depth logarithmic. */
static void quick(keysort_entry *e, size_t n) {
    while (n > 16) {
        size_t mid = n / 2, last = n - 1;
        if (e[mid].key < e[0].key) swap_e(&e[mid], &e[0]);
        if (e[last].key < e[0].key) swap_e(&e[last], &e[0]);
        if (e[last].key < e[mid].key) swap_e(&e[last], &e[mid]);
        uint64_t pivot = e[mid].key;
        size_t i = 0, j = last;
        for (;;) {
            while (e[i].key < pivot)
                i++;
            while (e[j].key > pivot)
                j--;
            if (i >= j) break;
            swap_e(&e[i], &e[j]);
            i++;
            j--;
        }
        size_t left = j + 1; /* [0, left) <= pivot <= [left, n) */
        if (left < n - left) {
            quick(e, left);
            e += left;
            n -= left;
        } else {
            quick(e + left, n - left);
            n = left;
        }
    }
}

/* Least significant digit first, a byte at a time, into tmp and back: a
 * pass moves every entry once, with no compare to mispredict; a byte that
 * is the same in every key (the high bytes of scores in a narrow range, of
 * small tie-breaks) costs no pass. The keys' bytes are counted in one
 * pass for all eight digits. */
static void radix(keysort_entry *e, keysort_entry *tmp, size_t n) {
    uint32_t count[8][256];
    memset(count, 0, sizeof(count));
    for (size_t i = 0; i < n; i++) {
        uint64_t k = e[i].key;
        for (int b = 0; b < 8; b++)
            count[b][(k >> (8 * b)) & 255]++;
    }
    keysort_entry *src = e, *dst = tmp;
    for (int b = 0; b < 8; b++) {
        uint32_t *c = count[b];
        if (c[(src[0].key >> (8 * b)) & 255] == n) continue; /* one value: no reorder */
        uint32_t at = 0;
        for (int d = 0; d < 256; d++) {
            uint32_t here = c[d];
            c[d] = at;
            at += here;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i].key >> (8 * b)) & 255]++] = src[i];
        keysort_entry *t = src;
        src = dst;
        dst = t;
    }
    if (src != e) memcpy(e, src, n * sizeof(*e));
}

void keysort_sort(keysort_entry *e, size_t n) {
    if (n < 2) return;
    if (n >= KEYSORT_RADIX_MIN && n <= KEYSORT_RADIX_MAX) {
        keysort_entry tmp[KEYSORT_RADIX_MAX];
        radix(e, tmp, n);
        return;
    }
    quick(e, n);
    insertion(e, n);
}

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
 * pass moves every entry once, with no compare to mispredict. Only the
 * bytes where keys differ are counted and passed over (the high bytes of
 * scores in a narrow range and of small tie-breaks are the same in every
 * key), and their counts are turned into offsets in one loop over the
 * digit values for all of them: the running sums are independent chains
 * that the CPU overlaps (one after another they were a quarter of a sort
 * of 200). */
static void radix(keysort_entry *e, keysort_entry *tmp, size_t n) {
    uint64_t any = 0, every = ~(uint64_t)0;
    for (size_t i = 0; i < n; i++) {
        any |= e[i].key;
        every &= e[i].key;
    }
    uint64_t differ = any ^ every;
    int shift[8], nd = 0;
    for (int b = 0; b < 8; b++)
        if ((differ >> (8 * b)) & 255) shift[nd++] = 8 * b;
    if (nd == 0) return;    /* every key the same: nothing to order */
    uint16_t count[8][256]; /* n <= KEYSORT_RADIX_MAX fits */
    memset(count, 0, (size_t)nd * sizeof(count[0]));
    for (size_t i = 0; i < n; i++) {
        uint64_t k = e[i].key;
        for (int d = 0; d < nd; d++)
            count[d][(k >> shift[d]) & 255]++;
    }
    uint16_t at[8] = {0};
    for (int v = 0; v < 256; v++)
        for (int d = 0; d < nd; d++) {
            uint16_t here = count[d][v];
            count[d][v] = at[d];
            at[d] = (uint16_t)(at[d] + here);
        }
    keysort_entry *src = e, *dst = tmp;
    for (int d = 0; d < nd; d++) {
        uint16_t *c = count[d];
        int sh = shift[d];
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i].key >> sh) & 255]++] = src[i];
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

/* ann_topk.c - reservoir selection of the k best pairs. See ann_topk.h. */
#include "ann_topk.h"

#include <string.h>

#include "keysort.h"

static inline void swap_at(ann_topk *t, size_t a, size_t b) {
    float s = t->sc[a];
    int64_t i = t->it[a];
    t->sc[a] = t->sc[b];
    t->it[a] = t->it[b];
    t->sc[b] = s;
    t->it[b] = i;
}

/* Rearranges [lo, hi) so that its first k' = k - lo entries are its best
 * (quickselect, median-of-three pivot; descending by score). */
static void select_best(ann_topk *t, size_t lo, size_t hi, size_t k) {
    while (hi - lo > 1 && k > lo && k < hi) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        /* median of three to `last` as the pivot */
        if (t->sc[mid] > t->sc[lo]) swap_at(t, mid, lo);
        if (t->sc[last] > t->sc[lo]) swap_at(t, last, lo);
        if (t->sc[mid] > t->sc[last]) swap_at(t, mid, last);
        float pivot = t->sc[last];
        size_t store = lo;
        /* Lomuto without a branch: [lo, store) > pivot, [store, i) <= it.
         * Swapping i with store when i is not above the pivot exchanges
         * two entries of the second part, which keeps it; the scores come
         * in no order, so a branch here would be mispredicted half the
         * time. */
        float *sc = t->sc;
        int64_t *it = t->it;
        for (size_t i = lo; i < last; i++) {
            float v = sc[i];
            int64_t id = it[i];
            sc[i] = sc[store];
            it[i] = it[store];
            sc[store] = v;
            it[store] = id;
            store += v > pivot;
        }
        swap_at(t, store, last); /* [lo, store) > pivot, store = pivot */
        if (store == k || store + 1 == k) return;
        if (store > k)
            hi = store;
        else
            lo = store + 1;
    }
}

void ann_topk_start(ann_topk *t, float *sc, int64_t *it, size_t cap, size_t k) {
    *t = (ann_topk){.sc = sc, .it = it, .n = 0, .cap = cap, .k = k, .floor = -FLT_MAX};
}

void ann_topk_compact(ann_topk *t) {
    if (t->n < t->k) return;
    if (t->n > t->k) select_best(t, 0, t->n, t->k);
    t->n = t->k;
    float lowest = t->sc[0];
    for (size_t i = 1; i < t->k; i++)
        if (t->sc[i] < lowest) lowest = t->sc[i];
    if (t->k > 0 && lowest > t->floor) t->floor = lowest;
}

/* Best first by keysort's radix (ties in reservoir order), for the sizes
 * where it beats the shell sort below: 100 scores 2.2 -> 1.3 us. */
static void sort_best_first_radix(ann_topk *t) {
    keysort_entry e[KEYSORT_RADIX_MAX];
    float sc[KEYSORT_RADIX_MAX];
    int64_t it[KEYSORT_RADIX_MAX];
    size_t n = t->n;
    for (size_t i = 0; i < n; i++)
        e[i] = (keysort_entry){keysort_desc(t->sc[i], (uint32_t)i), (uint32_t)i};
    keysort_sort(e, n);
    for (size_t i = 0; i < n; i++) {
        sc[i] = t->sc[e[i].idx];
        it[i] = t->it[e[i].idx];
    }
    memcpy(t->sc, sc, n * sizeof(float));
    memcpy(t->it, it, n * sizeof(int64_t));
}

/* Shell sort, best first: nearly every finish sorts what a compaction
 * just left (no order); gaps keep it O(k^1.3). */
static void sort_best_first(ann_topk *t) {
    if (t->n >= KEYSORT_RADIX_MIN && t->n <= KEYSORT_RADIX_MAX) {
        sort_best_first_radix(t);
        return;
    }
    static const size_t gaps[] = {57, 23, 10, 4, 1};
    for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        size_t gap = gaps[g];
        for (size_t i = gap; i < t->n; i++) {
            float s = t->sc[i];
            int64_t id = t->it[i];
            size_t j = i;
            for (; j >= gap && t->sc[j - gap] < s; j -= gap) {
                t->sc[j] = t->sc[j - gap];
                t->it[j] = t->it[j - gap];
            }
            t->sc[j] = s;
            t->it[j] = id;
        }
    }
}

float ann_topk_guess(const ann_topk *t, const float *v, size_t n) {
    enum { SAMPLES = ANN_TOPK_SAMPLES };
    if (t->k == 0 || n < 4 * t->k || n < SAMPLES) return -FLT_MAX;
    /* the sample rank with about 1.5k of the block above it */
    size_t r = (3 * t->k * SAMPLES + 2 * n - 1) / (2 * n); /* ceil(1.5 k m / n) */
    if (r == 0 || r >= SAMPLES) return -FLT_MAX;
    float best[SAMPLES]; /* the r best samples, descending */
    size_t nb = 0;
    for (size_t s = 0; s < SAMPLES; s++) {
        float x = v[ann_topk_sample_at(s, n)];
        if (nb == r && x <= best[r - 1]) continue;
        size_t j = nb < r ? nb++ : r - 1;
        for (; j > 0 && best[j - 1] < x; j--)
            best[j] = best[j - 1];
        best[j] = x;
    }
    return best[r - 1];
}

float ann_topk_floor(const float *v, size_t n, size_t k) {
    enum { SAMPLES = ANN_TOPK_SAMPLES };
    if (k == 0 || n < 4 * k || n < SAMPLES) return -FLT_MAX;
    float x[SAMPLES]; /* the samples, best first */
    for (size_t j = 0; j < SAMPLES; j++) {
        float s = v[ann_topk_sample_at(j, n)];
        size_t t = j;
        for (; t > 0 && x[t - 1] < s; t--)
            x[t] = x[t - 1];
        x[t] = s;
    }
    size_t r = (3 * k * SAMPLES + 2 * n - 1) / (2 * n); /* ceil(1.5 k m / n) */
    for (r = r ? r : 1;; r *= 2) {
        if (r > SAMPLES) r = SAMPLES;
        if (ann_topk_count_above(v, n, x[r - 1]) >= k) return x[r - 1];
        if (r == SAMPLES) return -FLT_MAX;
    }
}

float ann_topk_select(float *a, size_t n, size_t k) {
    /* quickselect, the middle as pivot (the values come in list order) */
    size_t lo = 0, hi = n, want = k - 1;
    while (hi - lo > 1) {
        float pivot = a[lo + (hi - lo) / 2];
        size_t i = lo, j = hi - 1;
        while (i <= j) { /* Hoare: [lo, i) >= pivot, (j, hi) <= pivot */
            while (a[i] > pivot)
                i++;
            while (a[j] < pivot)
                j--;
            if (i <= j) {
                float t = a[i];
                a[i++] = a[j];
                a[j] = t;
                if (j-- == 0) break;
            }
        }
        if (want <= j && j != (size_t)-1)
            hi = j + 1;
        else if (want >= i)
            lo = i;
        else
            return a[want]; /* between the parts: equal to the pivot */
    }
    return a[want];
}

size_t ann_topk_count_above(const float *v, size_t n, float x) {
    size_t above = 0;
    for (size_t i = 0; i < n; i++) /* no branch: the compiler vectorises it */
        above += v[i] > x;
    return above;
}

size_t ann_topk_finish(ann_topk *t) {
    ann_topk_compact(t);
    sort_best_first(t);
    return t->n;
}

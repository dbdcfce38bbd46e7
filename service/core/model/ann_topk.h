/* ann_topk.h - the k best (score, id) pairs of a stream, for the list
 * scans of ann.c.
 *
 * A reservoir instead of a heap: a pair enters only when its score beats
 * the floor (the k-th best known at the last compaction), by one compare
 * and one store; when the reservoir fills, a selection keeps the best k
 * and raises the floor. A heap pays log k moves for every pair that enters
 * (thousands per request when the query is near many items); this pays
 * O(cap) per compaction, which happens at most once per cap - k entries.
 * Ties at the floor are kept or dropped in any order.
 *
 * The caller owns the arrays (capacity cap >= k + 1; 2k or more keeps
 * compactions rare). Not thread-safe: one per thread (scratch). */
#ifndef ANN_TOPK_H
#define ANN_TOPK_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ann_topk {
    float *sc;   /* cap scores (borrowed) */
    int64_t *it; /* cap ids (borrowed) */
    size_t n, cap, k;
    float floor; /* a pair scoring at or below it cannot be among the best k */
} ann_topk;

/* Starts an empty selection of the k best into sc/it (capacity cap > k). */
void ann_topk_start(ann_topk *t, float *sc, int64_t *it, size_t cap, size_t k);

/* Keeps the best k entries (the floor becomes the k-th's score when there
 * are k). */
void ann_topk_compact(ann_topk *t);

static inline void ann_topk_add(ann_topk *t, float v, int64_t id) {
    if (v <= t->floor) return;
    t->sc[t->n] = v;
    t->it[t->n] = id;
    if (++t->n == t->cap) ann_topk_compact(t);
}

/* Where the k-th best of a block of scores v[0..n) probably lies, from a
 * sample of v: a value with about 1.5k of v above it, or -FLT_MAX when the
 * block is too small to guess. Raising a fresh t's floor to it keeps only
 * about 1.5k entries (no compaction, one selection at the end), but is
 * right only when at least k of what t then receives beats it: callers
 * check (ann_topk_count_above), or add and start again with no floor when
 * fewer than k entered. */
float ann_topk_guess(const ann_topk *t, const float *v, size_t n);
/* The guess reads v at these positions only: ann_topk_sample_at(s, n)
 * for s < ANN_TOPK_SAMPLES, when n >= ANN_TOPK_SAMPLES. */
#define ANN_TOPK_SAMPLES 32
static inline size_t ann_topk_sample_at(size_t s, size_t n) {
    return s * n / ANN_TOPK_SAMPLES;
}
/* How many of v[0..n) are above x. */
size_t ann_topk_count_above(const float *v, size_t n, float x);

/* A value that at least k of v[0..n) are above, for certain: of the
 * samples (ann_topk_sample_at), the one with about 1.5 k of v above it,
 * counted, or lower ones until k are (the lowest has about 31/32 of v
 * above it). -FLT_MAX when v is shorter than 4 k or than the samples, or
 * when even the lowest sample has fewer than k above it. */
float ann_topk_floor(const float *v, size_t n, size_t k);

/* The k-th largest of a[0..n) (0 < k <= n); rearranges a. */
float ann_topk_select(float *a, size_t n, size_t k);

/* Leaves the best min(n, k) entries in t->sc/t->it, best first (ties in
 * any order); returns their count. */
size_t ann_topk_finish(ann_topk *t);

#endif

/* retrieve.h - candidate sources and the blended pool.
 *
 * Sources (each candidate remembers which one found it, for explanations):
 *  - mixture: kNN-Embed. The budget K is split across the user's mixture
 *    components by weight with largest-remainder rounding; component c is
 *    answered by searching the user vector inside interest list c (one
 *    batched FAISS call for all components), over-fetched so that
 *    excluded items do not leave holes; shortfalls are refilled from the
 *    over-fetched reserve by score. The list is interleaved so that every
 *    prefix splits its length across interests by weight (or, as an
 *    option, ordered by score).
 *  - single: one global ANN search with the user vector (the baseline).
 *  - popular: recent popularity.
 *  - blend: the pool the service uses. Every source with a positive share
 *    fetches K candidates; the lists are fused by weighted reciprocal rank
 *    (Cormack et al., SIGIR 2009): fused(i) = sum over the sources s that
 *    found i of share_s / (rrf_k + rank_s(i)); duplicates merge (an item
 *    found by several sources ranks higher and remembers them all), and
 *    the top K by fused score form the pool. The shares are the budgets:
 *    a source's share is its weight in the fusion. With pool_union (the
 *    default), every distinct candidate is kept, up to RET_N_SOURCES x K,
 *    still in fused order: each source keeps its own top K, so the pool
 *    can never recall less than its best source at K, whatever the shares
 *    (the fusion only orders it; a ranker then picks from all of it).
 * A ret_ctx is per-thread scratch (no allocation per query); the index,
 * popularity table and mixtures it reads are shared read-only. */
#ifndef RET_RETRIEVE_H
#define RET_RETRIEVE_H

#include <stddef.h>
#include <stdint.h>

#include "ann.h"
#include "mx_err.h"
#include "popular.h"

enum { RET_MIXTURE = 0, RET_SINGLE = 1, RET_POPULAR = 2, RET_N_SOURCES = 3 };

const char *ret_source_name(int source); /* "mixture", "single", "popular"; "unknown" */
/* The source's letter in the impression record's compact `sources`
 * (docs/streams.md): 'm', 's', 'p'; '?' for no source. Distinct and
 * lowercase; retrieve.c keeps it in the same table row as the name. */
char ret_source_letter(int source);

typedef struct ret_cand {
    uint32_t item;
    float score;       /* the source's score (inner product, popularity) */
    uint32_t interest; /* interest list it came from (mixture), else UINT32_MAX */
    float weight;      /* that interest's mixture weight, else 0 */
    uint16_t rank;     /* rank within its source (0-based) */
    uint8_t source;    /* RET_*: the source that found it (blend: the one
                          contributing most to its fused score) */
    uint8_t sources;   /* bit (1 << RET_*) for every source that found it */
    float fused;       /* blend: fused score, else 0 */
} ret_cand;

/* Order of the mixture source's list: interleaved by weight (every prefix
 * keeps the budget split) or by score. */
enum { RET_ORDER_INTERLEAVE = 0, RET_ORDER_SCORE = 1 };

typedef struct ret_params {
    float overfetch;                  /* per-component fetch: budget x overfetch + 8 +
                                         min(excluded, 32); default 1 */
    size_t nprobe;                    /* single/similar: lists probed, default 16;
                                         0 = all lists (exact) */
    float blend_share[RET_N_SOURCES]; /* default 0.2 mixture, 0.2 single, 0.6 popular */
    float rrf_k;                      /* blend fusion constant, default 60 */
    size_t mixture_order;             /* RET_ORDER_*, default by score */
    float mixture_sharpen;            /* budget split by w^gamma, default 0.5 */
    int pool_union;                   /* blend keeps every source's top K (up to
                                         RET_N_SOURCES x K candidates), default 1 */
} ret_params;

void ret_params_init(ret_params *p); /* the defaults: bconfig.c's rows */

typedef struct ret_ctx ret_ctx;

/* Scratch for queries up to max_k results and max_components mixture
 * components over a catalogue of n_items. item_interest (n_items, each
 * item's list in ix; may be NULL; borrowed, must outlive the context)
 * lets a mixture row fetch extra for the exclusions in its own list only.
 * NULL on OOM. */
ret_ctx *ret_ctx_new(const ann_index *ix, const uint32_t *item_interest, size_t n_items,
                     size_t max_k, size_t max_components);
void ret_ctx_free(ret_ctx *c);
/* Starts a query: items excluded from every source until the next call
 * (already seen, explicitly excluded, blocked by the catalogue). The last
 * n_blocked of exclude are catalogue-wide (hidden, expired): the searches
 * fetch extra for the user's own exclusions one for one (they lie near the
 * user's query), but for blocked items only by their share of the
 * catalogue (twice it), so that hiding a thousand items does not make every
 * search a thousand deeper. */
void ret_begin(ret_ctx *c, const uint32_t *exclude, size_t n_exclude, size_t n_blocked);
/* 1 when item is among the exclusions of the last ret_begin on c (0 for an
 * item out of range, and before the first ret_begin). */
int ret_excluded(const ret_ctx *c, uint32_t item);

/* Splits K over weights w[0..m) by largest remainder; out[j] sums to K.
 * Ties in the remainder go to the earlier component. */
void ret_allocate(const float *w, size_t m, size_t k, size_t *out);

/* Each source appends at most k candidates to out (capacity >= k) and
 * sets *n. They skip excluded items and items taken earlier in the same
 * query (so calling sources one after another de-duplicates). */
int ret_mixture(ret_ctx *c, const ann_index *ix, const float *q, const uint32_t *cid,
                const float *w, size_t m, size_t k, const ret_params *p, ret_cand *out, size_t *n,
                mx_err *err);
int ret_single(ret_ctx *c, const ann_index *ix, const float *q, size_t k, const ret_params *p,
               ret_cand *out, size_t *n, mx_err *err);
int ret_popular(ret_ctx *c, const pop_table *pop, size_t k, ret_cand *out, size_t *n);

/* The blended pool (see above): k candidates, or with p->pool_union up to
 * RET_N_SOURCES x k (out's capacity must allow it). q may be NULL (no user
 * vector: popular fills everything); m may be 0. */
int ret_blend(ret_ctx *c, const ann_index *ix, const pop_table *pop, const float *q,
              const uint32_t *cid, const float *w, size_t m, size_t k, const ret_params *p,
              ret_cand *out, size_t *n, mx_err *err);

/* Nanoseconds c's blends spent since c was made: [s] in source s (RET_*),
 * [RET_N_SOURCES] fusing and de-duplicating (monotonic clock). */
const uint64_t *ret_stage_ns(const ret_ctx *c);

#endif

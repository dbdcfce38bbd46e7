/* embcache.h - learned embeddings kept between builds of a tuning search.
 *
 * `mixrec tune` builds dozens of models from the same training events; most
 * trials change settings downstream of the embeddings (smoothing, shares,
 * the ranker), so their ALS would repeat the previous trial's exactly. A
 * cache remembers the user and item vectors of the last few (events, embed
 * settings) pairs; pipe_build (pipe_inputs.emb_cache) copies a hit instead
 * of training. The events are identified by their array, count, first and
 * last timestamps: the caller must not change an array's contents while it
 * is cached. Not thread-safe: one search owns a cache. */
#ifndef EMBC_EMBCACHE_H
#define EMBC_EMBCACHE_H

#include <stddef.h>

#include "dataset.h"
#include "embed.h"
#include "mx_err.h"

typedef struct embc_cache embc_cache;

/* Holds at most max_entries pairs (the oldest goes first). NULL on OOM. */
embc_cache *embc_new(size_t max_entries);
void embc_free(embc_cache *c);

/* Copies the vectors learned from (ev, n) with p into user_vecs (n_users x
 * p->dim) and item_vecs (n_items x p->dim); 1 on a hit, 0 on a miss (the
 * outputs untouched). */
int embc_get(embc_cache *c, const ds_event *ev, size_t n, const emb_params *p, size_t n_users,
             size_t n_items, float *user_vecs, float *item_vecs);
/* Remembers copies of the vectors; MX_ENOMEM leaves the cache as it was. */
int embc_put(embc_cache *c, const ds_event *ev, size_t n, const emb_params *p, size_t n_users,
             size_t n_items, const float *user_vecs, const float *item_vecs, mx_err *err);
/* Hits so far (for the search's report). */
size_t embc_hits(const embc_cache *c);

#endif

/* catview.h - a worker's view of the live catalogue: the store's snapshot
 * (catstore.h) resolved on the model the worker serves, kept until either
 * changes (the "cache in each worker"; a change costs one pass over the
 * overrides, at the first request after it).
 *
 * What it answers per request, without touching Redis:
 *  - blocked: the model's items no answer may hold now (hidden; expired
 *    by the request's time: expiry needs no message, it is checked here);
 *  - fresh: items the model has not trained on (PUT) that match the
 *    request: their categories overlap the user's (the categories of the
 *    user's training items and, counted double, of the session's items),
 *    or, for an item given with a vector, the request's query vector is at
 *    least catalog.fresh_min_cosine close; added within catalog.fresh_days;
 *    best match first, newer first on ties;
 *  - placement: the active promotions' candidates and the fresh items
 *    put into an answer (place.h), each obeying the request's exclusions;
 *  - overrides: an item's title and categories as an operator set them
 *    (shown in answers; the request filters read the model's categories).
 *
 * Threading: a catview belongs to one worker thread. What it returns
 * (rec_extra, titles) stays valid until its next catview_update. */
#ifndef CATVIEW_CATVIEW_H
#define CATVIEW_CATVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "catstore.h"
#include "model.h"
#include "prom.h"
#include "rec_filter.h"
#include "recommend.h"
#include "sessions.h"
#include "srv_config.h"

typedef struct catview catview;

/* cfg: catalog.fresh_min_cosine and catalog.fresh_days (read now). */
catview *catview_new(const srv_config *cfg); /* NULL on OOM */
void catview_free(catview *v);

/* Brings v up to date with s's snapshot on model m (nothing to do when
 * neither changed). s NULL: an empty catalogue. MX_ENOMEM. */
int catview_update(catview *v, catstore *s, const mx_model *m, mx_err *err);

/* The model's items blocked at time now (v's scratch, until the next call). */
const uint32_t *catview_blocked(catview *v, int64_t now, size_t *n);

/* What a fresh-item match needs to know about the request. */
typedef struct catview_ask {
    int64_t user;             /* dense user id, -1: unknown */
    const sess_event *events; /* the stored session (string ids: new items too) */
    size_t n_events;
    const char *const *skip; /* more ids the answer must not hold (the request's
                                exclusions the model does not know) */
    size_t n_skip;
    const float *qvec; /* the request's query vector (rec_last_query), or NULL */
    int64_t now;
    const rec_query *query; /* its filters (rec_filter_admits), or NULL */
    rec_ctx *ctx;           /* the context that answered it (rec_last_excluded; rec_rank_new
                               ranks the fresh items on it), or NULL */
    /* shown(arg, id): 1 when an earlier page of the chain showed id; NULL: none */
    int (*shown)(const void *arg, const char *id);
    const void *shown_arg;
} catview_ask;

/* Up to cap fresh items for the request, best first, as answer items
 * (item UINT32_MAX, extra set, reason REC_REASON_NEW). Eligible items
 * match the user's categories or query vector; when the request's answer
 * was ranked (a->ctx, a->query), the ranker orders the best matches
 * (rank_score, ranked 1), else the match does. Returns the count. */
size_t catview_fresh(catview *v, const mx_model *m, const catview_ask *a, rec_item *out,
                     size_t cap);

/* Puts the active promotions' items and the fresh items into the answer
 * items[0..n) (capacity >= k, ordered) as place.h says: promotions in
 * order (settings first, then the stored ones), then the fresh source with
 * catalog.fresh_share of the slots. Candidates obey the request's
 * exclusions, filters and earlier pages (a). Counts what it placed in
 * metrics (may be NULL). Returns the new length (<= k). */
size_t catview_place(catview *v, const mx_model *m, const catview_ask *a, rec_item *items, size_t n,
                     size_t k, prom *metrics);

/* The override record of model item i, or NULL (most items). */
const cat_item *catview_override(const catview *v, uint32_t item);
/* rec_query.categories_of over the overrides (arg: the catview): the
 * operator's categories of a model item, when set. */
int catview_categories_of(const void *arg, uint32_t item, const char *const **names, size_t *n);
/* The snapshot v resolved (borrowed until the next catview_update). */
const cat_snapshot *catview_snapshot(const catview *v);

#endif

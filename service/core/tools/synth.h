/* synth.h - synthetic catalogues with planted multi-interest users.
 *
 * A world has C true interests (random unit centres in d dims). Every item
 * belongs to one interest (sizes vary), its vector is its centre plus
 * noise, and it has a Zipf popularity within its interest. Every user
 * draws 1..max_user_interests interests with random weights and a number
 * of events; each event picks an interest by weight, then an item by
 * popularity, at increasing timestamps. Deterministic for a seed. Used by
 * `mixrec synth`, the benchmarks and tests that check retrieval recovers
 * the planted interests. */
#ifndef SYN_SYNTH_H
#define SYN_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "mx_err.h"

typedef struct syn_params {
    size_t n_items;            /* default 10000; up to 1e6+ */
    size_t n_users;            /* default 2000; up to 1e5+ */
    size_t n_interests;        /* default 16 */
    size_t dim;                /* default 32 */
    uint64_t seed;             /* default 42 */
    size_t min_events;         /* per user, default 5 */
    size_t max_events;         /* per user, default 60 (log-uniform in between) */
    size_t max_user_interests; /* default 4 */
    size_t min_user_interests; /* default 1; <= max_user_interests */
    double dominant;           /* 0 (default): Dirichlet(1) mixture weights; in (0, 1): the
                                  first interest gets this weight, the others share the rest
                                  by Dirichlet(1) (a user with one interest has it all) */
    double trend_share;        /* share of events on this week's trending items instead of
                                  the user's interests, default 0 (none) */
    size_t trend_items;        /* trending items per week, default 30 (Zipf(1) among them;
                                  a new random set every week) */
    float item_noise;          /* std-dev of the per-dimension noise; < 0 (the default)
                                * means automatic, 0.75/sqrt(dim) (synth.c), 0 means items sit
                                * exactly on their centres */
    double zipf_s;             /* popularity exponent within an interest, default 0.8 */
    int64_t t0;                /* first timestamp, default 1600000000 */
    int cover_items;           /* 1: every item gets at least one event, from a
                                  random user holding its interest (so the whole
                                  catalogue is in a model); default 0 */
} syn_params;

void syn_params_init(syn_params *p);

/* Timestamps fall in [t0, t0 + SYN_SPAN_SECONDS): about six months. */
#define SYN_SPAN_SECONDS ((int64_t)182 * 86400)

/* The generated world. Events use dense ids: user u is "u<u>", item i is
 * "i<i>" in the written files. */
typedef struct syn_world {
    size_t n_items, n_users, n_interests, dim;
    float *centres;          /* n_interests x dim, unit norm */
    float *item_vecs;        /* n_items x dim */
    uint32_t *item_interest; /* n_items */
    float *item_pop;         /* n_items: Zipf weight within its interest, rank^-zipf_s
                                (1 for the most popular item of each interest) */
    float *user_weights;     /* n_users x n_interests, rows sum to 1 */
    ds_event *events;        /* sorted by ts; value 1 */
    size_t n_events;
} syn_world;

/* Fills *out (arrays owned by it; syn_world_free). Details of the draw:
 * (trends: with trend_share > 0, each event is, with that chance, drawn
 * from the trend_items items trending in its week, weighted 1/rank; the
 * sets are drawn from the whole catalogue, a new one every 7 days, so
 * popularity is global and turns over; parameters at their defaults draw
 * exactly the worlds they drew before these options existed)
 * interest sizes are at least 5 items (when n_items allows) plus a
 * Dirichlet(2) share of the rest; items get random ids and a random
 * popularity rank within their interest (weight 1/rank^zipf_s); a user has
 * 1..max_user_interests distinct interests with Dirichlet(1) weights, and
 * a log-uniform number of events in [min_events, max_events], capped at the
 * number of items in the user's interests, because a user never gets the
 * same item twice. A user's events have strictly increasing timestamps
 * spread uniformly over the span. Random streams are separate per stage
 * and per user, so the items do not depend on n_users and user u does not
 * depend on the users before it. On failure *out is zeroed. */
int syn_make(const syn_params *p, syn_world *out, mx_err *err);
void syn_world_free(syn_world *w); /* frees the arrays, not w */

/* Writes into dir (created if missing):
 *   interactions.csv  header user,item,timestamp,weight  (what build reads)
 *   items.csv         header item,title,categories; category "interest-<c>"
 *   truth.csv         header user,interest,weight (the planted mixtures;
 *                     interest is the number c, nonzero weights only)
 *   item_vectors.fvecs + item_vectors.ids (planted vectors, one id a line) */
int syn_write(const syn_world *w, const char *dir, mx_err *err);

/* Builds a dataset from the world's events and item metadata, with the same
 * string ids as syn_write (so dense ids may differ from the world's; use
 * ds_find_item("i<k>")). *out owned by the caller. As with ds_load on the
 * written files, items without events are not in the dataset. */
int syn_to_dataset(const syn_world *w, ds_dataset **out, mx_err *err);

#endif

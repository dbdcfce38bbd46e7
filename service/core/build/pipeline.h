/* pipeline.h - builds a model in memory: the offline path of DESIGN.md.
 *
 *   events -> embeddings (implicit ALS, or item vectors the user brings and
 *   users folded in) -> interests (spherical k-means) -> mixtures (raw and
 *   kNN-smoothed) -> popularity -> index (IVF, lists = interests)
 *
 * `mixrec build` saves the result; `mixrec eval` scores it directly. */
#ifndef PIPE_PIPELINE_H
#define PIPE_PIPELINE_H

#include <stddef.h>

#include "bconfig.h"
#include "catalog.h"
#include "dataset.h"
#include "model.h"
#include "mx_err.h"

/* Item vectors brought by the user (NULL path: learn them with ALS). */
typedef struct pipe_inputs {
    const char *item_vectors;    /* .fvecs or .npy */
    const char *item_vector_ids; /* one item id per row, text */
    /* logged slates (borrowed; NULL: none): the ranker may train on them
     * (slate_train.h); pipe_build itself ignores them */
    const struct imp_log *impressions;
    /* the live catalogue (borrowed; NULL: none): items blocked at
     * catalog_now (hidden, expired) get no popularity in the model */
    const cat_snapshot *catalog;
    int64_t catalog_now;
    /* learned embeddings from earlier builds (borrowed; NULL: none): a hit
     * skips ALS, a miss stores what ALS learned (embcache.h) */
    struct embc_cache *emb_cache;
} pipe_inputs;

typedef struct pipe_timings {
    double embed, interests, mixtures, index, total; /* seconds */
} pipe_timings;

/* Builds from train (events over ds's ids; may be a split's train part).
 * Users and items keep ds's dense ids. *out owned by the caller. */
int pipe_build(const ds_dataset *ds, const ds_event *train, size_t n_train, const bcfg *cfg,
               const pipe_inputs *in, mx_model **out, pipe_timings *t, mx_err *err);

/* Monotonic seconds (for timings). */
double pipe_now(void);

#endif

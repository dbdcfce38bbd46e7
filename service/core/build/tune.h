/* tune.h - the settings search of `mixrec tune`.
 *
 * The quality settings (embedding size and confidence, popularity decay,
 * smoothing, the mixture's budget split, the blend's shares, the ranker's
 * pool and learning rate) are searched on a validation split carved out of
 * the training period: the log's first (1 - test_frac) of events by time is
 * the training period (eval.test_frac; the events after it are never read),
 * and its last valid_frac of events (eval.valid_frac) score every trial. A
 * trial builds the model and its ranker on the rest (rkt_build) and scores
 * the service's answer on the validation users (evl_run):
 *   objective   ranked NDCG@10 + ranked recall@10 (the blend's, without a
 *               ranker)
 *   constraint  the pool's recall@100 (and at rank_train.pool) at least
 *               TUNE_POOL_FLOOR x the best single source's (popular,
 *               single, mixture); a trial that misses it loses to any that
 *               meets it
 * The search is coordinate descent over a fixed grid (tune_default_plan):
 * each coordinate in turn tries its values with the others at their best so
 * far, keeps a value only when it beats the best score by more than
 * TUNE_MIN_GAIN (relative) and by TUNE_Z standard errors of the per-user
 * differences (the same validation users score every trial, so the
 * comparison is paired), and passes repeat until one changes nothing or
 * max_passes is reached. Every (settings) combination is scored once.
 * Embeddings are reused between trials whose embed.* settings and events
 * match (embcache.h). Trials run one after another: each already uses every
 * core (OpenMP over users, XGBoost's threads), so two at once would only
 * split the same cores and double the memory. Deterministic for a seed when
 * the plan completes within the budget (tune_result.complete). */
#ifndef TUNE_TUNE_H
#define TUNE_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "bconfig.h"
#include "dataset.h"
#include "mx_err.h"
#include "pipeline.h"

#define TUNE_MAX_VALUES 6
#define TUNE_MAX_COORDS 16
#define TUNE_POOL_FLOOR 0.95
#define TUNE_MIN_GAIN 0.005
#define TUNE_Z 2.0

/* One coordinate: a label and its values, each a list of assignments
 * "name=value[,name=value...]" (settings names of bconfig.c). */
typedef struct tune_coord {
    const char *label;
    size_t n_values;
    const char *values[TUNE_MAX_VALUES];
} tune_coord;

/* The built-in grid, in the order the search visits it; *n receives its
 * length. Static storage. */
const tune_coord *tune_default_plan(size_t *n);

typedef struct tune_params {
    double budget_s;        /* wall-clock budget; no trial starts once the time
                               spent plus the mean trial would pass it */
    size_t max_trials;      /* 0: no cap */
    size_t max_passes;      /* default 2 */
    size_t max_users;       /* validation users scored per trial; 0: all */
    const tune_coord *plan; /* NULL: tune_default_plan */
    size_t n_plan;
    int sweep; /* 1: every value alone from the start, no descent (how the
                  built-in defaults were chosen: README, Evaluation worlds) */
} tune_params;

void tune_params_init(tune_params *p);

typedef struct tune_trial {
    size_t index;
    char changed[160];           /* what differs from the best before it ("start" for the first) */
    int choice[TUNE_MAX_COORDS]; /* per coordinate: value index, -1 = the starting value */
    double ndcg10, recall10;     /* the answer's (ranked, or blend without a ranker) */
    double pool_r100, best_r100; /* the pool's recall@100 and the best source's */
    const char *best_source;     /* the source with best_r100 */
    double pool_rp, best_rp;     /* the same at rank_train.pool (= the @100 ones at 100) */
    size_t pool_k;
    int feasible, ranked;
    double score; /* ndcg10 + recall10 */
    double z;     /* gain over the best before it, in standard errors of the paired
                     per-user differences (0 for the start) */
    double seconds;
    int embed_cached; /* 1: the final model's embeddings came from the cache */
} tune_trial;

typedef struct tune_result {
    tune_trial *trials; /* n_trials, in the order run; owned (tune_result_free) */
    size_t n_trials;
    size_t best;   /* index into trials */
    bcfg cfg;      /* the starting settings with the best trial's choices */
    int complete;  /* 1: the plan finished; 0: the budget or max_trials cut it */
    size_t passes; /* passes run (the last may be partial) */
    size_t valid_users, train_events, valid_events, held_out_events;
    int64_t cutoff, valid_cutoff; /* test cut-off (never read after), validation cut-off */
    double seconds;
    size_t embed_hits;
} tune_result;

typedef void (*tune_progress_fn)(void *ud, const tune_result *r, const tune_trial *t);

/* Searches from base over ds's events (sorted by time). in (may be NULL):
 * inputs as for rkt_build; its emb_cache is replaced by the search's own.
 * progress (may be NULL) sees every trial as it ends. out is owned by the
 * caller (tune_result_free) and holds the trials run even on error. */
int tune_run(const ds_dataset *ds, const bcfg *base, const pipe_inputs *in, const tune_params *p,
             tune_progress_fn progress, void *ud, tune_result *out, mx_err *err);
void tune_result_free(tune_result *r);

/* Applies coordinate c's value v ("name=value,...") to cfg. */
int tune_apply(bcfg *cfg, const tune_coord *c, size_t v, mx_err *err);

#endif

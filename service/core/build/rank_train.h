/* rank_train.h - trains the learned ranker (the offline path).
 *
 *  1. cut: the time before which (1 - rank_train.label_frac) of the training
 *     events fall. Nothing after the training events is ever read.
 *  2. An early model, built (pipe_build) from the events before the cut:
 *     what the service would have been serving at that moment.
 *  3. For a deterministic sample (rank_train.max_users) of the users with
 *     events on both sides: their session is what Redis would hold at the
 *     cut - their events in the last rank_train.session_hours before it
 *     (weight 1 each, the newest 32); the pool and
 *     its features come from rec_candidates on the early model - the very
 *     code the service runs; a candidate is labelled 1 if the user engaged
 *     with it after the cut. A user with no positive in the pool carries
 *     no ranking signal and is left out.
 *  4. Users are split by a hash of their id into training and validation
 *     groups (rank_train.valid_frac); XGBoost trains on the first and stops
 *     early on the second (ranker_xgb.h). Fewer than RKT_MIN_TRAIN_USERS
 *     training or RKT_MIN_VALID_USERS validation users (with a later item
 *     in their pool) train no ranker: the report says why.
 *  With logged slates (pipe_inputs.impressions) and at least
 *  rank_train.min_slates of them with an engaged and a skipped item, steps
 *  1-4 are replaced by slate_train.h's examples: one group per slate.
 *  5. The ranker is attached to the final model (model_set_ranker) with
 *     its manifest entry: features, rounds, validation NDCG@10, feature
 *     importances (total gain), example counts.
 * The final model keeps its own embeddings, built from all the training
 * events; the ranker learned how those features, computed one step back
 * in time, predict the next step. */
#ifndef RKT_RANK_TRAIN_H
#define RKT_RANK_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "bconfig.h"
#include "dataset.h"
#include "rank_features.h"
#include "model.h"
#include "mx_err.h"
#include "pipeline.h"
#include "ranker_xgb.h"
#include "slate_train.h"

#define RKT_MIN_TRAIN_USERS 50
#define RKT_MIN_VALID_USERS 20 /* when rank_train.valid_frac > 0 */

typedef struct rkt_report {
    int64_t cut;
    size_t early_events, users_train, users_valid, rows, positives;
    double seconds_early_model, seconds_examples, seconds_xgboost;
    rkx_report xgb;
    int trained;   /* 1: a ranker came out; 0: the data cannot train one (why says why) */
    char why[256]; /* when !trained, e.g. "ranker not trained: 3 training and 1 validation ..." */
    int failed;    /* rkt_build: 1 when its error came from the ranker's training */
    /* With impressions (pipe_inputs.impressions): on_slates = 1 when the
     * ranker trained on the slates (slate_train.h; users_* then count
     * slates, cut is the first slate's time), else slates_why says why the
     * temporal split was used instead. */
    int on_slates;
    slt_report slates;
    char slates_why[256];
} rkt_report;

/* Trains a ranker (rank_train.c: rkt_fit) with m->cfg (learned
 * embeddings) and attaches it to m: for callers that have m already. Without a ranker (rep->trained
 * = 0), m->ranker_status says why. */
int rkt_train(const ds_dataset *ds, const ds_event *train, size_t n_train, mx_model *m,
              rkt_report *rep, mx_err *err);

/* The final model of train with its ranker: the one sequence of `mixrec
 * build` and `mixrec eval`. With cfg->ranker.enabled, rkt_fit runs first:
 * its early model and examples are freed before the final model is built
 * (pipe_build), so the peak memory is the larger of the two, not their
 * sum; then the ranker is attached. Data too thin for a ranker is not an
 * error: the model comes without one and m->ranker_status says why
 * ("absent: ..."). rep (zeroed first) gets the ranker's report, t (may be
 * NULL) the final build's timings. *out owned by the caller (model_free).
 * Errors: rep->failed = 1 when the ranker's training failed, else the
 * final build's or the attachment's. */
int rkt_build(const ds_dataset *ds, const ds_event *train, size_t n_train, const bcfg *cfg,
              const pipe_inputs *in, mx_model **out, pipe_timings *t, rkt_report *rep, mx_err *err);

/* Offline sessions: each user's events with cut - hours <= ts < cut (the
 * newest 32, by time, weight 1); *now receives cut - 1, the moment they
 * are seen at. Immutable once built. */
typedef struct rkt_sessions rkt_sessions;

int rkt_sessions_new(const ds_event *ev, size_t n, size_t n_users, int64_t cut, double hours,
                     rkt_sessions **out, mx_err *err);
const feat_event *rkt_session(const rkt_sessions *s, uint32_t user, size_t *n, int64_t *now);
void rkt_sessions_free(rkt_sessions *s);

#endif

/* slate_train.h - the ranker's examples from logged slates (impressions).
 *
 * When the service logged what it showed (impressions.h), every slate is a
 * query group: the items shown and engaged are positives, the items shown
 * and not engaged negatives. This is what the ranker is asked to do at
 * serve time - order a pool so that what gets engaged comes first - on the
 * items a real (or simulated) user actually looked at, instead of the
 * temporal split's proxy (the user's future engagements anywhere).
 *
 * Labels (slt_assemble): an engagement is an event of the slate's user on a
 * shown item with slate time <= ts <= slate time + window; when several of
 * that user's slates showed the item within the window, the latest one
 * before the event gets it (last touch). The event's recommendation_id is
 * not used: the dataset's importer drops the attribution keys and merges
 * repeated (user, item) events, so the time window is what survives the
 * import; with clicks a few seconds after their slate and clicked items
 * never shown again (the service excludes them) both rules agree.
 *
 * Features (slt_examples): the features of a shown item are those the
 * service computed for it (rec_candidates, the serving code) with the model
 * of the events before the first usable slate - the model that was serving
 * - and the user's session at the slate (their events of the last
 * rank_train.session_hours before it, as rank_train.c's offline sessions).
 * Not the final model: it has seen the clicks, so a clicked item would be
 * a "training item" of its user and every popularity feature would count
 * the label (leakage). A shown item outside the early model's pool has no
 * pool features and is dropped (counted). */
#ifndef SLT_SLATE_TRAIN_H
#define SLT_SLATE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "bconfig.h"
#include "dataset.h"
#include "impressions.h"
#include "mx_err.h"
#include "pipeline.h"
#include "ranker_xgb.h"

/* One usable slate: rows [first, first + n) of the labels. */
typedef struct slt_slate {
    uint32_t user; /* dataset id */
    int64_t ts;    /* unix seconds */
    size_t first, n;
    size_t positives;
} slt_slate;

typedef struct slt_labels {
    slt_slate *slates; /* sorted by (user, ts) */
    size_t n_slates;
    uint32_t *items; /* n_rows dataset item ids */
    float *label;    /* n_rows, 1 engaged, else 0 */
    size_t n_rows;
    /* counts */
    size_t read, after_training, unknown_users, unknown_items, engaged, positives;
} slt_labels;

/* Labels the slates of log against the events ev (a dataset's, over ds's
 * ids). Slates at or after `until` (unix seconds; the end of the training
 * period) are left out, so no test-period slate trains a ranker that is
 * then evaluated; so are slates of users unknown to ds, and unknown items
 * (counted). window_s: seconds after a slate in which an engagement counts.
 * out owned by the caller (slt_labels_free). */
int slt_assemble(const ds_dataset *ds, const imp_log *log, const ds_event *ev, size_t n_ev,
                 int64_t until, double window_s, slt_labels *out, mx_err *err);
void slt_labels_free(slt_labels *l); /* frees the arrays, not l */

typedef struct slt_report {
    size_t read, used, engaged, unknown_users, unknown_items, after_training;
    size_t not_in_pool; /* shown items the early model's pool did not hold */
    size_t early_events;
    int64_t first_ts; /* the first usable slate: the early model's cut */
} slt_report;

/* Training and validation data (arrays owned; slt_data_free). */
typedef struct slt_data {
    rkx_data train, valid; /* views of the arrays below */
    float *x, *y, *vx, *vy;
    unsigned *g, *vg;
    size_t rows, positives;
} slt_data;
void slt_data_free(slt_data *d);

/* The slates' examples from the events train (the training period) and
 * in->impressions: labels, the early model, features; groups split by a
 * hash of the user (rank_train.valid_frac). Fewer than
 * rank_train.min_slates engaged slates, or fewer than min_valid validation
 * ones, is a result, not an error: 0 with *enough = 0 and why saying why
 * (the caller trains on the temporal split). */
int slt_examples(const ds_dataset *ds, const ds_event *train, size_t n_train, const bcfg *cfg,
                 const pipe_inputs *in, size_t min_valid, slt_data *out, int *enough, char *why,
                 size_t why_len, slt_report *rep, mx_err *err);

/* Held-out slates replayed (mixrec eval): the slates at or after `since`
 * with an engaged and a skipped item (labels as slt_assemble's, from ev:
 * every event, test period included) are re-ordered by model m - its
 * ranker's scores on the shown items' features (rec_candidates with the
 * user's session at the slate), or pool order without a ranker; a shown
 * item outside m's pool goes last - and NDCG of the engagements within the
 * slate is averaged, for that order and for the order the slate was shown
 * in. Position bias favours the shown order (its top was examined more):
 * the ips_ figures weigh a click at shown position p by 1 / exam(p) =
 * log2(2 + p), the examination the simulator uses (synth_clicks.h), to
 * take some of that advantage away. */
typedef struct slt_replay_result {
    size_t slates;                /* replayed */
    size_t not_in_pool;           /* shown items m's pool did not hold */
    double ndcg_logged;           /* mean NDCG of the shown order */
    double ndcg_model;            /* mean NDCG of m's order */
    double ips_logged, ips_model; /* the same with clicks weighted 1 / exam(position) */
} slt_replay_result;

int slt_replay(const ds_dataset *ds, const imp_log *log, const ds_event *ev, size_t n_ev,
               int64_t since, const mx_model *m, const rank_params *rp, slt_replay_result *out,
               mx_err *err);
#endif

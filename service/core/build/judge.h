/* judge.h - is a candidate model at least as good as the serving one?
 * The offline half of `mixrec retrain`, with evaluate.h's code and
 * metrics (the same as `mixrec eval`).
 *
 * The honest scheme: a time cut-off T splits the merged events; the
 * window [T, end) is the latest `holdout` fraction of the events newer than
 * the serving model's last training event (of all events without a serving
 * model), so neither model has seen an event of the window, and the
 * candidate differs from the serving model by the new events before T -
 * what retraining adds. (Holding out a fraction of all events instead would,
 * whenever the new events are fewer, judge the serving model's own data
 * retrained against itself.) The judged candidate is built by the caller from the events
 * before T only (jdg_split's train part); both models are scored on the
 * same users - those with min_train events before T whom both models
 * know - and the same window events; a window item the serving model does
 * not know counts as a miss for it (it cannot recommend it), as it would
 * online. Each model is scored on the answer the service would give:
 * "ranked" with a ranker, else "blend"; the main metric is NDCG@10 of
 * that answer. When promoted, the caller rebuilds on every event (the
 * window included) and saves that version: the figures describe the
 * judged candidate, the manifest says so. */
#ifndef JDG_JUDGE_H
#define JDG_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "evaluate.h"
#include "model.h"
#include "mx_err.h"

#define JDG_MAIN_K 10 /* NDCG@10 decides */

/* The window's cut-off: events are ds_events (sorted by time), serving_t_ref
 * the serving model's t_ref (INT64_MIN: none): the time of the
 * ceil(holdout * m)-th newest of the m events after serving_t_ref;
 * serving_t_ref + 1 when there are none (an empty window). */
int64_t jdg_cutoff(const ds_event *ev, size_t n, double holdout, int64_t serving_t_ref);

typedef struct jdg_side {
    int present;      /* 0: no serving model */
    char version[48]; /* the version scored ("" for the unsaved candidate) */
    int method;       /* EVL_RANKED or EVL_BLEND */
    double main;      /* NDCG@10 of method */
    double recall10, recall100;
    size_t users;
} jdg_side;

typedef struct jdg_result {
    int64_t cutoff;
    size_t train_events;   /* before the cut-off: what the judged candidate is built on */
    size_t window_events;  /* at or after it */
    size_t judged_users;   /* users scored for both models */
    size_t judged_events;  /* their window events */
    size_t candidate_only; /* window users only the candidate knows (not scored) */
    size_t unknown_items;  /* window events on items the serving model does not know */
    double margin;         /* relative */
    jdg_side candidate, serving;
    int promote; /* the decision */
    char reason[256];
} jdg_result;

/* Scores cand (built from the events of ds before cutoff, ds's ids) and
 * serving (any model, may be NULL; ids mapped by their strings) on the
 * window and decides: promote when there is no serving model, when no user
 * can be judged (reason says so), or when cand's main metric >=
 * serving's * (1 - margin). session_hours: the ranked method's offline
 * sessions (rank_train.session_hours). */
int jdg_compare(const ds_dataset *ds, const mx_model *cand, const mx_model *serving, int64_t cutoff,
                size_t min_train, double margin, double session_hours, jdg_result *out,
                mx_err *err);

/* The result as a json_t * object (the manifest's "retrain" object gets
 * it); NULL on OOM. Caller owns it. */
void *jdg_to_json(const jdg_result *r);

#endif

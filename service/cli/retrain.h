/* retrain.h - one run of `mixrec retrain`: export what is new in the
 * events stream, build a candidate from the base log plus every export,
 * judge it against the serving version (judge.h: honest window, same
 * metrics as `mixrec eval`), save and promote it or keep the old one,
 * prune old versions.
 *
 * State lives in ROOT/retrain/: events-<seq>.jsonl (one per run that
 * found new events, never rewritten) and state.json ({"last_id", "seq",
 * "judged_seq"}, written to a temporary file and renamed), so a run
 * exports only what is new since the last one and an export whose build
 * failed is judged by the next run. One run at a time per ROOT (the
 * caller's job: one trainer). */
#ifndef RT_RETRAIN_H
#define RT_RETRAIN_H

#include <stddef.h>

#include "cli_util.h"
#include "mx_err.h"

typedef struct rt_opts {
    const char *root;      /* the model root (CURRENT, versions) */
    const char *redis_url; /* export.h's URL forms */
    const char *key;       /* the events stream, default mixrec:events */
    size_t keep;           /* versions kept (CURRENT and the new one always); 0: no pruning */
    double margin;         /* relative: promote when cand >= serving * (1 - margin) */
    double holdout;       /* the window: this fraction of the events newer than the serving model */
    const cli_data *data; /* the base log (its first source), config, --set, formats */
} rt_opts;

typedef enum {
    RT_PROMOTED,   /* a new version serves */
    RT_KEPT,       /* the candidate lost: saved, CURRENT unchanged */
    RT_NOTHING_NEW /* no new events since the last judged run: nothing built */
} rt_outcome;

/* One run. Logs progress with cli_log. 0 with *outcome set, or an error
 * (Redis, data, build, disk) with CURRENT untouched. */
int rt_run_once(const rt_opts *o, rt_outcome *outcome, mx_err *err);

/* Removes the oldest version directories of root beyond keep, never
 * CURRENT's nor `protect` (may be NULL). Returns how many were removed. */
size_t rt_prune(const char *root, size_t keep, const char *protect);

#endif

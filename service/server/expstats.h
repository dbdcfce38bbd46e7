/* expstats.h - an experiment's counts in Redis, shared by every replica,
 * and the report built from them (docs/experiments.md, "Report").
 *
 * Per experiment (name and tag, experiment.h; a new salt starts new
 * counts), two hashes:
 *   mixrec:exp:<name>:<tag>        the sums, per variant v:
 *       v|users  users with an impression      v|imps   impressions
 *       v|imps2  sum of n_u^2                   v|clicks attributed clicks
 *       v|clicks2 sum of c_u^2                  v|cross  sum of n_u * c_u
 *       v|ev:<type> attributed events of each type
 *   mixrec:exp:<name>:<tag>:users  per user u: v|u|n impressions, v|u|c clicks
 * The per-user counts are what keeps the sums of squares right (a script
 * reads the user's count and adds 2n - 1); a report reads only the first
 * hash. Nothing expires: delete the keys when an experiment's counts are
 * no longer wanted (about 100 bytes per user and variant).
 *
 * Impressions are counted here (a fire-and-forget script per answer in an
 * experiment, pipelined by hiredis with the loop turn's other commands);
 * attributed events in the event script (evlog.c), atomically with the
 * event itself, so an acknowledged click is counted exactly once.
 *
 * Threading: calls run on a worker's loop thread with that worker's
 * client; expstats_report is pure. */
#ifndef EXPSTATS_EXPSTATS_H
#define EXPSTATS_EXPSTATS_H

#include <stddef.h>

#include <jansson.h>

#include "abtest.h"
#include "experiment.h"
#include "prom.h"
#include "sessions.h"

#define EXPSTATS_KEY_MAX (EXPERIMENT_MAX_NAME + 32)

/* The two keys of e. */
void expstats_keys(const experiment *e, char agg[EXPSTATS_KEY_MAX], char users[EXPSTATS_KEY_MAX]);

/* Counts one answer of variant v shown to user (not NULL). A count Redis
 * did not take (down, slow, an error) is counted in p
 * (prom_experiment_unrecorded). */
void expstats_impression(sess_client *c, const experiment *e, size_t v, const char *user, prom *p);

/* One variant's counts. */
typedef struct expstats_variant {
    abtest_sums sums;
    double events[SESS_N_TYPES]; /* attributed events by type */
} expstats_variant;

/* ok: v holds e->n_variants entries (valid during the call). */
typedef void (*expstats_cb)(void *arg, int ok, const char *error, const expstats_variant *v);

/* Reads e's counts (one HGETALL); cb runs exactly once. */
void expstats_read(sess_client *c, const experiment *e, expstats_cb cb, void *arg);

/* The report of e from v (e->n_variants entries; the first variant is
 * the control): per variant users, impressions, events, click-through with
 * its interval, and against the control the difference, lift and p-value;
 * the sample-ratio check. A new JSON object (caller owns). */
json_t *expstats_report(const experiment *e, const expstats_variant *v);

#endif

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
 * An interleaved experiment keeps the same sums under the variant name "*"
 * (its answers), and *|wins0, *|wins1, *|ties (answers whose clicks
 * credited the first variant more, the second more, both as much),
 * *|clicks0, *|clicks1 (clicks credited to each), *|unattributed (clicks
 * on an item no variant placed, or after experiments.click_window_s),
 * *|ev:<type>. Which variant placed each item of an interleaved answer
 * is kept in mixrec:il:<recommendation_id> (fields i:<item> = 0 or 1, and
 * the answer's credited clicks c0, c1), expiring after the window.
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
#include <stdint.h>

#include <jansson.h>

#include "abtest.h"
#include "experiment.h"
#include "prom.h"
#include "sessions.h"

#define EXPSTATS_KEY_MAX (EXPERIMENT_MAX_NAME + 96)

/* The two keys of e, after prefix (redis.prefix, at most 63 bytes). */
void expstats_keys(const char *prefix, const experiment *e, char agg[EXPSTATS_KEY_MAX],
                   char users[EXPSTATS_KEY_MAX]);

/* Counts one answer of variant v shown to user (not NULL). A count Redis
 * did not take (down, slow, an error) is counted in p
 * (prom_experiment_unrecorded). */
void expstats_impression(sess_client *c, const experiment *e, size_t v, const char *user, prom *p);

/* Counts one interleaved answer of e (experiment.h's EXPERIMENT_TEAMS)
 * shown to user, and keeps which variant placed each of its n items
 * (ids; team[i] 0 or 1, or anything else for an item neither placed)
 * under rid for window_s seconds. */
void expstats_interleaved(sess_client *c, const experiment *e, const char *user, const char *rid,
                          const char *const *items, const uint8_t *team, size_t n, int window_s,
                          prom *p);

/* The key of an interleaved answer's teams (EXPSTATS_IL_KEY_MAX bytes). */
#define EXPSTATS_IL_KEY_MAX 128
void expstats_il_key(const char *prefix, const char *rid, char key[EXPSTATS_IL_KEY_MAX]);

/* One variant's counts. */
typedef struct expstats_variant {
    abtest_sums sums;
    double events[SESS_N_TYPES]; /* attributed events by type */
} expstats_variant;

/* An interleaved experiment's counts. */
typedef struct expstats_teams {
    abtest_sums sums; /* of its answers */
    double wins[2], ties, clicks[2], unattributed;
    double events[SESS_N_TYPES];
} expstats_teams;

typedef struct expstats_counts {
    expstats_variant v[EXPERIMENT_MAX_VARIANTS]; /* A/B: per variant */
    expstats_teams teams;                        /* interleaving */
} expstats_counts;

/* ok: the counts (valid during the call). */
typedef void (*expstats_cb)(void *arg, int ok, const char *error, const expstats_counts *c);

/* Reads e's counts (one HGETALL); cb runs exactly once. */
void expstats_read(sess_client *c, const experiment *e, expstats_cb cb, void *arg);

/* The report of e from its counts. A/B: per variant (the first is the
 * control) users, impressions, events, click-through with its interval,
 * and against the control the difference, lift and p-value; the
 * sample-ratio check. Interleaving: answers, users, wins of each variant,
 * ties, credited clicks, and the sign test of wins against losses. A new
 * JSON object (caller owns). */
json_t *expstats_report(const experiment *e, const expstats_counts *c);

#endif

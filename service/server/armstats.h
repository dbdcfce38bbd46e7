/* armstats.h - exploration's counts: how often each item was shown and
 * clicked (explore.h's arms), shared by every replica through Redis, and a
 * worker's copy of them.
 *
 * Redis holds the truth in the hash ARMSTATS_KEY: item id -> "shown
 * clicks unix_s", both counts decayed (explore.half_life_s) up to unix_s.
 * An answer that explores (or every answer, with explore.counts) adds to
 * each shown item's impressions the chance that a user looks at its
 * position, 1 / log2(2 + position) (armstats_exam: DCG's discount; 1 at
 * the top): an item is not made to look better than another by where it
 * was shown. An attributed click adds 1 to its item's clicks
 * (armstats_clicked; only an item with counts). Clicks over impressions
 * then estimate how attractive the item is wherever it goes. In an experiment where only some
 * variants explore, set explore.counts so that every variant's impressions count against the clicks
 * they bring. Each update is one script that decays and adds atomically, fire and forget
 * (impressions gathered per worker between refreshes): a count lost while Redis is away costs a
 * little exploration, never an answer or an event.
 *
 * A worker's copy is re-read every explore.refresh_ms by HSCAN, 1,000
 * fields per round trip, into a new map that replaces the old one when the
 * scan is complete (never blocking the loop; while Redis is away the last
 * copy stays). Memory: about 60 bytes per item ever counted, per worker.
 *
 * Threading: an armstats belongs to its worker's loop thread (new, get,
 * rng, stop there); armstats_shown and armstats_clicked run on the thread
 * that owns the client they are given. */
#ifndef ARMSTATS_ARMSTATS_H
#define ARMSTATS_ARMSTATS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "explore.h"
#include "rng.h"
#include "sessions.h"
#include "srv_config.h"

#define ARMSTATS_KEY "explore:arms" /* after redis.prefix */

typedef struct armstats armstats;

/* A copy read through sess (the worker's client, which outlives it) on
 * loop, now and every cfg->explore_refresh_ms; cfg outlives it. seed
 * starts its random numbers. NULL on OOM. */
armstats *armstats_new(uv_loop_t *loop, sess_client *sess, const srv_config *cfg, uint64_t seed);

/* Stops the refresh (closes its timer); call before the client is freed.
 * A scan still in flight is dropped when its reply comes. */
void armstats_stop(armstats *a);

/* Frees a once its loop has ended (every reply callback has run). NULL is
 * a no-op. */
void armstats_free(armstats *a);

/* The counts of item id decayed to now ({0, 0} for an item never counted
 * or a NULL a). */
explore_arm armstats_get(const armstats *a, const char *id, int64_t now);

/* The prior of every item's click-through: at the rate of everything
 * counted (explore_prior_of). */
explore_prior armstats_prior(const armstats *a);

/* The mean impressions of a counted item (0 when none is). */
double armstats_mean_shown(const armstats *a);

/* The copy's size: items with counts (0 for NULL). */
size_t armstats_size(const armstats *a);

/* The worker's random numbers for exploration's draws. */
rng_state *armstats_rng(armstats *a);

/* One impression for each of ids (n, in answer order: weighted by
 * position), summed per item in the worker and sent as one script with
 * the next refresh (or sooner when many items wait): a script per answer
 * cost Redis a sixth of the service's throughput. Counts waiting when the
 * worker dies are lost. */
void armstats_shown(armstats *a, const char *const *ids, size_t n);

/* The weight of an impression at position (0: the top). */
double armstats_exam(size_t position);

/* One click for each of ids (n) that has counts, at now. */
void armstats_clicked(sess_client *c, const srv_config *cfg, const char *const *ids, size_t n,
                      int64_t now);

#endif

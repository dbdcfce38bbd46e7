/* catstore.h - the process's copy of the live catalogue (catalog.h),
 * kept current from Redis.
 *
 * Redis holds the truth: the hash "<redis.prefix>catalog:items" (item id
 * -> record) and the string "<prefix>catalog:promotions"; a writer
 * publishes the changed item id (or "*promotions") on
 * "<prefix>catalog:changed" (prefix "mixrec:" by default).
 * The store runs one thread with its own libuv loop and two connections
 * (sessions.h): one subscribed to that channel, one that reads. Any
 * message, every (re)subscription (messages sent while disconnected are
 * lost) and a timer every catalog.refresh_s re-read the hash and the
 * promotions (HGETALL + GET, one round trip) into a new snapshot; changes
 * that arrive together are read once (a short delay gathers them). A
 * change is thus visible to every replica in milliseconds, and within
 * catalog.refresh_s even if a message was lost. While Redis is away the
 * last snapshot stays in force (a restart without Redis serves with no
 * overrides, and says so in /readyz).
 *
 * Threading: catstore_current and catstore_generation may be called from
 * any thread (a mutex guards the pointer swap; snapshots are immutable and
 * reference counted). start/stop from the main thread. */
#ifndef CATSTORE_CATSTORE_H
#define CATSTORE_CATSTORE_H

#include <stdint.h>

#include "catalog.h"
#include "mx_err.h"
#include "srv_config.h"

/* The keys, after redis.prefix. */
#define CATSTORE_ITEMS "catalog:items"
#define CATSTORE_PROMOTIONS "catalog:promotions"
#define CATSTORE_CHANNEL "catalog:changed"
#define CATSTORE_KEY_MAX 96
/* cfg's redis.prefix and name (CATSTORE_*) into out; returns out. */
const char *catstore_key(const srv_config *cfg, const char *name, char out[CATSTORE_KEY_MAX]);

typedef struct catstore catstore;

/* Starts the store's thread (cfg outlives it). Without redis.url there is
 * no thread and the snapshot stays empty. */
int catstore_start(catstore **out, const srv_config *cfg, mx_err *err);
void catstore_stop(catstore *s); /* NULL is a no-op */

/* The current snapshot, retained: release it with cat_snapshot_release.
 * Never NULL for a started store (an empty one before the first read). */
cat_snapshot *catstore_current(catstore *s);
/* The current snapshot's generation: changes whenever a new one is in
 * force, so a reader can keep what it resolved until then. */
uint64_t catstore_generation(const catstore *s);
/* Whether a snapshot has been read from Redis at least once, and the unix
 * time of the last read (0: never). */
int64_t catstore_last_read(const catstore *s);

#endif

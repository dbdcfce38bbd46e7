/* expsync.h - the experiment list shared by every replica through Redis
 * (issue 16): stored by PUT/DELETE /v1/admin/experiments, polled by each
 * replica into its holder (expset.h).
 *
 * Redis holds the hash "mixrec:experiments":
 *   version     an integer that every store and every erase increments
 *               (HINCRBY in the same script): it only grows
 *   json        the operator's list as stored (a JSON array, the format of
 *               experiment.h); absent after an erase: the settings file's
 *               experiments.list is in force
 *   updated_at  unix milliseconds of the last store or erase
 * A list found there at start wins over the settings file's: it is the
 * operator's latest decision.
 *
 * The poll: one timer on a worker's libuv loop, on that worker's Redis
 * connection (sessions.h, hiredis async: nothing blocks). Every
 * XSYNC_POLL_MS (every XSYNC_TICK_MS until the first answer, so that a
 * starting replica moves to the stored list at once) it sends the version
 * it has; one script answers the version alone when it is the same, and
 * the version and the list when not. A new list is parsed on the worker
 * (experiment_parse, with the server's settings as the base) and put in
 * force with xs_sync. A stored list that does not parse here (a replica of
 * another version, or a hand-written key) is not taken: the list in force
 * stays, and it is tried again only when the version changes. While Redis
 * is away the list in force stays.
 *
 * Threading: an xsync belongs to the loop (and the sess_client) it was
 * started on: start, stop and every callback run on that thread. */
#ifndef EXPSYNC_EXPSYNC_H
#define EXPSYNC_EXPSYNC_H

#include <stdint.h>

#include <uv.h>

#include "expset.h"
#include "sessions.h"
#include "srv_config.h"

#define XSYNC_KEY "experiments" /* after redis.prefix */
#define XSYNC_KEY_MAX 96
#define XSYNC_POLL_MS 1000
#define XSYNC_TICK_MS 100

typedef struct xsync xsync;

/* Starts polling on loop with c into h (all borrowed: they outlive the
 * xsync, which xsync_stop ends); cfg is the base of the lists parsed.
 * NULL on OOM (no polling: this replica keeps its list). */
xsync *xsync_start(uv_loop_t *loop, sess_client *c, xs_holder *h, const srv_config *cfg);
/* Stops the timer; the xsync is freed once its pending read (if any) has
 * answered: stop it before its sess_client is freed, and let the loop run.
 * NULL is a no-op. */
void xsync_stop(xsync *s);

/* The stored version (the new one, >= 1) when ok; error says why not. */
typedef void (*xsync_stored_cb)(void *arg, int ok, int64_t version, const char *error);
/* Stores json (a JSON array, already checked) as the list in force, or
 * erases it when json is NULL (back to the settings file's), within
 * timeout_ms; cb runs exactly once, on c's thread. */
void xsync_store(sess_client *c, int timeout_ms, const char *json, xsync_stored_cb cb, void *arg);

#endif

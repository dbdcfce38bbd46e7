/* http_lane.h - one libmicrohttpd daemon driven by one worker's event loop.
 *
 * With one HTTP thread, every computed answer crossed threads twice: the
 * request was queued to a worker (a wake-up), and the answer handed back
 * by resuming the connection (another). Under load that cost about as
 * much CPU per request as libmicrohttpd's own parsing and writing
 * (docs/performance.md). A lane is instead a daemon of its own per worker,
 * all on one shared listening socket: the worker whose daemon accepted a
 * connection parses its requests, computes the answers (suspended while
 * Redis answers) and writes them, on its own thread. The kernel hands a
 * new connection to whichever worker accepts it first, so a busy worker
 * takes fewer.
 *
 * The daemon runs in libmicrohttpd's "external polling" mode: its epoll
 * descriptor is watched by a uv_poll on the worker's loop, MHD_run runs
 * when it is readable, when libmicrohttpd's timeout (idle connections)
 * comes, or when a connection was resumed (http_lane_kick).
 *
 * Threading: the daemon is touched by its worker's thread only (MHD_run,
 * quiesce, stop); http_lane_kick may be called from any thread, after
 * MHD_resume_connection. http_lane_run, _quiesce and _free block their
 * caller (the main thread) until the worker has done the step. */
#ifndef HTTP_LANE_H
#define HTTP_LANE_H

#include <microhttpd.h>

#include "workers.h"

typedef struct http_lane http_lane;

/* A lane on worker `worker` of pool, not yet running; user is what
 * http_lane_user returns (the daemon's callbacks get the lane). NULL when
 * out of memory. */
http_lane *http_lane_new(wk_pool *pool, int worker, void *user);
void *http_lane_user(const http_lane *l);

/* The lane's worker (NULL before http_lane_run). */
wk_worker *http_lane_worker(const http_lane *l);

/* Runs d (started with MHD_USE_EPOLL, without an internal thread) from the
 * lane's worker loop; the lane owns d from then on. Blocks until the
 * worker has started it. 0, or -1 (the pool is stopping, or a handle
 * could not be made: d is then still the caller's). */
int http_lane_run(http_lane *l, struct MHD_Daemon *d);

/* After MHD_resume_connection of one of the lane's connections: the
 * lane's loop runs the daemon soon. on_lane: the caller is the lane's
 * worker thread (then no system call is made). */
void http_lane_kick(http_lane *l, int on_lane);

/* Stops accepting connections (MHD_quiesce_daemon, on the lane's thread;
 * the shared listening socket stays open: the caller closes it). Blocks. */
void http_lane_quiesce(http_lane *l);

/* Quiesces, stops the daemon (every connection closed; none may be
 * suspended) and closes the lane's handles, on its thread; blocks; frees
 * l. NULL is a no-op. */
void http_lane_free(http_lane *l);

#endif

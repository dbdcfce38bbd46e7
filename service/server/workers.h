/* workers.h - a pool of libuv event loops, one thread each, that run the
 * CPU work of requests (retrieval, ranking, JSON) and, for the default
 * tenant's pool, the HTTP daemons themselves (http_lane.h).
 *
 * Threading: wk_submit may be called from any thread (it takes the target
 * worker's queue mutex and wakes its loop with uv_async_send, the one
 * cross-thread libuv call). Jobs run on their worker's thread, one at a
 * time; everything a worker owns (its loop, its leases on models, their
 * scratch) is touched by that thread only. Each worker thread runs FAISS
 * single-threaded (omp_set_num_threads(1)).
 *
 * The pool also holds the experiment list in force (expset.h), and with
 * Redis its first worker polls the list every replica shares (expsync.h). */
#ifndef WK_WORKERS_H
#define WK_WORKERS_H

#include <stddef.h>

#include <uv.h>

#include "catstore.h"
#include "catview.h"
#include "expset.h"
#include "implog.h"
#include "model_holder.h"
#include "mx_err.h"
#include "recommend.h"
#include "rid.h"
#include "sessions.h"
#include "srv_config.h"

typedef struct wk_pool wk_pool;
typedef struct wk_worker wk_worker;
typedef void (*wk_fn)(wk_worker *w, void *arg);

/* Starts cfg->workers workers (0: one per core), each with its own Redis
 * connection (sessions.h) and impression log (implog.h, when
 * log.impressions is on) unless with_redis is 0 (with Redis the pool also
 * runs the live catalogue's store, catstore.h, and worker 0 polls the
 * shared experiment list, expsync.h), and its own recommendation id
 * generator (rid.h). The experiment list in force starts as cfg's
 * experiments.list (a bad one fails: MX_EINVAL). cfg and holder are
 * borrowed and must outlive the pool. */
int wk_start(wk_pool **out, const srv_config *cfg, mh_holder *holder, int with_redis, mx_err *err);

/* Runs fn(worker, arg) on the next worker (round robin). Returns 0, or
 * -1 when the pool is stopping (the caller answers 503 itself). */
int wk_submit(wk_pool *p, wk_fn fn, void *arg);

/* Runs fn(worker i, arg) on worker i (0 <= i < wk_count): for what must
 * live on one given loop (http_lane.h's daemons). 0, or -1 when the pool
 * is stopping. */
int wk_submit_to(wk_pool *p, int i, wk_fn fn, void *arg);

/* The worker's event loop, for handles that live on it (its thread only). */
uv_loop_t *wk_loop(wk_worker *w);

/* Stops accepting jobs, runs the ones queued, joins the threads, frees. */
void wk_stop(wk_pool *p);

int wk_count(const wk_pool *p);

/* A request's hold on one model and on this worker's scratch for that
 * model (rec_ctx), and on the experiment list in force (expset.h). A
 * request takes a lease when it starts and drops it when its answer is
 * queued or it is abandoned; a reload never frees a model or scratch that
 * a lease still holds, nor a swap of experiments a list, so a request
 * that waits (for Redis, a timer) finishes on the model and the
 * experiments it started with and every id and experiment it resolved
 * stays valid. The worker holds its current lease itself and moves to
 * the new model or list at the first request after a reload or swap
 * (checking two atomic generations per request).
 * Leases belong to their worker's thread: take, retain and drop them in
 * that worker's jobs and loop callbacks only. */
typedef struct wk_lease wk_lease;

/* The current model for a new request; NULL when no model is loaded (or
 * no scratch could be made for it). Drop it with wk_lease_drop. */
wk_lease *wk_lease_take(wk_worker *w);
/* One more hold on l (a request going on in a later callback): returns l. */
wk_lease *wk_lease_retain(wk_lease *l);
void wk_lease_drop(wk_lease *l); /* NULL is a no-op */
const mx_model *wk_lease_model(const wk_lease *l);
/* Scratch for the lease's model; used synchronously only (one job or
 * callback at a time runs on a worker). */
rec_ctx *wk_lease_rec(const wk_lease *l);
/* The experiment list the request started with: the one accessor every
 * request reads its experiments through (NULL, no experiments, is a
 * valid list for experiment.h). Valid while the lease is held. */
const experiment_list *wk_lease_experiments(const wk_lease *l);
/* The pool's experiment list in force, to swap it (PUT) or read it off a
 * worker (metrics: xs_acquire); any thread. */
xs_holder *wk_experiments(const wk_pool *p);

/* Inside a job: runs fn(arg) on this worker's loop after ms milliseconds
 * (a uv timer). Returns 0, or -1 when no timer could be made (fn is then
 * not called). */
int wk_defer(wk_worker *w, unsigned ms, void (*fn)(void *arg), void *arg);
/* This worker's Redis client (NULL without Redis). */
sess_client *wk_sessions(wk_worker *w);
/* How many workers are connected to Redis right now (any thread). */
int wk_redis_connected(const wk_pool *p);
/* This worker's recommendation id generator (rid.h; its thread only). */
rid_gen *wk_rid(wk_worker *w);
/* This worker's impression log (implog.h): NULL without Redis or with
 * log.impressions off. */
implog *wk_implog(wk_worker *w);

/* The worker's copy of exploration's counts (armstats.h), NULL without
 * Redis; its thread only. */
typedef struct armstats armstats;
armstats *wk_armstats(wk_worker *w);
/* This worker's view of the live catalogue (catview.h), brought up to
 * date for model m (a lease's); its thread only. NULL (err set) on OOM. */
catview *wk_catview(wk_worker *w, const mx_model *m, mx_err *err);
/* The live catalogue's store (catstore.h), NULL without Redis (any thread). */
catstore *wk_catalog(const wk_pool *p);
/* Impression records not stored, over all workers (any thread). */
unsigned long wk_impressions_dropped(const wk_pool *p);

#endif

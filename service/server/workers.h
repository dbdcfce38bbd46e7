/* workers.h - a pool of libuv event loops, one thread each, that run the
 * CPU work of requests (retrieval, ranking, JSON) off the HTTP thread.
 *
 * Threading: wk_submit may be called from any thread (it takes the target
 * worker's queue mutex and wakes its loop with uv_async_send, the one
 * cross-thread libuv call). Jobs run on their worker's thread, one at a
 * time; everything a worker owns (its loop, its model reference, its
 * scratch) is touched by that thread only. Each worker thread runs FAISS
 * single-threaded (omp_set_num_threads(1)). */
#ifndef WK_WORKERS_H
#define WK_WORKERS_H

#include <stddef.h>

#include "model_holder.h"
#include "mx_err.h"
#include "recommend.h"
#include "sessions.h"
#include "srv_config.h"

typedef struct wk_pool wk_pool;
typedef struct wk_worker wk_worker;
typedef void (*wk_fn)(wk_worker *w, void *arg);

/* Starts cfg->workers workers (0: one per core), each with its own Redis
 * connection (sessions.h) unless with_redis is 0. cfg and holder are
 * borrowed and must outlive the pool. */
int wk_start(wk_pool **out, const srv_config *cfg, mh_holder *holder, int with_redis, mx_err *err);

/* Runs fn(worker, arg) on the next worker (round robin). Returns 0, or
 * -1 when the pool is stopping (the caller answers 503 itself). */
int wk_submit(wk_pool *p, wk_fn fn, void *arg);

/* Stops accepting jobs, runs the ones queued, joins the threads, frees. */
void wk_stop(wk_pool *p);

int wk_count(const wk_pool *p);

/* Inside a job: the current model (refreshed when a reload happened since
 * this worker's last job; NULL when none is loaded), and scratch for it.
 * Both stay valid until the job returns. */
const mx_model *wk_model(wk_worker *w);
rec_ctx *wk_rec(wk_worker *w);
int wk_index(const wk_worker *w);
/* Inside a job: runs fn(arg) on this worker's loop after ms milliseconds
 * (a uv timer). Returns 0, or -1 when no timer could be made (fn is then
 * not called). */
int wk_defer(wk_worker *w, unsigned ms, void (*fn)(void *arg), void *arg);
/* This worker's Redis client (NULL without Redis). */
sess_client *wk_sessions(wk_worker *w);
/* How many workers are connected to Redis right now (any thread). */
int wk_redis_connected(const wk_pool *p);

#endif

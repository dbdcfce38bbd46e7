/* implog.h - the impression log: one record per recommendation answer to
 * a Redis stream (log.impressions_stream, XADD ... MAXLEN ~
 * log.impressions_maxlen), fire and forget. The fields are a public
 * format (docs: the impressions stream): recommendation_id, ts (unix ms),
 * user ("" when anonymous), route, model, order, format ("2"), items (JSON
 * object text, one array per column in answer order: item, score, sources
 * as letters, reason, placed_by, rank_score, propensity; format 1, before
 * it, had an array of objects) and request (JSON object text: k,
 * categories, exclude, recent_items, item for similar, session, after for
 * a later page, explore: the user's share of explored slots when the
 * answer explored).
 *
 * A handler adds a record while it answers; the record is encoded at once
 * (a small text writer, no jansson: this is on every answer) into the
 * worker's queue, and the queue is flushed once per loop turn (a uv_check
 * handle, after the turn's callbacks) as one pipelined group of XADDs on
 * the worker's own Redis client (sess_command). Nobody waits for a reply.
 * Memory is bounded: at most IMPLOG_MAX_PENDING records queued or in
 * flight and IMPLOG_MAX_BYTES of queued text per worker; a record beyond
 * that, or one Redis did not store (down, slow past
 * redis.command_timeout_ms, an error reply), is counted in *dropped.
 *
 * Threading: an implog belongs to its worker's loop thread (implog_new,
 * implog_add, implog_stop there); *dropped is updated atomically, so any
 * thread may read it. */
#ifndef IMPLOG_IMPLOG_H
#define IMPLOG_IMPLOG_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "model.h"
#include "recommend.h"
#include "sessions.h"
#include "srv_config.h"

#define IMPLOG_MAX_PENDING 4096
#define IMPLOG_MAX_BYTES (8u << 20)

/* One answer, as the handler has it (all borrowed for the call). */
typedef struct implog_record {
    const char *rid;       /* the answer's recommendation_id (rid.h) */
    int64_t ts_ms;         /* unix milliseconds */
    const char *user;      /* NULL or "": anonymous */
    int route, order;      /* RID_ROUTE_*, RID_ORDER_* */
    const mx_model *model; /* version, item ids, category names */
    const rec_item *items;
    size_t n_items;
    /* the request's settings that can vary */
    size_t k;
    const uint16_t *categories; /* category ids of model */
    size_t n_categories;
    const uint16_t *not_categories; /* exclude_categories, ids of model */
    size_t n_not_categories;
    int64_t min_age_s, max_age_s; /* 0: not given */
    const uint32_t *exclude;      /* item ids of model (the ones it knows) */
    size_t n_exclude;
    size_t recent_items;              /* how many recent items the request gave */
    const char *item;                 /* similar items: the item; NULL otherwise */
    const char *session;              /* "ok", "unavailable", "none" */
    const char *after;                /* the chain a page continues (api_pages.h); NULL otherwise */
    const char *experiment, *variant; /* the experiment that served it (experiment.h); NULL: none */
    unsigned tag;                     /* the variant's tag (experiment.h), 0: none */
    /* an interleaved answer: the team of each item (0, 1: the variant
     * named team_names[team] placed it; other: neither), else NULL */
    const uint8_t *team;
    const char *team_names[2];
    double explore_share; /* the user's share of explored slots (api_explore.h); 0: none */
} implog_record;

typedef struct implog implog;

/* A log writing through sess (the worker's client) on loop; cfg (the
 * stream key and cap) and sess outlive it. dropped (not NULL) is where
 * records not stored are counted. NULL on OOM. */
implog *implog_new(uv_loop_t *loop, sess_client *sess, const srv_config *cfg,
                   unsigned long *dropped);

/* Encodes rec and queues it for this loop turn's flush (or counts it
 * dropped when the log is full, stopped or out of memory). */
void implog_add(implog *l, const implog_record *rec);

/* Sends what is queued now and closes the flush handle; later records are
 * dropped. Call before the worker frees its Redis client (which then
 * still delivers what it can). */
void implog_stop(implog *l);

/* Frees l once its loop has ended (every reply callback has run). NULL is
 * a no-op. */
void implog_free(implog *l);

#endif

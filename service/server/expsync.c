/* expsync.c - the experiment list through Redis; see expsync.h. */
#include "expsync.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

/* The version alone when the caller has it, else the version and the list
 * ("" when none is stored). */
static const char poll_script[] = "local h = redis.call('HMGET', KEYS[1], 'version', 'json') "
                                  "local v = h[1] or '0' "
                                  "if v == ARGV[1] then return {v} end "
                                  "return {v, h[2] or ''}";
static const char store_script[] = "local v = redis.call('HINCRBY', KEYS[1], 'version', 1) "
                                   "redis.call('HSET', KEYS[1], 'json', ARGV[1], 'updated_at', "
                                   "ARGV[2]) return v";
static const char erase_script[] = "local v = redis.call('HINCRBY', KEYS[1], 'version', 1) "
                                   "redis.call('HDEL', KEYS[1], 'json') "
                                   "redis.call('HSET', KEYS[1], 'updated_at', ARGV[1]) return v";

struct xsync {
    uv_timer_t timer;
    sess_client *c;
    xs_holder *h;
    const srv_config *cfg;
    int pending;     /* a read is out */
    int answered;    /* a read has been answered once */
    int ticks;       /* XSYNC_TICK_MS ticks since the last read */
    int stopping;    /* xsync_stop: free when the timer is closed and no read is out */
    int closed;      /* the timer is closed */
    uint64_t seen;   /* the holder's generation when the read was sent */
    int64_t refused; /* a stored version that did not parse here (-1: none) */
};

static int deadline_ms(const srv_config *cfg) {
    return cfg->redis_command_timeout_ms > 2000 ? cfg->redis_command_timeout_ms : 2000;
}

static void maybe_free(xsync *s) {
    if (s->stopping && s->closed && !s->pending) free(s);
}

/* The list of a read's answer (text "" is the settings file's): put in
 * force unless something else was since the read was sent. */
static void take(xsync *s, int64_t version, const char *text) {
    experiment_list *l = NULL;
    mx_err err = {0};
    int stored = text[0] != 0;
    if (version == s->refused) return;
    char key[XSYNC_KEY_MAX];
    snprintf(key, sizeof(key), "%s" XSYNC_KEY, s->cfg->redis_prefix);
    int rc = stored ? experiment_parse_text(text, key, s->cfg, &l, NULL, 0, &err)
                    : experiment_parse_text(s->cfg->experiments_list, "experiments.list", s->cfg,
                                            &l, NULL, 0, &err);
    if (rc) {
        if (rc != MX_ENOMEM) s->refused = version; /* not tried again until it changes */
        return;
    }
    xs_sync(s->h, l, stored ? XS_REDIS : XS_SETTINGS, version, s->seen);
}

static void on_read(void *arg, int ok, const struct redisReply *reply, const char *error) {
    (void)error;
    xsync *s = arg;
    s->pending = 0;
    if (s->stopping) {
        maybe_free(s);
        return;
    }
    if (!ok || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return; /* Redis away or slow: the list in force stays, the next tick asks again */
    s->answered = 1;
    int64_t version = strtoll(reply->element[0]->str, NULL, 10);
    if (reply->elements == 2 && reply->element[1]->type == REDIS_REPLY_STRING)
        take(s, version, reply->element[1]->str);
}

static void read_now(xsync *s) {
    xs_ref *cur = xs_acquire(s->h, &s->seen);
    char have[24];
    snprintf(have, sizeof(have), "%" PRId64, xs_version(cur));
    xs_release(cur);
    char key[XSYNC_KEY_MAX];
    snprintf(key, sizeof(key), "%s" XSYNC_KEY, s->cfg->redis_prefix);
    const char *argv[] = {"EVAL", poll_script, "1", key, have};
    s->pending = 1;
    s->ticks = 0;
    /* its callback may run at once (not connected) */
    sess_command_within(s->c, deadline_ms(s->cfg), 5, argv, NULL, on_read, s);
}

static void on_tick(uv_timer_t *t) {
    xsync *s = t->data;
    s->ticks++;
    if (s->pending || (s->answered && s->ticks * XSYNC_TICK_MS < XSYNC_POLL_MS)) return;
    read_now(s);
}

xsync *xsync_start(uv_loop_t *loop, sess_client *c, xs_holder *h, const srv_config *cfg) {
    xsync *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->c = c;
    s->h = h;
    s->cfg = cfg;
    s->refused = -1;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_tick, 0, XSYNC_TICK_MS);
    return s;
}

static void on_closed(uv_handle_t *handle) {
    xsync *s = handle->data;
    s->closed = 1;
    maybe_free(s);
}

void xsync_stop(xsync *s) {
    if (!s) return;
    s->stopping = 1;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_closed);
}

/* ---- stores ------------------------------------------------------------- */

typedef struct store_op {
    xsync_stored_cb cb;
    void *arg;
} store_op;

static void on_stored(void *arg, int ok, const struct redisReply *reply, const char *error) {
    store_op op = *(store_op *)arg;
    free(arg);
    if (ok && reply->type != REDIS_REPLY_INTEGER) {
        ok = 0;
        error = "unexpected reply";
    }
    op.cb(op.arg, ok, ok ? (int64_t)reply->integer : 0, ok ? NULL : error);
}

void xsync_store(sess_client *c, int timeout_ms, const char *json, xsync_stored_cb cb, void *arg) {
    store_op *op = malloc(sizeof(*op));
    if (!op) {
        cb(arg, 0, 0, "out of memory");
        return;
    }
    *op = (store_op){cb, arg};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    char key[XSYNC_KEY_MAX];
    snprintf(key, sizeof(key), "%s" XSYNC_KEY, sess_config(c)->redis_prefix);
    if (json) {
        const char *argv[] = {"EVAL", store_script, "1", key, json, now};
        sess_command_within(c, timeout_ms, 6, argv, NULL, on_stored, op);
    } else {
        const char *argv[] = {"EVAL", erase_script, "1", key, now};
        sess_command_within(c, timeout_ms, 5, argv, NULL, on_stored, op);
    }
}

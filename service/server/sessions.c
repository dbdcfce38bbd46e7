/* sessions.c - see sessions.h. With redis.sentinels set, every connect
 * (the first and each reconnect) first asks a Sentinel, round-robin over
 * the list, for the master's address (SENTINEL get-master-addr-by-name),
 * then connects there and checks with ROLE that it is the master before
 * serving from it, as Redis's Sentinel client guidelines ask. After a
 * failover the old master drops its clients (or answers READONLY), so the
 * client reconnects and finds the new master. */
#include "sessions.h"

#include "redisuv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

/* The names and default weights are core's (evtype.h): the builder reads
 * the same table for an export's event types. */
const char *sess_type_name(int type) {
    return evtype_name(type);
}

int sess_type_of(const char *name) {
    return evtype_of(name);
}

double sess_type_weight(const srv_config *cfg, int type) {
    return cfg->w_event[type >= 0 && type < SESS_N_TYPES ? type : SESS_VIEW];
}

struct sess_client {
    uv_loop_t *loop;
    const srv_config *cfg;
    int *counter;
    redisAsyncContext *ac;
    int connected, closing;
    uv_timer_t retry;
    uv_timer_t connect_timer; /* see connect_now */
    int backoff_ms;
    redisAsyncContext *sac; /* a Sentinel being asked for the master */
    unsigned sentinel_next; /* which Sentinel to ask next */
    /* sess_subscribe's channel and callback (channel[0] == 0: none) */
    char channel[128];
    sess_message_cb on_message;
    void *message_arg;
};

static int use_sentinel(const sess_client *c) {
    return c->cfg->redis_sentinels[0] != 0;
}

static void subscribe_now(sess_client *c);

/* The connection is ready to serve (the master's, in Sentinel mode). */
static void became_connected(sess_client *c) {
    c->connected = 1;
    c->backoff_ms = 100;
    if (c->counter) __atomic_fetch_add(c->counter, 1, __ATOMIC_RELAXED);
    if (c->channel[0]) subscribe_now(c);
}

static void connect_now(sess_client *c);
static void on_connect_timeout(uv_timer_t *t);

static void on_retry(uv_timer_t *t) {
    connect_now(t->data);
}

static void schedule_retry(sess_client *c) {
    if (c->closing) return;
    uv_timer_start(&c->retry, on_retry, (uint64_t)c->backoff_ms, 0);
    c->backoff_ms = c->backoff_ms * 2 > 2000 ? 2000 : c->backoff_ms * 2;
}

static void on_connect(const redisAsyncContext *ac, int status) {
    sess_client *c = ac->data;
    if (!c) return; /* sess_free let go of this context */
    uv_timer_stop(&c->connect_timer);
    if (status != REDIS_OK) { /* hiredis frees the context after this */
        c->ac = NULL;
        schedule_retry(c);
        return;
    }
    if (use_sentinel(c)) { /* connected once ROLE says master, in time */
        uv_timer_start(&c->connect_timer, on_connect_timeout,
                       (uint64_t)c->cfg->redis_connect_timeout_ms, 0);
        return;
    }
    became_connected(c);
}

/* Sentinel mode: the address the Sentinel gave may be a replica by now
 * (a failover in between); serve only from a master. */
static void on_role_reply(redisAsyncContext *ac, void *r, void *priv) {
    (void)priv;
    sess_client *c = ac->data;
    redisReply *reply = r;
    if (!c || !reply) return; /* going away anyway */
    uv_timer_stop(&c->connect_timer);
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(reply->element[0]->str, "master") == 0) {
        became_connected(c);
        return;
    }
    redisAsyncDisconnect(ac); /* not the master: ask the Sentinels again */
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    (void)status;
    sess_client *c = ac->data;
    if (!c) return;
    if (c->connected && c->counter) __atomic_fetch_sub(c->counter, 1, __ATOMIC_RELAXED);
    c->connected = 0;
    c->ac = NULL;
    schedule_retry(c);
}

static void drop_sentinel(sess_client *c);

/* hiredis 0.14's libuv adapter drops poll errors, so a refused connect
 * never reaches the connect callback: give up on the attempt ourselves.
 * Also ends a Sentinel that does not answer, and (Sentinel mode) a
 * connection whose ROLE reply does not come in time. */
static void on_connect_timeout(uv_timer_t *t) {
    sess_client *c = t->data;
    if (c->sac) { /* a Sentinel that did not answer in time */
        drop_sentinel(c);
        c->sentinel_next++;
        schedule_retry(c);
        return;
    }
    if (c->connected || !c->ac) return;
    redisAsyncContext *ac = c->ac;
    c->ac = NULL;
    redisAsyncFree(ac); /* the disconnect callback runs only if connected */
    schedule_retry(c);
}

/* Connects to the data node: redis.url's address, or the master's. */
static void connect_data(sess_client *c, const char *host, int port) {
    const srv_config *cfg = c->cfg;
    redisAsyncContext *ac =
        cfg->redis_unix ? redisAsyncConnectUnix(cfg->redis_path) : redisAsyncConnect(host, port);
    if (!ac || ac->err || redisuv_attach(ac, c->loop) != REDIS_OK) {
        if (ac) redisAsyncFree(ac);
        schedule_retry(c);
        return;
    }
    ac->data = c;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* Queued now, sent first once connected. */
    if (cfg->redis_password[0]) redisAsyncCommand(ac, NULL, NULL, "AUTH %s", cfg->redis_password);
    if (cfg->redis_db) redisAsyncCommand(ac, NULL, NULL, "SELECT %d", cfg->redis_db);
    if (use_sentinel(c)) redisAsyncCommand(ac, on_role_reply, NULL, "ROLE");
    c->ac = ac;
    uv_timer_start(&c->connect_timer, on_connect_timeout, (uint64_t)cfg->redis_connect_timeout_ms,
                   0);
}

/* The i-th HOST:PORT of redis.sentinels (i modulo their count; the list
 * was checked by srv_config_validate). */
static void sentinel_addr(const char *list, unsigned i, char *host, size_t size, int *port) {
    unsigned n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    const char *p = list;
    for (unsigned k = i % n; k > 0; k--)
        p = strchr(p, ',') + 1;
    size_t len = strcspn(p, ",");
    const char *colon = memchr(p, ':', len);
    size_t hl = colon ? (size_t)(colon - p) : len;
    snprintf(host, size, "%.*s", (int)hl, p);
    *port = colon ? atoi(colon + 1) : 26379;
}

static void drop_sentinel(sess_client *c) {
    redisAsyncContext *sac = c->sac;
    if (!sac) return;
    c->sac = NULL;
    sac->data = NULL;
    redisAsyncFree(sac); /* its reply callback runs now, with NULL */
}

static void on_sentinel_reply(redisAsyncContext *ac, void *r, void *priv) {
    (void)priv;
    sess_client *c = ac->data;
    redisReply *reply = r;
    if (!c || c->sac != ac) return;
    char host[256] = "";
    int port = 0;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(host, sizeof(host), "%s", reply->element[0]->str);
        port = atoi(reply->element[1]->str);
    }
    c->sac = NULL;
    ac->data = NULL;
    redisAsyncDisconnect(ac); /* after this callback returns */
    uv_timer_stop(&c->connect_timer);
    if (!host[0] || port <= 0) { /* this Sentinel does not know the master */
        c->sentinel_next++;
        schedule_retry(c);
        return;
    }
    connect_data(c, host, port);
}

static void on_sentinel_connect(const redisAsyncContext *ac, int status) {
    sess_client *c = ac->data;
    if (!c || status == REDIS_OK) return;
    c->sac = NULL; /* hiredis frees the context after this */
    uv_timer_stop(&c->connect_timer);
    c->sentinel_next++;
    schedule_retry(c);
}

static void on_sentinel_disconnect(const redisAsyncContext *ac, int status) {
    (void)status;
    sess_client *c = ac->data;
    if (!c || c->sac != ac) return;
    c->sac = NULL; /* lost before it answered */
    uv_timer_stop(&c->connect_timer);
    c->sentinel_next++;
    schedule_retry(c);
}

static void connect_now(sess_client *c) {
    const srv_config *cfg = c->cfg;
    if (!use_sentinel(c)) {
        connect_data(c, cfg->redis_host, cfg->redis_port);
        return;
    }
    char host[256];
    int port;
    sentinel_addr(cfg->redis_sentinels, c->sentinel_next, host, sizeof(host), &port);
    redisAsyncContext *sac = redisAsyncConnect(host, port);
    if (!sac || sac->err || redisuv_attach(sac, c->loop) != REDIS_OK) {
        if (sac) redisAsyncFree(sac);
        c->sentinel_next++;
        schedule_retry(c);
        return;
    }
    sac->data = c;
    redisAsyncSetConnectCallback(sac, on_sentinel_connect);
    redisAsyncSetDisconnectCallback(sac, on_sentinel_disconnect);
    redisAsyncCommand(sac, on_sentinel_reply, NULL, "SENTINEL get-master-addr-by-name %s",
                      cfg->redis_sentinel_master);
    c->sac = sac;
    uv_timer_start(&c->connect_timer, on_connect_timeout, (uint64_t)cfg->redis_connect_timeout_ms,
                   0);
}

sess_client *sess_new(uv_loop_t *loop, const srv_config *cfg, int *connected_counter) {
    sess_client *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->loop = loop;
    c->cfg = cfg;
    c->counter = connected_counter;
    c->backoff_ms = 100;
    uv_timer_init(loop, &c->retry);
    uv_timer_init(loop, &c->connect_timer);
    c->retry.data = c->connect_timer.data = c;
    connect_now(c);
    return c;
}

static void free_client(uv_handle_t *h) {
    free(h->data);
}

static void close_second_timer(uv_handle_t *h) {
    sess_client *c = h->data;
    uv_close((uv_handle_t *)&c->connect_timer, free_client);
}

void sess_free(sess_client *c) {
    if (!c) return;
    c->closing = 1;
    uv_timer_stop(&c->retry);
    uv_timer_stop(&c->connect_timer);
    drop_sentinel(c);
    if (c->ac) {
        c->ac->data = NULL; /* its callbacks may run after c is gone */
        if (c->connected)
            redisAsyncDisconnect(c->ac); /* pending callbacks get NULL replies */
        else
            redisAsyncFree(c->ac);
        c->ac = NULL;
    }
    uv_close((uv_handle_t *)&c->retry, close_second_timer);
}

/* ---- operations with a deadline --------------------------------------- */

/* An operation is freed when both its Redis reply (or failure) and its
 * timer have finished with it; whichever comes first answers. */
typedef struct op {
    sess_client *c;
    uv_timer_t timer;
    int refs, answered;
    sess_read_cb read_cb;
    sess_reply_cb reply_cb; /* sess_command's */
    void *arg;
} op;

static void op_unref(op *o) {
    if (--o->refs == 0) free(o);
}

static void on_timer_closed(uv_handle_t *h) {
    op_unref(h->data);
}

static void op_finish_timer(op *o) {
    if (!uv_is_closing((uv_handle_t *)&o->timer))
        uv_close((uv_handle_t *)&o->timer, on_timer_closed);
}

static void on_timeout(uv_timer_t *t) {
    op *o = t->data;
    if (!o->answered) {
        o->answered = 1;
        if (o->read_cb)
            o->read_cb(o->arg, 0, NULL, 0);
        else if (o->reply_cb)
            o->reply_cb(o->arg, 0, NULL, "redis did not answer in time");
    }
    op_finish_timer(o);
}

static op *op_new(sess_client *c, int timeout_ms) {
    op *o = calloc(1, sizeof(*o));
    if (!o) return NULL;
    o->c = c;
    o->refs = 2; /* the replies, the timer */
    uv_timer_init(c->loop, &o->timer);
    o->timer.data = o;
    uv_timer_start(&o->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return o;
}

int sess_key(const srv_config *cfg, const char *user, char *buf, size_t size) {
    int n = snprintf(buf, size, "%ssession:%s", cfg->redis_prefix, user);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

const srv_config *sess_config(const sess_client *c) {
    return c->cfg;
}

static int parse_event(const char *s, size_t len, sess_event *e) {
    char buf[512];
    if (len >= sizeof(buf)) return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *t1 = strchr(buf, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t2) return -1;
    *t1 = *t2 = 0;
    e->ts = strtoll(buf, NULL, 10);
    e->type = sess_type_of(t1 + 1);
    if (e->type < 0 || strlen(t2 + 1) >= sizeof(e->item)) return -1;
    strcpy(e->item, t2 + 1);
    return 0;
}

static void on_read_reply(redisAsyncContext *ac, void *r, void *priv) {
    (void)ac;
    op *o = priv;
    redisReply *reply = r;
    if (!o->answered) {
        o->answered = 1;
        uv_timer_stop(&o->timer);
        if (!reply || reply->type != REDIS_REPLY_ARRAY) {
            o->read_cb(o->arg, 0, NULL, 0);
        } else {
            sess_event *ev = calloc(reply->elements ? reply->elements : 1, sizeof(sess_event));
            size_t n = 0;
            for (size_t i = 0; ev && i < reply->elements; i++) {
                redisReply *e = reply->element[i];
                if (e->type == REDIS_REPLY_STRING &&
                    parse_event(e->str, (size_t)e->len, &ev[n]) == 0)
                    n++;
            }
            o->read_cb(o->arg, ev != NULL, ev, n);
            free(ev);
        }
        op_finish_timer(o);
    }
    op_unref(o);
}

void sess_read(sess_client *c, const char *user, sess_read_cb cb, void *arg) {
    if (!c || !c->connected || !c->ac) {
        cb(arg, 0, NULL, 0);
        return;
    }
    op *o = op_new(c, c->cfg->redis_command_timeout_ms);
    if (!o) {
        cb(arg, 0, NULL, 0);
        return;
    }
    o->read_cb = cb;
    o->arg = arg;
    char key[SESS_MAX_ID + 96];
    int kl = sess_key(c->cfg, user, key, sizeof(key));
    if (kl < 0 ||
        redisAsyncCommand(c->ac, on_read_reply, o, "LRANGE %b 0 -1", key, (size_t)kl) != REDIS_OK) {
        o->answered = 1;
        cb(arg, 0, NULL, 0);
        op_finish_timer(o);
        op_unref(o); /* no reply will come */
    }
}

/* ---- one command --------------------------------------------------------- */

int sess_connected(const sess_client *c) {
    return c && c->connected && c->ac;
}

static void on_command_reply(redisAsyncContext *ac, void *r, void *priv) {
    op *o = priv;
    redisReply *reply = r;
    /* a master demoted by a failover answers writes with READONLY (a
     * script's error quotes it): reconnect to find the new one */
    if (reply && reply->type == REDIS_REPLY_ERROR && strstr(reply->str, "READONLY") && ac->data &&
        use_sentinel(o->c) && !(ac->c.flags & REDIS_DISCONNECTING))
        redisAsyncDisconnect(ac);
    if (!o->answered) {
        o->answered = 1;
        uv_timer_stop(&o->timer);
        if (o->reply_cb) {
            if (!reply)
                o->reply_cb(o->arg, 0, NULL, "redis connection lost");
            else if (reply->type == REDIS_REPLY_ERROR)
                o->reply_cb(o->arg, 0, reply, reply->str);
            else
                o->reply_cb(o->arg, 1, reply, NULL);
        }
        op_finish_timer(o);
    }
    op_unref(o);
}

void sess_command(sess_client *c, int argc, const char **argv, const size_t *argvlen,
                  sess_reply_cb cb, void *arg) {
    sess_command_within(c, c ? c->cfg->redis_command_timeout_ms : 0, argc, argv, argvlen, cb, arg);
}

void sess_command_within(sess_client *c, int timeout_ms, int argc, const char **argv,
                         const size_t *argvlen, sess_reply_cb cb, void *arg) {
    if (!sess_connected(c)) {
        if (cb) cb(arg, 0, NULL, "redis is unavailable");
        return;
    }
    op *o = op_new(c, timeout_ms);
    if (!o) {
        if (cb) cb(arg, 0, NULL, "out of memory");
        return;
    }
    o->reply_cb = cb;
    o->arg = arg;
    if (redisAsyncCommandArgv(c->ac, on_command_reply, o, argc, argv, argvlen) != REDIS_OK) {
        o->answered = 1;
        if (cb) cb(arg, 0, NULL, "redis is unavailable");
        op_finish_timer(o);
        op_unref(o); /* no reply will come */
    }
}

void sess_flush(sess_client *c) {
    if (sess_connected(c)) redisAsyncHandleWrite(c->ac);
}

/* ---- subscriptions ------------------------------------------------------ */

/* hiredis calls this for the SUBSCRIBE confirmation and for every message
 * after it, and once with NULL when the connection goes. */
static void on_subscribed_reply(redisAsyncContext *ac, void *r, void *priv) {
    (void)priv;
    sess_client *c = ac->data;
    redisReply *reply = r;
    if (!c || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = reply->element[0]->str;
    if (!strcmp(kind, "subscribe"))
        c->on_message(c->message_arg, NULL, 0); /* (re)subscribed: messages may have been missed */
    else if (!strcmp(kind, "message") && reply->element[2]->type == REDIS_REPLY_STRING)
        c->on_message(c->message_arg, reply->element[2]->str, (size_t)reply->element[2]->len);
}

static void subscribe_now(sess_client *c) {
    redisAsyncCommand(c->ac, on_subscribed_reply, NULL, "SUBSCRIBE %s", c->channel);
}

int sess_subscribe(sess_client *c, const char *channel, sess_message_cb cb, void *arg) {
    if (strlen(channel) >= sizeof(c->channel) || c->channel[0]) return -1;
    snprintf(c->channel, sizeof(c->channel), "%s", channel);
    c->on_message = cb;
    c->message_arg = arg;
    if (sess_connected(c)) subscribe_now(c);
    return 0;
}

/* catstore.c - see catstore.h. */
#include "catstore.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <uv.h>

#include "sessions.h"

/* Changes published together (a script hiding 500 items) are read once. */
#define GATHER_MS 20

struct catstore {
    srv_config cfg; /* a copy: reads may take longer than a request's deadline */
    pthread_t thread;
    int started;
    uv_loop_t loop;
    uv_async_t stop;
    uv_timer_t gather, refresh;
    sess_client *sub, *cmd;
    int reading, again;
    uint64_t next_generation;
    pthread_mutex_t lock; /* guards current */
    cat_snapshot *current;
    uint64_t generation; /* current's, atomic */
    int64_t last_read;   /* atomic */
};

static void publish(catstore *s, cat_snapshot *snap) {
    pthread_mutex_lock(&s->lock);
    cat_snapshot *old = s->current;
    s->current = snap;
    __atomic_store_n(&s->generation, cat_snapshot_generation(snap), __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s->lock);
    cat_snapshot_release(old);
}

cat_snapshot *catstore_current(catstore *s) {
    pthread_mutex_lock(&s->lock);
    cat_snapshot *snap = cat_snapshot_retain(s->current);
    pthread_mutex_unlock(&s->lock);
    return snap;
}

uint64_t catstore_generation(const catstore *s) {
    return __atomic_load_n(&s->generation, __ATOMIC_ACQUIRE);
}

int64_t catstore_last_read(const catstore *s) {
    return __atomic_load_n(&s->last_read, __ATOMIC_RELAXED);
}

static void read_all(catstore *s);

/* The script's answer: {HGETALL of the items, the promotions or ""}. */
static cat_snapshot *snapshot_of(catstore *s, const redisReply *r) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_ARRAY || r->element[1]->type != REDIS_REPLY_STRING)
        return NULL;
    cat_snapshot *snap = cat_snapshot_new(++s->next_generation);
    if (!snap) return NULL;
    const redisReply *h = r->element[0];
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const redisReply *k = h->element[i], *v = h->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        if (cat_snapshot_add(snap, k->str, (size_t)k->len, v->str, (size_t)v->len)) goto fail;
    }
    const redisReply *p = r->element[1];
    if (p->len > 0 && cat_snapshot_set_promotions(snap, p->str, (size_t)p->len)) goto fail;
    return snap;
fail:
    cat_snapshot_release(snap);
    return NULL;
}

static void on_read(void *arg, int ok, const struct redisReply *reply, const char *error) {
    (void)error;
    catstore *s = arg;
    s->reading = 0;
    cat_snapshot *snap = ok ? snapshot_of(s, reply) : NULL;
    if (snap) {
        publish(s, snap);
        __atomic_store_n(&s->last_read, (int64_t)time(NULL), __ATOMIC_RELAXED);
    }
    /* a failed read is tried again by the next message, resubscription or
     * refresh; a change that came in during this read is read now */
    if (s->again) {
        s->again = 0;
        read_all(s);
    }
}

const char *catstore_key(const srv_config *cfg, const char *name, char out[CATSTORE_KEY_MAX]) {
    snprintf(out, CATSTORE_KEY_MAX, "%s%s", cfg->redis_prefix, name);
    return out;
}

static void read_all(catstore *s) {
    if (s->reading) {
        s->again = 1;
        return;
    }
    static const char script[] = "local p = redis.call('GET', KEYS[2]) "
                                 "return {redis.call('HGETALL', KEYS[1]), p or ''}";
    char items[CATSTORE_KEY_MAX], promotions[CATSTORE_KEY_MAX];
    const char *argv[] = {"EVAL", script, "2", catstore_key(&s->cfg, CATSTORE_ITEMS, items),
                          catstore_key(&s->cfg, CATSTORE_PROMOTIONS, promotions)};
    size_t len[5];
    for (int i = 0; i < 5; i++)
        len[i] = strlen(argv[i]);
    s->reading = 1;
    sess_command(s->cmd, 5, argv, len, on_read, s); /* its callback may run at once */
}

static void on_gather(uv_timer_t *t) {
    read_all(t->data);
}

static void on_refresh(uv_timer_t *t) {
    read_all(t->data);
}

static void on_message(void *arg, const char *message, size_t len) {
    (void)message;
    (void)len;
    catstore *s = arg;
    if (!uv_is_active((uv_handle_t *)&s->gather))
        uv_timer_start(&s->gather, on_gather, GATHER_MS, 0);
}

/* Closes the store's own handles; the clients close theirs (sess_free). */
static void on_stop(uv_async_t *a) {
    catstore *s = a->data;
    sess_free(s->sub);
    sess_free(s->cmd);
    s->sub = s->cmd = NULL;
    uv_close((uv_handle_t *)&s->gather, NULL);
    uv_close((uv_handle_t *)&s->refresh, NULL);
    uv_close((uv_handle_t *)&s->stop, NULL);
}

static void *run(void *arg) {
    catstore *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

int catstore_start(catstore **out, const srv_config *cfg, mx_err *err) {
    *out = NULL;
    char channel[CATSTORE_KEY_MAX];
    catstore *s = calloc(1, sizeof(*s));
    if (!s) return mx_err_set(err, MX_ENOMEM, "out of memory for the catalogue");
    s->cfg = *cfg;
    if (s->cfg.redis_command_timeout_ms < 2000) s->cfg.redis_command_timeout_ms = 2000;
    pthread_mutex_init(&s->lock, NULL);
    if (!(s->current = cat_snapshot_new(0))) {
        catstore_stop(s);
        return mx_err_set(err, MX_ENOMEM, "out of memory for the catalogue");
    }
    *out = s;
    if (!cfg->redis_url[0]) return 0; /* no Redis: no overrides */
    uv_loop_init(&s->loop);
    uv_async_init(&s->loop, &s->stop, on_stop);
    uv_timer_init(&s->loop, &s->gather);
    uv_timer_init(&s->loop, &s->refresh);
    s->stop.data = s->gather.data = s->refresh.data = s;
    s->sub = sess_new(&s->loop, &s->cfg, NULL);
    s->cmd = sess_new(&s->loop, &s->cfg, NULL);
    if (!s->sub || !s->cmd ||
        sess_subscribe(s->sub, catstore_key(&s->cfg, CATSTORE_CHANNEL, channel), on_message,
                       s)) { /* before the loop runs */
        on_stop(&s->stop);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        uv_loop_close(&s->loop);
        s->loop = (uv_loop_t){0};
        *out = NULL;
        catstore_stop(s);
        return mx_err_set(err, MX_ENOMEM, "out of memory for the catalogue's Redis clients");
    }
    uint64_t every = (uint64_t)cfg->catalog_refresh_s * 1000;
    uv_timer_start(&s->refresh, on_refresh, every, every);
    if (pthread_create(&s->thread, NULL, run, s)) {
        on_stop(&s->stop);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        uv_loop_close(&s->loop);
        *out = NULL;
        s->loop = (uv_loop_t){0};
        catstore_stop(s);
        return mx_err_set(err, MX_EIO, "cannot start the catalogue thread");
    }
    s->started = 1;
    return 0;
}

void catstore_stop(catstore *s) {
    if (!s) return;
    if (s->started) {
        uv_async_send(&s->stop);
        pthread_join(s->thread, NULL);
        uv_loop_close(&s->loop);
    }
    cat_snapshot_release(s->current);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

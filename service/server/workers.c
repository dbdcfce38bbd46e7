/* workers.c - see workers.h. */
#include "workers.h"

#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <uv.h>

#include "expsync.h"

#include "armstats.h"

typedef struct job {
    wk_fn fn;
    void *arg;
    struct job *next;
} job;

struct wk_worker {
    wk_pool *pool;
    uv_loop_t loop;
    uv_async_t wake;
    pthread_t thread;
    pthread_mutex_t lock; /* guards head, tail, stopping */
    job *head, *tail;
    int stopping;
    /* owned by the worker thread */
    wk_lease *cur; /* the worker's own hold on the current model and experiments */
    uint64_t gen;  /* the holder's generation cur was taken at */
    uint64_t xgen; /* the experiment holder's generation cur was taken at */
    sess_client *sess;
    xsync *sync; /* worker 0 with Redis: the poll of the shared experiment list */
    implog *log;
    armstats *arms; /* exploration's counts (with Redis) */
    rid_gen *rid;   /* made by wk_start, used by this thread only */
    catview *view;  /* the live catalogue on this worker's model (catview.h) */
};

struct wk_pool {
    const srv_config *cfg;
    int with_redis;
    int redis_connected;               /* atomic: workers connected to Redis */
    unsigned long impressions_dropped; /* atomic: implog.h's count */
    mh_holder *holder;
    xs_holder *experiments; /* the list in force (expset.h); owned */
    catstore *catalog;      /* with Redis: the live catalogue, else NULL */
    size_t max_k;
    int n;
    unsigned next; /* round robin, updated under no lock: any worker is fine */
    wk_worker *w;
};

/* A model and this worker's scratch for it: shared by the leases on that
 * model (a swap of experiments makes a new lease, not new scratch). */
typedef struct model_hold {
    mh_ref *ref;
    rec_ctx *rec;
    int holds; /* its leases'; worker thread only */
} model_hold;

struct wk_lease {
    model_hold *m;
    xs_ref *x; /* the experiment list in force when the lease was made */
    int holds; /* the worker's own (while current) and its requests'; worker thread only */
};

static void model_hold_drop(model_hold *m) {
    if (!m || --m->holds > 0) return;
    rec_ctx_free(m->rec);
    mh_release(m->ref); /* frees the model if the holder and the others let go */
    free(m);
}

wk_lease *wk_lease_retain(wk_lease *l) {
    l->holds++;
    return l;
}

void wk_lease_drop(wk_lease *l) {
    if (!l || --l->holds > 0) return;
    model_hold_drop(l->m);
    xs_release(l->x); /* frees the list if it was replaced and this was its last hold */
    free(l);
}

const mx_model *wk_lease_model(const wk_lease *l) {
    return mh_model(l->m->ref);
}

rec_ctx *wk_lease_rec(const wk_lease *l) {
    return l->m->rec;
}

const experiment_list *wk_lease_experiments(const wk_lease *l) {
    return l ? xs_list(l->x) : NULL;
}

xs_holder *wk_experiments(const wk_pool *p) {
    return p->experiments;
}

/* A model hold on the holder's current model (its generation into *g);
 * NULL when there is none or no scratch could be made (*made 0 then). */
static model_hold *model_hold_new(wk_pool *p, uint64_t *g, int *made) {
    mh_ref *r = mh_acquire(p->holder, g);
    model_hold *m = r ? calloc(1, sizeof(*m)) : NULL;
    if (m) m->rec = rec_ctx_new(mh_model(r), p->max_k);
    *made = !r || (m && m->rec);
    if (!*made) {
        free(m);
        mh_release(r);
        return NULL;
    }
    if (m) {
        m->ref = r;
        m->holds = 1;
    }
    return m;
}

/* After a reload or a swap of experiments, moves the worker to the
 * holders' current model and list. The old lease goes on for the requests
 * that still hold it. If no scratch can be made for a new model (or no
 * lease at all) the worker stays where it is and tries again at its next
 * request. */
static void refresh(wk_worker *w) {
    wk_pool *p = w->pool;
    uint64_t g = mh_generation(p->holder), xg = xs_generation(p->experiments);
    int same_model = g == w->gen && (w->cur || g == 0);
    if (same_model && (!w->cur || xg == w->xgen)) return;
    model_hold *m;
    if (same_model) { /* only the experiments changed: the scratch goes on */
        m = w->cur->m;
        m->holds++;
    } else {
        int made;
        if (!(m = model_hold_new(p, &g, &made)) && !made) return;
    }
    wk_lease *l = m ? calloc(1, sizeof(*l)) : NULL;
    if (m && !l) {
        model_hold_drop(m);
        return;
    }
    if (l) {
        l->m = m;
        l->x = xs_acquire(p->experiments, &xg);
        l->holds = 1;
    }
    wk_lease_drop(w->cur);
    w->cur = l;
    w->gen = g;
    w->xgen = xg;
}

wk_lease *wk_lease_take(wk_worker *w) {
    refresh(w);
    return w->cur ? wk_lease_retain(w->cur) : NULL;
}

typedef struct deferred {
    uv_timer_t timer;
    void (*fn)(void *arg);
    void *arg;
} deferred;

static void on_deferred_closed(uv_handle_t *h) {
    free(h->data);
}

static void on_deferred(uv_timer_t *t) {
    deferred *d = t->data;
    d->fn(d->arg);
    uv_close((uv_handle_t *)&d->timer, on_deferred_closed);
}

int wk_defer(wk_worker *w, unsigned ms, void (*fn)(void *arg), void *arg) {
    deferred *d = malloc(sizeof(*d));
    if (!d || uv_timer_init(&w->loop, &d->timer) != 0) {
        free(d);
        return -1;
    }
    d->fn = fn;
    d->arg = arg;
    d->timer.data = d;
    uv_timer_start(&d->timer, on_deferred, ms, 0);
    return 0;
}

sess_client *wk_sessions(wk_worker *w) {
    return w->sess;
}

rid_gen *wk_rid(wk_worker *w) {
    return w->rid;
}

implog *wk_implog(wk_worker *w) {
    return w->log;
}

armstats *wk_armstats(wk_worker *w) {
    return w->arms;
}

unsigned long wk_impressions_dropped(const wk_pool *p) {
    return __atomic_load_n(&p->impressions_dropped, __ATOMIC_RELAXED);
}

int wk_redis_connected(const wk_pool *p) {
    return __atomic_load_n(&p->redis_connected, __ATOMIC_RELAXED);
}

int wk_count(const wk_pool *p) {
    return p->n;
}

static void on_wake(uv_async_t *a) {
    wk_worker *w = a->data;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        job *j = w->head;
        if (j) {
            w->head = j->next;
            if (!w->head) w->tail = NULL;
        }
        int stop = w->stopping && !j;
        pthread_mutex_unlock(&w->lock);
        if (stop) {
            xsync_stop(w->sync); /* before its client goes */
            w->sync = NULL;
            implog_stop(w->log); /* sends what is queued while the client still can */
            armstats_stop(w->arms);
            sess_free(w->sess); /* the loop runs until its handles are closed */
            w->sess = NULL;
            uv_close((uv_handle_t *)&w->wake, NULL);
            return;
        }
        if (!j) return;
        j->fn(w, j->arg);
        free(j);
    }
}

static void *run(void *arg) {
    wk_worker *w = arg;
    omp_set_num_threads(1); /* FAISS's batched calls stay on this thread */
    const srv_config *cfg = w->pool->cfg;
    if (w->pool->with_redis) w->sess = sess_new(&w->loop, cfg, &w->pool->redis_connected);
    if (w->sess && cfg->log_impressions)
        w->log = implog_new(&w->loop, w->sess, cfg, &w->pool->impressions_dropped);
    if (w->sess && w == &w->pool->w[0]) /* one poll per replica is enough */
        w->sync = xsync_start(&w->loop, w->sess, w->pool->experiments, cfg);
    if (w->sess) /* seeded apart per worker and process */
        w->arms = armstats_new(&w->loop, w->sess, cfg,
                               (uint64_t)uv_hrtime() ^ ((uint64_t)(uintptr_t)w << 16));
    uv_run(&w->loop, UV_RUN_DEFAULT); /* every request's lease is dropped by now */
    implog_free(w->log);              /* its reply callbacks have all run */
    w->log = NULL;
    armstats_free(w->arms);
    w->arms = NULL;
    wk_lease_drop(w->cur);
    w->cur = NULL;
    return NULL;
}

int wk_start(wk_pool **out, const srv_config *cfg, mh_holder *holder, int with_redis, mx_err *err) {
    *out = NULL;
    int n = cfg->workers;
    size_t max_k = (size_t)cfg->max_k;
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    wk_pool *p = calloc(1, sizeof(*p));
    if (!p || !(p->w = calloc((size_t)n, sizeof(wk_worker)))) {
        free(p);
        return mx_err_set(err, MX_ENOMEM, "out of memory for %d workers", n);
    }
    p->holder = holder;
    p->max_k = max_k;
    p->cfg = cfg;
    p->with_redis = with_redis;
    experiment_list *xl = NULL;
    int rc =
        experiment_parse_text(cfg->experiments_list, "experiments.list", cfg, &xl, NULL, 0, err);
    if (!rc && !(p->experiments = xs_new(xl)))
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for the experiments");
    if (!rc && with_redis) rc = catstore_start(&p->catalog, cfg, err);
    if (rc) {
        xs_free(p->experiments);
        free(p->w);
        free(p);
        return rc;
    }
    for (int i = 0; i < n; i++) {
        wk_worker *w = &p->w[i];
        w->pool = p;
        pthread_mutex_init(&w->lock, NULL);
        w->rid = rid_gen_new();
        w->view = catview_new(cfg);
        rc = w->rid && w->view ? uv_loop_init(&w->loop) : UV_EIO;
        if (!rc) rc = uv_async_init(&w->loop, &w->wake, on_wake);
        w->wake.data = w;
        if (!rc) rc = pthread_create(&w->thread, NULL, run, w) ? UV_EAGAIN : 0;
        if (rc) {
            int no_rid = !w->rid;
            rid_gen_free(w->rid);
            catview_free(w->view);
            p->n = i;
            wk_stop(p);
            if (no_rid)
                return mx_err_set(err, MX_EIO,
                                  "starting worker %d: no random bytes for recommendation ids", i);
            return mx_err_set(err, MX_EIO, "starting worker %d: %s", i, uv_strerror(rc));
        }
        p->n = i + 1;
    }
    *out = p;
    return 0;
}

int wk_submit(wk_pool *p, wk_fn fn, void *arg) {
    return wk_submit_to(
        p, (int)(__atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED) % (unsigned)p->n), fn, arg);
}

uv_loop_t *wk_loop(wk_worker *w) {
    return &w->loop;
}

int wk_submit_to(wk_pool *p, int i, wk_fn fn, void *arg) {
    if (i < 0 || i >= p->n) return -1;
    job *j = malloc(sizeof(*j));
    if (!j) return -1;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    wk_worker *w = &p->w[i];
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        free(j);
        return -1;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->wake);
    return 0;
}

void wk_stop(wk_pool *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) {
        wk_worker *w = &p->w[i];
        pthread_mutex_lock(&w->lock);
        w->stopping = 1;
        pthread_mutex_unlock(&w->lock);
        uv_async_send(&w->wake);
    }
    for (int i = 0; i < p->n; i++) {
        wk_worker *w = &p->w[i];
        pthread_join(w->thread, NULL);
        uv_loop_close(&w->loop);
        pthread_mutex_destroy(&w->lock);
        rid_gen_free(w->rid);
        catview_free(w->view);
    }
    catstore_stop(p->catalog);
    xs_free(p->experiments); /* every lease is dropped by now */
    free(p->w);
    free(p);
}

catview *wk_catview(wk_worker *w, const mx_model *m, mx_err *err) {
    return catview_update(w->view, w->pool->catalog, m, err) ? NULL : w->view;
}

catstore *wk_catalog(const wk_pool *p) {
    return p->catalog;
}

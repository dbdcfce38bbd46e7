/* api_session.c - see api_session.h. */
#include "api_session.h"

#include <stdlib.h>
#include <time.h>

typedef struct waiting {
    api_req *r;
    const char *user;
    api_session_fn done;
    void *arg;
    struct timespec t0;
} waiting;

static double since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void on_read(void *arg, int ok, const sess_event *ev, size_t n) {
    waiting *wt = arg;
    api_req *r = wt->r;
    if (wk_sessions(r->worker)) prom_session_read(r->env->prom, ok, since(&wt->t0));
    api_session_fn done = wt->done;
    void *done_arg = wt->arg;
    free(wt);
    done(r, done_arg, ok, ev, n);
}

static void start_read(void *arg) {
    waiting *wt = arg;
    sess_client *sc = wk_sessions(wt->r->worker);
    if (!sc) { /* no Redis configured: long-term profile only */
        on_read(wt, 0, NULL, 0);
        return;
    }
    sess_read(sc, wt->user, on_read, wt);
}

void api_session_read(api_req *r, const char *user, api_session_fn done, void *arg) {
    waiting *wt = malloc(sizeof(*wt));
    if (!wt) {
        done(r, arg, 0, NULL, 0);
        return;
    }
    *wt = (waiting){.r = r, .user = user, .done = done, .arg = arg};
    clock_gettime(CLOCK_MONOTONIC, &wt->t0);
    unsigned delay = (unsigned)r->env->cfg->testing_session_delay_ms;
    if (delay == 0 || wk_defer(r->worker, delay, start_read, wt) != 0) start_read(wt);
}

size_t api_session_events(const srv_config *cfg, const mx_model *m, const sess_event *ev, size_t n,
                          rec_event *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        int64_t it = model_item(m, ev[i].item);
        if (it >= 0)
            out[k++] =
                (rec_event){(uint32_t)it, ev[i].ts, (float)sess_type_weight(cfg, ev[i].type)};
    }
    return k;
}

/* http_lane.c - see http_lane.h. */
#include "http_lane.h"

#include <pthread.h>
#include <stdlib.h>

enum { LANE_HANDLES = 4 }; /* poll, timer, idle, kick */

struct http_lane {
    wk_pool *pool;
    int index;
    void *user;
    wk_worker *w;         /* set on the lane's thread by http_lane_run's step */
    struct MHD_Daemon *d; /* owned once running */
    uv_poll_t poll;       /* the daemon's epoll descriptor */
    uv_timer_t timer;     /* libmicrohttpd's next timeout */
    uv_idle_t idle;       /* run again at once: resumed here, or data pending */
    uv_async_t kick;      /* resumed from another thread */
    int handles;          /* how many of the handles are initialised */
    /* the step the main thread waits for */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, rc;
};

http_lane *http_lane_new(wk_pool *pool, int worker, void *user) {
    http_lane *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    l->pool = pool;
    l->index = worker;
    l->user = user;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    return l;
}

void *http_lane_user(const http_lane *l) {
    return l->user;
}

wk_worker *http_lane_worker(const http_lane *l) {
    return l->w;
}

/* ---- on the lane's thread ------------------------------------------------- */

static void step_done(http_lane *l, int rc) {
    pthread_mutex_lock(&l->mu);
    l->rc = rc;
    l->done = 1;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static void on_idle(uv_idle_t *h);
static void on_timer(uv_timer_t *h);

static unsigned connections(struct MHD_Daemon *d) {
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return di ? di->num_connections : 0;
}

/* One pass of the daemon, then when the next one is due. When connections
 * closed during the pass, one more pass follows at once: at its
 * connection limit a daemon takes the listening socket out of its epoll
 * set and puts it back only at the start of a pass, which nothing else
 * would cause once the last connection is gone. */
static void run_daemon(http_lane *l) {
    if (!l->d) return;
    unsigned before = connections(l->d);
    MHD_run(l->d);
    MHD_UNSIGNED_LONG_LONG ms;
    if (connections(l->d) < before) {
        uv_idle_start(&l->idle, on_idle);
    } else if (MHD_get_timeout(l->d, &ms) != MHD_YES) {
        uv_timer_stop(&l->timer);
    } else if (ms == 0) { /* data already read, or a connection resumed */
        uv_idle_start(&l->idle, on_idle);
    } else {
        uv_timer_start(&l->timer, on_timer, ms, 0);
    }
}

static void on_poll(uv_poll_t *h, int status, int events) {
    (void)status;
    (void)events;
    run_daemon(h->data);
}

static void on_timer(uv_timer_t *h) {
    run_daemon(h->data);
}

static void on_idle(uv_idle_t *h) {
    uv_idle_stop(h);
    run_daemon(h->data);
}

static void on_kick(uv_async_t *h) {
    run_daemon(h->data);
}

static void attach(wk_worker *w, void *arg) {
    http_lane *l = arg;
    uv_loop_t *loop = wk_loop(w);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
    /* handles counts those made, in the order close_handles closes them */
    int rc = di ? uv_poll_init(loop, &l->poll, di->epoll_fd) : UV_EINVAL;
    if (!rc && ++l->handles) rc = uv_timer_init(loop, &l->timer);
    if (!rc && ++l->handles) rc = uv_idle_init(loop, &l->idle);
    if (!rc && ++l->handles) rc = uv_async_init(loop, &l->kick, on_kick);
    if (!rc && ++l->handles) rc = uv_poll_start(&l->poll, UV_READABLE, on_poll);
    l->poll.data = l->timer.data = l->idle.data = l->kick.data = l;
    if (!rc) {
        l->w = w;
        run_daemon(l);
    }
    step_done(l, rc ? -1 : 0);
}

static void on_closed(uv_handle_t *h) {
    http_lane *l = h->data;
    if (--l->handles == 0) step_done(l, 0);
}

/* Closes the handles; the step is done when the last one is closed. */
static void close_handles(http_lane *l) {
    if (l->handles == 0) {
        step_done(l, 0);
        return;
    }
    uv_handle_t *hs[LANE_HANDLES] = {(uv_handle_t *)&l->poll, (uv_handle_t *)&l->timer,
                                     (uv_handle_t *)&l->idle, (uv_handle_t *)&l->kick};
    for (int i = 0, n = l->handles; i < n; i++)
        uv_close(hs[i], on_closed);
}

static void quiesce(wk_worker *w, void *arg) {
    (void)w;
    http_lane *l = arg;
    if (l->d) MHD_quiesce_daemon(l->d); /* the socket is shared: not closed here */
    step_done(l, 0);
}

static void stop(wk_worker *w, void *arg) {
    (void)w;
    http_lane *l = arg;
    if (l->d) {
        MHD_quiesce_daemon(l->d);
        MHD_stop_daemon(l->d);
        l->d = NULL;
    }
    close_handles(l);
}

/* ---- on the caller's thread ------------------------------------------------ */

/* Runs fn on the lane's worker and waits for its step_done: its rc, or -1
 * when the pool takes no more jobs. */
static int step(http_lane *l, wk_fn fn) {
    pthread_mutex_lock(&l->mu);
    l->done = 0;
    pthread_mutex_unlock(&l->mu);
    if (wk_submit_to(l->pool, l->index, fn, l)) return -1;
    pthread_mutex_lock(&l->mu);
    while (!l->done)
        pthread_cond_wait(&l->cv, &l->mu);
    int rc = l->rc;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int http_lane_run(http_lane *l, struct MHD_Daemon *d) {
    l->d = d;
    if (step(l, attach) == 0) return 0;
    /* the handles made are closed; the daemon goes back to the caller */
    l->d = NULL;
    step(l, stop);
    return -1;
}

void http_lane_kick(http_lane *l, int on_lane) {
    if (on_lane)
        uv_idle_start(&l->idle, on_idle); /* the loop does not block before it */
    else
        uv_async_send(&l->kick);
}

void http_lane_quiesce(http_lane *l) {
    if (l && l->w) step(l, quiesce);
}

void http_lane_free(http_lane *l) {
    if (!l) return;
    if (l->w) {
        step(l, stop);
    } else if (l->d) { /* never ran: no other thread touches it */
        MHD_quiesce_daemon(l->d);
        MHD_stop_daemon(l->d);
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

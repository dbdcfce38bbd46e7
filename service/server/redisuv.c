/* redisuv.c - see redisuv.h. */
#include "redisuv.h"

#include <stdlib.h>

#include <hiredis/hiredis.h>

typedef struct redisuv {
    redisAsyncContext *context; /* NULL once hiredis let go of it (cleanup) */
    uv_poll_t poll;
    uv_idle_t flush;  /* pending while commands wait for the next turn */
    int wanted;       /* UV_READABLE | UV_WRITABLE: what hiredis asked for */
    int armed;        /* what the poll handle watches */
    int flushing;     /* inside on_flush's write */
    int open_handles; /* freed when both handles have closed */
} redisuv;

static void on_poll(uv_poll_t *h, int status, int events) {
    redisuv *p = h->data;
    if (status) p->armed = 0; /* libuv stopped the handle */
    int ev = status ? p->wanted | UV_READABLE : events;
    if (p->context && (ev & UV_READABLE)) redisAsyncHandleRead(p->context);
    if (p->context && (ev & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}

static void arm(redisuv *p, int events) {
    if (!p->context || events == p->armed) return;
    p->armed = events;
    if (events)
        uv_poll_start(&p->poll, events, on_poll);
    else
        uv_poll_stop(&p->poll);
}

static void on_flush(uv_idle_t *h) {
    redisuv *p = h->data;
    uv_idle_stop(h);
    if (!p->context || !(p->wanted & UV_WRITABLE)) return;
    /* hiredis asks for writing again (add_write) when the socket took only
     * part of the buffer: then the poll waits for room. p outlives this
     * call even when the write disconnects: it is freed by the handles'
     * close callbacks, after this turn's callbacks. */
    p->flushing = 1;
    redisAsyncHandleWrite(p->context);
    p->flushing = 0;
}

static void add_read(void *pd) {
    redisuv *p = pd;
    p->wanted |= UV_READABLE;
    arm(p, p->armed | UV_READABLE);
}

static void del_read(void *pd) {
    redisuv *p = pd;
    p->wanted &= ~UV_READABLE;
    arm(p, p->armed & ~UV_READABLE);
}

static void add_write(void *pd) {
    redisuv *p = pd;
    p->wanted |= UV_WRITABLE;
    /* A connect in progress is finished by writability (hiredis checks
     * SO_ERROR then, which says nothing while connect(2) still runs). */
    if (p->flushing || !(p->context->c.flags & REDIS_CONNECTED))
        arm(p, p->armed | UV_WRITABLE);
    else
        uv_idle_start(&p->flush, on_flush);
}

static void del_write(void *pd) {
    redisuv *p = pd;
    p->wanted &= ~UV_WRITABLE;
    uv_idle_stop(&p->flush);
    arm(p, p->armed & ~UV_WRITABLE);
}

static void on_closed(uv_handle_t *h) {
    redisuv *p = h->data;
    if (--p->open_handles == 0) free(p);
}

static void cleanup(void *pd) {
    redisuv *p = pd;
    p->context = NULL;
    uv_close((uv_handle_t *)&p->poll, on_closed);
    uv_close((uv_handle_t *)&p->flush, on_closed);
}

int redisuv_attach(redisAsyncContext *ac, uv_loop_t *loop) {
    if (ac->ev.data) return REDIS_ERR;
    redisuv *p = calloc(1, sizeof(*p));
    if (!p) return REDIS_ERR;
    if (uv_poll_init(loop, &p->poll, ac->c.fd)) {
        free(p);
        return REDIS_ERR;
    }
    uv_idle_init(loop, &p->flush);
    p->poll.data = p->flush.data = p;
    p->context = ac;
    p->open_handles = 2;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = p;
    return REDIS_OK;
}

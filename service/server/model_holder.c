/* model_holder.c - see model_holder.h. */
#include "model_holder.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct mh_ref {
    mx_model *m;
    atomic_int refs;
};

struct mh_holder {
    pthread_mutex_t reload_lock; /* one reload at a time */
    pthread_mutex_t lock;
    mh_ref *cur; /* guarded by lock; the holder's own reference */
    atomic_uint_least64_t gen;
};

mh_holder *mh_new(void) {
    mh_holder *h = calloc(1, sizeof(*h));
    if (!h) return NULL;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->reload_lock, NULL);
    atomic_init(&h->gen, 0);
    return h;
}

void mh_release(mh_ref *r) {
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
        model_free(r->m);
        free(r);
    }
}

void mh_free(mh_holder *h) {
    if (!h) return;
    mh_release(h->cur);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->reload_lock);
    free(h);
}

void mh_set(mh_holder *h, mx_model *m) {
    mh_ref *r = NULL;
    if (m) {
        r = malloc(sizeof(*r));
        if (!r) { /* keep serving the old model rather than none */
            model_free(m);
            return;
        }
        r->m = m;
        atomic_init(&r->refs, 1);
    }
    pthread_mutex_lock(&h->lock);
    mh_ref *old = h->cur;
    h->cur = r;
    atomic_fetch_add(&h->gen, 1);
    pthread_mutex_unlock(&h->lock);
    mh_release(old);
}

int mh_reload(mh_holder *h, const char *dir, char *version_out, size_t size, mx_err *err) {
    pthread_mutex_lock(&h->reload_lock);
    mx_model *m = NULL;
    int rc = model_load(dir, &m, err);
    if (rc == 0) {
        if (version_out) snprintf(version_out, size, "%s", m->version);
        mh_set(h, m); /* requests in flight finish on the old one */
    }
    pthread_mutex_unlock(&h->reload_lock);
    return rc;
}

uint64_t mh_generation(const mh_holder *h) {
    return atomic_load(&((mh_holder *)h)->gen);
}

mh_ref *mh_acquire(mh_holder *h, uint64_t *generation) {
    pthread_mutex_lock(&h->lock);
    mh_ref *r = h->cur;
    if (r) atomic_fetch_add(&r->refs, 1);
    if (generation) *generation = atomic_load(&h->gen);
    pthread_mutex_unlock(&h->lock);
    return r;
}

mh_ref *mh_retain(mh_ref *r) {
    if (r) atomic_fetch_add(&r->refs, 1);
    return r;
}

const mx_model *mh_model(const mh_ref *r) {
    return r ? r->m : NULL;
}

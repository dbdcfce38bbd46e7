/* expset.c - the experiment list in force; see expset.h. */
#include "expset.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct xs_ref {
    experiment_list *l;
    xs_source source;
    int64_t version;
    atomic_int refs;
};

struct xs_holder {
    pthread_mutex_t lock;
    xs_ref *cur;               /* guarded by lock; the holder's own reference */
    atomic_uint_least64_t gen; /* cur's; written under lock */
};

static xs_ref *ref_new(experiment_list *l, xs_source source, int64_t version) {
    xs_ref *r = malloc(sizeof(*r));
    if (!r) {
        experiment_list_free(l);
        return NULL;
    }
    r->l = l;
    r->source = source;
    r->version = version;
    atomic_init(&r->refs, 1);
    return r;
}

xs_holder *xs_new(experiment_list *l) {
    xs_holder *h = calloc(1, sizeof(*h));
    xs_ref *r = h ? ref_new(l, XS_SETTINGS, 0) : NULL;
    if (!r) {
        if (!h) experiment_list_free(l);
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    h->cur = r;
    atomic_init(&h->gen, 1); /* never 0: a reader's "none yet" */
    return h;
}

void xs_free(xs_holder *h) {
    if (!h) return;
    xs_release(h->cur);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

uint64_t xs_generation(const xs_holder *h) {
    return atomic_load_explicit(&((xs_holder *)h)->gen, memory_order_acquire);
}

xs_ref *xs_acquire(xs_holder *h, uint64_t *generation) {
    if (!h) return NULL;
    pthread_mutex_lock(&h->lock);
    xs_ref *r = xs_retain(h->cur);
    if (generation) *generation = atomic_load_explicit(&h->gen, memory_order_relaxed);
    pthread_mutex_unlock(&h->lock);
    return r;
}

xs_ref *xs_retain(xs_ref *r) {
    if (r) atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    return r;
}

void xs_release(xs_ref *r) {
    if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        experiment_list_free(r->l);
        free(r);
    }
}

const experiment_list *xs_list(const xs_ref *r) {
    return r ? r->l : NULL;
}

xs_source xs_source_of(const xs_ref *r) {
    return r ? r->source : XS_SETTINGS;
}

int64_t xs_version(const xs_ref *r) {
    return r ? r->version : 0;
}

/* Puts l in force when want(cur) holds (under the lock); see expset.h. */
static int put(xs_holder *h, experiment_list *l, xs_source source, int64_t version, int sync,
               uint64_t seen) {
    xs_ref *r = ref_new(l, source, version);
    if (!r) return MX_ENOMEM;
    pthread_mutex_lock(&h->lock);
    xs_ref *old = h->cur;
    uint64_t g = atomic_load_explicit(&h->gen, memory_order_relaxed);
    int take = sync ? version != old->version && g == seen : version > old->version;
    if (take) {
        h->cur = r;
        atomic_store_explicit(&h->gen, g + 1, memory_order_release);
    }
    pthread_mutex_unlock(&h->lock);
    xs_release(take ? old : r); /* the old list goes with its last request */
    return take;
}

int xs_offer(xs_holder *h, experiment_list *l, xs_source source, int64_t version) {
    return put(h, l, source, version, 0, 0);
}

int xs_sync(xs_holder *h, experiment_list *l, xs_source source, int64_t version, uint64_t seen) {
    return put(h, l, source, version, 1, seen);
}

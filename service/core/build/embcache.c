/* embcache.c - see embcache.h. */
#include "embcache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    const ds_event *ev;
    size_t n, n_users, n_items;
    int64_t ts_first, ts_last;
    emb_params p;
    float *user_vecs, *item_vecs;
    uint64_t used; /* clock of the last hit or insert */
} entry;

struct embc_cache {
    entry *e;
    size_t cap, len, hits;
    uint64_t clock;
};

embc_cache *embc_new(size_t max_entries) {
    embc_cache *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->cap = max_entries ? max_entries : 1;
    c->e = calloc(c->cap, sizeof(entry));
    if (!c->e) {
        free(c);
        return NULL;
    }
    return c;
}

static void entry_clear(entry *e) {
    free(e->user_vecs);
    free(e->item_vecs);
    memset(e, 0, sizeof(*e));
}

void embc_free(embc_cache *c) {
    if (!c) return;
    for (size_t i = 0; i < c->len; i++)
        entry_clear(&c->e[i]);
    free(c->e);
    free(c);
}

/* Every setting that changes what ALS learns, compared field by field
 * (the struct may have padding, so no memcmp). */
static int same_params(const emb_params *a, const emb_params *b) {
    return a->dim == b->dim && a->reg == b->reg && a->alpha == b->alpha && a->iters == b->iters &&
           a->cg_steps == b->cg_steps && a->use_value == b->use_value &&
           a->value_scale == b->value_scale && a->seed == b->seed && a->half_life == b->half_life &&
           (a->half_life == 0 || a->t_ref == b->t_ref);
}

static entry *find(embc_cache *c, const ds_event *ev, size_t n, const emb_params *p, size_t n_users,
                   size_t n_items) {
    for (size_t i = 0; i < c->len; i++) {
        entry *e = &c->e[i];
        if (e->ev == ev && e->n == n && e->n_users == n_users && e->n_items == n_items &&
            (n == 0 || (e->ts_first == ev[0].ts && e->ts_last == ev[n - 1].ts)) &&
            same_params(&e->p, p))
            return e;
    }
    return NULL;
}

int embc_get(embc_cache *c, const ds_event *ev, size_t n, const emb_params *p, size_t n_users,
             size_t n_items, float *user_vecs, float *item_vecs) {
    entry *e = c ? find(c, ev, n, p, n_users, n_items) : NULL;
    if (!e) return 0;
    memcpy(user_vecs, e->user_vecs, n_users * p->dim * sizeof(float));
    memcpy(item_vecs, e->item_vecs, n_items * p->dim * sizeof(float));
    e->used = ++c->clock;
    c->hits++;
    return 1;
}

int embc_put(embc_cache *c, const ds_event *ev, size_t n, const emb_params *p, size_t n_users,
             size_t n_items, const float *user_vecs, const float *item_vecs, mx_err *err) {
    if (!c || find(c, ev, n, p, n_users, n_items)) return 0;
    entry fresh = {.ev = ev,
                   .n = n,
                   .n_users = n_users,
                   .n_items = n_items,
                   .ts_first = n ? ev[0].ts : 0,
                   .ts_last = n ? ev[n - 1].ts : 0,
                   .p = *p,
                   .user_vecs = malloc((n_users ? n_users : 1) * p->dim * sizeof(float)),
                   .item_vecs = malloc((n_items ? n_items : 1) * p->dim * sizeof(float)),
                   .used = ++c->clock};
    if (!fresh.user_vecs || !fresh.item_vecs) {
        entry_clear(&fresh);
        return mx_err_set(err, MX_ENOMEM, "out of memory caching embeddings");
    }
    memcpy(fresh.user_vecs, user_vecs, n_users * p->dim * sizeof(float));
    memcpy(fresh.item_vecs, item_vecs, n_items * p->dim * sizeof(float));
    size_t slot = c->len;
    if (c->len == c->cap) { /* full: the least recently used goes */
        slot = 0;
        for (size_t i = 1; i < c->len; i++)
            if (c->e[i].used < c->e[slot].used) slot = i;
        entry_clear(&c->e[slot]);
    } else {
        c->len++;
    }
    c->e[slot] = fresh;
    return 0;
}

size_t embc_hits(const embc_cache *c) {
    return c ? c->hits : 0;
}

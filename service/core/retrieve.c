/* retrieve.c - candidate sources and blending. See retrieve.h. */
#include "retrieve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ret_ctx {
    ann_scratch *ann;
    size_t n_items, max_k, max_components;
    /* mark[i] == gen: excluded; mark[i] == gen + 1: taken in this query. */
    uint32_t *mark;
    uint32_t gen;
    size_t *budget;    /* max_components */
    uint32_t *rows;    /* lists searched */
    size_t *row_of;    /* component -> row */
    ret_cand *pool;    /* blend: one slice of max_k per source */
    ret_cand *reserve; /* mixture: over-fetched candidates beyond quota */
    size_t reserve_cap;
    size_t n_exclude; /* of the current query, sizes the over-fetch */
    float *gscore;
    int64_t *gitem;
};

const char *ret_source_name(int source) {
    switch (source) {
    case RET_MIXTURE:
        return "mixture";
    case RET_SINGLE:
        return "single";
    case RET_POPULAR:
        return "popular";
    default:
        return "unknown";
    }
}

void ret_params_init(ret_params *p) {
    p->overfetch = 2.0f;
    p->nprobe = 0;
    p->blend_share[RET_MIXTURE] = 0.4f;
    p->blend_share[RET_SINGLE] = 0.2f;
    p->blend_share[RET_POPULAR] = 0.4f;
}

#define RET_MAX_OVERFETCH 8

ret_ctx *ret_ctx_new(const ann_index *ix, size_t n_items, size_t max_k, size_t max_components) {
    ret_ctx *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->n_items = n_items;
    c->max_k = max_k;
    c->max_components = max_components ? max_components : 1;
    /* Per-row fetch: up to overfetch * k, plus room for exclusions. */
    size_t fetch = max_k * RET_MAX_OVERFETCH + 64;
    c->ann = ix ? ann_scratch_new(ix, c->max_components, fetch) : NULL;
    c->mark = calloc(n_items ? n_items : 1, sizeof(uint32_t));
    c->budget = malloc(c->max_components * sizeof(size_t));
    c->rows = malloc(c->max_components * sizeof(uint32_t));
    c->row_of = malloc(c->max_components * sizeof(size_t));
    c->pool = malloc(RET_N_SOURCES * max_k * sizeof(ret_cand) + 1);
    c->reserve_cap = fetch;
    c->reserve = malloc(c->reserve_cap * sizeof(ret_cand));
    c->gscore = malloc(fetch * sizeof(float));
    c->gitem = malloc(fetch * sizeof(int64_t));
    c->gen = 1;
    if ((ix && !c->ann) || !c->mark || !c->budget || !c->rows || !c->row_of || !c->pool ||
        !c->reserve || !c->gscore || !c->gitem) {
        ret_ctx_free(c);
        return NULL;
    }
    return c;
}

void ret_ctx_free(ret_ctx *c) {
    if (!c) return;
    ann_scratch_free(c->ann);
    free(c->mark);
    free(c->budget);
    free(c->rows);
    free(c->row_of);
    free(c->pool);
    free(c->reserve);
    free(c->gscore);
    free(c->gitem);
    free(c);
}

void ret_begin(ret_ctx *c, const uint32_t *exclude, size_t n_exclude) {
    c->gen += 2;
    if (c->gen < 3) { /* wrapped: clear the stamps once every 2^31 queries */
        memset(c->mark, 0, c->n_items * sizeof(uint32_t));
        c->gen = 3;
    }
    c->n_exclude = n_exclude;
    for (size_t i = 0; i < n_exclude; i++)
        if (exclude[i] < c->n_items) c->mark[exclude[i]] = c->gen;
}

static inline int usable(const ret_ctx *c, int64_t item) {
    return item >= 0 && (size_t)item < c->n_items && c->mark[item] != c->gen &&
           c->mark[item] != c->gen + 1;
}

static inline void take(ret_ctx *c, uint32_t item) {
    c->mark[item] = c->gen + 1;
}

void ret_allocate(const float *w, size_t m, size_t k, size_t *out) {
    double total = 0;
    for (size_t j = 0; j < m; j++)
        total += w[j] > 0 ? w[j] : 0;
    if (m == 0) return;
    if (total <= 0) {
        for (size_t j = 0; j < m; j++)
            out[j] = k / m + (j < k % m);
        return;
    }
    size_t given = 0;
    for (size_t j = 0; j < m; j++) {
        double share = (w[j] > 0 ? w[j] : 0) / total * (double)k;
        out[j] = (size_t)floor(share);
        given += out[j];
    }
    /* Hand out the rest by largest remainder, earlier component first. */
    while (given < k) {
        size_t best = 0;
        double best_r = -1;
        for (size_t j = 0; j < m; j++) {
            double share = (w[j] > 0 ? w[j] : 0) / total * (double)k;
            double r = share - (double)out[j];
            if (r > best_r) best_r = r, best = j;
        }
        out[best]++;
        given++;
    }
}

static int by_cand_score(const void *a, const void *b) {
    const ret_cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->item < y->item ? -1 : x->item > y->item;
}

int ret_mixture(ret_ctx *c, const ann_index *ix, const float *q, const uint32_t *cid,
                const float *w, size_t m, size_t k, const ret_params *p, ret_cand *out, size_t *n,
                mx_err *err) {
    *n = 0;
    if (m == 0 || k == 0 || !q) return 0;
    if (m > c->max_components) m = c->max_components;
    if (k > c->max_k) k = c->max_k;
    ret_allocate(w, m, k, c->budget);
    float of = p->overfetch < 1                   ? 1
               : p->overfetch > RET_MAX_OVERFETCH ? RET_MAX_OVERFETCH
                                                  : p->overfetch;
    size_t rows = 0, fetch = 0;
    for (size_t j = 0; j < m; j++) {
        c->row_of[j] = SIZE_MAX;
        if (c->budget[j] == 0) continue;
        size_t f =
            (size_t)ceilf((float)c->budget[j] * of) + 8 + (c->n_exclude < 32 ? c->n_exclude : 32);
        if (f > fetch) fetch = f;
        c->row_of[j] = rows;
        c->rows[rows++] = cid[j];
    }
    if (rows == 0) return 0;
    const float *sc;
    const int64_t *it;
    int rc = ann_search_lists(ix, c->ann, q, c->rows, rows, fetch, &sc, &it, err);
    if (rc) return rc;
    /* Quota pass, then a reserve of everything else fetched. */
    size_t n_res = 0, short_by = 0;
    ret_cand *reserve = c->reserve;
    for (size_t j = 0; j < m; j++) {
        size_t r = c->row_of[j];
        if (r == SIZE_MAX) continue;
        size_t got = 0;
        for (size_t t = 0; t < fetch; t++) {
            int64_t item = it[r * fetch + t];
            if (!usable(c, item)) continue;
            ret_cand cd = {(uint32_t)item, sc[r * fetch + t], cid[j], w[j], 0, RET_MIXTURE};
            if (got < c->budget[j]) {
                out[(*n)++] = cd;
                take(c, (uint32_t)item);
                got++;
            } else if (n_res < c->reserve_cap) {
                reserve[n_res++] = cd;
            }
        }
        short_by += c->budget[j] - got;
    }
    if (short_by && n_res) {
        qsort(reserve, n_res, sizeof(ret_cand), by_cand_score);
        for (size_t t = 0; t < n_res && short_by; t++) {
            if (!usable(c, reserve[t].item)) continue;
            out[(*n)++] = reserve[t];
            take(c, reserve[t].item);
            short_by--;
        }
    }
    qsort(out, *n, sizeof(ret_cand), by_cand_score);
    for (size_t t = 0; t < *n; t++)
        out[t].rank = (uint16_t)(t < 65535 ? t : 65535);
    return 0;
}

int ret_single(ret_ctx *c, const ann_index *ix, const float *q, size_t k, const ret_params *p,
               ret_cand *out, size_t *n, mx_err *err) {
    *n = 0;
    if (k == 0 || !q) return 0;
    if (k > c->max_k) k = c->max_k;
    /* Fetch extra to absorb exclusions and items taken by earlier sources. */
    size_t extra = c->n_exclude < 6 * k ? c->n_exclude : 6 * k;
    size_t fetch = k + extra + 64, found = 0;
    int rc = ann_search_global(ix, c->ann, q, fetch, p->nprobe, c->gscore, c->gitem, &found, err);
    if (rc) return rc;
    for (size_t t = 0; t < found && *n < k; t++) {
        if (!usable(c, c->gitem[t])) continue;
        uint32_t item = (uint32_t)c->gitem[t];
        out[*n] = (ret_cand){item, c->gscore[t], UINT32_MAX, 0, (uint16_t)*n, RET_SINGLE};
        take(c, item);
        (*n)++;
    }
    return 0;
}

int ret_popular(ret_ctx *c, const pop_table *pop, size_t k, ret_cand *out, size_t *n) {
    *n = 0;
    for (size_t t = 0; t < pop->n_ranked && *n < k; t++) {
        uint32_t item = pop->ranked[t];
        if (!usable(c, item)) continue;
        out[*n] = (ret_cand){item, pop->score[item], UINT32_MAX, 0, (uint16_t)*n, RET_POPULAR};
        take(c, item);
        (*n)++;
    }
    return 0;
}

int ret_blend(ret_ctx *c, const ann_index *ix, const pop_table *pop, const float *q,
              const uint32_t *cid, const float *w, size_t m, size_t k, const ret_params *p,
              ret_cand *out, size_t *n, mx_err *err) {
    *n = 0;
    if (k > c->max_k) k = c->max_k;
    float share[RET_N_SOURCES];
    memcpy(share, p->blend_share, sizeof(share));
    if (!q) share[RET_MIXTURE] = share[RET_SINGLE] = 0;
    if (m == 0) share[RET_MIXTURE] = 0;
    size_t quota[RET_N_SOURCES];
    ret_allocate(share, RET_N_SOURCES, k, quota);
    /* Each source writes into its own slice of the pool, in source order
     * (so de-duplication favours the earlier source). */
    ret_cand *src[RET_N_SOURCES];
    size_t got[RET_N_SOURCES] = {0};
    for (int s = 0; s < RET_N_SOURCES; s++)
        src[s] = c->pool + (size_t)s * c->max_k;
    int rc = 0;
    if (quota[RET_MIXTURE])
        rc = ret_mixture(c, ix, q, cid, w, m, quota[RET_MIXTURE], p, src[RET_MIXTURE],
                         &got[RET_MIXTURE], err);
    if (!rc && quota[RET_SINGLE])
        rc = ret_single(c, ix, q, quota[RET_SINGLE], p, src[RET_SINGLE], &got[RET_SINGLE], err);
    if (rc) return rc;
    /* Popular tops up whatever the others could not fill. */
    size_t missing = k - got[RET_MIXTURE] - got[RET_SINGLE];
    if (missing > c->max_k) missing = c->max_k;
    ret_popular(c, pop, missing, src[RET_POPULAR], &got[RET_POPULAR]);
    /* Interleave: next from the source furthest below its share. */
    size_t used[RET_N_SOURCES] = {0};
    while (*n < k) {
        int best = -1;
        double best_ratio = 2;
        for (int s = 0; s < RET_N_SOURCES; s++) {
            if (used[s] >= got[s]) continue;
            double ratio = (double)used[s] / (double)got[s];
            if (ratio < best_ratio) best_ratio = ratio, best = s;
        }
        if (best < 0) break;
        out[(*n)++] = src[best][used[best]++];
    }
    return 0;
}

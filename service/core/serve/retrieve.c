/* retrieve.c - candidate sources and blending. See retrieve.h. */
#include "retrieve.h"

#include "hugemem.h"
#include "keysort.h"
#include "stopwatch.h"

#include "bconfig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ret_ctx {
    ann_scratch *ann;
    size_t n_items, max_k, max_components;
    /* mark[i] == gen: excluded; mark[i] == gen + 1: taken in this query.
     * A byte an item: at 1M items 1 MB, a quarter of what 4-byte marks
     * spread their cache misses over; cleared every 126 queries. */
    uint8_t *mark;
    uint8_t gen;
    size_t *budget;    /* max_components */
    float *wsharp;     /* max_components: sharpened weights */
    uint32_t *rows;    /* lists searched */
    size_t *row_of;    /* component -> row */
    ret_cand *pool;    /* blend: one slice of max_k per source */
    ret_cand *reserve; /* mixture: over-fetched candidates beyond quota */
    size_t reserve_cap;
    size_t n_exclude, n_blocked; /* of the current query, size the over-fetch */
    float *gscore;
    int64_t *gitem;
    /* The mixture's raw list results, kept for the blend's single source
     * (same query vector: its lists need not be scanned twice). */
    int keep_known;
    size_t known_min_k; /* rows the single source can use need this depth */
    ann_known known;
    uint32_t *known_lists;
    float *known_sc;
    int64_t *known_it;
    size_t known_cap;
    uint64_t stage_ns[RET_N_SOURCES + 1]; /* ret_stage_ns */
    keysort_entry *keys;                  /* sorting candidates (sort_cands) */
    ret_cand *sorted;                     /* their new order */
    uint64_t *slot; /* n_items: (stamp << 32) | position in the blend's merged list */
    uint32_t stamp; /* the blend's; slot entries of other stamps are stale */
    /* The query's own exclusions per interest list (item_interest given):
     * a mixture row fetches extra for its own list's only. */
    const uint32_t *item_interest;
    size_t n_lists;
    uint32_t *own_in;  /* n_lists */
    uint32_t *touched; /* n_lists: the lists own_in counts in */
    size_t n_touched;
    size_t *depth;       /* max_components: each mixture row's depth */
    size_t *need;        /* max_components: what the mixture reads of each row */
    size_t *known_depth; /* max_components: the kept rows' */
};

/* One row per source: a source added to the enum without its row (so
 * without a letter, and impression records without its mark) fails the
 * assertion below at compile time. */
static const struct {
    const char *name;
    char letter;
} source_rows[] = {
    [RET_MIXTURE] = {"mixture", 'm'},
    [RET_SINGLE] = {"single", 's'},
    [RET_POPULAR] = {"popular", 'p'},
};
_Static_assert(sizeof(source_rows) / sizeof(source_rows[0]) == RET_N_SOURCES,
               "every retrieval source needs a name and a letter");

const char *ret_source_name(int source) {
    return source >= 0 && source < RET_N_SOURCES ? source_rows[source].name : "unknown";
}

char ret_source_letter(int source) {
    return source >= 0 && source < RET_N_SOURCES ? source_rows[source].letter : '?';
}

void ret_params_init(ret_params *p) {
    bcfg c;
    bcfg_init(&c); /* the defaults are bconfig.c's rows, written once */
    *p = c.retrieval;
}

#define RET_MAX_OVERFETCH 8

ret_ctx *ret_ctx_new(const ann_index *ix, const uint32_t *item_interest, size_t n_items,
                     size_t max_k, size_t max_components) {
    ret_ctx *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->n_lists = ix && item_interest ? ann_n_lists(ix) : 0;
    c->item_interest = c->n_lists ? item_interest : NULL;
    c->own_in = calloc(c->n_lists ? c->n_lists : 1, sizeof(uint32_t));
    c->touched = malloc((c->n_lists ? c->n_lists : 1) * sizeof(uint32_t));
    c->n_items = n_items;
    c->max_k = max_k;
    c->max_components = max_components ? max_components : 1;
    /* Per-row fetch: up to overfetch * k, plus room for exclusions. */
    size_t fetch = max_k * RET_MAX_OVERFETCH + 64;
    c->ann = ix ? ann_scratch_new(ix, c->max_components, fetch) : NULL;
    /* the two catalogue-sized arrays, read at random: on huge pages */
    c->mark = hugemem_calloc(n_items ? n_items : 1, sizeof(uint8_t));
    c->budget = malloc(c->max_components * sizeof(size_t));
    c->wsharp = malloc(c->max_components * sizeof(float));
    c->known_lists = malloc(c->max_components * sizeof(uint32_t));
    c->rows = malloc(c->max_components * sizeof(uint32_t));
    c->row_of = malloc(c->max_components * sizeof(size_t));
    c->pool = malloc(RET_N_SOURCES * max_k * sizeof(ret_cand) + 1);
    c->reserve_cap = fetch;
    c->reserve = malloc(c->reserve_cap * sizeof(ret_cand));
    c->gscore = malloc(fetch * sizeof(float));
    c->gitem = malloc(fetch * sizeof(int64_t));
    c->gen = 1;
    size_t sort_cap = fetch > RET_N_SOURCES * max_k ? fetch : RET_N_SOURCES * max_k;
    c->keys = malloc((sort_cap + 1) * sizeof(keysort_entry));
    c->sorted = malloc((sort_cap + 1) * sizeof(ret_cand));
    c->slot = hugemem_calloc(n_items ? n_items : 1, sizeof(uint64_t));
    c->depth = malloc(c->max_components * sizeof(size_t));
    c->need = malloc(c->max_components * sizeof(size_t));
    c->known_depth = malloc(c->max_components * sizeof(size_t));
    if ((ix && !c->ann) || !c->mark || !c->budget || !c->wsharp || !c->known_lists || !c->rows ||
        !c->row_of || !c->pool || !c->reserve || !c->gscore || !c->gitem || !c->keys ||
        !c->sorted || !c->slot || !c->own_in || !c->touched || !c->depth || !c->need ||
        !c->known_depth) {
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
    free(c->wsharp);
    free(c->rows);
    free(c->row_of);
    free(c->pool);
    free(c->reserve);
    free(c->gscore);
    free(c->gitem);
    free(c->keys);
    free(c->sorted);
    free(c->slot);
    free(c->known_lists);
    free(c->known_sc);
    free(c->known_it);
    free(c->own_in);
    free(c->touched);
    free(c->depth);
    free(c->need);
    free(c->known_depth);
    free(c);
}

void ret_begin(ret_ctx *c, const uint32_t *exclude, size_t n_exclude, size_t n_blocked) {
    if (c->gen >= UINT8_MAX - 2) { /* gen + 1 must fit: clear every 126 queries */
        memset(c->mark, 0, c->n_items * sizeof(uint8_t));
        c->gen = 1;
    }
    c->gen += 2; /* 3, 5, ... 253 */
    c->n_exclude = n_exclude;
    c->n_blocked = n_blocked < n_exclude ? n_blocked : n_exclude;
    for (size_t i = 0; i < n_exclude; i++)
        if (exclude[i] < c->n_items) c->mark[exclude[i]] = c->gen;
    for (size_t t = 0; t < c->n_touched; t++)
        c->own_in[c->touched[t]] = 0;
    c->n_touched = 0;
    for (size_t i = 0; c->item_interest && i < c->n_exclude - c->n_blocked; i++) {
        uint32_t l = exclude[i] < c->n_items ? c->item_interest[exclude[i]] : UINT32_MAX;
        if (l >= c->n_lists) continue;
        if (c->own_in[l]++ == 0) c->touched[c->n_touched++] = l;
    }
}

int ret_excluded(const ret_ctx *c, uint32_t item) {
    return item < c->n_items && c->gen >= 3 && c->mark[item] == c->gen;
}

static inline int usable(const ret_ctx *c, int64_t item) {
    return item >= 0 && (size_t)item < c->n_items && c->mark[item] != c->gen &&
           c->mark[item] != c->gen + 1;
}

static inline void take(ret_ctx *c, uint32_t item) {
    c->mark[item] = c->gen + 1;
}

/* The catalogue's blocked items a search of `depth` results should expect
 * to skip: twice their share of the catalogue (they are often the popular
 * items, near many queries). */
static size_t blocked_allowance(const ret_ctx *c, size_t depth) {
    return c->n_items
               ? (size_t)ceil(2.0 * (double)depth * (double)c->n_blocked / (double)c->n_items)
               : 0;
}

/* How many excluded items a search of `depth` results should expect to
 * skip: the query's own exclusions all, blocked items by their share; a
 * short answer is fetched again deeper by the caller. */
static size_t exclusion_allowance(const ret_ctx *c, size_t depth) {
    return c->n_exclude - c->n_blocked + blocked_allowance(c, depth);
}

/* The same for a search inside interest list l alone: the own exclusions
 * in that list (when the context knows the items' lists). */
static size_t list_allowance(const ret_ctx *c, uint32_t l, size_t depth) {
    if (!c->item_interest) return exclusion_allowance(c, depth);
    return (l < c->n_lists ? c->own_in[l] : 0) + blocked_allowance(c, depth);
}

static int unusable(const void *arg, int64_t item) {
    return !usable(arg, item);
}

static void hint_usable(const void *arg, int64_t item) {
    const ret_ctx *c = arg;
    if (item >= 0 && (size_t)item < c->n_items) __builtin_prefetch(c->mark + item);
}

/* The single source's search depth for k results. */
static size_t single_fetch(const ret_ctx *c, size_t k) {
    size_t allow = exclusion_allowance(c, k + 64);
    return k + (allow < 6 * k ? allow : 6 * k) + 64;
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

/* Sorts cands[0..n) best first by score (fused: by fused score), ties by
 * item id, through c's key scratch (no allocation, one integer compare). */
static void sort_cands(ret_ctx *c, ret_cand *cands, size_t n, int fused) {
    for (size_t i = 0; i < n; i++)
        c->keys[i] = (keysort_entry){
            keysort_desc(fused ? cands[i].fused : cands[i].score, cands[i].item), (uint32_t)i};
    keysort_sort(c->keys, n);
    for (size_t i = 0; i < n; i++)
        c->sorted[i] = cands[c->keys[i].idx];
    memcpy(cands, c->sorted, n * sizeof(ret_cand));
}

/* Reorders score-sorted candidates so that every prefix splits its length
 * across the components in proportion to their weights (Sainte-Lague: the
 * next slot goes to the component maximising w_j / (2 used_j + 1)); within
 * a component, best score first. A top-10 then holds the user's interests
 * in proportion, as the budget split promises, not the ten best scores. */
static void interleave(ret_ctx *c, ret_cand *out, size_t n, const uint32_t *cid, const float *w,
                       size_t m) {
    ret_cand *tmp = c->reserve; /* free again after the refill pass */
    size_t *next = c->budget;   /* per component: scan position in out */
    size_t *used = c->row_of;
    for (size_t j = 0; j < m; j++)
        next[j] = 0, used[j] = 0;
    for (size_t t = 0; t < n; t++) {
        int best = -1;
        double best_v = -1;
        for (size_t j = 0; j < m; j++) {
            while (next[j] < n && out[next[j]].interest != cid[j])
                next[j]++;
            if (next[j] >= n) continue;
            double v = (w[j] > 0 ? w[j] : 1e-9) / (2.0 * (double)used[j] + 1.0);
            if (v > best_v) best_v = v, best = (int)j;
        }
        if (best < 0) break; /* cannot happen: every candidate has a component */
        tmp[t] = out[next[best]++];
        used[best]++;
    }
    memcpy(out, tmp, n * sizeof(ret_cand));
}

/* Copies the rows just searched (they live in the ANN scratch, which the
 * next search overwrites). On allocation failure nothing is kept: the
 * single source then scans every list itself, with the same result. */
static void keep_rows(ret_ctx *c, size_t rows, size_t fetch, const float *sc, const int64_t *it) {
    c->known.n = 0;
    size_t need = rows * fetch;
    if (rows > c->max_components) return; /* known_lists holds max_components */
    if (need > c->known_cap) {
        float *ns = realloc(c->known_sc, need * sizeof(float));
        if (ns) c->known_sc = ns;
        int64_t *ni = realloc(c->known_it, need * sizeof(int64_t));
        if (ni) c->known_it = ni;
        if (!ns || !ni) return;
        c->known_cap = need;
    }
    memcpy(c->known_sc, sc, need * sizeof(float));
    memcpy(c->known_it, it, need * sizeof(int64_t));
    memcpy(c->known_lists, c->rows, rows * sizeof(uint32_t));
    memcpy(c->known_depth, c->depth, rows * sizeof(size_t));
    c->known = (ann_known){c->known_lists, c->known_sc, c->known_it, rows, fetch, c->known_depth};
}

int ret_mixture(ret_ctx *c, const ann_index *ix, const float *q, const uint32_t *cid,
                const float *w, size_t m, size_t k, const ret_params *p, ret_cand *out, size_t *n,
                mx_err *err) {
    *n = 0;
    if (m == 0 || k == 0 || !q) return 0;
    if (m > c->max_components) m = c->max_components;
    if (k > c->max_k) k = c->max_k;
    if (p->mixture_sharpen != 1.0f && p->mixture_sharpen > 0) {
        /* Budget by w^gamma: gamma > 1 favours the main interests. */
        float *ws = c->wsharp;
        for (size_t j = 0; j < m; j++)
            ws[j] = powf(w[j] > 0 ? w[j] : 0, p->mixture_sharpen);
        ret_allocate(ws, m, k, c->budget);
    } else {
        ret_allocate(w, m, k, c->budget);
    }
    float of = p->overfetch < 1                   ? 1
               : p->overfetch > RET_MAX_OVERFETCH ? RET_MAX_OVERFETCH
                                                  : p->overfetch;
    /* Each row as deep as its budget, the over-fetch and its own list's
     * exclusions need: the rows of minor interests stay shallow. Searched
     * deeper (known_min_k) when the blend's single source will reuse them;
     * the quota pass reads only the need. A list shorter than its budget
     * leaves a shortfall that the reserve refills: then every row is read
     * as deep as the deepest need, as the reserve always was. */
    size_t rows = 0, stride = 0, fetch = 0;
    int short_list = 0;
    for (size_t j = 0; j < m; j++) {
        c->row_of[j] = SIZE_MAX;
        if (c->budget[j] == 0) continue;
        size_t f = (size_t)ceilf((float)c->budget[j] * of) + 8;
        size_t allow = list_allowance(c, cid[j], f);
        f += allow < 32 ? allow : 32;
        if (f > fetch) fetch = f;
        c->need[rows] = f;
        if (c->keep_known && c->known_min_k > f) f = c->known_min_k;
        if (f > stride) stride = f;
        if (cid[j] < ann_n_lists(ix) && ann_list_size(ix, cid[j]) < c->budget[j]) short_list = 1;
        c->row_of[j] = rows;
        c->depth[rows] = f;
        c->rows[rows++] = cid[j];
    }
    if (rows == 0) return 0;
    for (size_t r = 0; short_list && r < rows; r++)
        c->depth[r] = stride, c->need[r] = fetch;
    const float *sc;
    const int64_t *it;
    int rc = ann_search_lists(ix, c->ann, q, c->rows, rows, stride, c->depth, &sc, &it, err);
    if (rc) return rc;
    if (c->keep_known) keep_rows(c, rows, stride, sc, it);
    /* Quota pass, then a reserve of everything else fetched. */
    size_t n_res = 0, short_by = 0;
    ret_cand *reserve = c->reserve;
    for (size_t j = 0; j < m; j++) {
        size_t r = c->row_of[j];
        if (r == SIZE_MAX) continue;
        size_t got = 0;
        for (size_t t = 0; t < c->need[r]; t++) {
            int64_t item = it[r * stride + t];
            if (!usable(c, item)) continue;
            ret_cand cd = {.item = (uint32_t)item,
                           .score = sc[r * stride + t],
                           .interest = cid[j],
                           .weight = w[j],
                           .source = RET_MIXTURE,
                           .sources = 1u << RET_MIXTURE};
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
        sort_cands(c, reserve, n_res, 0);
        for (size_t t = 0; t < n_res && short_by; t++) {
            if (!usable(c, reserve[t].item)) continue;
            out[(*n)++] = reserve[t];
            take(c, reserve[t].item);
            short_by--;
        }
    }
    sort_cands(c, out, *n, 0);
    if (p->mixture_order == RET_ORDER_INTERLEAVE) interleave(c, out, *n, cid, w, m);
    for (size_t t = 0; t < *n; t++)
        out[t].rank = (uint16_t)(t < 65535 ? t : 65535);
    return 0;
}

/* The FAISS search of the single source: fetch deep, deeper (twice, up to
 * most) while the lists hold more and the usable items fall short of k. */
static int single_search(ret_ctx *c, const ann_index *ix, const float *q, size_t k,
                         const ret_params *p, const ann_known *known, size_t fetch, size_t most,
                         size_t *found, mx_err *err) {
    for (;;) {
        int rc = ann_search_global_known(ix, c->ann, q, fetch, p->nprobe, known, c->gscore,
                                         c->gitem, found, err);
        if (rc) return rc;
        size_t usable_n = 0;
        for (size_t t = 0; t < *found && usable_n < k; t++)
            usable_n += usable(c, c->gitem[t]);
        if (usable_n >= k || *found < fetch || fetch >= most) return 0;
        fetch = 2 * fetch < most ? 2 * fetch : most;
    }
}

static int single_from(ret_ctx *c, const ann_index *ix, const float *q, size_t k,
                       const ret_params *p, const ann_known *known, ret_cand *out, size_t *n,
                       mx_err *err) {
    *n = 0;
    if (k == 0 || !q) return 0;
    if (k > c->max_k) k = c->max_k;
    /* Fetch extra to absorb exclusions and items taken by earlier sources. */
    size_t fetch = single_fetch(c, k), found = 0, most = c->max_k * RET_MAX_OVERFETCH + 64;
    if (fetch > most) fetch = most;
    if (ann_has_vectors(ix)) {
        /* exclusions (the catalogue's blocks too: often the popular
         * items, near every query) are skipped in the own scan itself: no
         * deeper search */
        int rc = ann_search_filtered(ix, c->ann, q, k, p->nprobe, known, unusable, hint_usable, c,
                                     c->gscore, c->gitem, &found);
        if (rc) return mx_err_set(err, rc, "out of memory for a search of %zu", k);
    } else {
        int rc = single_search(c, ix, q, k, p, known, fetch, most, &found, err);
        if (rc) return rc;
    }

    for (size_t t = 0; t < found && *n < k; t++) {
        if (!usable(c, c->gitem[t])) continue;
        uint32_t item = (uint32_t)c->gitem[t];
        out[*n] = (ret_cand){.item = item,
                             .score = c->gscore[t],
                             .interest = UINT32_MAX,
                             .rank = (uint16_t)*n,
                             .source = RET_SINGLE,
                             .sources = 1u << RET_SINGLE};
        take(c, item);
        (*n)++;
    }
    return 0;
}

int ret_single(ret_ctx *c, const ann_index *ix, const float *q, size_t k, const ret_params *p,
               ret_cand *out, size_t *n, mx_err *err) {
    return single_from(c, ix, q, k, p, NULL, out, n, err);
}

int ret_popular(ret_ctx *c, const pop_table *pop, size_t k, ret_cand *out, size_t *n) {
    *n = 0;
    for (size_t t = 0; t < pop->n_ranked && *n < k; t++) {
        uint32_t item = pop->ranked[t];
        if (!usable(c, item)) continue;
        out[*n] = (ret_cand){.item = item,
                             .score = pop->score[item],
                             .interest = UINT32_MAX,
                             .rank = (uint16_t)*n,
                             .source = RET_POPULAR,
                             .sources = 1u << RET_POPULAR};
        take(c, item);
        (*n)++;
    }
    return 0;
}

/* Forgets that a source took these items, so the next source may find them
 * too (the blend fuses overlapping lists). Excluded items are never in a
 * source's output, so their marks are untouched. */
static void untake(ret_ctx *c, const ret_cand *cands, size_t n) {
    for (size_t i = 0; i < n; i++)
        c->mark[cands[i].item] = 0;
}

int ret_blend(ret_ctx *c, const ann_index *ix, const pop_table *pop, const float *q,
              const uint32_t *cid, const float *w, size_t m, size_t k, const ret_params *p,
              ret_cand *out, size_t *n, mx_err *err) {
    *n = 0;
    if (k > c->max_k) k = c->max_k;
    if (k == 0) return 0;
    float share[RET_N_SOURCES];
    memcpy(share, p->blend_share, sizeof(share));
    if (!q) share[RET_MIXTURE] = share[RET_SINGLE] = 0;
    if (m == 0) share[RET_MIXTURE] = 0;
    if (share[RET_MIXTURE] + share[RET_SINGLE] + share[RET_POPULAR] <= 0) share[RET_POPULAR] = 1;
    /* Every source with a share fetches k candidates into its slice. */
    ret_cand *all = c->pool;
    size_t total = 0, got = 0;
    int rc = 0;
    uint64_t mark = stopwatch_now_ns();
    for (int s = 0; s < RET_N_SOURCES && !rc; s++) {
        if (share[s] <= 0) continue;
        ret_cand *dst = all + total;
        if (s == RET_MIXTURE) {
            /* The depth the single source will want per list (see
             * ann_search_global_known; with catalogue blocks, the filtered
             * scan wants k kept items per row); capped by the scratch. */
            size_t kk = 0;
            if (share[RET_SINGLE] > 0) {
                size_t np =
                    p->nprobe == 0 || p->nprobe > ann_n_lists(ix) ? ann_n_lists(ix) : p->nprobe;
                size_t fetch = single_fetch(c, k);
                if (ann_has_vectors(ix))
                    kk = 1; /* the rows as the mixture searches them: no deeper */
                else
                    kk = np > 1 ? (2 * fetch + np - 1) / np + 16 : fetch;
                if (kk > fetch) kk = fetch;
                if (kk > c->max_k * RET_MAX_OVERFETCH) kk = 0;
            }
            c->known_min_k = kk;
            c->keep_known = kk > 0;
            c->known.n = 0;
            rc = ret_mixture(c, ix, q, cid, w, m, k, p, dst, &got, err);
            c->keep_known = 0;
        } else if (s == RET_SINGLE) {
            /* The single source reuses the lists the mixture just scanned. */
            rc = single_from(c, ix, q, k, p, share[RET_MIXTURE] > 0 ? &c->known : NULL, dst, &got,
                             err);
        } else {
            rc = ret_popular(c, pop, k, dst, &got);
        }
        if (rc) break;
        untake(c, dst, got);
        for (size_t i = 0; i < got; i++)
            dst[i].fused = share[s] / (p->rrf_k + (float)dst[i].rank);
        total += got;
        stopwatch_lap(&mark, &c->stage_ns[s]);
    }
    if (rc) return rc;
    /* Merge duplicates: sum the fused scores, keep the entry of the source
     * that contributed most (the earlier source on a tie: the lists are in
     * source order), and remember every source that found it. An item's
     * slot says where its merged entry is, valid for this blend's stamp
     * only: no clearing, no hashing. */
    if (++c->stamp == 0) { /* wrapped: every slot could look current */
        memset(c->slot, 0, c->n_items * sizeof(uint64_t));
        c->stamp = 1;
    }
    /* the slots are a catalogue-sized array: at 1M items each is a miss,
     * asked for together before the merge reads them in turn */
    for (size_t i = 0; i < total; i++)
        __builtin_prefetch(c->slot + all[i].item);
    size_t u = 0;
    for (size_t i = 0; i < total; i++) {
        ret_cand cd = all[i];
        cd.sources = (uint8_t)(1u << cd.source);
        uint64_t sl = c->slot[cd.item];
        if ((uint32_t)(sl >> 32) == c->stamp) {
            ret_cand *prev = &all[(uint32_t)sl];
            float sum = prev->fused + cd.fused;
            uint8_t srcs = prev->sources | cd.sources;
            /* compare with the kept source's own share, not the running sum */
            if (cd.fused > c->sorted[(uint32_t)sl].fused) *prev = cd, c->sorted[(uint32_t)sl] = cd;
            prev->fused = sum;
            prev->sources = srcs;
            continue;
        }
        c->slot[cd.item] = ((uint64_t)c->stamp << 32) | u;
        c->sorted[u] = cd; /* its own contribution, for the comparison above */
        all[u++] = cd;
    }
    sort_cands(c, all, u, 1);
    size_t keep = p->pool_union ? u : k;
    for (size_t i = 0; i < u && *n < keep; i++) {
        out[*n] = all[i];
        take(c, all[i].item);
        (*n)++;
    }
    stopwatch_lap(&mark, &c->stage_ns[RET_N_SOURCES]);
    return 0;
}

const uint64_t *ret_stage_ns(const ret_ctx *c) {
    return c->stage_ns;
}

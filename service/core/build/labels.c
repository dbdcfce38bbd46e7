/* labels.c - interest labels: covering categories, representative titles,
 * distinct names. See labels.h. */
#include "labels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Global co-occurrence of categories (for the lift of a pair) is kept for
 * catalogues with at most this many categories; beyond, a pair's global
 * coverage is bounded by the sum of its two (lift under-estimated). */
#define LBL_COOC_MAX 512
/* Per-interest category weights are skipped (title labels only) beyond
 * this many interests x categories. */
#define LBL_TABLE_MAX ((size_t)1 << 26)
#define LBL_TITLE_BYTES 52 /* a title's share of a label */

typedef struct lbl_ctx {
    const lbl_input *in;
    size_t k, n_cats; /* interests, categories (0: no category labels) */
    double *w;        /* n_items: an item's weight */
    double *total;    /* k: the interest's weight */
    uint32_t *ptr;    /* k + 1: members by interest, in item order */
    uint32_t *mem;
    double *cw;     /* k x n_cats: weight of members with the category */
    double *g;      /* n_cats: the same over every interest */
    double gtotal;  /* every interest's weight */
    double *cooc;   /* n_cats x n_cats: weight with both (NULL: too many categories) */
    uint16_t *top;  /* k x LBL_PAIR_TOP: an interest's most covering categories */
    uint8_t *ntop;  /* k */
    double *masks;  /* k x 2^LBL_PAIR_TOP: weight by which of top an item carries */
    double min_cov; /* labels.h: min_coverage */
} lbl_ctx;

static void ctx_free(lbl_ctx *x) {
    free(x->w);
    free(x->total);
    free(x->ptr);
    free(x->mem);
    free(x->cw);
    free(x->g);
    free(x->cooc);
    free(x->top);
    free(x->ntop);
    free(x->masks);
}

/* Weights, members by interest and per-interest category weights. */
static int ctx_init(lbl_ctx *x, const lbl_input *in) {
    memset(x, 0, sizeof(*x));
    x->in = in;
    x->k = in->n_clusters;
    x->min_cov = in->min_coverage > 0 ? in->min_coverage : 0.5;
    size_t n = in->n_items, k = x->k;
    const ds_dataset *ds = in->ds;
    x->n_cats = ds && ds_has_metadata(ds) ? ds_n_categories(ds) : 0;
    if (x->n_cats && k * x->n_cats > LBL_TABLE_MAX) x->n_cats = 0;
    size_t nc = x->n_cats;
    x->w = malloc((n ? n : 1) * sizeof(double));
    x->total = calloc(k + 1, sizeof(double));
    x->ptr = calloc(k + 2, sizeof(uint32_t));
    x->mem = malloc((n ? n : 1) * sizeof(uint32_t));
    if (!x->w || !x->total || !x->ptr || !x->mem) return -1;
    if (nc) {
        x->cw = calloc(k * nc, sizeof(double));
        x->g = calloc(nc, sizeof(double));
        x->cooc = nc <= LBL_COOC_MAX ? calloc(nc * nc, sizeof(double)) : NULL;
        x->top = malloc((k ? k : 1) * LBL_PAIR_TOP * sizeof(uint16_t));
        x->ntop = calloc(k + 1, 1);
        x->masks = calloc((k ? k : 1) << LBL_PAIR_TOP, sizeof(double));
        if (!x->cw || !x->g || (nc <= LBL_COOC_MAX && !x->cooc) || !x->top || !x->ntop || !x->masks)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t c = in->item_interest[i];
        float e = in->events ? in->events[i] : 1;
        x->w[i] = e > 1 ? e : 1;
        if (c >= k) continue;
        x->ptr[c + 1]++;
        x->total[c] += x->w[i];
        x->gtotal += x->w[i];
        size_t m = 0;
        const uint16_t *ic = nc ? ds_item_categories(ds, (uint32_t)i, &m) : NULL;
        for (size_t j = 0; j < m; j++) {
            x->cw[c * nc + ic[j]] += x->w[i];
            x->g[ic[j]] += x->w[i];
            for (size_t l = 0; x->cooc && l < j; l++) {
                x->cooc[(size_t)ic[j] * nc + ic[l]] += x->w[i];
                x->cooc[(size_t)ic[l] * nc + ic[j]] += x->w[i];
            }
        }
    }
    for (size_t c = 0; c < k; c++)
        x->ptr[c + 1] += x->ptr[c];
    uint32_t *fill = malloc((k ? k : 1) * sizeof(uint32_t));
    if (!fill) return -1;
    memcpy(fill, x->ptr, k * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++)
        if (in->item_interest[i] < k) x->mem[fill[in->item_interest[i]]++] = (uint32_t)i;
    free(fill);
    return 0;
}

/* Each interest's LBL_PAIR_TOP most covering categories, and the weight of
 * its members by which of them they carry (a pair's coverage is then a sum
 * over 2^LBL_PAIR_TOP masks, whatever the size of the interest). */
static void pair_tables(lbl_ctx *x) {
    size_t nc = x->n_cats;
    for (size_t c = 0; c < x->k; c++) {
        const double *row = x->cw + c * nc;
        uint16_t *top = x->top + c * LBL_PAIR_TOP;
        uint8_t n = 0;
        for (size_t j = 0; j < nc; j++) { /* insertion into a sorted top list */
            if (!(row[j] > 0) || (n == LBL_PAIR_TOP && row[j] <= row[top[n - 1]])) continue;
            size_t pos = n < LBL_PAIR_TOP ? n++ : LBL_PAIR_TOP - 1;
            while (pos > 0 && row[top[pos - 1]] < row[j]) {
                top[pos] = top[pos - 1];
                pos--;
            }
            top[pos] = (uint16_t)j;
        }
        x->ntop[c] = n;
        double *masks = x->masks + (c << LBL_PAIR_TOP);
        for (uint32_t p = x->ptr[c]; p < x->ptr[c + 1]; p++) {
            uint32_t i = x->mem[p];
            size_t m = 0;
            const uint16_t *ic = ds_item_categories(x->in->ds, i, &m);
            unsigned bits = 0;
            for (size_t j = 0; j < m; j++)
                for (unsigned t = 0; t < n; t++)
                    if (top[t] == ic[j]) bits |= 1u << t;
            masks[bits] += x->w[i];
        }
    }
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The best covering set of interest c (labels.h, step 1): 1 or 2
 * categories in set[], 0 when none reaches min_coverage. Sets of one size
 * compete on coverage x log(lift), the set's term of the KL divergence of
 * the interest from the catalogue: specific, but not at any coverage (a
 * rare category at 51% does not beat a common one at 90%). */
static int best_set(const lbl_ctx *x, size_t c, uint16_t set[2], double *cov_out) {
    size_t nc = x->n_cats;
    double tot = x->total[c], best = -INFINITY, best_cov = 0;
    int n = 0;
    if (!nc || !(tot > 0) || !(x->gtotal > 0)) return 0;
    const double *row = x->cw + c * nc;
    for (size_t j = 0; j < nc; j++) {
        double cov = row[j] / tot;
        if (cov < x->min_cov) continue;
        double score = cov * log(cov / (x->g[j] / x->gtotal));
        if (score > best || (score == best && cov > best_cov))
            best = score, best_cov = cov, set[0] = (uint16_t)j, n = 1;
    }
    const uint16_t *top = x->top + c * LBL_PAIR_TOP;
    const double *masks = x->masks + (c << LBL_PAIR_TOP);
    for (unsigned a = 0; n == 0 && a < x->ntop[c]; a++)
        for (unsigned b = a + 1; b < x->ntop[c]; b++) {
            unsigned bits = (1u << a) | (1u << b);
            double in = 0;
            for (unsigned mk = 0; mk < (1u << LBL_PAIR_TOP); mk++)
                if (mk & bits) in += masks[mk];
            double cov = in / tot;
            if (cov < x->min_cov) continue;
            double both = x->cooc ? x->cooc[(size_t)top[a] * nc + top[b]] : 0;
            double gcov = (x->g[top[a]] + x->g[top[b]] - both) / x->gtotal;
            double score = cov * log(cov / (gcov < 1 ? gcov : 1));
            if (score > best || (score == best && cov > best_cov))
                best = score, best_cov = cov, set[0] = top[a], set[1] = top[b];
        }
    if (n == 0 && best > -INFINITY) n = 2;
    *cov_out = best_cov > 1 ? 1 : best_cov;
    return n;
}

/* Appends s (at most max bytes of it) to buf, never cutting inside a UTF-8
 * sequence, so that the label stays valid JSON text. */
static void append(char *buf, size_t cap, const char *s, size_t max) {
    size_t len = strlen(buf), n = strlen(s), full = n;
    if (n > max) n = max;
    if (len + n + 1 > cap) n = cap - len - 1;
    while (n > 0 && n < full && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(buf + len, s, n);
    buf[len + n] = 0;
}

/* Appends suffix, cutting name (at a UTF-8 boundary) to make room. */
static void add_suffix(char *name, size_t cap, const char *suffix) {
    size_t len = strlen(name), need = strlen(suffix);
    if (need + 1 > cap) return;
    if (len + need + 1 > cap) {
        size_t cut = cap - 1 - need;
        while (cut > 0 && ((unsigned char)name[cut] & 0xC0) == 0x80)
            cut--;
        name[cut] = 0;
    }
    append(name, cap, suffix, need);
}

/* 1 when s is UTF-8 (metadata files are not checked on import, and a label
 * must be valid JSON text). Overlong forms are not rejected: harmless here. */
static int utf8_ok(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80             ? 0
                : (*p & 0xE0) == 0xC0 ? 1
                : (*p & 0xF0) == 0xE0 ? 2
                : (*p & 0xF8) == 0xF0 ? 3
                                      : -1;
        if (n < 0) return 0;
        p++;
        for (; n > 0; n--, p++)
            if ((*p & 0xC0) != 0x80) return 0;
    }
    return 1;
}

/* An item as a label names it: its title, else its id, else its number. */
static const char *item_name(const lbl_input *in, uint32_t i, char *tmp, size_t len) {
    const char *t = in->ds ? ds_item_title(in->ds, i) : NULL;
    if (t && *t && utf8_ok(t)) return t;
    t = in->ds ? ds_item_id(in->ds, i) : NULL;
    if (t && *t && utf8_ok(t)) return t;
    snprintf(tmp, len, "#%u", i);
    return tmp;
}

static int cmp_float_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x > y ? -1 : x < y;
}

static int has_any(const lbl_input *in, uint32_t i, const uint16_t *set, int n_set) {
    size_t m = 0;
    const uint16_t *ic = n_set ? ds_item_categories(in->ds, i, &m) : NULL;
    for (size_t j = 0; j < m; j++)
        for (int s = 0; s < n_set; s++)
            if (ic[j] == set[s]) return 1;
    return 0;
}

/* The representatives of interest c (labels.h, step 2): the most popular
 * members of its core, the three quarters nearest the centroid; for a
 * category label, members with one of its categories first, so that the
 * examples illustrate it. cosv and sorted: scratch for the members. */
static void representatives(const lbl_ctx *x, size_t c, const uint16_t *set, int n_set, float *cosv,
                            float *sorted, uint32_t top[3]) {
    const lbl_input *in = x->in;
    size_t dim = in->dim;
    uint32_t m = x->ptr[c + 1] - x->ptr[c];
    const uint32_t *mem = x->mem + x->ptr[c];
    int geo = in->item_vecs && in->centroids && m > 0;
    float edge = -INFINITY;
    for (uint32_t p = 0; geo && p < m; p++) {
        const float *v = in->item_vecs + (size_t)mem[p] * dim, *ce = in->centroids + c * dim;
        double dot = 0, nv = 0;
        for (size_t d = 0; d < dim; d++)
            dot += (double)v[d] * ce[d], nv += (double)v[d] * v[d];
        cosv[p] = nv > 0 ? (float)(dot / sqrt(nv)) : -1;
        sorted[p] = cosv[p];
    }
    if (geo) {
        qsort(sorted, m, sizeof(float), cmp_float_desc);
        edge = sorted[(3 * (size_t)m - 1) / 4];
    }
    double key[3] = {0, 0, 0};
    for (int t = 0; t < 3; t++)
        top[t] = INTR_NONE;
    for (uint32_t p = 0; p < m; p++) {
        if (geo && cosv[p] < edge) continue;
        /* events stay far below 1e15: members with a label category first */
        double k = x->w[mem[p]] + (has_any(in, mem[p], set, n_set) ? 1e15 : 0);
        for (int t = 0; t < 3; t++) { /* members come in id order: ties keep the lower */
            if (top[t] != INTR_NONE && k <= key[t]) continue;
            for (int s = 2; s > t; s--)
                key[s] = key[s - 1], top[s] = top[s - 1];
            key[t] = k;
            top[t] = mem[p];
            break;
        }
    }
}

/* The name, kind, coverage and representatives of interest c (steps 1
 * and 2). */
static void name_one(const lbl_ctx *x, size_t c, float *cosv, float *sorted, lbl_label *l) {
    char tmp[24];
    uint16_t set[2];
    double cov = 0;
    int n = best_set(x, c, set, &cov);
    l->name[0] = 0;
    l->size = x->ptr[c + 1] - x->ptr[c];
    representatives(x, c, set, n, cosv, sorted, l->top_items);
    if (l->size == 0) {
        snprintf(l->name, sizeof(l->name), "interest %zu (empty)", c);
        l->kind = LBL_EMPTY;
        l->coverage = 0;
    } else if (n) {
        const char *names[2];
        for (int j = 0; j < n; j++)
            names[j] = ds_category_name(x->in->ds, set[j]);
        qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
        for (int j = 0; j < n; j++) {
            if (j) append(l->name, sizeof(l->name), " / ", 3);
            append(l->name, sizeof(l->name), names[j], LBL_TITLE_BYTES);
        }
        l->kind = LBL_CATEGORIES;
        l->coverage = (float)cov;
    } else {
        double named = 0;
        append(l->name, sizeof(l->name), "like ", 5);
        for (int t = 0; t < 2 && l->top_items[t] != INTR_NONE; t++) {
            if (t) append(l->name, sizeof(l->name), ", ", 2);
            append(l->name, sizeof(l->name), item_name(x->in, l->top_items[t], tmp, sizeof(tmp)),
                   LBL_TITLE_BYTES);
            named += x->w[l->top_items[t]];
        }
        l->kind = LBL_TITLES;
        l->coverage = x->total[c] > 0 ? (float)(named / x->total[c]) : 0;
    }
}

static int cmp_label_name(const void *a, const void *b) {
    const lbl_label *x = *(const lbl_label *const *)a, *y = *(const lbl_label *const *)b;
    int r = strcmp(x->name, y->name);
    return r ? r : (x < y ? -1 : x > y);
}

/* Step 3: equal names get ", like <first representative>" (pass 0), then
 * " #<id>" (pass 1). */
static int make_distinct(const lbl_input *in, lbl_label *labels, size_t k) {
    lbl_label **order = malloc((k ? k : 1) * sizeof(lbl_label *));
    uint8_t *dup = malloc(k ? k : 1);
    if (!order || !dup) {
        free(order);
        free(dup);
        return -1;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t c = 0; c < k; c++)
            order[c] = &labels[c];
        qsort(order, k, sizeof(order[0]), cmp_label_name);
        memset(dup, 0, k);
        for (size_t j = 1; j < k; j++)
            if (strcmp(order[j - 1]->name, order[j]->name) == 0)
                dup[order[j - 1] - labels] = dup[order[j] - labels] = 1;
        for (size_t c = 0; c < k; c++) {
            if (!dup[c]) continue;
            lbl_label *l = &labels[c];
            char suffix[LBL_TITLE_BYTES + 16], tmp[24];
            /* a title label already names its first representative */
            if (pass == 0 && (l->kind == LBL_TITLES || l->top_items[0] == INTR_NONE)) continue;
            if (pass == 0) {
                snprintf(suffix, sizeof(suffix), ", like ");
                append(suffix, sizeof(suffix), item_name(in, l->top_items[0], tmp, sizeof(tmp)),
                       LBL_TITLE_BYTES);
            } else {
                snprintf(suffix, sizeof(suffix), " #%zu", c);
            }
            add_suffix(l->name, sizeof(l->name), suffix);
        }
    }
    free(order);
    free(dup);
    return 0;
}

int lbl_label_all(const lbl_input *in, lbl_label *labels, mx_err *err) {
    lbl_ctx x;
    float *cosv = NULL, *sorted = NULL;
    int rc = 0;
    for (size_t c = 0; c < in->n_clusters; c++)
        memset(&labels[c], 0, sizeof(labels[c]));
    if (ctx_init(&x, in)) goto oom;
    size_t most = 1;
    for (size_t c = 0; c < x.k; c++)
        if (x.ptr[c + 1] - x.ptr[c] > most) most = x.ptr[c + 1] - x.ptr[c];
    cosv = malloc(most * sizeof(float));
    sorted = malloc(most * sizeof(float));
    if (!cosv || !sorted) goto oom;
    if (x.n_cats) pair_tables(&x);
    for (size_t c = 0; c < x.k; c++)
        name_one(&x, c, cosv, sorted, &labels[c]);
    if (make_distinct(in, labels, x.k)) goto oom;
    goto done;
oom:
    rc = mx_err_set(err, MX_ENOMEM, "out of memory labelling %zu interests", in->n_clusters);
done:
    ctx_free(&x);
    free(cosv);
    free(sorted);
    return rc;
}

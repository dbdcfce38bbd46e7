/* rank_features.c - see rank_features.h. */
#include "rank_features.h"

#include "keysort.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Session items compared with each candidate: the newest positives. */
#define FEAT_MAX_SESSION 8

/* The user's rows each candidate's vector is dotted with: the query, the
 * recent items, their mean, the session items; kept transposed in groups
 * of FEAT_LANES (see dot_rows). */
#define FEAT_LANES 8
/* 1 + (MODEL_RECENT + FEAT_MAX_SESSION) + 1 + FEAT_MAX_SESSION, rounded up */
#define FEAT_ROWS_MAX 32

static const char *const names[FEAT_N] = {
    "ann_score",         "ann_rank",       "cosine",          "interest_weight",   "interest_rank",
    "pool_rank",         "fused",          "in_mixture",      "in_single",         "in_popular",
    "pop_count",         "pop_recent",     "pop_day",         "item_age_days",     "item_idle_days",
    "item_norm",         "recent_sim_max", "recent_sim_mean", "category_affinity", "user_activity",
    "user_pop_affinity", "user_idle_days", "pop_vs_user",     "session_events",    "session_weight",
    "session_sim_max",   "session_share",  "fresh",
};

const char *feat_name(int f) {
    return f >= 0 && f < FEAT_N ? names[f] : NULL;
}

struct feat_ctx {
    const mx_model *m;
    size_t max_cands;
    float *iw, *sw;       /* n_clusters: blended / session weight per interest */
    uint16_t *icount;     /* n_clusters: pool items seen per interest */
    float *cat;           /* n_categories: share of the user's items */
    float *rec, *ses;     /* normalised vectors: recent (MODEL_RECENT + session), session */
    float *mean;          /* dim */
    float *rows_t;        /* FEAT_ROWS_MAX x dim: the user's rows transposed (user_begin) */
    float *sums;          /* max_cands x FEAT_ROWS_MAX: each candidate's dots with them */
    keysort_entry *order; /* max_cands: the pool by ANN score */
    float *ann_score;     /* max_cands: each candidate's */
    uint16_t *ann_rank, *int_rank;
    const float **vec;         /* max_cands: each candidate's vector (NULL: not an item) */
    uint32_t *cat_lo, *cat_hi; /* max_cands: its range in cat_ids */
    float *cat_aff;            /* max_cands: its category affinity */
};

feat_ctx *feat_ctx_new(const mx_model *m, size_t max_cands) {
    feat_ctx *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    size_t nc = m->n_clusters ? m->n_clusters : 1, d = m->dim;
    c->m = m;
    c->max_cands = max_cands ? max_cands : 1;
    if (c->max_cands > UINT16_MAX) c->max_cands = UINT16_MAX;
    c->iw = calloc(nc, sizeof(float));
    c->sw = calloc(nc, sizeof(float));
    c->icount = calloc(nc, sizeof(uint16_t));
    c->cat = calloc(m->n_categories ? m->n_categories : 1, sizeof(float));
    c->rec = malloc((MODEL_RECENT + FEAT_MAX_SESSION) * d * sizeof(float));
    c->ses = malloc(FEAT_MAX_SESSION * d * sizeof(float));
    c->mean = malloc(d * sizeof(float));
    c->rows_t = malloc(FEAT_ROWS_MAX * (d ? d : 1) * sizeof(float));
    c->sums = malloc(c->max_cands * FEAT_ROWS_MAX * sizeof(float));
    c->order = malloc(c->max_cands * sizeof(keysort_entry));
    c->ann_score = malloc(c->max_cands * sizeof(float));
    c->ann_rank = malloc(c->max_cands * sizeof(uint16_t));
    c->int_rank = malloc(c->max_cands * sizeof(uint16_t));
    c->vec = malloc(c->max_cands * sizeof(*c->vec));
    c->cat_lo = malloc(c->max_cands * sizeof(uint32_t));
    c->cat_hi = malloc(c->max_cands * sizeof(uint32_t));
    c->cat_aff = malloc(c->max_cands * sizeof(float));
    if (!c->iw || !c->sw || !c->icount || !c->cat || !c->rec || !c->ses || !c->mean || !c->order ||
        !c->rows_t || !c->sums || !c->ann_score || !c->ann_rank || !c->int_rank || !c->vec ||
        !c->cat_lo || !c->cat_hi || !c->cat_aff) {
        feat_ctx_free(c);
        return NULL;
    }
    return c;
}

void feat_ctx_free(feat_ctx *c) {
    if (!c) return;
    free(c->iw);
    free(c->sw);
    free(c->icount);
    free(c->cat);
    free(c->rec);
    free(c->ses);
    free(c->mean);
    free(c->rows_t);
    free(c->sums);
    free(c->order);
    free(c->ann_score);
    free(c->ann_rank);
    free(c->int_rank);
    free(c->vec);
    free(c->cat_lo);
    free(c->cat_hi);
    free(c->cat_aff);
    free(c);
}

static float dot(const float *a, const float *b, size_t d) {
    float s = 0;
    for (size_t j = 0; j < d; j++)
        s += a[j] * b[j];
    return s;
}

/* Appends item's unit vector to dst (row n); returns the new row count. */
static size_t add_unit(const mx_model *m, uint32_t item, float *dst, size_t n) {
    if (item >= m->n_items || m->item_inv_norm[item] == 0) return n;
    const float *v = mx_item_vec(m, item);
    float *o = dst + n * m->dim;
    for (size_t j = 0; j < m->dim; j++)
        o[j] = v[j] * m->item_inv_norm[item];
    return n + 1;
}

static float finite_or_0(float v) {
    return isfinite(v) ? v : 0.0f;
}

/* What every candidate shares: the user's and the session's part. */
typedef struct {
    size_t n_seen;
    const uint32_t *seen;
    size_t n_rec, n_ses, n_pos; /* rows of c->rec and c->ses; positive session events */
    size_t n_groups;            /* of c->rows_t */
    float mean_norm, q_norm;
} user_part;

/* Where each row is in c->rows_t and a candidate's sums: the query first,
 * then the recent rows, their mean, the session rows. */
enum { ROW_QUERY = 0, ROW_RECENT = 1 };
static size_t row_mean(const user_part *u) {
    return ROW_RECENT + u->n_rec;
}
static size_t row_session(const user_part *u) {
    return ROW_RECENT + u->n_rec + 1;
}

/* Row r of c->rows_t (group r / FEAT_LANES, lane r % FEAT_LANES) from the
 * d floats of v. */
static void put_row(feat_ctx *c, size_t r, const float *v, size_t d) {
    float *g = c->rows_t + (r / FEAT_LANES) * d * FEAT_LANES;
    for (size_t j = 0; j < d; j++)
        g[j * FEAT_LANES + r % FEAT_LANES] = v[j];
}

/* The dots of v with every row of c->rows_t into out, each the very float
 * dot() gives: every lane sums its own products in index order (no fused
 * multiply-add: C11 contracts none). dot() waits on its chain of additions
 * (about 3 cycles each, 64 a dot at 64 dimensions, ten dots a candidate);
 * here eight chains advance together. */
typedef float quad_f __attribute__((vector_size(4 * sizeof(float))));
static void dot_rows(const feat_ctx *c, const user_part *u, const float *v, float *out) {
    size_t d = c->m->dim, step = d * FEAT_LANES;
    /* two groups at a time (a user with 8 recent items has 10 rows): four
     * chains of additions in registers */
    for (size_t g = 0; g < u->n_groups; g += 2) {
        const float *r0 = c->rows_t + g * step, *r1 = g + 1 < u->n_groups ? r0 + step : r0;
        quad_f a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
        for (size_t j = 0; j < d; j++) {
            quad_f x0, x1, y0, y1;
            memcpy(&x0, r0 + j * FEAT_LANES, sizeof(x0));
            memcpy(&x1, r0 + j * FEAT_LANES + 4, sizeof(x1));
            memcpy(&y0, r1 + j * FEAT_LANES, sizeof(y0));
            memcpy(&y1, r1 + j * FEAT_LANES + 4, sizeof(y1));
            a0 += v[j] * x0;
            a1 += v[j] * x1;
            b0 += v[j] * y0;
            b1 += v[j] * y1;
        }
        float *o = out + g * FEAT_LANES;
        memcpy(o, &a0, sizeof(a0));
        memcpy(o + 4, &a1, sizeof(a1));
        if (g + 1 < u->n_groups) {
            memcpy(o + FEAT_LANES, &b0, sizeof(b0));
            memcpy(o + FEAT_LANES + 4, &b1, sizeof(b1));
        }
    }
}

/* Fills c's per-user scratch (interest and category weights, recent and
 * session vectors) for q; user_end undoes it. */
static void user_begin(feat_ctx *c, const feat_query *q, user_part *u) {
    const mx_model *m = c->m;
    size_t d = m->dim;
    int known = q->user >= 0 && (size_t)q->user < m->n_users;
    size_t uu = known ? (size_t)q->user : 0;
    for (size_t s = 0; s < q->m; s++)
        if (q->cid[s] < m->n_clusters) {
            c->iw[q->cid[s]] = q->w[s];
            c->sw[q->cid[s]] = q->session_w ? q->session_w[s] : 0;
        }
    u->n_seen = known ? m->seen_ptr[uu + 1] - m->seen_ptr[uu] : 0;
    u->seen = known ? m->seen_items + m->seen_ptr[uu] : NULL;
    for (size_t s = 0; s < u->n_seen; s++)
        for (uint32_t j = m->cat_ptr[u->seen[s]]; j < m->cat_ptr[u->seen[s] + 1]; j++)
            c->cat[m->cat_ids[j]] += 1.0f / (float)u->n_seen;
    u->n_rec = u->n_ses = u->n_pos = 0;
    if (known)
        for (size_t r = 0; r < MODEL_RECENT; r++) {
            uint32_t it = m->user_recent[uu * MODEL_RECENT + r];
            if (it == UINT32_MAX) break;
            u->n_rec = add_unit(m, it, c->rec, u->n_rec);
        }
    for (size_t e = q->n_events; e-- > 0;) {
        if (q->events[e].weight <= 0 || q->events[e].item >= m->n_items) continue;
        u->n_pos++;
        if (u->n_ses < FEAT_MAX_SESSION) {
            u->n_ses = add_unit(m, q->events[e].item, c->ses, u->n_ses);
            u->n_rec = add_unit(m, q->events[e].item, c->rec, u->n_rec);
        }
    }
    memset(c->mean, 0, d * sizeof(float));
    for (size_t r = 0; r < u->n_rec; r++)
        for (size_t j = 0; j < d; j++)
            c->mean[j] += c->rec[r * d + j];
    u->mean_norm = sqrtf(dot(c->mean, c->mean, d));
    u->q_norm = q->q ? sqrtf(dot(q->q, q->q, d)) : 0;
    size_t rows = row_session(u) + u->n_ses;
    u->n_groups = (rows + FEAT_LANES - 1) / FEAT_LANES;
    memset(c->rows_t, 0, u->n_groups * FEAT_LANES * d * sizeof(float));
    if (q->q) put_row(c, ROW_QUERY, q->q, d);
    for (size_t r = 0; r < u->n_rec; r++)
        put_row(c, ROW_RECENT + r, c->rec + r * d, d);
    put_row(c, row_mean(u), c->mean, d);
    for (size_t r = 0; r < u->n_ses; r++)
        put_row(c, row_session(u) + r, c->ses + r * d, d);
}

static void user_end(feat_ctx *c, const feat_query *q, const user_part *u) {
    const mx_model *m = c->m;
    for (size_t s = 0; s < q->m; s++)
        if (q->cid[s] < m->n_clusters) c->iw[q->cid[s]] = c->sw[q->cid[s]] = 0;
    for (size_t s = 0; s < u->n_seen; s++)
        for (uint32_t j = m->cat_ptr[u->seen[s]]; j < m->cat_ptr[u->seen[s] + 1]; j++)
            c->cat[m->cat_ids[j]] = 0;
}

/* The features of row f that depend on the user and session alone. */
static void user_features(const mx_model *m, const feat_query *q, const user_part *u, float *f) {
    int known = q->user >= 0 && (size_t)q->user < m->n_users;
    const float *st = known ? m->user_stats + (size_t)q->user * MODEL_USER_STATS : NULL;
    f[FEAT_USER_ACTIVITY] = log1pf((float)u->n_seen);
    f[FEAT_USER_POP_AFFINITY] = st ? st[MODEL_USER_POP_AFFINITY] : 0;
    f[FEAT_USER_IDLE] = st ? st[MODEL_USER_IDLE] : -1;
    f[FEAT_SESSION_EVENTS] = (float)u->n_pos;
    f[FEAT_SESSION_SHARE] = q->session_share;
}

/* The features of an item's vector (1 / |v| = inv) against the user's
 * recent and session items, from its dots with them (dot_rows). */
static void vector_features(const user_part *u, const float *sums, float inv, float *f) {
    float best = -1;
    for (size_t k = 0; k < u->n_rec; k++) {
        float s = sums[ROW_RECENT + k] * inv;
        if (s > best) best = s;
    }
    f[FEAT_RECENT_SIM_MAX] = u->n_rec ? finite_or_0(best) : 0;
    f[FEAT_RECENT_SIM_MEAN] =
        u->mean_norm > 0 ? finite_or_0(sums[row_mean(u)] * inv / u->mean_norm) : 0;
    best = -1;
    for (size_t k = 0; k < u->n_ses; k++) {
        float s = sums[row_session(u) + k] * inv;
        if (s > best) best = s;
    }
    f[FEAT_SESSION_SIM_MAX] = u->n_ses ? finite_or_0(best) : 0;
    f[FEAT_ITEM_NORM] = inv > 0 ? 1.0f / inv : 0;
}

/* Asks for the cache lines of a vector of d floats. */
static void prefetch_vec(const float *v, size_t d) {
    for (size_t b = 0; b < d * sizeof(float); b += 64)
        __builtin_prefetch((const char *)v + b);
}

static float category_affinity(const feat_ctx *c, const uint16_t *cats, size_t n) {
    float aff = 0;
    for (size_t j = 0; j < n; j++)
        aff += c->cat[cats[j]];
    return aff;
}

/* Reads what the candidates keep in catalogue-sized arrays: their vectors'
 * places, their lines of mx_item_hot (the ranges of categories, and the
 * rest for the feature loop), and the categories (for the affinities). At
 * 1M items each is a miss to DRAM; in these short loops of
 * independent loads many are in flight at once, where inside the feature
 * loop (about a thousand instructions a candidate) they came one after
 * another (1M x 64: features 168-181 -> 94-101 us). */
static void gather(feat_ctx *c, const ret_cand *cands, size_t n) {
    const mx_model *m = c->m;
    /* First only asked for: the vectors' places and the items' lines
     * (mx_item_hot), read by the next loops (their loads had stalled on a
     * miss each: 27% of feat_compute's samples at 1M). */
    for (size_t i = 0; i < n; i++) {
        uint32_t it = cands[i].item;
        if (it >= m->n_items) continue;
        if (m->vec_row) __builtin_prefetch(m->vec_row + it);
        __builtin_prefetch(m->item_hot + it);
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t it = cands[i].item;
        c->vec[i] = it < m->n_items ? mx_item_vec(m, it) : NULL;
        c->cat_lo[i] = it < m->n_items ? m->item_hot[it].cat_lo : 0;
        c->cat_hi[i] = it < m->n_items ? m->item_hot[it].cat_hi : 0;
        if (c->cat_hi[i] > c->cat_lo[i]) __builtin_prefetch(m->cat_ids + c->cat_lo[i]);
    }
    for (size_t i = 0; i < n; i++)
        c->cat_aff[i] =
            category_affinity(c, m->cat_ids + c->cat_lo[i], c->cat_hi[i] - c->cat_lo[i]);
}

size_t feat_compute(feat_ctx *c, const feat_query *q, const ret_cand *cands, size_t n, float *x) {
    const mx_model *m = c->m;
    size_t d = m->dim;
    if (n > c->max_cands) n = c->max_cands;
    user_part u;
    user_begin(c, q, &u);
    gather(c, cands, n);

    /* Ranks by ANN score, overall and within the interest. The vectors a
     * few candidates ahead are asked for (their places are known). */
    enum { AHEAD = 4 };
    for (size_t i = 0; i < n && i < AHEAD; i++)
        if (c->vec[i]) prefetch_vec(c->vec[i], d);
    for (size_t i = 0; i < n; i++) {
        if (i + AHEAD < n && c->vec[i + AHEAD]) prefetch_vec(c->vec[i + AHEAD], d);
        float *sums = c->sums + i * FEAT_ROWS_MAX;
        if (c->vec[i]) dot_rows(c, &u, c->vec[i], sums);
        float s = q->q && c->vec[i] ? sums[ROW_QUERY] : 0;
        c->ann_score[i] = finite_or_0(s);
        c->order[i] = (keysort_entry){keysort_desc(c->ann_score[i], (uint32_t)i), (uint32_t)i};
    }
    keysort_sort(c->order, n); /* best first, ties by pool position */
    for (size_t r = 0; r < n; r++) {
        uint32_t i = c->order[r].idx, it = cands[i].item;
        uint32_t ci = it < m->n_items ? m->item_hot[it].interest : INTR_NONE;
        c->ann_rank[i] = (uint16_t)r;
        c->int_rank[i] = ci < m->n_clusters ? c->icount[ci]++ : 0;
    }

    /* every row starts as the user's part (the rest 0) */
    float urow[FEAT_N] = {0};
    user_features(m, q, &u, urow);
    for (size_t r = 0; r < n; r++) {
        uint32_t i = c->order[r].idx, it = cands[i].item;
        float *f = x + (size_t)i * FEAT_N;
        memcpy(f, urow, sizeof(urow));
        f[FEAT_ANN_SCORE] = c->ann_score[i];
        f[FEAT_ANN_RANK] = (float)c->ann_rank[i];
        f[FEAT_INTEREST_RANK] = (float)c->int_rank[i];
        f[FEAT_POOL_RANK] = (float)i;
        f[FEAT_FUSED] = finite_or_0(cands[i].fused);
        f[FEAT_IN_MIXTURE] = (cands[i].sources >> RET_MIXTURE) & 1;
        f[FEAT_IN_SINGLE] = (cands[i].sources >> RET_SINGLE) & 1;
        f[FEAT_IN_POPULAR] = (cands[i].sources >> RET_POPULAR) & 1;
        if (it >= m->n_items) continue;
        const mx_item_hot *h = m->item_hot + it;
        float inv = h->inv_norm;
        uint32_t ci = h->interest;
        f[FEAT_COSINE] = u.q_norm > 0 ? finite_or_0(c->ann_score[i] * inv / u.q_norm) : 0;
        if (ci < m->n_clusters) {
            f[FEAT_INTEREST_WEIGHT] = c->iw[ci];
            f[FEAT_SESSION_WEIGHT] = c->sw[ci];
        }
        const float *is = h->stats, *lp = h->log_pop;
        f[FEAT_POP_COUNT] = lp[MODEL_LOG_POP_COUNT];
        f[FEAT_POP_RECENT] = lp[MODEL_LOG_POP_RECENT];
        f[FEAT_POP_DAY] = lp[MODEL_LOG_POP_DAY];
        f[FEAT_ITEM_AGE] = is[MODEL_ITEM_AGE];
        f[FEAT_ITEM_IDLE] = is[MODEL_ITEM_IDLE];
        f[FEAT_FRESH] = is[MODEL_ITEM_AGE] < FEAT_FRESH_DAYS;
        f[FEAT_POP_VS_USER] = f[FEAT_POP_COUNT] - f[FEAT_USER_POP_AFFINITY];
        if (c->vec[i]) vector_features(&u, c->sums + (size_t)i * FEAT_ROWS_MAX, inv, f);
        f[FEAT_CATEGORY_AFFINITY] = c->cat_aff[i];
    }

    /* Reset the per-interest and per-category scratch for the next call. */
    user_end(c, q, &u);
    for (size_t i = 0; i < n; i++) {
        uint32_t it = cands[i].item;
        if (it < m->n_items && m->item_hot[it].interest < m->n_clusters)
            c->icount[m->item_hot[it].interest] = 0;
    }
    return n;
}

size_t feat_compute_new(feat_ctx *c, const feat_query *q, const feat_new *items, size_t n,
                        size_t pool_n, float *x) {
    const mx_model *m = c->m;
    if (n > c->max_cands) n = c->max_cands;
    user_part u;
    user_begin(c, q, &u);
    float urow[FEAT_N] = {0};
    user_features(m, q, &u, urow);
    for (size_t i = 0; i < n; i++) {
        const feat_new *it = &items[i];
        float *f = x + i * FEAT_N;
        memcpy(f, urow, sizeof(urow));
        /* after every pool candidate, found by no source */
        f[FEAT_ANN_RANK] = f[FEAT_POOL_RANK] = (float)pool_n;
        float age = it->age_days > 0 ? it->age_days : 0;
        f[FEAT_ITEM_AGE] = f[FEAT_ITEM_IDLE] = age; /* no event yet */
        f[FEAT_FRESH] = 1;
        f[FEAT_POP_VS_USER] = -f[FEAT_USER_POP_AFFINITY];
        if (it->vec && it->inv_norm > 0) {
            float sums[FEAT_ROWS_MAX];
            dot_rows(c, &u, it->vec, sums);
            float s = q->q ? finite_or_0(sums[ROW_QUERY]) : 0;
            f[FEAT_ANN_SCORE] = s;
            f[FEAT_COSINE] = u.q_norm > 0 ? finite_or_0(s * it->inv_norm / u.q_norm) : 0;
            vector_features(&u, sums, it->inv_norm, f);
        }
        f[FEAT_CATEGORY_AFFINITY] = category_affinity(c, it->cats, it->n_cats);
    }
    user_end(c, q, &u);
    return n;
}

/* recommend.c - see recommend.h. */
#include "recommend.h"

#include "keysort.h"
#include "stopwatch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "embed.h"
#include "foldin.h"
#include "rec_explain.h"
#include "ranker.h"
#include "retrieve.h"
#include "rec_filter.h"

/* One request's state between the pool and the answer. */
typedef struct {
    rec_mixture mix;
    float session_mix[REC_MAX_INTERESTS]; /* s(c), aligned with mix */
    size_t mlen;
    int has_q;
    ret_params rp;
    size_t ne;        /* exclusions in c->excl */
    size_t n_blocked; /* the last of them, the catalogue's */
} req_state;

struct rec_ctx {
    const mx_model *m;
    ret_ctx *ret;
    feat_ctx *feat;
    size_t max_k;           /* largest k a request may ask */
    size_t cap;             /* largest fetch: max(max_k, the ranker's pool) */
    size_t pool_cap;        /* largest pool: cap, x RET_N_SOURCES with pool_union */
    float *q, *scratch;     /* dim, 3 * dim */
    ret_cand *cands;        /* cap */
    float *x, *rs;          /* cap x FEAT_N features, cap ranker scores */
    float *pen;             /* cap: dislike penalty per pool candidate */
    uint32_t *order;        /* cap */
    keysort_entry *pairs;   /* cap: the pool by its score (order_pool) */
    uint32_t *per_interest; /* n_clusters, zero between calls */
    uint8_t *in_session;    /* n_clusters: interest has session weight; zero between calls */
    uint8_t *taken;         /* cap (diversity) */
    float *sel_sim;         /* cap (MMR: largest cosine to the selected items) */
    int last_ranked, last_has_q;
    req_state last;          /* the last rec_recommend's, for rec_rank_new */
    size_t last_pool;        /* its pool's size */
    int last_xgboost;        /* it ranked with XGBoost's predictor */
    const char *explanation; /* rec_last_explanation */
    /* grown on demand, kept between requests */
    uint32_t *cols, *excl;
    float *conf;
    size_t cap_cols, cap_conf, cap_excl;
    uint64_t stage_ns[REC_N_STAGES]; /* rec_stage_ns; retrieval's own in c->ret */
    uint64_t retrieval_ns;           /* fetch_pool as a whole (the mark's lap) */
};

void rec_params_init(rec_params *p) {
    p->session_half_life = 1800;
    p->session_strength = 3.0f;
    p->dislike_factor = 0.5f;
    p->dislike_penalty = 1.0f;
    p->use_ranker = 1;
    p->per_interest_cap = 0;
    p->mmr_lambda = 0;
    p->session_quota = 1.0f;
    p->xgboost_predictor = 0;
}

const char *rec_reason_name(int reason) {
    switch (reason) {
    case REC_REASON_SESSION:
        return "session";
    case REC_REASON_POPULAR:
        return "popular";
    case REC_REASON_NEW:
        return "new";
    case REC_REASON_PROMOTED:
        return "promoted";
    default:
        return "long-term";
    }
}

rec_ctx *rec_ctx_new(const mx_model *m, size_t max_k) {
    rec_ctx *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->m = m;
    c->max_k = max_k ? max_k : 1;
    c->cap = c->max_k;
    if (m->cfg.ranker.pool > c->cap) c->cap = m->cfg.ranker.pool;
    c->pool_cap = c->cap * (m->cfg.retrieval.pool_union ? RET_N_SOURCES : 1);
    size_t pc = c->pool_cap;
    c->ret = ret_ctx_new(m->index, m->item_interest, m->n_items, c->cap, REC_MAX_INTERESTS);
    c->feat = feat_ctx_new(m, pc);
    c->q = malloc(m->dim * sizeof(float));
    c->scratch = malloc(3 * m->dim * sizeof(float));
    c->cands = malloc(pc * sizeof(ret_cand));
    c->x = malloc(pc * FEAT_N * sizeof(float));
    c->rs = malloc(pc * sizeof(float));
    c->pen = malloc(pc * sizeof(float));
    c->order = malloc(pc * sizeof(uint32_t));
    c->pairs = malloc(pc * sizeof(keysort_entry));
    c->per_interest = calloc(m->n_clusters ? m->n_clusters : 1, sizeof(uint32_t));
    c->in_session = calloc(m->n_clusters ? m->n_clusters : 1, 1);
    c->taken = malloc(pc);
    c->sel_sim = malloc(pc * sizeof(float));
    if (!c->ret || !c->feat || !c->q || !c->scratch || !c->cands || !c->x || !c->rs || !c->pen ||
        !c->order || !c->pairs || !c->per_interest || !c->taken || !c->sel_sim) {
        rec_ctx_free(c);
        return NULL;
    }
    return c;
}

void rec_ctx_free(rec_ctx *c) {
    if (!c) return;
    ret_ctx_free(c->ret);
    feat_ctx_free(c->feat);
    free(c->x);
    free(c->rs);
    free(c->pen);
    free(c->order);
    free(c->pairs);
    free(c->per_interest);
    free(c->in_session);
    free(c->taken);
    free(c->sel_sim);
    free(c->q);
    free(c->scratch);
    free(c->cands);
    free(c->cols);
    free(c->conf);
    free(c->excl);
    free(c);
}

static double decay(const rec_params *p, const rec_query *q, int64_t ts) {
    if (p->session_half_life <= 0 || ts >= q->now) return 1.0;
    return exp2(-(double)(q->now - ts) / p->session_half_life);
}

/* Slot of interest c in out (appended when new); SIZE_MAX when full. */
static size_t slot_of(rec_mixture *out, uint32_t c) {
    for (size_t i = 0; i < out->n; i++)
        if (out->cid[i] == c) return i;
    if (out->n == REC_MAX_INTERESTS) return SIZE_MAX;
    out->cid[out->n] = c;
    return out->n++;
}

float rec_session_weight(const rec_mixture *x, size_t i) {
    return x->session[i] > 0 && x->session_positive > 0 ? x->session[i] / x->session_positive : 0;
}

/* Orders the views by blended weight (n <= 255: insertion sort), ties by
 * interest id. */
static void sort_by_blended(rec_mixture *out) {
    for (size_t i = 1; i < out->n; i++) {
        for (size_t j = i; j > 0; j--) {
            float a = out->blended[j - 1], bb = out->blended[j];
            if (a > bb || (a == bb && out->cid[j - 1] < out->cid[j])) break;
#define SWAP(arr, T)                                                                               \
    do {                                                                                           \
        T t_ = arr[j];                                                                             \
        arr[j] = arr[j - 1];                                                                       \
        arr[j - 1] = t_;                                                                           \
    } while (0)
            SWAP(out->cid, uint32_t);
            SWAP(out->long_term, float);
            SWAP(out->session, float);
            SWAP(out->blended, float);
#undef SWAP
        }
    }
}

void rec_mixture_of(const mx_model *m, const rec_params *p, const rec_query *q, rec_mixture *out) {
    memset(out, 0, sizeof(*out));
    double dislikes[REC_MAX_INTERESTS] = {0}; /* decayed dislike events per slot */
    double net[REC_MAX_INTERESTS] = {0};      /* r(c) */
    int known = q->user >= 0 && (size_t)q->user < m->n_users && m->mix.len[q->user] > 0;
    if (known) {
        size_t u = (size_t)q->user, mm = m->mix.m;
        for (size_t s = 0; s < m->mix.len[u]; s++) {
            size_t i = slot_of(out, m->mix.cid[u * mm + s]);
            if (i != SIZE_MAX) out->long_term[i] = m->mix.w[u * mm + s];
        }
    }
    for (size_t e = 0; e < q->n_events; e++) {
        const rec_event *ev = &q->events[e];
        if (ev->item >= m->n_items || m->item_interest[ev->item] == INTR_NONE) continue;
        size_t i = slot_of(out, m->item_interest[ev->item]);
        if (i == SIZE_MAX) continue;
        double d = decay(p, q, ev->ts);
        net[i] += ev->weight * d;
        if (ev->weight < 0) dislikes[i] += d;
    }
    double pos = 0, neg = 0;
    for (size_t i = 0; i < out->n; i++)
        if (net[i] > 0)
            pos += net[i];
        else
            neg -= net[i];
    for (size_t i = 0; i < out->n; i++)
        out->session[i] = pos + neg > 0 ? (float)(net[i] / (pos + neg)) : 0;
    out->session_positive = pos + neg > 0 ? (float)(pos / (pos + neg)) : 0;
    double b = pos > 0 ? pos / (pos + p->session_strength) : 0;
    if (!known && pos > 0) b = 1;
    out->session_share = (float)b;
    double sum = 0;
    for (size_t i = 0; i < out->n; i++) {
        double v = (1 - b) * out->long_term[i] + b * (net[i] > 0 ? net[i] / pos : 0);
        if (dislikes[i] > 0) v *= pow(p->dislike_factor, dislikes[i]);
        out->blended[i] = (float)v;
        sum += v;
    }
    for (size_t i = 0; i < out->n; i++)
        out->blended[i] = sum > 0 ? (float)(out->blended[i] / sum) : 0;
    sort_by_blended(out);
}

/* Whether a session event joins the query vector's fold-in: a positive
 * one, unless dislikes outweigh the likes of its interest (a click and
 * three dislikes on horror must not pull the query towards horror). */
static int folds_in(const mx_model *m, const rec_mixture *mix, const rec_event *ev) {
    if (ev->weight <= 0 || ev->item >= m->n_items) return 0;
    for (size_t s = 0; s < mix->n; s++)
        if (mix->cid[s] == m->item_interest[ev->item]) return mix->session[s] >= 0;
    return 1;
}

/* The query vector: the user's row re-solved with the session's positive
 * items added (folds_in). Returns 0 when there is no vector (unknown user,
 * no such session item). */
static int query_vector(rec_ctx *c, const rec_params *p, const rec_query *q, const rec_mixture *mix,
                        int *has_q) {
    const mx_model *m = c->m;
    size_t d = m->dim, n = 0;
    int known = q->user >= 0 && (size_t)q->user < m->n_users;
    size_t n_seen = known ? m->seen_ptr[q->user + 1] - m->seen_ptr[q->user] : 0;
    if (known)
        memcpy(c->q, m->user_vecs + (size_t)q->user * d, d * sizeof(float));
    else
        memset(c->q, 0, d * sizeof(float));
    *has_q = known && n_seen > 0;
    size_t positives = 0;
    for (size_t e = 0; e < q->n_events; e++)
        positives += folds_in(m, mix, &q->events[e]);
    if (positives == 0) return 0;
    if (buf_reserve((void **)&c->cols, &c->cap_cols, n_seen + positives, sizeof(uint32_t)) ||
        buf_reserve((void **)&c->conf, &c->cap_conf, n_seen + positives, sizeof(float)))
        return -1;
    float base = fold_confidence(&m->cfg.embed, 1.0f, m->t_ref);
    for (size_t s = 0; s < n_seen; s++) {
        c->cols[n] = m->seen_items[m->seen_ptr[q->user] + s];
        c->conf[n++] = base;
    }
    for (size_t e = 0; e < q->n_events; e++) {
        const rec_event *ev = &q->events[e];
        if (!folds_in(m, mix, ev)) continue;
        c->cols[n] = ev->item;
        c->conf[n++] = 1.0f + m->cfg.embed.alpha * (float)(ev->weight * decay(p, q, ev->ts));
    }
    /* From a cold start CG needs more steps than a warm-started sweep. */
    size_t steps = known ? m->cfg.embed.cg_steps
                         : (d < 3 * m->cfg.embed.cg_steps ? d : 3 * m->cfg.embed.cg_steps);
    fold_solve_row(m->item_vecs, d, m->item_gram, c->cols, c->conf, n, steps, c->q, c->scratch);
    *has_q = 1;
    return 0;
}

static int prepare(rec_ctx *c, const rec_params *p, const rec_query *q, req_state *st,
                   mx_err *err) {
    const mx_model *m = c->m;
    rec_mixture_of(m, p, q, &st->mix);
    for (size_t i = 0; i < st->mix.n; i++)
        st->session_mix[i] = rec_session_weight(&st->mix, i);
    st->has_q = 0;
    if (query_vector(c, p, q, &st->mix, &st->has_q))
        return mx_err_set(err, MX_ENOMEM, "out of memory for the session's items");
    /* Exclusions: training items, session items, the request's own. */
    int known = q->user >= 0 && (size_t)q->user < m->n_users;
    size_t n_seen = known ? m->seen_ptr[q->user + 1] - m->seen_ptr[q->user] : 0;
    if (buf_reserve((void **)&c->excl, &c->cap_excl,
                    n_seen + q->n_events + q->n_exclude + q->n_blocked, sizeof(uint32_t)))
        return mx_err_set(err, MX_ENOMEM, "out of memory for exclusions");
    if (n_seen) memcpy(c->excl, m->seen_items + m->seen_ptr[q->user], n_seen * sizeof(uint32_t));
    st->ne = n_seen;
    for (size_t e = 0; e < q->n_events; e++)
        c->excl[st->ne++] = q->events[e].item;
    for (size_t e = 0; e < q->n_exclude; e++)
        c->excl[st->ne++] = q->exclude[e];
    if (q->n_blocked) memcpy(c->excl + st->ne, q->blocked, q->n_blocked * sizeof(uint32_t));
    st->ne += q->n_blocked;
    st->n_blocked = q->n_blocked;
    /* Mixture components with weight, at most the model's m. */
    size_t mmax = m->mix.m ? m->mix.m : 16;
    st->mlen = 0;
    while (st->mlen < st->mix.n && st->mlen < mmax && st->mix.blended[st->mlen] > 0)
        st->mlen++;
    /* An active session is current intent: the crowd's share of the pool
     * shrinks with it (popularity share x (1 - b)). */
    st->rp = m->cfg.retrieval;
    st->rp.blend_share[RET_POPULAR] *= 1.0f - st->mix.session_share;
    return 0;
}

static int fetch_pool(rec_ctx *c, req_state *st, size_t fetch, size_t *got, mx_err *err) {
    const mx_model *m = c->m;
    ret_begin(c->ret, c->excl, st->ne, st->n_blocked);
    return ret_blend(c->ret, m->index, &m->pop, st->has_q ? c->q : NULL, st->mix.cid,
                     st->mix.blended, st->mlen, fetch, &st->rp, c->cands, got, err);
}

static feat_query feat_query_of(const rec_ctx *c, const rec_query *q, const req_state *st) {
    return (feat_query){.user = q->user,
                        .q = st->has_q ? c->q : NULL,
                        .cid = st->mix.cid,
                        .w = st->mix.blended,
                        .session_w = st->session_mix,
                        .m = st->mix.n,
                        .session_share = st->mix.session_share,
                        .events = q->events,
                        .n_events = q->n_events};
}

static void features_of(rec_ctx *c, const rec_query *q, const req_state *st, size_t n) {
    feat_query fq = feat_query_of(c, q, st);
    feat_compute(c->feat, &fq, c->cands, n, c->x);
}

int rec_candidates(rec_ctx *c, const rec_params *p, const rec_query *q, size_t n_pool,
                   const ret_cand **cands, const float **x, size_t *n, mx_err *err) {
    *n = 0;
    req_state st;
    int rc = prepare(c, p, q, &st, err);
    if (rc) return rc;
    if (n_pool > c->cap) n_pool = c->cap;
    if (n_pool == 0) return 0;
    if ((rc = fetch_pool(c, &st, n_pool, n, err))) return rc;
    features_of(c, q, &st, *n);
    *cands = c->cands;
    *x = c->x;
    return 0;
}

const float *rec_last_query(const rec_ctx *c) {
    return c->last_has_q ? c->q : NULL;
}

int rec_last_ranked(const rec_ctx *c) {
    return c->last_ranked;
}

const char *rec_last_explanation(const rec_ctx *c) {
    return c->explanation;
}

const char *rec_placed_name(int placed, int ranked) {
    switch (placed) {
    case REC_PLACED_SESSION_QUOTA:
        return "session_quota";
    case REC_PLACED_DIVERSITY:
        return "diversity";
    case REC_PLACED_PROMOTION:
        return "promotion";
    case REC_PLACED_FRESH:
        return "fresh";
    case REC_PLACED_EXPLORATION:
        return "exploration";
    default:
        return ranked ? "ranker" : "retrieval";
    }
}

int rec_last_excluded(const rec_ctx *c, uint32_t item) {
    return c->ret && ret_excluded(c->ret, item);
}

/* "popular" only when no personal source found the item: the blend keeps
 * the source that contributed most to an item, and popularity's larger
 * share made every item the crowd likes too "popular", so that users whose
 * interests found their whole answer read 20 of 20 "popular". */
static uint8_t reason_of(const rec_mixture *mix, const ret_cand *cd, uint32_t interest) {
    if (!(cd->sources & REC_PERSONAL_SOURCES)) return REC_REASON_POPULAR;
    uint8_t r = mix->session_share > 0.5f ? REC_REASON_SESSION : REC_REASON_LONG_TERM;
    for (size_t s = 0; s < mix->n; s++)
        if (mix->cid[s] == interest)
            r = mix->session_share * rec_session_weight(mix, s) >
                        (1 - mix->session_share) * mix->long_term[s]
                    ? REC_REASON_SESSION
                    : REC_REASON_LONG_TERM;
    return r;
}

static float cosine(const mx_model *m, uint32_t a, uint32_t b) {
    const float *va = mx_item_vec(m, a), *vb = mx_item_vec(m, b);
    float s = 0;
    for (size_t j = 0; j < m->dim; j++)
        s += va[j] * vb[j];
    return s * m->item_inv_norm[a] * m->item_inv_norm[b];
}

/* Ranker order: best score first, ties in pool order. */
/* c->pen[i] of every candidate c->order[0..n): its nearness to what the
 * session disliked, the sum over disliked items of cos^2 (positive cosines
 * only) times that dislike's decay, at most 1. Squared, so that a near
 * copy counts fully and a loose neighbour little; summed, so that every
 * further dislike pushes further. Returns whether any is above 0. */
static int dislike_nearness(rec_ctx *c, const rec_params *p, const rec_query *q, size_t n) {
    const mx_model *m = c->m;
    int any = 0;
    for (size_t j = 0; j < n; j++)
        c->pen[c->order[j]] = 0;
    if (p->dislike_penalty <= 0) return 0;
    for (size_t e = 0; e < q->n_events; e++) {
        const rec_event *ev = &q->events[e];
        if (ev->weight >= 0 || ev->item >= m->n_items) continue;
        float d = (float)decay(p, q, ev->ts);
        for (size_t j = 0; j < n; j++) {
            float cs = cosine(m, c->cands[c->order[j]].item, ev->item), *v = &c->pen[c->order[j]];
            if (cs <= 0) continue;
            *v = fminf(1.0f, *v + cs * cs * d);
            any = 1;
        }
    }
    return any;
}

/* Orders the filtered pool c->order[0..n) by its scores (the ranker's, or
 * the fused ones) less the dislike penalty, ties in pool order; c->pen
 * then holds each candidate's penalty. A pool in retrieval order without
 * dislikes is already in fused order. */
static void order_pool(rec_ctx *c, const rec_params *p, const rec_query *q, size_t n, int ranked) {
    int penalised = dislike_nearness(c, p, q, n);
    if (n < 2 || (!ranked && !penalised)) return;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; j < n; j++) {
        uint32_t i = c->order[j];
        float v = ranked ? c->rs[i] : c->cands[i].fused;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    /* the pool's score range: a near copy of a disliked item sinks to the
     * bottom, in any score's units */
    float range = hi > lo ? hi - lo : 1;
    for (size_t j = 0; j < n; j++) {
        uint32_t i = c->order[j];
        c->pen[i] *= p->dislike_penalty * range;
        float v = (ranked ? c->rs[i] : c->cands[i].fused) - c->pen[i];
        c->pairs[j] = (keysort_entry){keysort_desc(v, i), i};
    }
    keysort_sort(c->pairs, n); /* best first, ties in pool order */
    for (size_t j = 0; j < n; j++)
        c->order[j] = c->pairs[j].idx;
}

/* The next item of the ordered candidates c->order[0..n) that pick
 * takes: the first untaken one (*first) unless the session quota
 * (need_session), the cap per interest or MMR choose another. SIZE_MAX
 * when none may be taken. */
static size_t next_pick(const rec_ctx *c, const rec_params *p, size_t n, int need_session, int mmr,
                        size_t *first) {
    const mx_model *m = c->m;
    size_t best = SIZE_MAX;
    float best_v = -INFINITY;
    *first = SIZE_MAX;
    for (size_t j = 0; j < n; j++) {
        if (c->taken[j]) continue;
        if (*first == SIZE_MAX) *first = j;
        uint32_t it = c->cands[c->order[j]].item, ci = m->item_interest[it];
        if (need_session && !(ci < m->n_clusters && c->in_session[ci])) continue;
        if (p->per_interest_cap > 0 && ci < m->n_clusters &&
            c->per_interest[ci] >= p->per_interest_cap)
            continue;
        if (!mmr) return j;
        /* relevance of position j in [0, 1]: 1 at the top, linear */
        float rel = 1.0f - (float)j / (float)(n - 1);
        float v =
            (1 - p->mmr_lambda) * rel - p->mmr_lambda * (c->sel_sim[j] > 0 ? c->sel_sim[j] : 0);
        if (v > best_v) {
            best_v = v;
            best = j;
        }
    }
    return best;
}

/* Picks up to k of the ordered, filtered candidates c->order[0..n) into
 * out, applying the diversity step. Returns the count. */
static size_t pick(rec_ctx *c, const rec_params *p, const rec_query *q, const req_state *st,
                   size_t n, int ranked, rec_item *out) {
    const mx_model *m = c->m;
    size_t k = q->k, got = 0;
    memset(c->taken, 0, n);
    /* Session quota (ranked answers): Q = round(session_quota x b x k) of
     * the answer go to the interests the session touched, spread so that
     * every prefix of length L holds at least floor(Q L / k) of them: a
     * learned order cannot hide what the user just did, and the ranker
     * keeps the top slots unless the session is strong. */
    size_t quota = 0, sess_taken = 0, sess_left = 0;
    if (ranked && st->mix.session_share > 0) {
        for (size_t s = 0; s < st->mix.n; s++)
            if (st->mix.session[s] > 0 && st->mix.cid[s] < m->n_clusters)
                c->in_session[st->mix.cid[s]] = 1;
        for (size_t j = 0; j < n; j++) {
            uint32_t ci = m->item_interest[c->cands[c->order[j]].item];
            sess_left += ci < m->n_clusters && c->in_session[ci];
        }
        quota = (size_t)lroundf(p->session_quota * st->mix.session_share * (float)k);
    }
    int mmr = p->mmr_lambda > 0 && n > 1;
    if (mmr)
        for (size_t j = 0; j < n; j++)
            c->sel_sim[j] = -1;
    while (got < k) {
        size_t first; /* the order's own pick */
        int need_session = sess_left > 0 && sess_taken < quota * (got + 1) / k;
        size_t best = next_pick(c, p, n, need_session, mmr, &first);
        if (best == SIZE_MAX && need_session) { /* capped: the quota yields */
            need_session = 0;
            best = next_pick(c, p, n, 0, mmr, &first);
        }
        if (best == SIZE_MAX) break; /* the cap left nothing: done */
        c->taken[best] = 1;
        const ret_cand *cd = &c->cands[c->order[best]];
        if (m->item_interest[cd->item] < m->n_clusters &&
            c->in_session[m->item_interest[cd->item]]) {
            sess_taken++;
            sess_left--;
        }
        rec_item *r = &out[got];
        uint32_t idx = c->order[best];
        *r = (rec_item){.item = cd->item,
                        .score = 1.0f / (float)(1 + got),
                        .rank_score = ranked ? c->rs[idx] : cd->fused,
                        .dislike_penalty = c->pen[idx],
                        .interest = m->item_interest[cd->item],
                        .pool_rank = idx,
                        .reason = reason_of(&st->mix, cd, m->item_interest[cd->item]),
                        .sources = cd->sources,
                        .ranked = (uint8_t)ranked,
                        .placed_by = best == first  ? REC_PLACED_ORDER
                                     : need_session ? REC_PLACED_SESSION_QUOTA
                                                    : REC_PLACED_DIVERSITY};
        got++;
        if (r->interest < m->n_clusters) c->per_interest[r->interest]++;
        if (mmr)
            for (size_t j = 0; j < n; j++)
                if (!c->taken[j]) {
                    float sim = cosine(m, c->cands[c->order[j]].item, cd->item);
                    if (sim > c->sel_sim[j]) c->sel_sim[j] = sim;
                }
    }
    for (size_t j = 0; j < got; j++) /* reset for the next call */
        if (out[j].interest < m->n_clusters) c->per_interest[out[j].interest] = 0;
    for (size_t s = 0; s < st->mix.n; s++)
        if (st->mix.cid[s] < m->n_clusters) c->in_session[st->mix.cid[s]] = 0;
    return got;
}

int rec_recommend(rec_ctx *c, const rec_params *p, const rec_query *q, rec_item *out, size_t *n,
                  mx_err *err) {
    const mx_model *m = c->m;
    *n = 0;
    c->last_ranked = c->last_has_q = 0;
    c->explanation = NULL;
    if (q->k > c->max_k)
        return mx_err_set(err, MX_EINVAL, "k = %zu is above the limit %zu", q->k, c->max_k);
    if (q->k == 0) return 0;
    uint64_t mark = stopwatch_now_ns();
    req_state st;
    int rc = prepare(c, p, q, &st, err);
    if (rc) return rc;
    stopwatch_lap(&mark, &c->stage_ns[REC_STAGE_PREPARE]);
    c->last_has_q = st.has_q;
    c->last = st;
    c->last_xgboost = p->xgboost_predictor;
    int ranked = p->use_ranker && model_has_ranker(m), dislikes = 0;
    for (size_t e = 0; e < q->n_events; e++)
        dislikes |= q->events[e].weight < 0 && p->dislike_penalty > 0;
    /* a ranker, or neighbours of disliked items to replace: a deeper pool */
    size_t fetch = q->k, got = 0;
    if ((ranked || dislikes) && m->cfg.ranker.pool > fetch) fetch = m->cfg.ranker.pool;
    if (fetch > c->cap) fetch = c->cap;
    for (;;) {
        if ((rc = fetch_pool(c, &st, fetch, &got, err))) return rc;
        stopwatch_lap(&mark, &c->retrieval_ns);
        if (ranked && got > 0) {
            features_of(c, q, &st, got);
            stopwatch_lap(&mark, &c->stage_ns[REC_STAGE_FEATURES]);
            if ((rc = model_rank(m, c->x, got, p->xgboost_predictor, c->rs, err))) return rc;
            stopwatch_lap(&mark, &c->stage_ns[REC_STAGE_RANKING]);
        }
        size_t nf = 0;
        for (size_t i = 0; i < got; i++)
            if (rec_filter_admits(m, q, c->cands[i].item)) c->order[nf++] = (uint32_t)i;
        order_pool(c, p, q, nf, ranked && got > 0);
        *n = pick(c, p, q, &st, nf, ranked && got > 0, out);
        c->last_ranked = ranked && got > 0;
        c->last_pool = got;
        stopwatch_lap(&mark, &c->stage_ns[REC_STAGE_PLACE]);
        /* The filters may thin the pool: look deeper, up to the cap. */
        if (*n >= q->k || got < fetch || fetch >= c->cap) break;
        fetch = fetch * 4 < c->cap ? fetch * 4 : c->cap;
    }
    if (q->explain && c->last_ranked && m->ranker)
        for (size_t i = 0; i < *n; i++)
            rec_explain_features(m->ranker, c->x + (size_t)out[i].pool_rank * FEAT_N, &out[i]);
    int known = q->user >= 0 && (size_t)q->user < m->n_users;
    c->explanation = rec_explain_answer(out, *n, q->k, known, st.has_q, q->n_events, c->cands, got);
    stopwatch_lap(&mark, &c->stage_ns[REC_STAGE_PLACE]);
    return 0;
}

void rec_stage_ns(const rec_ctx *c, uint64_t out[REC_N_STAGES]) {
    memcpy(out, c->stage_ns, sizeof(c->stage_ns));
    const uint64_t *r = c->ret ? ret_stage_ns(c->ret) : NULL;
    if (!r) return;
    out[REC_STAGE_MIXTURE] = r[RET_MIXTURE];
    out[REC_STAGE_SINGLE] = r[RET_SINGLE];
    out[REC_STAGE_POPULAR] = r[RET_POPULAR];
    out[REC_STAGE_FUSION] = r[RET_N_SOURCES];
}

const char *rec_stage_name(int stage) {
    static const char *names[REC_N_STAGES] = {"prepare", "mixture",  "single",  "popular",
                                              "fusion",  "features", "ranking", "place"};
    return stage >= 0 && stage < REC_N_STAGES ? names[stage] : "?";
}

int rec_rank_new(rec_ctx *c, const rec_query *q, const feat_new *items, size_t n, rec_item *out,
                 mx_err *err) {
    const mx_model *m = c->m;
    if (!c->last_ranked) return 0;
    if (n > c->cap) n = c->cap;
    feat_query fq = feat_query_of(c, q, &c->last);
    feat_compute_new(c->feat, &fq, items, n, c->last_pool, c->x);
    int rc = model_rank(m, c->x, n, c->last_xgboost, c->rs, err);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        out[i].rank_score = c->rs[i];
        out[i].ranked = 1;
        out[i].n_why = 0;
        if (q->explain && m->ranker) rec_explain_features(m->ranker, c->x + i * FEAT_N, &out[i]);
    }
    return 0;
}

int rec_similar(rec_ctx *c, uint32_t item, const rec_query *q, rec_item *out, size_t *n,
                mx_err *err) {
    const mx_model *m = c->m;
    *n = 0;
    if (item >= m->n_items)
        return mx_err_set(err, MX_ENOTFOUND, "item %u is not in the model", item);
    if (q->k > c->max_k)
        return mx_err_set(err, MX_EINVAL, "k = %zu is above the limit %zu", q->k, c->max_k);
    size_t ne = 1 + q->n_exclude + q->n_blocked;
    if (buf_reserve((void **)&c->excl, &c->cap_excl, ne, sizeof(uint32_t)))
        return mx_err_set(err, MX_ENOMEM, "out of memory for exclusions");
    c->excl[0] = item;
    if (q->n_exclude) memcpy(c->excl + 1, q->exclude, q->n_exclude * sizeof(uint32_t));
    if (q->n_blocked)
        memcpy(c->excl + 1 + q->n_exclude, q->blocked, q->n_blocked * sizeof(uint32_t));
    /* A category filter thins the neighbours: look deeper, up to the cap. */
    for (size_t fetch = q->k;; fetch = fetch * 4 < c->cap ? fetch * 4 : c->cap) {
        ret_begin(c->ret, c->excl, ne, q->n_blocked);
        size_t got = 0;
        int rc = ret_single(c->ret, m->index, mx_item_vec(m, item), fetch, &m->cfg.retrieval,
                            c->cands, &got, err);
        if (rc) return rc;
        *n = 0;
        for (size_t i = 0; i < got && *n < q->k; i++) {
            if (!rec_filter_admits(m, q, c->cands[i].item)) continue;
            out[(*n)++] = (rec_item){.item = c->cands[i].item,
                                     .score = c->cands[i].score,
                                     .rank_score = c->cands[i].score,
                                     .interest = m->item_interest[c->cands[i].item],
                                     .reason = REC_REASON_LONG_TERM,
                                     .sources = c->cands[i].sources};
        }
        if (*n >= q->k || got < fetch || fetch >= c->cap) return 0;
    }
}

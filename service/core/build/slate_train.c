/* slate_train.c - see slate_train.h. */
#include "slate_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ranker.h"
#include "recommend.h"
#include "rng.h"

/* Items of a slate replayed at most (the first ones). */
#define SLT_MAX_REPLAY 256

/* Events kept per slate's session (the newest), as rank_train.c's. */
#define SLT_MAX_SESSION 32

static int by_user_ts(const void *a, const void *b) {
    const ds_event *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

static int slate_by_user_ts(const void *a, const void *b) {
    const slt_slate *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

void slt_labels_free(slt_labels *l) {
    if (!l) return;
    free(l->slates);
    free(l->items);
    free(l->label);
    memset(l, 0, sizeof(*l));
}

/* Copies of ev with value > 0 (engagements), sorted by (user, ts). */
static ds_event *sorted_engagements(const ds_event *ev, size_t n, size_t *n_out) {
    ds_event *e = malloc((n ? n : 1) * sizeof(ds_event));
    size_t k = 0;
    if (!e) return NULL;
    for (size_t i = 0; i < n; i++)
        if (ev[i].value > 0) e[k++] = ev[i];
    qsort(e, k, sizeof(ds_event), by_user_ts);
    *n_out = k;
    return e;
}

/* The slates of log mapped to ds's ids, into L (no labels yet). */
static int map_slates(const ds_dataset *ds, const imp_log *log, int64_t until, slt_labels *L) {
    size_t n = imp_log_count(log), rows = 0;
    for (size_t s = 0; s < n; s++)
        rows += imp_log_get(log, s)->n_items;
    L->slates = malloc((n ? n : 1) * sizeof(slt_slate));
    L->items = malloc((rows ? rows : 1) * sizeof(uint32_t));
    L->label = calloc(rows ? rows : 1, sizeof(float));
    if (!L->slates || !L->items || !L->label) return -1;
    L->read = n;
    for (size_t s = 0; s < n; s++) {
        const imp_slate *is = imp_log_get(log, s);
        int64_t ts = is->ts_ms / 1000, u = ds_find_user(ds, is->user);
        if (ts >= until) {
            L->after_training++;
            continue;
        }
        if (u < 0) {
            L->unknown_users++;
            continue;
        }
        slt_slate *o = &L->slates[L->n_slates];
        *o = (slt_slate){.user = (uint32_t)u, .ts = ts, .first = L->n_rows};
        for (size_t i = 0; i < is->n_items; i++) {
            int64_t it = ds_find_item(ds, is->items[i]);
            if (it < 0) {
                L->unknown_items++;
                continue;
            }
            L->items[L->n_rows++] = (uint32_t)it;
            o->n++;
        }
        if (o->n) L->n_slates++;
    }
    qsort(L->slates, L->n_slates, sizeof(slt_slate), slate_by_user_ts);
    return 0;
}

/* Last touch: the latest slate of e's user at or before e->ts, within the
 * window, that showed e's item, gets a positive. sl: that user's slates. */
static void attribute(slt_labels *L, const slt_slate *sl, size_t n, const ds_event *e, double w) {
    for (size_t j = n; j-- > 0;) {
        if (sl[j].ts > e->ts) continue;
        if ((double)(e->ts - sl[j].ts) > w) return; /* older slates are further away */
        for (size_t r = sl[j].first; r < sl[j].first + sl[j].n; r++)
            if (L->items[r] == e->item) {
                L->label[r] = 1.0f;
                return;
            }
    }
}

int slt_assemble(const ds_dataset *ds, const imp_log *log, const ds_event *ev, size_t n_ev,
                 int64_t until, double window_s, slt_labels *out, mx_err *err) {
    memset(out, 0, sizeof(*out));
    size_t ne = 0;
    ds_event *e = NULL;
    if (map_slates(ds, log, until, out) || !(e = sorted_engagements(ev, n_ev, &ne))) {
        slt_labels_free(out);
        return mx_err_set(err, MX_ENOMEM, "slates: out of memory labelling the impressions");
    }
    /* walk users in step: the slates and the engagements are both by user */
    size_t s = 0, i = 0;
    while (s < out->n_slates && i < ne) {
        uint32_t u = out->slates[s].user;
        if (e[i].user < u) {
            i++;
            continue;
        }
        size_t s_end = s;
        while (s_end < out->n_slates && out->slates[s_end].user == u)
            s_end++;
        for (; i < ne && e[i].user == u; i++)
            attribute(out, out->slates + s, s_end - s, &e[i], window_s);
        s = s_end;
    }
    free(e);
    for (size_t k = 0; k < out->n_slates; k++) {
        slt_slate *sl = &out->slates[k];
        for (size_t r = sl->first; r < sl->first + sl->n; r++)
            sl->positives += out->label[r] > 0;
        out->positives += sl->positives;
        out->engaged += sl->positives > 0;
    }
    return 0;
}

void slt_data_free(slt_data *d) {
    if (!d) return;
    free(d->x);
    free(d->y);
    free(d->vx);
    free(d->vy);
    free(d->g);
    free(d->vg);
    memset(d, 0, sizeof(*d));
}

/* Everything slt_examples holds between its steps. */
typedef struct sx {
    const rank_params *rp;
    slt_labels L;
    uint32_t *use; /* usable slates (indexes into L.slates) */
    size_t n_use;
    mx_model *early;
    ds_event *ev;   /* the training events by (user, ts): the sessions */
    uint64_t *off;  /* n_users + 1 offsets into ev */
    float *fx;      /* L.n_rows x FEAT_N */
    uint8_t *found; /* L.n_rows: the shown item was in the pool */
    size_t n_neg;   /* rank_train.slate_pool_negatives */
    float *nx;      /* n_use x n_neg x FEAT_N: unshown pool items of each slate */
    size_t *nn;     /* n_use: their count */
} sx;

static void sx_free(sx *s) {
    slt_labels_free(&s->L);
    free(s->use);
    model_free(s->early);
    free(s->ev);
    free(s->off);
    free(s->fx);
    free(s->found);
    free(s->nx);
    free(s->nn);
}

/* A slate with a positive and a negative carries ranking signal. */
static int usable(const slt_slate *sl) {
    return sl->positives > 0 && sl->positives < sl->n;
}

/* The session of user u at ts: events in [ts - span, ts), the newest
 * SLT_MAX_SESSION, weight 1 (as rank_train.c's offline sessions). */
static size_t session_at(const sx *s, uint32_t u, int64_t ts, int64_t span, feat_event *out) {
    const ds_event *e = s->ev + s->off[u];
    size_t n = s->off[u + 1] - s->off[u], end = 0, k = 0;
    while (end < n && e[end].ts < ts)
        end++;
    size_t from = end;
    while (from > 0 && e[from - 1].ts >= ts - span && end - from < SLT_MAX_SESSION)
        from--;
    for (size_t j = from; j < end; j++)
        out[k++] = (feat_event){.item = e[j].item, .ts = e[j].ts, .weight = 1.0f};
    return k;
}

/* The pool (candidates and their features) ctx's model gives sl's user
 * at the slate's time, with the session the user had then. */
static int slate_pool(sx *s, rec_ctx *ctx, const rec_params *prm, const slt_slate *sl,
                      const ret_cand **c, const float **x, size_t *n) {
    feat_event sess[SLT_MAX_SESSION];
    int64_t span = (int64_t)(s->rp->session_hours * 3600.0);
    size_t ns = session_at(s, sl->user, sl->ts, span, sess);
    rec_query q = {
        .user = sl->user, .events = sess, .n_events = ns, .k = s->rp->pool, .now = sl->ts};
    return rec_candidates(ctx, prm, &q, s->rp->pool, c, x, n, NULL);
}

/* The features of one slate's shown items from the early model's pool. */
static int slate_features(sx *s, rec_ctx *ctx, const rec_params *prm, size_t j) {
    const slt_slate *sl = &s->L.slates[s->use[j]];
    const ret_cand *c = NULL;
    const float *x = NULL;
    size_t n = 0;
    if (slate_pool(s, ctx, prm, sl, &c, &x, &n)) return -1;
    for (size_t r = sl->first; r < sl->first + sl->n; r++)
        for (size_t i = 0; i < n; i++)
            if (c[i].item == s->L.items[r]) {
                memcpy(s->fx + r * FEAT_N, x + i * FEAT_N, FEAT_N * sizeof(float));
                s->found[r] = 1;
                break;
            }
    /* unshown pool items, evenly spread over the pool: what the slate's
     * policy passed over, so the ranker also learns to leave them out */
    size_t k = 0, step = s->n_neg ? n / s->n_neg : 0;
    for (size_t i = 0; step && i < n && k < s->n_neg; i += step) {
        int shown = 0;
        for (size_t r = sl->first; r < sl->first + sl->n && !shown; r++)
            shown = c[i].item == s->L.items[r];
        if (shown) continue;
        memcpy(s->nx + (j * s->n_neg + k++) * FEAT_N, x + i * FEAT_N, FEAT_N * sizeof(float));
    }
    s->nn[j] = k;
    return 0;
}

static int all_features(sx *s, mx_err *err) {
    int failed = 0;
#pragma omp parallel
    {
        rec_ctx *ctx = rec_ctx_new(s->early, s->rp->pool);
        rec_params prm;
        rec_params_init(&prm);
        if (!ctx) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 16)
        for (size_t j = 0; j < s->n_use; j++) {
            if (ctx && slate_features(s, ctx, &prm, j)) {
#pragma omp atomic write
                failed = 1;
            }
        }
        rec_ctx_free(ctx);
    }
    return failed ? mx_err_set(err, MX_ENOMEM, "slates: out of memory computing features") : 0;
}

/* The training events by (user, ts) with per-user offsets. */
static int index_events(sx *s, const ds_event *train, size_t n, size_t nu) {
    s->ev = malloc((n ? n : 1) * sizeof(ds_event));
    s->off = calloc(nu + 1, sizeof(uint64_t));
    if (!s->ev || !s->off) return -1;
    memcpy(s->ev, train, n * sizeof(ds_event));
    qsort(s->ev, n, sizeof(ds_event), by_user_ts);
    for (size_t e = 0; e < n; e++)
        s->off[s->ev[e].user + 1]++;
    for (size_t u = 0; u < nu; u++)
        s->off[u + 1] += s->off[u];
    return 0;
}

/* Kept rows (found in the pool) of the usable slates into out, grouped
 * per slate, training or validation by a hash of the user. */
static int split_groups(sx *s, slt_data *out, slt_report *rep) {
    size_t rows = s->L.n_rows + s->n_use * s->n_neg, n = s->n_use ? s->n_use : 1;
    rows = rows ? rows : 1;
    out->x = malloc(rows * FEAT_N * sizeof(float));
    out->vx = malloc(rows * FEAT_N * sizeof(float));
    out->y = malloc(rows * sizeof(float));
    out->vy = malloc(rows * sizeof(float));
    out->g = malloc(n * sizeof(unsigned));
    out->vg = malloc(n * sizeof(unsigned));
    if (!out->x || !out->vx || !out->y || !out->vy || !out->g || !out->vg) return -1;
    size_t tr = 0, va = 0, tg = 0, vgn = 0;
    for (size_t j = 0; j < s->n_use; j++) {
        const slt_slate *sl = &s->L.slates[s->use[j]];
        size_t kept = 0, pos = 0;
        for (size_t r = sl->first; r < sl->first + sl->n; r++) {
            kept += s->found[r];
            pos += s->found[r] && s->L.label[r] > 0;
            rep->not_in_pool += !s->found[r];
        }
        if (pos == 0 || pos == kept) continue;
        uint64_t hs = sl->user, h = rng__splitmix(&hs);
        int valid = (double)(h >> 11) / 9007199254740992.0 < s->rp->valid_frac;
        float *x = valid ? out->vx : out->x, *y = valid ? out->vy : out->y;
        size_t *at = valid ? &va : &tr;
        for (size_t r = sl->first; r < sl->first + sl->n; r++) {
            if (!s->found[r]) continue;
            memcpy(x + *at * FEAT_N, s->fx + r * FEAT_N, FEAT_N * sizeof(float));
            y[(*at)++] = s->L.label[r];
        }
        for (size_t i = 0; i < s->nn[j]; i++) {
            memcpy(x + *at * FEAT_N, s->nx + (j * s->n_neg + i) * FEAT_N, FEAT_N * sizeof(float));
            y[(*at)++] = 0;
        }
        kept += s->nn[j];
        if (valid)
            out->vg[vgn++] = (unsigned)kept;
        else
            out->g[tg++] = (unsigned)kept;
        out->positives += pos;
    }
    out->train = (rkx_data){out->x, out->y, out->g, tr, tg};
    out->valid = (rkx_data){out->vx, out->vy, out->vg, va, vgn};
    out->rows = tr + va;
    rep->used = tg + vgn;
    return 0;
}

/* The labels and the usable slates; *ok = 0 with why when too few. */
static int label_step(sx *s, const ds_dataset *ds, const ds_event *train, size_t n_train,
                      const pipe_inputs *in, int *ok, char *why, size_t wl, slt_report *rep,
                      mx_err *err) {
    int64_t until = INT64_MIN;
    for (size_t e = 0; e < n_train; e++)
        if (train[e].ts >= until) until = train[e].ts + 1;
    int rc = slt_assemble(ds, in->impressions, train, n_train, until,
                          s->rp->slate_window_hours * 3600.0, &s->L, err);
    if (rc) return rc;
    rep->read = s->L.read;
    rep->after_training = s->L.after_training;
    rep->unknown_users = s->L.unknown_users;
    rep->unknown_items = s->L.unknown_items;
    s->use = malloc((s->L.n_slates ? s->L.n_slates : 1) * sizeof(uint32_t));
    if (!s->use) return mx_err_set(err, MX_ENOMEM, "slates: out of memory");
    rep->first_ts = INT64_MAX;
    for (size_t k = 0; k < s->L.n_slates; k++)
        if (usable(&s->L.slates[k])) {
            s->use[s->n_use++] = (uint32_t)k;
            if (s->L.slates[k].ts < rep->first_ts) rep->first_ts = s->L.slates[k].ts;
        }
    rep->engaged = s->n_use;
    *ok = s->n_use >= s->rp->min_slates;
    if (!*ok)
        snprintf(why, wl,
                 "%zu of %zu slates have both an engaged and a skipped item (%zu after the "
                 "training period, %zu of unknown users); rank_train.min_slates is %zu",
                 s->n_use, s->L.read, s->L.after_training, s->L.unknown_users, s->rp->min_slates);
    return 0;
}

int slt_examples(const ds_dataset *ds, const ds_event *train, size_t n_train, const bcfg *cfg,
                 const pipe_inputs *in, size_t min_valid, slt_data *out, int *enough, char *why,
                 size_t why_len, slt_report *rep, mx_err *err) {
    memset(out, 0, sizeof(*out));
    memset(rep, 0, sizeof(*rep));
    *enough = 0;
    snprintf(why, why_len, "no impressions");
    if (!in || !in->impressions) return 0;
    sx s = {.rp = &cfg->ranker};
    int ok = 0, rc = label_step(&s, ds, train, n_train, in, &ok, why, why_len, rep, err);
    if (rc || !ok) goto done;
    /* the early model: what was serving when the first slate was shown */
    ds_event *early = malloc((n_train ? n_train : 1) * sizeof(ds_event));
    if (!early) {
        rc = mx_err_set(err, MX_ENOMEM, "slates: out of memory");
        goto done;
    }
    for (size_t e = 0; e < n_train; e++)
        if (train[e].ts < rep->first_ts) early[rep->early_events++] = train[e];
    if (rep->early_events == 0) {
        free(early);
        snprintf(why, why_len, "no training event precedes the first slate");
        goto done;
    }
    rc = pipe_build(ds, early, rep->early_events, cfg, in, &s.early, NULL, err);
    free(early);
    if (rc) {
        mx_err_prefix(err, "slates: building the model before the first slate");
        goto done;
    }
    s.fx = calloc(s.L.n_rows ? s.L.n_rows : 1, FEAT_N * sizeof(float));
    s.found = calloc(s.L.n_rows ? s.L.n_rows : 1, 1);
    s.n_neg = s.rp->slate_pool_negatives;
    s.nx = malloc((s.n_use * s.n_neg + 1) * FEAT_N * sizeof(float));
    s.nn = calloc(s.n_use ? s.n_use : 1, sizeof(size_t));
    if (!s.fx || !s.found || !s.nx || !s.nn || index_events(&s, train, n_train, ds_n_users(ds))) {
        rc = mx_err_set(err, MX_ENOMEM, "slates: out of memory");
        goto done;
    }
    if ((rc = all_features(&s, err))) goto done;
    if (split_groups(&s, out, rep)) {
        rc = mx_err_set(err, MX_ENOMEM, "slates: out of memory");
        goto done;
    }
    size_t tg = out->train.n_groups, vg = out->valid.n_groups;
    if (tg + vg < s.rp->min_slates || (s.rp->valid_frac > 0 && vg < min_valid)) {
        snprintf(why, why_len,
                 "%zu training and %zu validation slates keep an engaged and a skipped item in "
                 "the early model's pool (%zu shown items were not in it); needs "
                 "rank_train.min_slates = %zu and %zu for validation",
                 tg, vg, rep->not_in_pool, s.rp->min_slates, min_valid);
        slt_data_free(out);
        goto done;
    }
    *enough = 1;
    why[0] = 0;
done:
    sx_free(&s);
    if (rc) slt_data_free(out);
    return rc;
}

/* NDCG of the gains g (n, >= 0) in the order ord; ideal: gains sorted. */
static double ndcg_of(const float *g, const size_t *ord, size_t n) {
    double dcg = 0, idcg = 0;
    float sorted[SLT_MAX_REPLAY];
    size_t m = n < SLT_MAX_REPLAY ? n : SLT_MAX_REPLAY;
    for (size_t i = 0; i < m; i++) {
        dcg += g[ord[i]] / log2(2.0 + (double)i);
        sorted[i] = g[i];
    }
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && sorted[j] > sorted[j - 1]; j--) {
            float t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    for (size_t i = 0; i < m; i++)
        idcg += sorted[i] / log2(2.0 + (double)i);
    return idcg > 0 ? dcg / idcg : 0;
}

/* m's scores of one slate's shown items (-INF: not in the pool). */
static int replay_scores(sx *s, rec_ctx *ctx, const rec_params *prm, const mx_model *m,
                         const slt_slate *sl, float *score, size_t *missing) {
    const ret_cand *c = NULL;
    const float *x = NULL;
    size_t n = 0;
    if (slate_pool(s, ctx, prm, sl, &c, &x, &n)) return -1;
    for (size_t r = 0; r < sl->n; r++) {
        score[r] = -INFINITY;
        for (size_t i = 0; i < n; i++)
            if (c[i].item == s->L.items[sl->first + r]) {
                if (m->ranker)
                    rk_forest_predict(m->ranker, x + i * FEAT_N, 1, FEAT_N, &score[r]);
                else
                    score[r] = -(float)i;
                break;
            }
        *missing += score[r] == -INFINITY;
    }
    return 0;
}

int slt_replay(const ds_dataset *ds, const imp_log *log, const ds_event *ev, size_t n_ev,
               int64_t since, const mx_model *m, const rank_params *rp, slt_replay_result *out,
               mx_err *err) {
    memset(out, 0, sizeof(*out));
    sx s = {.rp = rp};
    rec_ctx *ctx = NULL;
    float *score = NULL;
    size_t *ord = NULL, cap = 0;
    int rc = slt_assemble(ds, log, ev, n_ev, INT64_MAX, rp->slate_window_hours * 3600.0, &s.L, err);
    if (rc) return rc;
    for (size_t k = 0; k < s.L.n_slates; k++)
        cap = s.L.slates[k].n > cap ? s.L.slates[k].n : cap;
    ctx = rec_ctx_new(m, rp->pool);
    score = malloc((cap + 1) * sizeof(float));
    ord = malloc((cap + 1) * sizeof(size_t));
    if (!ctx || !score || !ord || index_events(&s, ev, n_ev, ds_n_users(ds))) {
        rc = mx_err_set(err, MX_ENOMEM, "slates: out of memory replaying");
        goto done;
    }
    rec_params prm;
    rec_params_init(&prm);
    for (size_t k = 0; k < s.L.n_slates; k++) {
        const slt_slate *sl = &s.L.slates[k];
        if (sl->ts < since || !usable(sl) || sl->user >= m->n_users) continue;
        if (replay_scores(&s, ctx, &prm, m, sl, score, &out->not_in_pool)) {
            rc = mx_err_set(err, MX_ENOMEM, "slates: out of memory replaying");
            goto done;
        }
        const float *y = s.L.label + sl->first;
        float ips[SLT_MAX_REPLAY];
        size_t n = sl->n < SLT_MAX_REPLAY ? sl->n : SLT_MAX_REPLAY;
        for (size_t i = 0; i < n; i++) {
            ord[i] = i;
            /* a click at shown position i, weighted by 1 / exam(i) */
            ips[i] = y[i] > 0 ? (float)log2(2.0 + (double)i) : 0;
        }
        out->ndcg_logged += ndcg_of(y, ord, n);
        out->ips_logged += ndcg_of(ips, ord, n);
        for (size_t i = 1; i < n; i++) /* by score, stable: ties keep the shown order */
            for (size_t j = i; j > 0 && score[ord[j]] > score[ord[j - 1]]; j--) {
                size_t t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
        out->ndcg_model += ndcg_of(y, ord, n);
        out->ips_model += ndcg_of(ips, ord, n);
        out->slates++;
    }
    if (out->slates) {
        out->ndcg_logged /= (double)out->slates;
        out->ndcg_model /= (double)out->slates;
        out->ips_logged /= (double)out->slates;
        out->ips_model /= (double)out->slates;
    }
done:
    rec_ctx_free(ctx);
    free(score);
    free(ord);
    sx_free(&s);
    return rc;
}

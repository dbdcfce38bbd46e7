/* rank_train.c - see rank_train.h. */
#include "rank_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pipeline.h"
#include "recommend.h"
#include "rng.h"

/* A trained ranker before it joins a model: XGBoost's JSON text and the
 * manifest entry (json_t *). */
typedef struct rkt_ranker {
    char *json;
    size_t len;
    void *info;
} rkt_ranker;

/* Trains a ranker from train with cfg's settings (cfg->ranker, and the
 * model settings for the early model; in: the item vectors the user
 * brings, as for the final model, NULL to learn them). Runs before the final model is
 * built, so the early model and the examples are gone by then (build peak
 * memory is the larger of the two, not their sum). *out owned by the
 * caller (rkt_attach or rkt_ranker_free). Data that cannot train a ranker
 * (no cut, no positive) is a result, not an error: 0 with rep->trained = 0,
 * rep->why saying why and *out empty. Errors: XGBoost errors, OOM. */
static int rkt_fit(const ds_dataset *ds, const ds_event *train, size_t n_train, const bcfg *cfg,
                   const pipe_inputs *in, rkt_ranker *out, rkt_report *rep, mx_err *err);

/* Attaches r to m (model_set_ranker) and frees r. */
static int rkt_attach(mx_model *m, rkt_ranker *r, mx_err *err);
static void rkt_ranker_free(rkt_ranker *r); /* frees the contents */

/* Events kept per offline session (the newest). */
#define RKT_MAX_SESSION 32

struct rkt_sessions {
    uint64_t *ptr; /* n_users + 1 */
    feat_event *ev;
    int64_t *last; /* n_users: the user's last event before the cut */
};

static int by_user_ts(const void *a, const void *b) {
    const ds_event *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

int rkt_sessions_new(const ds_event *ev, size_t n, size_t n_users, int64_t cut, double hours,
                     rkt_sessions **out, mx_err *err) {
    *out = NULL;
    rkt_sessions *s = calloc(1, sizeof(*s));
    int64_t span = (int64_t)(hours * 3600.0);
    if (s) {
        s->ptr = calloc(n_users + 1, sizeof(uint64_t));
        s->last = malloc((n_users ? n_users : 1) * sizeof(int64_t));
    }
    if (!s || !s->ptr || !s->last) {
        rkt_sessions_free(s);
        return mx_err_set(err, MX_ENOMEM, "out of memory for offline sessions");
    }
    /* what Redis would hold at the cut: the events of the last hours */
    for (size_t u = 0; u < n_users; u++)
        s->last[u] = cut - 1;
#define IN_SESSION(e) (ev[e].ts < cut && ev[e].user < n_users && ev[e].ts >= cut - span)
    size_t k = 0;
    for (size_t e = 0; e < n; e++)
        k += IN_SESSION(e);
    ds_event *tmp = malloc((k ? k : 1) * sizeof(ds_event));
    s->ev = malloc((k ? k : 1) * sizeof(feat_event));
    if (!tmp || !s->ev) {
        free(tmp);
        rkt_sessions_free(s);
        return mx_err_set(err, MX_ENOMEM, "out of memory for offline sessions");
    }
    k = 0;
    for (size_t e = 0; e < n; e++)
        if (IN_SESSION(e)) tmp[k++] = ev[e];
#undef IN_SESSION
    qsort(tmp, k, sizeof(ds_event), by_user_ts);
    /* the newest RKT_MAX_SESSION events of each user */
    size_t w = 0;
    for (size_t e = 0; e < k; e++) {
        size_t end = e;
        while (end < k && tmp[end].user == tmp[e].user)
            end++;
        size_t from = end - e > RKT_MAX_SESSION ? end - RKT_MAX_SESSION : e;
        for (size_t j = from; j < end; j++) {
            s->ev[w++] = (feat_event){.item = tmp[j].item, .ts = tmp[j].ts, .weight = 1.0f};
            s->ptr[tmp[j].user + 1]++;
        }
        e = end - 1;
    }
    for (size_t u = 0; u < n_users; u++)
        s->ptr[u + 1] += s->ptr[u];
    free(tmp);
    *out = s;
    return 0;
}

const feat_event *rkt_session(const rkt_sessions *s, uint32_t user, size_t *n, int64_t *now) {
    *n = s->ptr[user + 1] - s->ptr[user];
    if (now) *now = s->last[user];
    return *n ? s->ev + s->ptr[user] : NULL;
}

void rkt_sessions_free(rkt_sessions *s) {
    if (!s) return;
    free(s->ptr);
    free(s->ev);
    free(s->last);
    free(s);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The ranker's manifest entry. */
static json_t *ranker_info(const rank_params *p, const rkt_report *r) {
    json_t *names = json_array(), *imp = json_object();
    for (int f = 0; f < FEAT_N; f++) {
        json_array_append_new(names, json_string(feat_name(f)));
        json_object_set_new(imp, feat_name(f), json_real(r->xgb.importance[f]));
    }
    json_t *o = json_pack(
        "{s:o,s:s,s:I,s:I,s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I}}", "features", names, "objective",
        p->objective == RANK_OBJ_PAIRWISE ? "rank:pairwise" : "rank:ndcg", "rounds",
        (json_int_t)r->xgb.rounds, "pool", (json_int_t)p->pool, "importance_total_gain", imp,
        "examples", "cut", (json_int_t)r->cut, "early_events", (json_int_t)r->early_events,
        "users_train", (json_int_t)r->users_train, "users_valid", (json_int_t)r->users_valid,
        "rows", (json_int_t)r->rows, "positives", (json_int_t)r->positives);
    if (o) {
        static const char *const on[] = {"temporal", "slates", "slates+temporal"};
        json_object_set_new(o, "trained_on", json_string(on[r->on_slates]));
        const slt_report *s = &r->slates;
        if (r->on_slates)
            json_object_set_new(
                o, "slates",
                json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "read", (json_int_t)s->read, "used",
                          (json_int_t)s->used, "engaged", (json_int_t)s->engaged, "after_training",
                          (json_int_t)s->after_training, "unknown_users",
                          (json_int_t)s->unknown_users, "unknown_items",
                          (json_int_t)s->unknown_items, "not_in_pool", (json_int_t)s->not_in_pool));
        else if (r->slates_why[0])
            json_object_set_new(o, "slates_not_used", json_string(r->slates_why));
        json_object_set_new(o, "valid_ndcg10_first",
                            isfinite(r->xgb.valid_first) ? json_real(r->xgb.valid_first)
                                                         : json_null());
        json_object_set_new(o, "valid_ndcg10_best",
                            isfinite(r->xgb.valid_best) ? json_real(r->xgb.valid_best)
                                                        : json_null());
    }
    return o;
}

/* Everything rkt_fit holds between its steps; fit_free releases it. */
typedef struct fit {
    const ds_dataset *ds;
    const rank_params *rp;
    size_t nu, pool; /* pool: candidates each source fetches */
    size_t stride;   /* rows per user: the largest pool (x RET_N_SOURCES with pool_union) */
    rkt_report *rep;
    mx_err *err;
    ds_event *early_ev, *late;
    size_t n_early, n_late;
    mx_model *early;
    rkt_sessions *sess;
    uint64_t *late_ptr;    /* nu + 1 */
    uint32_t *late_items;  /* each user's items after the cut, sorted */
    uint32_t *users;       /* the sampled users */
    size_t n_cand;         /* their count */
    float *x, *label;      /* n_cand x stride rows of examples */
    size_t *rows_of;       /* rows kept per sampled user (0: no positive) */
    float *vx, *vl;        /* validation rows */
    unsigned *groups, *vg; /* rows per user: training, validation */
} fit;

static void fit_free(fit *f) {
    model_free(f->early);
    rkt_sessions_free(f->sess);
    free(f->early_ev);
    free(f->late);
    free(f->late_ptr);
    free(f->late_items);
    free(f->users);
    free(f->x);
    free(f->label);
    free(f->rows_of);
    free(f->groups);
    free(f->vx);
    free(f->vl);
    free(f->vg);
}

static int fit_oom(fit *f) {
    return mx_err_set(f->err, MX_ENOMEM, "ranker: out of memory");
}

/* 1. The cut, and the events on each side of it. *spans = 0 when one side
 * is empty. */
static int fit_cut(fit *f, const ds_event *train, size_t n_train, int *spans) {
    rkt_report *rep = f->rep;
    int64_t *ts = malloc((n_train ? n_train : 1) * sizeof(int64_t));
    if (!ts) return mx_err_set(f->err, MX_ENOMEM, "out of memory for the ranker's cut");
    for (size_t e = 0; e < n_train; e++)
        ts[e] = train[e].ts;
    qsort(ts, n_train, sizeof(int64_t), cmp_i64);
    size_t at = (size_t)((double)n_train * (1.0 - f->rp->label_frac));
    rep->cut = n_train ? ts[at < n_train ? at : n_train - 1] : 0;
    free(ts);
    size_t n_early = 0;
    for (size_t e = 0; e < n_train; e++)
        n_early += train[e].ts < rep->cut;
    size_t n_late = n_train - n_early;
    rep->early_events = n_early;
    *spans = n_early > 0 && n_late > 0;
    if (!*spans) { /* no ranker, and why: a result, not an error */
        snprintf(rep->why, sizeof(rep->why),
                 "ranker not trained: the training events do not span a cut (%zu before, %zu "
                 "after); bring more history, or set rank_train.enabled=0",
                 n_early, n_late);
        return 0;
    }
    f->early_ev = malloc(n_early * sizeof(ds_event));
    f->late = malloc(n_late * sizeof(ds_event));
    f->late_ptr = calloc(f->nu + 1, sizeof(uint64_t));
    f->late_items = malloc(n_late * sizeof(uint32_t));
    if (!f->early_ev || !f->late || !f->late_ptr || !f->late_items) return fit_oom(f);
    for (size_t e = 0; e < n_train; e++) {
        if (train[e].ts < rep->cut)
            f->early_ev[f->n_early++] = train[e];
        else
            f->late[f->n_late++] = train[e];
    }
    return 0;
}

/* 2. The early model and the offline sessions at the cut. */
static int fit_early_model(fit *f, const bcfg *cfg, const pipe_inputs *in) {
    int rc = pipe_build(f->ds, f->early_ev, f->n_early, cfg, in, &f->early, NULL, f->err);
    if (rc) {
        mx_err_prefix(f->err, "ranker: building the model before the cut");
        return rc;
    }
    rc = rkt_sessions_new(f->early_ev, f->n_early, f->nu, f->rep->cut, f->rp->session_hours,
                          &f->sess, f->err);
    free(f->early_ev);
    f->early_ev = NULL;
    return rc;
}

/* Labels: each user's items after the cut, sorted. */
static int fit_labels(fit *f) {
    size_t nu = f->nu;
    for (size_t e = 0; e < f->n_late; e++)
        f->late_ptr[f->late[e].user + 1]++;
    for (size_t u = 0; u < nu; u++)
        f->late_ptr[u + 1] += f->late_ptr[u];
    uint64_t *fill = malloc((nu ? nu : 1) * sizeof(uint64_t));
    if (!fill) return fit_oom(f);
    memcpy(fill, f->late_ptr, nu * sizeof(uint64_t));
    for (size_t e = 0; e < f->n_late; e++)
        f->late_items[fill[f->late[e].user]++] = f->late[e].item;
    free(fill);
    for (size_t u = 0; u < nu; u++)
        qsort(f->late_items + f->late_ptr[u], f->late_ptr[u + 1] - f->late_ptr[u], sizeof(uint32_t),
              cmp_u32);
    free(f->late);
    f->late = NULL;
    return 0;
}

/* 3. Users with events on both sides, a deterministic sample. */
static int fit_sample_users(fit *f) {
    size_t nu = f->nu, n_cand = 0, max = f->rp->max_users;
    f->users = malloc((nu ? nu : 1) * sizeof(uint32_t));
    if (!f->users) return fit_oom(f);
    for (size_t u = 0; u < nu; u++)
        if (f->late_ptr[u + 1] > f->late_ptr[u] &&
            f->early->seen_ptr[u + 1] > f->early->seen_ptr[u])
            f->users[n_cand++] = (uint32_t)u;
    if (n_cand > max) { /* every n-th, like evaluate's sample */
        double step = (double)n_cand / (double)max;
        for (size_t j = 0; j < max; j++)
            f->users[j] = f->users[(size_t)((double)j * step)];
        n_cand = max;
    }
    f->n_cand = n_cand;
    return 0;
}

/* One sampled user's pool from the early model, labelled; rows_of[j] = 0
 * when no candidate is a later item (no ranking signal). */
static int fit_user_examples(fit *f, rec_ctx *ctx, const rec_params *prm, size_t j) {
    size_t pool = f->pool, stride = f->stride;
    uint32_t u = f->users[j];
    size_t ns = 0;
    int64_t now = 0;
    const feat_event *se = rkt_session(f->sess, u, &ns, &now);
    rec_query q = {.user = u, .events = se, .n_events = ns, .k = pool, .now = now};
    const ret_cand *cands = NULL;
    const float *fx = NULL;
    size_t n = 0;
    if (rec_candidates(ctx, prm, &q, pool, &cands, &fx, &n, NULL)) return -1;
    const uint32_t *li = f->late_items + f->late_ptr[u];
    size_t nl = f->late_ptr[u + 1] - f->late_ptr[u], pos = 0;
    for (size_t i = 0; i < n; i++) {
        float y = bsearch(&cands[i].item, li, nl, sizeof(uint32_t), cmp_u32) ? 1.0f : 0;
        f->label[j * stride + i] = y;
        pos += y > 0;
    }
    memcpy(f->x + j * stride * FEAT_N, fx, n * FEAT_N * sizeof(float));
    f->rows_of[j] = pos > 0 ? n : 0;
    return 0;
}

/* The examples of every sampled user, in parallel. */
static int fit_examples(fit *f) {
    size_t n = f->n_cand ? f->n_cand : 1;
    f->x = malloc(n * f->stride * FEAT_N * sizeof(float));
    f->label = malloc(n * f->stride * sizeof(float));
    f->rows_of = calloc(n, sizeof(size_t));
    if (!f->x || !f->label || !f->rows_of) return fit_oom(f);
    int failed = 0;
#pragma omp parallel
    {
        rec_ctx *ctx = rec_ctx_new(f->early, f->pool);
        rec_params prm;
        rec_params_init(&prm);
        if (!ctx) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 16)
        for (size_t j = 0; j < f->n_cand; j++) {
            if (!ctx) continue;
            if (fit_user_examples(f, ctx, &prm, j)) {
#pragma omp atomic write
                failed = 1;
            }
        }
        rec_ctx_free(ctx);
    }
    if (failed) return mx_err_set(f->err, MX_ENOMEM, "ranker: out of memory computing examples");
    return 0;
}

/* 4. Training and validation groups (by a hash of the user), compacted in
 * user order: training rows in place in x/label, validation rows in
 * vx/vl. */
static int fit_groups(fit *f, rkx_data *dt, rkx_data *dv) {
    size_t n = f->n_cand ? f->n_cand : 1, pool = f->stride;
    f->groups = malloc(n * sizeof(unsigned));
    f->vx = malloc(n * pool * FEAT_N * sizeof(float));
    f->vl = malloc(n * pool * sizeof(float));
    f->vg = malloc(n * sizeof(unsigned));
    if (!f->groups || !f->vx || !f->vl || !f->vg) return fit_oom(f);
    size_t tr_rows = 0, va_rows = 0, tr_g = 0, va_g = 0;
    for (size_t j = 0; j < f->n_cand; j++) {
        size_t r = f->rows_of[j];
        if (r == 0) continue;
        for (size_t i = 0; i < r; i++)
            f->rep->positives += f->label[j * pool + i] > 0;
        uint64_t hs = f->users[j], h = rng__splitmix(&hs);
        int is_valid = (double)(h >> 11) / 9007199254740992.0 < f->rp->valid_frac;
        const float *src_x = f->x + j * pool * FEAT_N, *src_l = f->label + j * pool;
        if (is_valid) {
            memcpy(f->vx + va_rows * FEAT_N, src_x, r * FEAT_N * sizeof(float));
            memcpy(f->vl + va_rows, src_l, r * sizeof(float));
            va_rows += r;
            f->vg[va_g++] = (unsigned)r;
        } else {
            memmove(f->x + tr_rows * FEAT_N, src_x, r * FEAT_N * sizeof(float));
            memmove(f->label + tr_rows, src_l, r * sizeof(float));
            tr_rows += r;
            f->groups[tr_g++] = (unsigned)r;
        }
    }
    *dt = (rkx_data){f->x, f->label, f->groups, tr_rows, tr_g};
    *dv = (rkx_data){f->vx, f->vl, f->vg, va_rows, va_g};
    f->rep->users_train = tr_g;
    f->rep->users_valid = va_g;
    f->rep->rows = tr_rows + va_rows;
    return 0;
}

/* 5. XGBoost, and the result with its manifest entry. */
static int fit_xgboost(fit *f, const rkx_data *dt, const rkx_data *dv, rkt_ranker *out) {
    const char *names[FEAT_N];
    for (int i = 0; i < FEAT_N; i++)
        names[i] = feat_name(i);
    char *json = NULL;
    size_t len = 0;
    double t2 = pipe_now();
    int rc = rkx_train(dt, dv, FEAT_N, names, f->rp, &json, &len, &f->rep->xgb, f->err);
    f->rep->seconds_xgboost = pipe_now() - t2;
    if (rc) return rc;
    out->info = ranker_info(f->rp, f->rep);
    if (!out->info) {
        free(json);
        return fit_oom(f);
    }
    out->json = json;
    out->len = len;
    f->rep->trained = 1;
    return 0;
}

/* The ranker from logged slates (slate_train.h) when there are enough;
 * else rep->slates_why says why and the caller goes on with the temporal
 * split. With rank_train.slates_mix the slates' examples go to *mix
 * instead, for the temporal path to add to its own. */
static int fit_slates(fit *f, const ds_event *train, size_t n_train, const bcfg *cfg,
                      const pipe_inputs *in, rkt_ranker *out, slt_data *mix) {
    rkt_report *rep = f->rep;
    slt_data sd;
    int enough = 0;
    double t0 = pipe_now();
    int rc = slt_examples(f->ds, train, n_train, cfg, in, RKT_MIN_VALID_USERS, &sd, &enough,
                          rep->slates_why, sizeof(rep->slates_why), &rep->slates, f->err);
    if (rc || !enough) return rc;
    rep->seconds_examples = pipe_now() - t0;
    if (f->rp->slates_mix) {
        rep->on_slates = 2;
        *mix = sd;
        return 0;
    }
    rep->on_slates = 1;
    rep->cut = rep->slates.first_ts;
    rep->early_events = rep->slates.early_events;
    rep->users_train = sd.train.n_groups;
    rep->users_valid = sd.valid.n_groups;
    rep->rows = sd.rows;
    rep->positives = sd.positives;
    rc = fit_xgboost(f, &sd.train, &sd.valid, out);
    slt_data_free(&sd);
    return rc;
}

/* a ++ b into arrays of owner (x, y, g: one set), *out a view of them. */
static int concat(const rkx_data *a, const rkx_data *b, float **x, float **y, unsigned **g,
                  rkx_data *out) {
    size_t rows = a->n_rows + b->n_rows, groups = a->n_groups + b->n_groups;
    *x = malloc((rows + 1) * FEAT_N * sizeof(float));
    *y = malloc((rows + 1) * sizeof(float));
    *g = malloc((groups + 1) * sizeof(unsigned));
    if (!*x || !*y || !*g) return -1;
    memcpy(*x, a->x, a->n_rows * FEAT_N * sizeof(float));
    memcpy(*x + a->n_rows * FEAT_N, b->x, b->n_rows * FEAT_N * sizeof(float));
    memcpy(*y, a->label, a->n_rows * sizeof(float));
    memcpy(*y + a->n_rows, b->label, b->n_rows * sizeof(float));
    memcpy(*g, a->groups, a->n_groups * sizeof(unsigned));
    memcpy(*g + a->n_groups, b->groups, b->n_groups * sizeof(unsigned));
    *out = (rkx_data){*x, *y, *g, rows, groups};
    return 0;
}

/* rank_train.slates_mix: the temporal examples plus the slates' (sd), in
 * mix's arrays; the report counts both. */
static int fit_mix(fit *f, rkx_data *dt, rkx_data *dv, const slt_data *sd, slt_data *mix) {
    rkx_data t, v;
    if (concat(dt, &sd->train, &mix->x, &mix->y, &mix->g, &t) ||
        concat(dv, &sd->valid, &mix->vx, &mix->vy, &mix->vg, &v))
        return fit_oom(f);
    *dt = t;
    *dv = v;
    f->rep->users_train = t.n_groups;
    f->rep->users_valid = v.n_groups;
    f->rep->rows += sd->rows;
    f->rep->positives += sd->positives;
    return 0;
}

static int rkt_fit(const ds_dataset *ds, const ds_event *train, size_t n_train, const bcfg *cfg_in,
                   const pipe_inputs *in, rkt_ranker *out, rkt_report *rep, mx_err *err) {
    memset(out, 0, sizeof(*out));
    memset(rep, 0, sizeof(*rep));
    fit f = {.ds = ds, .rp = &cfg_in->ranker, .rep = rep, .err = err};
    f.nu = ds_n_users(ds);
    f.pool = f.rp->pool;
    f.stride = f.pool * (cfg_in->retrieval.pool_union ? RET_N_SOURCES : 1);
    double t0 = pipe_now();
    slt_data sd = {0}, mix = {0};
    if (in && in->impressions) {
        int rc = fit_slates(&f, train, n_train, cfg_in, in, out, &sd);
        if (rc || rep->on_slates == 1) return rc;
    }
    int spans = 0, rc = fit_cut(&f, train, n_train, &spans);
    if (rc || !spans) goto done;
    if ((rc = fit_early_model(&f, cfg_in, in))) goto done;
    rep->seconds_early_model = pipe_now() - t0;
    double t1 = pipe_now();
    if ((rc = fit_labels(&f)) || (rc = fit_sample_users(&f)) || (rc = fit_examples(&f))) goto done;
    rep->seconds_examples = pipe_now() - t1;
    rkx_data dt, dv;
    if ((rc = fit_groups(&f, &dt, &dv))) goto done;
    /* no ranker, and why: a tree ensemble fitted to a handful of users, or
     * stopped early on a handful of validation users, ranks worse than
     * retrieval order does */
    if (dt.n_groups < RKT_MIN_TRAIN_USERS ||
        (f.rp->valid_frac > 0 && dv.n_groups < RKT_MIN_VALID_USERS)) {
        snprintf(rep->why, sizeof(rep->why),
                 "ranker not trained: %zu training and %zu validation users found a later item "
                 "in their pool (needs %d and %d; %zu user%s events on both sides of the cut)",
                 dt.n_groups, dv.n_groups, RKT_MIN_TRAIN_USERS,
                 f.rp->valid_frac > 0 ? RKT_MIN_VALID_USERS : 0, f.n_cand,
                 f.n_cand == 1 ? " has" : "s have");
        goto done;
    }
    if (rep->on_slates == 2 && (rc = fit_mix(&f, &dt, &dv, &sd, &mix))) goto done;
    rc = fit_xgboost(&f, &dt, &dv, out);
done:
    fit_free(&f);
    slt_data_free(&sd);
    slt_data_free(&mix);
    return rc;
}

static int rkt_attach(mx_model *m, rkt_ranker *r, mx_err *err) {
    int rc = model_set_ranker(m, r->json, r->len, r->info, err);
    r->info = NULL; /* stolen */
    rkt_ranker_free(r);
    if (!rc && !model_has_ranker(m)) /* cannot happen with this build's own features */
        rc = mx_err_set(err, MX_EFORMAT, "ranker: %s", m->ranker_status);
    return rc;
}

static void rkt_ranker_free(rkt_ranker *r) {
    free(r->json);
    json_decref(r->info);
    memset(r, 0, sizeof(*r));
}

/* The fitted ranker onto m, or m's status saying why there is none. */
static int attach_or_explain(mx_model *m, rkt_ranker *r, const rkt_report *rep, mx_err *err) {
    if (rep->trained) return rkt_attach(m, r, err);
    snprintf(m->ranker_status, sizeof(m->ranker_status), "absent: %.200s", rep->why);
    model_warn(m, "%.200s; the model serves in retrieval order", rep->why);
    return 0;
}

int rkt_train(const ds_dataset *ds, const ds_event *train, size_t n_train, mx_model *m,
              rkt_report *rep, mx_err *err) {
    rkt_ranker r;
    int rc = rkt_fit(ds, train, n_train, &m->cfg, NULL, &r, rep, err);
    return rc ? rc : attach_or_explain(m, &r, rep, err);
}

int rkt_build(const ds_dataset *ds, const ds_event *train, size_t n_train, const bcfg *cfg,
              const pipe_inputs *in, mx_model **out, pipe_timings *t, rkt_report *rep,
              mx_err *err) {
    *out = NULL;
    memset(rep, 0, sizeof(*rep));
    rkt_ranker r = {0};
    int rc;
    if (cfg->ranker.enabled && (rc = rkt_fit(ds, train, n_train, cfg, in, &r, rep, err))) {
        rep->failed = 1;
        return rc;
    }
    mx_model *m = NULL;
    if ((rc = pipe_build(ds, train, n_train, cfg, in, &m, t, err))) {
        rkt_ranker_free(&r);
        return rc;
    }
    if (cfg->ranker.enabled && (rc = attach_or_explain(m, &r, rep, err))) {
        model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

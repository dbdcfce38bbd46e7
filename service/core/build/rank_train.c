/* rank_train.c - see rank_train.h. */
#include "rank_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pipeline.h"
#include "recommend.h"
#include "rng.h"

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
        json_object_set_new(o, "valid_ndcg10_first",
                            isfinite(r->xgb.valid_first) ? json_real(r->xgb.valid_first)
                                                         : json_null());
        json_object_set_new(o, "valid_ndcg10_best",
                            isfinite(r->xgb.valid_best) ? json_real(r->xgb.valid_best)
                                                        : json_null());
    }
    return o;
}

int rkt_fit(const ds_dataset *ds, const ds_event *train, size_t n_train, const bcfg *cfg_in,
            const pipe_inputs *in, rkt_ranker *out, rkt_report *rep, mx_err *err) {
    memset(out, 0, sizeof(*out));
    memset(rep, 0, sizeof(*rep));
    const rank_params *rp = &cfg_in->ranker;
    size_t nu = ds_n_users(ds), pool = rp->pool;
    int rc = 0;
    double t0 = pipe_now();
    mx_model *early = NULL;
    rkt_sessions *sess = NULL;
    ds_event *late = NULL, *early_ev = NULL;
    uint64_t *late_ptr = NULL;
    uint32_t *late_items = NULL, *users = NULL;
    float *x = NULL, *label = NULL;
    size_t *rows_of = NULL;
    unsigned *groups = NULL;
    char *json = NULL;

    /* 1. the cut */
    int64_t *ts = malloc((n_train ? n_train : 1) * sizeof(int64_t));
    if (!ts) return mx_err_set(err, MX_ENOMEM, "out of memory for the ranker's cut");
    for (size_t e = 0; e < n_train; e++)
        ts[e] = train[e].ts;
    qsort(ts, n_train, sizeof(int64_t), cmp_i64);
    size_t at = (size_t)((double)n_train * (1.0 - rp->label_frac));
    rep->cut = n_train ? ts[at < n_train ? at : n_train - 1] : 0;
    free(ts);
    size_t n_early = 0, n_late = 0;
    for (size_t e = 0; e < n_train; e++)
        n_early += train[e].ts < rep->cut;
    n_late = n_train - n_early;
    rep->early_events = n_early;
    if (n_early == 0 || n_late == 0) {
        rc = mx_err_set(err, MX_EINVAL,
                        "ranker: the training events do not span a cut (%zu before, %zu after); "
                        "set ranker.enabled=0 or bring more history",
                        n_early, n_late);
        goto done;
    }
    early_ev = malloc(n_early * sizeof(ds_event));
    late = malloc(n_late * sizeof(ds_event));
    late_ptr = calloc(nu + 1, sizeof(uint64_t));
    late_items = malloc(n_late * sizeof(uint32_t));
    if (!early_ev || !late || !late_ptr || !late_items) goto oom;
    n_early = n_late = 0;
    for (size_t e = 0; e < n_train; e++) {
        if (train[e].ts < rep->cut)
            early_ev[n_early++] = train[e];
        else
            late[n_late++] = train[e];
    }

    /* 2. the early model */
    if ((rc = pipe_build(ds, early_ev, n_early, cfg_in, in, &early, NULL, err))) {
        mx_err_prefix(err, "ranker: building the model before the cut");
        goto done;
    }
    if ((rc = rkt_sessions_new(early_ev, n_early, nu, rep->cut, rp->session_hours, &sess, err)))
        goto done;
    free(early_ev);
    early_ev = NULL;
    rep->seconds_early_model = pipe_now() - t0;
    double t1 = pipe_now();

    /* Labels: each user's items after the cut, sorted. */
    for (size_t e = 0; e < n_late; e++)
        late_ptr[late[e].user + 1]++;
    for (size_t u = 0; u < nu; u++)
        late_ptr[u + 1] += late_ptr[u];
    {
        uint64_t *fill = malloc((nu ? nu : 1) * sizeof(uint64_t));
        if (!fill) goto oom;
        memcpy(fill, late_ptr, nu * sizeof(uint64_t));
        for (size_t e = 0; e < n_late; e++)
            late_items[fill[late[e].user]++] = late[e].item;
        free(fill);
    }
    for (size_t u = 0; u < nu; u++)
        qsort(late_items + late_ptr[u], late_ptr[u + 1] - late_ptr[u], sizeof(uint32_t), cmp_u32);
    free(late);
    late = NULL;

    /* 3. users with events on both sides, a deterministic sample */
    size_t n_cand = 0;
    users = malloc((nu ? nu : 1) * sizeof(uint32_t));
    if (!users) goto oom;
    for (size_t u = 0; u < nu; u++)
        if (late_ptr[u + 1] > late_ptr[u] && early->seen_ptr[u + 1] > early->seen_ptr[u])
            users[n_cand++] = (uint32_t)u;
    if (n_cand > rp->max_users) { /* every n-th, like evaluate's sample */
        double step = (double)n_cand / (double)rp->max_users;
        for (size_t j = 0; j < rp->max_users; j++)
            users[j] = users[(size_t)((double)j * step)];
        n_cand = rp->max_users;
    }
    x = malloc((n_cand ? n_cand : 1) * pool * FEAT_N * sizeof(float));
    label = malloc((n_cand ? n_cand : 1) * pool * sizeof(float));
    rows_of = calloc(n_cand ? n_cand : 1, sizeof(size_t));
    if (!x || !label || !rows_of) goto oom;
    int failed = 0;
#pragma omp parallel
    {
        rec_ctx *rc_ctx = rec_ctx_new(early, pool);
        rec_params prm;
        rec_params_init(&prm);
        if (!rc_ctx) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 16)
        for (size_t j = 0; j < n_cand; j++) {
            if (!rc_ctx) continue;
            uint32_t u = users[j];
            size_t ns = 0;
            int64_t now = 0;
            const feat_event *se = rkt_session(sess, u, &ns, &now);
            rec_query q = {.user = u, .events = se, .n_events = ns, .k = pool, .now = now};
            const ret_cand *cands = NULL;
            const float *fx = NULL;
            size_t n = 0;
            if (rec_candidates(rc_ctx, &prm, &q, pool, &cands, &fx, &n, NULL)) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            const uint32_t *li = late_items + late_ptr[u];
            size_t nl = late_ptr[u + 1] - late_ptr[u], pos = 0;
            for (size_t i = 0; i < n; i++) {
                float y = bsearch(&cands[i].item, li, nl, sizeof(uint32_t), cmp_u32) ? 1.0f : 0;
                label[j * pool + i] = y;
                pos += y > 0;
            }
            memcpy(x + j * pool * FEAT_N, fx, n * FEAT_N * sizeof(float));
            rows_of[j] = pos > 0 ? n : 0; /* no positive: no ranking signal */
        }
        rec_ctx_free(rc_ctx);
    }
    if (failed) {
        rc = mx_err_set(err, MX_ENOMEM, "ranker: out of memory computing examples");
        goto done;
    }
    rep->seconds_examples = pipe_now() - t1;

    /* 4. training / validation groups, compacted in user order */
    groups = malloc((n_cand ? n_cand : 1) * sizeof(unsigned));
    if (!groups) goto oom;
    float *vx = malloc((n_cand ? n_cand : 1) * pool * FEAT_N * sizeof(float));
    float *vl = malloc((n_cand ? n_cand : 1) * pool * sizeof(float));
    unsigned *vg = malloc((n_cand ? n_cand : 1) * sizeof(unsigned));
    if (!vx || !vl || !vg) {
        free(vx);
        free(vl);
        free(vg);
        goto oom;
    }
    size_t tr_rows = 0, va_rows = 0, tr_g = 0, va_g = 0;
    for (size_t j = 0; j < n_cand; j++) {
        size_t n = rows_of[j];
        if (n == 0) continue;
        for (size_t i = 0; i < n; i++)
            rep->positives += label[j * pool + i] > 0;
        uint64_t hs = users[j], h = rng__splitmix(&hs);
        int is_valid = (double)(h >> 11) / 9007199254740992.0 < rp->valid_frac;
        if (is_valid) {
            memcpy(vx + va_rows * FEAT_N, x + j * pool * FEAT_N, n * FEAT_N * sizeof(float));
            memcpy(vl + va_rows, label + j * pool, n * sizeof(float));
            va_rows += n;
            vg[va_g++] = (unsigned)n;
        } else {
            memmove(x + tr_rows * FEAT_N, x + j * pool * FEAT_N, n * FEAT_N * sizeof(float));
            memmove(label + tr_rows, label + j * pool, n * sizeof(float));
            tr_rows += n;
            groups[tr_g++] = (unsigned)n;
        }
    }
    if (tr_g == 0) {
        rc = mx_err_set(err, MX_EINVAL,
                        "ranker: no training user found a later item in their pool (%zu users "
                        "with events on both sides of the cut)",
                        n_cand);
        free(vx);
        free(vl);
        free(vg);
        goto done;
    }
    rep->users_train = tr_g;
    rep->users_valid = va_g;
    rep->rows = tr_rows + va_rows;
    double t2 = pipe_now();
    const char *names[FEAT_N];
    for (int f = 0; f < FEAT_N; f++)
        names[f] = feat_name(f);
    rkx_data dt = {x, label, groups, tr_rows, tr_g}, dv = {vx, vl, vg, va_rows, va_g};
    size_t len = 0;
    rc = rkx_train(&dt, &dv, FEAT_N, names, rp, &json, &len, &rep->xgb, err);
    free(vx);
    free(vl);
    free(vg);
    rep->seconds_xgboost = pipe_now() - t2;
    if (rc) goto done;

    /* 5. the result */
    out->info = ranker_info(rp, rep);
    if (!out->info) goto oom;
    out->json = json;
    out->len = len;
    json = NULL;
    goto done;
oom:
    rc = mx_err_set(err, MX_ENOMEM, "ranker: out of memory");
done:
    model_free(early);
    rkt_sessions_free(sess);
    free(early_ev);
    free(late);
    free(late_ptr);
    free(late_items);
    free(users);
    free(x);
    free(label);
    free(rows_of);
    free(groups);
    free(json);
    return rc;
}

int rkt_attach(mx_model *m, rkt_ranker *r, mx_err *err) {
    int rc = model_set_ranker(m, r->json, r->len, r->info, err);
    r->info = NULL; /* stolen */
    rkt_ranker_free(r);
    if (!rc && !model_has_ranker(m)) /* cannot happen with this build's own features */
        rc = mx_err_set(err, MX_EFORMAT, "ranker: %s", m->ranker_status);
    return rc;
}

void rkt_ranker_free(rkt_ranker *r) {
    free(r->json);
    json_decref(r->info);
    memset(r, 0, sizeof(*r));
}

int rkt_train(const ds_dataset *ds, const ds_event *train, size_t n_train, mx_model *m,
              rkt_report *rep, mx_err *err) {
    rkt_ranker r;
    int rc = rkt_fit(ds, train, n_train, &m->cfg, NULL, &r, rep, err);
    return rc ? rc : rkt_attach(m, &r, err);
}

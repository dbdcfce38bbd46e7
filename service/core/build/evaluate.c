/* evaluate.c - see evaluate.h. */
#include "evaluate.h"

#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "recommend.h"
#include "retrieve.h"

const char *evl_method_name(int method) {
    static const char *names[] = {"popular", "single", "mixture_unsmoothed", "mixture", "blend",
                                  "pool",    "ranked"};
    return method >= 0 && method < EVL_N_METHODS ? names[method] : "unknown";
}

typedef struct {
    uint32_t user;
    size_t beg, end; /* test events */
} test_user;

/* Scratch of one thread. */
typedef struct {
    ret_ctx *ret;
    ret_cand *cand;  /* kmax x RET_N_SOURCES */
    rec_ctx *rec;    /* with a ranker */
    rec_item *items; /* kmax, with a ranker */
} evl_scratch;

/* One method's ranked list for user u into out (capacity k x
 * RET_N_SOURCES). */
static int rank_one(const mx_model *m, evl_scratch *sc, const rkt_sessions *sess, int method,
                    uint32_t u, size_t k, uint32_t *out, size_t *n, mx_err *err) {
    ret_ctx *ctx = sc->ret;
    ret_cand *cand = sc->cand;
    if (method == EVL_RANKED) { /* the service's own path */
        rec_params p;
        rec_params_init(&p);
        rec_query q = {.user = u, .k = k, .now = m->t_ref};
        if (sess) {
            int64_t now = 0;
            q.events = rkt_session(sess, u, &q.n_events, &now);
            if (q.n_events) q.now = now;
        }
        int rc = rec_recommend(sc->rec, &p, &q, sc->items, n, err);
        for (size_t i = 0; i < *n; i++)
            out[i] = sc->items[i].item;
        return rc;
    }
    const uint32_t *seen = m->seen_items + m->seen_ptr[u];
    size_t n_seen = m->seen_ptr[u + 1] - m->seen_ptr[u];
    const float *q = m->user_vecs + (size_t)u * m->dim;
    const mix_table *mt = method == EVL_MIXTURE_UNSMOOTHED ? &m->mix_raw : &m->mix;
    const uint32_t *cid = mt->cid + (size_t)u * mt->m;
    const float *w = mt->w + (size_t)u * mt->m;
    size_t mlen = mt->len[u];
    ret_params p_fused = m->cfg.retrieval;
    p_fused.pool_union = 0; /* the blend method: the fused top K */
    const ret_params *p = &m->cfg.retrieval;
    size_t got = 0;
    int rc = 0;
    ret_begin(ctx, seen, n_seen, 0);
    switch (method) {
    case EVL_POPULAR:
        rc = ret_popular(ctx, &m->pop, k, cand, &got);
        break;
    case EVL_SINGLE:
        rc = ret_single(ctx, m->index, q, k, p, cand, &got, err);
        break;
    case EVL_MIXTURE_UNSMOOTHED:
    case EVL_MIXTURE:
        rc = ret_mixture(ctx, m->index, q, cid, w, mlen, k, p, cand, &got, err);
        break;
    case EVL_BLEND:
        rc = ret_blend(ctx, m->index, &m->pop, q, cid, w, mlen, k, &p_fused, cand, &got, err);
        break;
    case EVL_POOL:
        rc = ret_blend(ctx, m->index, &m->pop, q, cid, w, mlen, k, p, cand, &got, err);
        break;
    }
    for (size_t i = 0; i < got; i++)
        out[i] = cand[i].item;
    *n = got;
    return rc;
}

/* Test events grouped by user (a deterministic sample of max_users when
 * set); *out owned by the caller. */
static int group_test_users(const ds_event *test, size_t n_test, size_t max_users, test_user **out,
                            size_t *n_out, mx_err *err) {
    size_t n_users = 0;
    for (size_t e = 0; e < n_test; e++)
        n_users += e == 0 || test[e].user != test[e - 1].user;
    test_user *tu = malloc((n_users ? n_users : 1) * sizeof(test_user));
    if (!tu) return mx_err_set(err, MX_ENOMEM, "out of memory for test users");
    size_t j = 0;
    for (size_t e = 0; e < n_test; e++) {
        if (e == 0 || test[e].user != test[e - 1].user) tu[j++] = (test_user){test[e].user, e, e};
        tu[j - 1].end = e + 1;
    }
    if (max_users && n_users > max_users) {
        double step = (double)n_users / (double)max_users;
        for (size_t i = 0; i < max_users; i++)
            tu[i] = tu[(size_t)(i * step)];
        n_users = max_users;
    }
    *out = tu;
    *n_out = n_users;
    return 0;
}

/* Where a list lives: every (user, cut-off) has kmax entries per method
 * and RET_N_SOURCES x kmax for the pool (a union), so the lists take
 * (EVL_N_METHODS - 1 + RET_N_SOURCES) x kmax per (user, cut-off), not
 * RET_N_SOURCES times the whole. */
#define EVL_LIST_WIDTH (EVL_N_METHODS - 1 + RET_N_SOURCES)
static size_t list_offset(size_t i, int meth, size_t ki, size_t n_ks, size_t kmax) {
    size_t before = (size_t)meth + (meth > EVL_POOL ? RET_N_SOURCES - 1 : 0);
    return ((i * n_ks + ki) * EVL_LIST_WIDTH + before) * kmax;
}

/* The ranked lists of every (user, method, cut-off), in parallel: list
 * slot (i * EVL_N_METHODS + method) * n_ks + ki at lists + list_offset;
 * secs[method] sums the time of the largest cut-off's lists. */
static int rank_all(const mx_model *m, const rkt_sessions *sessions, const test_user *tu,
                    size_t n_users, const size_t *ks, size_t n_ks, const evl_result *res,
                    uint32_t *lists, size_t *lens, double *secs, mx_err *err) {
    size_t kmax = ks[n_ks - 1], stride = kmax * RET_N_SOURCES;
    int rc = 0;
#pragma omp parallel
    {
        evl_scratch sc = {.ret =
                              ret_ctx_new(m->index, m->item_interest, m->n_items, kmax, m->mix.m),
                          .cand = malloc(stride * sizeof(ret_cand))};
        if (model_has_ranker(m)) {
            sc.rec = rec_ctx_new(m, kmax);
            sc.items = malloc(kmax * sizeof(rec_item));
        }
        int ok = sc.ret && sc.cand && (!model_has_ranker(m) || (sc.rec && sc.items));
        mx_err lerr = {0};
        double lsecs[EVL_N_METHODS] = {0};
        if (!ok) {
#pragma omp critical
            rc = rc ? rc : mx_err_set(err, MX_ENOMEM, "out of memory for retrieval scratch");
        }
#pragma omp for schedule(dynamic, 16)
        for (size_t i = 0; i < n_users; i++) {
            if (!ok || rc) continue;
            for (int meth = 0; meth < EVL_N_METHODS; meth++)
                for (size_t ki = 0; ki < n_ks && res->evaluated[meth]; ki++) {
                    size_t slot = (i * EVL_N_METHODS + (size_t)meth) * n_ks + ki;
                    double ts = pipe_now();
                    int r =
                        rank_one(m, &sc, sessions, meth, tu[i].user, ks[ki],
                                 lists + list_offset(i, meth, ki, n_ks, kmax), &lens[slot], &lerr);
                    if (ki == n_ks - 1) lsecs[meth] += pipe_now() - ts;
                    if (r) {
#pragma omp critical
                        {
                            if (!rc) {
                                rc = r;
                                if (err) *err = lerr;
                            }
                        }
                    }
                }
        }
#pragma omp critical
        for (int meth = 0; meth < EVL_N_METHODS; meth++)
            secs[meth] += lsecs[meth];
        ret_ctx_free(sc.ret);
        rec_ctx_free(sc.rec);
        free(sc.cand);
        free(sc.items);
    }
    return rc;
}

/* One method's summary: each cut-off is scored on its own list; the
 * per-bucket recall@100 comes from the list of budget 100 (or the largest
 * budget when 100 is not among the cut-offs). rel: scratch of n_test. */
static int score_method(const mx_model *m, const ds_dataset *ds, const ds_event *test,
                        const test_user *tu, size_t n_users, const size_t *ks, size_t n_ks,
                        int meth, const uint32_t *lists, const size_t *lens, uint32_t *rel,
                        double *user_score, met_summary *dst, mx_err *err) {
    size_t kmax = ks[n_ks - 1], stride = kmax * RET_N_SOURCES;
    for (size_t ki = 0; ki < n_ks; ki++) {
        /* the pool is a set: scored over all of it */
        size_t cut = meth == EVL_POOL ? stride : ks[ki];
        met_acc *acc = met_new(&cut, 1, m->n_items, m->item_interest, ds);
        if (!acc || !rel) {
            met_free(acc);
            return mx_err_set(err, MX_ENOMEM, "out of memory for metrics");
        }
        for (size_t i = 0; i < n_users; i++) {
            size_t nr = 0;
            for (size_t e = tu[i].beg; e < tu[i].end; e++)
                rel[nr++] = test[e].item;
            size_t slot = (i * EVL_N_METHODS + (size_t)meth) * n_ks + ki;
            uint32_t u = tu[i].user;
            met_add(acc, lists + list_offset(i, meth, ki, n_ks, kmax), lens[slot], rel, nr,
                    m->seen_ptr[u + 1] - m->seen_ptr[u]);
            double r = 0, g = 0;
            if (user_score && ki == 0) user_score[i] = met_last(acc, &r, &g) ? r + g : 0;
        }
        met_summary one;
        met_summarize(acc, &one);
        met_free(acc);
        if (ki == 0) *dst = one, dst->n_ks = n_ks;
        dst->ks[ki] = ks[ki];
        dst->recall[ki] = one.recall[0];
        dst->ndcg[ki] = one.ndcg[0];
        dst->clusters[ki] = one.clusters[0];
        dst->genres[ki] = one.genres[0];
        dst->coverage[ki] = one.coverage[0];
        if (ks[ki] == 100 || (ki == n_ks - 1 && ks[ki] < 100)) {
            memcpy(dst->bucket_recall100, one.bucket_recall100, sizeof(one.bucket_recall100));
            memcpy(dst->bucket_users, one.bucket_users, sizeof(one.bucket_users));
        }
    }
    return 0;
}

int evl_run(const mx_model *m, const ds_dataset *ds, const ds_event *test, size_t n_test,
            const size_t *ks, size_t n_ks, size_t max_users, const rkt_sessions *sessions,
            evl_result *out, mx_err *err) {
    return evl_run_users(m, ds, test, n_test, ks, n_ks, max_users, sessions, NULL, out, err);
}

int evl_run_users(const mx_model *m, const ds_dataset *ds, const ds_event *test, size_t n_test,
                  const size_t *ks, size_t n_ks, size_t max_users, const rkt_sessions *sessions,
                  double *user_score, evl_result *out, mx_err *err) {
    memset(out, 0, sizeof(*out));
    for (int meth = 0; meth < EVL_N_METHODS; meth++)
        out->evaluated[meth] = meth == EVL_RANKED ? model_has_ranker(m)
                               : meth == EVL_POOL ? m->cfg.retrieval.pool_union
                                                  : 1;
    /* kmax sizes every list and the summaries hold MET_MAX_KS cut-offs */
    if (!ks || n_ks == 0 || n_ks > MET_MAX_KS)
        return mx_err_set(err, MX_EINVAL, "evaluation needs 1 to %d cut-offs", MET_MAX_KS);
    for (size_t j = 0; j < n_ks; j++)
        if (ks[j] == 0 || (j > 0 && ks[j] <= ks[j - 1]))
            return mx_err_set(err, MX_EINVAL, "cut-offs must be positive and increasing");
    double t0 = pipe_now();
    size_t kmax = ks[n_ks - 1], n_users = 0;
    test_user *tu = NULL;
    int rc = group_test_users(test, n_test, max_users, &tu, &n_users, err);
    if (rc) return rc;
    /* One list per (user, method, cut-off): every method retrieves with
     * budget K for each K, since the mixture and blend split their budget
     * differently for every K (a top-10 is not the prefix of a top-200). */
    size_t slots = (n_users ? n_users : 1) * EVL_N_METHODS * n_ks;
    uint32_t *lists =
        malloc((n_users ? n_users : 1) * n_ks * EVL_LIST_WIDTH * kmax * sizeof(uint32_t));
    size_t *lens = calloc(slots, sizeof(size_t));
    double *secs = calloc(EVL_N_METHODS, sizeof(double));
    uint32_t *rel = NULL;
    if (!lists || !lens || !secs) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for ranked lists");
        goto done;
    }
    rc = rank_all(m, sessions, tu, n_users, ks, n_ks, out, lists, lens, secs, err);
    rel = malloc((n_test ? n_test : 1) * sizeof(uint32_t));
    int answer = out->evaluated[EVL_RANKED] ? EVL_RANKED : EVL_BLEND;
    for (int meth = 0; !rc && meth < EVL_N_METHODS; meth++) {
        rc = score_method(m, ds, test, tu, n_users, ks, n_ks, meth, lists, lens, rel,
                          meth == answer ? user_score : NULL, &out->method[meth], err);
        if (!rc) out->us_per_query[meth] = n_users ? secs[meth] / (double)n_users * 1e6 : 0;
    }
    for (size_t ki = 0; !rc && ki < n_ks && n_users; ki++) {
        double sum = 0;
        for (size_t i = 0; i < n_users; i++)
            sum += (double)lens[(i * EVL_N_METHODS + EVL_POOL) * n_ks + ki];
        out->pool_size[ki] = sum / (double)n_users;
    }
    out->n_users = n_users;
    out->seconds = pipe_now() - t0;
done:
    free(rel);
    free(tu);
    free(lists);
    free(lens);
    free(secs);
    return rc;
}

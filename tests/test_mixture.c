/* test_mixture.c - kNN-Embed mixtures as mixture.h defines them: top-m
 * rows, raw proportions, the smoothing formula with known neighbours, time
 * decay, the user kNN, and (end to end, through pipe_build) the claim of
 * the method: on a synthetic world with planted multi-interest users the
 * smoothed mixture retrieves more of a user's planted interests than a
 * single user vector does. */
#include "interests.h"
#include "mixture.h"
#include "pipeline.h"
#include "retrieve.h"
#include "rng.h"
#include "synth.h"
#include "tap.h"

#include <inttypes.h>
#include <stdint.h>

static void test_row_from_dense(void) {
    const double dense[] = {0.1, 0.5, 0, 0.2, 0.5, -1, 0.2, NAN};
    uint32_t cid[16];
    float w[16];
    uint8_t len = 99;
    mix_row_from_dense(dense, 8, 3, cid, w, &len);
    ASSERT_EQ(len, 3);
    /* 0.5 (1), 0.5 (4): tie, lower id first; 0.2 (3) beats 0.2 (6) likewise */
    ASSERT_EQ(cid[0], 1);
    ASSERT_EQ(cid[1], 4);
    ASSERT_EQ(cid[2], 3);
    ASSERT_NEAR(w[0], 0.5 / 1.2, 1e-7);
    ASSERT_NEAR(w[1], 0.5 / 1.2, 1e-7);
    ASSERT_NEAR(w[2], 0.2 / 1.2, 1e-7);

    /* room for everything: only positive weights are kept */
    mix_row_from_dense(dense, 8, 10, cid, w, &len);
    ASSERT_EQ(len, 5);
    const uint32_t order[] = {1, 4, 3, 6, 0};
    double sum = 0;
    for (int s = 0; s < 5; s++) {
        ASSERT_EQ(cid[s], order[s]);
        ASSERT_NEAR(w[s], dense[order[s]] / 1.5, 1e-7);
        if (s) ASSERT(w[s] <= w[s - 1]);
        sum += w[s];
    }
    ASSERT_NEAR(sum, 1.0, 1e-6);

    /* m = 1 */
    mix_row_from_dense(dense, 8, 1, cid, w, &len);
    ASSERT_EQ(len, 1);
    ASSERT_EQ(cid[0], 1);
    ASSERT(w[0] == 1.0f);

    /* ascending input exercises the insertion from the end */
    double up[300];
    for (int c = 0; c < 300; c++)
        up[c] = c + 1;
    mix_row_from_dense(up, 300, 4, cid, w, &len);
    ASSERT_EQ(len, 4);
    for (int s = 0; s < 4; s++)
        ASSERT_EQ(cid[s], 299 - s);
    ASSERT_NEAR(w[0], 300.0 / (300 + 299 + 298 + 297), 1e-7);

    /* nothing positive */
    const double zero[4] = {0, 0, -1, 0};
    mix_row_from_dense(zero, 4, 3, cid, w, &len);
    ASSERT_EQ(len, 0);
    TEST_OK("mix_row_from_dense: top m, renormalised, ties by interest id");
}

/* A tiny world: 4 interests, items 0..7 with interest i % 4 (item 8 is not
 * indexed), users given by a list of (user, item, ts) events. */
#define NI 9
static const uint32_t item_int[NI] = {0, 1, 2, 3, 0, 1, 2, 3, INTR_NONE};

static void csr_of(const ds_event *ev, size_t n, uint32_t nu, ds_csr *bu) {
    mx_err err = {0};
    ASSERT_EQ(ds_csr_build(bu, ev, n, nu, 0, &err), 0);
}

static void expect_row(const mix_table *t, uint32_t u, size_t len, const uint32_t *cid,
                       const double *w) {
    ASSERT_EQ(t->len[u], len);
    for (size_t s = 0; s < len; s++) {
        ASSERT_EQ(t->cid[u * t->m + s], cid[s]);
        ASSERT_NEAR(t->w[u * t->m + s], w[s], 2e-6);
    }
}

static void test_raw(void) {
    /* user 0: 3 events on interest 0 (two items), 1 on 2, 2 on 3, one on
     * the unindexed item 8; user 1: none */
    const ds_event ev[] = {{0, 0, 1, 1}, {0, 4, 2, 1}, {0, 0, 3, 1}, {0, 2, 4, 1},
                           {0, 3, 5, 1}, {0, 7, 6, 1}, {0, 8, 7, 1}};
    ds_csr bu;
    csr_of(ev, 7, 2, &bu);
    const float uv[2 * 2] = {1, 0, 0, 0};
    mix_params p;
    mix_params_init(&p);
    ASSERT(p.half_life == 0); /* no decay by default */
    mix_table raw, sm;
    mx_err err = {0};
    ASSERT_EQ(mix_compute(&bu, item_int, 4, uv, 2, &p, 10, &raw, &sm, &err), 0);
    ASSERT_EQ(raw.n_users, 2);
    ASSERT_EQ(raw.m, 4); /* top_m 16, clamped to the 4 interests */
    expect_row(&raw, 0, 3, (uint32_t[]){0, 3, 2}, (double[]){3.0 / 6, 2.0 / 6, 1.0 / 6});
    ASSERT_EQ(raw.len[1], 0);
    /* no neighbour (the only other user has no vector): smoothed = raw */
    expect_row(&sm, 0, 3, (uint32_t[]){0, 3, 2}, (double[]){3.0 / 6, 2.0 / 6, 1.0 / 6});
    ASSERT_EQ(sm.len[1], 0);
    mix_table_free(&raw);
    mix_table_free(&sm);

    /* top_m 2: the two largest, renormalised */
    p.top_m = 2;
    ASSERT_EQ(mix_compute(&bu, item_int, 4, uv, 2, &p, 10, &raw, NULL, &err), 0);
    ASSERT_EQ(raw.m, 2);
    expect_row(&raw, 0, 2, (uint32_t[]){0, 3}, (double[]){0.6, 0.4});
    mix_table_free(&raw);
    mix_table_free(&raw); /* zeroed: harmless */

    p.top_m = 0;
    ASSERT_EQ(mix_compute(&bu, item_int, 4, uv, 2, &p, 10, &raw, NULL, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "top_m");
    ds_csr_free(&bu);
    TEST_OK("raw mixture of a hand-made user equals its hand-computed proportions");
}

static void test_time_decay(void) {
    /* interest 0 once at t_ref, interest 1 twice, 10 s and 20 s before */
    const ds_event ev[] = {{0, 1, 80, 1}, {0, 5, 90, 1}, {0, 0, 100, 1}};
    ds_csr bu;
    csr_of(ev, 3, 1, &bu);
    const float uv[2] = {1, 0};
    mix_params p;
    mix_params_init(&p);
    mix_table raw;
    mx_err err = {0};
    ASSERT_EQ(mix_compute(&bu, item_int, 4, uv, 2, &p, 100, &raw, NULL, &err), 0);
    expect_row(&raw, 0, 2, (uint32_t[]){1, 0}, (double[]){2.0 / 3, 1.0 / 3});
    mix_table_free(&raw);
    /* half-life 10 s: weights 1, 0.5, 0.25 */
    p.half_life = 10;
    ASSERT_EQ(mix_compute(&bu, item_int, 4, uv, 2, &p, 100, &raw, NULL, &err), 0);
    expect_row(&raw, 0, 2, (uint32_t[]){0, 1}, (double[]){1 / 1.75, 0.75 / 1.75});
    mix_table_free(&raw);
    ds_csr_free(&bu);
    TEST_OK("time decay: 2^(-age/half_life) makes the recent interest lead");
}

/* Users 0-2 and 3-5 are two groups in 3-D (cross cosines <= 0.11, within
 * >= 0.85); user 6 has no vector and no events; user 7 has events but no
 * vector; user 8 has a vector in group 1 but only an unindexed item. */
enum { NU = 9, NC = 4 };
static const float uvec[NU * 3] = {
    1, 0, 0, 0.9f, 0.3f, 0,    0.9f, -0.2f, 0,    /* group 1 */
    0, 0, 1, 0,    0.3f, 0.9f, 0.1f, 0,     0.9f, /* group 2 */
    0, 0, 0, 0,    0,    0,    0.8f, 0.05f, 0.01f,
};

/* Brute force: sc[v] = cosine(v_u, v_v), -inf for u itself. */
static void cosines_to(const float *v, size_t n, size_t d, size_t u, double *sc) {
    for (size_t w = 0; w < n; w++) {
        double ab = 0, aa = 0, bb = 0;
        for (size_t k = 0; k < d; k++) {
            ab += (double)v[u * d + k] * v[w * d + k];
            aa += (double)v[u * d + k] * v[u * d + k];
            bb += (double)v[w * d + k] * v[w * d + k];
        }
        sc[w] = w == u ? -INFINITY : ab / sqrt(aa * bb);
    }
}

/* The index of the highest score, which is then taken out (-inf). */
static size_t pop_best(double *sc, size_t n) {
    size_t best = 0;
    for (size_t v = 1; v < n; v++)
        if (sc[v] > sc[best]) best = v;
    sc[best] = -INFINITY;
    return best;
}

static void test_knn(void) {
    int64_t nbr[NU * 3];
    mx_err err = {0};
    /* k = 1: the nearest by cosine */
    ASSERT_EQ(mix_user_knn(uvec, NU, 3, 1, nbr, &err), 0);
    const int64_t nn1[NU] = {8, 8, 0, 5, 3, 3, -1, -1, 0};
    for (size_t u = 0; u < NU; u++)
        ASSERT_EQ(nbr[u], nn1[u]);
    /* k = 3 within group 1 (users 0, 1, 2, 8), never self */
    ASSERT_EQ(mix_user_knn(uvec, NU, 3, 3, nbr, &err), 0);
    for (size_t u = 0; u < NU; u++) {
        for (size_t j = 0; j < 3; j++) {
            int64_t v = nbr[u * 3 + j];
            ASSERT(v != (int64_t)u);
            if (u == 6 || u == 7) ASSERT_EQ(v, -1);
            if (u == 0 || u == 1 || u == 2 || u == 8) ASSERT(v == 0 || v == 1 || v == 2 || v == 8);
        }
    }
    /* more neighbours than users with a vector: -1 pads */
    int64_t big[NU * 10];
    ASSERT_EQ(mix_user_knn(uvec, NU, 3, 10, big, &err), 0);
    for (size_t u = 0; u < NU; u++) {
        size_t valid = 0;
        for (size_t j = 0; j < 10; j++) {
            ASSERT(big[u * 10 + j] != (int64_t)u);
            valid += big[u * 10 + j] >= 0;
            if (j > 0 && big[u * 10 + j] >= 0) ASSERT(big[u * 10 + j - 1] >= 0);
        }
        ASSERT_EQ(valid, u == 6 || u == 7 ? 0 : 6);
    }
    /* identical vectors: the twin, not oneself */
    const float twins[3 * 2] = {1, 1, 1, 1, -1, 0};
    int64_t tn[3];
    ASSERT_EQ(mix_user_knn(twins, 3, 2, 1, tn, &err), 0);
    ASSERT_EQ(tn[0], 1);
    ASSERT_EQ(tn[1], 0);
    ASSERT(tn[2] == 0 || tn[2] == 1);

    /* random users against a brute-force cosine kNN */
    enum { R = 400, RD = 8, RK = 5 };
    float *rv = malloc(R * RD * sizeof(float));
    int64_t *rn = malloc(R * RK * sizeof(int64_t));
    rng_state st;
    rng_seed(&st, 17);
    for (size_t i = 0; i < R * RD; i++)
        rv[i] = (float)rng_normal(&st);
    ASSERT_EQ(mix_user_knn(rv, R, RD, RK, rn, &err), 0);
    for (size_t u = 0; u < R; u++) {
        double sc[R];
        cosines_to(rv, R, RD, u, sc);
        for (size_t j = 0; j < RK; j++)
            ASSERT_EQ(rn[u * RK + j], pop_best(sc, R));
    }
    free(rv);
    free(rn);
    TEST_OK("mix_user_knn: nearest by cosine (brute force), never self, -1 padding");
}

/* The IVF path beyond 20,000 users: never self, close to exact. */
static void test_knn_large(void) {
    enum { R = 21000, RD = 8, RK = 4, CL = 50 };
    float *rv = malloc((size_t)R * RD * sizeof(float)), cen[CL * RD];
    int64_t *rn = malloc((size_t)R * RK * sizeof(int64_t));
    rng_state st;
    rng_seed(&st, 23);
    for (size_t i = 0; i < CL * RD; i++)
        cen[i] = (float)rng_normal(&st);
    for (size_t u = 0; u < R; u++)
        for (size_t k = 0; k < RD; k++)
            rv[u * RD + k] = cen[(u % CL) * RD + k] + 0.3f * (float)rng_normal(&st);
    mx_err err = {0};
    ASSERT_EQ(mix_user_knn(rv, R, RD, RK, rn, &err), 0);
    size_t hits = 0, total = 0;
    for (size_t u = 0; u < R; u++)
        for (size_t j = 0; j < RK; j++) {
            ASSERT(rn[u * RK + j] != (int64_t)u);
            ASSERT(rn[u * RK + j] >= 0 && rn[u * RK + j] < R);
        }
    for (size_t u = 0; u < R; u += 211) { /* recall of the exact top RK */
        double *sc = malloc(R * sizeof(double));
        cosines_to(rv, R, RD, u, sc);
        for (size_t j = 0; j < RK; j++) {
            size_t best = pop_best(sc, R);
            for (size_t t = 0; t < RK; t++)
                hits += rn[u * RK + t] == (int64_t)best;
            total++;
        }
        free(sc);
    }
    ASSERT((double)hits >= 0.8 * (double)total);
    free(rv);
    free(rn);
    TEST_OK("mix_user_knn beyond 20,000 users (IVF): never self, recall >= 0.8");
}

/* Reference smoothing, written from the formula of mixture.h. */
static void reference_smooth(const double raw[NU][NC], const size_t *n_u, const int64_t *nbr,
                             size_t k, double k0, double out[NU][NC]) {
    for (size_t u = 0; u < NU; u++) {
        size_t nn = 0;
        double mean[NC] = {0};
        for (size_t j = 0; j < k; j++) {
            int64_t v = nbr[u * k + j];
            if (v < 0) continue;
            nn++;
            for (size_t c = 0; c < NC; c++)
                mean[c] += raw[v][c];
        }
        double l = nn ? k0 / (k0 + (double)n_u[u]) : 0;
        for (size_t c = 0; c < NC; c++)
            out[u][c] = (1 - l) * raw[u][c] + (nn ? l * mean[c] / (double)nn : 0);
    }
}

static void test_smoothing(void) {
    /* interests of items: item c and c + 4 are in interest c (item 8: none) */
    const ds_event ev[] = {
        {0, 0, 1, 1}, {0, 4, 2, 1},                             /* u0: c0 c0 */
        {1, 1, 1, 1}, {1, 5, 2, 1}, {1, 1, 3, 1}, {1, 2, 4, 1}, /* u1: c1 x3, c2 */
        {2, 0, 1, 1}, {2, 3, 2, 1},                             /* u2: c0, c3 */
        {3, 2, 1, 1},                                           /* u3: c2 */
        {4, 3, 1, 1}, {4, 7, 2, 1}, {4, 3, 3, 1},               /* u4: c3 x3 */
        {5, 6, 1, 1}, {5, 7, 2, 1},                             /* u5: c2, c3 */
        {7, 1, 1, 1},                                           /* u7: c1, no vector */
        {8, 8, 1, 1},                                           /* u8: unindexed only */
    };
    size_t n_ev = sizeof(ev) / sizeof(ev[0]);
    const double raw[NU][NC] = {
        {1, 0, 0, 0}, {0, 0.75, 0.25, 0}, {0.5, 0, 0, 0.5},
        {0, 0, 1, 0}, {0, 0, 0, 1},       {0, 0, 0.5, 0.5},
        {0},          {0, 1, 0, 0},       {0},
    };
    const size_t n_u[NU] = {2, 4, 2, 1, 3, 2, 0, 1, 1};
    ds_csr bu;
    csr_of(ev, n_ev, NU, &bu);
    mix_params p;
    mix_params_init(&p);
    p.knn_k = 2;
    p.k0 = 3;
    p.top_m = 4;
    mix_table rt, sm;
    mx_err err = {0};
    ASSERT_EQ(mix_compute(&bu, item_int, NC, uvec, 3, &p, 10, &rt, &sm, &err), 0);

    /* the neighbours the smoothing used */
    int64_t nbr[NU * 2];
    ASSERT_EQ(mix_user_knn(uvec, NU, 3, 2, nbr, &err), 0);
    /* u0's two nearest are u8 (cos 0.998) and u2 (0.976) */
    ASSERT((nbr[0] == 8 && nbr[1] == 2));
    double want[NU][NC];
    reference_smooth(raw, n_u, nbr, 2, 3.0, want);

    /* by hand for u0: l = 3 / (3 + 2) = 0.6; the mean of p(u8) = 0 and p(u2)
     * is (0.25, 0, 0, 0.25): 0.4 (1,0,0,0) + 0.6 (0.25,0,0,0.25) =
     * (0.55, 0, 0, 0.15), renormalised over the kept entries */
    expect_row(&sm, 0, 2, (uint32_t[]){0, 3}, (double[]){0.55 / 0.7, 0.15 / 0.7});

    for (uint32_t u = 0; u < NU; u++) {
        /* raw rows */
        double tot = 0;
        for (size_t c = 0; c < NC; c++)
            tot += raw[u][c];
        for (size_t s = 0; s < rt.len[u]; s++)
            ASSERT_NEAR(rt.w[u * rt.m + s], raw[u][rt.cid[u * rt.m + s]] / tot, 2e-6);
        size_t pos = 0;
        for (size_t c = 0; c < NC; c++)
            pos += raw[u][c] > 0;
        ASSERT_EQ(rt.len[u], pos);
        /* smoothed rows: every positive entry of the reference, renormalised */
        double st = 0;
        size_t sp = 0;
        for (size_t c = 0; c < NC; c++)
            if (want[u][c] > 1e-12) st += want[u][c], sp++;
        ASSERT_EQ(sm.len[u], sp);
        for (size_t s = 0; s < sm.len[u]; s++) {
            uint32_t c = sm.cid[u * sm.m + s];
            ASSERT_NEAR(sm.w[u * sm.m + s], want[u][c] / st, 2e-6);
            if (s) ASSERT(sm.w[u * sm.m + s] <= sm.w[u * sm.m + s - 1]);
        }
    }
    /* u1: l = 3/7 over u8 (whose raw mixture is empty) and u0:
     * 4/7 (0, .75, .25, 0) + 3/7 (.5, 0, 0, 0) = (3/14, 3/7, 1/7, 0) */
    ASSERT(nbr[2] == 8 && nbr[3] == 0);
    expect_row(&sm, 1, 3, (uint32_t[]){1, 0, 2}, (double[]){6.0 / 11, 3.0 / 11, 2.0 / 11});
    /* no events: empty; events without a vector: smoothed = raw */
    ASSERT_EQ(sm.len[6], 0);
    expect_row(&sm, 7, 1, (uint32_t[]){1}, (double[]){1.0});
    /* only an unindexed item: the neighbours' mean (u0 and u1) */
    ASSERT(nbr[16] == 0 && nbr[17] == 1);
    ASSERT_EQ(rt.len[8], 0);
    expect_row(&sm, 8, 3, (uint32_t[]){0, 1, 2}, (double[]){0.5, 0.375, 0.125});
    mix_table_free(&rt);
    mix_table_free(&sm);

    /* k = 10 > the 6 other users with a vector: the mean is over the
     * neighbours that exist */
    p.knn_k = 10;
    ASSERT_EQ(mix_compute(&bu, item_int, NC, uvec, 3, &p, 10, &rt, &sm, &err), 0);
    int64_t nbr10[NU * 10];
    ASSERT_EQ(mix_user_knn(uvec, NU, 3, 10, nbr10, &err), 0);
    reference_smooth(raw, n_u, nbr10, 10, 3.0, want);
    for (uint32_t u = 0; u < NU; u++) {
        double st = 0;
        size_t sp = 0;
        for (size_t c = 0; c < NC; c++)
            if (want[u][c] > 1e-12) st += want[u][c], sp++;
        ASSERT_EQ(sm.len[u], sp);
        for (size_t s = 0; s < sm.len[u]; s++)
            ASSERT_NEAR(sm.w[u * sm.m + s], want[u][sm.cid[u * sm.m + s]] / st, 2e-6);
    }
    mix_table_free(&rt);
    mix_table_free(&sm);
    p.knn_k = 2;

    /* k0 = 0 or knn 0: no smoothing at all */
    p.k0 = 0;
    ASSERT_EQ(mix_compute(&bu, item_int, NC, uvec, 3, &p, 10, &rt, &sm, &err), 0);
    for (uint32_t u = 0; u < 8; u++) {
        ASSERT_EQ(sm.len[u], rt.len[u]);
        ASSERT(memcmp(sm.cid + u * sm.m, rt.cid + u * rt.m, rt.len[u] * sizeof(uint32_t)) == 0);
    }
    mix_table_free(&rt);
    mix_table_free(&sm);
    p.k0 = 3;
    p.knn_k = 0;
    ASSERT_EQ(mix_compute(&bu, item_int, NC, uvec, 3, &p, 10, &rt, &sm, &err), 0);
    ASSERT(memcmp(sm.w, rt.w, NU * rt.m * sizeof(float)) == 0);
    mix_table_free(&rt);
    mix_table_free(&sm);
    ds_csr_free(&bu);
    TEST_OK("smoothing equals (1-l) p + l mean p_v, l = k0/(k0+n), on known neighbours");
}

/* ---- planted interests, end to end ------------------------------------ */

static uint32_t world_id(const char *s) {
    return (uint32_t)strtoul(s + 1, NULL, 10); /* "i123" / "u45" */
}

static void test_planted(void) {
    syn_params sp;
    syn_params_init(&sp);
    sp.n_items = 4000;
    sp.n_users = 800;
    sp.n_interests = 8;
    sp.dim = 16;
    sp.seed = 42;
    syn_world w;
    mx_err err = {0};
    ASSERT_EQ(syn_make(&sp, &w, &err), 0);
    ds_dataset *ds = NULL;
    ASSERT_EQ(syn_to_dataset(&w, &ds, &err), 0);
    size_t n_ev = 0;
    const ds_event *ev = ds_events(ds, &n_ev);
    ds_split split;
    ASSERT_EQ(ds_split_per_user(ev, n_ev, 0.2, 5, &split, &err), 0);
    bcfg cfg;
    bcfg_init(&cfg);
    cfg.embed.dim = 16;
    cfg.interests.n_clusters = 8;
    mx_model *m = NULL;
    ASSERT_EQ(pipe_build(ds, split.train, split.n_train, &cfg, NULL, &m, NULL, &err), 0);
    ASSERT_EQ(m->n_clusters, 8);

    size_t ni = ds_n_items(ds), C = w.n_interests;
    uint32_t *planted = malloc(ni * sizeof(uint32_t));
    for (size_t i = 0; i < ni; i++)
        planted[i] = w.item_interest[world_id(ds_item_id(ds, (uint32_t)i))];

    enum { K = 50 };
    ret_ctx *ctx = ret_ctx_new(m->index, m->item_interest, m->n_items, K, m->mix.m);
    ret_cand cand[K];
    ret_params rp;
    ret_params_init(&rp);
    rp.overfetch = 2; /* pinned: budgets split by the plain weights */
    rp.mixture_sharpen = 1;
    rp.nprobe = 0; /* single: exact */
    /* methods: 0 smoothed mixture, 1 single vector, 2 raw mixture */
    double cov[3] = {0}, rec[3] = {0};
    size_t n_multi = 0, n_test_users = 0;
    unsigned char *relevant = calloc(ni, 1);
    for (size_t beg = 0; beg < split.n_test;) {
        uint32_t u = split.test[beg].user;
        size_t end = beg;
        while (end < split.n_test && split.test[end].user == u)
            end++;
        const float *uw = w.user_weights + (size_t)world_id(ds_user_id(ds, u)) * C;
        size_t n_planted = 0;
        for (size_t c = 0; c < C; c++)
            n_planted += uw[c] > 0;
        for (size_t e = beg; e < end; e++)
            relevant[split.test[e].item] = 1;
        const uint32_t *seen = m->seen_items + m->seen_ptr[u];
        size_t n_seen = m->seen_ptr[u + 1] - m->seen_ptr[u];
        const float *q = m->user_vecs + (size_t)u * m->dim;
        for (int method = 0; method < 3; method++) {
            size_t got = 0;
            const mix_table *mt = method == 2 ? &m->mix_raw : &m->mix;
            ret_begin(ctx, seen, n_seen, 0);
            if (method == 1)
                ASSERT_EQ(ret_single(ctx, m->index, q, K, &rp, cand, &got, &err), 0);
            else
                ASSERT_EQ(ret_mixture(ctx, m->index, q, mt->cid + (size_t)u * mt->m,
                                      mt->w + (size_t)u * mt->m, mt->len[u], K, &rp, cand, &got,
                                      &err),
                          0);
            ASSERT_EQ(got, K);
            unsigned char hit[64] = {0};
            size_t covered = 0, found = 0;
            for (size_t t = 0; t < got; t++) {
                uint32_t c = planted[cand[t].item];
                if (uw[c] > 0 && !hit[c]) hit[c] = 1, covered++;
                found += relevant[cand[t].item];
            }
            rec[method] += (double)found / (double)(end - beg);
            if (n_planted >= 2) cov[method] += (double)covered / (double)n_planted;
        }
        n_multi += n_planted >= 2;
        n_test_users++;
        for (size_t e = beg; e < end; e++)
            relevant[split.test[e].item] = 0;
        beg = end;
    }
    ASSERT(n_multi > 100);
    for (int method = 0; method < 3; method++) {
        cov[method] /= (double)n_multi;
        rec[method] /= (double)n_test_users;
    }
    printf("# %zu test users, %zu with several planted interests. Share of their planted "
           "interests in the top %d: mixture %.3f, single %.3f, raw mixture %.3f; "
           "recall@%d of held-out items: %.3f, %.3f, %.3f\n",
           n_test_users, n_multi, K, cov[0], cov[1], cov[2], K, rec[0], rec[1], rec[2]);
    /* (seed 42: 0.893 vs 0.827 vs 0.847; recall 0.346 vs 0.351 vs 0.349) */
    ASSERT(cov[0] > cov[1] + 0.04); /* the mixture covers more planted interests */
    ASSERT(cov[0] > cov[2]);        /* and smoothing helps */
    ASSERT(cov[0] > 0.8);
    ASSERT(rec[0] > 0.9 * rec[1]); /* without giving up accuracy */
    ASSERT(rec[0] > 0.25);
    free(relevant);
    free(planted);
    ret_ctx_free(ctx);
    model_free(m);
    ds_split_free(&split);
    ds_free(ds);
    syn_world_free(&w);
    TEST_OK("planted interests: the smoothed mixture covers more of them than one vector");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_row_from_dense();
    test_raw();
    test_time_decay();
    test_knn();
    test_knn_large();
    test_smoothing();
    test_planted();
    return 0;
}

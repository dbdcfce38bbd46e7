/* test_ann_approx.c - the 8-bit list scans (ann_approx.h) answer as
 * the float scans do, bit for bit: the rows re-scored one by one get the
 * float the list kernel gives them, every row's approximate score is
 * within its list's delta of the exact one, and searches (per-list rows,
 * filtered global searches with skips and known rows) return the same
 * scores and items with the copy as without it, on data with long and
 * short vectors, near-equal scores and queries of any scale. */
#include "ann.h"
#include "ann_approx.h"
#include "ann_scan.h"
#include "ann_topk.h"
#include "rng.h"
#include "tap.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { D = 64, L = 8, N = 4000, KMAX = 300 };

static float vecs[N * D], cents[L * D];
static uint32_t assign[N];

static void make_data(rng_state *st) {
    for (size_t i = 0; i < N; i++) {
        /* norms from 0.05 to 20, and pairs of near copies (near-equal scores) */
        float scale = (float)exp(rng_normal(st));
        for (size_t d = 0; d < D; d++)
            vecs[i * D + d] = i % 7 == 1 ? vecs[(i - 1) * D + d] * (1 + 1e-6f)
                                         : scale * (float)rng_normal(st) / 8;
        assign[i] = (uint32_t)((i * 5 + i / 3) % L);
    }
    for (size_t i = 0; i < L * D; i++)
        cents[i] = (float)rng_normal(st) / 8;
}

static void test_rows_as_the_list_kernel(rng_state *st) {
    static float q[72], v[45 * 72], all[45], at[45];
    static uint32_t pos[45];
    const size_t dims[] = {8, 16, 64, 72, 5};
    for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++) {
        size_t dim = dims[di];
        for (size_t i = 0; i < dim; i++)
            q[i] = (float)rng_normal(st);
        for (size_t i = 0; i < 45 * dim; i++)
            v[i] = (float)rng_normal(st);
        for (int path = ANN_SCAN_PORTABLE; path <= ANN_SCAN_AVX2; path++) {
            ann_scan_use(path);
            ann_scan_dots(q, v, 45, dim, all);
            /* every subset size, rows in another grouping than the scan's */
            for (size_t m = 0; m <= 45; m += 4) {
                for (size_t j = 0; j < m; j++)
                    pos[j] = (uint32_t)((j * 17 + m) % 45);
                ann_scan_dots_at(q, v, dim, pos, m, at);
                for (size_t j = 0; j < m; j++)
                    ASSERT(memcmp(&at[j], &all[pos[j]], sizeof(float)) == 0);
            }
        }
    }
    ann_scan_use(ANN_SCAN_AUTO);
    TEST_OK("ann_scan_dots_at gives each row the float ann_scan_dots gives it (dims 5 to 72, "
            "both paths, any grouping)");
}

static int skip_mod(const void *arg, int64_t item) {
    return item % *(const int *)arg == 0;
}

/* A hint that counts the items it is told of (they must be real items). */
static size_t hinted;
static void hint_count(const void *arg, int64_t item) {
    (void)arg;
    ASSERT(item >= 0 && item < N);
    hinted++;
}

static void random_query(rng_state *st, float *q, int r) {
    float scale = r % 3 == 0 ? 1e-3f : r % 3 == 1 ? 1.0f : 1e3f;
    for (size_t d = 0; d < D; d++)
        q[d] = scale * (float)rng_normal(st);
}

/* Rows of chosen depths (the mixture's shallow rows of minor interests):
 * each row is the prefix of the k-deep row, padded after its depth, with
 * the copy as without it; as known rows of a filtered global search they
 * give the answer of a search without known rows. */
static size_t test_depths(ann_index *ix, ann_scratch *s, rng_state *st, const uint32_t *lists) {
    static float full_sc[L * KMAX], sc_by[2][L * KMAX], gs[2][KMAX], ref_sc[KMAX];
    static int64_t full_it[L * KMAX], it_by[2][L * KMAX], gi[2][KMAX], ref_it[KMAX];
    mx_err err = {0};
    size_t checked = 0;
    for (int r = 0; r < 40; r++) {
        float q[D];
        random_query(st, q, r);
        size_t k = 1 + (size_t)(r * 29) % 160, depth[L], ng[2], nref = 0;
        int mod = 2 + r % 5;
        for (size_t j = 0; j < L; j++)
            depth[j] = (j * 37 + (size_t)r * 11) % (k + 1); /* 0 to k */
        const float *sc;
        const int64_t *it;
        ASSERT_EQ(ann_use_approx(ix, 0, &err), 0);
        ASSERT_EQ(ann_search_lists(ix, s, q, lists, L, k, NULL, &sc, &it, &err), 0);
        memcpy(full_sc, sc, L * k * sizeof(float));
        memcpy(full_it, it, L * k * sizeof(int64_t));
        ASSERT_EQ(
            ann_search_filtered(ix, s, q, k, 0, NULL, skip_mod, NULL, &mod, ref_sc, ref_it, &nref),
            0);
        for (int approx = 0; approx <= 1; approx++) {
            ASSERT_EQ(ann_use_approx(ix, approx, &err), 0);
            ASSERT_EQ(ann_search_lists(ix, s, q, lists, L, k, depth, &sc, &it, &err), 0);
            memcpy(sc_by[approx], sc, L * k * sizeof(float));
            memcpy(it_by[approx], it, L * k * sizeof(int64_t));
            for (size_t j = 0; j < L; j++)
                for (size_t t = 0; t < k; t++) {
                    size_t at = j * k + t;
                    if (t < depth[j]) {
                        ASSERT(memcmp(&sc_by[approx][at], &full_sc[at], sizeof(float)) == 0);
                        ASSERT_EQ(it_by[approx][at], full_it[at]);
                    } else {
                        ASSERT_EQ(it_by[approx][at], -1);
                        ASSERT(sc_by[approx][at] == -FLT_MAX);
                    }
                }
            ann_known known = {lists, sc_by[approx], it_by[approx], L, k, depth};
            ASSERT_EQ(ann_search_filtered(ix, s, q, k, 0, &known, skip_mod, NULL, &mod, gs[approx],
                                          gi[approx], &ng[approx]),
                      0);
            ASSERT_EQ(ng[approx], nref);
            ASSERT(memcmp(gs[approx], ref_sc, nref * sizeof(float)) == 0);
            ASSERT(memcmp(gi[approx], ref_it, nref * sizeof(int64_t)) == 0);
            checked++;
        }
    }
    size_t over = (size_t)L + 1, deep[L] = {0};
    deep[0] = over;
    const float *sc;
    const int64_t *it;
    ASSERT_EQ(ann_search_lists(ix, s, vecs, lists, L, L, deep, &sc, &it, &err), MX_EINVAL);
    ann_use_approx(ix, 0, &err);
    return checked;
}

/* ann_approx_floor: at least k rows score exactly above it, and the rows
 * re-scored from it stay few. */
static void test_floor(ann_index *ix, ann_scratch *s, rng_state *st) {
    const size_t ks[] = {1, 3, 10, 40, 125};
    size_t eligible = 0, found = 0, rescored = 0, wanted = 0;
    mx_err err = {0};
    ASSERT_EQ(ann_use_approx(ix, 1, &err), 0);
    for (int r = 0; r < 30; r++) {
        float q[D];
        random_query(st, q, r);
        float qnorm = ann_approx_query(ix, s, q);
        for (uint32_t l = 0; l < L; l++)
            for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
                size_t len = ann_list_size(ix, l), above = 0, near = 0;
                float delta = ann_approx_scores(ix, s, q, qnorm, l);
                float floor = ann_approx_floor(ix, s, l, ks[ki], delta);
                eligible += len >= 4 * ks[ki] && len >= ANN_TOPK_SAMPLES;
                if (floor == -FLT_MAX) continue;
                found++;
                for (size_t t = 0; t < len; t++)
                    near += s->approx[t] > floor - delta;
                ASSERT_EQ(ann_approx_above(ix, s, q, l, -FLT_MAX, delta), len); /* exact dots */
                for (size_t t = 0; t < len; t++)
                    above += s->dots[t] > floor;
                ASSERT(above >= ks[ki]);
                rescored += near;
                wanted += ks[ki];
            }
    }
    printf("# ann_approx_floor: %zu floors for %zu lists of 4 k rows or more; %zu rows re-scored "
           "for %zu wanted\n",
           found, eligible, rescored, wanted);
    ASSERT_EQ(found, eligible);
    /* norms from 0.05 to 20 in one list: its delta, the longest row's, is
     * wide for the others. From the sampled floor alone (ann_topk_floor, not
     * the exact k-th) it was 13.9 k. */
    ASSERT(rescored < 7 * wanted);
    ann_use_approx(ix, 0, &err);
    TEST_OK("ann_approx_floor: k rows or more score exactly above it (k 1 to 125); fewer than "
            "7 k rows within delta of it on lists of norms 0.05 to 20");
}

static int desc_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* ann_topk_select against a sort, on values with many ties and without. */
static void test_topk_select(void) {
    rng_state own, *st = &own;
    rng_seed(st, 99);
    static float v[3000], sorted[3000];
    const size_t ns[] = {1, 2, 20, 33, 200, 3000}, ks[] = {1, 2, 7, 50, 250, 3000};
    size_t checked = 0;
    for (int ties = 0; ties <= 2; ties++)
        for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
            for (size_t b = 0; b < sizeof(ks) / sizeof(ks[0]); b++) {
                size_t n = ns[a], k = ks[b];
                if (k > n) continue;
                for (size_t i = 0; i < n; i++) {
                    float x = (float)rng_normal(st);
                    /* ties 1: about 30 distinct values; 2: one */
                    v[i] = ties == 0 ? x : ties == 1 ? floorf(x * 4) : 1.5f;
                }
                memcpy(sorted, v, n * sizeof(float));
                qsort(sorted, n, sizeof(float), desc_float);
                ASSERT(ann_topk_select(v, n, k) == sorted[k - 1]);
                checked++;
            }
    ASSERT_EQ(checked, 57);
    TEST_OK("ann_topk_select: the k-th largest as a sort gives it (n 1 to 3,000, k 1 to n), with "
            "ties, all equal and without");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    rng_state st;
    rng_seed(&st, 2026);
    test_rows_as_the_list_kernel(&st);
    make_data(&st);
    ann_index *ix = NULL;
    mx_err err = {0};
    ASSERT_EQ(ann_build(vecs, N, D, cents, L, assign, &ix, &err), 0);
    ASSERT(!ann_has_approx(ix)); /* 1 MB of vectors: below ANN_APPROX_MIN_BYTES */
    if (ann_use_approx(ix, 1, &err)) {
        printf("# no approximate scan here (%s): skipped\n", err.msg);
        ann_free(ix);
        return 0;
    }
    ASSERT(ann_has_approx(ix));
    ASSERT_EQ(ann_use_approx(ix, 0, &err), 0);
    ASSERT(!ann_has_approx(ix));
    ann_scratch *s = ann_scratch_new(ix, L, KMAX);
    ASSERT(s);
    static float want_sc[L * KMAX], got_sc[L * KMAX], fs[KMAX], gs[KMAX];
    static int64_t want_it[L * KMAX], got_it[L * KMAX], fi[KMAX], gi[KMAX];
    const uint32_t lists[] = {3, 0, 7, 5, 1, 6, 2, 4};
    const size_t ks[] = {1, 10, 50, 120, 300};
    size_t searches = 0;
    for (int r = 0; r < 60; r++) {
        float q[D];
        random_query(&st, q, r);
        size_t k = ks[r % 5], nl = 1 + (size_t)r % L, nf = 0, ng = 0;
        int mod = 2 + r % 5;
        for (int approx = 0; approx <= 1; approx++) {
            ASSERT_EQ(ann_use_approx(ix, approx, &err), 0);
            const float *sc;
            const int64_t *it;
            ASSERT_EQ(ann_search_lists(ix, s, q, lists, nl, k, NULL, &sc, &it, &err), 0);
            memcpy(approx ? got_sc : want_sc, sc, nl * k * sizeof(float));
            memcpy(approx ? got_it : want_it, it, nl * k * sizeof(int64_t));
            /* the mixture's rows as known rows of a filtered global search */
            ann_known known = {lists, approx ? got_sc : want_sc, approx ? got_it : want_it, nl, k,
                               NULL};
            ASSERT_EQ(ann_search_filtered(ix, s, q, k, (size_t)(r % 4) * 2, r % 2 ? &known : NULL,
                                          r % 3 ? skip_mod : NULL, approx ? hint_count : NULL, &mod,
                                          approx ? gs : fs, approx ? gi : fi, approx ? &ng : &nf),
                      0);
        }
        ASSERT(memcmp(want_sc, got_sc, nl * k * sizeof(float)) == 0);
        ASSERT(memcmp(want_it, got_it, nl * k * sizeof(int64_t)) == 0);
        ASSERT_EQ(nf, ng);
        ASSERT(memcmp(fs, gs, nf * sizeof(float)) == 0);
        ASSERT(memcmp(fi, gi, nf * sizeof(int64_t)) == 0);
        searches += 2;
    }
    /* the bound itself: every row's approximate score within delta */
    double tightest = 0;
    for (int r = 0; r < 30; r++) {
        float q[D];
        random_query(&st, q, r);
        float qnorm = ann_approx_query(ix, s, q);
        ASSERT(qnorm >= 0);
        for (uint32_t l = 0; l < L; l++) {
            size_t len = ann_list_size(ix, l);
            float delta = ann_approx_scores(ix, s, q, qnorm, l);
            ASSERT(delta >= 0);
            /* exact scores of every row by the float kernel */
            ASSERT_EQ(ann_approx_above(ix, s, q, l, -FLT_MAX, delta), len);
            for (size_t t = 0; t < len; t++) {
                double diff = fabs((double)s->approx[t] - (double)s->dots[t]);
                ASSERT(diff <= delta);
                if (diff / delta > tightest) tightest = diff / delta;
            }
        }
    }
    printf("# largest |approximate - exact| / delta: %.3f\n", tightest);
    test_floor(ix, s, &st);
    test_topk_select();
    ASSERT_EQ(test_depths(ix, s, &st, lists), 80);
    TEST_OK("rows of depths 0 to k: the k-deep rows' prefixes, padded after, with the copy as "
            "without; as known rows they give a filtered search the same answer; a depth past k "
            "refused");
    ann_scratch_free(s);
    ann_free(ix);
    ASSERT_EQ(searches, 120);
    ASSERT(hinted > 0); /* told of rows, answers unchanged: compared above */
    TEST_OK("with the approximate copy, 120 searches (per-list rows k 1 to 300, filtered global "
            "searches with skips and known rows, queries of scale 1e-3 to 1e3) return the float "
            "scans' scores and items bit for bit; every row within its list's delta");
    return 0;
}

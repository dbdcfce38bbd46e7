/* test_retrieve.c - candidate sources and the blend of retrieve.h on a
 * small hand-built index: largest-remainder budgets, per-interest quotas,
 * exclusions, shortfall refills, the reciprocal-rank fused blend with its
 * de-duplication and source bookkeeping, and popularity as the fallback. */
#include "retrieve.h"
#include "rng.h"
#include "tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- ret_allocate ----------------------------------------------------- */

static void expect_alloc(const float *w, size_t m, size_t k, const size_t *want) {
    size_t out[32];
    for (size_t j = 0; j < m; j++)
        out[j] = 12345;
    ret_allocate(w, m, k, out);
    for (size_t j = 0; j < m; j++)
        if (out[j] != want[j])
            FAIL("ret_allocate(m=%zu, k=%zu): slot %zu got %zu, want %zu", m, k, j, out[j],
                 want[j]);
}

static void test_allocate(void) {
    expect_alloc((float[]){0.5f, 0.3f, 0.2f}, 3, 10, (size_t[]){5, 3, 2});
    expect_alloc((float[]){0.34f, 0.33f, 0.33f}, 3, 10, (size_t[]){4, 3, 3});
    expect_alloc((float[]){0.2f, 0.3f, 0.5f}, 3, 10, (size_t[]){2, 3, 5});
    /* K smaller than m: the largest shares get one each */
    expect_alloc((float[]){0.4f, 0.3f, 0.2f, 0.1f}, 4, 2, (size_t[]){1, 1, 0, 0});
    expect_alloc((float[]){0.1f, 0.2f, 0.3f, 0.4f}, 4, 1, (size_t[]){0, 0, 0, 1});
    /* remainder ties go to the earlier component */
    expect_alloc((float[]){0.25f, 0.25f, 0.25f, 0.25f}, 4, 2, (size_t[]){1, 1, 0, 0});
    expect_alloc((float[]){0.25f, 0.25f, 0.25f, 0.25f}, 4, 7, (size_t[]){2, 2, 2, 1});
    /* weights need not sum to 1 */
    expect_alloc((float[]){2, 1, 1}, 3, 5, (size_t[]){3, 1, 1});
    /* K = 0; no positive weight: an even split; negative weights count 0 */
    expect_alloc((float[]){0.5f, 0.5f}, 2, 0, (size_t[]){0, 0});
    expect_alloc((float[]){0, 0, 0}, 3, 7, (size_t[]){3, 2, 2});
    expect_alloc((float[]){-1, 1}, 2, 3, (size_t[]){0, 3});
    /* a largest remainder beats an earlier smaller one */
    expect_alloc((float[]){0.31f, 0.29f, 0.4f}, 3, 2, (size_t[]){1, 0, 1});

    /* random: sums to K, every count within 1 of its exact share, and
     * every rounded-up remainder >= every rounded-down one */
    rng_state st;
    rng_seed(&st, 77);
    for (int trial = 0; trial < 2000; trial++) {
        size_t m = 1 + rng_next(&st) % 20, k = rng_next(&st) % 200, out[20];
        float w[20];
        double total = 0;
        for (size_t j = 0; j < m; j++) {
            w[j] = rng_uniform(&st) < 0.1 ? 0.0f : (float)rng_uniform(&st);
            total += w[j];
        }
        ret_allocate(w, m, k, out);
        size_t sum = 0;
        double min_up = INFINITY, max_down = -INFINITY;
        for (size_t j = 0; j < m; j++) {
            sum += out[j];
            double share = total > 0 ? w[j] / total * (double)k : (double)k / (double)m;
            ASSERT(fabs((double)out[j] - share) < 1.0 + 1e-9);
            if (total <= 0) continue;
            double r = share - floor(share);
            if ((double)out[j] > share + 1e-9)
                min_up = fmin(min_up, r);
            else
                max_down = fmax(max_down, r);
        }
        ASSERT_EQ(sum, k);
        if (min_up < INFINITY && max_down > -INFINITY) ASSERT(min_up >= max_down - 1e-6);
    }
    TEST_OK("ret_allocate: largest remainder on hand examples; random sums equal K");
}

/* ---- a small world ------------------------------------------------------ */

/* 150 items in 5-D: items 0..119 in lists i % 3 (40 each), 120..124 in
 * list 3 (5 items), 125..149 not indexed. Popularity: item i has
 * (i * 37) % 11 events (several ties). */
enum { N = 150, D = 5, L = 4, MAXK = 40 };
static float vecs[N * D];
static uint32_t assign[N];
static ann_index *ix;
static pop_table pop;

static void make_world(void) {
    rng_state st;
    rng_seed(&st, 3);
    for (size_t i = 0; i < N * D; i++)
        vecs[i] = (float)rng_normal(&st);
    float cents[L * D] = {0};
    for (size_t c = 0; c < L; c++)
        cents[c * D + c] = 1;
    for (uint32_t i = 0; i < N; i++)
        assign[i] = i < 120 ? i % 3 : i < 125 ? 3 : UINT32_MAX;
    mx_err err = {0};
    ASSERT_EQ(ann_build(vecs, N, D, cents, L, assign, &ix, &err), 0);
    ds_event ev[N * 11];
    size_t n = 0;
    for (uint32_t i = 0; i < N; i++)
        for (uint32_t e = 0; e < (i * 37) % 11; e++)
            ev[n++] = (ds_event){e, i, 100, 1};
    ASSERT_EQ(pop_compute(ev, n, N, 0, 100, &pop, &err), 0);
}

static double ip(const float *q, uint32_t i) {
    double s = 0;
    for (size_t k = 0; k < D; k++)
        s += (double)q[k] * vecs[i * D + k];
    return s;
}

static int is_excluded(uint32_t item, const uint32_t *ex, size_t n_ex) {
    for (size_t j = 0; j < n_ex; j++)
        if (ex[j] == item) return 1;
    return 0;
}

/* The best k items of list c (c == L: every indexed item) by q, skipping
 * ex[]; returns how many. */
static size_t brute(const float *q, uint32_t c, size_t k, const uint32_t *ex, size_t n_ex,
                    uint32_t *out) {
    unsigned char used[N] = {0};
    size_t n = 0;
    for (; n < k; n++) {
        int64_t best = -1;
        double bs = -INFINITY;
        for (uint32_t i = 0; i < N; i++) {
            if (used[i] || assign[i] >= L || (c < L && assign[i] != c)) continue;
            if (is_excluded(i, ex, n_ex)) continue;
            double s = ip(q, i);
            if (s > bs) bs = s, best = i;
        }
        if (best < 0) break;
        used[best] = 1;
        out[n] = (uint32_t)best;
    }
    return n;
}

static int contains(const uint32_t *set, size_t n, uint32_t x) {
    for (size_t j = 0; j < n; j++)
        if (set[j] == x) return 1;
    return 0;
}

static void no_duplicates(const ret_cand *c, size_t n) {
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            ASSERT(c[a].item != c[b].item);
}

static void random_q(rng_state *st, float *q) {
    for (size_t k = 0; k < D; k++)
        q[k] = (float)rng_normal(st);
}

/* ---- mixture ------------------------------------------------------------ */

static void test_mixture(void) {
    ret_ctx *c = ret_ctx_new(ix, NULL, N, MAXK, 4);
    ASSERT(c);
    ret_params p;
    ret_params_init(&p);
    /* pinned, whatever the defaults become */
    p.overfetch = 2;
    p.mixture_sharpen = 1;
    p.mixture_order = RET_ORDER_INTERLEAVE;
    ret_cand out[MAXK];
    size_t n = 0;
    mx_err err = {0};
    rng_state st;
    rng_seed(&st, 8);
    for (int trial = 0; trial < 10; trial++) {
        float q[D];
        random_q(&st, q);
        /* budgets 10, 6, 4 over lists 0, 1, 3 */
        const uint32_t cid[] = {0, 1, 3};
        const float w[] = {0.5f, 0.3f, 0.2f};
        const size_t budget[] = {10, 6, 4};
        ret_begin(c, NULL, 0, 0);
        ASSERT_EQ(ret_mixture(c, ix, q, cid, w, 3, 20, &p, out, &n, &err), 0);
        ASSERT_EQ(n, 20);
        no_duplicates(out, n);
        for (size_t j = 0; j < 3; j++) {
            uint32_t top[MAXK];
            size_t nt = brute(q, cid[j], budget[j], NULL, 0, top);
            ASSERT_EQ(nt, budget[j]);
            size_t got = 0;
            for (size_t t = 0; t < n; t++) {
                if (out[t].interest != cid[j]) continue;
                got++;
                ASSERT(contains(top, nt, out[t].item)); /* the list's best */
                ASSERT_NEAR(out[t].weight, w[j], 0);
            }
            ASSERT_EQ(got, budget[j]);
        }
        for (size_t t = 0; t < n; t++) {
            ASSERT_EQ(out[t].source, RET_MIXTURE);
            ASSERT_EQ(out[t].sources, 1u << RET_MIXTURE);
            ASSERT(out[t].fused == 0);
            ASSERT_EQ(out[t].rank, t);
            ASSERT_EQ(assign[out[t].item], out[t].interest);
            ASSERT_NEAR(out[t].score, ip(q, out[t].item), 1e-5);
        }
        /* default order, interleaved: each interest's items best first, and
         * every prefix splits its length by weight (within one item) */
        size_t seen[3] = {0};
        float last[3] = {INFINITY, INFINITY, INFINITY};
        for (size_t t = 0; t < n; t++) {
            size_t j = out[t].interest == 0 ? 0 : out[t].interest == 1 ? 1 : 2;
            ASSERT(out[t].score <= last[j]);
            last[j] = out[t].score;
            seen[j]++;
            for (size_t i = 0; i < 3; i++)
                ASSERT(fabs((double)seen[i] - (double)(t + 1) * w[i]) <= 1.0 + 1e-6);
        }
        ASSERT(out[0].interest == 0); /* the heaviest interest leads */
        /* or ordered by score, on request: the same items */
        ret_params by_score = p;
        by_score.mixture_order = RET_ORDER_SCORE;
        ret_cand sorted[MAXK];
        size_t ns = 0;
        ret_begin(c, NULL, 0, 0);
        ASSERT_EQ(ret_mixture(c, ix, q, cid, w, 3, 20, &by_score, sorted, &ns, &err), 0);
        ASSERT_EQ(ns, n);
        for (size_t t = 0; t < ns; t++) {
            ASSERT_EQ(sorted[t].rank, t);
            if (t) ASSERT(sorted[t].score <= sorted[t - 1].score);
            int found = 0;
            for (size_t u = 0; u < n; u++)
                found |= out[u].item == sorted[t].item;
            ASSERT(found);
        }

        /* excluded items never come back; the quotas still hold */
        uint32_t ex[8];
        uint32_t top0[4], top1[4];
        brute(q, 0, 4, NULL, 0, top0);
        brute(q, 1, 4, NULL, 0, top1);
        memcpy(ex, top0, sizeof(top0));
        memcpy(ex + 4, top1, sizeof(top1));
        ret_begin(c, ex, 8, 0);
        ASSERT_EQ(ret_mixture(c, ix, q, cid, w, 3, 20, &p, out, &n, &err), 0);
        ASSERT_EQ(n, 20);
        for (size_t j = 0; j < 3; j++) {
            uint32_t top[MAXK];
            size_t nt = brute(q, cid[j], budget[j], ex, 8, top), got = 0;
            for (size_t t = 0; t < n; t++) {
                if (out[t].interest != cid[j]) continue;
                got++;
                ASSERT(contains(top, nt, out[t].item));
            }
            ASSERT_EQ(got, budget[j]);
        }
        for (size_t t = 0; t < n; t++)
            ASSERT(!is_excluded(out[t].item, ex, 8));

        /* list 3 holds 5 items but is asked for 16: the shortfall is refilled
         * from the other component's over-fetched reserve, best first */
        const uint32_t cid2[] = {3, 0};
        const float w2[] = {0.8f, 0.2f};
        ret_begin(c, NULL, 0, 0);
        ASSERT_EQ(ret_mixture(c, ix, q, cid2, w2, 2, 20, &p, out, &n, &err), 0);
        ASSERT_EQ(n, 20);
        no_duplicates(out, n);
        uint32_t top0b[15];
        ASSERT_EQ(brute(q, 0, 15, NULL, 0, top0b), 15);
        size_t from3 = 0;
        for (size_t t = 0; t < n; t++) {
            if (out[t].interest == 3)
                from3++;
            else
                ASSERT(contains(top0b, 15, out[t].item));
        }
        ASSERT_EQ(from3, 5);

        /* the reserve of two lists refills by score across both: budgets
         * 16 / 2 / 2, list 3 gives 5, the 11 missing are the best of the
         * rest of lists 0 and 1 together */
        const uint32_t cid3[] = {3, 0, 1};
        const float w3[] = {0.8f, 0.1f, 0.1f};
        ret_begin(c, NULL, 0, 0);
        ASSERT_EQ(ret_mixture(c, ix, q, cid3, w3, 3, 20, &p, out, &n, &err), 0);
        ASSERT_EQ(n, 20);
        no_duplicates(out, n);
        uint32_t q0[2], q1[2], rest[N];
        ASSERT_EQ(brute(q, 0, 2, NULL, 0, q0), 2);
        ASSERT_EQ(brute(q, 1, 2, NULL, 0, q1), 2);
        uint32_t taken[4] = {q0[0], q0[1], q1[0], q1[1]};
        size_t n_rest = 0;
        for (size_t r = 0; r < 11; r++) { /* the best 11 of lists 0 and 1 beyond the quotas */
            int64_t b = -1;
            for (uint32_t i = 0; i < N; i++) {
                if (assign[i] > 1 || contains(taken, 4, i) || contains(rest, n_rest, i)) continue;
                if (b < 0 || ip(q, i) > ip(q, (uint32_t)b)) b = i;
            }
            rest[n_rest++] = (uint32_t)b;
        }
        size_t from3b = 0;
        for (size_t t = 0; t < n; t++) {
            if (out[t].interest == 3)
                from3b++;
            else
                ASSERT(contains(taken, 4, out[t].item) || contains(rest, 11, out[t].item));
        }
        ASSERT_EQ(from3b, 5);

        /* nothing more to find: fewer than K */
        const uint32_t only3[] = {3};
        const float one[] = {1};
        ret_begin(c, &(uint32_t){121}, 1, 0);
        ASSERT_EQ(ret_mixture(c, ix, q, only3, one, 1, 10, &p, out, &n, &err), 0);
        ASSERT_EQ(n, 4);
        for (size_t t = 0; t < n; t++)
            ASSERT(out[t].item >= 120 && out[t].item < 125 && out[t].item != 121);
    }

    /* K beyond the context is clamped; no vector or no component: nothing */
    float q[D] = {1, 1, 0, 0, 0};
    const uint32_t cid[] = {0, 1, 2};
    const float w[] = {1, 1, 1};
    ret_cand big[100];
    ret_begin(c, NULL, 0, 0);
    ASSERT_EQ(ret_mixture(c, ix, q, cid, w, 3, 100, &p, big, &n, &err), 0);
    ASSERT_EQ(n, MAXK);
    ret_begin(c, NULL, 0, 0);
    ASSERT_EQ(ret_mixture(c, ix, NULL, cid, w, 3, 10, &p, out, &n, &err), 0);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(ret_mixture(c, ix, q, cid, w, 0, 10, &p, out, &n, &err), 0);
    ASSERT_EQ(n, 0);
    ret_ctx_free(c);
    ret_ctx_free(NULL);
    TEST_OK("ret_mixture: per-interest budgets, exclusions, shortfall refill, no duplicates");
}

/* With the items' lists known, a row fetches extra for its own list's
 * exclusions only: 30 of list 0's 40 items excluded, its quota still
 * holds (a row as deep as the others would find none of its 10), and the
 * answer is the one of a context that fetches for every exclusion. */
static void test_mixture_own_lists(void) {
    ret_ctx *own = ret_ctx_new(ix, assign, N, MAXK, 4), *every = ret_ctx_new(ix, NULL, N, MAXK, 4);
    ASSERT(own && every);
    ret_params p;
    ret_params_init(&p);
    p.overfetch = 2;
    p.mixture_sharpen = 1;
    p.mixture_order = RET_ORDER_SCORE;
    const uint32_t cid[] = {0, 1, 3};
    const float w[] = {0.5f, 0.3f, 0.2f};
    const size_t budget[] = {10, 6, 4};
    rng_state st;
    rng_seed(&st, 21);
    mx_err err = {0};
    for (int trial = 0; trial < 10; trial++) {
        float q[D];
        random_q(&st, q);
        uint32_t ex[30], want[MAXK];
        ASSERT_EQ(brute(q, 0, 30, NULL, 0, ex), 30);
        ret_cand a[MAXK], b[MAXK];
        size_t na = 0, nb = 0;
        ret_begin(own, ex, 30, 0);
        ASSERT_EQ(ret_mixture(own, ix, q, cid, w, 3, 20, &p, a, &na, &err), 0);
        ret_begin(every, ex, 30, 0);
        ASSERT_EQ(ret_mixture(every, ix, q, cid, w, 3, 20, &p, b, &nb, &err), 0);
        ASSERT_EQ(na, 20);
        ASSERT_EQ(nb, na);
        for (size_t j = 0; j < 3; j++) {
            size_t nt = brute(q, cid[j], budget[j], ex, 30, want), got = 0;
            for (size_t t = 0; t < na; t++) {
                if (a[t].interest != cid[j]) continue;
                got++;
                ASSERT(contains(want, nt, a[t].item));
            }
            ASSERT_EQ(got, budget[j]);
        }
        for (size_t t = 0; t < na; t++) {
            ASSERT_EQ(a[t].item, b[t].item);
            ASSERT(a[t].score == b[t].score);
        }
    }
    ret_ctx_free(own);
    ret_ctx_free(every);
    TEST_OK("ret_mixture with the items' lists: 30 exclusions in one list, its quota holds, the "
            "answer is that of a context fetching for every exclusion");
}

/* ---- single and popular ------------------------------------------------- */

/* ret_single on c (after ret_begin(ex, n_ex, n_blocked)) is the exact top k
 * of the indexed items minus ex, every entry marked as the single source's. */
static void expect_single_exact(ret_ctx *c, const ann_index *index, const ret_params *p,
                                const float *q, const uint32_t *ex, size_t n_ex, size_t n_blocked,
                                size_t k) {
    uint32_t want[MAXK];
    ret_cand out[MAXK];
    size_t n = 0;
    mx_err err = {0};
    ASSERT(k <= MAXK);
    ASSERT_EQ(brute(q, L, k, ex, n_ex, want), k);
    ret_begin(c, ex, n_ex, n_blocked);
    ASSERT_EQ(ret_single(c, index, q, k, p, out, &n, &err), 0);
    ASSERT_EQ(n, k);
    for (size_t t = 0; t < n; t++) {
        ASSERT_EQ(out[t].item, want[t]);
        ASSERT_EQ(out[t].source, RET_SINGLE);
        ASSERT_EQ(out[t].sources, 1u << RET_SINGLE);
        ASSERT_EQ(out[t].rank, t);
        ASSERT_EQ(out[t].interest, UINT32_MAX);
        ASSERT_NEAR(out[t].score, ip(q, out[t].item), 1e-5);
    }
}

typedef struct {
    const uint32_t *ex;
    size_t n;
} skip_set;

static int skip_listed(const void *arg, int64_t item) {
    const skip_set *k = arg;
    return is_excluded((uint32_t)item, k->ex, k->n);
}

/* ann_search_filtered with known rows of lists 0 and 3, and of every list
 * (then the best list by centroid is a known one, scanned at once when its
 * row is short), searched with the same q, at depths that cover their list
 * and that do not: the exact top k of the items not skipped, as without
 * rows. */
static void test_filtered_known(void) {
    ann_scratch *rows_s = ann_scratch_new(ix, L, MAXK), *s = ann_scratch_new(ix, L, MAXK);
    ASSERT(rows_s && s);
    rng_state st;
    rng_seed(&st, 31);
    const uint32_t some[] = {0, 3}, every[L] = {0, 1, 2, 3};
    const struct {
        const uint32_t *lists;
        size_t n;
    } sets[] = {{some, 2}, {every, L}};
    const size_t depths[] = {1, 3, 12, 40};
    float ksc[L * 40], out_sc[MAXK];
    int64_t kit[L * 40], out_it[MAXK];
    mx_err err = {0};
    for (int trial = 0; trial < 40; trial++) {
        float q[D];
        random_q(&st, q);
        uint32_t blocked[30], want[MAXK];
        size_t nb = brute(q, L, trial % 2 ? 30 : 8, NULL, 0, blocked);
        skip_set sk = {blocked, nb};
        size_t k = 5 + (size_t)trial % 20, set = (size_t)trial / 2 % 2, nl = sets[set].n;
        ASSERT_EQ(brute(q, L, k, blocked, nb, want), k);
        for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
            const float *sc;
            const int64_t *it;
            ASSERT_EQ(ann_search_lists(ix, rows_s, q, sets[set].lists, nl, depths[d], NULL, &sc,
                                       &it, &err),
                      0);
            memcpy(ksc, sc, nl * depths[d] * sizeof(float));
            memcpy(kit, it, nl * depths[d] * sizeof(int64_t));
            ann_known known = {sets[set].lists, ksc, kit, nl, depths[d], NULL};
            size_t nf = 0;
            ASSERT_EQ(ann_search_filtered(ix, s, q, k, 0, &known, skip_listed, NULL, &sk, out_sc,
                                          out_it, &nf),
                      0);
            ASSERT_EQ(nf, k);
            for (size_t t = 0; t < k; t++) {
                ASSERT_EQ(out_it[t], want[t]);
                ASSERT_NEAR(out_sc[t], ip(q, want[t]), 1e-5);
            }
        }
    }
    ann_scratch_free(rows_s);
    ann_scratch_free(s);
    TEST_OK("ann_search_filtered with known rows (covering their list or not): the exact top k "
            "past the skipped items");
}

static void test_single_popular(void) {
    ret_ctx *c = ret_ctx_new(ix, NULL, N, MAXK, 4);
    ret_params p;
    ret_params_init(&p);
    ret_cand out[MAXK];
    size_t n;
    mx_err err = {0};
    rng_state st;
    rng_seed(&st, 9);
    const uint32_t ex[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 120};
    for (int trial = 0; trial < 10; trial++) {
        float q[D];
        random_q(&st, q);
        expect_single_exact(c, ix, &p, q, ex, 11, 0, 30);
        /* mixture first, then single in the same query: single skips what
         * the mixture took */
        const uint32_t cid[] = {2};
        const float w[] = {1};
        ret_cand mix[10];
        size_t nm;
        ret_begin(c, ex, 11, 0);
        ASSERT_EQ(ret_mixture(c, ix, q, cid, w, 1, 10, &p, mix, &nm, &err), 0);
        ASSERT_EQ(nm, 10);
        ASSERT_EQ(ret_single(c, ix, q, 30, &p, out, &n, &err), 0);
        ASSERT_EQ(n, 30);
        for (size_t t = 0; t < n; t++)
            for (size_t j = 0; j < nm; j++)
                ASSERT(out[t].item != mix[j].item);
    }

    /* catalogue-wide blocks crowding the query's region (its 60 nearest
     * items): still the exact top k of the rest (the own scan skipping
     * them, and FAISS searching past them: the index saved and loaded
     * again, without ann_own_vectors, searches with FAISS) */
    char dir[] = "/tmp/test_retrieve.XXXXXX", path[64];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/index.faiss", dir);
    ann_index *by_faiss = NULL;
    ASSERT_EQ(ann_save(ix, path, &err), 0);
    ASSERT_EQ(ann_load(path, &by_faiss, &err), 0);
    ASSERT(!ann_has_vectors(by_faiss) && ann_has_vectors(ix));
    unlink(path);
    rmdir(dir);
    ret_ctx *faiss_c = ret_ctx_new(by_faiss, NULL, N, MAXK, 4);
    ASSERT(faiss_c);
    for (int trial = 0; trial < 20; trial++) {
        ret_ctx *rc = trial % 2 ? faiss_c : c;
        const ann_index *index = trial % 2 ? by_faiss : ix;
        float q[D];
        random_q(&st, q);
        uint32_t blocked[60];
        ASSERT_EQ(brute(q, L, 60, NULL, 0, blocked), 60);
        expect_single_exact(rc, index, &p, q, blocked, 60, 60, 20);
        /* the user's own exclusions on top of the blocks */
        expect_single_exact(rc, index, &p, q, blocked, 60, 50, 20);
    }
    ret_ctx_free(faiss_c);
    ann_free(by_faiss);

    /* popular: by count (ties: lower id), skipping the excluded */
    ASSERT_EQ(pop.n_items, N);
    ret_begin(c, ex, 11, 0);
    ASSERT_EQ(ret_popular(c, &pop, 25, out, &n), 0);
    ASSERT_EQ(n, 25);
    for (size_t t = 0; t < n; t++) {
        uint32_t i = out[t].item;
        ASSERT(!is_excluded(i, ex, 11));
        ASSERT_EQ(out[t].source, RET_POPULAR);
        ASSERT_EQ(out[t].sources, 1u << RET_POPULAR);
        ASSERT_EQ(out[t].rank, t);
        ASSERT_NEAR(out[t].score, (double)((i * 37) % 11), 0);
        if (t) {
            uint32_t j = out[t - 1].item;
            ASSERT(pop.score[j] > pop.score[i] || (pop.score[j] == pop.score[i] && j < i));
        }
    }
    ASSERT_EQ((out[0].item * 37) % 11, 10); /* the maximum count */
    /* the best non-excluded items: nothing better was skipped */
    for (uint32_t i = 0; i < N; i++) {
        if (is_excluded(i, ex, 11)) continue;
        int listed = 0;
        for (size_t t = 0; t < n; t++)
            listed |= out[t].item == i;
        if (!listed) ASSERT(pop.score[i] <= out[n - 1].score);
    }
    /* popular never returns items without events */
    size_t n_pos = 0;
    for (uint32_t i = 0; i < N; i++)
        n_pos += (i * 37) % 11 > 0;
    ret_cand all[N];
    ret_ctx *wide = ret_ctx_new(NULL, NULL, N, N, 1);
    ASSERT(wide);
    ret_begin(wide, NULL, 0, 0);
    ASSERT_EQ(ret_popular(wide, &pop, N, all, &n), 0);
    ASSERT_EQ(n, n_pos);
    ret_ctx_free(wide);
    ret_ctx_free(c);
    TEST_OK("ret_single is the exact top-k minus exclusions; ret_popular skips excluded");
}

/* The marks (excluded, taken) are generations of a byte, cleared every few
 * hundred queries: over 700 queries on one context, each query excludes
 * exactly its own items, and what an earlier query took or excluded is
 * usable again. */
static void test_marks_across_queries(void) {
    size_t n_pos = 0;
    for (uint32_t i = 0; i < N; i++)
        n_pos += (i * 37) % 11 > 0;
    ret_ctx *c = ret_ctx_new(NULL, NULL, N, N, 1);
    ASSERT(c);
    ret_cand out[N];
    uint32_t prev[2] = {0, 0};
    for (uint32_t q = 0; q < 700; q++) {
        uint32_t ex[2] = {q % N, (q * 7 + 3) % N};
        ret_begin(c, ex, ex[0] == ex[1] ? 1 : 2, 0);
        ASSERT(ret_excluded(c, ex[0]) && ret_excluded(c, ex[1]));
        for (int j = 0; j < 2; j++)
            if (q > 0 && prev[j] != ex[0] && prev[j] != ex[1]) ASSERT(!ret_excluded(c, prev[j]));
        size_t want = n_pos, n = 0;
        for (int j = 0; j < (ex[0] == ex[1] ? 1 : 2); j++)
            want -= (ex[j] * 37) % 11 > 0;
        ASSERT_EQ(ret_popular(c, &pop, N, out, &n), 0);
        ASSERT_EQ(n, want);
        for (size_t t = 0; t < n; t++)
            ASSERT(out[t].item != ex[0] && out[t].item != ex[1]);
        /* what it took is not found again within the query */
        ASSERT_EQ(ret_popular(c, &pop, N, out, &n), 0);
        ASSERT_EQ(n, 0);
        prev[0] = ex[0], prev[1] = ex[1];
    }
    ret_ctx_free(c);
    TEST_OK("exclusion and taken marks hold for their query only, over 700 queries on one context");
}

/* ---- blend -------------------------------------------------------------- */

/* The blend written from retrieve.h: every source with a positive share
 * fetches k on its own (same exclusions), fused(i) = sum over the sources
 * that found i of share_s / (rrf_k + rank_s(i)); the top k by fused score
 * (ties: lower item id), each kept as the entry of the source contributing
 * most (ties: the earlier source). */
typedef struct {
    uint32_t item;
    float fused, best; /* float, summed in source order, as the blend does */
    int source;
    unsigned sources;
} fused_ref;

static size_t reference_blend(ret_ctx *c, const float *q, const uint32_t *cid, const float *w,
                              size_t m, size_t k, const ret_params *p, const uint32_t *ex,
                              size_t n_ex, fused_ref *out) {
    float share[RET_N_SOURCES];
    memcpy(share, p->blend_share, sizeof(share));
    if (!q) share[RET_MIXTURE] = share[RET_SINGLE] = 0;
    if (m == 0) share[RET_MIXTURE] = 0;
    if (share[0] + share[1] + share[2] <= 0) share[RET_POPULAR] = 1;
    size_t n = 0;
    ret_cand list[MAXK];
    mx_err err = {0};
    for (int s = 0; s < RET_N_SOURCES; s++) {
        if (share[s] <= 0) continue;
        size_t got = 0;
        ret_begin(c, ex, n_ex, 0);
        if (s == RET_MIXTURE)
            ASSERT_EQ(ret_mixture(c, ix, q, cid, w, m, k, p, list, &got, &err), 0);
        else if (s == RET_SINGLE)
            ASSERT_EQ(ret_single(c, ix, q, k, p, list, &got, &err), 0);
        else
            ASSERT_EQ(ret_popular(c, &pop, k, list, &got), 0);
        for (size_t t = 0; t < got; t++) {
            ASSERT_EQ(list[t].rank, t);
            float f = share[s] / (p->rrf_k + (float)t);
            size_t j = 0;
            while (j < n && out[j].item != list[t].item)
                j++;
            if (j == n) out[n++] = (fused_ref){list[t].item, 0, -1, -1, 0};
            out[j].fused += f;
            out[j].sources |= 1u << s;
            if (f > out[j].best) out[j].best = f, out[j].source = s;
        }
    }
    /* sort by fused desc, item asc */
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            if (out[b].fused > out[a].fused ||
                (out[b].fused == out[a].fused && out[b].item < out[a].item)) {
                fused_ref t = out[a];
                out[a] = out[b];
                out[b] = t;
            }
    return p->pool_union ? n : n < k ? n : k; /* union: every source's own top k */
}

static void check_blend(ret_ctx *c, const float *q, const uint32_t *cid, const float *w, size_t m,
                        size_t k, const ret_params *p, const uint32_t *ex, size_t n_ex,
                        size_t *n_multi) {
    fused_ref want[3 * MAXK];
    ret_cand out[3 * MAXK];
    size_t n = 0;
    mx_err err = {0};
    size_t nw = reference_blend(c, q, cid, w, m, k, p, ex, n_ex, want);
    ret_begin(c, ex, n_ex, 0);
    ASSERT_EQ(ret_blend(c, ix, &pop, q, cid, w, m, k, p, out, &n, &err), 0);
    ASSERT_EQ(n, nw);
    no_duplicates(out, n);
    for (size_t t = 0; t < n; t++) {
        ASSERT(!is_excluded(out[t].item, ex, n_ex));
        ASSERT_EQ(out[t].item, want[t].item);
        ASSERT(out[t].fused == want[t].fused);
        ASSERT_EQ(out[t].sources, want[t].sources);
        ASSERT_EQ(out[t].source, want[t].source);
        ASSERT(out[t].sources & (1u << out[t].source));
        if (t) ASSERT(out[t].fused <= out[t - 1].fused);
        /* the entry is the kept source's own: interest only from the mixture */
        if (out[t].source == RET_MIXTURE)
            ASSERT_EQ(out[t].interest, assign[out[t].item]);
        else
            ASSERT_EQ(out[t].interest, UINT32_MAX);
        *n_multi += (out[t].sources & (out[t].sources - 1)) != 0;
    }
    /* the pool is taken: a later source in the same query skips it */
    ret_cand more[MAXK];
    size_t nm = 0;
    ASSERT_EQ(ret_popular(c, &pop, MAXK, more, &nm), 0);
    for (size_t j = 0; j < nm; j++)
        for (size_t t = 0; t < n; t++)
            ASSERT(more[j].item != out[t].item);
}

static void test_blend(void) {
    ret_ctx *c = ret_ctx_new(ix, NULL, N, MAXK, 4);
    ret_params p;
    ret_params_init(&p);
    ASSERT(p.rrf_k > 0);
    rng_state st;
    rng_seed(&st, 10);
    const uint32_t ex[] = {3, 6, 9, 12, 15, 121};
    const uint32_t cid[] = {1, 0, 3};
    const float w[] = {0.6f, 0.3f, 0.1f};
    size_t n_multi = 0;
    for (int trial = 0; trial < 10; trial++) {
        float q[D];
        random_q(&st, q);
        check_blend(c, q, cid, w, 3, 20, &p, ex, 6, &n_multi); /* default shares, union */
        ret_params pf = p;
        pf.pool_union = 0; /* the fused top k */
        check_blend(c, q, cid, w, 3, 20, &pf, ex, 6, &n_multi);
        ret_params p2 = p;
        p2.blend_share[RET_MIXTURE] = 0.5f;
        p2.blend_share[RET_SINGLE] = 0.4f;
        p2.blend_share[RET_POPULAR] = 0.1f;
        p2.rrf_k = 5;
        check_blend(c, q, cid, w, 3, 30, &p2, ex, 6, &n_multi);
        check_blend(c, q, NULL, NULL, 0, 20, &p2, NULL, 0, &n_multi); /* no mixture */
    }
    /* mixture and single overlap: items found by both carry both bits */
    ASSERT(n_multi > 0);

    p.pool_union = 0; /* below: the fused top k's edge cases */
    ret_cand out[3 * MAXK], ref[MAXK];
    size_t n, nr;
    mx_err err = {0};
    /* no user vector: the popular list itself */
    ret_begin(c, ex, 6, 0);
    ASSERT_EQ(ret_blend(c, ix, &pop, NULL, cid, w, 3, 30, &p, out, &n, &err), 0);
    ASSERT_EQ(n, 30);
    ret_begin(c, ex, 6, 0);
    ASSERT_EQ(ret_popular(c, &pop, 30, ref, &nr), 0);
    for (size_t t = 0; t < n; t++) {
        ASSERT_EQ(out[t].source, RET_POPULAR);
        ASSERT_EQ(out[t].sources, 1u << RET_POPULAR);
        ASSERT_EQ(out[t].item, ref[t].item);
    }
    /* every share zero: popular anyway */
    ret_params z = p;
    z.blend_share[0] = z.blend_share[1] = z.blend_share[2] = 0;
    float q[D] = {0.3f, -1, 0.5f, 0.2f, 0.1f};
    ret_begin(c, ex, 6, 0);
    ASSERT_EQ(ret_blend(c, ix, &pop, q, cid, w, 3, 30, &z, out, &n, &err), 0);
    ASSERT_EQ(n, 30);
    for (size_t t = 0; t < n; t++)
        ASSERT_EQ(out[t].item, ref[t].item);

    /* only the mixture has a share: the mixture's own list, in rank order */
    ret_params only = p;
    only.blend_share[RET_MIXTURE] = 1;
    only.blend_share[RET_SINGLE] = only.blend_share[RET_POPULAR] = 0;
    ret_begin(c, NULL, 0, 0);
    ASSERT_EQ(ret_mixture(c, ix, q, cid, w, 3, 20, &p, ref, &nr, &err), 0);
    ret_begin(c, NULL, 0, 0);
    ASSERT_EQ(ret_blend(c, ix, &pop, q, cid, w, 3, 20, &only, out, &n, &err), 0);
    ASSERT_EQ(n, nr);
    for (size_t t = 0; t < n; t++) {
        ASSERT_EQ(out[t].item, ref[t].item);
        ASSERT_EQ(out[t].interest, ref[t].interest);
        ASSERT_EQ(out[t].source, RET_MIXTURE);
    }
    /* a short list stays short when it is the only source (list 3: 5 items) */
    const uint32_t only3[] = {3};
    const float one[] = {1};
    ret_begin(c, NULL, 0, 0);
    ASSERT_EQ(ret_blend(c, ix, &pop, q, only3, one, 1, 20, &only, out, &n, &err), 0);
    ASSERT_EQ(n, 5);
    /* an item found by all three sources keeps the entry of the one that
     * contributed most, even when the other two together contributed more:
     * X is single's rank 2, within the mixture's top 3, popular's only item;
     * with rrf_k 1 and shares 0.05 / 0.6 / 0.21 its contributions are
     * a <= 0.05 (mixture), b = 0.2 (single), c = 0.21 (popular). */
    {
        uint32_t glob[3];
        ASSERT_EQ(brute(q, L, 3, NULL, 0, glob), 3);
        uint32_t x = glob[2], lx = assign[x];
        pop_table one_pop;
        ds_event pe = {0, x, 100, 1};
        ASSERT_EQ(pop_compute(&pe, 1, N, 0, 100, &one_pop, &err), 0);
        ret_params tri = p;
        tri.rrf_k = 1;
        tri.blend_share[RET_MIXTURE] = 0.05f;
        tri.blend_share[RET_SINGLE] = 0.6f;
        tri.blend_share[RET_POPULAR] = 0.21f;
        ret_begin(c, NULL, 0, 0);
        ASSERT_EQ(ret_blend(c, ix, &one_pop, q, &lx, one, 1, 10, &tri, out, &n, &err), 0);
        ASSERT_EQ(n, 10);
        size_t at = n;
        for (size_t t = 0; t < n; t++)
            if (out[t].item == x) at = t;
        ASSERT(at < n);
        ASSERT_EQ(out[at].sources, 7);
        ASSERT_EQ(out[at].source, RET_POPULAR);
        ASSERT_EQ(out[at].rank, 0); /* popular's own entry */
        ASSERT_EQ(out[at].interest, UINT32_MAX);
        pop_free(&one_pop);
    }
    /* K = 0 */
    ASSERT_EQ(ret_blend(c, ix, &pop, q, cid, w, 3, 0, &p, out, &n, &err), 0);
    ASSERT_EQ(n, 0);
    ret_ctx_free(c);
    TEST_OK("ret_blend: weighted reciprocal-rank fusion, de-duplicated, sources kept, "
            "popular when there is no user vector; the union pool keeps every source's top k");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    ASSERT_STR_EQ(ret_source_name(RET_MIXTURE), "mixture");
    ASSERT_STR_EQ(ret_source_name(RET_SINGLE), "single");
    ASSERT_STR_EQ(ret_source_name(RET_POPULAR), "popular");
    ASSERT_STR_EQ(ret_source_name(7), "unknown");
    /* the impression record's letters: one per source, distinct, lowercase */
    ASSERT_EQ(ret_source_letter(RET_MIXTURE), 'm');
    ASSERT_EQ(ret_source_letter(RET_SINGLE), 's');
    ASSERT_EQ(ret_source_letter(RET_POPULAR), 'p');
    ASSERT_EQ(ret_source_letter(RET_N_SOURCES), '?');
    ASSERT_EQ(ret_source_letter(-1), '?');
    for (int a = 0; a < RET_N_SOURCES; a++) {
        ASSERT(ret_source_letter(a) >= 'a' && ret_source_letter(a) <= 'z');
        ASSERT(strcmp(ret_source_name(a), "unknown") != 0);
        for (int b = 0; b < a; b++)
            ASSERT(ret_source_letter(a) != ret_source_letter(b));
    }
    test_allocate();
    make_world();
    test_mixture();
    test_mixture_own_lists();
    test_single_popular();
    test_filtered_known();
    test_marks_across_queries();
    test_blend();
    ann_free(ix);
    pop_free(&pop);
    return 0;
}

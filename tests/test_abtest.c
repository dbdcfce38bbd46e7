/* test_abtest.c - the report's statistics (service/core/serve/abtest.h):
 * tail probabilities against tabled values, the delta-method variance
 * against its linearised form computed from the users themselves, the
 * 95% interval's coverage and the z-test's false-positive rate on
 * simulated users whose click-through varies, the sample-ratio check, and
 * the sign test. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "abtest.h"
#include "rng.h"
#include "tap.h"

static void test_tails(void) {
    ASSERT_NEAR(abtest_normal_sf(1.959963984540054), 0.025, 1e-9);
    ASSERT_NEAR(abtest_normal_sf(0), 0.5, 1e-12);
    ASSERT_NEAR(abtest_chi2_sf(3.841458820694124, 1), 0.05, 1e-9);
    ASSERT_NEAR(abtest_chi2_sf(5.991464547107979, 2), 0.05, 1e-9);
    ASSERT_NEAR(abtest_chi2_sf(16.918977604620448, 9), 0.05, 1e-9);
    ASSERT_NEAR(abtest_chi2_sf(100, 3), 1.6e-21, 1e-22);
    ASSERT_NEAR(abtest_chi2_sf(0, 4), 1, 1e-12);
    ASSERT_NEAR(abtest_sign_p(0, 10), 2.0 / 1024, 1e-12);
    ASSERT_NEAR(abtest_sign_p(5, 5), 1, 1e-12);
    ASSERT_NEAR(abtest_sign_p(0, 0), 1, 0);
    ASSERT_NEAR(abtest_sign_p(60, 40), 0.05688793364, 1e-9); /* R: binom.test(60, 100) */
    ASSERT(abtest_sign_p(5200, 4800) < 1e-4);
    TEST_OK("normal, chi-square and binomial tails match tabled values");
}

typedef struct user {
    double n, c;
} user;

/* Users with 1..2*mean_n impressions and their own click-through drawn
 * around ctr (a Beta-like spread), clicks binomial. */
static void draw_users(rng_state *r, user *u, size_t n_users, double ctr, int mean_n) {
    for (size_t i = 0; i < n_users; i++) {
        double p = ctr * 2 * rng_uniform(r); /* mean ctr, heterogeneous */
        if (p > 1) p = 1;
        u[i].n = 1 + (double)(rng_next(r) % (uint64_t)(2 * mean_n - 1));
        u[i].c = 0;
        for (int k = 0; k < (int)u[i].n; k++)
            u[i].c += rng_uniform(r) < p;
    }
}

static abtest_sums sums_of(const user *u, size_t n) {
    abtest_sums s = {0};
    for (size_t i = 0; i < n; i++) {
        s.users += 1;
        s.n += u[i].n, s.nn += u[i].n * u[i].n;
        s.c += u[i].c, s.cc += u[i].c * u[i].c, s.nc += u[i].n * u[i].c;
    }
    return s;
}

static void test_delta_method(void) {
    rng_state r;
    rng_seed(&r, 7);
    enum { N = 3000 };
    user *u = malloc(N * sizeof(*u));
    ASSERT(u);
    draw_users(&r, u, N, 0.1, 6);
    abtest_sums s = sums_of(u, N);
    abtest_ratio a;
    abtest_ratio_of(&s, &a);
    /* the same variance from the linearised per-user values
     * l_u = (c_u - R n_u) / mean_n: Var(R) = var(l) / N */
    double R = s.c / s.n, mean_n = s.n / N, m = 0, v = 0;
    for (size_t i = 0; i < N; i++)
        m += (u[i].c - R * u[i].n) / mean_n;
    m /= N;
    for (size_t i = 0; i < N; i++) {
        double l = (u[i].c - R * u[i].n) / mean_n - m;
        v += l * l;
    }
    v /= N - 1;
    ASSERT(a.defined);
    ASSERT_NEAR(a.value, R, 1e-12);
    ASSERT_NEAR(a.se, sqrt(v / N), 1e-9);
    ASSERT(a.lo < R && R < a.hi);
    abtest_sums none = {0};
    abtest_ratio_of(&none, &a);
    ASSERT(!a.defined);
    free(u);
    TEST_OK("delta-method standard error equals the linearised per-user variance");
}

/* Coverage of the 95% interval of the ratio and of the lift, and the
 * z-test's rejections under A = A, over many simulated experiments. */
static void test_coverage(void) {
    rng_state r;
    rng_seed(&r, 11);
    enum { RUNS = 600, N = 400 };
    user *a = malloc(N * sizeof(*a)), *b = malloc(N * sizeof(*b));
    ASSERT(a && b);
    int covered = 0, lift_covered = 0, aa_rejected = 0, ab_rejected = 0;
    for (int run = 0; run < RUNS; run++) {
        draw_users(&r, a, N, 0.10, 5);
        draw_users(&r, b, N, 0.10, 5);
        abtest_sums sa = sums_of(a, N), sb = sums_of(b, N);
        abtest_ratio ra, rb;
        abtest_ratio_of(&sa, &ra);
        abtest_ratio_of(&sb, &rb);
        covered += ra.lo <= 0.10 && 0.10 <= ra.hi;
        abtest_compare cmp;
        abtest_compare_of(&ra, &rb, &cmp);
        aa_rejected += cmp.p < 0.05;
        draw_users(&r, b, N, 0.13, 5); /* a true lift of 30% */
        sb = sums_of(b, N);
        abtest_ratio_of(&sb, &rb);
        abtest_compare_of(&ra, &rb, &cmp);
        lift_covered += cmp.lift_lo <= 0.30 && 0.30 <= cmp.lift_hi;
        ab_rejected += cmp.p < 0.05 && cmp.diff > 0;
    }
    printf("# %d runs of %d users per variant: ratio interval covers %.3f, lift interval %.3f, "
           "A/A rejected at 5%%: %.3f, a 30%% lift detected: %.3f\n",
           RUNS, N, covered / (double)RUNS, lift_covered / (double)RUNS, aa_rejected / (double)RUNS,
           ab_rejected / (double)RUNS);
    /* binomial spread of 600 runs at 0.95: sd 0.009, so +-0.03 is > 3 sd */
    ASSERT(covered >= 0.92 * RUNS && covered <= 0.98 * RUNS);
    ASSERT(lift_covered >= 0.92 * RUNS && lift_covered <= 0.98 * RUNS);
    ASSERT(aa_rejected >= 0.02 * RUNS && aa_rejected <= 0.08 * RUNS);
    ASSERT(ab_rejected >= 0.5 * RUNS);
    free(a);
    free(b);
    TEST_OK("95% intervals cover the truth in 92-98% of runs; A/A rejected in 2-8%");
}

static void test_srm(void) {
    double chi2, p;
    const double half[2] = {0.5, 0.5};
    double ok[2] = {5030, 4970}, bad[2] = {5300, 4700};
    abtest_srm(ok, half, 2, &chi2, &p);
    ASSERT_NEAR(chi2, 0.36, 1e-9);
    ASSERT(p > 0.5);
    abtest_srm(bad, half, 2, &chi2, &p);
    ASSERT_NEAR(chi2, 36, 1e-9);
    ASSERT(p < 1e-8);
    const double thirds[3] = {0.2, 0.3, 0.5};
    double three[3] = {200, 300, 500};
    abtest_srm(three, thirds, 3, &chi2, &p);
    ASSERT_NEAR(chi2, 0, 1e-12);
    ASSERT_NEAR(p, 1, 1e-12);
    double zero[2] = {0, 0};
    abtest_srm(zero, half, 2, &chi2, &p);
    ASSERT_NEAR(p, 1, 0);
    TEST_OK("sample-ratio check: chi-square and p-value against the shares");
}

int main(void) {
    test_tails();
    test_delta_method();
    test_coverage();
    test_srm();
    return 0;
}

/* test_explore.c - Thompson sampling for exploration slots (service/core/
 * serve/explore.h): the Beta draws' mean and variance, picks that favour
 * the arm that is better or less known, propensities against exact
 * values, the novelty-adaptive share and decay. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "explore.h"
#include "tap.h"

static void test_beta_moments(void) {
    const double ab[][2] = {{2, 5}, {0.5, 0.5}, {30, 70}, {1, 1}, {0.2, 3}};
    rng_state r;
    rng_seed(&r, 7);
    for (size_t c = 0; c < sizeof(ab) / sizeof(ab[0]); c++) {
        double a = ab[c][0], b = ab[c][1], s = 0, ss = 0;
        const int n = 40000;
        for (int i = 0; i < n; i++) {
            double x = explore_beta(&r, a, b);
            ASSERT(x >= 0 && x <= 1);
            s += x;
            ss += x * x;
        }
        double mean = s / n, var = ss / n - mean * mean;
        double want_mean = a / (a + b), want_var = a * b / ((a + b) * (a + b) * (a + b + 1));
        printf("# Beta(%g, %g): mean %.4f (%.4f), variance %.5f (%.5f)\n", a, b, mean, want_mean,
               var, want_var);
        ASSERT(fabs(mean - want_mean) < 4 * sqrt(want_var / n) + 1e-4);
        ASSERT(fabs(var - want_var) < 0.06 * want_var);
    }
}

static void test_pick(void) {
    rng_state r;
    rng_seed(&r, 11);
    /* arm 0 clicked 95% of 1000 times, arms 1..9 1% of 1000, arm 10 never shown */
    explore_arm arms[11];
    for (int i = 0; i < 11; i++)
        arms[i] = (explore_arm){1000, 10};
    arms[0] = (explore_arm){1000, 950};
    arms[10] = (explore_arm){0, 0};
    int first0 = 0, second10 = 0;
    const int n = 2000;
    for (int t = 0; t < n; t++) {
        uint32_t slot[3];
        ASSERT_EQ(explore_pick(arms, 11, 3, &r, slot), 3);
        ASSERT(slot[0] != slot[1] && slot[1] != slot[2] && slot[0] != slot[2]);
        first0 += slot[0] == 0;
        second10 += slot[1] == 10;
    }
    printf("# the good arm first in %d of %d picks, the unknown arm second in %d\n", first0, n,
           second10);
    ASSERT(first0 >= n * 0.9);    /* the unknown arm beats 0.95 in 5% of draws */
    ASSERT(second10 >= n * 0.85); /* P(Beta(1,1) < 0.02) is tiny */
    uint32_t slot[20];
    ASSERT_EQ(explore_pick(arms, 11, 20, &r, slot), 11); /* never more than the arms */
    ASSERT_EQ(explore_pick(arms, 0, 3, &r, slot), 0);
}

static void test_propensity(void) {
    rng_state r;
    rng_seed(&r, 3);
    /* m = 1, two arms: P(Beta(2, 1) > U(0, 1)) = integral of 2x * x = 2/3 */
    explore_arm arms[2] = {{1, 1}, {0, 0}};
    uint32_t slot[1] = {0};
    double p[1];
    explore_propensity(arms, 2, 1, slot, 20000, &r, p);
    printf("# propensity of Beta(2,1) over U(0,1): %.4f (2/3)\n", p[0]);
    ASSERT(fabs(p[0] - 2.0 / 3) < 0.015);
    slot[0] = 1;
    explore_propensity(arms, 2, 1, slot, 20000, &r, p);
    ASSERT(fabs(p[0] - 1.0 / 3) < 0.015);
    /* identical arms: each of n in each slot with probability 1/n */
    explore_arm same[5] = {{3, 1}, {3, 1}, {3, 1}, {3, 1}, {3, 1}};
    uint32_t s2[2] = {4, 2};
    double p2[2];
    explore_propensity(same, 5, 2, s2, 20000, &r, p2);
    printf("# identical arms: %.4f, %.4f (0.2)\n", p2[0], p2[1]);
    ASSERT(fabs(p2[0] - 0.2) < 0.015 && fabs(p2[1] - 0.2) < 0.015);
    /* what was placed is never given 0, however unlikely */
    explore_arm lop[2] = {{100000, 99000}, {100000, 10}};
    uint32_t s3[1] = {1};
    explore_propensity(lop, 2, 1, s3, 100, &r, p);
    ASSERT(p[0] > 0 && p[0] <= 1.0 / 101 + 1e-12);
}

static void test_share_and_decay(void) {
    const float one[4] = {1, 0, 0, 0}, flat[4] = {1, 1, 1, 1}, some[4] = {4, 2, 1, 1};
    ASSERT(fabs(explore_share(0.2, one, 4, 0) - 0.1) < 1e-12);  /* 0.5x */
    ASSERT(fabs(explore_share(0.2, flat, 4, 1) - 0.3) < 1e-12); /* 1.5x */
    double mid = explore_share(0.2, some, 4, 0);
    ASSERT(mid > 0.1 && mid < 0.2);
    ASSERT(explore_share(0.2, some, 4, 0.5) > mid); /* clicks on new items: more */
    ASSERT(explore_share(0.2, NULL, 0, 0) == 0.1);
    ASSERT(fabs(explore_decay(100, 3600, 3600) - 50) < 1e-9);
    ASSERT(explore_decay(100, 3600, 0) == 100);
}

int main(void) {
    test_beta_moments();
    test_pick();
    test_propensity();
    test_share_and_decay();
    return 0;
}

/* test_explore.c - Thompson sampling for exploration slots (service/core/
 * serve/explore.h): the Beta draws' mean and variance, picks that favour
 * the arm that is better or less known, propensities against exact
 * values, the novelty-adaptive share and decay. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "explore.h"
#include "tap.h"

/* Thompson picks: the better arm, or the less known one, wins a slot. */
static void test_pick(void) {
    rng_state r;
    rng_seed(&r, 11);
    /* a slate of 3, 2 explored (positions 1, 2); candidates 1, 2 and the
     * tail clicked 1% of 1000 times, except 3 (95%) and 12 (never shown) */
    enum { N = 13, K = 3 };
    explore_arm arms[N];
    for (int i = 0; i < N; i++)
        arms[i] = (explore_arm){1000, 10};
    arms[3] = (explore_arm){1000, 950};
    arms[12] = (explore_arm){0, 0};
    uint32_t order[K];
    double prop[K];
    uint8_t explored[K];
    int good1 = 0, unknown2 = 0;
    const int n = 2000;
    for (int t = 0; t < n; t++) {
        ASSERT_EQ(explore_slate(arms, N, K, 2, EXPLORE_FLAT, 10, &r, order, prop, explored), K);
        ASSERT(order[0] == 0 && explored[1] && explored[2] && order[1] != order[2]);
        good1 += order[1] == 3;
        unknown2 += order[2] == 12;
    }
    printf("# the good arm at position 1 in %d of %d slates, the unknown arm at 2 in %d\n", good1,
           n, unknown2);
    ASSERT(good1 >= n * 0.9);    /* the unknown arm beats 0.95 in 5% of draws */
    ASSERT(unknown2 >= n * 0.8); /* P(Beta(1,1) < 0.02) is tiny */
}

/* Propensities: by symmetry where arms are identical, and against how
 * often the policy itself, run many times, places what it placed. */
static void test_propensity(void) {
    rng_state r;
    rng_seed(&r, 3);
    /* position 1 of 2: its greedy candidate (clicked 1 of 1) against one
     * never shown, past the slate */
    explore_arm arms[3] = {{0, 0}, {1, 1}, {0, 0}};
    explore_prior prior = explore_prior_of(100, 10);
    uint32_t order[2];
    double prop[2], seen[3] = {0};
    uint8_t explored[2];
    size_t kept = 0, runs = 100000;
    for (size_t t = 0; t < runs; t++) {
        explore_slate(arms, 3, 2, 1, prior, 0, &r, order, prop, explored);
        kept += order[1] == 1;
    }
    for (int t = 0; t < 40 && !(seen[1] && seen[2]); t++) {
        explore_slate(arms, 3, 2, 1, prior, 20000, &r, order, prop, explored);
        seen[order[1]] = prop[1];
    }
    double freq = (double)kept / (double)runs;
    printf("# propensity of keeping the greedy item: %.4f (the policy's frequency %.4f), of the "
           "other %.4f\n",
           seen[1], freq, seen[2]);
    ASSERT(fabs(seen[1] - freq) < 0.015 && fabs(seen[2] - (1 - freq)) < 0.015);
    ASSERT(freq > 0.5); /* a click on one impression beats none */
    /* identical arms: position 1 of 3 draws on itself and 4 past the slate */
    explore_arm same[7] = {{3, 1}, {3, 1}, {3, 1}, {3, 1}, {3, 1}, {3, 1}, {3, 1}};
    uint32_t o3[3];
    double p3[3];
    uint8_t e3[3];
    explore_slate(same, 7, 3, 2, EXPLORE_FLAT, 20000, &r, o3, p3, e3);
    printf("# identical arms: %.4f (0.2)\n", p3[1]);
    ASSERT(fabs(p3[1] - 0.2) < 0.015);
    /* what was placed is never given 0 */
    ASSERT(p3[1] >= 1.0 / 20001 && p3[2] >= 1.0 / 20001);
}

/* A slate: greedy items never move, the top stays greedy, explored
 * positions spread, no candidate twice, propensities 1 for greedy
 * positions and E[1 / p] = the pool's size at explored ones. */
static void test_slate(void) {
    rng_state r;
    rng_seed(&r, 5);
    enum { N = 30, K = 10, M = 2 };
    explore_arm arms[N] = {{0}};
    uint32_t order[K];
    double prop[K];
    uint8_t explored[K];
    ASSERT(explore_slate(arms, N, K, 0, EXPLORE_FLAT, 50, &r, order, prop, explored) == K);
    for (uint32_t i = 0; i < K; i++)
        ASSERT(order[i] == i && prop[i] == 1 && !explored[i]);
    double mass[K] = {0};
    for (int t = 0; t < 400; t++) {
        ASSERT(explore_slate(arms, N, K, M, EXPLORE_FLAT, 200, &r, order, prop, explored) == K);
        ASSERT(explored[3] && explored[6] && !explored[0]); /* floor((j + 1) 10 / 3) */
        int dup[N] = {0};
        for (size_t pos = 0; pos < K; pos++) {
            ASSERT(!dup[order[pos]]);
            dup[order[pos]] = 1;
            if (!explored[pos]) {
                ASSERT(order[pos] == pos && prop[pos] == 1);
            } else {
                ASSERT((order[pos] == pos || order[pos] >= K) && prop[pos] > 0 && prop[pos] <= 1);
                mass[pos] += 1 / prop[pos];
            }
        }
    }
    /* identical arms: its own candidate and the 20 past the slate */
    printf("# mean 1/p at positions 3, 6: %.1f, %.1f (21)\n", mass[3] / 400, mass[6] / 400);
    ASSERT(fabs(mass[3] / 400 - 21) < 4 && fabs(mass[6] / 400 - 21) < 4);
    /* nothing past the slate: nothing explored; fewer candidates than k */
    ASSERT(explore_slate(arms, 3, K, 2, EXPLORE_FLAT, 20, &r, order, prop, explored) == 3);
    ASSERT(!explored[0] && !explored[1] && !explored[2]);
    ASSERT(explore_slate(arms, 1, K, 1, EXPLORE_FLAT, 20, &r, order, prop, explored) == 1);
    ASSERT(order[0] == 0 && !explored[0]);
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
    /* the prior: worth EXPLORE_PRIOR_WEIGHT impressions at the counted rate */
    explore_prior pr = explore_prior_of(998, 99);
    ASSERT(fabs(pr.a - 1) < 1e-9 && fabs(pr.b - 9) < 1e-9);
    pr = explore_prior_of(0, 0);
    ASSERT(fabs(pr.a - 5) < 1e-9 && fabs(pr.b - 5) < 1e-9);
}

int main(void) {
    test_pick();
    test_propensity();
    test_slate();
    test_share_and_decay();
    return 0;
}

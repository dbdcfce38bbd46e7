/* test_popular.c - recent popularity of popular.h: plain counts and
 * half-life decayed sums checked against hand-computed values, the ranked
 * order (score descending, ties by lower id), items without events left
 * out, out-of-range items ignored, and pop_rank after editing scores. */
#include "popular.h"
#include "tap.h"

#include <stdint.h>

static void expect_ranked(const pop_table *t, const uint32_t *want, size_t n) {
    if (t->n_ranked != n) FAIL("n_ranked is %zu, want %zu", t->n_ranked, n);
    for (size_t r = 0; r < n; r++)
        if (t->ranked[r] != want[r])
            FAIL("ranked[%zu] is item %u, want item %u", r, t->ranked[r], want[r]);
}

/* Plain counts (half_life 0): ties broken by the lower id, items without
 * events unranked, events on items >= n_items ignored. */
static void test_counts(void) {
    /* item: 0 1 2 3 4 5 6 7
     * n:    2 0 3 2 1 0 3 2 (+ events on items 8, 9 and UINT32_MAX) */
    const uint32_t items[] = {6, 0, 2, 8, 3, 7, 2, 6, 4, 0, UINT32_MAX, 3, 2, 7, 6, 9};
    ds_event ev[16];
    size_t n = sizeof(items) / sizeof(items[0]);
    for (size_t e = 0; e < n; e++) /* timestamps must not matter without a half-life */
        ev[e] = (ds_event){(uint32_t)e % 3, items[e], 1000 + (int64_t)e * 86400 * 30, 1};
    pop_table t;
    mx_err err = {0};
    ASSERT_EQ(pop_compute(ev, n, 8, 0, 5000, &t, &err), 0);
    ASSERT_EQ(t.n_items, 8);
    const float want[8] = {2, 0, 3, 2, 1, 0, 3, 2};
    for (size_t i = 0; i < 8; i++) {
        ASSERT(t.score[i] == want[i]);
        ASSERT(t.count[i] == want[i]);
    }
    expect_ranked(&t, (const uint32_t[]){2, 6, 0, 3, 7, 4}, 6);
    pop_free(&t);
    ASSERT(t.score == NULL && t.count == NULL && t.ranked == NULL && t.n_ranked == 0);
    pop_free(NULL);

    /* no events at all, and an empty catalogue */
    ASSERT_EQ(pop_compute(ev, 0, 5, 0, 0, &t, &err), 0);
    ASSERT_EQ(t.n_ranked, 0);
    for (size_t i = 0; i < 5; i++)
        ASSERT(t.score[i] == 0 && t.count[i] == 0);
    pop_free(&t);
    ASSERT_EQ(pop_compute(ev, n, 0, 0, 0, &t, &err), 0); /* every event out of range */
    ASSERT_EQ(t.n_items, 0);
    ASSERT_EQ(t.n_ranked, 0);
    pop_free(&t);
    TEST_OK("plain counts: scores equal counts, ties by lower id, no-event items unranked");
    TEST_OK("events on items >= n_items are ignored");
}

/* score_i = sum 2^(-(t_ref - ts) / half_life); count stays the plain count. */
static void test_half_life(void) {
    const double hl = 100;
    const int64_t now = 10000;
    const ds_event ev[] = {
        {0, 0, now, 1},                              /* item 0: 1 + 1/2 + 1/4 = 1.75 */
        {1, 0, now - 100, 1},                        /*          (three events) */
        {2, 0, now - 200, 1},  {0, 1, now - 300, 1}, /* item 1: 4 x 1/8 = 0.5 (four events) */
        {1, 1, now - 300, 1},  {2, 1, now - 300, 1},
        {3, 1, now - 300, 1},  {0, 2, now - 50, 1}, /* item 2: 2^-0.5 + 2^-1.5 */
        {1, 2, now - 150, 1},                       /*   = 0.70710678 + 0.35355339 */
        {0, 4, now, 1},                             /* item 4: exactly 1 */
        {0, 5, now - 1000, 1},                      /* item 5: 2^-10 = 0.0009765625 */
        {0, 6, now + 100, 1},                       /* item 6: after t_ref, weight 2 */
        {0, 9, now, 1},                             /* out of range */
    };
    size_t n = sizeof(ev) / sizeof(ev[0]);
    pop_table t;
    mx_err err = {0};
    ASSERT_EQ(pop_compute(ev, n, 7, hl, now, &t, &err), 0);
    ASSERT_NEAR(t.score[0], 1.75, 1e-6);
    ASSERT_NEAR(t.score[1], 0.5, 1e-6);
    ASSERT_NEAR(t.score[2], 1.0606601717798212, 1e-6);
    ASSERT(t.score[3] == 0);
    ASSERT_NEAR(t.score[4], 1.0, 1e-6);
    ASSERT_NEAR(t.score[5], 0.0009765625, 1e-9);
    ASSERT_NEAR(t.score[6], 2.0, 1e-6);
    const float counts[7] = {3, 4, 2, 0, 1, 1, 1};
    for (size_t i = 0; i < 7; i++)
        ASSERT(t.count[i] == counts[i]);
    /* the decay reorders: item 1 has the most events but ranks low */
    expect_ranked(&t, (const uint32_t[]){6, 0, 2, 4, 1, 5}, 6);
    pop_free(&t);

    /* a realistic half-life in seconds: 14 days, events 3 and 28 days old */
    const double day = 86400, hl14 = 14 * day;
    const ds_event ev2[] = {{0, 0, now - (int64_t)(3 * day), 1},
                            {0, 1, now - (int64_t)(28 * day), 1},
                            {1, 1, now - (int64_t)(28 * day), 1}};
    ASSERT_EQ(pop_compute(ev2, 3, 2, hl14, now, &t, &err), 0);
    ASSERT_NEAR(t.score[0], pow(2, -3.0 / 14.0), 1e-6);
    ASSERT_NEAR(t.score[1], 0.5, 1e-6); /* 2 x 2^-2 */
    expect_ranked(&t, (const uint32_t[]){0, 1}, 2);
    pop_free(&t);

    /* equal decayed scores tie by lower id */
    const ds_event ev3[] = {
        {0, 3, now - 100, 1}, {0, 1, now - 200, 1}, {1, 1, now - 200, 1}, {0, 2, now - 100, 1}};
    ASSERT_EQ(pop_compute(ev3, 4, 4, hl, now, &t, &err), 0);
    ASSERT_NEAR(t.score[1], 0.5, 1e-7);
    ASSERT_NEAR(t.score[2], 0.5, 1e-7);
    ASSERT_NEAR(t.score[3], 0.5, 1e-7);
    expect_ranked(&t, (const uint32_t[]){1, 2, 3}, 3);
    pop_free(&t);
    TEST_OK("half-life: scores are sums of 2^(-age/half_life), counts stay plain");
    TEST_OK("half-life: ranked by decayed score, ties by lower id");
}

/* pop_rank rebuilds the order from edited scores (as after a load). */
static void test_rank(void) {
    const ds_event ev[] = {{0, 0, 1, 1}, {0, 1, 1, 1}, {1, 1, 1, 1}, {0, 3, 1, 1}};
    pop_table t;
    mx_err err = {0};
    ASSERT_EQ(pop_compute(ev, 4, 6, 0, 1, &t, &err), 0);
    expect_ranked(&t, (const uint32_t[]){1, 0, 3}, 3);
    t.score[0] = 0;     /* drops out */
    t.score[2] = 7.5f;  /* had no events: now first */
    t.score[4] = 0.25f; /* appears last */
    t.score[5] = -1;    /* negative scores are not ranked */
    t.score[3] = 2;     /* ties with item 1; the lower id wins */
    ASSERT_EQ(pop_rank(&t, &err), 0);
    expect_ranked(&t, (const uint32_t[]){2, 1, 3, 4}, 4);
    /* counts are untouched by pop_rank */
    ASSERT(t.count[0] == 1 && t.count[1] == 2 && t.count[2] == 0 && t.count[3] == 1);
    for (size_t i = 0; i < 6; i++)
        t.score[i] = 0;
    ASSERT_EQ(pop_rank(&t, &err), 0);
    ASSERT_EQ(t.n_ranked, 0);
    for (size_t i = 0; i < 6; i++)
        t.score[i] = 1;
    ASSERT_EQ(pop_rank(&t, &err), 0);
    expect_ranked(&t, (const uint32_t[]){0, 1, 2, 3, 4, 5}, 6);
    pop_free(&t);
    TEST_OK("pop_rank after editing scores: new order, zero and negative scores unranked");
}

/* A larger random check: the ranked list is exactly the items with a
 * positive score, sorted by (score desc, id asc). */
static void test_random(void) {
    enum { NI = 500, NE = 3000 };
    static ds_event ev[NE];
    uint64_t x = 12345;
    for (size_t e = 0; e < NE; e++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t item = (uint32_t)((x >> 33) % (NI + 50)); /* some out of range */
        if (item % 7 == 0) item++;                         /* and some never engaged */
        ev[e] = (ds_event){(uint32_t)e, item, (int64_t)((x >> 20) % 100000), 1};
    }
    for (int decay = 0; decay < 2; decay++) {
        pop_table t;
        mx_err err = {0};
        ASSERT_EQ(pop_compute(ev, NE, NI, decay ? 20000 : 0, 100000, &t, &err), 0);
        size_t positive = 0;
        for (size_t i = 0; i < NI; i++)
            positive += t.score[i] > 0;
        ASSERT_EQ(t.n_ranked, positive);
        ASSERT(positive > 400 && positive < NI - 60);
        for (size_t r = 1; r < t.n_ranked; r++) {
            uint32_t a = t.ranked[r - 1], b = t.ranked[r];
            ASSERT(t.score[a] > t.score[b] || (t.score[a] == t.score[b] && a < b));
        }
        pop_free(&t);
    }
    TEST_OK("random events: ranked = positive-score items by (score desc, id asc)");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_counts();
    test_half_life();
    test_rank();
    test_random();
    return 0;
}

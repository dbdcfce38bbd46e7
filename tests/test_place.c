/* test_place.c - place.h: promotions and fresh items into a ranked answer
 * (every third slot, a fixed position, candidates already present counting,
 * too few candidates, pages shorter than the positions, rules colliding,
 * catalogue-only items, scores and reasons). */
#include <string.h>

#include "tap.h"

#include "place.h"

#define K_MAX 64

static rec_item organic[K_MAX], out[K_MAX];
static uint8_t scratch[PLACE_SCRATCH_BYTES(K_MAX)];

/* organic items base, base+1, ... in order, as rec_recommend answers */
static void make_organic(size_t n, uint32_t base) {
    memset(organic, 0, sizeof(organic));
    for (size_t i = 0; i < n; i++) {
        organic[i].item = base + (uint32_t)i;
        organic[i].score = 1.0f / (float)(1 + i);
        organic[i].reason = REC_REASON_LONG_TERM;
        organic[i].placed_by = REC_PLACED_ORDER;
    }
}

static rec_item cand(uint32_t item) {
    rec_item it = {0};
    it.item = item;
    it.reason = REC_REASON_POPULAR; /* overwritten when placed */
    return it;
}

/* out[0..n) has exactly these item ids, and every score is 1 / (1 + pos). */
static void expect_items(size_t n, const uint32_t *want, size_t n_want) {
    ASSERT_EQ(n, n_want);
    for (size_t i = 0; i < n; i++) {
        if (out[i].item != want[i]) FAIL("position %zu: item %u, want %u", i, out[i].item, want[i]);
        ASSERT_NEAR(out[i].score, 1.0f / (float)(1 + i), 1e-6);
    }
}

static rec_item promo_c[8], fresh_c[8];

static place_rule share_rule(uint8_t reason, double s, rec_item *c, size_t n) {
    return (place_rule){.reason = reason, .share = s, .cands = c, .n_cands = n};
}

static void test_every_third(void) {
    size_t pos[16];
    ASSERT_EQ(place_share_positions(1.0 / 3, 10, pos, 16), 3);
    ASSERT(pos[0] == 2 && pos[1] == 5 && pos[2] == 8);
    ASSERT_EQ(place_share_positions(0.1, 10, pos, 16), 1);
    ASSERT_EQ(pos[0], 9);
    ASSERT_EQ(place_share_positions(0.2, 10, pos, 16), 2);
    ASSERT(pos[0] == 4 && pos[1] == 9);
    ASSERT_EQ(place_share_positions(1, 4, pos, 16), 4);
    ASSERT(pos[0] == 0 && pos[3] == 3);
    ASSERT_EQ(place_share_positions(0, 10, pos, 16), 0);
    ASSERT_EQ(place_share_positions(1.5, 10, pos, 16), 0);

    make_organic(20, 100);
    for (int i = 0; i < 4; i++)
        promo_c[i] = cand(200 + (uint32_t)i);
    place_rule r = share_rule(REC_REASON_PROMOTED, 1.0 / 3, promo_c, 4);
    size_t n;
    place_apply(organic, 20, 10, &r, 1, out, &n, scratch);
    uint32_t want[] = {100, 101, 200, 102, 103, 201, 104, 105, 202, 106};
    expect_items(n, want, 10);
    ASSERT(r.n_planned == 3 && r.n_present == 0 && r.n_inserted == 3);
    for (size_t i = 0; i < n; i++) {
        int placed = i == 2 || i == 5 || i == 8;
        ASSERT_EQ(out[i].reason, placed ? REC_REASON_PROMOTED : REC_REASON_LONG_TERM);
        ASSERT_EQ(out[i].placed_by, placed ? REC_PLACED_PROMOTION : REC_PLACED_ORDER);
    }
    ASSERT_STR_EQ(rec_reason_name(out[2].reason), "promoted");
    ASSERT_STR_EQ(rec_placed_name(out[2].placed_by, 1), "promotion");
    ASSERT_STR_EQ(rec_reason_name(REC_REASON_NEW), "new");
    ASSERT_STR_EQ(rec_placed_name(REC_PLACED_FRESH, 0), "fresh");
    TEST_OK("share 1/3 on k = 10: every third slot (2, 5, 8), organic items shift down, cut to "
            "k, scores 1/(1+pos), reason promoted, placed_by promotion");
}

static void test_fixed_position(void) {
    make_organic(10, 100);
    promo_c[0] = cand(300);
    place_rule r = {.reason = REC_REASON_PROMOTED, .position = 0, .cands = promo_c, .n_cands = 1};
    size_t n;
    place_apply(organic, 10, 5, &r, 1, out, &n, scratch);
    uint32_t want[] = {300, 100, 101, 102, 103};
    expect_items(n, want, 5);
    ASSERT(r.n_planned == 1 && r.n_inserted == 1);
    r.position = 4;
    place_apply(organic, 10, 5, &r, 1, out, &n, scratch);
    uint32_t want4[] = {100, 101, 102, 103, 300};
    expect_items(n, want4, 5);
    r.position = 5; /* past the page */
    place_apply(organic, 10, 5, &r, 1, out, &n, scratch);
    uint32_t want5[] = {100, 101, 102, 103, 104};
    expect_items(n, want5, 5);
    ASSERT(r.n_planned == 0 && r.n_inserted == 0);
    TEST_OK("position rule: one slot at p (0 and the last), none when p >= k");
}

static void test_present_counts(void) {
    make_organic(20, 100);
    promo_c[0] = cand(103); /* organic at 3: stays there, counts as one slot */
    promo_c[1] = cand(200);
    promo_c[2] = cand(201);
    promo_c[3] = cand(202);
    place_rule r = share_rule(REC_REASON_PROMOTED, 1.0 / 3, promo_c, 4);
    size_t n;
    place_apply(organic, 20, 10, &r, 1, out, &n, scratch);
    uint32_t want[] = {100, 101, 200, 102, 103, 201, 104, 105, 106, 107};
    expect_items(n, want, 10);
    ASSERT(r.n_planned == 3 && r.n_present == 1 && r.n_inserted == 2);
    ASSERT_EQ(out[4].reason, REC_REASON_LONG_TERM); /* it was there on its own */
    ASSERT_EQ(out[4].placed_by, REC_PLACED_ORDER);
    /* a present item that the slots push past k does not count: it would be
     * cut, so the rule places it in one of its slots, and nothing is there
     * twice (5 planned, 4 candidates) */
    promo_c[0] = cand(109);
    r = share_rule(REC_REASON_PROMOTED, 0.5, promo_c, 4);
    place_apply(organic, 20, 10, &r, 1, out, &n, scratch);
    uint32_t want2[] = {100, 109, 101, 200, 102, 201, 103, 202, 104, 105};
    expect_items(n, want2, 10);
    ASSERT(r.n_present == 0 && r.n_inserted == 4);
    ASSERT_EQ(out[1].reason, REC_REASON_PROMOTED);
    /* present near the end: 3 slots would push 107 (organic 7) off the
     * page, but with one candidate to insert only one slot is taken, so it
     * stays (at 8) and counts */
    promo_c[0] = cand(107);
    r = share_rule(REC_REASON_PROMOTED, 0.3, promo_c, 2);
    place_apply(organic, 20, 10, &r, 1, out, &n, scratch);
    uint32_t want3[] = {100, 101, 200, 102, 103, 104, 105, 106, 107, 108};
    expect_items(n, want3, 10);
    ASSERT(r.n_planned == 3 && r.n_present == 1 && r.n_inserted == 1);
    TEST_OK("candidates already in the answer stay, keep their reason and count toward the "
            "slots; one pushed past k does not count and is not doubled");
}

static void test_too_few_and_short(void) {
    make_organic(20, 100);
    promo_c[0] = cand(200);
    place_rule r = share_rule(REC_REASON_PROMOTED, 1.0 / 3, promo_c, 1);
    size_t n;
    place_apply(organic, 20, 10, &r, 1, out, &n, scratch);
    uint32_t want[] = {100, 101, 200, 102, 103, 104, 105, 106, 107, 108};
    expect_items(n, want, 10);
    ASSERT(r.n_planned == 3 && r.n_inserted == 1);
    r.n_cands = 0;
    place_apply(organic, 20, 10, &r, 1, out, &n, scratch);
    ASSERT_EQ(n, 10);
    ASSERT_EQ(out[2].item, 102);
    ASSERT_EQ(r.n_inserted, 0);
    /* k smaller than the positions: share 0.2 of k = 2 rounds to no slot;
     * 0.15 of 10 is two slots, the second (12) clamped to the last */
    r = share_rule(REC_REASON_PROMOTED, 0.2, promo_c, 1);
    place_apply(organic, 20, 2, &r, 1, out, &n, scratch);
    uint32_t want2[] = {100, 101};
    expect_items(n, want2, 2);
    ASSERT_EQ(r.n_planned, 0);
    promo_c[1] = cand(201);
    r = share_rule(REC_REASON_PROMOTED, 0.15, promo_c, 2);
    place_apply(organic, 20, 10, &r, 1, out, &n, scratch);
    uint32_t want3[] = {100, 101, 102, 103, 104, 200, 105, 106, 107, 201};
    expect_items(n, want3, 10);
    /* fewer organic items than free slots: the page closes its gaps */
    make_organic(3, 100);
    promo_c[2] = cand(202);
    r = share_rule(REC_REASON_PROMOTED, 1.0 / 3, promo_c, 3);
    place_apply(organic, 3, 10, &r, 1, out, &n, scratch);
    uint32_t want4[] = {100, 101, 200, 102, 201, 202};
    expect_items(n, want4, 6);
    /* no organic answer at all: the rule's items alone */
    place_apply(organic, 0, 10, &r, 1, out, &n, scratch);
    uint32_t want5[] = {200, 201, 202};
    expect_items(n, want5, 3);
    /* k = 0 and a bad rule place nothing */
    place_apply(organic, 3, 0, &r, 1, out, &n, scratch);
    ASSERT_EQ(n, 0);
    r.share = 1.5;
    place_apply(organic, 3, 10, &r, 1, out, &n, scratch);
    ASSERT(n == 3 && r.n_inserted == 0);
    r.share = 0.5;
    r.reason = REC_REASON_SESSION;
    place_apply(organic, 3, 10, &r, 1, out, &n, scratch);
    ASSERT(n == 3 && r.n_inserted == 0);
    TEST_OK("too few candidates: fewer slots, organic items keep the rest; pages shorter than "
            "the positions (no slot, clamped to the last); gaps closed; bad rules place nothing");
}

static void test_collisions(void) {
    make_organic(20, 100);
    promo_c[0] = cand(300);
    for (int i = 0; i < 4; i++)
        fresh_c[i] = cand(400 + (uint32_t)i);
    place_rule rules[2] = {
        {.reason = REC_REASON_PROMOTED, .position = 2, .cands = promo_c, .n_cands = 1},
        share_rule(REC_REASON_NEW, 1.0 / 3, fresh_c, 4),
    };
    size_t n;
    place_apply(organic, 20, 10, rules, 2, out, &n, scratch);
    /* the fresh rule planned 2 (taken): the next free, 3; then 5 and 8 */
    uint32_t want[] = {100, 101, 300, 400, 102, 401, 103, 104, 402, 105};
    expect_items(n, want, 10);
    ASSERT(out[2].reason == REC_REASON_PROMOTED && out[2].placed_by == REC_PLACED_PROMOTION);
    for (int i = 3; i <= 8; i += (i == 3 ? 2 : 3)) {
        ASSERT_EQ(out[i].reason, REC_REASON_NEW);
        ASSERT_EQ(out[i].placed_by, REC_PLACED_FRESH);
    }
    ASSERT(rules[0].n_inserted == 1 && rules[1].n_inserted == 3);
    /* a candidate of both: placed once, by the first rule; the second takes
     * its next one */
    fresh_c[0] = cand(300);
    place_apply(organic, 20, 10, rules, 2, out, &n, scratch);
    uint32_t want2[] = {100, 101, 300, 401, 102, 402, 103, 104, 403, 105};
    expect_items(n, want2, 10);
    /* every slot at the end taken: a later rule takes the last free one before */
    rules[0] =
        (place_rule){.reason = REC_REASON_PROMOTED, .position = 9, .cands = promo_c, .n_cands = 1};
    rules[1] =
        (place_rule){.reason = REC_REASON_NEW, .position = 9, .cands = fresh_c + 1, .n_cands = 1};
    place_apply(organic, 20, 10, rules, 2, out, &n, scratch);
    uint32_t want3[] = {100, 101, 102, 103, 104, 105, 106, 107, 401, 300};
    expect_items(n, want3, 10);
    /* shares of two rules filling the page: all of it, no slot twice */
    for (int i = 0; i < 8; i++)
        promo_c[i] = cand(500 + (uint32_t)i);
    rules[0] = share_rule(REC_REASON_PROMOTED, 0.5, promo_c, 8);
    for (int i = 0; i < 8; i++)
        fresh_c[i] = cand(600 + (uint32_t)i);
    rules[1] = share_rule(REC_REASON_NEW, 0.5, fresh_c, 8);
    place_apply(organic, 20, 10, rules, 2, out, &n, scratch);
    ASSERT_EQ(n, 10);
    ASSERT(rules[0].n_inserted == 5 && rules[1].n_inserted == 5);
    for (size_t i = 0; i < n; i++)
        ASSERT(out[i].item >= 500 && out[i].item < 700);
    TEST_OK("two rules: never one slot, the later takes the next free one (or the last free "
            "before at the page end); a shared candidate placed once");
}

static void test_catalogue_items(void) {
    static const rec_extra ea = {.id = "new-a"}, eb = {.id = "new-b"}, ea2 = {.id = "new-a"};
    make_organic(10, 100);
    rec_item a = cand(UINT32_MAX), b = cand(UINT32_MAX), bad = cand(UINT32_MAX),
             a2 = cand(UINT32_MAX);
    a.extra = &ea;
    b.extra = &eb;
    a2.extra = &ea2; /* another copy of new-a */
    ASSERT(place_same_item(&a, &a2));
    ASSERT(!place_same_item(&a, &b));
    ASSERT(!place_same_item(&a, &organic[0]));
    fresh_c[0] = bad; /* no extra: skipped */
    fresh_c[1] = a;
    fresh_c[2] = a2;
    fresh_c[3] = b;
    place_rule r = share_rule(REC_REASON_NEW, 0.2, fresh_c, 4);
    size_t n;
    place_apply(organic, 10, 10, &r, 1, out, &n, scratch);
    ASSERT_EQ(n, 10);
    ASSERT(out[4].extra == &ea && out[9].extra == &eb);
    ASSERT(out[4].item == UINT32_MAX && out[4].reason == REC_REASON_NEW);
    ASSERT(out[0].extra == NULL && out[0].item == 100);
    TEST_OK("catalogue-only items (extra): the same by id, placed once, none without an id");
}

int main(void) {
    test_every_third();
    test_fixed_position();
    test_present_counts();
    test_too_few_and_short();
    test_collisions();
    test_catalogue_items();
    return 0;
}

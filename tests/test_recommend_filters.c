/* test_recommend_filters.c - the request's filters on item metadata
 * (recommend.h: rec_filter_admits): categories kept (several), categories
 * dropped, an age window from the items' first training events, on model
 * items and catalogue items (rec_extra); and rec_recommend / rec_similar
 * answering only items that pass, still k of them when the pool is
 * deep enough. */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "rec_filter.h"
#include "recommend.h"
#include "tap.h"
#include "fixture.h"

static mx_model *build(ds_dataset **ds_out) {
    *ds_out = fixture_dataset(1200, 300, 6, 8, 11);
    static const char *const settings[] = {"embed.dim=8", "interests.count=6", "mixture.top_m=6",
                                           NULL};
    return fixture_model(*ds_out, NULL, 0, settings);
}

static int has_cat(const mx_model *m, uint32_t item, uint16_t cat) {
    for (uint32_t j = m->cat_ptr[item]; j < m->cat_ptr[item + 1]; j++)
        if (m->cat_ids[j] == cat) return 1;
    return 0;
}

/* The first item having a category other than avoid (UINT16_MAX: any);
 * its first category other than avoid in *cat. */
static uint32_t item_with_category(const mx_model *m, uint16_t avoid, uint16_t *cat) {
    for (uint32_t i = 0; i < m->n_items; i++)
        for (uint32_t j = m->cat_ptr[i]; j < m->cat_ptr[i + 1]; j++)
            if (m->cat_ids[j] != avoid && !has_cat(m, i, avoid)) {
                *cat = m->cat_ids[j];
                return i;
            }
    FAIL("no item with a category other than %u", avoid);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of the items' ages at now. */
static int64_t age_quantile(const mx_model *m, int64_t now, double q) {
    int64_t *ages = malloc(m->n_items * sizeof(int64_t));
    ASSERT(ages);
    for (uint32_t i = 0; i < m->n_items; i++)
        ages[i] = now - rec_filter_first_seen(m, i);
    qsort(ages, m->n_items, sizeof(int64_t), cmp_i64);
    int64_t v = ages[(size_t)(q * (double)(m->n_items - 1))];
    free(ages);
    return v;
}

/* rec_query.categories_of of the test: item override_item has the
 * categories override_names, every other item the model's. */
static uint32_t override_item;
static const char *override_names[1];
static int override_of(const void *arg, uint32_t item, const char *const **names, size_t *n) {
    (void)arg;
    if (item != override_item) return 0;
    *names = override_names;
    *n = 1;
    return 1;
}

static void test_predicate(const mx_model *m) {
    ASSERT(m->n_categories >= 3);
    uint16_t a, b;
    uint32_t ia = item_with_category(m, UINT16_MAX, &a);
    uint32_t ib = item_with_category(m, a, &b);
    ASSERT(has_cat(m, ia, a) && !has_cat(m, ib, a) && has_cat(m, ib, b));
    uint16_t both[2] = {a, b};
    rec_query q = {.now = m->t_ref};
    ASSERT(rec_filter_admits(m, &q, ia)); /* no filter */
    ASSERT(!rec_filter_admits(m, &q, UINT32_MAX) &&
           !rec_filter_admits(m, &q, (uint32_t)m->n_items));
    q.categories = both;
    q.n_categories = 2; /* any of several */
    ASSERT(rec_filter_admits(m, &q, ia) && rec_filter_admits(m, &q, ib));
    q.n_categories = 1;
    ASSERT(rec_filter_admits(m, &q, ia) && !rec_filter_admits(m, &q, ib));
    q.not_categories = &a; /* excluded wins over included */
    q.n_not_categories = 1;
    ASSERT(!rec_filter_admits(m, &q, ia));
    q.n_categories = 0;
    ASSERT(!rec_filter_admits(m, &q, ia) && rec_filter_admits(m, &q, ib));
    q.n_not_categories = 0;

    /* the age window, both bounds inclusive */
    int64_t first = rec_filter_first_seen(m, ia);
    ASSERT(first <= m->t_ref);
    q.now = first + 100;
    q.max_age_s = 100;
    ASSERT(rec_filter_admits(m, &q, ia));
    q.max_age_s = 99;
    ASSERT(!rec_filter_admits(m, &q, ia));
    q.max_age_s = 0;
    q.min_age_s = 100;
    ASSERT(rec_filter_admits(m, &q, ia));
    q.min_age_s = 101;
    ASSERT(!rec_filter_admits(m, &q, ia));
    q.min_age_s = 0;

    /* a catalogue item: categories by name (unknown names match nothing),
     * age from added_at, unknown added_at fails any age bound */
    const char *names[2] = {"no-such-category", m->cat_names[a]};
    rec_extra x = {.id = "new-1", .categories = names, .n_categories = 2, .added_at = 1000};
    rec_query qx = {.now = 1000 + 3600, .categories = &b, .n_categories = 1};
    ASSERT(!rec_filter_admits_extra(m, &qx, &x));
    qx.categories = both;
    qx.n_categories = 2;
    ASSERT(rec_filter_admits_extra(m, &qx, &x));
    qx.not_categories = &a;
    qx.n_not_categories = 1;
    ASSERT(!rec_filter_admits_extra(m, &qx, &x));
    qx.n_not_categories = 0;
    qx.max_age_s = 3600;
    ASSERT(rec_filter_admits_extra(m, &qx, &x));
    qx.max_age_s = 3599;
    ASSERT(!rec_filter_admits_extra(m, &qx, &x));
    qx.max_age_s = 0;
    qx.min_age_s = 3601;
    ASSERT(!rec_filter_admits_extra(m, &qx, &x));
    qx.min_age_s = 60;
    ASSERT(rec_filter_admits_extra(m, &qx, &x));
    x.added_at = 0;
    ASSERT(!rec_filter_admits_extra(m, &qx, &x));
    qx.min_age_s = 0;
    ASSERT(rec_filter_admits_extra(m, &qx, &x));

    /* an operator moved ia from a to b: the filters follow the override */
    override_item = ia;
    override_names[0] = m->cat_names[b];
    rec_query qo = {.now = m->t_ref, .categories = &a, .n_categories = 1};
    ASSERT(rec_filter_admits(m, &qo, ia)); /* no override known: the model's a */
    qo.categories_of = override_of;
    ASSERT(!rec_filter_admits(m, &qo, ia)); /* now in b only */
    qo.categories = &b;
    ASSERT(rec_filter_admits(m, &qo, ia) && rec_filter_admits(m, &qo, ib));
    qo.n_categories = 0;
    qo.not_categories = &b;
    qo.n_not_categories = 1;
    ASSERT(!rec_filter_admits(m, &qo, ia));
    qo.not_categories = &a;
    ASSERT(rec_filter_admits(m, &qo, ia)); /* a is no longer its category */
    TEST_OK("predicate: several categories kept, excluded ones win, age window inclusive, "
            "catalogue items by name and added_at, operators' categories followed");
}

/* Asserts every item of out[0..n) passes q and returns how many have cat. */
static size_t check_all(const mx_model *m, const rec_query *q, const rec_item *out, size_t n,
                        uint16_t cat) {
    size_t with = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT(rec_filter_admits(m, q, out[i].item));
        with += has_cat(m, out[i].item, cat);
    }
    return with;
}

static void test_answers(const mx_model *m) {
    rec_params p;
    rec_params_init(&p);
    rec_ctx *c = rec_ctx_new(m, 200);
    ASSERT(c);
    rec_item out[200];
    size_t n = 0;
    mx_err err = {0};
    uint32_t u = 3;
    /* two categories of the user's own answer: both kept, nothing else */
    rec_query q0 = {.user = u, .k = 20, .now = m->t_ref};
    ASSERT_EQ(rec_recommend(c, &p, &q0, out, &n, &err), 0);
    ASSERT_EQ(n, 20);
    uint16_t two[2] = {m->cat_ids[m->cat_ptr[out[0].item]], 0};
    uint32_t other = UINT32_MAX;
    for (size_t i = 1; i < n && other == UINT32_MAX; i++)
        if (!has_cat(m, out[i].item, two[0]) &&
            m->cat_ptr[out[i].item + 1] > m->cat_ptr[out[i].item])
            other = out[i].item;
    ASSERT(other != UINT32_MAX);
    two[1] = m->cat_ids[m->cat_ptr[other]];
    rec_query q = {.user = u, .k = 20, .now = m->t_ref, .categories = two, .n_categories = 2};
    ASSERT_EQ(rec_recommend(c, &p, &q, out, &n, &err), 0);
    ASSERT_EQ(n, 20);
    size_t with_a = check_all(m, &q, out, n, two[0]), with_b = check_all(m, &q, out, n, two[1]);
    ASSERT(with_a > 0 && with_b > 0 && with_a + with_b >= n);

    /* the same two excluded: none has them, still k */
    rec_query qn = {
        .user = u, .k = 20, .now = m->t_ref, .not_categories = two, .n_not_categories = 2};
    ASSERT_EQ(rec_recommend(c, &p, &qn, out, &n, &err), 0);
    ASSERT_EQ(n, 20);
    ASSERT_EQ(check_all(m, &qn, out, n, two[0]) + check_all(m, &qn, out, n, two[1]), 0);

    /* an age window, a day after the training data ends: the freshest
     * half, the oldest half (k of them), then the freshest and oldest
     * quarter (a strict window thins a pool of at most max_k: fewer than
     * k may pass, never an item outside) */
    int64_t now = m->t_ref + 86400;
    int64_t young = age_quantile(m, now, 0.25), mid = age_quantile(m, now, 0.5),
            old = age_quantile(m, now, 0.75);
    ASSERT(young > 86400 && mid > young && old > mid);
    printf("# item ages a day after t_ref: 25%% %lld s, 50%% %lld s, 75%% %lld s\n",
           (long long)young, (long long)mid, (long long)old);
    const int64_t win[4][2] = {{0, mid}, {mid, 0}, {0, young}, {old, 0}}; /* min, max */
    for (int w = 0; w < 4; w++) {
        rec_query qa = {
            .user = u, .k = 20, .now = now, .min_age_s = win[w][0], .max_age_s = win[w][1]};
        ASSERT_EQ(rec_recommend(c, &p, &qa, out, &n, &err), 0);
        printf("# min_age %lld max_age %lld: %zu of 20\n", (long long)win[w][0],
               (long long)win[w][1], n);
        ASSERT(w < 2 ? n == 20 : n > 0);
        for (size_t i = 0; i < n; i++) {
            int64_t age = now - rec_filter_first_seen(m, out[i].item);
            ASSERT(age >= win[w][0] && (win[w][1] == 0 || age <= win[w][1]));
        }
    }
    /* an anonymous visitor too (the popular items) */
    rec_query qp = {.user = -1, .k = 10, .now = now, .min_age_s = old};
    ASSERT_EQ(rec_recommend(c, &p, &qp, out, &n, &err), 0);
    ASSERT_EQ(n, 10);
    check_all(m, &qp, out, n, 0);
    /* a window no item is in: an empty answer, no error */
    rec_query qe = {.user = u, .k = 20, .now = now, .max_age_s = 1};
    ASSERT_EQ(rec_recommend(c, &p, &qe, out, &n, &err), 0);
    ASSERT_EQ(n, 0);

    /* similar items: the same predicate */
    rec_query qs = {.k = 10, .now = now, .categories = two, .n_categories = 2, .max_age_s = mid};
    uint32_t it = 0; /* an item passing the filters: its neighbours do too, many of them */
    while (it < m->n_items && !rec_filter_admits(m, &qs, it))
        it++;
    ASSERT(it < m->n_items);
    ASSERT_EQ(rec_similar(c, it, &qs, out, &n, &err), 0);
    ASSERT_EQ(n, 10);
    check_all(m, &qs, out, n, 0);
    qs.n_categories = 0;
    qs.not_categories = two;
    qs.n_not_categories = 2;
    qs.max_age_s = 0;
    qs.min_age_s = mid;
    ASSERT_EQ(rec_similar(c, it, &qs, out, &n, &err), 0);
    ASSERT_EQ(n, 10);
    ASSERT_EQ(check_all(m, &qs, out, n, two[0]) + check_all(m, &qs, out, n, two[1]), 0);
    rec_ctx_free(c);
    TEST_OK("answers: two categories kept, two dropped, max_age and min_age windows (user, "
            "anonymous, similar items), an empty window");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    ds_dataset *ds = NULL;
    mx_model *m = build(&ds);
    test_predicate(m);
    test_answers(m);
    model_free(m);
    ds_free(ds);
    return 0;
}

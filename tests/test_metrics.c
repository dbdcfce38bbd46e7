/* test_metrics.c - unit tests for metrics.c against hand-computed values.
 * Every expected number below is worked out from the definitions in
 * metrics.h, not taken from a run of the code. argv[1] (tests/data) is
 * not needed: the small catalogue is built with the programmatic API. */
#include "metrics.h"

#include <jansson.h>

#include "tap.h"

#define EPS 1e-12

/* 1 / log2(r + 2): the DCG discount of 0-based rank r. */
static double disc(size_t r) {
    return 1.0 / log2((double)r + 2.0);
}

static void test_bad_ks(void) {
    size_t ok[] = {1, 5, 10};
    size_t zero[] = {0, 5};
    size_t same[] = {5, 5};
    size_t down[] = {10, 5};
    size_t many[MET_MAX_KS + 1] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    ASSERT(met_new(NULL, 1, 10, NULL, NULL) == NULL);
    ASSERT(met_new(ok, 0, 10, NULL, NULL) == NULL);
    ASSERT(met_new(zero, 2, 10, NULL, NULL) == NULL);
    ASSERT(met_new(same, 2, 10, NULL, NULL) == NULL);
    ASSERT(met_new(down, 2, 10, NULL, NULL) == NULL);
    ASSERT(met_new(many, MET_MAX_KS + 1, 10, NULL, NULL) == NULL);
    met_acc *a = met_new(many, MET_MAX_KS, 10, NULL, NULL);
    ASSERT(a != NULL);
    met_free(a);
    met_free(NULL);

    /* A fresh accumulator summarizes to zeros, not NaN. */
    a = met_new(ok, 3, 10, NULL, NULL);
    ASSERT(a != NULL);
    met_summary s;
    met_summarize(a, &s);
    ASSERT_EQ(s.n_users, 0);
    ASSERT_EQ(s.n_ks, 3);
    ASSERT_EQ(s.ks[2], 10);
    ASSERT_NEAR(s.recall[0], 0.0, EPS);
    ASSERT_NEAR(s.ndcg[2], 0.0, EPS);
    ASSERT_NEAR(s.bucket_recall100[1], 0.0, EPS);
    ASSERT_EQ(s.has_genres, 0);
    met_free(a);
    TEST_OK("bad ks rejected, empty summary is zero");
}

/* The example from the brief: hits at ranks 0 and 2, |R| = 3. */
static void test_recall_ndcg(void) {
    size_t ks[] = {1, 3, 5};
    met_acc *a = met_new(ks, 3, 100, NULL, NULL);
    ASSERT(a != NULL);
    uint32_t ranked[] = {10, 11, 12, 13, 14};
    uint32_t rel[] = {50, 12, 10}; /* any order */
    ASSERT_EQ(met_add(a, ranked, 5, rel, 3, 0), 0);
    met_summary s;
    met_summarize(a, &s);
    ASSERT_EQ(s.n_users, 1);
    ASSERT_NEAR(s.recall[0], 1.0 / 3.0, EPS);
    ASSERT_NEAR(s.recall[1], 2.0 / 3.0, EPS);
    ASSERT_NEAR(s.recall[2], 2.0 / 3.0, EPS);
    /* @1: one hit at rank 0, ideal is one hit at rank 0. */
    ASSERT_NEAR(s.ndcg[0], 1.0, EPS);
    /* @3 and @5: ideal has all three relevant items at ranks 0..2. */
    double idcg3 = 1.0 + 1.0 / log2(3.0) + 1.0 / log2(4.0);
    ASSERT_NEAR(s.ndcg[1], (1.0 + 1.0 / log2(4.0)) / idcg3, EPS);
    ASSERT_NEAR(s.ndcg[2], (1.0 + 1.0 / log2(4.0)) / idcg3, EPS);
    ASSERT_NEAR(s.ndcg[2], 1.5 / (1.5 + 1.0 / log2(3.0)), EPS);
    /* No clusters given, no dataset: both stay 0. */
    ASSERT_NEAR(s.clusters[2], 0.0, EPS);
    ASSERT_NEAR(s.genres[2], 0.0, EPS);
    met_free(a);

    /* |R| larger than K: IDCG@K uses only K ideal hits, so a perfect top K
     * scores 1 while recall is K/|R|. */
    size_t ks2[] = {2};
    a = met_new(ks2, 1, 100, NULL, NULL);
    ASSERT(a != NULL);
    uint32_t r2[] = {1, 2, 3};
    uint32_t rel2[] = {1, 2, 3, 4};
    ASSERT_EQ(met_add(a, r2, 3, rel2, 4, 0), 0);
    met_summarize(a, &s);
    ASSERT_NEAR(s.recall[0], 0.5, EPS);
    ASSERT_NEAR(s.ndcg[0], 1.0, EPS);
    met_free(a);

    /* A single hit at rank 3 only. */
    size_t ks3[] = {3, 4};
    a = met_new(ks3, 2, 100, NULL, NULL);
    ASSERT(a != NULL);
    uint32_t r3[] = {5, 6, 7, 8, 9};
    uint32_t rel3[] = {8, 40};
    ASSERT_EQ(met_add(a, r3, 5, rel3, 2, 0), 0);
    met_summarize(a, &s);
    ASSERT_NEAR(s.recall[0], 0.0, EPS);
    ASSERT_NEAR(s.ndcg[0], 0.0, EPS);
    ASSERT_NEAR(s.recall[1], 0.5, EPS);
    ASSERT_NEAR(s.ndcg[1], disc(3) / (disc(0) + disc(1)), EPS);
    met_free(a);
    TEST_OK("recall and ndcg of a ranked list");
}

static void test_short_and_duplicates(void) {
    size_t ks[] = {1, 5};
    met_acc *a = met_new(ks, 2, 100, NULL, NULL);
    ASSERT(a != NULL);
    met_summary s;

    /* Two items against K = 5: ranks 2..4 are misses. The hit is at rank 1. */
    uint32_t r1[] = {5, 6};
    uint32_t rel1[] = {6};
    ASSERT_EQ(met_add(a, r1, 2, rel1, 1, 0), 0);
    met_summarize(a, &s);
    ASSERT_NEAR(s.recall[0], 0.0, EPS);
    ASSERT_NEAR(s.ndcg[0], 0.0, EPS);
    ASSERT_NEAR(s.recall[1], 1.0, EPS);
    ASSERT_NEAR(s.ndcg[1], disc(1), EPS);
    met_free(a);

    /* An empty list is all misses but still a user. */
    a = met_new(ks, 2, 100, NULL, NULL);
    ASSERT(a != NULL);
    ASSERT_EQ(met_add(a, NULL, 0, rel1, 1, 0), 0);
    met_summarize(a, &s);
    ASSERT_EQ(s.n_users, 1);
    ASSERT_NEAR(s.recall[1], 0.0, EPS);
    ASSERT_NEAR(s.ndcg[1], 0.0, EPS);
    met_free(a);

    /* Duplicate relevant items count once: |R| = {7, 8} = 2. */
    a = met_new(ks, 2, 100, NULL, NULL);
    ASSERT(a != NULL);
    uint32_t r2[] = {7};
    uint32_t rel2[] = {7, 7, 8, 7};
    ASSERT_EQ(met_add(a, r2, 1, rel2, 4, 0), 0);
    met_summarize(a, &s);
    ASSERT_NEAR(s.recall[0], 0.5, EPS);
    ASSERT_NEAR(s.ndcg[0], 1.0, EPS);
    ASSERT_NEAR(s.recall[1], 0.5, EPS);
    ASSERT_NEAR(s.ndcg[1], 1.0 / (disc(0) + disc(1)), EPS);
    met_free(a);

    /* A ranked item repeated (not expected, but must not push recall over
     * 1): the second 7 is not a second hit. */
    a = met_new(ks, 2, 100, NULL, NULL);
    ASSERT(a != NULL);
    uint32_t r3[] = {7, 7, 8};
    ASSERT_EQ(met_add(a, r3, 3, rel2, 4, 0), 0);
    met_summarize(a, &s);
    ASSERT_NEAR(s.recall[1], 1.0, EPS);
    ASSERT_NEAR(s.ndcg[1], (disc(0) + disc(2)) / (disc(0) + disc(1)), EPS);
    met_free(a);
    TEST_OK("short lists and duplicates");
}

static void test_skip_and_average(void) {
    size_t ks[] = {2};
    met_acc *a = met_new(ks, 1, 10, NULL, NULL);
    ASSERT(a != NULL);
    met_summary s;

    /* No relevant items: skipped entirely, coverage included. */
    uint32_t r0[] = {9, 8};
    ASSERT_EQ(met_add(a, r0, 2, NULL, 0, 50), 0);
    met_summarize(a, &s);
    ASSERT_EQ(s.n_users, 0);
    ASSERT_NEAR(s.coverage[0], 0.0, EPS);
    ASSERT_EQ(s.bucket_users[2], 0);

    /* An item outside the catalogue is rejected and leaves no trace. */
    uint32_t bad[] = {1, 10};
    uint32_t rel[] = {1};
    ASSERT_EQ(met_add(a, bad, 2, rel, 1, 50), MX_EINVAL);
    ASSERT_EQ(met_add(NULL, bad, 2, rel, 1, 50), MX_EINVAL);
    met_summarize(a, &s);
    ASSERT_EQ(s.n_users, 0);
    ASSERT_NEAR(s.coverage[0], 0.0, EPS);

    /* Three users: recall@2 = 1, 0 and 1/2; ndcg@2 = 1, 0 and
     * disc(1) / (disc(0) + disc(1)). A relevant id outside the catalogue
     * is allowed: it just cannot be hit. */
    uint32_t ra[] = {1, 2};
    uint32_t rb[] = {3, 4};
    uint32_t rc[] = {5, 6};
    uint32_t relc[] = {6, 1000};
    ASSERT_EQ(met_add(a, ra, 2, rel, 1, 0), 0);
    ASSERT_EQ(met_add(a, rb, 2, rel, 1, 0), 0);
    ASSERT_EQ(met_add(a, rc, 2, relc, 2, 0), 0);
    met_summarize(a, &s);
    ASSERT_EQ(s.n_users, 3);
    ASSERT_NEAR(s.recall[0], (1.0 + 0.0 + 0.5) / 3.0, EPS);
    ASSERT_NEAR(s.ndcg[0], (1.0 + 0.0 + disc(1) / (disc(0) + disc(1))) / 3.0, EPS);
    /* Six distinct items in the top 2 of the counted users; the skipped
     * user's 8 and 9 do not count. */
    ASSERT_NEAR(s.coverage[0], 6.0 / 10.0, EPS);
    met_free(a);
    TEST_OK("skipped users and averaging");
}

static void test_clusters_coverage(void) {
    /* Ten items, two per cluster: item i is in cluster i / 2. */
    uint32_t cl[10] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4};
    size_t ks[] = {1, 2, 4, 6};
    met_acc *a = met_new(ks, 4, 10, cl, NULL);
    ASSERT(a != NULL);
    uint32_t rel[] = {9};
    met_summary s;

    /* Clusters 0, 0, 1, 2, 3, 4. */
    uint32_t r1[] = {0, 1, 2, 4, 6, 8};
    ASSERT_EQ(met_add(a, r1, 6, rel, 1, 0), 0);
    met_summarize(a, &s);
    ASSERT_NEAR(s.clusters[0], 1.0, EPS);
    ASSERT_NEAR(s.clusters[1], 1.0, EPS);
    ASSERT_NEAR(s.clusters[2], 3.0, EPS);
    ASSERT_NEAR(s.clusters[3], 5.0, EPS);
    ASSERT_NEAR(s.coverage[0], 1.0 / 10.0, EPS);
    ASSERT_NEAR(s.coverage[1], 2.0 / 10.0, EPS);
    ASSERT_NEAR(s.coverage[2], 4.0 / 10.0, EPS);
    ASSERT_NEAR(s.coverage[3], 6.0 / 10.0, EPS);

    /* Second user, short list: clusters 1, 1, 4 at every K >= 3. The
     * stamps of the first user must not leak into this count. */
    uint32_t r2[] = {3, 2, 9};
    ASSERT_EQ(met_add(a, r2, 3, rel, 1, 0), 0);
    met_summarize(a, &s);
    ASSERT_NEAR(s.clusters[0], (1.0 + 1.0) / 2.0, EPS);
    ASSERT_NEAR(s.clusters[1], (1.0 + 1.0) / 2.0, EPS);
    ASSERT_NEAR(s.clusters[2], (3.0 + 2.0) / 2.0, EPS);
    ASSERT_NEAR(s.clusters[3], (5.0 + 2.0) / 2.0, EPS);
    /* Top-K unions: @1 {0, 3}; @2 {0, 1, 3, 2}; @4 {0, 1, 2, 4, 3, 9};
     * @6 {0, 1, 2, 4, 6, 8, 3, 9}. */
    ASSERT_NEAR(s.coverage[0], 2.0 / 10.0, EPS);
    ASSERT_NEAR(s.coverage[1], 4.0 / 10.0, EPS);
    ASSERT_NEAR(s.coverage[2], 6.0 / 10.0, EPS);
    ASSERT_NEAR(s.coverage[3], 8.0 / 10.0, EPS);
    /* Recall: user 1 never hits 9, user 2 hits it at rank 2. */
    ASSERT_NEAR(s.recall[1], 0.0, EPS);
    ASSERT_NEAR(s.recall[2], 0.5, EPS);
    ASSERT_NEAR(s.ndcg[2], disc(2) / 2.0, EPS);
    met_free(a);
    TEST_OK("clusters@K and coverage@K");
}

/* Ranked list of n items 1000.. with relevant items at given ranks. */
static void long_list(uint32_t *ranked, size_t n) {
    for (size_t r = 0; r < n; r++)
        ranked[r] = (uint32_t)(1000 + r);
}

static void test_buckets(void) {
    uint32_t ranked[150];
    long_list(ranked, 150);
    /* Relevant: ranks 50 and 120 (and one item never ranked). */
    uint32_t rel_a[] = {1050, 1120};
    uint32_t rel_b[] = {1000, 1099, 1100, 5};
    met_summary s;

    /* 100 is not among the cut-offs: tracked on the side. */
    size_t ks[] = {10};
    met_acc *a = met_new(ks, 1, 2000, NULL, NULL);
    ASSERT(a != NULL);
    ASSERT_EQ(met_add(a, ranked, 150, rel_a, 2, 3), 0);   /* no bucket */
    ASSERT_EQ(met_add(a, ranked, 150, rel_a, 2, 5), 0);   /* 5-9: 1/2 */
    ASSERT_EQ(met_add(a, ranked, 150, rel_b, 4, 9), 0);   /* 5-9: 2/4 */
    ASSERT_EQ(met_add(a, ranked, 150, rel_b, 4, 10), 0);  /* 10-19: 2/4 */
    ASSERT_EQ(met_add(a, ranked, 60, rel_a, 2, 19), 0);   /* 10-19 short: 1/2 */
    ASSERT_EQ(met_add(a, ranked, 40, rel_a, 2, 20), 0);   /* 20+ short: 0 */
    ASSERT_EQ(met_add(a, ranked, 150, rel_b, 4, 500), 0); /* 20+: 2/4 */
    met_summarize(a, &s);
    ASSERT_EQ(s.n_users, 7);
    ASSERT_EQ(s.bucket_users[0], 2);
    ASSERT_EQ(s.bucket_users[1], 2);
    ASSERT_EQ(s.bucket_users[2], 2);
    ASSERT_NEAR(s.bucket_recall100[0], 0.5, EPS);
    ASSERT_NEAR(s.bucket_recall100[1], 0.5, EPS);
    ASSERT_NEAR(s.bucket_recall100[2], 0.25, EPS);
    /* recall@10: only rel_b's 1000 at rank 0 is in the top 10. */
    ASSERT_NEAR(s.recall[0], 3.0 * 0.25 / 7.0, EPS);
    met_free(a);

    /* With 100 and 200 as cut-offs, the bucket value equals recall@100. */
    size_t ks2[] = {100, 200};
    a = met_new(ks2, 2, 2000, NULL, NULL);
    ASSERT(a != NULL);
    ASSERT_EQ(met_add(a, ranked, 150, rel_a, 2, 30), 0);
    met_summarize(a, &s);
    ASSERT_NEAR(s.recall[0], 0.5, EPS);
    ASSERT_NEAR(s.recall[1], 1.0, EPS);
    ASSERT_NEAR(s.bucket_recall100[2], 0.5, EPS);
    ASSERT_NEAR(s.ndcg[1], (disc(50) + disc(120)) / (disc(0) + disc(1)), EPS);
    ASSERT_NEAR(s.coverage[0], 100.0 / 2000.0, EPS);
    ASSERT_NEAR(s.coverage[1], 150.0 / 2000.0, EPS);
    met_free(a);
    TEST_OK("recall@100 per activity bucket");
}

static double get_real(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!v) FAIL("missing key %s", key);
    if (!json_is_real(v)) FAIL("key %s is not a real", key);
    return json_real_value(v);
}

static void test_json(void) {
    size_t ks[] = {1, 10};
    uint32_t cl[20];
    for (size_t i = 0; i < 20; i++)
        cl[i] = (uint32_t)(i % 3);
    met_acc *a = met_new(ks, 2, 20, cl, NULL);
    ASSERT(a != NULL);
    uint32_t ranked[] = {0, 1, 2, 3};
    uint32_t rel[] = {1, 19};
    ASSERT_EQ(met_add(a, ranked, 4, rel, 2, 12), 0);
    met_summary s;
    met_summarize(a, &s);

    json_t *o = json_object();
    ASSERT(o != NULL);
    ASSERT_EQ(met_summary_to_json(&s, o), 0);
    ASSERT_NEAR(get_real(o, "recall@1"), 0.0, EPS);
    ASSERT_NEAR(get_real(o, "recall@10"), 0.5, EPS);
    ASSERT_NEAR(get_real(o, "ndcg@10"), disc(1) / (disc(0) + disc(1)), EPS);
    ASSERT_NEAR(get_real(o, "clusters@1"), 1.0, EPS);
    ASSERT_NEAR(get_real(o, "clusters@10"), 3.0, EPS);
    ASSERT_NEAR(get_real(o, "coverage@10"), 4.0 / 20.0, EPS);
    ASSERT_NEAR(get_real(o, "recall@100[5-9]"), 0.0, EPS);
    ASSERT_NEAR(get_real(o, "recall@100[10-19]"), 0.5, EPS);
    ASSERT_NEAR(get_real(o, "recall@100[20+]"), 0.0, EPS);
    ASSERT(json_is_integer(json_object_get(o, "users")));
    ASSERT_EQ(json_integer_value(json_object_get(o, "users")), 1);
    /* No metadata: no genres keys at all. */
    ASSERT(json_object_get(o, "genres@10") == NULL);
    ASSERT(json_object_get(o, "recall@100") == NULL);
    /* 2 cut-offs x 4 keys, 3 buckets, users. */
    ASSERT_EQ(json_object_size(o), 2 * 4 + 3 + 1);

    char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    ASSERT(text != NULL);
    ASSERT_CONTAINS(text, "\"recall@10\":0.5");
    ASSERT_CONTAINS(text, "\"clusters@10\":3.0");
    ASSERT_CONTAINS(text, "\"coverage@10\":0.2");
    ASSERT_CONTAINS(text, "\"recall@100[10-19]\":0.5");
    ASSERT_CONTAINS(text, "\"recall@100[20+]\":0.0");
    ASSERT_CONTAINS(text, "\"users\":1");
    free(text);

    ASSERT_EQ(met_summary_to_json(NULL, o), MX_EINVAL);
    ASSERT_EQ(met_summary_to_json(&s, NULL), MX_EINVAL);
    json_t *arr = json_array();
    ASSERT_EQ(met_summary_to_json(&s, arr), MX_EINVAL);
    json_decref(arr);
    json_decref(o);
    met_free(a);
    TEST_OK("json keys and values");
}

static uint32_t item_id(const ds_dataset *ds, const char *id) {
    int64_t v = ds_find_item(ds, id);
    if (v < 0) FAIL("item %s unknown", id);
    return (uint32_t)v;
}

/* A small catalogue: a..f with categories, g without metadata. */
static void test_genres(void) {
    mx_err err;
    ds_dataset *ds = ds_new();
    ASSERT(ds != NULL);
    const char *items[] = {"a", "b", "c", "d", "e", "f", "g"};
    for (int i = 0; i < 7; i++) {
        ASSERT_EQ(ds_add_event(ds, "u1", items[i], 100 + i, 1.0f, &err), 0);
        ASSERT_EQ(ds_add_event(ds, "u2", items[6 - i], 200 + i, 1.0f, &err), 0);
    }
    ASSERT_EQ(ds_set_item_meta(ds, "a", "A", "Drama|Comedy", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "b", "B", "Drama", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "c", "C", "Action", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "d", "D", "Comedy|Action|Horror", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "e", "E", "Horror", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "f", "F", "Western|Drama", '|', &err), 0);
    ASSERT_EQ(ds_finish(ds, &err), 0);
    ASSERT(ds_has_metadata(ds));
    ASSERT_EQ(ds_n_items(ds), 7);
    ASSERT_EQ(ds_n_categories(ds), 5);

    uint32_t a_ = item_id(ds, "a"), b_ = item_id(ds, "b"), c_ = item_id(ds, "c");
    uint32_t d_ = item_id(ds, "d"), e_ = item_id(ds, "e"), f_ = item_id(ds, "f");
    uint32_t g_ = item_id(ds, "g");

    size_t ks[] = {1, 2, 3, 5};
    met_acc *m = met_new(ks, 4, ds_n_items(ds), NULL, ds);
    ASSERT(m != NULL);
    met_summary s;
    /* a {Drama, Comedy}, b {Drama}, g {}, c {Action}, d {+Horror}. */
    uint32_t r1[] = {a_, b_, g_, c_, d_};
    uint32_t rel[] = {f_};
    ASSERT_EQ(met_add(m, r1, 5, rel, 1, 0), 0);
    met_summarize(m, &s);
    ASSERT_EQ(s.has_genres, 1);
    ASSERT_NEAR(s.genres[0], 2.0, EPS);
    ASSERT_NEAR(s.genres[1], 2.0, EPS);
    ASSERT_NEAR(s.genres[2], 2.0, EPS);
    ASSERT_NEAR(s.genres[3], 4.0, EPS);

    /* Second user, short list: e {Horror}, f {Western, Drama}. Counts
     * start over for each user. */
    uint32_t r2[] = {e_, f_};
    ASSERT_EQ(met_add(m, r2, 2, rel, 1, 0), 0);
    met_summarize(m, &s);
    ASSERT_NEAR(s.genres[0], (2.0 + 1.0) / 2.0, EPS);
    ASSERT_NEAR(s.genres[1], (2.0 + 3.0) / 2.0, EPS);
    ASSERT_NEAR(s.genres[3], (4.0 + 3.0) / 2.0, EPS);
    ASSERT_NEAR(s.recall[1], 0.5, EPS);
    ASSERT_NEAR(s.ndcg[1], disc(1) / 2.0, EPS);

    json_t *o = json_object();
    ASSERT(o != NULL);
    ASSERT_EQ(met_summary_to_json(&s, o), 0);
    ASSERT_NEAR(get_real(o, "genres@2"), 2.5, EPS);
    ASSERT_NEAR(get_real(o, "genres@5"), 3.5, EPS);
    ASSERT_EQ(json_object_size(o), 4 * 5 + 3 + 1);
    json_decref(o);
    met_free(m);
    ds_free(ds);
    TEST_OK("genres@K from dataset categories");
}

/* The eval shape at full size: a 1M-item catalogue, lists of 200, a few
 * thousand users. Catches accidental O(n_items) work per user (it would
 * take minutes here) and checks coverage against a count done by hand. */
static void test_large(void) {
    enum { N_ITEMS = 1000000, N_USERS = 5000, LEN = 200 };
    uint32_t *cl = malloc(N_ITEMS * sizeof(*cl));
    ASSERT(cl != NULL);
    for (uint32_t i = 0; i < N_ITEMS; i++)
        cl[i] = i % 1000;
    size_t ks[] = {10, 50, 200};
    met_acc *a = met_new(ks, 3, N_ITEMS, cl, NULL);
    ASSERT(a != NULL);
    uint32_t ranked[LEN], rel[3];
    for (uint32_t u = 0; u < N_USERS; u++) {
        /* User u ranks items u*100 .. u*100+199: neighbours overlap by
         * half, so the union of top 200s is 100*N_USERS + 100 items. */
        for (uint32_t r = 0; r < LEN; r++)
            ranked[r] = u * 100 + r;
        rel[0] = u * 100;       /* rank 0 */
        rel[1] = u * 100 + 150; /* rank 150 */
        rel[2] = N_ITEMS - 1;   /* never ranked */
        ASSERT_EQ(met_add(a, ranked, LEN, rel, 3, 25), 0);
    }
    met_summary s;
    met_summarize(a, &s);
    ASSERT_EQ(s.n_users, N_USERS);
    ASSERT_NEAR(s.recall[0], 1.0 / 3.0, EPS);
    ASSERT_NEAR(s.recall[2], 2.0 / 3.0, EPS);
    ASSERT_NEAR(s.bucket_recall100[2], 1.0 / 3.0, EPS);
    ASSERT_NEAR(s.clusters[2], 200.0, EPS);
    ASSERT_NEAR(s.coverage[0], 10.0 * N_USERS / N_ITEMS, EPS);
    ASSERT_NEAR(s.coverage[2], (100.0 * N_USERS + 100.0) / N_ITEMS, EPS);
    met_free(a);
    free(cl);
    TEST_OK("large catalogue");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_bad_ks();
    test_recall_ndcg();
    test_short_and_duplicates();
    test_skip_and_average();
    test_clusters_coverage();
    test_buckets();
    test_json();
    test_genres();
    test_large();
    return 0;
}

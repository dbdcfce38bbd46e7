/* test_evaluate.c - evl_run on a small model built from a synthetic world
 * and a per-user split: user counts (all and sampled), metric ranges and
 * monotonicity, the popular method recomputed by hand, interests per list,
 * method names, bad cut-offs, and identical results for 1 and 2 threads. */
#include "evaluate.h"
#include "pipeline.h"
#include "synth.h"
#include "tap.h"
#include "fixture.h"

#include <omp.h>
#include <stdint.h>

static ds_dataset *ds;
static ds_split split;
static mx_model *model;

static void build(void) {
    mx_err err = {0};
    ds = fixture_dataset(1500, 300, 6, 8, 11);
    size_t n_ev = 0;
    const ds_event *ev = ds_events(ds, &n_ev);
    ASSERT_EQ(ds_split_per_user(ev, n_ev, 0.2, 5, &split, &err), 0);
    ASSERT(split.n_test_users > 100);
    static const char *const settings[] = {"embed.dim=8", "interests.count=6", NULL};
    model = fixture_model(ds, split.train, split.n_train, settings);
    ASSERT_EQ(model->n_clusters, 6);
    ASSERT(model->pop.n_ranked > 100);
}

/* The test users of split.test in order: first event index of each. */
static size_t test_users(size_t *beg, size_t *end) {
    size_t n = 0;
    for (size_t e = 0; e < split.n_test; e++) {
        if (e == 0 || split.test[e].user != split.test[e - 1].user) beg[n++] = e;
        end[n - 1] = e + 1;
    }
    return n;
}

static int is_seen(uint32_t u, uint32_t item) {
    for (uint64_t j = model->seen_ptr[u]; j < model->seen_ptr[u + 1]; j++)
        if (model->seen_items[j] == item) return 1;
    return 0;
}

/* Popular by hand for the users pick[0..n): the popularity ranking minus
 * the user's seen items, scored with metrics.h one cut-off at a time (as
 * evl_run does); *recall_direct is |top K ∩ R| / |R| averaged directly. */
static void popular_by_hand(const size_t *beg, const size_t *end, const size_t *pick, size_t n,
                            size_t k, met_summary *out, double *recall_direct) {
    met_acc *acc = met_new(&k, 1, model->n_items, model->item_interest, ds);
    ASSERT(acc != NULL);
    uint32_t *list = malloc(k * sizeof(uint32_t));
    uint32_t rel[512];
    double sum = 0;
    for (size_t p = 0; p < n; p++) {
        size_t i = pick[p];
        uint32_t u = split.test[beg[i]].user;
        size_t len = 0;
        for (size_t r = 0; r < model->pop.n_ranked && len < k; r++)
            if (!is_seen(u, model->pop.ranked[r])) list[len++] = model->pop.ranked[r];
        size_t nr = 0, hits = 0;
        for (size_t e = beg[i]; e < end[i]; e++) {
            ASSERT(nr < 512);
            rel[nr++] = split.test[e].item;
            for (size_t r = 0; r < len; r++)
                hits += list[r] == split.test[e].item;
        }
        sum += (double)hits / (double)nr;
        ASSERT_EQ(met_add(acc, list, len, rel, nr, model->seen_ptr[u + 1] - model->seen_ptr[u]), 0);
    }
    met_summarize(acc, out);
    met_free(acc);
    free(list);
    *recall_direct = n ? sum / (double)n : 0;
}

static void same_summary(const met_summary *a, const met_summary *b, const char *what) {
    if (a->n_users != b->n_users) FAIL("%s: n_users %zu vs %zu", what, a->n_users, b->n_users);
    ASSERT_EQ(a->n_ks, b->n_ks);
    for (size_t k = 0; k < a->n_ks; k++) {
        ASSERT_EQ(a->ks[k], b->ks[k]);
        if (a->recall[k] != b->recall[k] || a->ndcg[k] != b->ndcg[k] ||
            a->clusters[k] != b->clusters[k] || a->genres[k] != b->genres[k] ||
            a->coverage[k] != b->coverage[k])
            FAIL("%s: metrics @%zu differ (recall %.17g vs %.17g)", what, a->ks[k], a->recall[k],
                 b->recall[k]);
    }
    for (int j = 0; j < MET_N_BUCKETS; j++) {
        ASSERT(a->bucket_recall100[j] == b->bucket_recall100[j]);
        ASSERT_EQ(a->bucket_users[j], b->bucket_users[j]);
    }
    ASSERT_EQ(a->has_genres, b->has_genres);
}

static void same_result(const evl_result *a, const evl_result *b) {
    ASSERT_EQ(a->n_users, b->n_users);
    for (int meth = 0; meth < EVL_N_METHODS; meth++)
        same_summary(&a->method[meth], &b->method[meth], evl_method_name(meth));
}

static const size_t ks[2] = {10, 50};

static void test_names(void) {
    const char *want[EVL_N_METHODS] = {
        "popular", "single", "mixture_unsmoothed", "mixture", "blend", "pool", "ranked"};
    for (int a = 0; a < EVL_N_METHODS; a++) {
        ASSERT_STR_EQ(evl_method_name(a), want[a]);
        for (int b = 0; b < a; b++)
            ASSERT(strcmp(evl_method_name(a), evl_method_name(b)) != 0);
    }
    ASSERT_STR_EQ(evl_method_name(EVL_POPULAR), "popular");
    ASSERT_STR_EQ(evl_method_name(EVL_BLEND), "blend");
    ASSERT_STR_EQ(evl_method_name(-1), "unknown");
    ASSERT_STR_EQ(evl_method_name(EVL_N_METHODS), "unknown");
    TEST_OK("evl_method_name: popular, single, mixture_unsmoothed, mixture, blend, pool; distinct");
}

static void test_full(evl_result *res) {
    mx_err err = {0};
    omp_set_num_threads(2);
    if (evl_run(model, ds, split.test, split.n_test, ks, 2, 0, NULL, res, &err))
        FAIL("evl_run: %s", err.msg);
    ASSERT_EQ(res->n_users, split.n_test_users);
    ASSERT(res->seconds >= 0);
    size_t n_cat = ds_n_categories(ds);
    ASSERT(n_cat > 0);
    for (int meth = 0; meth < EVL_N_METHODS; meth++) {
        const met_summary *s = &res->method[meth];
        const char *name = evl_method_name(meth);
        if (!res->evaluated[meth]) { /* no ranker in this model */
            ASSERT_EQ(meth, EVL_RANKED);
            ASSERT(model->ranker == NULL);
            continue;
        }
        if (s->n_users != split.n_test_users) FAIL("%s: %zu users", name, s->n_users);
        ASSERT_EQ(s->n_ks, 2);
        ASSERT_EQ(s->ks[0], 10);
        ASSERT_EQ(s->ks[1], 50);
        ASSERT(res->us_per_query[meth] >= 0);
        for (size_t k = 0; k < 2; k++) {
            if (!(s->recall[k] >= 0 && s->recall[k] <= 1))
                FAIL("%s: recall@%zu = %g", name, ks[k], s->recall[k]);
            ASSERT(s->ndcg[k] >= 0 && s->ndcg[k] <= 1);
            ASSERT(s->coverage[k] > 0 && s->coverage[k] <= 1);
            size_t len = meth == EVL_POOL ? 3 * ks[k] : ks[k]; /* the pool: a union */
            double cap = (double)(len < model->n_clusters ? len : model->n_clusters);
            if (!(s->clusters[k] >= 1 && s->clusters[k] <= cap))
                FAIL("%s: clusters@%zu = %g, more than %g", name, ks[k], s->clusters[k], cap);
            ASSERT(s->has_genres);
            ASSERT(s->genres[k] >= 1 && s->genres[k] <= (double)(len < n_cat ? len : n_cat));
        }
        if (s->recall[1] < s->recall[0])
            FAIL("%s: recall@50 %g < recall@10 %g", name, s->recall[1], s->recall[0]);
        ASSERT(s->coverage[1] >= s->coverage[0]);
        for (int b = 0; b < MET_N_BUCKETS; b++)
            ASSERT(s->bucket_recall100[b] >= 0 && s->bucket_recall100[b] <= 1);
        ASSERT(s->recall[1] > 0); /* every method finds some test items */
        printf("# %-18s recall@10 %.4f recall@50 %.4f clusters@10 %.2f\n", name, s->recall[0],
               s->recall[1], s->clusters[0]);
    }
    /* the planted interests are learnable: the personal methods beat
     * popularity by a wide margin on this world (the blend, 60% popular
     * by default, is not compared) */
    for (int meth = EVL_SINGLE; meth <= EVL_MIXTURE; meth++)
        if (res->method[meth].recall[1] < 1.5 * res->method[EVL_POPULAR].recall[1])
            FAIL("%s: recall@50 %g is not well above popular's %g", evl_method_name(meth),
                 res->method[meth].recall[1], res->method[EVL_POPULAR].recall[1]);
    /* the pool keeps every source's own top K: it never recalls less than
     * its best source (the blend's single search reuses the mixture's
     * lists, so allow a hair of approximate-search difference) */
    ASSERT(res->evaluated[EVL_POOL]);
    for (size_t k = 0; k < 2; k++) {
        ASSERT(res->pool_size[k] >= (double)ks[k] && res->pool_size[k] <= 3.0 * (double)ks[k]);
        for (int meth = EVL_POPULAR; meth <= EVL_MIXTURE; meth++)
            if (res->method[EVL_POOL].recall[k] < 0.99 * res->method[meth].recall[k])
                FAIL("pool recall@%zu %g below %s's %g", ks[k], res->method[EVL_POOL].recall[k],
                     evl_method_name(meth), res->method[meth].recall[k]);
    }
    TEST_OK("the pool (size K..3K) recalls at least 0.99x each source at every K");
    TEST_OK("all test users evaluated; recall in [0,1], recall@50 >= recall@10 for every method");
    TEST_OK("clusters@K <= min(K, n_clusters); genres@K and coverage in range");

    /* popular by hand: the ranking minus seen items */
    size_t n_tu = split.n_test_users;
    size_t *beg = malloc(n_tu * sizeof(size_t)), *end = malloc(n_tu * sizeof(size_t));
    size_t *all = malloc(n_tu * sizeof(size_t));
    ASSERT_EQ(test_users(beg, end), n_tu);
    for (size_t i = 0; i < n_tu; i++)
        all[i] = i;
    for (size_t k = 0; k < 2; k++) {
        met_summary hand;
        double direct;
        popular_by_hand(beg, end, all, n_tu, ks[k], &hand, &direct);
        const met_summary *s = &res->method[EVL_POPULAR];
        ASSERT_EQ(hand.n_users, s->n_users);
        if (hand.recall[0] != s->recall[k] || hand.ndcg[0] != s->ndcg[k] ||
            hand.clusters[0] != s->clusters[k] || hand.genres[0] != s->genres[k] ||
            hand.coverage[0] != s->coverage[k])
            FAIL("popular@%zu: evl_run recall %.17g ndcg %.17g, by hand %.17g %.17g", ks[k],
                 s->recall[k], s->ndcg[k], hand.recall[0], hand.ndcg[0]);
        ASSERT_NEAR(s->recall[k], direct, 1e-12);
        if (k == 1) /* the buckets come from the largest list when K < 100 */
            for (int b = 0; b < MET_N_BUCKETS; b++) {
                ASSERT(s->bucket_recall100[b] == hand.bucket_recall100[b]);
                ASSERT_EQ(s->bucket_users[b], hand.bucket_users[b]);
            }
    }
    /* seen items really are excluded: with them, popular would differ */
    size_t seen_in_top = 0;
    for (size_t i = 0; i < n_tu; i++) {
        uint32_t u = split.test[beg[i]].user;
        for (size_t r = 0; r < 50 && r < model->pop.n_ranked; r++)
            seen_in_top += is_seen(u, model->pop.ranked[r]);
    }
    ASSERT(seen_in_top > 0);
    free(beg);
    free(end);
    free(all);
    TEST_OK("popular = the popularity ranking minus seen items (recall recomputed by hand)");
}

static void test_threads(const evl_result *two) {
    evl_result one;
    mx_err err = {0};
    omp_set_num_threads(1);
    if (evl_run(model, ds, split.test, split.n_test, ks, 2, 0, NULL, &one, &err))
        FAIL("evl_run: %s", err.msg);
    omp_set_num_threads(2);
    same_result(&one, two);
    TEST_OK("identical results with 1 and 2 OpenMP threads");
}

static void test_sample(const evl_result *full) {
    size_t n_tu = split.n_test_users, max = 40;
    ASSERT(n_tu > max);
    evl_result a, b;
    mx_err err = {0};
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, ks, 2, max, NULL, &a, &err), 0);
    ASSERT_EQ(a.n_users, max);
    for (int meth = 0; meth < EVL_N_METHODS; meth++)
        ASSERT_EQ(a.method[meth].n_users, max);
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, ks, 2, max, NULL, &b, &err), 0);
    same_result(&a, &b);
    /* the sample is every (n/max)-th test user: popular by hand on it */
    size_t *beg = malloc(n_tu * sizeof(size_t)), *end = malloc(n_tu * sizeof(size_t));
    size_t pick[40];
    ASSERT_EQ(test_users(beg, end), n_tu);
    double step = (double)n_tu / (double)max;
    for (size_t i = 0; i < max; i++)
        pick[i] = (size_t)((double)i * step);
    for (size_t k = 0; k < 2; k++) {
        met_summary hand;
        double direct;
        popular_by_hand(beg, end, pick, max, ks[k], &hand, &direct);
        ASSERT(hand.recall[0] == a.method[EVL_POPULAR].recall[k]);
        ASSERT(hand.ndcg[0] == a.method[EVL_POPULAR].ndcg[k]);
        ASSERT_NEAR(a.method[EVL_POPULAR].recall[k], direct, 1e-12);
    }
    free(beg);
    free(end);
    /* max_users at or above the number of test users: everyone */
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, ks, 2, n_tu, NULL, &b, &err), 0);
    same_result(&b, full);
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, ks, 2, n_tu + 1000, NULL, &b, &err), 0);
    same_result(&b, full);
    TEST_OK("max_users: a deterministic sample of that size (every n-th user), same twice");
}

static void test_bad_ks(void) {
    evl_result r;
    mx_err err = {0};
    const size_t down[2] = {50, 10}, dup[2] = {10, 10}, zero[2] = {0, 10};
    const size_t many[MET_MAX_KS + 1] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, down, 2, 0, NULL, &r, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "increasing");
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, dup, 2, 0, NULL, &r, &err), MX_EINVAL);
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, zero, 2, 0, NULL, &r, &err), MX_EINVAL);
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, ks, 0, 0, NULL, &r, &err), MX_EINVAL);
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, many, MET_MAX_KS + 1, 0, NULL, &r, &err),
              MX_EINVAL);
    /* MET_MAX_KS cut-offs are fine, and a single one */
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, many, MET_MAX_KS, 40, NULL, &r, &err),
              0);
    ASSERT_EQ(r.method[EVL_MIXTURE].n_ks, MET_MAX_KS);
    ASSERT_EQ(evl_run(model, ds, split.test, split.n_test, &ks[1], 1, 40, NULL, &r, &err), 0);
    ASSERT_EQ(r.method[EVL_BLEND].ks[0], 50);
    TEST_OK("cut-offs that are not positive and increasing are rejected");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    build();
    test_names();
    evl_result full;
    test_full(&full);
    test_threads(&full);
    test_sample(&full);
    test_bad_ks();
    model_free(model);
    ds_split_free(&split);
    ds_free(ds);
    return 0;
}

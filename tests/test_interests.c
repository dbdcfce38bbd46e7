/* test_interests.c - spherical k-means recovers planted interests, keeps
 * unit centroids and leaves zero vectors out; the default cluster count
 * follows interests.h; labels name the categories an interest over-represents. */
#include "interests.h"
#include "rng.h"
#include "synth.h"
#include "tap.h"

#include <stdint.h>

static double norm(const float *x, size_t d) {
    double s = 0;
    for (size_t k = 0; k < d; k++)
        s += (double)x[k] * x[k];
    return sqrt(s);
}

static void test_default_clusters(void) {
    ASSERT_EQ(intr_default_clusters(0), 16);
    ASSERT_EQ(intr_default_clusters(100), 16);
    ASSERT_EQ(intr_default_clusters(16999), 16);
    ASSERT_EQ(intr_default_clusters(17000), 17);
    ASSERT_EQ(intr_default_clusters(50000), 50);
    ASSERT_EQ(intr_default_clusters(1024999), 1024);
    ASSERT_EQ(intr_default_clusters(1025000), 1024);
    ASSERT_EQ(intr_default_clusters(50000000), 1024);
    intr_params p;
    intr_params_init(&p);
    ASSERT_EQ(p.n_clusters, 0);
    ASSERT_EQ(p.niter, 25);
    ASSERT_EQ(p.nredo, 1);
    ASSERT_EQ(p.seed, 42);
    TEST_OK("intr_default_clusters: 16 for small catalogues, n/1000, capped at 1024");
}

/* Purity of a clustering against the planted interests: the share of items
 * in the majority planted interest of their cluster. Also counts how many
 * planted interests are the majority of some cluster. */
static double purity(const uint32_t *found, const uint32_t *truth, size_t n, size_t k_found,
                     size_t k_true, size_t *covered) {
    size_t *tab = calloc(k_found * k_true, sizeof(size_t));
    unsigned char *hit = calloc(k_true, 1);
    ASSERT(tab && hit);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (found[i] == INTR_NONE) continue;
        ASSERT(found[i] < k_found);
        tab[found[i] * k_true + truth[i]]++;
        total++;
    }
    size_t good = 0;
    for (size_t c = 0; c < k_found; c++) {
        size_t best = 0, arg = 0;
        for (size_t t = 0; t < k_true; t++)
            if (tab[c * k_true + t] > best) best = tab[c * k_true + t], arg = t;
        good += best;
        if (best) hit[arg] = 1;
    }
    *covered = 0;
    for (size_t t = 0; t < k_true; t++)
        *covered += hit[t];
    free(tab);
    free(hit);
    return total ? (double)good / (double)total : 0;
}

/* Eight well separated planted directions (e_0, e_2, ..., e_14 in 16-D)
 * with 150 noisy items each, scaled by varied positive factors (cosine
 * clustering must ignore norms), and four zero vectors (no embedding). */
static void test_planted_directions(void) {
    enum { K = 8, PER = 150, D = 16, N = K * PER };
    float *x = malloc(N * D * sizeof(float));
    uint32_t *truth = malloc(N * sizeof(uint32_t)), *lab = malloc(N * sizeof(uint32_t));
    uint32_t *again = malloc(N * sizeof(uint32_t));
    ASSERT(x && truth && lab && again);
    rng_state st;
    rng_seed(&st, 1);
    for (size_t i = 0; i < N; i++) {
        truth[i] = (uint32_t)(i % K);
        float scale = (float)(0.1 + (double)(i % 17));
        for (size_t j = 0; j < D; j++)
            x[i * D + j] = scale * ((float)(0.15 * rng_normal(&st)) + (j == 2 * truth[i]));
    }
    const size_t zeros[] = {0, 17, 777, N - 1};
    for (size_t z = 0; z < 4; z++)
        memset(x + zeros[z] * D, 0, D * sizeof(float));

    intr_params p;
    intr_params_init(&p);
    p.n_clusters = K;
    p.nredo = 10; /* k-means restarts: one run may seed two centroids in one group */
    float *cent = NULL;
    size_t k = 0;
    mx_err err = {0};
    ASSERT_EQ(intr_train(x, N, D, &p, &cent, &k, lab, &err), 0);
    ASSERT_EQ(k, K);
    ASSERT(cent != NULL);
    for (size_t c = 0; c < k; c++)
        ASSERT_NEAR(norm(cent + c * D, D), 1.0, 1e-5);
    size_t none = 0;
    for (size_t i = 0; i < N; i++)
        none += lab[i] == INTR_NONE;
    ASSERT_EQ(none, 4);
    for (size_t z = 0; z < 4; z++)
        ASSERT_EQ(lab[zeros[z]], INTR_NONE);
    size_t covered = 0;
    double pur = purity(lab, truth, N, k, K, &covered);
    ASSERT(pur >= 0.99);
    ASSERT_EQ(covered, K); /* every planted direction has its own cluster */
    /* and each cluster's centroid points along its direction */
    for (size_t i = 1; i < N; i++) {
        if (lab[i] == INTR_NONE) continue;
        ASSERT(cent[lab[i] * D + 2 * truth[i]] > 0.9f);
    }

    /* every item is assigned to its highest-cosine centroid */
    ASSERT_EQ(intr_assign(x, N, D, cent, k, again, NULL), 0);
    ASSERT(memcmp(again, lab, N * sizeof(uint32_t)) == 0);
    for (size_t i = 1; i < N; i += 37) {
        if (lab[i] == INTR_NONE) continue;
        double nx = norm(x + i * D, D), best = -2;
        size_t arg = 0;
        for (size_t c = 0; c < k; c++) {
            double s = 0;
            for (size_t j = 0; j < D; j++)
                s += (double)x[i * D + j] * cent[c * D + j];
            if (s / nx > best) best = s / nx, arg = c;
        }
        ASSERT_EQ(lab[i], arg);
    }

    /* same seed, same clustering */
    float *cent2 = NULL;
    size_t k2 = 0;
    ASSERT_EQ(intr_train(x, N, D, &p, &cent2, &k2, again, &err), 0);
    ASSERT(memcmp(again, lab, N * sizeof(uint32_t)) == 0);
    ASSERT(memcmp(cent, cent2, k * D * sizeof(float)) == 0);
    free(cent2);
    free(cent);
    free(x);
    free(truth);
    free(lab);
    free(again);
    TEST_OK("intr_train recovers 8 planted directions (purity >= 0.99), unit centroids");
}

/* synth.h worlds (3000 items, 8 interests of uneven sizes, 16-D): with the
 * default count (16 for this catalogue) clusters never mix interests. */
static void test_synth_worlds(void) {
    for (uint64_t seed = 3; seed <= 5; seed++) {
        syn_params sp;
        syn_params_init(&sp);
        sp.n_items = 3000;
        sp.n_users = 10;
        sp.n_interests = 8;
        sp.dim = 16;
        sp.seed = seed;
        syn_world w;
        mx_err err = {0};
        ASSERT_EQ(syn_make(&sp, &w, &err), 0);
        uint32_t *lab = malloc(w.n_items * sizeof(uint32_t));
        intr_params p;
        intr_params_init(&p);
        float *cent = NULL;
        size_t k = 0, covered = 0;
        ASSERT_EQ(intr_train(w.item_vecs, w.n_items, w.dim, &p, &cent, &k, lab, &err), 0);
        ASSERT_EQ(k, 16);
        double pur = purity(lab, w.item_interest, w.n_items, k, w.n_interests, &covered);
        ASSERT(pur >= 0.95);
        ASSERT_EQ(covered, 8);
        for (size_t c = 0; c < k; c++)
            ASSERT_NEAR(norm(cent + c * w.dim, w.dim), 1.0, 1e-5);
        free(cent);
        free(lab);
        syn_world_free(&w);
    }
    TEST_OK("synth worlds: default 16 clusters over 8 planted interests, purity >= 0.95");
}

static void test_small_and_degenerate(void) {
    /* three well separated directions in 3-D, two items each, one zero */
    const float x[] = {
        1, 0.1f, 0,    2,     -0.1f, 0.05f, /* e1 */
        0, 1,    0.1f, 0.1f,  3,     0,     /* e2 */
        0, 0,    0,                         /* zero */
        0, 0.1f, -1,   0.05f, 0,     -5,    /* -e3 */
    };
    size_t n = 7, d = 3;
    uint32_t lab[7];
    intr_params p;
    intr_params_init(&p);
    p.n_clusters = 3;
    p.nredo = 5; /* one k-means run may seed two centroids in one pair */
    float *cent = NULL;
    size_t k = 0;
    mx_err err = {0};
    ASSERT_EQ(intr_train(x, n, d, &p, &cent, &k, lab, &err), 0);
    ASSERT_EQ(k, 3);
    ASSERT_EQ(lab[4], INTR_NONE);
    ASSERT_EQ(lab[0], lab[1]);
    ASSERT_EQ(lab[2], lab[3]);
    ASSERT_EQ(lab[5], lab[6]);
    ASSERT(lab[0] != lab[2] && lab[0] != lab[5] && lab[2] != lab[5]);
    /* the centroid of the -e3 pair points down z */
    ASSERT(cent[lab[5] * d + 2] < -0.95f);
    free(cent);

    /* more clusters than items with a vector: k is clamped */
    p.n_clusters = 50;
    ASSERT_EQ(intr_train(x, n, d, &p, &cent, &k, lab, &err), 0);
    ASSERT_EQ(k, 6);
    free(cent);

    /* nothing to cluster */
    const float zero[6] = {0};
    cent = (float *)1;
    ASSERT_EQ(intr_train(zero, 2, 3, &p, &cent, &k, lab, &err), MX_EINVAL);
    ASSERT(cent == NULL);
    ASSERT_CONTAINS(err.msg, "no item has an embedding");

    /* intr_assign by hand: highest cosine, not highest inner product */
    const float c2[] = {1, 0, 0, 0, 1, 0};
    const float v[] = {10, 9, 0, 0.1f, 0.2f, 0, 0, 0, 0, -1, 0.5f, 0};
    uint32_t out[4];
    ASSERT_EQ(intr_assign(v, 4, 3, c2, 2, out, NULL), 0);
    ASSERT_EQ(out[0], 0);
    ASSERT_EQ(out[1], 1);
    ASSERT_EQ(out[2], INTR_NONE);
    ASSERT_EQ(out[3], 1);
    TEST_OK("small separated directions, zero vectors, k clamped, empty input is an error");
}

static void add(ds_dataset *ds, const char *u, const char *i, int64_t ts) {
    mx_err err = {0};
    ASSERT_EQ(ds_add_event(ds, u, i, ts, 1.0f, &err), 0);
}

static void test_labels(void) {
    /* items i0..i10 in first-appearance order */
    ds_dataset *ds = ds_new();
    ASSERT(ds);
    mx_err err = {0};
    const char *items[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8"};
    for (int i = 0; i < 9; i++)
        add(ds, "u1", items[i], 100 + i);
    ASSERT_EQ(ds_set_item_meta(ds, "i0", "Scream", "Drama|Horror", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "i1", "It", "Horror", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "i2", "Heat", "Drama|Thriller", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "i3", "Amelie", "Drama|Comedy", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "i4", "Airplane!", "Comedy", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "i5", "Casablanca", "Romance|War|Drama", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "i6", "Atonement", "Romance|War", '|', &err), 0);
    ASSERT_EQ(ds_set_item_meta(ds, "i8", "Halloween", "Horror", '|', &err), 0);
    /* i7 has no metadata */
    ASSERT_EQ(ds_finish(ds, &err), 0);
    ASSERT_EQ(ds_n_items(ds), 9);
    for (int i = 0; i < 9; i++)
        ASSERT_EQ(ds_find_item(ds, items[i]), i);

    const uint32_t interest[] = {0, 0, 0, 1, 1, 2, 2, 3, INTR_NONE};
    const float pop[] = {5, 3, 2, 4, 1, 6, 2, 7, 100};
    intr_label lab[5];
    intr_label_all(interest, 9, 5, pop, ds, lab);
    /* Categories are weighted by popularity (+0.001 each) and scored by
     * lift, share * log(share / global share), over every indexed item
     * (i8 is not indexed). Drama is common everywhere (global share 0.354)
     * and never wins, although plain counts would pick it second in 0 and 1.
     * Interest 0: Horror 8/17 -> 0.489, Thriller 2/17 -> 0.122, which is
     * below 0.3 x 0.489: one category. */
    ASSERT_STR_EQ(lab[0].name, "Horror");
    ASSERT_EQ(lab[0].size, 3);
    ASSERT_EQ(lab[0].top_items[0], 0);
    ASSERT_EQ(lab[0].top_items[1], 1);
    ASSERT_EQ(lab[0].top_items[2], 2);
    /* Interest 1: Comedy 5/9 -> 0.93, Drama 4/9 -> 0.10 */
    ASSERT_STR_EQ(lab[1].name, "Comedy");
    ASSERT_EQ(lab[1].size, 2);
    ASSERT_EQ(lab[1].top_items[0], 3);
    ASSERT_EQ(lab[1].top_items[1], 4);
    ASSERT_EQ(lab[1].top_items[2], INTR_NONE);
    /* Interest 2: Romance and War tie (0.284 each), Drama is below its
     * global share: two categories, the earlier one first */
    ASSERT_STR_EQ(lab[2].name, "Romance / War");
    ASSERT_EQ(lab[2].top_items[0], 5);
    ASSERT_EQ(lab[2].top_items[1], 6);
    /* members without categories: numbered */
    ASSERT_STR_EQ(lab[3].name, "interest 3");
    ASSERT_EQ(lab[3].size, 1);
    ASSERT_EQ(lab[3].top_items[0], 7);
    ASSERT_EQ(lab[3].top_items[1], INTR_NONE);
    /* an empty interest */
    ASSERT_STR_EQ(lab[4].name, "interest 4");
    ASSERT_EQ(lab[4].size, 0);
    ASSERT_EQ(lab[4].top_items[0], INTR_NONE);

    /* popularity orders the top items (ties: the lower id first) */
    const float pop2[] = {1, 1, 9, 4, 1, 6, 2, 7, 0};
    intr_label_all(interest, 9, 4, pop2, ds, lab);
    ASSERT_EQ(lab[0].top_items[0], 2);
    ASSERT_EQ(lab[0].top_items[1], 0);
    ASSERT_EQ(lab[0].top_items[2], 1);
    /* and weighs the categories: with i2 (Drama|Thriller) at 9, Thriller
     * (9/12 of interest 0) is what sets it apart */
    ASSERT(strncmp(lab[0].name, "Thriller", 8) == 0);

    /* uniform popularity: still Drama never leads */
    intr_label_all(interest, 9, 4, NULL, ds, lab);
    ASSERT(strstr(lab[0].name, "Drama") == NULL);
    ASSERT(strncmp(lab[0].name, "Horror", 6) == 0);
    ASSERT_STR_EQ(lab[2].name, "Romance / War");
    ds_free(ds);

    /* no metadata at all: "interest N" */
    ds = ds_new();
    for (int i = 0; i < 9; i++)
        add(ds, "u1", items[i], 100 + i);
    ASSERT_EQ(ds_finish(ds, &err), 0);
    ASSERT(!ds_has_metadata(ds));
    intr_label_all(interest, 9, 3, pop, ds, lab);
    ASSERT_STR_EQ(lab[0].name, "interest 0");
    ASSERT_STR_EQ(lab[1].name, "interest 1");
    ASSERT_STR_EQ(lab[2].name, "interest 2");
    ASSERT_EQ(lab[0].top_items[0], 0);
    intr_label_all(interest, 9, 3, NULL, NULL, lab);
    ASSERT_STR_EQ(lab[1].name, "interest 1");
    ASSERT_EQ(lab[1].size, 2);
    ds_free(ds);
    TEST_OK("labels name the categories an interest over-represents, \"interest N\" without "
            "metadata");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_default_clusters();
    test_small_and_degenerate();
    test_planted_directions();
    test_synth_worlds();
    test_labels();
    return 0;
}

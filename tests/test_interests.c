/* test_interests.c - spherical k-means recovers planted interests, keeps
 * unit centroids and leaves zero vectors out; the automatic count follows
 * the data (interests.h); labels (labels.h) name covering categories in a
 * canonical order, say what share they cover, fall back to representative
 * titles and are distinct. */
#include "interests.h"
#include "labels.h"
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

static void test_auto_range(void) {
    size_t lo, hi, unb;
    intr_auto_range(12, &lo, &hi, &unb); /* 12 items: 2 interests at most */
    ASSERT_EQ(lo, 2);
    ASSERT_EQ(hi, 2);
    ASSERT_EQ(unb, 16);
    intr_auto_range(7, &lo, &hi, &unb); /* fewer than 2 x INTR_MIN_ITEMS: one */
    ASSERT_EQ(lo, 1);
    ASSERT_EQ(hi, 1);
    intr_auto_range(0, &lo, &hi, &unb);
    ASSERT_EQ(hi, 1);
    intr_auto_range(100, &lo, &hi, &unb);
    ASSERT_EQ(lo, 2);
    ASSERT_EQ(hi, 16);
    intr_auto_range(10506, &lo, &hi, &unb); /* MovieTweetings: lists of <= 1,000 items */
    ASSERT_EQ(lo, 10);
    ASSERT_EQ(hi, 16);
    intr_auto_range(16999, &lo, &hi, &unb);
    ASSERT_EQ(lo, 16);
    ASSERT_EQ(hi, 16);
    intr_auto_range(50000, &lo, &hi, &unb); /* from here the list size alone decides */
    ASSERT_EQ(lo, 50);
    ASSERT_EQ(hi, 50);
    intr_auto_range(50000000, &lo, &hi, &unb);
    ASSERT_EQ(lo, 1024);
    ASSERT_EQ(hi, 1024);
    intr_params p;
    intr_params_init(&p);
    ASSERT_EQ(p.n_clusters, 0);
    ASSERT_EQ(p.niter, 25);
    ASSERT_EQ(p.nredo, 1);
    ASSERT_EQ(p.seed, 42);
    ASSERT_NEAR(p.auto_tol, 0.05, 1e-12);
    ASSERT_NEAR(p.label_min_cov, 0.5, 1e-12);
    TEST_OK("intr_auto_range: 2..16 for small catalogues, n/5 at most, n/1000 for large ones");
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
    intr_report rep;
    ASSERT_EQ(intr_train(x, N, D, &p, &cent, &k, lab, &rep, &err), 0);
    ASSERT_EQ(k, K);
    ASSERT_EQ(rep.chosen, K);
    ASSERT_EQ(rep.requested, K);
    ASSERT_EQ(rep.n_vectors, N - 4);
    ASSERT_EQ(rep.runs, 1);
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
    ASSERT_EQ(intr_train(x, N, D, &p, &cent2, &k2, again, NULL, &err), 0);
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

/* synth.h worlds (3000 items, 8 interests of uneven sizes, 16-D): the
 * automatic count finds at least the 8 planted interests (more only where
 * k-means splits one), and clusters never mix interests. */
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
        intr_report rep;
        ASSERT_EQ(intr_train(w.item_vecs, w.n_items, w.dim, &p, &cent, &k, lab, &rep, &err), 0);
        ASSERT_EQ(k, 8); /* merging two planted interests costs several times more */
        ASSERT_EQ(rep.lo, 3);
        ASSERT_EQ(rep.hi, 16);
        ASSERT_EQ(rep.stop, INTR_STOP_ELBOW);
        ASSERT_EQ(rep.runs, 1);
        ASSERT(rep.ratio >= 0.95);
        double pur = purity(lab, w.item_interest, w.n_items, k, w.n_interests, &covered);
        ASSERT(pur >= 0.95);
        ASSERT_EQ(covered, 8);
        for (size_t c = 0; c < k; c++)
            ASSERT_NEAR(norm(cent + c * w.dim, w.dim), 1.0, 1e-5);
        free(cent);
        free(lab);
        syn_world_free(&w);
    }
    TEST_OK("synth worlds: the automatic count is the 8 planted interests, purity >= 0.95");
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
    ASSERT_EQ(intr_train(x, n, d, &p, &cent, &k, lab, NULL, &err), 0);
    ASSERT_EQ(k, 3);
    ASSERT_EQ(lab[4], INTR_NONE);
    ASSERT_EQ(lab[0], lab[1]);
    ASSERT_EQ(lab[2], lab[3]);
    ASSERT_EQ(lab[5], lab[6]);
    ASSERT(lab[0] != lab[2] && lab[0] != lab[5] && lab[2] != lab[5]);
    /* the centroid of the -e3 pair points down z */
    ASSERT(cent[lab[5] * d + 2] < -0.95f);
    free(cent);

    /* more clusters than items with a vector: k is clamped, and the report
     * has what the pipeline warns with */
    p.n_clusters = 50;
    intr_report rep;
    ASSERT_EQ(intr_train(x, n, d, &p, &cent, &k, lab, &rep, &err), 0);
    ASSERT_EQ(k, 6);
    ASSERT_EQ(rep.requested, 50);
    ASSERT_EQ(rep.n_vectors, 6);
    free(cent);

    /* automatic: 6 items with a vector are one interest (INTR_MIN_ITEMS) */
    p.n_clusters = 0;
    ASSERT_EQ(intr_train(x, n, d, &p, &cent, &k, lab, &rep, &err), 0);
    ASSERT_EQ(k, 1);
    ASSERT_EQ(rep.hi, 1);
    ASSERT_EQ(rep.unbounded, 16);
    ASSERT_EQ(lab[0], 0);
    ASSERT_EQ(lab[4], INTR_NONE);
    free(cent);
    p.n_clusters = 50;

    /* nothing to cluster */
    const float zero[6] = {0};
    cent = (float *)1;
    ASSERT_EQ(intr_train(zero, 2, 3, &p, &cent, &k, lab, NULL, &err), MX_EINVAL);
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

typedef struct item_row {
    const char *id, *title, *cats; /* title NULL: no metadata */
    uint32_t interest;
    float events;
} item_row;

/* A dataset whose dense ids are the rows' indexes. */
static ds_dataset *rows_dataset(const item_row *rows, size_t n) {
    ds_dataset *ds = ds_new();
    mx_err err = {0};
    ASSERT(ds);
    for (size_t i = 0; i < n; i++)
        add(ds, "u1", rows[i].id, 100 + (int64_t)i);
    for (size_t i = 0; i < n; i++)
        if (rows[i].title)
            ASSERT_EQ(ds_set_item_meta(ds, rows[i].id, rows[i].title, rows[i].cats, '|', &err), 0);
    ASSERT_EQ(ds_finish(ds, &err), 0);
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(ds_find_item(ds, rows[i].id), (int64_t)i);
    return ds;
}

static void assert_distinct(const lbl_label *lab, size_t k) {
    for (size_t a = 0; a < k; a++)
        for (size_t b = a + 1; b < k; b++)
            if (strcmp(lab[a].name, lab[b].name) == 0)
                FAIL("labels %zu and %zu are both \"%s\"", a, b, lab[a].name);
}

/* Weights are events (at least 1); 31 in all over the indexed items.
 * Interests 0 and 1 are half Action, half Sci-Fi: no category alone
 * covers a majority, the pair covers 6/7 of each and beats every other
 * pair on coverage x log(lift) (Action|Drama: 4/7 x log((4/7)/(8/31)) =
 * 0.454 < 6/7 x log((6/7)/(12/31)) = 0.681). Sci-Fi is interned first:
 * the name is still "Action / Sci-Fi" (alphabetical). Interest 2 spreads
 * over six categories (no pair reaches 4/7): titles. */
static const item_row label_rows[] = {
    {"m0", "Solaris", "Sci-Fi", 0, 2},
    {"m1", "Alien", "Sci-Fi|Horror", 0, 1},
    {"m2", "Heat", "Action", 0, 2},
    {"m3", "Ronin", "Action", 0, 1},
    {"m4", "Amelie", "Drama", 0, 1},
    {"m5", "Predator", "Action", 1, 2},
    {"m6", "Aliens", "Sci-Fi", 1, 2},
    {"m7", "Speed", "Action", 1, 1},
    {"m8", "Dune", "Sci-Fi", 1, 1},
    {"m9", "Big", "Drama", 1, 1},
    {"m10", "Unforgiven", "Western", 2, 2},
    {"m11", "Cabaret", "Musical", 2, 1},
    {"m12", "Dunkirk", "War", 2, 1},
    {"m13", "Laura", "Noir", 2, 1},
    {"m14", "Shoah", "Documentary", 2, 1},
    {"m15", "Ran", "Epic", 2, 1},
    {"x1", NULL, NULL, 3, 2},      /* no metadata: its id */
    {"x2", "Bad\xff", "", 3, 5},   /* not UTF-8: its id */
    {"m18", "It", "Horror", 5, 0}, /* no events counts 1 */
    {"m19", "Saw", "Horror|Thriller", 5, 1},
    {"m20", "Jaws", "Adventure", 5, 1},
    {"zz", "Zed", "Action", INTR_NONE, 100}, /* not indexed: counts nowhere */
};

static void test_labels(void) {
    enum { N = sizeof(label_rows) / sizeof(label_rows[0]), K = 6 };
    ds_dataset *ds = rows_dataset(label_rows, N);
    uint32_t interest[N];
    float events[N];
    for (size_t i = 0; i < N; i++)
        interest[i] = label_rows[i].interest, events[i] = label_rows[i].events;
    lbl_label lab[K];
    lbl_input in = {
        .item_interest = interest, .n_items = N, .n_clusters = K, .events = events, .ds = ds};
    mx_err err = {0};
    ASSERT_EQ(lbl_label_all(&in, lab, &err), 0);
    /* the same categories twice: disambiguated by the first representative
     * (the most popular member with a label category; ties: lower id) */
    ASSERT_STR_EQ(lab[0].name, "Action / Sci-Fi, like Solaris");
    ASSERT_EQ(lab[0].kind, LBL_CATEGORIES);
    ASSERT_NEAR(lab[0].coverage, 6.0 / 7, 1e-6);
    ASSERT_EQ(lab[0].size, 5);
    ASSERT_EQ(lab[0].top_items[0], 0);
    ASSERT_EQ(lab[0].top_items[1], 2);
    ASSERT_EQ(lab[0].top_items[2], 1); /* Alien (Sci-Fi) before Amelie (Drama) */
    ASSERT_STR_EQ(lab[1].name, "Action / Sci-Fi, like Predator");
    ASSERT_NEAR(lab[1].coverage, 6.0 / 7, 1e-6);
    /* no category set covers a majority: the two representatives, and
     * their share of the weight */
    ASSERT_STR_EQ(lab[2].name, "like Unforgiven, Cabaret");
    ASSERT_EQ(lab[2].kind, LBL_TITLES);
    ASSERT_NEAR(lab[2].coverage, 3.0 / 7, 1e-6);
    ASSERT_STR_EQ(lab[3].name, "like x2, x1");
    ASSERT_EQ(lab[3].kind, LBL_TITLES);
    ASSERT_NEAR(lab[3].coverage, 1.0, 1e-6);
    ASSERT_EQ(lab[3].top_items[2], INTR_NONE);
    ASSERT_STR_EQ(lab[4].name, "interest 4 (empty)");
    ASSERT_EQ(lab[4].kind, LBL_EMPTY);
    ASSERT_EQ(lab[4].size, 0);
    ASSERT_EQ(lab[4].top_items[0], INTR_NONE);
    ASSERT_STR_EQ(lab[5].name, "Horror"); /* one category is enough: no pair */
    ASSERT_NEAR(lab[5].coverage, 2.0 / 3, 1e-6);
    ASSERT_EQ(lab[5].top_items[2], 20);
    assert_distinct(lab, K);

    /* a stricter threshold: the pairs no longer reach it (titles); Horror
     * needs Adventure, named in alphabetical order though interned last */
    in.min_coverage = 0.9;
    ASSERT_EQ(lbl_label_all(&in, lab, &err), 0);
    ASSERT_STR_EQ(lab[0].name, "like Solaris, Heat");
    ASSERT_NEAR(lab[0].coverage, 4.0 / 7, 1e-6);
    ASSERT_STR_EQ(lab[1].name, "like Predator, Aliens");
    ASSERT_STR_EQ(lab[5].name, "Adventure / Horror");
    ASSERT_NEAR(lab[5].coverage, 1.0, 1e-6);
    assert_distinct(lab, K);

    ASSERT_STR_EQ(lbl_kind_name(LBL_CATEGORIES), "categories");
    ASSERT_STR_EQ(lbl_kind_name(LBL_TITLES), "titles");
    ASSERT_EQ(lbl_kind_parse("titles"), LBL_TITLES);
    ASSERT_EQ(lbl_kind_parse("empty"), LBL_EMPTY);
    ASSERT_EQ(lbl_kind_parse("title"), LBL_UNKNOWN);
    ASSERT_EQ(lbl_kind_parse(NULL), LBL_UNKNOWN);
    ds_free(ds);
    TEST_OK("labels: covering categories in alphabetical order with their coverage, titles "
            "below the threshold, ids without titles, distinct names");
}

/* Representatives come from the core (the edge quarter, by cosine to the
 * centroid, is left out, however popular); equal title labels get the
 * interest id; no dataset: item numbers. */
static void test_label_fallbacks(void) {
    const item_row rows[] = {
        {"a", "Same", "", 0, 1},  {"b", "B", "", 0, 2},    {"c", "C", "", 0, 1},
        {"d", "Far", "", 0, 100}, {"e", "Same", "", 1, 1}, {"f", "Same", "", 2, 1},
    };
    enum { N = 6, K = 3 };
    ds_dataset *ds = rows_dataset(rows, N);
    const float vecs[] = {1, 0.1f, 1, -0.1f, 2, 0.1f, 0.3f, 1, 0, 1, 0, 1};
    const float cent[] = {1, 0, 0, 1, 0, 1};
    const uint32_t interest[] = {0, 0, 0, 0, 1, 2};
    const float events[] = {1, 2, 1, 100, 1, 1};
    lbl_label lab[K];
    lbl_input in = {.item_interest = interest,
                    .n_items = N,
                    .n_clusters = K,
                    .events = events,
                    .item_vecs = vecs,
                    .centroids = cent,
                    .dim = 2,
                    .ds = ds};
    mx_err err = {0};
    ASSERT_EQ(lbl_label_all(&in, lab, &err), 0);
    ASSERT_STR_EQ(lab[0].name, "like B, Same");
    ASSERT_EQ(lab[0].top_items[0], 1);
    ASSERT_EQ(lab[0].top_items[1], 0);
    ASSERT_EQ(lab[0].top_items[2], 2); /* d, the most popular, is on the edge */
    ASSERT_NEAR(lab[0].coverage, 3.0 / 104, 1e-6);
    /* equal title labels: the interest id */
    ASSERT_STR_EQ(lab[1].name, "like Same #1");
    ASSERT_STR_EQ(lab[2].name, "like Same #2");
    assert_distinct(lab, K);
    /* without vectors, every member is core; without a dataset, numbers */
    in.item_vecs = NULL;
    in.ds = NULL;
    in.events = NULL;
    ASSERT_EQ(lbl_label_all(&in, lab, &err), 0);
    ASSERT_STR_EQ(lab[0].name, "like #0, #1");
    ASSERT_NEAR(lab[0].coverage, 0.5, 1e-6);
    ASSERT_STR_EQ(lab[1].name, "like #4");
    ds_free(ds);
    TEST_OK("representatives from the core, ids for equal names, item numbers without data");
}

/* A shop of four departments whose items cluster by department (a tenth of
 * the items are cross-listed in a second one): the automatic count stays
 * near 4, not the old minimum of 16, and every label names a department
 * that covers most of its interest. */
static void test_four_departments(void) {
    syn_params sp;
    syn_params_init(&sp);
    sp.n_items = 2000;
    sp.n_users = 10;
    sp.n_interests = 4;
    sp.dim = 16;
    sp.seed = 9;
    syn_world w;
    mx_err err = {0};
    ASSERT_EQ(syn_make(&sp, &w, &err), 0);
    ds_dataset *ds = ds_new();
    char id[32], title[48], cats[48];
    for (size_t i = 0; i < w.n_items; i++) {
        snprintf(id, sizeof(id), "i%zu", i);
        add(ds, "u1", id, (int64_t)i);
    }
    for (size_t i = 0; i < w.n_items; i++) {
        uint32_t dep = w.item_interest[i];
        snprintf(id, sizeof(id), "i%zu", i);
        snprintf(title, sizeof(title), "Product %zu", i);
        if (i % 10 == 0)
            snprintf(cats, sizeof(cats), "dept-%u|dept-%u", dep, (dep + 1) % 4);
        else
            snprintf(cats, sizeof(cats), "dept-%u", dep);
        ASSERT_EQ(ds_set_item_meta(ds, id, title, cats, '|', &err), 0);
    }
    ASSERT_EQ(ds_finish(ds, &err), 0);
    uint32_t *lab = malloc(w.n_items * sizeof(uint32_t));
    intr_params p;
    intr_params_init(&p);
    float *cent = NULL;
    size_t k = 0;
    intr_report rep;
    ASSERT_EQ(intr_train(w.item_vecs, w.n_items, w.dim, &p, &cent, &k, lab, &rep, &err), 0);
    ASSERT(k >= 4 && k <= 8);
    ASSERT_EQ(k, 4);
    ASSERT_EQ(rep.hi, 16);
    lbl_label labels[16];
    lbl_input in = {.item_interest = lab,
                    .n_items = w.n_items,
                    .n_clusters = k,
                    .item_vecs = w.item_vecs,
                    .centroids = cent,
                    .dim = w.dim,
                    .ds = ds};
    ASSERT_EQ(lbl_label_all(&in, labels, &err), 0);
    for (size_t c = 0; c < k; c++) {
        ASSERT_EQ(labels[c].kind, LBL_CATEGORIES);
        ASSERT(strncmp(labels[c].name, "dept-", 5) == 0);
        ASSERT(labels[c].coverage >= 0.85);
    }
    assert_distinct(labels, k);
    free(cent);
    free(lab);
    ds_free(ds);
    syn_world_free(&w);
    TEST_OK("four departments: 4..8 interests, each labelled by its department");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_auto_range();
    test_small_and_degenerate();
    test_planted_directions();
    test_synth_worlds();
    test_labels();
    test_label_fallbacks();
    test_four_departments();
    return 0;
}

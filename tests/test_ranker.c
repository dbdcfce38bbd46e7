/* test_ranker.c - the learned ranker: the compact evaluator against
 * XGBoost's own predictor, learning a planted rule, mismatched and corrupt
 * ranker files, and the ranked path of rec_recommend and evaluate (its
 * features: test_rank_features.c). */
#include <jansson.h>
#include <omp.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

#include "evaluate.h"
#include "fixture.h"
#include "model.h"
#include "rank_features.h"
#include "rank_train.h"
#include "ranker.h"
#include "ranker_xgb.h"
#include "recommend.h"
#include "rng.h"

static ds_dataset *ds;
static mx_model *model; /* with a ranker */

/* ---- the compact evaluator against XGBoost ------------------------------ */

typedef struct {
    float *x, *label;
    unsigned *groups;
    size_t rows, n_groups, nf;
} synth_set;

/* Groups of 20 rows; label = 1 when feature `key` > 0.7 (plus noise
 * features); deterministic for a seed. */
static synth_set make_set(size_t n_groups, size_t nf, size_t key, uint64_t seed) {
    synth_set s = {0};
    s.nf = nf;
    s.n_groups = n_groups;
    s.rows = n_groups * 20;
    s.x = malloc(s.rows * nf * sizeof(float));
    s.label = malloc(s.rows * sizeof(float));
    s.groups = malloc(n_groups * sizeof(unsigned));
    rng_state r;
    rng_seed(&r, seed);
    for (size_t g = 0; g < n_groups; g++)
        s.groups[g] = 20;
    for (size_t i = 0; i < s.rows; i++) {
        for (size_t f = 0; f < nf; f++)
            s.x[i * nf + f] = (float)rng_uniform(&r);
        s.label[i] = s.x[i * nf + key] > 0.7f ? 1.0f : 0.0f;
    }
    return s;
}

static void free_set(synth_set *s) {
    free(s->x);
    free(s->label);
    free(s->groups);
}

/* early_stop 0 keeps every round (the default); else stops after that
 * many rounds without a better smoothed validation NDCG@10. */
static size_t train_early_stop = 30;

static char *train_on(const synth_set *tr, const synth_set *va, size_t depth, size_t rounds,
                      float min_child, rkx_report *rep) {
    rank_params p;
    rank_params_init(&p);
    p.depth = depth;
    p.rounds = rounds;
    p.early_stop = train_early_stop;
    p.min_child_weight = min_child;
    p.threads = 2;
    const char *names[RKX_MAX_FEATURES];
    char buf[RKX_MAX_FEATURES][24];
    for (size_t f = 0; f < tr->nf; f++) {
        snprintf(buf[f], sizeof(buf[f]), "f%zu", f);
        names[f] = buf[f];
    }
    rkx_data dt = {tr->x, tr->label, tr->groups, tr->rows, tr->n_groups};
    rkx_data dv = {va->x, va->label, va->groups, va->rows, va->n_groups};
    char *json = NULL;
    size_t len = 0;
    mx_err err = {0};
    if (rkx_train(&dt, &dv, tr->nf, names, &p, &json, &len, rep, &err))
        FAIL("rkx_train: %s", err.msg);
    ASSERT(len == strlen(json));
    return json;
}

static void compare_with_xgboost(const char *json, const synth_set *held, size_t *n_trees,
                                 size_t *max_depth) {
    rk_forest *f = NULL;
    rkx_booster *b = NULL;
    mx_err err = {0};
    if (rk_forest_parse(json, strlen(json), &f, &err)) FAIL("parse: %s", err.msg);
    if (rkx_load(json, strlen(json), &b, &err)) FAIL("rkx_load: %s", err.msg);
    ASSERT_EQ(rk_forest_n_features(f), held->nf);
    float *mine = malloc(held->rows * sizeof(float)), *theirs = malloc(held->rows * sizeof(float));
    rk_forest_predict(f, held->x, held->rows, held->nf, mine);
    if (rkx_predict(b, held->x, held->rows, held->nf, theirs, &err)) FAIL("predict: %s", err.msg);
    double worst = 0;
    for (size_t i = 0; i < held->rows; i++) {
        double diff = fabs((double)mine[i] - theirs[i]);
        if (diff > worst) worst = diff;
    }
    if (worst > 1e-5) FAIL("compact evaluator differs from XGBoost by %g", worst);
    /* the AVX2 levels (where the CPU has them) and the SSE2/scalar ones:
     * the same comparisons, the same margins to the bit */
    float *other = malloc(held->rows * sizeof(float));
    rk_forest_use_avx2(0);
    rk_forest_predict(f, held->x, held->rows, held->nf, other);
    int avx2 = rk_forest_use_avx2(1);
    for (size_t i = 0; i < held->rows; i++)
        if (memcmp(&other[i], &mine[i], sizeof(float)))
            FAIL("row %zu: %.9g by default (AVX2 %s), %.9g without AVX2", i, mine[i],
                 avx2 ? "available" : "absent", other[i]);
    free(other);
    /* odd row counts and a stride wider than the features */
    size_t stride = held->nf + 3;
    float *wide = calloc(37 * stride, sizeof(float));
    for (size_t i = 0; i < 37; i++)
        memcpy(wide + i * stride, held->x + i * held->nf, held->nf * sizeof(float));
    rk_forest_predict(f, wide, 37, stride, mine);
    for (size_t i = 0; i < 37; i++)
        ASSERT_NEAR(mine[i], theirs[i], 1e-5);
    /* Saabas contributions: XGBoost's approx_contribs, and they add up to
     * the margin */
    size_t nf = held->nf, rows = 50;
    float *ref = malloc(rows * (nf + 1) * sizeof(float)), contrib[RK_MAX_FEATURES], bias;
    if (rkx_contribs(b, held->x, rows, nf, ref, &err)) FAIL("contribs: %s", err.msg);
    rk_forest_predict(f, held->x, rows, nf, mine);
    double worst_c = 0;
    for (size_t i = 0; i < rows; i++) {
        rk_forest_contrib(f, held->x + i * nf, contrib, &bias);
        double sum = bias;
        for (size_t j = 0; j < nf; j++) {
            sum += contrib[j];
            double d = fabs((double)contrib[j] - ref[i * (nf + 1) + j]);
            if (d > worst_c) worst_c = d;
        }
        ASSERT_NEAR(bias, ref[i * (nf + 1) + nf], 1e-4);
        ASSERT_NEAR(sum, mine[i], 1e-4);
    }
    if (worst_c > 1e-4) FAIL("contributions differ from XGBoost's approx_contribs by %g", worst_c);
    free(ref);
    *n_trees = rk_forest_n_trees(f);
    *max_depth = rk_forest_max_depth(f);
    free(wide);
    free(mine);
    free(theirs);
    rk_forest_free(f);
    rkx_free(b);
}

static void test_evaluator_equals_xgboost(void) {
    synth_set tr = make_set(200, 10, 3, 1), va = make_set(50, 10, 3, 2),
              held = make_set(100, 10, 3, 3);
    rkx_report rep;
    size_t nt, md;
    /* depth 6, as served */
    char *json = train_on(&tr, &va, 6, 60, 1, &rep);
    compare_with_xgboost(json, &held, &nt, &md);
    ASSERT(nt >= 1 && md <= 6);
    free(json);
    /* depth 4 (MovieTweetings' ranker) and 3: the AVX2 path picks their
     * leaves by a permutation */
    synth_set big = make_set(400, 10, 3, 4);
    for (size_t i = 0; i < big.rows; i++) /* a label needing many splits */
        big.label[i] = fmodf(big.x[i * 10 + 1] * 37.0f, 1.0f) > 0.5f;
    for (size_t d = 3; d <= 4; d++) {
        json = train_on(&big, &va, d, 20, 0, &rep);
        compare_with_xgboost(json, &held, &nt, &md);
        ASSERT_EQ(md, d);
        free(json);
    }
    /* uneven trees (large min_child_weight leaves leaves high up) */
    json = train_on(&tr, &va, 8, 40, 20, &rep);
    compare_with_xgboost(json, &held, &nt, &md);
    free(json);
    /* trees deeper than the complete layout: walked node by node */
    json = train_on(&big, &va, 14, 5, 0, &rep);
    compare_with_xgboost(json, &held, &nt, &md);
    if (md <= RK_MAX_COMPLETE_DEPTH)
        FAIL("wanted a tree deeper than %d, got %zu", RK_MAX_COMPLETE_DEPTH, md);
    free(json);
    free_set(&big);
    free_set(&tr);
    free_set(&va);
    free_set(&held);
    TEST_OK("compact evaluator = XGBoost's predictor within 1e-5, Saabas contributions = its "
            "approx_contribs within 1e-4 (depth 6, 4, 3, uneven, deeper than the complete layout); "
            "with and without AVX2 bit for bit");
}

static void test_learns_planted_rule(void) {
    synth_set tr = make_set(300, 8, 5, 11), va = make_set(60, 8, 5, 12),
              held = make_set(100, 8, 5, 13);
    rkx_report rep;
    train_early_stop = 0; /* the default: all 25 rounds kept */
    free(train_on(&tr, &va, 6, 25, 1, &rep));
    ASSERT_EQ(rep.rounds, 25);
    train_early_stop = 30;
    char *json = train_on(&tr, &va, 6, 100, 1, &rep);
    ASSERT(rep.rounds >= 1 && rep.rounds <= 100);
    ASSERT(rep.valid_best >= rep.valid_first);
    for (size_t f = 0; f < 8; f++)
        if (f != 5 && rep.importance[f] >= rep.importance[5])
            FAIL("feature %zu outweighs the planted feature 5", f);
    rk_forest *fo = NULL;
    mx_err err = {0};
    ASSERT_EQ(rk_forest_parse(json, strlen(json), &fo, &err), 0);
    float *s = malloc(held.rows * sizeof(float));
    rk_forest_predict(fo, held.x, held.rows, 8, s);
    /* within every group, each positive outscores each negative */
    size_t wrong = 0, pairs = 0;
    for (size_t g = 0; g < held.n_groups; g++)
        for (size_t i = g * 20; i < g * 20 + 20; i++)
            for (size_t j = g * 20; j < g * 20 + 20; j++)
                if (held.label[i] > held.label[j]) {
                    pairs++;
                    wrong += s[i] <= s[j];
                }
    if (wrong * 100 > pairs) FAIL("%zu of %zu pairs misordered", wrong, pairs);
    /* determinism: the same seed gives the same model text */
    rkx_report rep2;
    char *again = train_on(&tr, &va, 6, 100, 1, &rep2);
    ASSERT_STR_EQ(json, again);
    free(again);
    free(s);
    rk_forest_free(fo);
    free(json);
    free_set(&tr);
    free_set(&va);
    free_set(&held);
    TEST_OK("a ranker learns to order by the feature the label depends on; same seed, same model");
}

/* ---- ranker files -------------------------------------------------------- */

static void test_bad_forests(void) {
    rk_forest *f = NULL;
    mx_err err = {0};
    ASSERT_EQ(rk_forest_parse("{", 1, &f, &err), MX_EFORMAT);
    ASSERT_CONTAINS(err.msg, "invalid JSON");
    const char *no = "{\"learner\": {}}";
    ASSERT_EQ(rk_forest_parse(no, strlen(no), &f, &err), MX_EFORMAT);
    ASSERT_CONTAINS(err.msg, "not an XGBoost JSON model");
    const char *lin = "{\"learner\": {\"learner_model_param\": {\"base_score\": \"5E-1\", "
                      "\"num_feature\": \"2\"}, \"gradient_booster\": {\"name\": \"gblinear\", "
                      "\"model\": {\"trees\": []}}}}";
    ASSERT_EQ(rk_forest_parse(lin, strlen(lin), &f, &err), MX_EFORMAT);
    ASSERT_CONTAINS(err.msg, "gblinear");
    const char *oob =
        "{\"learner\": {\"learner_model_param\": {\"base_score\": \"0\", \"num_feature\": "
        "\"2\"}, \"gradient_booster\": {\"name\": \"gbtree\", \"model\": {\"trees\": [{"
        "\"left_children\": [1, -1, -1], \"right_children\": [2, -1, -1], \"split_indices\": "
        "[7, 0, 0], \"split_conditions\": [0.5, 1, 2], \"default_left\": [0, 0, 0]}]}}}}";
    ASSERT_EQ(rk_forest_parse(oob, strlen(oob), &f, &err), MX_EFORMAT);
    ASSERT_CONTAINS(err.msg, "feature 7 of 2");
    const char *cyc =
        "{\"learner\": {\"learner_model_param\": {\"base_score\": \"0\", \"num_feature\": "
        "\"2\"}, \"gradient_booster\": {\"name\": \"gbtree\", \"model\": {\"trees\": [{"
        "\"left_children\": [0, -1, -1], \"right_children\": [2, -1, -1], \"split_indices\": "
        "[1, 0, 0], \"split_conditions\": [0.5, 1, 2], \"default_left\": [0, 0, 0]}]}}}}";
    ASSERT_EQ(rk_forest_parse(cyc, strlen(cyc), &f, &err), MX_EFORMAT);
    ASSERT_CONTAINS(err.msg, "bad children");
    /* a hand-made stump: x1 < 0.5 -> 1, else 2; base 0.25 */
    const char *ok =
        "{\"learner\": {\"learner_model_param\": {\"base_score\": \"2.5E-1\", \"num_feature\": "
        "\"2\"}, \"gradient_booster\": {\"name\": \"gbtree\", \"model\": {\"trees\": [{"
        "\"left_children\": [1, -1, -1], \"right_children\": [2, -1, -1], \"split_indices\": "
        "[1, 0, 0], \"split_conditions\": [0.5, 1, 2], \"default_left\": [0, 0, 0]}]}}}}";
    ASSERT_EQ(rk_forest_parse(ok, strlen(ok), &f, &err), 0);
    float x[6] = {9, 0.4f, 9, 0.5f, -9, 0.6f}, out[3];
    rk_forest_predict(f, x, 3, 2, out);
    ASSERT_NEAR(out[0], 1.25, 1e-7);
    ASSERT_NEAR(out[1], 2.25, 1e-7); /* x == threshold goes right, as in XGBoost */
    ASSERT_NEAR(out[2], 2.25, 1e-7);
    rk_forest_free(f);
    TEST_OK("malformed, linear, out-of-range and cyclic ranker files are rejected by name");
}

static char tmpdir[] = "/tmp/mixrec-ranker-XXXXXX";

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) FAIL("open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) FAIL("read %s", path);
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const char *s, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(s, 1, len, f) != len) FAIL("write %s", path);
    fclose(f);
}

static void test_save_load_mismatch(void) {
    char version[48], path[1024], vdir[256];
    mx_err err = {0};
    ASSERT(mkdtemp(tmpdir) != NULL);
    ASSERT_EQ(model_save(model, tmpdir, version, &err), 0);
    mx_model *m2 = NULL;
    if (model_load(tmpdir, &m2, &err)) FAIL("load: %s", err.msg);
    ASSERT(m2->ranker != NULL);
    ASSERT_STR_EQ(m2->ranker_status, "ok");
    ASSERT_EQ(rk_forest_n_trees(m2->ranker), rk_forest_n_trees(model->ranker));
    /* the same answers from the loaded model */
    rec_ctx *a = rec_ctx_new(model, 20), *b = rec_ctx_new(m2, 20);
    rec_params p;
    rec_params_init(&p);
    rec_query q = {.user = 3, .k = 20, .now = model->t_ref};
    rec_item ia[20], ib[20];
    size_t na = 0, nb = 0;
    ASSERT_EQ(rec_recommend(a, &p, &q, ia, &na, &err), 0);
    ASSERT_EQ(rec_recommend(b, &p, &q, ib, &nb, &err), 0);
    ASSERT_EQ(na, nb);
    for (size_t i = 0; i < na; i++) {
        ASSERT_EQ(ia[i].item, ib[i].item);
        ASSERT(ia[i].score == ib[i].score);
    }
    rec_ctx_free(a);
    rec_ctx_free(b);
    model_free(m2);

    /* a manifest whose feature list differs: the model loads, the ranker
     * is rejected with the reason, answers come in retrieval order */
    snprintf(vdir, sizeof(vdir), "%s/%s", tmpdir, version);
    snprintf(path, sizeof(path), "%s/manifest.json", vdir);
    size_t len;
    char *man = slurp(path, &len);
    char *at = strstr(man, "\"pop_day\"");
    ASSERT(at != NULL);
    memcpy(at + 1, "pop_now", 7);
    spit(path, man, len);
    m2 = NULL;
    if (model_load(tmpdir, &m2, &err)) FAIL("load: %s", err.msg);
    ASSERT(m2->ranker == NULL);
    ASSERT_CONTAINS(m2->ranker_status, "rejected");
    ASSERT_CONTAINS(m2->ranker_status, "pop_now");
    ASSERT_CONTAINS(m2->ranker_status, "pop_day");
    rec_ctx *c = rec_ctx_new(m2, 20);
    ASSERT_EQ(rec_recommend(c, &p, &q, ib, &nb, &err), 0);
    ASSERT_EQ(nb, 20);
    ASSERT_EQ(rec_last_ranked(c), 0);
    for (size_t i = 0; i < nb; i++)
        ASSERT_EQ(ib[i].ranked, 0);
    rec_ctx_free(c);
    model_free(m2);
    memcpy(at + 1, "pop_day", 7);
    spit(path, man, len);
    free(man);

    /* a corrupt ranker file fails its checksum: the model is rejected */
    snprintf(path, sizeof(path), "%s/ranker.json", vdir);
    char *rk = slurp(path, &len);
    rk[len / 2] = rk[len / 2] == '1' ? '2' : '1';
    spit(path, rk, len);
    free(rk);
    m2 = NULL;
    ASSERT(model_load(tmpdir, &m2, &err) != 0);
    ASSERT_CONTAINS(err.msg, "ranker.json");

    /* a model without a ranker: status "absent" */
    mx_model *plain =
        fixture_model(ds, NULL, 0, (const char *const[]){"embed.dim=8", "interests.count=6", NULL});
    char d2[] = "/tmp/mixrec-ranker2-XXXXXX";
    ASSERT(mkdtemp(d2) != NULL);
    ASSERT_EQ(model_save(plain, d2, version, &err), 0);
    m2 = NULL;
    ASSERT_EQ(model_load(d2, &m2, &err), 0);
    ASSERT(m2->ranker == NULL);
    ASSERT_STR_EQ(m2->ranker_status, "absent");
    model_free(m2);
    model_free(plain);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", tmpdir, d2);
    ASSERT_EQ(system(cmd), 0);
    TEST_OK("ranker saved and loaded with the model; a mismatched feature list is rejected by "
            "name (retrieval order); a corrupt file fails the load; absent is reported");
}

/* ---- the ranked path ------------------------------------------------------ */

static void test_ranked_path(void) {
    const mx_model *m = model;
    rec_ctx *c = rec_ctx_new(m, 30);
    rec_params p;
    rec_params_init(&p);
    rec_query q = {.user = 11, .k = 30, .now = m->t_ref};
    rec_item items[30];
    size_t n = 0;
    mx_err err = {0};
    ASSERT_EQ(rec_recommend(c, &p, &q, items, &n, &err), 0);
    ASSERT_EQ(n, 30);
    ASSERT_EQ(rec_last_ranked(c), 1);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(items[i].ranked, 1);
        if (i) ASSERT(items[i].score < items[i - 1].score);
    }
    /* the scores are the ranker's on the pool's features */
    const ret_cand *cands;
    const float *x;
    size_t np = 0;
    ASSERT_EQ(rec_candidates(c, &p, &q, m->cfg.ranker.pool, &cands, &x, &np, &err), 0);
    ASSERT(np >= m->cfg.ranker.pool && np <= RET_N_SOURCES * m->cfg.ranker.pool); /* union */
    float *s = malloc(np * sizeof(float));
    rk_forest_predict(m->ranker, x, np, FEAT_N, s);
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < np && cands[j].item != items[i].item)
            j++;
        ASSERT(j < np);
        ASSERT(s[j] == items[i].rank_score);
    }
    free(s);
    /* XGBoost's own predictor (the reference and fallback): same answer */
    rec_item ix[30];
    size_t nx = 0;
    p.xgboost_predictor = 1;
    ASSERT_EQ(rec_recommend(c, &p, &q, ix, &nx, &err), 0);
    ASSERT_EQ(nx, n);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(ix[i].ranked, 1);
        ASSERT_NEAR(ix[i].rank_score, items[i].rank_score, 1e-5);
    }
    p.xgboost_predictor = 0;
    ASSERT(m->ranker_xgb != NULL);
    /* ranking off: retrieval order, fused scores */
    p.use_ranker = 0;
    ASSERT_EQ(rec_recommend(c, &p, &q, items, &n, &err), 0);
    ASSERT_EQ(rec_last_ranked(c), 0);
    for (size_t i = 1; i < n; i++)
        ASSERT(items[i].score < items[i - 1].score &&
               items[i].rank_score <= items[i - 1].rank_score);
    /* diversity: a cap per interest */
    p.use_ranker = 1;
    p.per_interest_cap = 2;
    ASSERT_EQ(rec_recommend(c, &p, &q, items, &n, &err), 0);
    ASSERT(n > 0);
    for (size_t i = 0; i < n; i++) {
        size_t same = 0;
        for (size_t j = 0; j < n; j++)
            same += items[j].interest == items[i].interest;
        ASSERT(same <= 2);
    }
    /* MMR: with full weight on novelty, the answer spreads over more interests */
    p.per_interest_cap = 0;
    size_t k10 = 10;
    q.k = k10;
    ASSERT_EQ(rec_recommend(c, &p, &q, items, &n, &err), 0);
    size_t plain_interests = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= items[j].interest == items[i].interest;
        plain_interests += !seen;
    }
    p.mmr_lambda = 0.9f;
    ASSERT_EQ(rec_recommend(c, &p, &q, items, &n, &err), 0);
    ASSERT_EQ(n, k10);
    size_t mmr_interests = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++) {
            seen |= items[j].interest == items[i].interest;
            ASSERT(items[j].item != items[i].item);
        }
        mmr_interests += !seen;
    }
    ASSERT(mmr_interests >= plain_interests);
    /* session quota: a strong session in the user's weakest interest gets
     * floor(Q L / k) of every prefix, Q = round(session_quota x b x k) */
    p.mmr_lambda = 0;
    rec_mixture lm;
    rec_query lq = {.user = 11, .k = 10, .now = m->t_ref};
    rec_mixture_of(m, &p, &lq, &lm);
    uint32_t weak = lm.cid[lm.n - 1], sess_items[3];
    size_t ns = 0;
    for (uint32_t it = 0; it < m->n_items && ns < 3; it++)
        if (m->item_interest[it] == weak) sess_items[ns++] = it;
    ASSERT_EQ(ns, 3);
    rec_event ev[3];
    for (size_t e = 0; e < 3; e++)
        ev[e] = (rec_event){sess_items[e], m->t_ref, 3.0f};
    lq.events = ev;
    lq.n_events = 3;
    rec_mixture_of(m, &p, &lq, &lm);
    size_t Q = (size_t)lroundf(p.session_quota * lm.session_share * 10);
    ASSERT(Q >= 3);
    ASSERT_EQ(rec_recommend(c, &p, &lq, items, &n, &err), 0);
    ASSERT_EQ(n, 10);
    size_t in_sess = 0;
    for (size_t i = 0; i < n; i++) {
        in_sess += items[i].interest == weak;
        ASSERT(in_sess >= Q * (i + 1) / 10);
    }
    p.session_quota = 0;
    ASSERT_EQ(rec_recommend(c, &p, &lq, items, &n, &err), 0);
    size_t without = 0;
    for (size_t i = 0; i < n; i++)
        without += items[i].interest == weak;
    ASSERT(without <= in_sess);
    printf("# session quota: %zu of 10 from the session's interest (Q %zu), %zu without it\n",
           in_sess, Q, without);
    rec_ctx_free(c);
    TEST_OK("rec_recommend orders by the ranker's scores, falls back when off, caps per interest, "
            "spreads with MMR and keeps the session quota in every prefix");
}

static void test_train_report(const rkt_report *r) {
    ASSERT(r->cut > 0 && r->early_events > 0);
    ASSERT(r->users_train > 0 && r->rows > 0 && r->positives > 0);
    /* each user's pool: up to pool candidates from each source */
    ASSERT(r->rows <= (r->users_train + r->users_valid) * model->cfg.ranker.pool * RET_N_SOURCES);
    ASSERT(r->xgb.rounds >= 1);
    json_t *info = model->ranker_info;
    ASSERT_EQ(json_array_size(json_object_get(info, "features")), FEAT_N);
    ASSERT_STR_EQ(json_string_value(json_object_get(info, "objective")), "rank:ndcg");
    ASSERT_EQ(json_integer_value(json_object_get(info, "rounds")), r->xgb.rounds);
    TEST_OK("rkt_train: examples from the early model, manifest entry with features and rounds");
}

static void test_eval_ranked(void) {
    size_t n = 0;
    const ds_event *ev = ds_events(ds, &n);
    ds_split split = {0};
    mx_err err = {0};
    ASSERT_EQ(ds_split_global(ev, n, 0.2, 5, &split, &err), 0);
    mx_model *m = fixture_model(
        ds, split.train, split.n_train,
        (const char *const[]){"embed.dim=8", "interests.count=6", "rank_train.pool=50", NULL});
    rkt_report rep;
    if (rkt_train(ds, split.train, split.n_train, m, &rep, &err)) FAIL("rkt_train: %s", err.msg);
    rkt_sessions *s = NULL;
    ASSERT_EQ(rkt_sessions_new(split.train, split.n_train, m->n_users, m->t_ref + 1, 24, &s, &err),
              0);
    size_t total = 0;
    for (uint32_t u = 0; u < m->n_users; u++) {
        size_t k = 0;
        int64_t now = 0;
        const feat_event *e = rkt_session(s, u, &k, &now);
        ASSERT(k <= 32);
        for (size_t i = 0; i < k; i++) {
            ASSERT(e[i].ts <= now && e[i].ts >= now + 1 - 24 * 3600 && now == m->t_ref);
            if (i) ASSERT(e[i].ts >= e[i - 1].ts);
        }

        total += k;
    }
    ASSERT(total > 0);
    static const size_t ks[2] = {10, 20};
    evl_result r;
    ASSERT_EQ(evl_run(m, ds, split.test, split.n_test, ks, 2, 0, s, &r, &err), 0);
    ASSERT(r.evaluated[EVL_RANKED]);
    ASSERT_EQ(r.method[EVL_RANKED].n_users, r.method[EVL_BLEND].n_users);
    ASSERT(r.method[EVL_RANKED].recall[1] >= r.method[EVL_RANKED].recall[0]);
    printf("# ranked recall@10 %.4f ndcg@10 %.4f; blend %.4f %.4f\n",
           r.method[EVL_RANKED].recall[0], r.method[EVL_RANKED].ndcg[0],
           r.method[EVL_BLEND].recall[0], r.method[EVL_BLEND].ndcg[0]);
    rkt_sessions_free(s);
    model_free(m);
    ds_split_free(&split);
    TEST_OK("evaluate: the ranked method runs the service's path with offline sessions");
}

/* Items new to the model (catalogue additions) as the ranker sees them: a
 * copy of a pool item's vector and categories gets that item's similarity
 * features, with fresh 1, its own age and no popularity; the scores are
 * the ranker's on those rows. */
static void test_rank_new(void) {
    const mx_model *m = model;
    size_t d = m->dim;
    rec_ctx *c = rec_ctx_new(m, 30);
    rec_params p;
    rec_params_init(&p);
    uint32_t s1 = m->seen_items[m->seen_ptr[7]];
    rec_event sess[1] = {{s1, m->t_ref - 60, 2}};
    rec_query q = {.user = 5, .events = sess, .n_events = 1, .k = 10, .now = m->t_ref};
    rec_item items[10], fresh[3];
    size_t n = 0;
    mx_err err = {0};
    /* the pool's rows, for the copied item's features */
    const ret_cand *cands;
    const float *x;
    size_t np = 0;
    ASSERT_EQ(rec_candidates(c, &p, &q, m->cfg.ranker.pool, &cands, &x, &np, &err), 0);
    ASSERT(np > 3);
    uint32_t it = cands[3].item;
    float *row = malloc(FEAT_N * sizeof(float));
    memcpy(row, x + 3 * FEAT_N, FEAT_N * sizeof(float));
    ASSERT_EQ(rec_recommend(c, &p, &q, items, &n, &err), 0);
    ASSERT_EQ(rec_last_ranked(c), 1);
    const float *v = m->item_vecs + (size_t)it * d;
    const uint16_t *cats = m->cat_ids + m->cat_ptr[it];
    size_t nc = m->cat_ptr[it + 1] - m->cat_ptr[it];
    feat_new nw[3] = {
        {.age_days = 2.5f, .vec = v, .inv_norm = m->item_inv_norm[it], .cats = cats, .n_cats = nc},
        {.age_days = 0.5f, .cats = cats, .n_cats = nc},
        {.age_days = 30}};
    memset(fresh, 0, sizeof(fresh));
    q.explain = 1;
    ASSERT_EQ(rec_rank_new(c, &q, nw, 3, fresh, &err), 0);
    /* the rows, recomputed the way rec_rank_new does, for the checks */
    feat_ctx *fc = feat_ctx_new(m, 3);
    float fx[3 * FEAT_N];
    rec_mixture mix;
    rec_mixture_of(m, &p, &q, &mix);
    float sw[REC_MAX_INTERESTS];
    for (size_t s = 0; s < mix.n; s++)
        sw[s] = rec_session_weight(&mix, s);
    feat_query fq = {.user = q.user,
                     .q = rec_last_query(c),
                     .cid = mix.cid,
                     .w = mix.blended,
                     .session_w = sw,
                     .m = mix.n,
                     .session_share = mix.session_share,
                     .events = sess,
                     .n_events = 1};
    ASSERT_EQ(feat_compute_new(fc, &fq, nw, 3, np, fx), 3);
    const int same[] = {FEAT_ANN_SCORE,      FEAT_COSINE,          FEAT_ITEM_NORM,
                        FEAT_RECENT_SIM_MAX, FEAT_RECENT_SIM_MEAN, FEAT_CATEGORY_AFFINITY,
                        FEAT_USER_ACTIVITY,  FEAT_USER_IDLE,       FEAT_SESSION_SIM_MAX,
                        FEAT_SESSION_EVENTS, FEAT_SESSION_SHARE};
    for (size_t j = 0; j < sizeof(same) / sizeof(same[0]); j++)
        ASSERT_NEAR(fx[same[j]], row[same[j]], 1e-4);
    for (size_t i = 0; i < 3; i++) {
        const float *f = fx + i * FEAT_N;
        ASSERT_EQ(f[FEAT_FRESH], 1);
        ASSERT_NEAR(f[FEAT_ITEM_AGE], nw[i].age_days, 1e-6);
        ASSERT(f[FEAT_POP_COUNT] == 0 && f[FEAT_POP_RECENT] == 0 && f[FEAT_IN_MIXTURE] == 0);
        ASSERT_EQ(f[FEAT_POOL_RANK], np);
        float s;
        rk_forest_predict(m->ranker, f, 1, FEAT_N, &s);
        ASSERT(fresh[i].ranked == 1 && fresh[i].rank_score == s);
        ASSERT(fresh[i].n_why > 0);
    }
    /* without a vector: no similarity; its categories still count */
    ASSERT(fx[FEAT_N + FEAT_ANN_SCORE] == 0 && fx[FEAT_N + FEAT_RECENT_SIM_MAX] == 0);
    ASSERT_NEAR(fx[FEAT_N + FEAT_CATEGORY_AFFINITY], row[FEAT_CATEGORY_AFFINITY], 1e-5);
    ASSERT(fx[2 * FEAT_N + FEAT_CATEGORY_AFFINITY] == 0);
    /* an unranked answer: nothing written */
    p.use_ranker = 0;
    ASSERT_EQ(rec_recommend(c, &p, &q, items, &n, &err), 0);
    memset(fresh, 0, sizeof(fresh));
    ASSERT_EQ(rec_rank_new(c, &q, nw, 3, fresh, &err), 0);
    ASSERT(fresh[0].ranked == 0 && fresh[0].rank_score == 0);
    feat_ctx_free(fc);
    free(row);
    rec_ctx_free(c);
    TEST_OK("new catalogue items: fresh 1, their age, no popularity, a copied item's similarity "
            "features; the ranker's scores on them (only after a ranked answer)");
}

int main(void) {
    omp_set_num_threads(2);
    rkt_report rep;
    model = fixture_ranked_model(&ds, &rep);
    test_train_report(&rep);
    test_evaluator_equals_xgboost();
    test_learns_planted_rule();
    test_bad_forests();
    test_ranked_path();
    test_rank_new();
    test_save_load_mismatch();
    test_eval_ranked();
    model_free(model);
    ds_free(ds);
    return 0;
}

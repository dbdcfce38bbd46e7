/* test_tune.c - the settings search (tune.h) and its embedding cache
 * (embcache.h) on a small synthetic world: the cache hits, misses and
 * evicts; the search scores the start first, never reads the held-out
 * events, scores each setting once, keeps only winners, reuses embeddings,
 * stops at the trial cap and gives the same choice and figures twice. */
#include "embcache.h"
#include "tune.h"
#include "tap.h"
#include "fixture.h"

static void test_cache(void) {
    mx_err err = {0};
    embc_cache *c = embc_new(2);
    ASSERT(c != NULL);
    ds_event ev[3] = {{0, 0, 10, 1}, {1, 1, 20, 1}, {0, 1, 30, 1}};
    emb_params p;
    emb_params_init(&p);
    p.dim = 2;
    float u[4] = {1, 2, 3, 4}, it[4] = {5, 6, 7, 8}, gu[4] = {0}, gi[4] = {0};
    ASSERT_EQ(embc_get(c, ev, 3, &p, 2, 2, gu, gi), 0);
    ASSERT_EQ(gu[0], 0); /* a miss leaves the outputs alone */
    ASSERT_EQ(embc_put(c, ev, 3, &p, 2, 2, u, it, &err), 0);
    ASSERT_EQ(embc_get(c, ev, 3, &p, 2, 2, gu, gi), 1);
    ASSERT(gu[3] == 4 && gi[0] == 5 && gi[3] == 8);
    ASSERT_EQ(embc_get(c, ev, 2, &p, 2, 2, gu, gi), 0); /* other events */
    emb_params q = p;
    q.alpha += 1;
    ASSERT_EQ(embc_get(c, ev, 3, &q, 2, 2, gu, gi), 0); /* other settings */
    TEST_OK("embcache: a hit copies the vectors; other events or settings miss");
    /* capacity 2: q and r go in, p (least recently used) goes out */
    ASSERT_EQ(embc_put(c, ev, 3, &q, 2, 2, u, it, &err), 0);
    ASSERT_EQ(embc_get(c, ev, 3, &q, 2, 2, gu, gi), 1);
    emb_params r = p;
    r.seed += 1;
    ASSERT_EQ(embc_put(c, ev, 3, &r, 2, 2, u, it, &err), 0);
    ASSERT_EQ(embc_get(c, ev, 3, &p, 2, 2, gu, gi), 0);
    ASSERT_EQ(embc_get(c, ev, 3, &q, 2, 2, gu, gi), 1);
    ASSERT_EQ(embc_get(c, ev, 3, &r, 2, 2, gu, gi), 1);
    ASSERT_EQ(embc_hits(c), 4);
    embc_free(c);
    TEST_OK("embcache: full, the least recently used entry is evicted");
}

static const tune_coord plan[] = {
    {"embed.dim", 2, {"embed.dim=4", "embed.dim=8"}},
    {"mixture.k0", 2, {"mixture.k0=0", "mixture.k0=20"}},
    {"shares",
     1,
     {"retrieval.share_mixture=0.4,retrieval.share_single=0.4,retrieval.share_popular=0.2"}},
};

static size_t progress_calls;
static void on_trial(void *ud, const tune_result *r, const tune_trial *t) {
    (void)ud;
    ASSERT_EQ(t->index, r->n_trials - 1);
    progress_calls++;
}

static void run(const ds_dataset *ds, size_t max_trials, tune_result *r) {
    bcfg base;
    bcfg_init(&base);
    mx_err err = {0};
    ASSERT_EQ(bcfg_set(&base, "embed.dim", "8", &err), 0);
    ASSERT_EQ(bcfg_set(&base, "interests.count", "6", &err), 0);
    ASSERT_EQ(bcfg_set(&base, "embed.iters", "5", &err), 0);
    tune_params p;
    tune_params_init(&p);
    p.plan = plan;
    p.n_plan = 3;
    p.max_trials = max_trials;
    if (tune_run(ds, &base, NULL, &p, on_trial, NULL, r, &err)) FAIL("tune_run: %s", err.msg);
}

static void test_search(void) {
    ds_dataset *ds = fixture_dataset(1500, 600, 6, 8, 5);
    size_t n_ev = 0;
    const ds_event *ev = ds_events(ds, &n_ev);
    tune_result a, b, c;
    progress_calls = 0;
    run(ds, 0, &a);
    ASSERT_EQ(progress_calls, a.n_trials);
    ASSERT(a.complete);
    /* the start (dim 8) equals plan value embed.dim=8: scored once, so the
     * first pass has start + dim 4 + two k0 + shares = 5 trials at most */
    ASSERT(a.n_trials >= 4);
    ASSERT_STR_EQ(a.trials[0].changed, "start");
    for (size_t i = 0; i < a.n_trials; i++)
        ASSERT(a.trials[i].ndcg10 >= 0 && a.trials[i].recall10 > 0 && a.trials[i].pool_r100 > 0 &&
               a.trials[i].best_r100 > 0);
    printf("ok - tune: %zu trials, the start first, every one scored\n", a.n_trials);
    /* the held-out events are never part of a trial */
    ASSERT(a.valid_cutoff <= a.cutoff);
    ASSERT(a.train_events + a.valid_events + a.held_out_events <= n_ev);
    ASSERT(a.held_out_events > 0 && a.valid_events > 0 && a.valid_users > 0);
    size_t after = 0;
    for (size_t e = 0; e < n_ev; e++)
        after += ev[e].ts >= a.cutoff;
    ASSERT(after >= a.held_out_events); /* of users with min_train events before */
    printf("ok - tune: validation split before the test cut-off; %zu held-out events never read\n",
           a.held_out_events);
    /* the best is the start or a trial that beat it, feasible when any is */
    const tune_trial *best = &a.trials[a.best];
    int any_feasible = 0;
    for (size_t i = 0; i < a.n_trials; i++)
        any_feasible |= a.trials[i].feasible;
    ASSERT(best->feasible == any_feasible);
    for (size_t i = 0; i < a.n_trials; i++)
        if (a.trials[i].feasible == best->feasible && i != a.best)
            ASSERT(a.trials[i].score <= best->score * (1 + TUNE_MIN_GAIN) + 1e-12 || i > a.best);
    ASSERT(a.embed_hits > 0);
    printf(
        "ok - tune: best trial %zu (%s), score %.4f vs start %.4f; embeddings reused %zu times\n",
        a.best, best->changed, best->score, a.trials[0].score, a.embed_hits);
    /* the chosen settings are the best trial's */
    bcfg want;
    bcfg_init(&want);
    mx_err err = {0};
    ASSERT_EQ(bcfg_set(&want, "embed.dim", "8", &err), 0);
    ASSERT_EQ(bcfg_set(&want, "interests.count", "6", &err), 0);
    ASSERT_EQ(bcfg_set(&want, "embed.iters", "5", &err), 0);
    for (size_t k = 0; k < 3; k++)
        if (best->choice[k] >= 0) ASSERT_EQ(tune_apply(&want, &plan[k], best->choice[k], &err), 0);
    ASSERT_EQ(want.embed.dim, a.cfg.embed.dim);
    ASSERT(want.mixture.k0 == a.cfg.mixture.k0);
    ASSERT(want.retrieval.blend_share[RET_POPULAR] == a.cfg.retrieval.blend_share[RET_POPULAR]);
    TEST_OK("tune: result settings = start + the best trial's choices");

    run(ds, 0, &b); /* the same search again: the same figures, the same choice */
    ASSERT_EQ(b.n_trials, a.n_trials);
    ASSERT_EQ(b.best, a.best);
    for (size_t i = 0; i < a.n_trials; i++)
        if (a.trials[i].score != b.trials[i].score ||
            a.trials[i].pool_r100 != b.trials[i].pool_r100)
            FAIL("trial %zu: %.6f/%.6f, then %.6f/%.6f", i, a.trials[i].score,
                 a.trials[i].pool_r100, b.trials[i].score, b.trials[i].pool_r100);
    printf("ok - tune: deterministic, the same %zu trials and choice twice\n", a.n_trials);

    run(ds, 2, &c);
    ASSERT_EQ(c.n_trials, 2);
    ASSERT(!c.complete);
    TEST_OK("tune: the trial cap stops the search and says it is incomplete");
    tune_result_free(&a);
    tune_result_free(&b);
    tune_result_free(&c);
    ds_free(ds);
}

int main(void) {
    (void)fixture_model; /* the search builds its own models */
    test_cache();
    test_search();
    return 0;
}

/* fixture.h - small synthetic data sets and models for the tests that need
 * a whole pipeline (model, recommend, evaluate). Header-only; include
 * after tap.h. */
#ifndef MX_FIXTURE_H
#define MX_FIXTURE_H

#include "bconfig.h"
#include "dataset.h"
#include "pipeline.h"
#include "rank_train.h"
#include "synth.h"

/* A dataset of a planted world (string ids "u<k>", "i<k>"). */
static ds_dataset *fixture_dataset(size_t items, size_t users, size_t interests, size_t dim,
                                   uint64_t seed) {
    syn_params sp;
    syn_params_init(&sp);
    sp.n_items = items;
    sp.n_users = users;
    sp.n_interests = interests;
    sp.dim = dim;
    sp.seed = seed;
    syn_world w;
    mx_err err = {0};
    ds_dataset *ds = NULL;
    if (syn_make(&sp, &w, &err) || syn_to_dataset(&w, &ds, &err)) FAIL("fixture: %s", err.msg);
    syn_world_free(&w);
    return ds;
}

/* A model from train (all of ds's events when NULL) with settings
 * "name=value" (NULL-terminated list). */
static mx_model *fixture_model(const ds_dataset *ds, const ds_event *train, size_t n_train,
                               const char *const *settings) {
    bcfg cfg;
    bcfg_init(&cfg);
    mx_err err = {0};
    for (const char *const *s = settings; s && *s; s++) {
        char name[128];
        const char *eq = strchr(*s, '=');
        if (!eq) FAIL("fixture: bad setting %s", *s);
        snprintf(name, sizeof(name), "%.*s", (int)(eq - *s), *s);
        if (bcfg_set(&cfg, name, eq + 1, &err)) FAIL("fixture: %s", err.msg);
    }
    if (!train) train = ds_events(ds, &n_train);
    mx_model *m = NULL;
    if (pipe_build(ds, train, n_train, &cfg, NULL, &m, NULL, &err)) FAIL("pipe_build: %s", err.msg);
    return m;
}

/* The ranker tests' world (test_ranker.c, test_rank_features.c): 1,500
 * items, 600 users, 6 interests, a model with a ranker trained on all of
 * its events (the report into rep). */
static inline mx_model *fixture_ranked_model(ds_dataset **ds_out, rkt_report *rep) {
    ds_dataset *ds = fixture_dataset(1500, 600, 6, 8, 21);
    size_t n = 0;
    const ds_event *ev = ds_events(ds, &n);
    mx_model *m =
        fixture_model(ds, ev, n,
                      (const char *const[]){"embed.dim=8", "interests.count=6",
                                            "rank_train.pool=60", "rank_train.rounds=40", NULL});
    mx_err err = {0};
    if (rkt_train(ds, ev, n, m, rep, &err)) FAIL("rkt_train: %s", err.msg);
    ASSERT(m->ranker != NULL);
    *ds_out = ds;
    return m;
}

#endif

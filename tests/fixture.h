/* fixture.h - small synthetic data sets and models for the tests that need
 * a whole pipeline (model, recommend, evaluate). Header-only; include
 * after tap.h. */
#ifndef MX_FIXTURE_H
#define MX_FIXTURE_H

#include "bconfig.h"
#include "dataset.h"
#include "pipeline.h"
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

#endif

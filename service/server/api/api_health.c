/* api_health.c - see api_health.h. */
#include "api_health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"
#include "ranker.h"
#include "tenants.h"

void api_health_live(api_req *r) {
    api_respond(r, API_OK, strdup("{\"status\":\"ok\"}"));
    api_finish(r);
}

/* s as a JSON string; bytes of a name or path that are not UTF-8 (CURRENT
 * may hold anything) become '?' rather than losing the whole report. */
static json_t *text_json(char *s) {
    json_t *j = json_string(s);
    if (j) return j;
    for (char *p = s; *p; p++)
        if ((unsigned char)*p >= 0x80) *p = '?';
    return json_string(s);
}

static json_t *ready_json(const api_env *env, const mx_model *m) {
    const srv_config *cfg = env->cfg;
    int up = wk_redis_connected(env->pool), n = wk_count(env->pool);
    const char *redis = !cfg->redis_url[0] ? "not configured" : up == n ? "ok" : "degraded";
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:i}", "status",
                          up == n || !cfg->redis_url[0] ? "ready" : "degraded", "model_version",
                          m->version, "redis", redis, "redis_connected_workers", up, "workers", n);
    /* The ranker never makes the service unready: without it answers come
     * in retrieval order, and this says so. */
    json_t *rk =
        json_pack("{s:s,s:s}", "state", api_ranker_state(m, cfg), "detail", m->ranker_status);
    if (rk && m->ranker)
        json_object_set_new(rk, "trees", json_integer((json_int_t)rk_forest_n_trees(m->ranker)));
    json_object_set_new(o, "ranker", rk);
    /* A refused version never makes the service unready either: the
     * previous model serves, and this says what was refused and why. */
    mh_refusal ref;
    if (o && mh_refused(env->holder, &ref))
        json_object_set_new(o, "model_refused",
                            json_pack("{s:o,s:o,s:I}", "version", text_json(ref.version), "error",
                                      text_json(ref.error), "at", (json_int_t)ref.at));
    /* The live catalogue (catstore.h): how many records this replica
     * applies and when it last read them; never unready either (without a
     * read, answers go out with no overrides, and this says so). */
    catstore *cs = wk_catalog(env->pool);
    if (o && cs) {
        cat_snapshot *snap = catstore_current(cs);
        int64_t at = catstore_last_read(cs);
        json_object_set_new(o, "catalogue",
                            json_pack("{s:I,s:o}", "records", (json_int_t)cat_snapshot_count(snap),
                                      "read_at", at ? json_integer(at) : json_null()));
        cat_snapshot_release(snap);
    }
    return o;
}

void api_health_ready(api_req *r) {
    mh_ref *ref = mh_acquire(r->env->holder, NULL);
    const mx_model *m = mh_model(ref);
    if (m)
        api_respond_json(r, ready_json(r->env, m));
    else
        api_error(r, API_UNAVAILABLE, "no_model", "no model is loaded");
    mh_release(ref);
    api_finish(r);
}

/* One tenant's exposition (malloc'ed), NULL on OOM. */
static char *tenant_metrics(const api_env *env) {
    mh_ref *ref = mh_acquire(env->holder, NULL);
    const mx_model *m = mh_model(ref);
    prom_gauges g = {.model_version = m ? m->version : NULL,
                     .ranker_state = m ? api_ranker_state(m, env->cfg) : NULL,
                     .workers = wk_count(env->pool),
                     .redis_connected = wk_redis_connected(env->pool),
                     .redis_configured = env->cfg->redis_url[0] != 0,
                     .impressions_dropped = wk_impressions_dropped(env->pool),
                     .model_refused = mh_refused(env->holder, NULL),
                     .experiments = wk_experiments(env->pool)};
    char *text = prom_render(env->prom, &g);
    mh_release(ref);
    if (!text) return NULL;
    tbuf all = {0};
    tbuf_put(&all, text, strlen(text));
    free(text);
    ac_gate_lock(env->gate);
    rl_render(ac_gate_limiter(env->gate), env->tenant, &all);
    ac_gate_unlock(env->gate);
    return tbuf_take(&all); /* metrics are complete or not at all */
}

void api_health_metrics(api_req *r) {
    const api_env *all = r->env->tenants;
    size_t n = r->env->n_tenants;
    char *texts[TN_MAX + 1] = {0}, *text = NULL;
    const char *names[TN_MAX + 1] = {0};
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        names[i] = all[i].tenant;
        ok &= (texts[i] = tenant_metrics(&all[i])) != NULL;
    }
    if (ok && n == 1) { /* one catalogue: as before tenants, but the limiter's label */
        text = texts[0];
        texts[0] = NULL;
    } else if (ok) {
        text = promtext_merge((const char *const *)texts, names, n);
    }
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    if (!text) {
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
    } else {
        api_respond(r, API_OK, text);
        r->content_type = "text/plain; version=0.0.4";
    }
    api_finish(r);
}

void api_health_tenants(api_req *r) {
    json_t *list = json_array();
    for (size_t i = 0; list && i < r->env->n_tenants; i++) {
        const api_env *e = &r->env->tenants[i];
        mh_ref *ref = mh_acquire(e->holder, NULL);
        const mx_model *m = mh_model(ref);
        char prefix[64];
        snprintf(prefix, sizeof(prefix), i ? "/v1/tenants/%s" : "/v1", e->tenant);
        json_array_append_new(list, json_pack("{s:s,s:s,s:s?,s:I}", "name", e->tenant, "prefix",
                                              prefix, "model_version", m ? m->version : NULL,
                                              "items", (json_int_t)(m ? m->n_items : 0)));
        mh_release(ref);
    }
    api_respond_json(r, json_pack("{s:o}", "tenants", list));
    api_finish(r);
}

/* api_recommendations.c - see api_recommendations.h. */
#include "api_recommendations.h"

#include <stdlib.h>
#include <time.h>

#include "api_session.h"
#include "retrieve.h"

/* What a recommendation is asked for, resolved on the request's model. */
typedef struct rec_ask {
    const char *user; /* NULL: anonymous */
    api_ids recent;   /* items the caller says were just engaged */
    api_ids exclude;
    uint16_t cats[API_MAX_CATEGORIES];
    size_t n_cats, k;
    int explain;
    json_t *unknown; /* ids not in the model (POST lists them); borrowed */
} rec_ask;

/* Computes and answers the recommendation (does not finish the request). */
static void answer(api_req *r, const rec_ask *a, const sess_event *sev, size_t n_sev,
                   const char *session_state) {
    const mx_model *m = wk_lease_model(r->lease);
    const srv_config *cfg = r->env->cfg;
    rec_params p;
    api_rec_params(cfg, &p);
    int64_t now = (int64_t)time(NULL);
    size_t cap = a->recent.n + n_sev;
    rec_event stack_ev[64], *ev = cap <= 64 ? stack_ev : malloc(cap * sizeof(rec_event));
    if (!ev) {
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        return;
    }
    /* the stored session, then the request's items */
    size_t n_ev = api_session_events(cfg, m, sev, n_sev, ev, cap);
    for (size_t i = 0; i < a->recent.n; i++)
        ev[n_ev++] = (rec_event){a->recent.ids[i], now, (float)cfg->w_click};
    rec_query q = {.user = a->user ? model_user(m, a->user) : -1,
                   .events = ev,
                   .n_events = n_ev,
                   .exclude = a->exclude.ids,
                   .n_exclude = a->exclude.n,
                   .categories = a->cats,
                   .n_categories = a->n_cats,
                   .k = a->k,
                   .now = now,
                   .explain = a->explain};
    rec_item items[1000];
    size_t n = 0;
    mx_err err = {0};
    rec_ctx *ctx = wk_lease_rec(r->lease);
    int rc = rec_recommend(ctx, &p, &q, items, &n, &err);
    if (ev != stack_ev) free(ev);
    if (rc) {
        api_error(r, API_INTERNAL_ERROR, "internal", "%s", err.msg);
        return;
    }
    size_t by_source[RET_N_SOURCES] = {0};
    for (size_t i = 0; i < n; i++)
        for (int src = 0; src < RET_N_SOURCES; src++)
            by_source[src] += (items[i].sources >> src) & 1;
    prom_candidates(r->env->prom, by_source);
    int ranked = rec_last_ranked(ctx);
    prom_ranking(r->env->prom, ranked);
    json_t *o =
        json_pack("{s:s,s:b,s:s,s:s,s:o}", "model_version", m->version, "known_user", q.user >= 0,
                  "session", session_state, "order", ranked ? "ranker" : "retrieval", "items",
                  api_items_json(m, items, n, a->explain));
    if (a->user) json_object_set_new(o, "user", json_string(a->user));
    const char *why = rec_last_explanation(ctx); /* a mostly popular answer says why */
    if (why) json_object_set_new(o, "explanation", json_string(why));
    if (a->unknown) json_object_set(o, "unknown_items", a->unknown);
    api_respond_json(r, o);
}

static void on_session(api_req *r, void *arg, int ok, const sess_event *ev, size_t n) {
    rec_ask *a = arg;
    answer(r, a, ev, n, ok ? "ok" : "unavailable");
    free(a);
    api_finish(r);
}

void api_recommendations_for_user(api_req *r) {
    const mx_model *m = wk_lease_model(r->lease);
    api_set_user(r, r->param);
    rec_ask *a = calloc(1, sizeof(*a));
    if (!a) {
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        api_finish(r);
        return;
    }
    a->user = r->param;
    a->explain = api_param_flag(api_query(r, "explain"), NULL, 0);
    if (api_param_k(r, api_query(r, "k"), NULL, &a->k) ||
        api_param_categories(r, m, api_query(r, "category"), NULL, a->cats, &a->n_cats) ||
        api_param_items(r, m, "exclude", api_query(r, "exclude"), NULL, &a->exclude, NULL)) {
        free(a);
        api_finish(r);
        return;
    }
    api_session_read(r, on_session, a); /* the lease keeps m and these ids valid */
}

/* Parses the body into a; 0, or -1 with a 400 answer. */
static int parse_post(api_req *r, const mx_model *m, json_t *body, rec_ask *a) {
    if (!json_is_object(body)) {
        api_error(r, API_BAD_REQUEST, "bad_json", "the body must be a JSON object");
        return -1;
    }
    json_t *ju = json_object_get(body, "user");
    if (ju && !json_is_null(ju)) {
        if (!json_is_string(ju)) {
            api_error(r, API_BAD_REQUEST, "bad_parameter", "'user' must be a string");
            return -1;
        }
        a->user = json_string_value(ju);
        api_set_user(r, a->user);
    }
    json_t *jk = json_object_get(body, "k"), *jc = json_object_get(body, "categories");
    a->explain = api_param_flag(NULL, json_object_get(body, "explain"), 1);
    if (api_param_k(r, NULL, jk, &a->k)) return -1;
    if (api_param_items(r, m, "recent_items", NULL, json_object_get(body, "recent_items"),
                        &a->recent, a->unknown) ||
        api_param_items(r, m, "exclude", NULL, json_object_get(body, "exclude"), &a->exclude,
                        a->unknown))
        return -1;
    if (jc && api_param_categories(r, m, NULL, jc, a->cats, &a->n_cats)) return -1;
    return 0;
}

void api_recommendations_post(api_req *r) {
    const mx_model *m = wk_lease_model(r->lease);
    json_error_t je;
    json_t *body = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &je);
    rec_ask a = {.unknown = json_array()};
    if (!body)
        api_error(r, API_BAD_REQUEST, "bad_json", "invalid JSON at line %d: %s", je.line, je.text);
    else if (parse_post(r, m, body, &a) == 0)
        answer(r, &a, NULL, 0, "not used");
    json_decref(a.unknown);
    json_decref(body);
    api_finish(r);
}

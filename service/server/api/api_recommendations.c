/* api_recommendations.c - see api_recommendations.h. */
#include "api_recommendations.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_answer.h"
#include "api_explore.h"
#include "api_interleave.h"
#include "api_pages.h"
#include "api_session.h"
#include "retrieve.h"
#include "rid.h"

/* What a recommendation is asked for, resolved on the request's model. */
typedef struct rec_ask {
    const char *user; /* NULL: anonymous; borrowed from the path or body */
    api_ids recent;   /* items the caller says were just engaged */
    api_ids exclude;
    api_filters filters;
    size_t k;
    int explain;
    json_t *unknown; /* ids given that the model does not know (owned) */
    json_t *body;    /* the POST body the strings point into (owned), or NULL */

    const char *after; /* continue this chain (api_pages.h), or NULL; borrowed */
    api_pages *pages;  /* its pages once read (owned) */
} rec_ask;

static void ask_free(rec_ask *a) {
    json_decref(a->unknown);
    json_decref(a->body);
    api_pages_free(a->pages);
    free(a);
}

/* Promotions and new catalogue items into the answer (catview_place),
 * with the request's exclusions: its session, the ids it excluded that the
 * model does not know, the chain's earlier pages. Returns the new length. */
static size_t place_rules(api_req *r, const rec_ask *a, catview *cv, rec_ctx *ctx,
                          const rec_query *q, const sess_event *sev, size_t n_sev, rec_item *items,
                          size_t n) {
    const char *skip[2 * API_MAX_IDS];
    size_t n_skip = 0;
    size_t i;
    json_t *v;
    json_array_foreach(a->unknown, i, v) if (n_skip < 2 * API_MAX_IDS) skip[n_skip++] =
        json_string_value(v);
    catview_ask ca = {.user = q->user,
                      .events = sev,
                      .n_events = n_sev,
                      .skip = skip,
                      .n_skip = n_skip,
                      .qvec = rec_last_query(ctx),
                      .now = q->now,
                      .query = q,
                      .ctx = ctx,
                      .shown = api_pages_shown,
                      .shown_arg = a->pages};
    return catview_place(cv, wk_lease_model(r->lease), &ca, items, n, a->k, r->env->prom);
}

/* The variant an answer is in: none (e NULL), an A/B variant (v), or an
 * interleaved experiment's two (team: each item's, api_interleave.h). */
typedef struct rec_variant {
    const experiment *e;
    const experiment_variant *v;
    const uint8_t *team;
    double explore_share; /* the user's share of explored slots; 0: the answer did not explore */
} rec_variant;

/* The answer of items (n) as JSON, logged (api_impression) and sent. */
static void respond(api_req *r, const rec_ask *a, catview *cv, rec_ctx *ctx, const rec_query *q,
                    const rec_item *items, size_t n, const rec_variant *x,
                    const char *session_state) {
    const mx_model *m = wk_lease_model(r->lease);
    const srv_config *cfg = r->env->cfg;
    api_stage(r, PROM_STAGE_CATALOGUE); /* pages, exploration, the live catalogue's rules */
    api_prefetch_items(m, items, n);
    size_t by_source[RET_N_SOURCES] = {0};
    for (size_t i = 0; i < n; i++)
        for (int src = 0; src < RET_N_SOURCES; src++)
            by_source[src] += (items[i].sources >> src) & 1;
    prom_candidates(r->env->prom, by_source);
    int ranked = rec_last_ranked(ctx);
    prom_ranking(r->env->prom, ranked);
    /* the items are written directly at the end (api_answer.h), but for
     * an explained answer */
    json_t *arr = a->explain ? api_items_json(m, cv, items, n, a->explain) : NULL;
    if (arr && x->team) api_interleave_mark(arr, x->e, x->team, n);
    json_t *o =
        json_pack("{s:s,s:b,s:s,s:s}", "model_version", m->version, "known_user", q->user >= 0,
                  "session", session_state, "order", ranked ? "ranker" : "retrieval");
    if (o && arr)
        json_object_set_new(o, "items", arr);
    else
        json_decref(arr);
    if (a->user) json_object_set_new(o, "user", json_string(a->user));
    const char *why = rec_last_explanation(ctx); /* a mostly popular answer says why */
    if (why) json_object_set_new(o, "explanation", json_string(why));
    if (json_array_size(a->unknown)) json_object_set(o, "unknown_items", a->unknown);
    const char *variant = x->team ? API_INTERLEAVED : x->v ? x->v->name : NULL;
    if (variant) {
        json_object_set_new(o, "experiment", json_string(x->e->name));
        json_object_set_new(o, "variant", json_string(variant));
    }
    size_t slot = x->team ? EXPERIMENT_TEAMS : x->v ? (size_t)(x->v - x->e->variants) : 0;
    implog_record rec = {.user = a->user,
                         .experiment = variant ? x->e->name : NULL,
                         .variant = variant,
                         .tag = variant ? experiment_variant_tag(x->e, slot) : 0,
                         .order = ranked ? RID_ORDER_RANKER : RID_ORDER_RETRIEVAL,
                         .model = m,
                         .items = items,
                         .n_items = n,
                         .team = x->team,
                         .team_names = {x->team ? x->e->variants[0].name : NULL,
                                        x->team ? x->e->variants[1].name : NULL},
                         .recent_items = a->recent.n,
                         .session = session_state,
                         .after = a->after,
                         .explore_share = x->explore_share};
    api_record_query(&rec, q);
    rec.k = a->k; /* the page's, not the deeper fetch of a later page */
    api_stage(r, PROM_STAGE_ENCODE);
    api_impression(r, o, &rec);
    api_stage(r, PROM_STAGE_LOG);
    api_pages_answer(r, o, a->user, a->pages, m, items, n, a->k, (size_t)cfg->max_k);
    api_stage(r, PROM_STAGE_CATALOGUE);
    if (a->explain) {
        api_respond_json(r, o);
    } else {
        char *text = o ? api_answer_text(o, m, cv, items, n, x->e, x->team) : NULL;
        json_decref(o);
        if (text)
            api_respond(r, API_OK, text);
        else
            api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
    }
    api_stage(r, PROM_STAGE_ENCODE);
}

/* rec_recommend's own stages of this answer (ctx's totals before: b). */
static void stage_rec(api_req *r, const rec_ctx *ctx, const uint64_t *b) {
    uint64_t now[REC_N_STAGES];
    rec_stage_ns(ctx, now);
    for (int i = 0; i < REC_N_STAGES; i++)
        prom_stage(r->env->prom, PROM_STAGE_REC + i, now[i] - b[i]);
    api_stage_skip(r);
}

/* Computes and answers the recommendation (does not finish the request). */
static void answer(api_req *r, const rec_ask *a, const sess_event *sev, size_t n_sev,
                   const char *session_state) {
    const mx_model *m = wk_lease_model(r->lease);
    const srv_config *cfg = r->env->cfg;
    /* an experiment's variant serves with its own settings */
    rec_variant x = {0};
    x.v = experiment_pick(wk_lease_experiments(r->lease), a->user, &x.e);
    int interleaved = x.e && x.e->mode == EXPERIMENT_INTERLEAVE;
    const srv_config *xcfg = x.v ? x.v->cfg : cfg; /* the answer's settings */
    rec_params p;
    api_rec_params(xcfg, &p);
    armstats *arms = wk_armstats(r->worker);
    int explore = !interleaved && arms && xcfg->explore_share > 0;
    int64_t now = (int64_t)time(NULL);
    mx_err err = {0};
    catview *cv = wk_catview(r->worker, m, &err);
    if (!cv) {
        api_error(r, API_INTERNAL_ERROR, "internal", "%s", err.msg);
        return;
    }
    size_t cap = a->recent.n + n_sev;
    rec_event stack_ev[64], *ev = cap <= 64 ? stack_ev : malloc(cap * sizeof(rec_event));
    if (!ev) {
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        return;
    }
    /* the stored session, then the request's items */
    size_t n_ev = api_session_events(cfg, m, sev, n_sev, ev, cap);
    for (size_t i = 0; i < a->recent.n; i++)
        ev[n_ev++] = (rec_event){a->recent.ids[i], now, (float)cfg->w_event[EVTYPE_CLICK]};
    rec_query q = {.user = a->user ? model_user(m, a->user) : -1,
                   .events = ev,
                   .n_events = n_ev,
                   .exclude = a->exclude.ids,
                   .n_exclude = a->exclude.n,
                   .categories = a->filters.cats,
                   .n_categories = a->filters.n_cats,
                   .not_categories = a->filters.not_cats,
                   .n_not_categories = a->filters.n_not_cats,
                   .min_age_s = a->filters.min_age_s,
                   .max_age_s = a->filters.max_age_s,
                   .k = api_pages_k(a->pages, a->k, (size_t)cfg->max_k),
                   .now = now,
                   .explain = a->explain};
    q.blocked = catview_blocked(cv, now, &q.n_blocked); /* hidden, expired */
    q.categories_of = catview_categories_of;            /* the operators' categories */
    q.categories_arg = cv;
    if (explore) q.k += (size_t)xcfg->explore_depth; /* the candidates past the greedy ones */
    if (q.k > (size_t)cfg->max_k) q.k = (size_t)cfg->max_k;
    rec_item items[1000], *merged = NULL;
    uint8_t team[1000], merged_team[1000];
    size_t n = 0, n_merged = 0;
    rec_ctx *ctx = wk_lease_rec(r->lease);
    uint64_t before[REC_N_STAGES];
    api_stage(r, PROM_STAGE_CATALOGUE); /* the catalogue's view, the session's events */
    rec_stage_ns(ctx, before);
    int rc = interleaved ? api_interleave_recommend(ctx, x.e, &q, items, &n, merged_team, &err)
                         : rec_recommend(ctx, &p, &q, items, &n, &err);
    stage_rec(r, ctx, before);
    if (!rc && explore) x.explore_share = api_explore_share(m, &p, &q, arms, xcfg);
    if (ev != stack_ev) free(ev);
    q.events = NULL; /* freed; what follows reads the filters only */
    q.n_events = 0;
    if (!rc && interleaved && !(merged = malloc((n ? n : 1) * sizeof(rec_item))))
        rc = mx_err_set(&err, MX_ENOMEM, "out of memory");
    if (rc) {
        api_error(r, API_INTERNAL_ERROR, "internal", "%s", err.msg);
        return;
    }
    if (merged) memcpy(merged, items, n * sizeof(rec_item)), n_merged = n;
    n = api_pages_cut(a->pages, m, items, n, explore ? n : a->k);
    if (explore) n = api_explore_slate(arms, xcfg, m, x.explore_share, items, n, a->k, now);
    n = place_rules(r, a, cv, ctx, &q, sev, n_sev, items, n);
    if (explore || xcfg->explore_counts) api_explore_count(r, items, n);
    if (merged) { /* the pages and the live catalogue moved items: find each one's team */
        api_interleave_follow(merged, merged_team, n_merged, items, n, team);
        x.team = team;
        free(merged);
    }
    respond(r, a, cv, ctx, &q, items, n, &x, session_state);
}

static void on_session(api_req *r, void *arg, int ok, const sess_event *ev, size_t n) {
    rec_ask *a = arg;
    api_stage(r, PROM_STAGE_SESSION);
    answer(r, a, ev, n, ok ? "ok" : "unavailable");
    ask_free(a);
    api_finish(r);
}

/* Reads every parameter of args into a new ask (user: path_user, or the
 * `user` parameter); NULL with the answer given. body is stolen. */
static rec_ask *ask_of(api_req *r, const char *path_user, json_t *body) {
    const mx_model *m = wk_lease_model(r->lease);
    rec_ask *a = calloc(1, sizeof(*a));
    if (!a || !(a->unknown = json_array())) {
        free(a);
        json_decref(body);
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        return NULL;
    }
    a->body = body;
    api_args args = {r, body};
    a->user = path_user;
    if ((!path_user && api_param_id(&args, "user", &a->user)) || api_param_k(&args, &a->k) ||
        api_param_flag(&args, "explain", 0, &a->explain) ||
        api_param_filters(&args, m, &a->filters) ||
        api_param_items(&args, m, "exclude", &a->exclude, a->unknown) ||
        api_param_items(&args, m, "recent_items", &a->recent, a->unknown) ||
        api_pages_param(&args, &a->after)) {
        ask_free(a);
        return NULL;
    }
    if (a->user) api_set_user(r, a->user);
    return a;
}

static void start(api_req *r, rec_ask *a);

static void on_pages(api_req *r, void *arg, api_pages *pages) {
    rec_ask *a = arg;
    if (!pages) { /* answered */
        ask_free(a);
        api_finish(r);
        return;
    }
    a->pages = pages;
    start(r, a);
}

/* Answers a: after its earlier pages when it continues a chain, and the
 * user's session when there is a user. */
static void start(api_req *r, rec_ask *a) {
    if (!a) {
        api_finish(r);
        return;
    }
    if (!r->staged) api_stage(r, PROM_STAGE_HTTP_IN); /* arrival to here (not after pages) */
    if (a->after && !a->pages) {
        api_pages_read(r, a->after, a->user, on_pages, a); /* the lease keeps a's ids valid */
        return;
    }
    if (a->user) {
        api_session_read(r, a->user, on_session, a); /* the lease keeps m and these ids valid */
        return;
    }
    answer(r, a, NULL, 0, "none");
    ask_free(a);
    api_finish(r);
}

void api_recommendations_for_user(api_req *r) {
    start(r, ask_of(r, r->param, NULL));
}

void api_recommendations_get(api_req *r) {
    start(r, ask_of(r, NULL, NULL));
}

void api_recommendations_post(api_req *r) {
    json_t *body = api_body_object(r, "user," API_RECOMMENDATIONS_PARAMS);
    start(r, body ? ask_of(r, NULL, body) : NULL);
}

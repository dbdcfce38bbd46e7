/* api.c - the route table, the request helpers, the shared parameters and
 * answers; see api.h. */
#include "api.h"

#include "stopwatch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_admin.h"
#include "api_auth.h"
#include "api_catalog.h"
#include "api_events.h"
#include "api_experiments.h"
#include "api_health.h"
#include "api_index.h"
#include "api_items.h"
#include "api_promotions.h"
#include "api_recommendations.h"
#include "api_users.h"
#include "expstats.h"
#include "ranker.h"
#include "rid.h"

static const api_route routes[] = {
    {"GET", "/healthz", "healthz", 0, NULL, api_health_live},
    {"GET", "/readyz", "readyz", 0, NULL, api_health_ready},
    {"GET", "/v1/users/{user}/recommendations", "user_recommendations",
     API_ON_WORKER | API_SCOPE_READ, API_RECOMMENDATIONS_PARAMS, api_recommendations_for_user},
    {"GET", "/v1/users/{user}/interests", "user_interests", API_ON_WORKER | API_SCOPE_READ, NULL,
     api_users_interests},
    {"GET", "/v1/items", "items_list", API_ON_WORKER | API_SCOPE_READ, "state,limit",
     api_catalog_list},
    {"GET", "/v1/items/{item}", "item_get", API_ON_WORKER | API_SCOPE_READ, NULL, api_catalog_get},
    {"PATCH", "/v1/items/{item}", "item_patch", API_ON_WORKER | API_JSON_BODY | API_SCOPE_ADMIN,
     NULL, api_catalog_patch},
    {"PUT", "/v1/items/{item}", "item_put", API_ON_WORKER | API_JSON_BODY | API_SCOPE_ADMIN, NULL,
     api_catalog_put},
    {"GET", "/v1/items/{item}/similar", "item_similar", API_ON_WORKER | API_SCOPE_READ,
     "k,exclude," API_FILTER_PARAMS ",explain", api_items_similar},
    {"POST", "/v1/recommendations", "recommendations",
     API_ON_WORKER | API_SCOPE_READ | API_JSON_BODY, NULL, api_recommendations_post},
    {"POST", "/v1/events", "events", API_ON_WORKER | API_JSON_BODY | API_SCOPE_WRITE | API_TOKEN_OK,
     NULL, api_events_post},
    {"GET", "/metrics", "metrics", 0, NULL, api_health_metrics},
    {"POST", "/v1/admin/reload", "admin_reload", API_ON_THREAD | API_ADMIN, NULL, api_admin_reload},
    {"GET", "/v1/recommendations", "recommendations_get", API_ON_WORKER | API_SCOPE_READ,
     "user," API_RECOMMENDATIONS_PARAMS, api_recommendations_get},
    {"POST", "/v1/tokens", "tokens", API_JSON_BODY | API_SCOPE_WRITE, NULL, api_auth_tokens_post},
    {"GET", "/", "index", 0, NULL, api_index_root},
    {"GET", "/openapi.json", "openapi", 0, NULL, api_index_openapi},
    {"GET", "/v1/tenants", "tenants_list", 0, NULL, api_health_tenants},
    {"GET", "/v1/admin/promotions", "admin_promotions", API_ON_WORKER | API_ADMIN, NULL,
     api_promotions_get},
    {"PUT", "/v1/admin/promotions", "admin_promotions_put",
     API_ON_WORKER | API_JSON_BODY | API_ADMIN, NULL, api_promotions_put},
    {"GET", "/v1/admin/experiments", "admin_experiments", API_ON_WORKER | API_ADMIN, NULL,
     api_experiments_list},
    {"PUT", "/v1/admin/experiments", "admin_experiments_put",
     API_ON_WORKER | API_JSON_BODY | API_ADMIN, NULL, api_experiments_put},
    {"DELETE", "/v1/admin/experiments", "admin_experiments_delete", API_ON_WORKER | API_ADMIN, NULL,
     api_experiments_delete},
    {"GET", "/v1/admin/experiments/{name}/report", "admin_experiment_report",
     API_ON_WORKER | API_ADMIN, NULL, api_experiments_report},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

unsigned api_route_scope(const api_route *rt) {
    unsigned f = rt->flags;
    return f & (API_ADMIN | API_SCOPE_ADMIN) ? AC_ADMIN
           : f & API_SCOPE_WRITE             ? AC_WRITE
           : f & API_SCOPE_READ              ? AC_READ
                                             : 0;
}

const api_route *api_routes(size_t *n) {
    *n = N_ROUTES;
    return routes;
}

/* "/v1/users/{x}/recommendations": the text before and after {x} must
 * match and x is one non-empty segment (its length in *len; copied when it
 * fits size); a pattern without {} matches itself only. */
static int pattern_match(const char *pattern, const char *path, char *param, size_t size,
                         size_t *len) {
    const char *open = strchr(pattern, '{'), *close = open ? strchr(open, '}') : NULL;
    *len = 0;
    if (!close) return strcmp(pattern, path) == 0;
    size_t pl = (size_t)(open - pattern), sl = strlen(close + 1), n = strlen(path);
    if (n <= pl + sl || strncmp(path, pattern, pl) != 0 || strcmp(path + n - sl, close + 1) != 0)
        return 0;
    size_t segl = n - pl - sl;
    if (memchr(path + pl, '/', segl)) return 0;
    *len = segl;
    size_t copy = segl < size ? segl : 0; /* too long: api_check answers 400 */
    memcpy(param, path + pl, copy);
    param[copy] = 0;
    return 1;
}

static int method_is(const api_route *rt, const char *method) {
    return strcmp(method, rt->method) == 0 ||
           (strcmp(rt->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

const api_route *api_match(api_req *r, const char *method, const char *path) {
    const api_route *other = NULL;
    r->method = method;
    r->route = NULL;
    for (size_t i = 0; i < N_ROUTES; i++) {
        char param[sizeof(r->param)] = "";
        size_t len;
        if (!pattern_match(routes[i].pattern, path, param, sizeof(param), &len)) continue;
        if (!other || method_is(&routes[i], method)) {
            memcpy(r->param, param, sizeof(param));
            r->param_len = len;
            other = &routes[i];
        }
        if (method_is(&routes[i], method)) break;
    }
    return r->route = other;
}

void api_allow(const api_route *rt, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; rt && i < N_ROUTES; i++)
        if (strcmp(routes[i].pattern, rt->pattern) == 0)
            used += (size_t)snprintf(buf + used, used < size ? size - used : 0, "%s, ",
                                     routes[i].method);
    snprintf(buf + (used < size ? used : size - 1), used < size ? size - used : 1, "OPTIONS");
}

json_t *api_routes_json(void) {
    json_t *arr = json_array();
    for (size_t i = 0; i < N_ROUTES; i++) {
        const api_route *rt = &routes[i];
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:s}", "method", rt->method, "path",
                           rt->pattern, "name", rt->name, "query", rt->query ? rt->query : "",
                           "worker", rt->flags & API_ON_WORKER, "thread", rt->flags & API_ON_THREAD,
                           "api_key", api_route_scope(rt) > AC_READ, "admin", rt->flags & API_ADMIN,
                           "scope", ac_scope_name(api_route_scope(rt))));
    }
    return json_pack("{s:o}", "routes", arr);
}

/* ---- requests and responses ---------------------------------------------- */

const char *api_query(const api_req *r, const char *name) {
    for (int i = 0; i < r->nq; i++)
        if (strcmp(r->qname[i], name) == 0) return r->qvalue[i];
    return NULL;
}

void api_respond(api_req *r, int status, char *body) {
    free(r->resp);
    r->status = body ? status : API_INTERNAL_ERROR;
    r->resp = body;
}

void api_respond_json(api_req *r, json_t *o) {
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!txt)
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
    else
        api_respond(r, API_OK, txt);
}

/* The length of the valid UTF-8 character at p (no overlong forms,
 * surrogates or code points past U+10FFFF), 0 when there is none. */
static int utf8_char(const unsigned char *p) {
    int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
    unsigned cp = n == 0 ? *p : n == 1 ? *p & 0x1fu : n == 2 ? *p & 0x0fu : *p & 0x07u;
    if (n < 0) return 0;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n + 1;
}

/* Replaces every byte that is not valid UTF-8 by '?': messages quote what
 * the client sent, and JSON strings must be UTF-8. */
static void utf8_scrub(char *s) {
    for (unsigned char *p = (unsigned char *)s; *p;) {
        int n = utf8_char(p);
        if (n)
            p += n;
        else
            *p++ = '?';
    }
}

int api_utf8_valid(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_char(p);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

void api_error(api_req *r, int status, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    utf8_scrub(msg);
    json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    api_respond(r, status, o ? json_dumps(o, JSON_COMPACT) : NULL);
    json_decref(o);
}

void api_set_user(api_req *r, const char *user) {
    size_t n = 0;
    for (; user && *user && n + 1 < sizeof(r->user); user++) /* logged, never trusted */
        r->user[n++] =
            (*user >= 0x21 && *user <= 0x7e && *user != '"' && *user != '\\') ? *user : '_';
    r->user[n] = 0;
}

void api_stage(api_req *r, int stage) {
    uint64_t now = stopwatch_now_ns();
    prom_stage(r->env->prom, stage, now - r->mark_ns);
    r->mark_ns = now;
    r->staged = 1;
}

void api_stage_skip(api_req *r) {
    r->mark_ns = stopwatch_now_ns();
}

void api_finish(api_req *r) {
    wk_lease_drop(r->lease); /* the model may go now, if a reload replaced it */
    r->lease = NULL;
    r->on_finish(r);
}

void api_run_on_worker(wk_worker *w, api_req *r) {
    r->worker = w;
    r->lease = wk_lease_take(w);
    if (!r->lease) {
        api_error(r, API_UNAVAILABLE, "no_model", "no model is loaded");
        api_finish(r);
        return;
    }
    r->route->handler(r);
}

/* ---- checks before a handler runs ------------------------------------------ */

/* Whether name is one of the comma-separated list. */
static int in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0) return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* name without case, '_' and '-' into out. */
static void fold(const char *name, char *out, size_t size) {
    size_t n = 0;
    for (; *name && n + 1 < size; name++)
        if (*name != '_' && *name != '-')
            out[n++] = (char)(*name >= 'A' && *name <= 'Z' ? *name - 'A' + 'a' : *name);
    out[n] = 0;
}

/* The entry of list a mistyped name most likely meant ("recentItems",
 * "category"), into out ("" when none is close). */
static void suggest(const char *list, const char *name, char *out, size_t size) {
    char a[64], b[64];
    fold(name, a, sizeof(a));
    out[0] = 0;
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        char entry[64];
        snprintf(entry, sizeof(entry), "%.*s", (int)len, p);
        fold(entry, b, sizeof(b));
        size_t la = strlen(a), lb = strlen(b), m = la < lb ? la : lb, common = 0;
        while (common < m && a[common] == b[common])
            common++;
        /* the same word in another spelling, or another ending of it */
        if (!strcmp(a, b) || (common >= 4 && common + 2 >= m)) {
            snprintf(out, size, " (did you mean '%s'?)", entry);
            return;
        }
        p += len + (p[len] == ',');
    }
}

static int check_query(api_req *r) {
    const char *list = r->route->query;
    if (r->query_overflow) {
        api_error(r, API_BAD_REQUEST, "bad_parameter", "more than %d query parameters",
                  API_MAX_QUERY);
        return -1;
    }
    for (int i = 0; i < r->nq; i++) {
        char hint[96];
        if (!in_list(list, r->qname[i])) {
            suggest(list, r->qname[i], hint, sizeof(hint));
            api_error(r, API_BAD_REQUEST, "unknown_parameter",
                      "unknown query parameter '%.64s'%s; %s takes %s", r->qname[i], hint,
                      r->route->pattern, list ? list : "none");
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(r->qname[i], r->qname[j])) {
                api_error(r, API_BAD_REQUEST, "duplicate_parameter",
                          "query parameter '%s' is given twice", r->qname[i]);
                return -1;
            }
    }
    return 0;
}

int api_check(api_req *r) {
    if (!r->route) {
        api_error(r, API_NOT_FOUND, "not_found",
                  "no such route; the API is described at /openapi.json (`mixrec routes` lists "
                  "the routes) and the inspector page is at /ui/");
        return -1;
    }
    if (!method_is(r->route, r->method)) {
        char allow[API_ALLOW_MAX];
        api_allow(r->route, allow, sizeof(allow));
        api_error(r, API_METHOD_NOT_ALLOWED, "method_not_allowed", "%s takes %s", r->route->pattern,
                  allow);
        return -1;
    }
    if (r->param_len > API_MAX_ID) {
        api_error(r, API_BAD_REQUEST, "id_too_long", "ids are at most %d bytes, this one has %zu",
                  API_MAX_ID, r->param_len);
        return -1;
    }
    if (!api_utf8_valid(r->param)) {
        api_error(r, API_BAD_REQUEST, "bad_parameter", "ids must be UTF-8");
        return -1;
    }
    if (check_query(r)) return -1;
    return api_auth_check(r);
}

json_t *api_body_object(api_req *r, const char *fields) {
    json_error_t je;
    json_t *body = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!body) {
        api_error(r, API_BAD_REQUEST, "bad_json", "invalid JSON at line %d: %s", je.line, je.text);
        return NULL;
    }
    if (!json_is_object(body)) {
        api_error(r, API_BAD_REQUEST, "bad_json", "the body must be a JSON object");
        json_decref(body);
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (in_list(fields, key)) continue;
        char hint[96];
        suggest(fields, key, hint, sizeof(hint));
        api_error(r, API_BAD_REQUEST, "unknown_field", "unknown field '%.64s'%s; the body takes %s",
                  key, hint, fields);
        json_decref(body);
        return NULL;
    }
    return body;
}

/* ---- shared answers --------------------------------------------------------- */

/* Title and categories of a model item, or of a catalogue item (extra),
 * with the operator's overrides (cv may be NULL). */
api_item_desc api_describe(const mx_model *m, const rec_item *it, const catview *cv) {
    api_item_desc d = {0};
    if (it->extra) {
        d.title = it->extra->title;
        d.cats = it->extra->categories;
        d.n_cats = it->extra->n_categories;
        return d;
    }
    const cat_item *ov = cv ? catview_override(cv, it->item) : NULL;
    d.title = ov && (ov->flags & CAT_HAS_TITLE) ? ov->title
              : m->titles                       ? m->titles[it->item]
                                                : NULL;
    if (ov && (ov->flags & CAT_HAS_CATEGORIES)) {
        d.cats = ov->categories;
        d.n_cats = ov->n_categories;
    } else {
        d.cat_ids = m->cat_ids + m->cat_ptr[it->item];
        d.n_cats = m->cat_ptr[it->item + 1] - m->cat_ptr[it->item];
    }
    return d;
}

const char *api_desc_category(const mx_model *m, const api_item_desc *d, size_t j) {
    return d->cats ? d->cats[j] : m->cat_names[d->cat_ids[j]];
}

static void describe_item(const mx_model *m, const rec_item *it, const catview *cv, json_t *o) {
    api_item_desc d = api_describe(m, it, cv);
    json_t *cats = json_array();
    for (size_t j = 0; j < d.n_cats; j++)
        json_array_append_new(cats, json_string(api_desc_category(m, &d, j)));
    if (d.title) json_object_set_new(o, "title", json_string(d.title));
    json_object_set_new(o, "categories", cats);
}

int api_admin_deadline_ms(const srv_config *cfg) {
    return cfg->redis_command_timeout_ms > 2000 ? cfg->redis_command_timeout_ms : 2000;
}

const char *api_item_id(const mx_model *m, const rec_item *it) {
    return it->extra ? it->extra->id : m->item_ids[it->item];
}

void api_prefetch_items(const mx_model *m, const rec_item *items, size_t n) {
    /* the tables' entries first, then what they point at: the second loop
     * waits for the first's lines, but for all the items together */
    for (size_t i = 0; i < n; i++) {
        if (items[i].extra || items[i].item >= m->n_items) continue;
        __builtin_prefetch(m->item_ids + items[i].item);
        if (m->titles) __builtin_prefetch(m->titles + items[i].item);
        __builtin_prefetch(m->cat_ptr + items[i].item);
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].extra || items[i].item >= m->n_items) continue;
        __builtin_prefetch(m->item_ids[items[i].item]);
        if (m->titles && m->titles[items[i].item]) __builtin_prefetch(m->titles[items[i].item]);
        __builtin_prefetch(m->cat_ids + m->cat_ptr[items[i].item]);
    }
}

json_t *api_items_json(const mx_model *m, const catview *cv, const rec_item *items, size_t n,
                       int explain) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const rec_item *it = &items[i];
        json_t *o = json_pack("{s:s,s:f,s:f}", "item", api_item_id(m, it), "score",
                              (double)it->score, "propensity", rec_item_propensity(it));
        describe_item(m, it, cv, o);
        if (explain) {
            /* where the item comes from and what placed it: interest,
             * reason, sources, the ranker's own score, the features that
             * moved that score most */
            if (it->interest != INTR_NONE)
                json_object_set_new(o, "interest",
                                    json_pack("{s:I,s:s}", "id", (json_int_t)it->interest, "label",
                                              m->labels[it->interest].name));
            json_object_set_new(o, "reason", json_string(rec_reason_name(it->reason)));
            json_t *src = json_array();
            for (int s = 0; s < RET_N_SOURCES; s++)
                if (it->sources & (1u << s))
                    json_array_append_new(src, json_string(ret_source_name(s)));
            json_object_set_new(o, "sources", src);
            json_object_set_new(o, "rank_score", json_real(it->rank_score));
            json_object_set_new(o, "placed_by",
                                json_string(rec_placed_name(it->placed_by, it->ranked)));
            if (it->dislike_penalty > 0)
                json_object_set_new(o, "dislike_penalty", json_real(it->dislike_penalty));
            json_t *why = it->n_why ? json_array() : NULL;
            for (size_t f = 0; f < it->n_why; f++)
                json_array_append_new(why, json_pack("{s:s,s:f,s:f}", "name",
                                                     feat_name(it->why_feature[f]), "contribution",
                                                     (double)it->why_contrib[f], "value",
                                                     (double)it->why_value[f]));
            if (why) json_object_set_new(o, "features", why);
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

void api_record_query(implog_record *rec, const rec_query *q) {
    rec->k = q->k;
    rec->categories = q->categories;
    rec->n_categories = q->n_categories;
    rec->not_categories = q->not_categories;
    rec->n_not_categories = q->n_not_categories;
    rec->min_age_s = q->min_age_s;
    rec->max_age_s = q->max_age_s;
    rec->exclude = q->exclude;
    rec->n_exclude = q->n_exclude;
}

/* The worker's Redis connection, or NULL with a 503 answer. */
sess_client *api_redis(api_req *r, const char *doing) {
    sess_client *sc = wk_sessions(r->worker);
    if (!sc || !sess_connected(sc)) {
        api_error(r, API_UNAVAILABLE, "redis_unavailable", "%s: %s", doing,
                  sc ? "redis is unavailable" : "no Redis is configured (redis.url)");
        return NULL;
    }
    return sc;
}

/* An answer of experiment xi of the request's list, variant xv
 * (EXPERIMENT_TEAMS: interleaved) into its counts: /metrics, and Redis for
 * a user's answer. */
static void count_experiment(api_req *r, const implog_record *rec, const char *rid, size_t xi,
                             size_t xv) {
    const experiment *e = experiment_at(wk_lease_experiments(r->lease), xi);
    prom_experiment_impression(r->env->prom, e, xv);
    sess_client *c = wk_sessions(r->worker);
    if (!rec->user || !c) return;
    if (xv != EXPERIMENT_TEAMS) {
        expstats_impression(c, e, xv, rec->user, r->env->prom);
        return;
    }
    if (!rec->team) return; /* only interleaved answers carry the teams' tag */
    const char *stack_ids[64], **ids = stack_ids;
    if (rec->n_items > 64 && !(ids = malloc(rec->n_items * sizeof(*ids)))) {
        prom_experiment_unrecorded(r->env->prom);
        return;
    }
    for (size_t i = 0; i < rec->n_items; i++)
        ids[i] = api_item_id(rec->model, &rec->items[i]);
    expstats_interleaved(c, e, rec->user, rid, ids, rec->team, rec->n_items,
                         r->env->cfg->experiments_click_window_s, r->env->prom);
    if (ids != stack_ids) free(ids);
}

void api_impression(api_req *r, json_t *o, implog_record *rec) {
    char rid[RID_LEN + 1];
    rec->route = rid_route_of(r->route->name);
    if (rid_make_tagged(wk_rid(r->worker), rec->route, rec->order, rec->tag, rid))
        return; /* not an answer route */
    if (o) json_object_set_new(o, "recommendation_id", json_string(rid));
    prom_impression(r->env->prom, rec->route, rec->order);
    size_t xi;
    int xv = experiment_of_tag(wk_lease_experiments(r->lease), rec->tag, &xi);
    if (xv >= 0) count_experiment(r, rec, rid, xi, (size_t)xv);
    implog *l = wk_implog(r->worker);
    if (!l) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rec->rid = rid;
    rec->ts_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    implog_add(l, rec);
}

void api_rec_params(const srv_config *cfg, rec_params *p) {
    rec_params_init(p);
    p->session_half_life = cfg->session_half_life_s;
    p->session_strength = (float)cfg->session_strength;
    p->use_ranker = cfg->ranking_enabled;
    p->per_interest_cap = (size_t)cfg->ranking_per_interest_cap;
    p->mmr_lambda = (float)cfg->ranking_mmr_lambda;
    p->session_quota = (float)cfg->ranking_session_quota;
    p->xgboost_predictor = cfg->ranking_xgboost_predictor;
}

const char *api_ranker_state(const mx_model *m, const srv_config *cfg) {
    if (model_has_ranker(m)) return cfg->ranking_enabled ? "ok" : "disabled";
    return strncmp(m->ranker_status, "rejected", 8) == 0 ? "rejected" : "absent";
}

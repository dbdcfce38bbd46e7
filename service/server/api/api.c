/* api.c - the route table, the request helpers, the shared parameters and
 * answers; see api.h. */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_admin.h"
#include "api_events.h"
#include "api_health.h"
#include "api_items.h"
#include "api_recommendations.h"
#include "api_users.h"
#include "ranker.h"

static const api_route routes[] = {
    {"GET", "/healthz", "healthz", 0, api_health_live},
    {"GET", "/readyz", "readyz", 0, api_health_ready},
    {"GET", "/v1/users/{user}/recommendations", "user_recommendations", API_ON_WORKER,
     api_recommendations_for_user},
    {"GET", "/v1/users/{user}/interests", "user_interests", API_ON_WORKER, api_users_interests},
    {"GET", "/v1/items/{item}/similar", "item_similar", API_ON_WORKER, api_items_similar},
    {"POST", "/v1/recommendations", "recommendations", API_ON_WORKER | API_JSON_BODY,
     api_recommendations_post},
    {"POST", "/v1/events", "events", API_ON_WORKER | API_JSON_BODY | API_NEEDS_KEY,
     api_events_post},
    {"GET", "/metrics", "metrics", 0, api_health_metrics},
    {"POST", "/v1/admin/reload", "admin_reload", API_ON_THREAD | API_NEEDS_KEY | API_ADMIN,
     api_admin_reload},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

const api_route *api_routes(size_t *n) {
    *n = N_ROUTES;
    return routes;
}

/* "/v1/users/{x}/recommendations": the text before and after {x} must
 * match and x is one non-empty segment; a pattern without {} matches
 * itself only. */
static int pattern_match(const char *pattern, const char *path, char *param, size_t size) {
    const char *open = strchr(pattern, '{'), *close = open ? strchr(open, '}') : NULL;
    if (!close) return strcmp(pattern, path) == 0;
    size_t pl = (size_t)(open - pattern), sl = strlen(close + 1), n = strlen(path);
    if (n <= pl + sl || strncmp(path, pattern, pl) != 0 || strcmp(path + n - sl, close + 1) != 0)
        return 0;
    size_t segl = n - pl - sl;
    if (segl >= size || memchr(path + pl, '/', segl)) return 0;
    memcpy(param, path + pl, segl);
    param[segl] = 0;
    return 1;
}

const api_route *api_match(const char *path, char *param, size_t size) {
    for (size_t i = 0; i < N_ROUTES; i++)
        if (pattern_match(routes[i].pattern, path, param, size)) return &routes[i];
    return NULL;
}

json_t *api_routes_json(void) {
    json_t *arr = json_array();
    for (size_t i = 0; i < N_ROUTES; i++) {
        const api_route *rt = &routes[i];
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:b}", "method", rt->method, "path",
                           rt->pattern, "name", rt->name, "worker", rt->flags & API_ON_WORKER,
                           "thread", rt->flags & API_ON_THREAD, "api_key",
                           rt->flags & API_NEEDS_KEY, "admin", rt->flags & API_ADMIN));
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

/* Replaces every byte that is not valid UTF-8 by '?': messages quote what
 * the client sent, and JSON strings must be UTF-8. */
static void utf8_scrub(char *s) {
    for (unsigned char *p = (unsigned char *)s; *p;) {
        int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
        unsigned cp = n == 0 ? *p : n == 1 ? *p & 0x1fu : n == 2 ? *p & 0x0fu : *p & 0x07u;
        int ok = n >= 0;
        for (int i = 1; ok && i <= n; i++) {
            ok = (p[i] & 0xc0) == 0x80;
            cp = (cp << 6) | (p[i] & 0x3fu);
        }
        if (ok && n > 0)
            ok = !(n == 1 && cp < 0x80) && !(n == 2 && cp < 0x800) && !(n == 3 && cp < 0x10000) &&
                 cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
        if (ok)
            p += n + 1;
        else
            *p++ = '?';
    }
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

/* ---- parameters ----------------------------------------------------------- */

int api_param_k(api_req *r, const char *text, const json_t *json, size_t *k) {
    int max = r->env->cfg->max_k;
    long long x = 20;
    int ok = 1;
    if (json) {
        ok = json_is_integer(json);
        x = ok ? json_integer_value(json) : 0;
    } else if (text) {
        char *end;
        errno = 0;
        x = strtoll(text, &end, 10);
        ok = !errno && end != text && !*end;
    }
    if (!ok || x < 1 || x > max) {
        api_error(r, API_BAD_REQUEST, "bad_parameter", "k must be an integer in 1..%d", max);
        return -1;
    }
    *k = (size_t)x;
    return 0;
}

int api_param_flag(const char *text, const json_t *json, int def) {
    if (json) return json_is_true(json);
    if (text) return !strcmp(text, "true") || !strcmp(text, "1");
    return def;
}

static void add_item(const mx_model *m, api_ids *out, const char *id, json_t *unknown) {
    int64_t it = model_item(m, id);
    if (it < 0) {
        if (unknown) json_array_append_new(unknown, json_string(id));
    } else if (out->n < API_MAX_IDS) {
        out->ids[out->n++] = (uint32_t)it;
    }
}

/* Calls fn on each non-empty comma-separated name (of at most size - 1
 * bytes; longer ones cannot be ids and are skipped) until it fails. */
static int each_csv(const char *csv, int (*fn)(void *ctx, const char *name), void *ctx) {
    char buf[512];
    for (const char *p = csv; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len > 0 && len < sizeof(buf)) {
            memcpy(buf, p, len);
            buf[len] = 0;
            if (fn(ctx, buf)) return -1;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

typedef struct {
    const mx_model *m;
    api_ids *out;
    json_t *unknown;
} items_ctx;

static int add_item_csv(void *ctx, const char *name) {
    items_ctx *c = ctx;
    add_item(c->m, c->out, name, c->unknown);
    return 0;
}

int api_param_items(api_req *r, const mx_model *m, const char *key, const char *text,
                    const json_t *json, api_ids *out, json_t *unknown) {
    out->n = 0;
    if (!json) {
        items_ctx c = {m, out, unknown};
        return each_csv(text, add_item_csv, &c);
    }
    if (!json_is_array(json) || json_array_size(json) > API_MAX_IDS) {
        api_error(r, API_BAD_REQUEST, "bad_parameter",
                  "'%s' must be an array of at most %d item ids", key, API_MAX_IDS);
        return -1;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(json, i, v) {
        if (!json_is_string(v)) {
            api_error(r, API_BAD_REQUEST, "bad_parameter", "'%s'[%zu] must be a string", key, i);
            return -1;
        }
        add_item(m, out, json_string_value(v), unknown);
    }
    return 0;
}

typedef struct {
    api_req *r;
    const mx_model *m;
    uint16_t *cats;
    size_t *n;
} cats_ctx;

static int add_category(void *ctx, const char *name) {
    cats_ctx *c = ctx;
    if (*c->n >= API_MAX_CATEGORIES) return 0;
    int64_t id = model_category(c->m, name);
    if (id < 0) {
        api_error(c->r, API_BAD_REQUEST, "unknown_category", "category '%s' is not in the model",
                  name);
        return -1;
    }
    c->cats[(*c->n)++] = (uint16_t)id;
    return 0;
}

int api_param_categories(api_req *r, const mx_model *m, const char *text, const json_t *json,
                         uint16_t *cats, size_t *n) {
    *n = 0;
    cats_ctx c = {r, m, cats, n};
    if (!json) return each_csv(text, add_category, &c);
    if (!json_is_array(json) || json_array_size(json) > API_MAX_CATEGORIES) {
        api_error(r, API_BAD_REQUEST, "bad_parameter",
                  "'categories' must be an array of at most %d names", API_MAX_CATEGORIES);
        return -1;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(json, i, v) {
        if (!json_is_string(v)) {
            api_error(r, API_BAD_REQUEST, "bad_parameter", "'categories'[%zu] must be a string", i);
            return -1;
        }
        if (add_category(&c, json_string_value(v))) return -1;
    }
    return 0;
}

/* ---- shared answers --------------------------------------------------------- */

json_t *api_items_json(const mx_model *m, const rec_item *items, size_t n, int explain) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const rec_item *it = &items[i];
        json_t *o =
            json_pack("{s:s,s:f}", "item", m->item_ids[it->item], "score", (double)it->score);
        if (m->titles && m->titles[it->item])
            json_object_set_new(o, "title", json_string(m->titles[it->item]));
        json_t *cats = json_array();
        for (uint32_t j = m->cat_ptr[it->item]; j < m->cat_ptr[it->item + 1]; j++)
            json_array_append_new(cats, json_string(m->cat_names[m->cat_ids[j]]));
        json_object_set_new(o, "categories", cats);
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

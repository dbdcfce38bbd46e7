/* routes.c - the handlers of the routes that compute; they run on a
 * worker thread (see http.h) and always leave a response.
 *
 * Every request works on one model from start to end: routes_run takes a
 * lease on the worker's current model (workers.h) and hands it to the
 * handler; a handler that answers later (after Redis) retains the lease
 * until then. Ids resolved before the wait are therefore ids of the model
 * the answer is computed and written from, even if a reload happened. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "http.h"
#include "recommend.h"
#include "retrieve.h"
#include "sessions.h"

#define MAX_LIST 256

typedef struct {
    uint32_t ids[MAX_LIST];
    size_t n;
    json_t *unknown; /* ids not in the model (POST answers list them) */
} id_list;

static int parse_k(http_req *r, const char *v, size_t *k) {
    const srv_config *cfg = http_req_config(r);
    *k = 20;
    if (!v) return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < 1 || x > cfg->max_k) {
        http_req_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "k must be an integer in 1..%d",
                       cfg->max_k);
        return -1;
    }
    *k = (size_t)x;
    return 0;
}

static void add_item(const mx_model *m, id_list *l, const char *id) {
    int64_t it = model_item(m, id);
    if (it < 0) {
        if (l->unknown) json_array_append_new(l->unknown, json_string(id));
    } else if (l->n < MAX_LIST) {
        l->ids[l->n++] = (uint32_t)it;
    }
}

/* Comma-separated ids from a query parameter. */
static void items_from_csv(const mx_model *m, const char *csv, id_list *l) {
    char buf[512];
    for (const char *p = csv; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len > 0 && len < sizeof(buf)) {
            memcpy(buf, p, len);
            buf[len] = 0;
            add_item(m, l, buf);
        }
        p += len + (p[len] == ',');
    }
}

static int category_of(const mx_model *m, const char *name, uint16_t *out) {
    int64_t c = model_category(m, name);
    if (c < 0) return -1;
    *out = (uint16_t)c;
    return 0;
}

static json_t *items_json(const mx_model *m, const rec_item *items, size_t n, int explain) {
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
            if (it->interest != INTR_NONE)
                json_object_set_new(o, "interest",
                                    json_pack("{s:I,s:s}", "id", (json_int_t)it->interest, "label",
                                              m->labels[it->interest].name));
            json_object_set_new(o, "reason", json_string(rec_reason_name(it->reason)));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static void respond_json(http_req *r, json_t *o) {
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!txt)
        http_req_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    else
        http_req_respond(r, MHD_HTTP_OK, txt);
}

static void rec_params_from(const srv_config *cfg, rec_params *p) {
    rec_params_init(p);
    p->session_half_life = cfg->session_half_life_s;
    p->session_strength = (float)cfg->session_strength;
    p->use_ranker = cfg->ranking_enabled;
    p->per_interest_cap = (size_t)cfg->ranking_per_interest_cap;
    p->mmr_lambda = (float)cfg->ranking_mmr_lambda;
    p->session_quota = (float)cfg->ranking_session_quota;
    p->xgboost_predictor = cfg->ranking_xgboost_predictor;
}

/* Shared by GET /v1/users/{u}/recommendations and POST /v1/recommendations. */
static void recommend(wk_lease *lease, http_req *r, const char *user, const id_list *recent,
                      const id_list *exclude, const uint16_t *cats, size_t n_cats, size_t k,
                      int explain, json_t *unknown, const sess_event *sev, size_t n_sev,
                      const char *session_state) {
    const mx_model *m = wk_lease_model(lease);
    const srv_config *cfg = http_req_config(r);
    rec_params p;
    rec_params_from(cfg, &p);
    int64_t now = (int64_t)time(NULL);
    size_t n_ev = 0, cap = recent->n + n_sev;
    rec_event stack_ev[64], *ev = cap <= 64 ? stack_ev : malloc(cap * sizeof(rec_event));
    if (!ev) {
        http_req_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n_sev; i++) { /* the stored session, then the request's items */
        int64_t it = model_item(m, sev[i].item);
        if (it >= 0)
            ev[n_ev++] =
                (rec_event){(uint32_t)it, sev[i].ts, (float)sess_type_weight(cfg, sev[i].type)};
    }
    for (size_t i = 0; i < recent->n; i++)
        ev[n_ev++] = (rec_event){recent->ids[i], now, (float)cfg->w_click};
    rec_query q = {.user = user ? model_user(m, user) : -1,
                   .events = ev,
                   .n_events = n_ev,
                   .exclude = exclude->ids,
                   .n_exclude = exclude->n,
                   .categories = cats,
                   .n_categories = n_cats,
                   .k = k,
                   .now = now};
    rec_item items[1000];
    size_t n = 0;
    mx_err err = {0};
    rec_ctx *ctx = wk_lease_rec(lease);
    int rc = rec_recommend(ctx, &p, &q, items, &n, &err);
    if (ev != stack_ev) free(ev);
    if (rc) {
        http_req_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s", err.msg);
        return;
    }
    size_t by_source[RET_N_SOURCES] = {0};
    for (size_t i = 0; i < n; i++)
        for (int src = 0; src < RET_N_SOURCES; src++)
            by_source[src] += (items[i].sources >> src) & 1;
    prom_candidates(http_req_prom(r), by_source);
    int ranked = rec_last_ranked(ctx);
    prom_ranking(http_req_prom(r), ranked);
    json_t *o =
        json_pack("{s:s,s:b,s:s,s:s,s:o}", "model_version", m->version, "known_user", q.user >= 0,
                  "session", session_state, "order", ranked ? "ranker" : "retrieval", "items",
                  items_json(m, items, n, explain));
    if (user) json_object_set_new(o, "user", json_string(user));
    if (unknown) json_object_set(o, "unknown_items", unknown);
    respond_json(r, o);
}

static int parse_categories_csv(http_req *r, const mx_model *m, const char *csv, uint16_t *cats,
                                size_t *n) {
    char buf[256];
    *n = 0;
    for (const char *p = csv; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len > 0 && len < sizeof(buf) && *n < 16) {
            memcpy(buf, p, len);
            buf[len] = 0;
            if (category_of(m, buf, &cats[*n]) != 0) {
                http_req_error(r, MHD_HTTP_BAD_REQUEST, "unknown_category",
                               "category '%s' is not in the model", buf);
                return -1;
            }
            (*n)++;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

/* A request waiting for its session from Redis. */
typedef struct pending {
    wk_worker *w;
    wk_lease *lease; /* the model it started on, retained until it answers */
    http_req *r;
    struct timespec t0;
    size_t k, n_cats;
    uint16_t cats[16];
    int explain, interests;
    id_list exclude;
} pending;

static void finish_interests(http_req *r, const mx_model *m, const sess_event *sev, size_t n_sev,
                             const char *state);

static double since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void on_session(void *arg, int ok, const sess_event *ev, size_t n) {
    pending *pd = arg;
    http_req *r = pd->r;
    if (wk_sessions(pd->w)) prom_session_read(http_req_prom(r), ok, since(&pd->t0));
    const char *state = ok ? "ok" : "unavailable";
    if (pd->interests) {
        finish_interests(r, wk_lease_model(pd->lease), ev, n, state);
    } else {
        id_list recent = {.n = 0};
        recommend(pd->lease, r, http_req_path_param(r), &recent, &pd->exclude, pd->cats, pd->n_cats,
                  pd->k, pd->explain, NULL, ev, n, state);
    }
    wk_lease_drop(pd->lease);
    free(pd);
    http_req_finish(r);
}

static void read_session(void *arg) {
    pending *pd = arg;
    sess_client *sc = wk_sessions(pd->w);
    if (!sc) { /* no Redis configured: long-term profile only */
        on_session(pd, 0, NULL, 0);
        return;
    }
    sess_read(sc, http_req_path_param(pd->r), on_session, pd);
}

/* Reads the user's session, then answers from on_session. Returns 1 when
 * the answer will come later, 0 when it was given now. */
static int with_session(wk_worker *w, wk_lease *lease, http_req *r, pending *pd) {
    pd->w = w;
    pd->lease = wk_lease_retain(lease);
    pd->r = r;
    clock_gettime(CLOCK_MONOTONIC, &pd->t0);
    unsigned delay = (unsigned)http_req_config(r)->testing_session_delay_ms;
    if (delay == 0 || wk_defer(w, delay, read_session, pd) != 0) read_session(pd);
    return 1;
}

static int get_recommendations(wk_worker *w, wk_lease *lease, http_req *r) {
    const mx_model *m = wk_lease_model(lease);
    const char *user = http_req_path_param(r);
    http_req_set_user(r, user);
    pending *pd = calloc(1, sizeof(*pd));
    if (!pd) {
        http_req_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        return 0;
    }
    if (parse_k(r, http_req_query(r, "k"), &pd->k) ||
        parse_categories_csv(r, m, http_req_query(r, "category"), pd->cats, &pd->n_cats)) {
        free(pd);
        return 0;
    }
    const char *ex = http_req_query(r, "explain");
    pd->explain = ex && (!strcmp(ex, "true") || !strcmp(ex, "1"));
    items_from_csv(m, http_req_query(r, "exclude"), &pd->exclude);
    return with_session(w, lease, r, pd);
}

static int get_similar(wk_lease *lease, http_req *r) {
    const mx_model *m = wk_lease_model(lease);
    const char *id = http_req_path_param(r);
    size_t k;
    if (parse_k(r, http_req_query(r, "k"), &k)) return 0;
    int64_t it = model_item(m, id);
    if (it < 0) {
        http_req_error(r, MHD_HTTP_NOT_FOUND, "unknown_item", "item '%s' is not in the model", id);
        return 0;
    }
    rec_item items[1000];
    size_t n = 0;
    mx_err err = {0};
    if (rec_similar(wk_lease_rec(lease), (uint32_t)it, k, NULL, 0, items, &n, &err)) {
        http_req_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s", err.msg);
        return 0;
    }
    json_t *o = json_pack("{s:s,s:s,s:o}", "item", id, "model_version", m->version, "items",
                          items_json(m, items, n, 0));
    respond_json(r, o);
    return 0;
}

static json_t *weights_json(const mx_model *m, const rec_mixture *x, const float *w) {
    json_t *arr = json_array();
    for (size_t i = 0; i < x->n; i++)
        if (w[i] > 0)
            json_array_append_new(arr,
                                  json_pack("{s:I,s:s,s:f}", "id", (json_int_t)x->cid[i], "label",
                                            m->labels[x->cid[i]].name, "weight", (double)w[i]));
    return arr;
}

static void finish_interests(http_req *r, const mx_model *m, const sess_event *sev, size_t n_sev,
                             const char *state) {
    const char *user = http_req_path_param(r);
    const srv_config *cfg = http_req_config(r);
    rec_params p;
    rec_params_from(cfg, &p);
    rec_event ev[256];
    size_t n_ev = 0;
    for (size_t i = 0; i < n_sev && n_ev < 256; i++) {
        int64_t it = model_item(m, sev[i].item);
        if (it >= 0)
            ev[n_ev++] =
                (rec_event){(uint32_t)it, sev[i].ts, (float)sess_type_weight(cfg, sev[i].type)};
    }
    rec_query q = {.user = model_user(m, user),
                   .events = ev,
                   .n_events = n_ev,
                   .k = 1,
                   .now = (int64_t)time(NULL)};
    rec_mixture x;
    rec_mixture_of(m, &p, &q, &x);
    json_t *o = json_pack(
        "{s:s,s:s,s:b,s:s,s:i,s:f,s:o,s:o,s:o}", "user", user, "model_version", m->version,
        "known_user", q.user >= 0, "session", state, "session_events", (int)n_sev, "session_share",
        (double)x.session_share, "long_term", weights_json(m, &x, x.long_term), "session_interests",
        weights_json(m, &x, x.session), "blended", weights_json(m, &x, x.blended));
    respond_json(r, o);
}

static int get_interests(wk_worker *w, wk_lease *lease, http_req *r) {
    http_req_set_user(r, http_req_path_param(r));
    pending *pd = calloc(1, sizeof(*pd));
    if (!pd) {
        http_req_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        return 0;
    }
    pd->interests = 1;
    return with_session(w, lease, r, pd);
}

/* A JSON array of strings into ids; 0, or -1 with a 400 answer. */
static int json_ids(http_req *r, const mx_model *m, json_t *body, const char *key, id_list *l) {
    json_t *a = json_object_get(body, key);
    if (!a) return 0;
    if (!json_is_array(a) || json_array_size(a) > MAX_LIST) {
        http_req_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter",
                       "'%s' must be an array of at most %d item ids", key, MAX_LIST);
        return -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v)) {
            http_req_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "'%s'[%zu] must be a string",
                           key, i);
            return -1;
        }
        add_item(m, l, json_string_value(v));
    }
    return 0;
}

static int post_recommendations(wk_lease *lease, http_req *r) {
    const mx_model *m = wk_lease_model(lease);
    size_t len;
    const char *txt = http_req_body(r, &len);
    json_error_t je;
    json_t *body = json_loadb(txt, len, JSON_REJECT_DUPLICATES, &je);
    json_t *unknown = json_array();
    id_list recent = {.n = 0, .unknown = unknown}, exclude = {.n = 0, .unknown = unknown};
    uint16_t cats[16];
    size_t n_cats = 0, k = 20;
    const char *user = NULL;
    if (!body || !json_is_object(body)) {
        if (!body)
            http_req_error(r, MHD_HTTP_BAD_REQUEST, "bad_json", "invalid JSON at line %d: %s",
                           je.line, je.text);
        else
            http_req_error(r, MHD_HTTP_BAD_REQUEST, "bad_json", "the body must be a JSON object");
        goto done;
    }
    json_t *ju = json_object_get(body, "user"), *jk = json_object_get(body, "k"),
           *jc = json_object_get(body, "categories"), *je2 = json_object_get(body, "explain");
    if (ju && !json_is_null(ju)) {
        if (!json_is_string(ju)) {
            http_req_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "'user' must be a string");
            goto done;
        }
        user = json_string_value(ju);
        http_req_set_user(r, user);
    }
    if (jk) {
        if (!json_is_integer(jk) || json_integer_value(jk) < 1 ||
            json_integer_value(jk) > http_req_config(r)->max_k) {
            http_req_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter",
                           "'k' must be an integer in 1..%d", http_req_config(r)->max_k);
            goto done;
        }
        k = (size_t)json_integer_value(jk);
    }
    if (json_ids(r, m, body, "recent_items", &recent) || json_ids(r, m, body, "exclude", &exclude))
        goto done;
    if (jc) {
        size_t i;
        json_t *v;
        if (!json_is_array(jc) || json_array_size(jc) > 16) {
            http_req_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter",
                           "'categories' must be an array of at most 16 names");
            goto done;
        }
        json_array_foreach(jc, i, v) {
            if (!json_is_string(v) || category_of(m, json_string_value(v), &cats[n_cats]) != 0) {
                http_req_error(r, MHD_HTTP_BAD_REQUEST, "unknown_category",
                               "categories[%zu] is not a category of the model", i);
                goto done;
            }
            n_cats++;
        }
    }
    recommend(lease, r, user, &recent, &exclude, cats, n_cats, k, !je2 || json_is_true(je2),
              unknown, NULL, 0, "not used");
done:
    json_decref(unknown);
    json_decref(body);
    return 0;
}

/* POST /v1/events: a batch of {"user","item","type","ts"}; bad events are
 * rejected one by one (with their index), the rest stored in one
 * pipelined round trip. Redis unavailable: 503, nothing stored. */
typedef struct events_op {
    http_req *r;
    size_t accepted;
    json_t *rejected;
    char (*users)[257];
    const char **user_ptrs;
    sess_event *ev;
} events_op;

static void events_done(void *arg, int ok, const char *error) {
    events_op *eo = arg;
    prom_events(http_req_prom(eo->r), ok ? eo->accepted : 0,
                json_array_size(eo->rejected) + (ok ? 0 : eo->accepted), !ok);
    if (!ok) {
        http_req_error(eo->r, MHD_HTTP_SERVICE_UNAVAILABLE, "redis_unavailable",
                       "events were not stored: %s", error ? error : "redis is unavailable");
    } else {
        json_t *o =
            json_pack("{s:I,s:O}", "accepted", (json_int_t)eo->accepted, "rejected", eo->rejected);
        respond_json(eo->r, o);
    }
    http_req_finish(eo->r);
    json_decref(eo->rejected);
    free(eo->users);
    free(eo->user_ptrs);
    free(eo->ev);
    free(eo);
}

static void reject(json_t *rejected, size_t i, const char *why) {
    json_array_append_new(rejected, json_pack("{s:I,s:s}", "index", (json_int_t)i, "error", why));
}

static int post_events(wk_worker *w, http_req *r) {
    const srv_config *cfg = http_req_config(r);
    size_t len;
    const char *txt = http_req_body(r, &len);
    json_error_t je;
    json_t *body = json_loadb(txt, len, JSON_REJECT_DUPLICATES, &je);
    json_t *batch = body && json_is_object(body) ? json_object_get(body, "events") : body;
    if (!body) {
        http_req_error(r, MHD_HTTP_BAD_REQUEST, "bad_json", "invalid JSON at line %d: %s", je.line,
                       je.text);
        return 0;
    }
    if (!json_is_array(batch)) {
        json_decref(body);
        http_req_error(r, MHD_HTTP_BAD_REQUEST, "bad_json",
                       "the body must be an array of events (or {\"events\": [...]})");
        return 0;
    }
    size_t n = json_array_size(batch);
    if (n > (size_t)cfg->max_batch) {
        json_decref(body);
        http_req_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "batch_too_large",
                       "%zu events in one batch, at most %d (limits.max_batch)", n, cfg->max_batch);
        return 0;
    }
    events_op *eo = calloc(1, sizeof(*eo));
    if (eo) {
        eo->r = r;
        eo->rejected = json_array();
        eo->users = calloc(n ? n : 1, sizeof(*eo->users));
        eo->user_ptrs = calloc(n ? n : 1, sizeof(char *));
        eo->ev = calloc(n ? n : 1, sizeof(sess_event));
    }
    if (!eo || !eo->rejected || !eo->users || !eo->user_ptrs || !eo->ev) {
        if (eo) {
            json_decref(eo->rejected);
            free(eo->users);
            free(eo->user_ptrs);
            free(eo->ev);
            free(eo);
        }
        json_decref(body);
        http_req_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        return 0;
    }
    int64_t now = (int64_t)time(NULL);
    size_t i;
    json_t *e;
    json_array_foreach(batch, i, e) {
        json_t *ju = json_object_get(e, "user"), *ji = json_object_get(e, "item"),
               *jt = json_object_get(e, "type"), *jts = json_object_get(e, "ts");
        const char *u = json_string_value(ju), *it = json_string_value(ji),
                   *ty = json_string_value(jt);
        if (!json_is_object(e))
            reject(eo->rejected, i, "not an object");
        else if (!u || !u[0] || strlen(u) > 256)
            reject(eo->rejected, i, "'user' must be a non-empty string of at most 256 bytes");
        else if (!it || !it[0] || strlen(it) >= sizeof(eo->ev[0].item) || strchr(it, '\t'))
            reject(eo->rejected, i, "'item' must be a non-empty string of at most 127 bytes");
        else if (!ty || sess_type_of(ty) < 0)
            reject(eo->rejected, i, "'type' must be view, click, like, purchase or dislike");
        else if (jts && !(json_is_integer(jts) && json_integer_value(jts) >= 0))
            reject(eo->rejected, i, "'ts' must be unix seconds (an integer)");
        else {
            size_t k = eo->accepted++;
            snprintf(eo->users[k], sizeof(eo->users[k]), "%s", u);
            eo->user_ptrs[k] = eo->users[k];
            snprintf(eo->ev[k].item, sizeof(eo->ev[k].item), "%s", it);
            eo->ev[k].type = sess_type_of(ty);
            eo->ev[k].ts = jts ? (int64_t)json_integer_value(jts) : now;
        }
    }
    json_decref(body);
    if (eo->accepted == 0) {
        json_t *o = json_pack("{s:{s:s,s:s},s:O}", "error", "code", "bad_events", "message",
                              "no valid event in the batch", "rejected", eo->rejected);
        char *t = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        http_req_respond(r, MHD_HTTP_BAD_REQUEST, t);
        http_req_finish(r);
        json_decref(eo->rejected);
        free(eo->users);
        free(eo->user_ptrs);
        free(eo->ev);
        free(eo);
        return 1;
    }
    sess_client *sc = wk_sessions(w);
    if (!sc) {
        events_done(eo, 0, "no Redis is configured (redis.url)");
        return 1;
    }
    sess_append(sc, eo->user_ptrs, eo->ev, eo->accepted, events_done, eo);
    return 1;
}

void routes_run(wk_worker *w, http_req *r) {
    wk_lease *lease = wk_lease_take(w);
    int later = 0;
    if (!lease) {
        http_req_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_model", "no model is loaded");
    } else {
        switch (http_req_route(r)) {
        case ROUTE_USER_RECS:
            later = get_recommendations(w, lease, r);
            break;
        case ROUTE_ITEM_SIMILAR:
            later = get_similar(lease, r);
            break;
        case ROUTE_USER_INTERESTS:
            later = get_interests(w, lease, r);
            break;
        case ROUTE_RECS_POST:
            later = post_recommendations(lease, r);
            break;
        case ROUTE_EVENTS: /* stores ids as sent: reads no model memory */
            later = post_events(w, r);
            break;
        default:
            http_req_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such route");
        }
    }
    wk_lease_drop(lease); /* a handler answering later retained its own hold */
    if (!later) http_req_finish(r);
}

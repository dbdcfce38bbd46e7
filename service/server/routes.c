/* routes.c - the handlers of the routes that compute; they run on a
 * worker thread (see http.h) and always leave a response. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "http.h"
#include "recommend.h"

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
    for (size_t c = 0; c < m->n_categories; c++)
        if (strcmp(m->cat_names[c], name) == 0) {
            *out = (uint16_t)c;
            return 0;
        }
    return -1;
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
}

/* Shared by GET /v1/users/{u}/recommendations and POST /v1/recommendations. */
static void recommend(wk_worker *w, http_req *r, const mx_model *m, const char *user,
                      const id_list *recent, const id_list *exclude, const uint16_t *cats,
                      size_t n_cats, size_t k, int explain, json_t *unknown) {
    const srv_config *cfg = http_req_config(r);
    rec_params p;
    rec_params_from(cfg, &p);
    int64_t now = (int64_t)time(NULL);
    rec_event ev[MAX_LIST];
    for (size_t i = 0; i < recent->n; i++)
        ev[i] = (rec_event){recent->ids[i], now, (float)cfg->w_click};
    rec_query q = {.user = user ? model_user(m, user) : -1,
                   .events = ev,
                   .n_events = recent->n,
                   .exclude = exclude->ids,
                   .n_exclude = exclude->n,
                   .categories = cats,
                   .n_categories = n_cats,
                   .k = k,
                   .now = now};
    rec_item items[1000];
    size_t n = 0;
    mx_err err = {0};
    rec_ctx *ctx = wk_rec(w);
    if (!ctx) {
        http_req_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_model", "no model is loaded");
        return;
    }
    if (rec_recommend(ctx, &p, &q, items, &n, &err)) {
        http_req_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s", err.msg);
        return;
    }
    json_t *o = json_pack("{s:s,s:b,s:o}", "model_version", m->version, "known_user", q.user >= 0,
                          "items", items_json(m, items, n, explain));
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

static void get_recommendations(wk_worker *w, http_req *r, const mx_model *m) {
    const char *user = http_req_path_param(r);
    http_req_set_user(r, user);
    size_t k, n_cats = 0;
    uint16_t cats[16];
    if (parse_k(r, http_req_query(r, "k"), &k)) return;
    if (parse_categories_csv(r, m, http_req_query(r, "category"), cats, &n_cats)) return;
    const char *ex = http_req_query(r, "explain");
    int explain = ex && (!strcmp(ex, "true") || !strcmp(ex, "1"));
    id_list exclude = {.n = 0}, recent = {.n = 0};
    items_from_csv(m, http_req_query(r, "exclude"), &exclude);
    recommend(w, r, m, user, &recent, &exclude, cats, n_cats, k, explain, NULL);
}

static void get_similar(wk_worker *w, http_req *r, const mx_model *m) {
    const char *id = http_req_path_param(r);
    size_t k;
    if (parse_k(r, http_req_query(r, "k"), &k)) return;
    int64_t it = model_item(m, id);
    if (it < 0) {
        http_req_error(r, MHD_HTTP_NOT_FOUND, "unknown_item", "item '%s' is not in the model", id);
        return;
    }
    rec_item items[1000];
    size_t n = 0;
    mx_err err = {0};
    rec_ctx *ctx = wk_rec(w);
    if (!ctx || rec_similar(ctx, (uint32_t)it, k, NULL, 0, items, &n, &err)) {
        http_req_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s",
                       ctx ? err.msg : "no scratch");
        return;
    }
    json_t *o = json_pack("{s:s,s:s,s:o}", "item", id, "model_version", m->version, "items",
                          items_json(m, items, n, 0));
    respond_json(r, o);
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

static void get_interests(http_req *r, const mx_model *m) {
    const char *user = http_req_path_param(r);
    http_req_set_user(r, user);
    rec_params p;
    rec_params_from(http_req_config(r), &p);
    rec_query q = {.user = model_user(m, user), .k = 1, .now = (int64_t)time(NULL)};
    rec_mixture x;
    rec_mixture_of(m, &p, &q, &x);
    json_t *o =
        json_pack("{s:s,s:s,s:b,s:f,s:o,s:o,s:o}", "user", user, "model_version", m->version,
                  "known_user", q.user >= 0, "session_share", (double)x.session_share, "long_term",
                  weights_json(m, &x, x.long_term), "session", weights_json(m, &x, x.session),
                  "blended", weights_json(m, &x, x.blended));
    respond_json(r, o);
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

static void post_recommendations(wk_worker *w, http_req *r, const mx_model *m) {
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
    recommend(w, r, m, user, &recent, &exclude, cats, n_cats, k, !je2 || json_is_true(je2),
              unknown);
done:
    json_decref(unknown);
    json_decref(body);
}

void routes_run(wk_worker *w, http_req *r) {
    const mx_model *m = wk_model(w);
    if (!m) {
        http_req_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_model", "no model is loaded");
        return;
    }
    switch (http_req_route(r)) {
    case ROUTE_USER_RECS:
        get_recommendations(w, r, m);
        break;
    case ROUTE_ITEM_SIMILAR:
        get_similar(w, r, m);
        break;
    case ROUTE_USER_INTERESTS:
        get_interests(r, m);
        break;
    case ROUTE_RECS_POST:
        post_recommendations(w, r, m);
        break;
    default:
        http_req_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such route");
    }
}

/* http.c - see http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <jansson.h>
#include <microhttpd.h>

#include "ranker.h"
#include "static_files.h"

#define MAX_QUERY 32

struct http_server {
    struct MHD_Daemon *d;
    const srv_config *cfg;
    mh_holder *holder;
    wk_pool *pool;
    atomic_int inflight;
    atomic_int stopping; /* http_stop: no new work, close connections */
    atomic_ulong next_id;
    prom *prom;
    pthread_mutex_t reload_lock; /* one reload at a time */
};

static const char *const route_names[PROM_ROUTES] = {
    "unmatched",      "healthz",      "readyz",          "user_recommendations",
    "user_interests", "item_similar", "recommendations", "events",
    "metrics",        "admin_reload"};

enum { ST_NEW, ST_READING, ST_SUBMITTED, ST_READY };

struct http_req {
    http_server *s;
    struct MHD_Connection *c;
    int route;
    atomic_int state;
    char method[16];
    char path[512];
    char param[512];
    char *qname[MAX_QUERY], *qvalue[MAX_QUERY];
    int nq;
    char *body;
    size_t body_len, body_cap;
    int too_large;
    int headers_too_large;
    int status;
    char *resp;
    char request_id[64];
    char user[128];
    char origin[256];
    const char *content_type;
    double t0;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- accessors for routes.c ------------------------------------------- */

const char *http_req_path_param(const http_req *r) {
    return r->param;
}
int http_req_route(const http_req *r) {
    return r->route;
}
const srv_config *http_req_config(const http_req *r) {
    return r->s->cfg;
}
prom *http_req_prom(const http_req *r) {
    return r->s->prom;
}
const char *http_req_body(const http_req *r, size_t *len) {
    *len = r->body_len;
    return r->body ? r->body : "";
}

const char *http_req_query(const http_req *r, const char *name) {
    for (int i = 0; i < r->nq; i++)
        if (strcmp(r->qname[i], name) == 0) return r->qvalue[i];
    return NULL;
}

/* Printable ASCII only, no quotes or backslashes: ids from outside are
 * logged and echoed, never trusted. */
static void sanitize(char *dst, size_t size, const char *src) {
    size_t n = 0;
    for (; src && *src && n + 1 < size; src++)
        dst[n++] = (*src >= 0x21 && *src <= 0x7e && *src != '"' && *src != '\\') ? *src : '_';
    dst[n] = 0;
}

/* Whether s is valid UTF-8 (what JSON strings must be: no overlong forms,
 * surrogates or code points past U+10FFFF); with scrub, every byte that
 * does not fit is replaced by '?' so the string becomes valid. */
static int utf8_check(char *s, int scrub) {
    int valid = 1;
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
        if (ok) {
            p += n + 1;
            continue;
        }
        valid = 0;
        if (!scrub) break;
        *p++ = '?';
    }
    return valid;
}

void http_req_set_user(http_req *r, const char *user) {
    sanitize(r->user, sizeof(r->user), user);
}

void http_req_respond(http_req *r, int status, char *json_body) {
    free(r->resp);
    r->status = status;
    r->resp = json_body;
}

void http_req_error(http_req *r, int status, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    utf8_check(msg, 1); /* messages quote what the client sent */
    json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    http_req_respond(r, status, o ? json_dumps(o, JSON_COMPACT) : NULL);
    json_decref(o);
}

/* ---- responses ---------------------------------------------------------- */

static const char *allowed_origin(const http_server *s, const char *origin) {
    if (!origin || !origin[0]) return NULL;
    for (int i = 0; i < s->cfg->n_cors_origins; i++) {
        if (strcmp(s->cfg->cors_origins[i], "*") == 0) return "*";
        if (strcmp(s->cfg->cors_origins[i], origin) == 0) return origin;
    }
    return NULL;
}

static int is_post_route(int route) {
    return route == ROUTE_RECS_POST || route == ROUTE_EVENTS || route == ROUTE_ADMIN_RELOAD;
}

static enum MHD_Result send_response(http_req *r) {
    const char *body = r->resp ? r->resp : "{}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type",
                            r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    const char *ao = allowed_origin(r->s, r->origin);
    if (ao) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", ao);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", "X-Request-Id");
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    if (atomic_load(&r->s->stopping)) /* keep-alive clients move elsewhere */
        MHD_add_response_header(resp, "Connection", "close");
    if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, "Allow",
                                is_post_route(r->route) ? "POST, OPTIONS" : "GET, OPTIONS");
    enum MHD_Result ok = MHD_queue_response(r->c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result send_preflight(http_req *r) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    const char *ao = allowed_origin(r->s, r->origin);
    const char *methods = is_post_route(r->route) ? "POST, OPTIONS" : "GET, OPTIONS";
    MHD_add_response_header(resp, "Allow", methods);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (ao) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", ao);
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", methods);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Content-Type, X-API-Key, X-Request-Id");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    r->status = MHD_HTTP_NO_CONTENT;
    enum MHD_Result ok = MHD_queue_response(r->c, MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* ---- routing ------------------------------------------------------------ */

/* "/v1/users/{x}/recommendations" style: prefix, one segment, suffix. */
static int match(const char *path, const char *prefix, const char *suffix, char *seg, size_t size) {
    size_t pl = strlen(prefix), sl = strlen(suffix), n = strlen(path);
    if (n <= pl + sl || strncmp(path, prefix, pl) != 0 || strcmp(path + n - sl, suffix) != 0)
        return 0;
    size_t segl = n - pl - sl;
    if (segl >= size || memchr(path + pl, '/', segl)) return 0;
    memcpy(seg, path + pl, segl);
    seg[segl] = 0;
    return 1;
}

/* The learned ranker's state for /readyz and /metrics. */
static const char *ranker_state(const mx_model *m, const srv_config *cfg) {
    if (model_has_ranker(m)) return cfg->ranking_enabled ? "ok" : "disabled";
    return strncmp(m->ranker_status, "rejected", 8) == 0 ? "rejected" : "absent";
}

static int route_of(const char *path, char *seg, size_t size, int *post) {
    *post = 0;
    if (!strcmp(path, "/healthz")) return ROUTE_HEALTHZ;
    if (!strcmp(path, "/readyz")) return ROUTE_READYZ;
    if (match(path, "/v1/users/", "/recommendations", seg, size)) return ROUTE_USER_RECS;
    if (match(path, "/v1/users/", "/interests", seg, size)) return ROUTE_USER_INTERESTS;
    if (match(path, "/v1/items/", "/similar", seg, size)) return ROUTE_ITEM_SIMILAR;
    if (!strcmp(path, "/v1/recommendations")) {
        *post = 1;
        return ROUTE_RECS_POST;
    }
    if (!strcmp(path, "/v1/events")) {
        *post = 1;
        return ROUTE_EVENTS;
    }
    if (!strcmp(path, "/v1/admin/reload")) {
        *post = 1;
        return ROUTE_ADMIN_RELOAD;
    }
    if (!strcmp(path, "/metrics")) return ROUTE_METRICS;
    return ROUTE_NONE;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    (void)kind;
    http_req *r = cls;
    if (r->nq == MAX_QUERY) return MHD_NO;
    r->qname[r->nq] = strdup(key ? key : "");
    r->qvalue[r->nq] = strdup(value ? value : "");
    if (r->qname[r->nq] && r->qvalue[r->nq]) r->nq++;
    return MHD_YES;
}

void http_req_finish(http_req *r) {
    atomic_store(&r->state, ST_READY);
    MHD_resume_connection(r->c); /* thread-safe: the daemon was started with ITC */
}

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value) {
    (void)kind;
    size_t *total = cls;
    *total += strlen(key ? key : "") + strlen(value ? value : "") + 4; /* ": " and CRLF */
    return MHD_YES;
}

static void run_job(wk_worker *w, void *arg) {
    routes_run(w, arg);
}

/* Compares in time independent of where the strings differ. */
static int same_key(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

int http_reload(http_server *s, char *version_out, size_t size, mx_err *err) {
    pthread_mutex_lock(&s->reload_lock);
    mx_model *m = NULL;
    int rc = model_load(s->cfg->model_dir, &m, err);
    if (rc == 0) {
        if (version_out) snprintf(version_out, size, "%s", m->version);
        mh_set(s->holder, m); /* requests in flight finish on the old one */
    }
    prom_reload(s->prom, rc == 0);
    pthread_mutex_unlock(&s->reload_lock);
    return rc;
}

/* POST /v1/admin/reload runs here: loading takes long, so neither the
 * HTTP thread nor a worker waits for it. */
static void *reload_thread(void *arg) {
    http_req *r = arg;
    char version[64];
    mx_err err = {0};
    if (http_reload(r->s, version, sizeof(version), &err) == 0) {
        json_t *o = json_pack("{s:s,s:s}", "status", "reloaded", "model_version", version);
        http_req_respond(r, MHD_HTTP_OK, o ? json_dumps(o, JSON_COMPACT) : NULL);
        json_decref(o);
    } else {
        http_req_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "model_rejected",
                       "the model was rejected, the previous one keeps serving: %s", err.msg);
    }
    http_req_finish(r);
    return NULL;
}

static enum MHD_Result answer_now(http_req *r, int status, const char *code, const char *msg) {
    if (code) http_req_error(r, status, code, "%s", msg);
    return send_response(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    (void)version;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r) return MHD_NO;
        r->s = s;
        r->c = c;
        r->t0 = now_s();
        atomic_init(&r->state, ST_READING);
        snprintf(r->method, sizeof(r->method), "%s", method);
        snprintf(r->path, sizeof(r->path), "%s", url);
        const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
        if (rid && rid[0])
            sanitize(r->request_id, sizeof(r->request_id), rid);
        else
            snprintf(r->request_id, sizeof(r->request_id), "%lx-%lu", (unsigned long)time(NULL),
                     (unsigned long)atomic_fetch_add(&s->next_id, 1));
        size_t header_bytes = strlen(url) + strlen(method) + 16;
        MHD_get_connection_values(c, MHD_HEADER_KIND, add_header_size, &header_bytes);
        r->headers_too_large = header_bytes > s->cfg->max_header_bytes;
        const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        if (origin) snprintf(r->origin, sizeof(r->origin), "%s", origin);
        atomic_fetch_add(&s->inflight, 1);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size > 0) { /* body: keep up to the limit, drain the rest */
        if (!r->too_large) {
            if (r->body_len + *upload_size > s->cfg->max_body_bytes) {
                r->too_large = 1;
            } else {
                if (r->body_len + *upload_size + 1 > r->body_cap) {
                    size_t cap = (r->body_len + *upload_size + 1) * 2;
                    char *nb = realloc(r->body, cap);
                    if (!nb) return MHD_NO;
                    r->body = nb;
                    r->body_cap = cap;
                }
                memcpy(r->body + r->body_len, upload, *upload_size);
                r->body_len += *upload_size;
                r->body[r->body_len] = 0;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (atomic_load(&r->state) == ST_READY) return send_response(r);
    if (atomic_load(&r->state) == ST_SUBMITTED) return MHD_YES; /* spurious call */

    int post = 0;
    r->route = route_of(url, r->param, sizeof(r->param), &post);
    if (r->headers_too_large)
        return answer_now(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large",
                          "the request headers are larger than limits.max_header_bytes");
    if (r->route == ROUTE_NONE && sf_is_ui_path(url)) /* the inspector page, GET/HEAD only */
        return sf_answer(c, s->cfg->ui_dir, method, url, r->request_id, &r->status);
    if (r->route == ROUTE_NONE)
        return answer_now(r, MHD_HTTP_NOT_FOUND, "not_found", "no such route");
    if (!utf8_check(r->param, 0))
        return answer_now(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "ids must be UTF-8");
    if (!strcmp(method, "OPTIONS")) return send_preflight(r);
    if (strcmp(method, post ? "POST" : "GET") != 0 && !(strcmp(method, "HEAD") == 0 && !post))
        return answer_now(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                          post ? "use POST" : "use GET");
    if (r->too_large)
        return answer_now(r, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                          "the request body is larger than limits.max_body_bytes");
    if (r->route == ROUTE_HEALTHZ) {
        http_req_respond(r, MHD_HTTP_OK, strdup("{\"status\":\"ok\"}"));
        return send_response(r);
    }
    if (r->route == ROUTE_READYZ) {
        mh_ref *ref = mh_acquire(s->holder, NULL);
        const mx_model *m = mh_model(ref);
        if (m) {
            int up = wk_redis_connected(s->pool), n = wk_count(s->pool);
            const char *redis = !s->cfg->redis_url[0] ? "not configured"
                                : up == n             ? "ok"
                                                      : "degraded";
            json_t *o =
                json_pack("{s:s,s:s,s:s,s:i,s:i}", "status",
                          up == n || !s->cfg->redis_url[0] ? "ready" : "degraded", "model_version",
                          m->version, "redis", redis, "redis_connected_workers", up, "workers", n);
            /* The ranker never makes the service unready: without it
             * answers come in retrieval order, and this says so. */
            json_t *rk = json_pack("{s:s,s:s}", "state", ranker_state(m, s->cfg), "detail",
                                   m->ranker_status);
            if (rk && m->ranker)
                json_object_set_new(rk, "trees",
                                    json_integer((json_int_t)rk_forest_n_trees(m->ranker)));
            json_object_set_new(o, "ranker", rk);
            http_req_respond(r, MHD_HTTP_OK, json_dumps(o, JSON_COMPACT));
            json_decref(o);
        } else {
            http_req_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_model", "no model is loaded");
        }
        mh_release(ref);
        return send_response(r);
    }
    if (r->route == ROUTE_ADMIN_RELOAD && s->cfg->n_api_keys == 0)
        return answer_now(r, MHD_HTTP_FORBIDDEN, "admin_disabled",
                          "admin routes are off until auth.api_keys is set (SIGHUP reloads too)");
    if ((r->route == ROUTE_EVENTS || r->route == ROUTE_ADMIN_RELOAD) && s->cfg->n_api_keys > 0) {
        const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Key");
        int good = 0;
        for (int i = 0; key && i < s->cfg->n_api_keys; i++)
            good |= same_key(key, s->cfg->api_keys[i]);
        if (!key)
            return answer_now(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", "X-API-Key is required");
        if (!good)
            return answer_now(r, MHD_HTTP_FORBIDDEN, "forbidden", "the API key is not valid");
    }
    if (r->route == ROUTE_METRICS) {
        mh_ref *ref = mh_acquire(s->holder, NULL);
        prom_gauges g = {.model_version = mh_model(ref) ? mh_model(ref)->version : NULL,
                         .ranker_state = mh_model(ref) ? ranker_state(mh_model(ref), s->cfg) : NULL,
                         .workers = wk_count(s->pool),
                         .redis_connected = wk_redis_connected(s->pool),
                         .redis_configured = s->cfg->redis_url[0] != 0};
        char *text = prom_render(s->prom, route_names, &g);
        mh_release(ref);
        if (!text)
            return answer_now(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        http_req_respond(r, MHD_HTTP_OK, text);
        r->content_type = "text/plain; version=0.0.4";
        return send_response(r);
    }
    /* Draining: no new suspended request (MHD_stop_daemon aborts on one).
     * This request is counted in inflight already, so http_stop either
     * waits for it or it sees the flag here. */
    if (atomic_load(&s->stopping))
        return answer_now(r, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down",
                          "the server is stopping; retry");
    if (r->route == ROUTE_ADMIN_RELOAD) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        atomic_store(&r->state, ST_SUBMITTED);
        MHD_suspend_connection(c);
        if (pthread_create(&t, &attr, reload_thread, r) != 0) {
            http_req_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", "cannot start a reload now");
            http_req_finish(r);
        }
        pthread_attr_destroy(&attr);
        return MHD_YES;
    }
    if (post) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        if (!ct || strncmp(ct, "application/json", 16) != 0)
            return answer_now(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                              "send Content-Type: application/json");
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, r);
    atomic_store(&r->state, ST_SUBMITTED);
    MHD_suspend_connection(c);
    if (wk_submit(s->pool, run_job, r) != 0) {
        http_req_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", "the server is stopping");
        http_req_finish(r);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)c;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) return;
    prom_request(s->prom, r->route, r->status, now_s() - r->t0);
    if (s->cfg->log_level >= SRV_LOG_INFO) {
        char path[256];
        sanitize(path, sizeof(path), r->path);
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:s,s:i,s:f,s:s}", "request_id", r->request_id, "method", r->method,
            "route", route_names[r->route >= 0 && r->route < PROM_ROUTES ? r->route : 0], "path",
            path, "status", r->status, "latency_ms", (now_s() - r->t0) * 1e3, "user", r->user);
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            json_object_set_new(o, "aborted", json_true());
        char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (line) {
            fprintf(stdout, "%s\n", line);
            fflush(stdout);
        }
        free(line);
        json_decref(o);
    }
    for (int i = 0; i < r->nq; i++) {
        free(r->qname[i]);
        free(r->qvalue[i]);
    }
    free(r->body);
    free(r->resp);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

/* File descriptors kept back from connections: model files during a reload,
 * Redis connections, event loops, logs. */
#define FD_RESERVE 128

/* How many connections the fd limit allows: raises the soft RLIMIT_NOFILE
 * towards want + FD_RESERVE (up to the hard limit) and returns want, or
 * fewer when the hard limit is lower. Otherwise a flood of idle
 * connections would take every descriptor (the default soft limit is 1024,
 * limits.max_connections 4096): no reload could open a model file then. */
static unsigned connection_budget(int want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return (unsigned)want;
    rlim_t need = (rlim_t)want + FD_RESERVE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) return (unsigned)want;
    return rl.rlim_cur > FD_RESERVE + 16 ? (unsigned)(rl.rlim_cur - FD_RESERVE) : 16;
}

int http_start(http_server **out, const srv_config *cfg, mh_holder *holder, wk_pool *pool,
               mx_err *err) {
    *out = NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", cfg->listen_port);
    int gai = getaddrinfo(cfg->listen_host, port, &hints, &ai);
    if (gai != 0)
        return mx_err_set(err, MX_EINVAL, "server.listen: cannot resolve '%s': %s",
                          cfg->listen_host, gai_strerror(gai));
    http_server *s = calloc(1, sizeof(*s));
    if (!s) {
        freeaddrinfo(ai);
        return mx_err_set(err, MX_ENOMEM, "out of memory for the HTTP server");
    }
    s->cfg = cfg;
    s->holder = holder;
    s->pool = pool;
    s->prom = prom_new();
    pthread_mutex_init(&s->reload_lock, NULL);
    if (!s->prom) {
        free(s);
        freeaddrinfo(ai);
        return mx_err_set(err, MX_ENOMEM, "out of memory for metrics");
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(flags, (uint16_t)cfg->listen_port, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, s, MHD_OPTION_CONNECTION_LIMIT,
                            connection_budget(cfg->max_connections), MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)cfg->request_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t)cfg->max_header_bytes * 4 + 65536, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        prom_free(s->prom);
        free(s);
        return mx_err_set(err, MX_EIO, "cannot listen on %s (in use? permission?)", cfg->listen);
    }
    *out = s;
    return 0;
}

void http_stop(http_server *s, int timeout_s) {
    if (!s) return;
    atomic_store(&s->stopping, 1);
    MHD_socket fd = MHD_quiesce_daemon(s->d); /* no new connections */
    if (fd != MHD_INVALID_SOCKET) close(fd);
    double deadline = now_s() + timeout_s;
    while (atomic_load(&s->inflight) > 0 && now_s() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->d);
    prom_free(s->prom);
    pthread_mutex_destroy(&s->reload_lock);
    free(s);
}

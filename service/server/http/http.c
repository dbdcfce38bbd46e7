/* http.c - see http.h. */
#include "http.h"

#include "stopwatch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api.h"
#include "api_admin.h"
#include "http_lane.h"
#include "static_files.h"
#include "tenants.h"

struct http_server {
    http_lane **lanes; /* one daemon per worker of lane_pool (http_lane.h) */
    int n_lanes;
    int listen_fd;           /* shared by the lanes' daemons */
    int listen_v6;           /* it is an IPv6 socket */
    wk_pool *lane_pool;      /* the default tenant's: its workers run the lanes */
    api_env env[TN_MAX + 1]; /* what handlers see, per tenant: [0] is the default */
    size_t n_env;
    const srv_config *cfg; /* the default tenant's: the transport's settings */
    atomic_int inflight;
    atomic_int stopping; /* http_stop: no new work, close connections */
    atomic_ulong next_id;
    const char *route_names[PROM_MAX_ROUTES]; /* "unmatched", then the table's */
};

/* ST_HERE: the handler runs on the lane's own worker, not suspended yet */
enum { ST_READING, ST_HERE, ST_SUBMITTED, ST_READY };

typedef struct http_req {
    api_req api; /* the handler's view of the request */
    http_server *s;
    http_lane *lane; /* the daemon (worker) that owns the connection */
    struct MHD_Connection *c;
    atomic_int state;
    char method[16];
    char path[512];
    char tenant_path[512]; /* path without /v1/tenants/{tenant} (pick_tenant) */
    char *qname[API_MAX_QUERY], *qvalue[API_MAX_QUERY];
    char *body;
    size_t body_len, body_cap;
    int too_large;
    int headers_too_large;
    char request_id[64];
    char origin[256];
    double t0;
} http_req;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Printable ASCII only, no quotes or backslashes: ids from outside are
 * logged and echoed, never trusted. */
static void sanitize(char *dst, size_t size, const char *src) {
    size_t n = 0;
    for (; src && *src && n + 1 < size; src++)
        dst[n++] = (*src >= 0x21 && *src <= 0x7e && *src != '"' && *src != '\\') ? *src : '_';
    dst[n] = 0;
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

static enum MHD_Result send_response(http_req *r) {
    const char *body = r->api.resp ? r->api.resp : "{}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type",
                            r->api.content_type ? r->api.content_type : "application/json");
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    const char *ao = allowed_origin(r->s, r->origin);
    if (ao) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", ao);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", "X-Request-Id");
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    if (atomic_load(&r->s->stopping)) /* keep-alive clients move elsewhere */
        MHD_add_response_header(resp, "Connection", "close");
    if (r->api.status == API_TOO_MANY_REQUESTS && r->api.retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%d", r->api.retry_after_s);
        MHD_add_response_header(resp, "Retry-After", secs);
    }
    if (r->api.status == API_METHOD_NOT_ALLOWED) {
        char allow[API_ALLOW_MAX];
        api_allow(r->api.route, allow, sizeof(allow));
        MHD_add_response_header(resp, "Allow", allow);
    }
    enum MHD_Result ok = MHD_queue_response(r->c, (unsigned)r->api.status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result send_preflight(http_req *r) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    const char *ao = allowed_origin(r->s, r->origin);
    char methods[API_ALLOW_MAX];
    api_allow(r->api.route, methods, sizeof(methods));
    MHD_add_response_header(resp, "Allow", methods);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (ao) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", ao);
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", methods);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Content-Type, X-API-Key, X-Request-Id, Authorization");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    r->api.status = API_NO_CONTENT;
    enum MHD_Result ok = MHD_queue_response(r->c, MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result answer_now(http_req *r, int status, const char *code, const char *msg) {
    api_error(&r->api, status, code, "%s", msg);
    return send_response(r);
}

/* ---- running handlers ------------------------------------------------------ */

/* api_finish of a request handed to a worker or a thread: back to the
 * connection's lane. Finished before run_here suspended it, run_here
 * sends the answer itself. Once resumed the request may be completed and
 * freed by the lane at any moment: nothing of r is read after that. */
static void on_finish_suspended(api_req *a) {
    http_req *r = (http_req *)a;
    int here = ST_HERE;
    if (atomic_compare_exchange_strong(&r->state, &here, ST_READY)) return;
    http_lane *lane = r->lane;
    int on_lane = a->worker && a->worker == http_lane_worker(lane);
    struct MHD_Connection *c = r->c;
    atomic_store(&r->state, ST_READY);
    MHD_resume_connection(c); /* thread-safe */
    http_lane_kick(lane, on_lane);
}

static void on_finish_inline(api_req *a) {
    (void)a; /* the lane sends the answer when the handler returns */
}

static void run_job(wk_worker *w, void *arg) {
    api_run_on_worker(w, arg);
}

static void *run_thread(void *arg) {
    api_req *a = arg;
    a->route->handler(a);
    return NULL;
}

/* Runs a worker route on the lane's own worker, the one this callback
 * runs on: no thread crossing. A handler that waits (for Redis) finishes
 * later, on this thread, and resumes the connection then. */
static enum MHD_Result run_here(http_req *r) {
    r->api.on_finish = on_finish_suspended;
    atomic_store(&r->state, ST_HERE);
    api_run_on_worker(http_lane_worker(r->lane), &r->api);
    if (atomic_load(&r->state) == ST_READY) return send_response(r);
    MHD_suspend_connection(r->c);
    int here = ST_HERE;
    if (!atomic_compare_exchange_strong(&r->state, &here, ST_SUBMITTED)) {
        /* finished meanwhile by another thread, which left resuming to us */
        MHD_resume_connection(r->c);
        http_lane_kick(r->lane, 1);
    }
    return MHD_YES;
}

/* Suspends the connection and runs the handler on a worker or a thread:
 * the lane's own worker when the route computes for the default tenant. */
static enum MHD_Result dispatch(http_req *r) {
    if (!(r->api.route->flags & API_ON_THREAD) && r->api.env->pool == r->s->lane_pool)
        return run_here(r);
    r->api.on_finish = on_finish_suspended;
    atomic_store(&r->state, ST_SUBMITTED);
    MHD_suspend_connection(r->c);
    int failed;
    if (r->api.route->flags & API_ON_THREAD) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        failed = pthread_create(&t, &attr, run_thread, &r->api) != 0;
        pthread_attr_destroy(&attr);
    } else {
        failed = wk_submit(r->api.env->pool, run_job, r) != 0;
    }
    if (failed) {
        if (r->api.route->flags & API_ON_THREAD)
            api_error(&r->api, API_UNAVAILABLE, "busy", "cannot start a thread for this now");
        else
            api_error(&r->api, API_UNAVAILABLE, "shutting_down", "the server is stopping; retry");
        on_finish_suspended(&r->api);
    }
    return MHD_YES;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    (void)kind;
    http_req *r = cls;
    int i = r->api.nq;
    if (i == API_MAX_QUERY) {
        r->api.query_overflow = 1; /* api_check answers 400 */
        return MHD_NO;
    }
    r->qname[i] = strdup(key ? key : "");
    r->qvalue[i] = strdup(value ? value : "");
    if (!r->qname[i] || !r->qvalue[i]) {
        free(r->qname[i]);
        free(r->qvalue[i]);
        return MHD_NO;
    }
    r->api.qname[i] = r->qname[i];
    r->api.qvalue[i] = r->qvalue[i];
    r->api.nq++;
    return MHD_YES;
}

/* Whether a Content-Type names a JSON body: application/json, with
 * parameters (charset) or not; a PATCH may say application/merge-patch+json
 * (RFC 7396), which is what it means by a partial object. */
static int json_type_ok(const char *ct, int patch) {
    if (!ct) return 0;
    size_t n = strcspn(ct, "; \t");
    if (n == 16 && !strncasecmp(ct, "application/json", 16)) return 1;
    return patch && n == 28 && !strncasecmp(ct, "application/merge-patch+json", 28);
}

/* The connection's address, numeric, into out ("" when unknown). */
static void peer_address(struct MHD_Connection *c, char *out, size_t size) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = 0;
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

/* /v1/tenants/{tenant}/REST: the tenant's env for the request and "/v1/REST"
 * into r->tenant_path (the table's path). 0, or -1 for a tenant this
 * server does not have. */
static int pick_tenant(http_req *r, const char *url, const char **path) {
    static const char head[] = "/v1/tenants/";
    *path = url;
    if (strncmp(url, head, sizeof(head) - 1) != 0) return 0;
    const char *name = url + sizeof(head) - 1;
    size_t len = strcspn(name, "/");
    for (size_t i = 0; i < r->s->n_env; i++) {
        const char *t = r->s->env[i].tenant;
        if (strlen(t) == len && !strncmp(t, name, len)) {
            r->api.env = &r->s->env[i];
            snprintf(r->tenant_path, sizeof(r->tenant_path), "/v1%s", name + len);
            *path = r->tenant_path;
            return 0;
        }
    }
    return -1;
}

/* The request is complete: route it, check it, run it. */
static enum MHD_Result route_request(http_req *r, const char *url, const char *method) {
    http_server *s = r->s;
    const char *path;
    if (pick_tenant(r, url, &path))
        return answer_now(r, API_NOT_FOUND, "unknown_tenant",
                          "no such tenant; GET /v1/tenants lists them");
    api_match(&r->api, r->method, path);
    if (r->headers_too_large)
        return answer_now(r, API_HEADERS_TOO_LARGE, "headers_too_large",
                          "the request headers are larger than limits.max_header_bytes");
    if (!r->api.route && sf_is_ui_path(url)) /* the inspector page, GET/HEAD only */
        return sf_answer(r->c, s->cfg->ui_dir, method, url, r->request_id, &r->api.status);
    if (r->api.route && !strcmp(method, "OPTIONS")) return send_preflight(r);
    if (r->too_large)
        return answer_now(r, API_CONTENT_TOO_LARGE, "body_too_large",
                          "the request body is larger than limits.max_body_bytes");
    r->api.api_key = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "X-API-Key");
    const char *auth = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Authorization");
    if (auth && !strncasecmp(auth, "Bearer ", 7)) r->api.bearer = auth + 7;
    r->api.forwarded = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "X-Forwarded-For");
    peer_address(r->c, r->api.peer, sizeof(r->api.peer));
    MHD_get_connection_values(r->c, MHD_GET_ARGUMENT_KIND, collect_query, r);
    if (api_check(&r->api)) return send_response(r);
    unsigned flags = r->api.route->flags;
    if (flags & API_JSON_BODY) { /* POST, PUT or PATCH: the table says which */
        const char *ct = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Content-Type");
        int patch = !strcmp(r->method, "PATCH");
        if (!json_type_ok(ct, patch))
            return answer_now(r, API_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                              patch ? "send Content-Type: application/json (or "
                                      "application/merge-patch+json)"
                                    : "send Content-Type: application/json");
    }
    r->api.body = r->body;
    r->api.body_len = r->body_len;
    if (!(flags & (API_ON_WORKER | API_ON_THREAD))) { /* cheap: here and now */
        r->api.on_finish = on_finish_inline;
        r->api.route->handler(&r->api);
        return send_response(r);
    }
    /* Draining: no new suspended request (MHD_stop_daemon aborts on one).
     * This request is counted in inflight already, so http_stop either
     * waits for it or it sees the flag here. */
    if (atomic_load(&s->stopping))
        return answer_now(r, API_UNAVAILABLE, "shutting_down", "the server is stopping; retry");
    return dispatch(r);
}

/* ---- libmicrohttpd callbacks ---------------------------------------------- */

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value) {
    (void)kind;
    size_t *total = cls;
    *total += strlen(key ? key : "") + strlen(value ? value : "") + 4; /* ": " and CRLF */
    return MHD_YES;
}

static http_req *req_new(http_lane *lane, struct MHD_Connection *c, const char *url,
                         const char *method) {
    http_req *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    http_server *s = http_lane_user(lane);
    r->s = s;
    r->lane = lane;
    r->c = c;
    r->api.env = &s->env[0];
    r->t0 = now_s();
    r->api.mark_ns = stopwatch_now_ns();
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
    return r;
}

/* Keeps the body up to limits.max_body_bytes and drains the rest. */
static enum MHD_Result take_body(http_req *r, const char *upload, size_t *upload_size) {
    if (!r->too_large) {
        if (r->body_len + *upload_size > r->s->cfg->max_body_bytes) {
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    (void)version;
    http_server *s = http_lane_user(cls);
    http_req *r = *con_cls;
    if (!r) {
        if (!(r = req_new(cls, c, url, method))) return MHD_NO;
        atomic_fetch_add(&s->inflight, 1);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size > 0) return take_body(r, upload, upload_size);
    if (atomic_load(&r->state) == ST_READY) return send_response(r);
    if (atomic_load(&r->state) == ST_SUBMITTED) return MHD_YES; /* spurious call */
    return route_request(r, url, method);
}

static int route_index(const api_route *rt) {
    size_t n;
    const api_route *table = api_routes(&n);
    return rt ? (int)(rt - table) + 1 : 0;
}

static void access_log(http_server *s, http_req *r, enum MHD_RequestTerminationCode toe) {
    char path[256];
    sanitize(path, sizeof(path), r->path);
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:i,s:f,s:s}", "request_id", r->request_id, "method", r->method,
                  "route", s->route_names[route_index(r->api.route)], "path", path, "status",
                  r->api.status, "latency_ms", (now_s() - r->t0) * 1e3, "user", r->api.user);
    if (r->api.key_id[0]) json_object_set_new(o, "key", json_string(r->api.key_id));
    if (r->api.env != &s->env[0]) json_object_set_new(o, "tenant", json_string(r->api.env->tenant));
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) json_object_set_new(o, "aborted", json_true());
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (line) {
        fprintf(stdout, "%s\n", line);
        fflush(stdout);
    }
    free(line);
    json_decref(o);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)c;
    http_server *s = http_lane_user(cls);
    http_req *r = *con_cls;
    if (!r) return;
    prom_request(r->api.env->prom, route_index(r->api.route), r->api.status, now_s() - r->t0);
    if (r->api.staged) { /* the reply's part, and the answer counted */
        api_stage(&r->api, PROM_STAGE_HTTP_OUT);
        prom_staged(r->api.env->prom);
    }
    if (s->cfg->log_level >= SRV_LOG_INFO) access_log(s, r, toe);
    for (int i = 0; i < r->api.nq; i++) {
        free(r->qname[i]);
        free(r->qvalue[i]);
    }
    free(r->body);
    free(r->api.resp);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

size_t http_tenant_count(const http_server *s) {
    return s->n_env;
}

void http_set_access(http_server *s, size_t tenant, ac_table *t) {
    ac_gate_publish(s->env[tenant].gate, t);
}

int http_reload(http_server *s, size_t tenant, char *version_out, size_t size, mx_err *err) {
    return api_admin_reload_model(&s->env[tenant], version_out, size, err);
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

/* One tenant's share of what handlers see: metrics, experiments as
 * configured, keys and limits. */
static int env_init(http_server *s, api_env *e, const http_tenant *t, size_t n_routes,
                    mx_err *err) {
    *e = (api_env){.cfg = t->cfg,
                   .holder = t->holder,
                   .pool = t->pool,
                   .tenant = t->name,
                   .tenants = s->env,
                   .prom = prom_new(s->route_names, (int)n_routes + 1)};
    if (!e->prom) return mx_err_set(err, MX_ENOMEM, "out of memory for metrics");
    experiment_list *xl = NULL; /* checked at start-up (srv_config_validate) */
    int rc = experiment_parse_text(t->cfg->experiments_list, "experiments.list", t->cfg, &xl, NULL,
                                   0, err);
    e->experiments = xl;
    ac_table *keys = NULL;
    if (!rc && !(rc = ac_table_new(&keys, t->cfg, err)) &&
        !(e->gate = ac_gate_new(keys, (size_t)s->cfg->limits_rate_clients)))
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for the rate limits");
    return rc;
}

static void env_free(api_env *e) {
    prom_free(e->prom);
    ac_gate_free(e->gate);
    experiment_list_free((experiment_list *)e->experiments);
}

static void server_free(http_server *s) {
    for (int i = 0; i < s->n_lanes; i++)
        http_lane_free(s->lanes[i]);
    free(s->lanes);
    if (s->listen_fd >= 0) close(s->listen_fd);
    for (size_t i = 0; i < s->n_env; i++)
        env_free(&s->env[i]);
    free(s);
}

/* The listening socket the lanes share: non-blocking (every lane's daemon
 * is woken by a new connection; one accepts it, the others find none). */
static int listen_on(const struct addrinfo *ai, const char *where, mx_err *err) {
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return mx_err_set(err, MX_EIO, "cannot listen on %s: no socket", where), -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        close(fd);
        mx_err_set(err, MX_EIO, "cannot listen on %s (in use? permission?)", where);
        return -1;
    }
    return fd;
}

/* One daemon per worker of the default tenant's pool, each run by its
 * worker's loop on the shared socket (http_lane.h). */
static int start_lanes(http_server *s, wk_pool *pool, mx_err *err) {
    const srv_config *cfg = s->cfg;
    int n = wk_count(pool);
    if (!(s->lanes = calloc((size_t)n, sizeof(*s->lanes))))
        return mx_err_set(err, MX_ENOMEM, "out of memory for the HTTP lanes");
    s->lane_pool = pool;
    unsigned budget = connection_budget(cfg->max_connections);
    unsigned per_lane = (budget + (unsigned)n - 1) / (unsigned)n;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (s->listen_v6) flags |= MHD_USE_IPv6;
    for (int i = 0; i < n; i++) {
        http_lane *lane = http_lane_new(pool, i, s);
        if (!lane) return mx_err_set(err, MX_ENOMEM, "out of memory for the HTTP lanes");
        s->lanes[s->n_lanes++] = lane;
        struct MHD_Daemon *d =
            MHD_start_daemon(flags, 0, NULL, NULL, on_request, lane, MHD_OPTION_LISTEN_SOCKET,
                             s->listen_fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, lane,
                             MHD_OPTION_CONNECTION_LIMIT, per_lane, MHD_OPTION_CONNECTION_TIMEOUT,
                             (unsigned)cfg->request_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                             (size_t)cfg->max_header_bytes * 4 + 65536, MHD_OPTION_END);
        if (!d) return mx_err_set(err, MX_EIO, "cannot start the HTTP daemon of worker %d", i);
        if (http_lane_run(lane, d)) {
            MHD_quiesce_daemon(d); /* the shared socket is closed once, by server_free */
            MHD_stop_daemon(d);
            return mx_err_set(err, MX_EIO, "cannot run the HTTP daemon on worker %d", i);
        }
    }
    return 0;
}

int http_start(http_server **out, const http_tenant *tenants, size_t n, mx_err *err) {
    *out = NULL;
    if (n < 1 || n > TN_MAX + 1) return mx_err_set(err, MX_EINVAL, "1..%d tenants", TN_MAX + 1);
    const srv_config *cfg = tenants[0].cfg;
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
    s->listen_fd = -1;
    size_t n_routes;
    const api_route *table = api_routes(&n_routes);
    s->route_names[0] = "unmatched";
    for (size_t i = 0; i < n_routes && i + 1 < PROM_MAX_ROUTES; i++)
        s->route_names[i + 1] = table[i].name;
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++, s->n_env++)
        rc = env_init(s, &s->env[i], &tenants[i], n_routes, err);
    for (size_t i = 0; i < s->n_env; i++)
        s->env[i].n_tenants = s->n_env;
    if (!rc && (s->listen_fd = listen_on(ai, cfg->listen, err)) < 0) rc = MX_EIO;
    s->listen_v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    if (!rc) rc = start_lanes(s, tenants[0].pool, err);
    if (rc) {
        server_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void http_stop(http_server *s, int timeout_s) {
    if (!s) return;
    atomic_store(&s->stopping, 1);
    for (int i = 0; i < s->n_lanes; i++) /* no new connections */
        http_lane_quiesce(s->lanes[i]);
    close(s->listen_fd);
    s->listen_fd = -1;
    double deadline = now_s() + timeout_s;
    while (atomic_load(&s->inflight) > 0 && now_s() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    server_free(s); /* stops each lane's daemon on its worker */
}

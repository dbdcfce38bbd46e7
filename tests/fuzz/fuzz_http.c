/* fuzz_http.c - the whole request path of `mixrec serve`, in process: a
 * real server (http.c on libmicrohttpd, one worker loop, no Redis) on a
 * loopback port, fed well-framed HTTP requests whose route, method,
 * headers, path parameter, query string and body come from the input.
 * That reaches every parser that takes outside input: the router and path
 * parameters, the query parameters of each GET route (user, k, exclude,
 * categories, exclude_categories, min_age, max_age, recent_items,
 * explain), the JSON bodies of POST
 * /v1/recommendations, POST /v1/events and POST /v1/tokens, API keys,
 * request ids and CORS origins.
 *
 * Input: byte 0 route, byte 1 flags, then NUL-separated fields: path
 * parameter, query string, body, X-Request-Id. Every byte of the path
 * parameter is percent-encoded (so any byte reaches the handler); the
 * query keeps & , and = and encodes the rest.
 * Flags: bits 0-1 method (0 the route's, 1 the other of GET/POST, 2 HEAD,
 * 3 DELETE), bits 2-3 Content-Type (json, json+charset, text/plain, none),
 * bits 4-5 X-API-Key (none, right, wrong, empty), bit 6 Origin, bit 7
 * chunked body.
 *
 * With MIXREC_FUZZ_REDIS=URL (scripts/fuzz starts a redis-server) the
 * worker has sessions: events are stored and read back before each
 * recommendation.
 *
 * Checked on every answer (a violation aborts): a complete HTTP response
 * within 10 s; never 500; the server's own answers carry X-Request-Id and
 * are JSON objects, errors {"error":{"code":...,"message":...}}. */
#include "fuzz_common.h"
#include "http.h"
#include "model_holder.h"
#include "srv_config.h"
#include "workers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <jansson.h>

static int port;
static int sock = -1;
static srv_config cfg;

static void fz_connect(void) {
    if (sock >= 0) close(sock);
    sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(sock, (struct sockaddr *)&a, sizeof(a)) != 0)
        FZ_DIE("cannot connect to the server: %s", strerror(errno));
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    if (!freopen("/dev/null", "w", stdout)) FZ_DIE("stdout"); /* the access log */
    const char *root = fz_model();
    srv_config_init(&cfg);
    mx_err err = {0};
    const char *set[][2] = {{"server.model_dir", root},
                            {"server.workers", "1"},
                            {"auth.api_keys", "fuzz-key,other-key"},
                            {"cors.origins", "https://app.example"},
                            {"limits.max_body_bytes", "65536"},
                            {"limits.max_k", "100"},
                            {"limits.max_batch", "50"},
                            {"limits.request_timeout_s", "20"}};
    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
        if (srv_config_set(&cfg, set[i][0], set[i][1], &err)) FZ_DIE("config: %s", err.msg);
    const char *redis = getenv("MIXREC_FUZZ_REDIS");
    if (redis && !redis[0]) redis = NULL;
    if (redis && srv_config_set(&cfg, "redis.url", redis, &err)) FZ_DIE("config: %s", err.msg);
    mx_model *m = NULL;
    if (model_load(root, &m, &err)) FZ_DIE("model: %s", err.msg);
    mh_holder *h = mh_new();
    mh_set(h, m);
    wk_pool *pool = NULL;
    if (wk_start(&pool, &cfg, h, redis != NULL, &err)) FZ_DIE("workers: %s", err.msg);
    http_server *s = NULL;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int tries = 0; tries < 20 && !s; tries++) {
        port = 20000 + rand() % 30000;
        char listen[64];
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        if (srv_config_set(&cfg, "server.listen", listen, &err)) FZ_DIE("%s", err.msg);
        http_tenant t = {"default", &cfg, h, pool};
        http_start(&s, &t, 1, &err);
    }
    if (!s) FZ_DIE("cannot listen: %s", err.msg);
    fz_connect();
    return 0; /* the server lives as long as the process */
}

/* Growing buffer. */
typedef struct {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) FZ_DIE("oom");
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void puts_(buf *b, const char *s) {
    put(b, s, strlen(s));
}
static void put_encoded(buf *b, const uint8_t *d, size_t n, const char *keep) {
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c && strchr("-_.~", c)) || (c && keep && strchr(keep, c))) {
            put(b, &c, 1);
        } else {
            char e[4];
            snprintf(e, sizeof(e), "%%%02X", c);
            put(b, e, 3);
        }
    }
}

/* Next NUL-separated field of the input. */
static const uint8_t *field(const uint8_t **d, size_t *left, size_t *n) {
    const uint8_t *s = *d, *z = memchr(s, 0, *left);
    *n = z ? (size_t)(z - s) : *left;
    *d += *n + (z ? 1 : 0);
    *left -= *n + (z ? 1 : 0);
    return s;
}

static const char *reason;

/* Reads one response; returns its status (0 if the connection closed
 * before any byte arrived) and fills body/headers. */
static int read_response(int head, buf *hdr, buf *body, int *closes) {
    char tmp[65536];
    buf in = {0};
    size_t hend = 0;
    while (!hend) {
        ssize_t r = recv(sock, tmp, sizeof(tmp), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) FZ_DIE("no answer within 10 s");
        if (r <= 0) {
            int got = in.n > 0;
            free(in.p);
            if (got) FZ_DIE("connection closed in the middle of the headers");
            return 0;
        }
        put(&in, tmp, (size_t)r);
        char *e = strstr(in.p, "\r\n\r\n");
        if (e) hend = (size_t)(e - in.p) + 4;
    }
    put(hdr, in.p, hend);
    int status = 0;
    if (sscanf(hdr->p, "HTTP/1.%*d %d", &status) != 1) FZ_DIE("bad status line");
    long clen = -1;
    *closes = 0;
    for (char *line = strstr(hdr->p, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        if (!strncasecmp(line + 2, "Content-Length:", 15)) clen = atol(line + 17);
        if (!strncasecmp(line + 2, "Connection: close", 17)) *closes = 1;
        if (!strncasecmp(line + 2, "Transfer-Encoding: chunked", 26))
            FZ_DIE("chunked responses are not expected");
    }
    if (head || status == 204 || status == 304 || status < 200) clen = 0;
    if (clen < 0) {
        *closes = 1; /* until the connection closes */
        clen = LONG_MAX;
    }
    put(body, in.p + hend, in.n - hend < (size_t)clen ? in.n - hend : (size_t)clen);
    free(in.p);
    while ((long)body->n < clen) {
        ssize_t r = recv(sock, tmp, sizeof(tmp), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) FZ_DIE("body stalled");
        if (r <= 0) {
            if (clen != LONG_MAX) FZ_DIE("connection closed in the middle of the body");
            break;
        }
        put(body, tmp, (size_t)r);
    }
    return status;
}

static const char *header(const buf *hdr, const char *name) {
    size_t n = strlen(name);
    for (const char *l = strstr(hdr->p, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n"))
        if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':') return l + 2 + n + 1;
    return NULL;
}

static void check(int status, const buf *hdr, const buf *body, int head, const buf *req) {
    reason = NULL;
    const char *ct = header(hdr, "Content-Type");
    int ours = ct && !strncmp(ct, " application/json", 17);
    if (status == 500) reason = "500 Internal Server Error";
    if (ours && !header(hdr, "X-Request-Id")) reason = "no X-Request-Id";
    if (ours && !head && status != 204) {
        json_error_t je;
        json_t *o = json_loadb(body->p ? body->p : "", body->n, 0, &je);
        if (!json_is_object(o))
            reason = "the body is not a JSON object";
        else if (status >= 400) {
            json_t *e = json_object_get(o, "error");
            if (!json_is_string(json_object_get(e, "code")) ||
                !json_is_string(json_object_get(e, "message")))
                reason = "an error without error.code and error.message";
        }
        json_decref(o);
    }
    if (reason) {
        fprintf(stderr, "---- request ----\n%.*s\n---- response ----\n%s%.*s\n", (int)req->n,
                req->p, hdr->p, (int)(body->n > 2000 ? 2000 : body->n), body->p ? body->p : "");
        FZ_DIE("%s", reason);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    static const char *const base[] = {"/v1/users/%s/recommendations",
                                       "/v1/users/%s/interests",
                                       "/v1/items/%s/similar",
                                       "/v1/recommendations",
                                       "/v1/events",
                                       "/healthz",
                                       "/readyz",
                                       "/metrics",
                                       "/v1/admin/reload",
                                       "/v1/tokens",
                                       "%s"};
    static const int is_post[] = {0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0};
    enum { ANY_PATH = 10 };
    int route = data[0] % 11, flags = data[1];
    data += 2;
    size -= 2;
    size_t pn, qn, bn, rn;
    const uint8_t *param = field(&data, &size, &pn), *query = field(&data, &size, &qn),
                  *bodyd = field(&data, &size, &bn), *rid = field(&data, &size, &rn);
    static const char *const methods[2] = {"GET", "POST"};
    const char *method = (flags & 3) == 0   ? methods[is_post[route]]
                         : (flags & 3) == 1 ? methods[!is_post[route]]
                         : (flags & 3) == 2 ? "HEAD"
                                            : "DELETE";
    int head = !strcmp(method, "HEAD");
    buf req = {0}, path = {0};
    if (route == ANY_PATH)
        put_encoded(&path, param, pn, "/"); /* any path */
    else
        put_encoded(&path, param, pn, NULL);
    char target[64];
    const char *b = base[route], *pct = strstr(b, "%s");
    puts_(&req, method);
    puts_(&req, " ");
    if (route == ANY_PATH && (!path.n || path.p[0] != '/')) puts_(&req, "/");
    if (pct) {
        put(&req, b, (size_t)(pct - b));
        if (path.n) put(&req, path.p, path.n);
        puts_(&req, pct + 2);
    } else {
        puts_(&req, b);
    }
    if (qn) {
        puts_(&req, "?");
        put_encoded(&req, query, qn, "&=,");
    }
    puts_(&req, " HTTP/1.1\r\nHost: fuzz\r\n");
    static const char *const cts[3] = {"application/json", "application/json; charset=utf-8",
                                       "text/plain"};
    if (((flags >> 2) & 3) < 3) {
        snprintf(target, sizeof(target), "Content-Type: %s\r\n", cts[(flags >> 2) & 3]);
        puts_(&req, target);
    }
    static const char *const keys[4] = {NULL, "fuzz-key", "fuzz-kez", ""};
    if (keys[(flags >> 4) & 3]) {
        puts_(&req, "X-API-Key: ");
        puts_(&req, keys[(flags >> 4) & 3]);
        puts_(&req, "\r\n");
    }
    if (flags & 64) puts_(&req, "Origin: https://app.example\r\n");
    if (rn) {
        puts_(&req, "X-Request-Id: ");
        for (size_t i = 0; i < rn && i < 300; i++)
            if (rid[i] >= 0x20 && rid[i] < 0x7f) put(&req, &rid[i], 1);
        puts_(&req, "x\r\n");
    }
    if (flags & 128) {
        puts_(&req, "Transfer-Encoding: chunked\r\n\r\n");
        size_t half = bn / 2;
        const uint8_t *parts[2] = {bodyd, bodyd + half};
        size_t lens[2] = {half, bn - half};
        for (int i = 0; i < 2; i++) {
            if (!lens[i]) continue;
            snprintf(target, sizeof(target), "%zx\r\n", lens[i]);
            puts_(&req, target);
            put(&req, parts[i], lens[i]);
            puts_(&req, "\r\n");
        }
        puts_(&req, "0\r\n\r\n");
    } else {
        snprintf(target, sizeof(target), "Content-Length: %zu\r\n\r\n", bn);
        puts_(&req, target);
        put(&req, bodyd, bn);
    }
    for (int attempt = 0;; attempt++) {
        size_t sent = 0;
        while (sent < req.n) {
            ssize_t w = send(sock, req.p + sent, req.n - sent, MSG_NOSIGNAL);
            if (w <= 0) break;
            sent += (size_t)w;
        }
        buf hdr = {0}, body = {0};
        int closes = 0;
        int status = sent == req.n ? read_response(head, &hdr, &body, &closes) : 0;
        if (status == 0) { /* the server closed an idle keep-alive connection: once more */
            free(hdr.p);
            free(body.p);
            if (attempt) FZ_DIE("the server closes the connection without answering");
            fz_connect();
            continue;
        }
        check(status, &hdr, &body, head, &req);
        free(hdr.p);
        free(body.p);
        if (closes) fz_connect();
        break;
    }
    free(req.p);
    free(path.p);
    return 0;
}

/* httpc.c - see httpc.h. */
#include "httpc.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

struct httpc {
    char host[256], port[16];
    char *api_key;
    int fd;
    char *in; /* bytes read and not yet consumed: in[0..len) */
    size_t len, cap;
    char *body; /* the last reply's body */
    size_t body_cap;
};

httpc *httpc_new(const char *base, const char *api_key, mx_err *err) {
    const char *p = strncmp(base, "http://", 7) == 0 ? base + 7 : NULL;
    const char *colon = p ? strrchr(p, ':') : NULL;
    httpc *c = p && colon ? calloc(1, sizeof(*c)) : NULL;
    if (!p || !colon) {
        mx_err_set(err, MX_EINVAL, "'%s' is not an http://HOST:PORT address", base);
        return NULL;
    }
    if (!c) return NULL;
    const char *h = p, *he = colon;
    if (*h == '[' && he > h && he[-1] == ']') h++, he--; /* [::1]:8080 */
    size_t hl = (size_t)(he - h), pl = strcspn(colon + 1, "/");
    if (!hl || hl >= sizeof(c->host) || !pl || pl >= sizeof(c->port)) {
        free(c);
        mx_err_set(err, MX_EINVAL, "'%s' is not an http://HOST:PORT address", base);
        return NULL;
    }
    memcpy(c->host, h, hl);
    memcpy(c->port, colon + 1, pl);
    c->fd = -1;
    if (api_key && !(c->api_key = strdup(api_key))) {
        free(c);
        return NULL;
    }
    return c;
}

void httpc_free(httpc *c) {
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    free(c->api_key);
    free(c->in);
    free(c->body);
    free(c);
}

static int connect_to(httpc *c, mx_err *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(c->host, c->port, &hints, &res);
    if (rc) return mx_err_set(err, MX_EIO, "%s:%s: %s", c->host, c->port, gai_strerror(rc));
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            c->fd = fd;
            break;
        }
        close(fd);
    }
    freeaddrinfo(res);
    c->len = 0;
    if (c->fd < 0)
        return mx_err_set(err, MX_EIO, "cannot connect to %s:%s: %s", c->host, c->port,
                          strerror(errno));
    return 0;
}

static void drop(httpc *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->len = 0;
}

static int send_all(httpc *c, const char *buf, size_t n) {
    while (n) {
        ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more into c->in: 1 read, 0 closed, -1 error or timeout. */
static int fill(httpc *c, int timeout_ms) {
    if (c->cap - c->len < 4096) {
        size_t cap = c->cap ? 2 * c->cap : 16384;
        char *in = realloc(c->in, cap);
        if (!in) return -1;
        c->in = in;
        c->cap = cap;
    }
    struct pollfd p = {c->fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r <= 0) return -1;
    ssize_t got = recv(c->fd, c->in + c->len, c->cap - c->len - 1, 0);
    if (got < 0 && errno == EINTR) return fill(c, timeout_ms);
    if (got < 0) return -1;
    c->len += (size_t)got;
    c->in[c->len] = 0;
    return got > 0;
}

/* The value of header name in the head text, or NULL. */
static const char *header(const char *head, const char *name) {
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
        if (!strncasecmp(l + 2, name, nl) && l[2 + nl] == ':') return l + 3 + nl;
    return NULL;
}

static int keep_body(httpc *c, const char *src, size_t n) {
    if (n + 1 > c->body_cap) {
        char *b = realloc(c->body, n + 1);
        if (!b) return -1;
        c->body = b;
        c->body_cap = n + 1;
    }
    memcpy(c->body, src, n);
    c->body[n] = 0;
    return 0;
}

/* Decodes a chunked body that starts at c->in + start: 0 done (the body
 * kept, *end the first byte after it), 1 more bytes needed, -1 malformed. */
static int dechunk(httpc *c, size_t start, size_t *end) {
    size_t at = start, out = 0;
    char *tmp = malloc(c->len - start + 1);
    if (!tmp) return -1;
    for (;;) {
        char *crlf = strstr(c->in + at, "\r\n");
        if (!crlf) break;
        char *e;
        unsigned long n = strtoul(c->in + at, &e, 16);
        if (e == c->in + at) {
            free(tmp);
            return -1;
        }
        size_t data = (size_t)(crlf + 2 - c->in);
        if (n == 0) {
            if (data + 2 > c->len) break;
            *end = data + 2;
            int rc = keep_body(c, tmp, out);
            free(tmp);
            return rc;
        }
        if (data + n + 2 > c->len) break;
        memcpy(tmp + out, c->in + data, n);
        out += n;
        at = data + n + 2;
    }
    free(tmp);
    return 1;
}

/* Reads one reply: 0, -1 (the connection broke before any byte: retry),
 * or MX_EIO. */
static int read_reply(httpc *c, int timeout_ms, int *status, mx_err *err) {
    for (;;) {
        char *eoh = c->in ? strstr(c->in, "\r\n\r\n") : NULL;
        if (eoh) {
            size_t head = (size_t)(eoh + 4 - c->in), end = 0;
            *eoh = 0;
            if (sscanf(c->in, "HTTP/1.%*d %d", status) != 1)
                return mx_err_set(err, MX_EIO, "not an HTTP reply");
            const char *cl = header(c->in, "Content-Length");
            const char *te = header(c->in, "Transfer-Encoding");
            const char *conn = header(c->in, "Connection");
            int close_after = conn && strstr(conn, "close") != NULL;
            *eoh = '\r';
            int rc = 1;
            if (cl) {
                size_t n = strtoul(cl, NULL, 10);
                if (head + n <= c->len) {
                    rc = keep_body(c, c->in + head, n);
                    end = head + n;
                }
            } else if (te && strstr(te, "chunked")) {
                rc = dechunk(c, head, &end);
            } else {
                rc = keep_body(c, "", 0);
                end = head;
            }
            if (rc < 0) return mx_err_set(err, MX_EIO, "malformed reply");
            if (rc == 0) {
                memmove(c->in, c->in + end, c->len - end);
                c->len -= end;
                c->in[c->len] = 0;
                if (close_after) drop(c);
                return 0;
            }
        }
        size_t before = c->len;
        int f = fill(c, timeout_ms);
        if (f < 0 || f == 0) {
            int fresh = before == 0;
            drop(c);
            if (f == 0 && fresh) return -1;
            return mx_err_set(err, MX_EIO, "%s:%s: %s", c->host, c->port,
                              f == 0 ? "connection closed mid-reply" : "no reply in time");
        }
    }
}

int httpc_request(httpc *c, const char *method, const char *path, const char *body, int timeout_ms,
                  int *status, const char **reply, mx_err *err) {
    size_t bl = body ? strlen(body) : 0;
    char head[1024];
    int hn = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: %s:%s\r\n%s%s%s%s%sContent-Length: %zu\r\n\r\n",
                      method, path, c->host, c->port, c->api_key ? "X-API-Key: " : "",
                      c->api_key ? c->api_key : "", c->api_key ? "\r\n" : "",
                      body ? "Content-Type: application/json" : "", body ? "\r\n" : "", bl);
    if (hn < 0 || (size_t)hn >= sizeof(head)) return mx_err_set(err, MX_EINVAL, "path too long");
    for (int attempt = 0; attempt < 2; attempt++) {
        int fresh = c->fd < 0;
        if (fresh && connect_to(c, err)) return MX_EIO;
        if (send_all(c, head, (size_t)hn) || (bl && send_all(c, body, bl))) {
            drop(c);
            if (fresh) return mx_err_set(err, MX_EIO, "send to %s:%s failed", c->host, c->port);
            continue; /* the kept connection had been closed */
        }
        int rc = read_reply(c, timeout_ms, status, err);
        if (rc == 0) {
            *reply = c->body;
            return 0;
        }
        if (rc != -1 || fresh) return rc == -1 ? mx_err_set(err, MX_EIO, "no reply") : rc;
    }
    return mx_err_set(err, MX_EIO, "%s:%s closed the connection", c->host, c->port);
}

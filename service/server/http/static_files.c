/* static_files.c - see static_files.h. */
#include "static_files.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SF_ALLOW "GET, HEAD"
/* The page only loads its own files; it may call an API on another
 * origin (?api=), so connect-src stays open. */
#define SF_CSP                                                                                     \
    "default-src 'self'; connect-src *; img-src 'self' data:; object-src 'none'; "                 \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

int sf_is_ui_path(const char *url) {
    return url && strncmp(url, "/ui", 3) == 0 && (url[3] == 0 || url[3] == '/');
}

static const char *content_type(const char *path) {
    static const char *const types[][2] = {
        {"html", "text/html; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"json", "application/json"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"ico", "image/x-icon"},
        {"woff2", "font/woff2"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcmp(dot + 1, types[i][0]) == 0) return types[i][1];
    return "application/octet-stream";
}

/* Segments of [A-Za-z0-9_.-], none empty, none starting with '.' or '-'. */
static int safe_relative(const char *rel) {
    const char *seg = rel;
    if (!*rel || strlen(rel) > 255) return 0;
    for (const char *p = rel;; p++) {
        if (*p == '/' || *p == 0) {
            if (p == seg || *seg == '.' || *seg == '-') return 0;
            if (*p == 0) return 1;
            seg = p + 1;
        } else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-')) {
            return 0;
        }
    }
}

/* dir holds a regular index.html: its canonical path goes to out. */
static int page_dir(const char *dir, char *out, size_t size) {
    char index[PATH_MAX + 16], real[PATH_MAX];
    struct stat st;
    if (snprintf(index, sizeof(index), "%s/index.html", dir) >= (int)sizeof(index)) return -1;
    if (stat(index, &st) != 0 || !S_ISREG(st.st_mode) || !realpath(dir, real)) return -1;
    if (snprintf(out, size, "%s", real) >= (int)size) return -1;
    return 0;
}

int sf_resolve_dir(const char *setting, char *out, size_t size) {
    if (!setting || !setting[0]) return -1;
    if (strcmp(setting, "auto") != 0)
        return snprintf(out, size, "%s", setting) < (int)size ? 0 : -1;
    char exe[PATH_MAX], cand[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        static const char *const rel[] = {"../share/mixrec/ui", "../service/ui"};
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
            snprintf(cand, sizeof(cand), "%s/%s", exe, rel[i]);
            if (page_dir(cand, out, size) == 0) return 0;
        }
    }
#ifdef MIXREC_UI_SOURCE_DIR
    if (page_dir(MIXREC_UI_SOURCE_DIR, out, size) == 0) return 0;
#endif
#ifdef MIXREC_UI_INSTALL_DIR
    if (page_dir(MIXREC_UI_INSTALL_DIR, out, size) == 0) return 0;
#endif
    return -1;
}

static void common_headers(struct MHD_Response *resp, const char *request_id) {
    MHD_add_response_header(resp, "X-Request-Id", request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result queue(struct MHD_Connection *c, struct MHD_Response *resp, int code,
                             int *status) {
    if (!resp) return MHD_NO;
    *status = code;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)code, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* The API's error shape; code and message are constants of this file. */
static enum MHD_Result send_error(struct MHD_Connection *c, int code, const char *err,
                                  const char *msg, const char *request_id, int *status) {
    char body[512];
    int n =
        snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", err, msg);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(resp, "Allow", SF_ALLOW);
    common_headers(resp, request_id);
    return queue(c, resp, code, status);
}

static enum MHD_Result not_found(struct MHD_Connection *c, const char *request_id, int *status) {
    return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such file of the inspector page",
                      request_id, status);
}

/* If-None-Match holds our tag (weak comparison) or "*". */
static int etag_matches(const char *inm, const char *etag) {
    const char *tag = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
    size_t tl = strlen(tag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*') return 1;
        if (strncmp(p, "W/", 2) == 0) p += 2;
        size_t len = strcspn(p, ", \t");
        if (len == tl && strncmp(p, tag, tl) == 0) return 1;
        p += len;
    }
    return 0;
}

enum MHD_Result sf_answer(struct MHD_Connection *c, const char *ui_dir_setting, const char *method,
                          const char *url, const char *request_id, int *status) {
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                          "the inspector page answers GET and HEAD", request_id, status);
    if (strcmp(url, "/ui") == 0) { /* relative, so it survives a path prefix in a proxy */
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, "Location", "ui/");
        common_headers(resp, request_id);
        return queue(c, resp, MHD_HTTP_MOVED_PERMANENTLY, status);
    }
    char root[PATH_MAX], path[PATH_MAX + 300], real[PATH_MAX];
    if (sf_resolve_dir(ui_dir_setting, root, sizeof(root)) != 0 || !realpath(root, real))
        return send_error(c, MHD_HTTP_NOT_FOUND, "not_found",
                          "the inspector page is off or its files are missing (server.ui_dir)",
                          request_id, status);
    snprintf(root, sizeof(root), "%s", real);
    const char *rel = url[4] ? url + 4 : "index.html";
    if (!safe_relative(rel)) return not_found(c, request_id, status);
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    size_t rl = strlen(root);
    if (!realpath(path, real) || strncmp(real, root, rl) != 0 || real[rl] != '/')
        return not_found(c, request_id, status);
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return not_found(c, request_id, status);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return not_found(c, request_id, status);
    }
    char etag[64];
    snprintf(etag, sizeof(etag), "W/\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec);
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    struct MHD_Response *resp;
    int code = MHD_HTTP_OK;
    if (inm && etag_matches(inm, etag)) {
        close(fd);
        resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        code = MHD_HTTP_NOT_MODIFIED;
    } else {
        resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd); /* closes fd */
        if (!resp) close(fd);
    }
    if (!resp) return MHD_NO;
    const char *type = content_type(real);
    if (code == MHD_HTTP_OK) MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "ETag", etag);
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    if (strncmp(type, "text/html", 9) == 0)
        MHD_add_response_header(resp, "Content-Security-Policy", SF_CSP);
    common_headers(resp, request_id);
    return queue(c, resp, code, status);
}

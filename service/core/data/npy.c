/* npy.c - parses .npy header dicts. See npy.h. */
#include "npy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The header is a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * We accept any key order, either quote style, extra whitespace, extra keys
 * and Python 2 long suffixes ("3L"), as np.save has written all of these. */
typedef struct npy_cur {
    const char *p, *end, *start;
} npy_cur;

static void cur_ws(npy_cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int cur_take(npy_cur *c, char ch) {
    cur_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int cur_peek(npy_cur *c, char ch) {
    cur_ws(c);
    return c->p < c->end && *c->p == ch;
}

/* A quoted string without escapes (NumPy never writes any in a header).
 * Returns 0 when it is not a string or longer than cap - 1. */
static int cur_string(npy_cur *c, char *buf, size_t cap) {
    cur_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= cap) return 0;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    buf[n] = '\0';
    return 1;
}

/* A bare word: True, False, None, or a number (with an optional 'L'). */
static int cur_word(npy_cur *c, char *buf, size_t cap) {
    cur_ws(c);
    size_t n = 0;
    while (c->p < c->end && (isalnum((unsigned char)*c->p) || *c->p == '_' || *c->p == '.' ||
                             *c->p == '-' || *c->p == '+')) {
        if (n + 1 >= cap) return 0;
        buf[n++] = *c->p++;
    }
    buf[n] = '\0';
    return n > 0;
}

static int parse_dim(const char *w, uint64_t *out) {
    size_t n = strlen(w);
    if (n > 0 && (w[n - 1] == 'L' || w[n - 1] == 'l')) n--;
    if (n == 0 || n > 19) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] < '0' || w[i] > '9') return 0;
        v = v * 10 + (uint64_t)(w[i] - '0');
    }
    *out = v;
    return 1;
}

/* '(' [dim (',' dim)* [',']] ')' */
static int cur_shape(npy_cur *c, npy_header *h) {
    if (!cur_take(c, '(')) return 0;
    h->ndim = 0;
    if (cur_take(c, ')')) return 1;
    for (;;) {
        char w[32];
        if (h->ndim == NPY_MAX_NDIM) return 0;
        if (!cur_word(c, w, sizeof(w)) || !parse_dim(w, &h->shape[h->ndim])) return 0;
        h->ndim++;
        if (cur_take(c, ')')) return 1;
        if (!cur_take(c, ',')) return 0;
        if (cur_take(c, ')')) return 1;
    }
}

/* Skips a value of a key we do not use; containers nest a few levels. */
static int cur_skip(npy_cur *c, int depth) {
    char buf[256];
    if (depth > 8) return 0;
    cur_ws(c);
    if (c->p >= c->end) return 0;
    char open = *c->p, close = open == '(' ? ')' : open == '[' ? ']' : open == '{' ? '}' : 0;
    if (!close) {
        if (open == '\'' || open == '"') return cur_string(c, buf, sizeof(buf));
        return cur_word(c, buf, sizeof(buf));
    }
    c->p++;
    for (;;) {
        if (cur_take(c, close)) return 1;
        if (!cur_skip(c, depth + 1)) return 0;
        if (close == '}' && (!cur_take(c, ':') || !cur_skip(c, depth + 1))) return 0;
        if (cur_take(c, close)) return 1;
        if (!cur_take(c, ',')) return 0;
    }
}

static int npy_header_error(const npy_cur *c, const char *path, const char *what, mx_err *err) {
    /* Show the header itself (printable part, bounded) so the user can see
     * what the writer produced. */
    char shown[120];
    size_t n = 0;
    for (const char *s = c->start; s < c->end && n + 1 < sizeof(shown); s++)
        shown[n++] = (*s >= 32 && *s < 127) ? *s : ' ';
    while (n > 0 && shown[n - 1] == ' ')
        n--;
    shown[n] = '\0';
    return mx_err_set(err, MX_EFORMAT, "%s: malformed .npy header (%s at offset %zu): %s", path,
                      what, (size_t)(c->p - c->start), shown);
}

int npy_parse_header(const char *text, size_t len, const char *path, npy_header *h, mx_err *err) {
    npy_cur c = {text, text + len, text};
    memset(h, 0, sizeof(*h));
    if (!cur_take(&c, '{')) return npy_header_error(&c, path, "expected '{'", err);
    while (!cur_take(&c, '}')) {
        char key[64];
        if (!cur_string(&c, key, sizeof(key)))
            return npy_header_error(&c, path, "expected a quoted key", err);
        if (!cur_take(&c, ':')) return npy_header_error(&c, path, "expected ':'", err);
        if (strcmp(key, "descr") == 0) {
            if (cur_peek(&c, '[') || cur_peek(&c, '('))
                return mx_err_set(err, MX_EFORMAT,
                                  "%s: structured dtype not supported (need '<f4' or '<f8')", path);
            if (!cur_string(&c, h->descr, sizeof(h->descr)))
                return npy_header_error(&c, path, "bad 'descr' value", err);
            h->has_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            char w[16];
            if (!cur_word(&c, w, sizeof(w)) || (strcmp(w, "True") && strcmp(w, "False")))
                return npy_header_error(&c, path, "'fortran_order' is not True/False", err);
            h->fortran = strcmp(w, "True") == 0;
            h->has_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!cur_shape(&c, h)) return npy_header_error(&c, path, "bad 'shape' tuple", err);
            h->has_shape = 1;
        } else if (!cur_skip(&c, 0)) {
            return npy_header_error(&c, path, "bad value", err);
        }
        if (cur_take(&c, '}')) break;
        if (!cur_take(&c, ',')) return npy_header_error(&c, path, "expected ',' or '}'", err);
    }
    if (!h->has_descr || !h->has_order || !h->has_shape)
        return mx_err_set(err, MX_EFORMAT, "%s: .npy header lacks '%s'", path,
                          !h->has_descr   ? "descr"
                          : !h->has_order ? "fortran_order"
                                          : "shape");
    return 0;
}

void npy_shape_str(const npy_header *h, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (size_t i = 0; i < h->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%llu", i ? ", " : "",
                              (unsigned long long)h->shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, h->ndim == 1 ? ",)" : ")");
}

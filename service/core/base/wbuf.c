/* wbuf.c - the buffered text writer. See wbuf.h. */
#include "wbuf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WBUF_CAP (4u << 20)

static void wbuf_flush(wbuf *b) {
    if (b->len && !b->failed && fwrite(b->buf, 1, b->len, b->f) != b->len) b->failed = 1;
    b->len = 0;
}

/* Makes room for n more bytes (n < WBUF_CAP). */
char *wbuf_room(wbuf *b, size_t n) {
    if (b->len + n > b->cap) wbuf_flush(b);
    return b->buf + b->len;
}

void wbuf_str(wbuf *b, const char *s) {
    size_t n = strlen(s);
    memcpy(wbuf_room(b, n), s, n);
    b->len += n;
}

size_t wbuf_fmt_u64(char *dst, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

void wbuf_u64(wbuf *b, uint64_t v) {
    b->len += wbuf_fmt_u64(wbuf_room(b, 20), v);
}

void wbuf_i64(wbuf *b, int64_t v) {
    char *p = wbuf_room(b, 21);
    size_t n = 0;
    if (v < 0) p[n++] = '-';
    n += wbuf_fmt_u64(p + n, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    b->len += n;
}

/* Integral values (the common case, weight 1) as integers; others with
 * enough digits to read back the same float. */
void wbuf_float(wbuf *b, float v) {
    if (v == floorf(v) && fabsf(v) < 1e15f) {
        wbuf_i64(b, (int64_t)v);
    } else {
        char *p = wbuf_room(b, 32);
        b->len += (size_t)snprintf(p, 32, "%.9g", (double)v);
    }
}

void wbuf_char(wbuf *b, char c) {
    *wbuf_room(b, 1) = c;
    b->len++;
}

int wbuf_open(wbuf *b, const char *path, mx_err *err) {
    memset(b, 0, sizeof(*b));
    b->buf = malloc(WBUF_CAP);
    if (!b->buf) return mx_err_set(err, MX_ENOMEM, "%s: cannot allocate a write buffer", path);
    b->cap = WBUF_CAP;
    b->f = fopen(path, "wb");
    if (!b->f) {
        int e = errno;
        free(b->buf);
        b->buf = NULL;
        return mx_err_set(err, MX_EIO, "%s: cannot create: %s", path, strerror(e));
    }
    return 0;
}

int wbuf_close(wbuf *b, const char *path, mx_err *err) {
    wbuf_flush(b);
    int e = errno;
    if (fclose(b->f) != 0 && !b->failed) {
        b->failed = 1;
        e = errno;
    }
    free(b->buf);
    if (b->failed) return mx_err_set(err, MX_EIO, "%s: write failed: %s", path, strerror(e));
    return 0;
}

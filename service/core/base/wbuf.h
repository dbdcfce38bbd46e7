/* wbuf.h - a buffered text writer for large files: a 4 MiB buffer and
 * hand-rolled integer formatting (for logs of millions of lines fprintf is
 * the bottleneck). Used by the synthetic data writer (synth.c). A wbuf
 * belongs to one thread. */
#ifndef WBUF_WBUF_H
#define WBUF_WBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mx_err.h"

typedef struct wbuf {
    FILE *f;
    char *buf;
    size_t len, cap;
    int failed;
} wbuf;

/* Creates path for writing. Errors: MX_ENOMEM, MX_EIO naming path. */
int wbuf_open(wbuf *b, const char *path, mx_err *err);

/* Flushes, closes and frees b; a failed write anywhere before is reported
 * here (MX_EIO naming path). */
int wbuf_close(wbuf *b, const char *path, mx_err *err);

/* Room for n more bytes (n < 4 MiB) at buf + len; the caller adds what it
 * wrote to len. */
char *wbuf_room(wbuf *b, size_t n);

/* v in decimal into dst (20 bytes suffice); returns the digit count. */
size_t wbuf_fmt_u64(char *dst, uint64_t v);

void wbuf_str(wbuf *b, const char *s);
void wbuf_char(wbuf *b, char c);
void wbuf_u64(wbuf *b, uint64_t v);
void wbuf_i64(wbuf *b, int64_t v);

/* Integral values as integers; others with enough digits (%.9g) to read
 * back the same float. */
void wbuf_float(wbuf *b, float v);

#endif

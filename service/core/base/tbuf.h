/* tbuf.h - a growing text buffer: the one copy of "append formatted text,
 * remember running out of memory, hand the text over at the end" (the
 * Prometheus exposition, its merge across tenants, the rate limiter's
 * counters).
 *
 * Threading: a tbuf belongs to one thread. */
#ifndef TBUF_TBUF_H
#define TBUF_TBUF_H

#include <stddef.h>

/* Zero-initialise ({0}); after an allocation failure every append is a
 * no-op and oom stays set. */
typedef struct tbuf {
    char *p; /* NUL-terminated once anything was appended */
    size_t len, cap;
    int oom;
} tbuf;

void tbuf_printf(tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* n bytes of s. */
void tbuf_put(tbuf *b, const char *s, size_t n);
/* The text (malloc'ed, "" when nothing was appended; the caller frees),
 * or NULL after an allocation failure (the buffer is freed either way). */
char *tbuf_take(tbuf *b);

#endif

/* tsparse.h - the timestamps an exported log may hold, as unix seconds:
 * unix seconds (a fraction is truncated), unix milliseconds (any number
 * above 1e11: as seconds that would be after the year 5000, so no log
 * means it) and ISO 8601 dates and times (2021-11-04T10:00:00Z, with an
 * offset +02:00 / +0200 / +02 or " UTC", fractional seconds, a space for
 * the T, or a date alone, 2021-11-04, meaning its midnight; without Z or an
 * offset the time is read as UTC). Every result must lie in 1970 .. 3000: later
 * is a unit mistake, earlier is not a log of a service. Stateless. */
#ifndef TSPARSE_TSPARSE_H
#define TSPARSE_TSPARSE_H

#include <stdint.h>

#define TSPARSE_MAX INT64_C(32503680000) /* 3000-01-01T00:00:00Z */

typedef enum { TSPARSE_SECONDS, TSPARSE_MILLIS, TSPARSE_ISO8601, TSPARSE_N_KINDS } tsparse_kind;

enum {
    TSPARSE_EBAD = -1,  /* not a timestamp in any of the forms */
    TSPARSE_ERANGE = -2 /* a timestamp, but before 1970 or after 3000 */
};

/* Parses the NUL-terminated s (no surrounding spaces) into unix seconds.
 * Returns 0 with *out and *kind set, or TSPARSE_EBAD / TSPARSE_ERANGE. */
int tsparse(const char *s, int64_t *out, tsparse_kind *kind);

/* "unix seconds", "milliseconds", "ISO 8601". */
const char *tsparse_kind_name(tsparse_kind k);

#endif

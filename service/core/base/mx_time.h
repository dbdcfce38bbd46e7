/* mx_time.h - timestamps as clients and exports write them: unix seconds,
 * unix milliseconds (JavaScript's Date.now()) and ISO 8601 text. One rule
 * for every input of mixrec (events posted to the service, files read by
 * the builder): a number above MX_TIME_MS_ABOVE is milliseconds, since
 * 1e11 seconds is the year 5138 while 1e11 ms is March 1973.
 * Stateless; thread-safe. */
#ifndef MX_TIME_MX_TIME_H
#define MX_TIME_MX_TIME_H

#include <stdint.h>

#define MX_TIME_MS_ABOVE 1e11

/* What each parser accepts, for error messages. */
#define MX_TIME_EXPECTED "unix seconds, unix milliseconds or ISO 8601 (e.g. 2026-12-04T10:00:00Z)"

/* Unix seconds of a number of seconds or milliseconds (see above). 0, or
 * -1 when x is negative or not finite. */
int mx_time_from_number(double x, int64_t *out);

/* Unix seconds of an ISO 8601 date or date-time: "2026-12-04",
 * "2026-12-04T10:00", "2026-12-04T10:00:00.123Z", "... +02:00" ("+0200",
 * "+02"); a space may stand for the 'T'; without a zone it is UTC.
 * Fractions of a second are dropped. 0, or -1 when s is not one. */
int mx_time_parse_iso(const char *s, int64_t *out);

/* Either form from text: digits (optionally with a fraction) are a
 * number, anything else ISO 8601. 0, or -1. */
int mx_time_parse(const char *s, int64_t *out);

#endif

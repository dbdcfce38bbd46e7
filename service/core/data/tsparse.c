/* tsparse.c - see tsparse.h. Dates become days with Howard Hinnant's
 * days_from_civil, so no timegm (not C11) and no time zone database. */
#include "tsparse.h"

#include <string.h>

#define MS_ABOVE INT64_C(100000000000) /* 1e11: larger numbers are milliseconds */

/* Reads exactly n digits at *p; -1 if they are not all digits. */
static int digits(const char **p, int n) {
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9') return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return n[m - 1] + (m == 2 && leap);
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z| UTC| GMT|(+|-)HH[[:]MM]] */
static int parse_iso(const char *p, int64_t *out) {
    int y = digits(&p, 4), mo, d, h = 0, mi = 0, sec = 0;
    if (y < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 1 || mo > 12 || *p++ != '-' ||
        (d = digits(&p, 2)) < 1 || d > days_in_month(y, mo))
        return TSPARSE_EBAD;
    if (*p == 'T' || *p == 't' || (*p == ' ' && p[1])) {
        p++;
        if ((h = digits(&p, 2)) < 0 || h > 23 || *p++ != ':' || (mi = digits(&p, 2)) < 0 || mi > 59)
            return TSPARSE_EBAD;
        if (*p == ':') {
            p++;
            if ((sec = digits(&p, 2)) < 0 || sec > 60) return TSPARSE_EBAD; /* 60: a leap second */
            if (*p == '.' || *p == ',') {
                if (p[1] < '0' || p[1] > '9') return TSPARSE_EBAD;
                for (p++; *p >= '0' && *p <= '9'; p++) {
                }
            }
        }
    }
    int off = 0; /* seconds east of UTC */
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (!strcmp(p, " UTC") || !strcmp(p, " GMT")) { /* "2019-10-01 00:00:00 UTC" */
        p += 4;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh = digits(&p, 2), om = 0;
        if (oh < 0 || oh > 23) return TSPARSE_EBAD;
        if (*p == ':') p++;
        if (*p && ((om = digits(&p, 2)) < 0 || om > 59)) return TSPARSE_EBAD;
        off = sign * (oh * 3600 + om * 60);
    }
    if (*p) return TSPARSE_EBAD;
    int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= off;
    if (t < 0 || t > TSPARSE_MAX) return TSPARSE_ERANGE;
    *out = t;
    return 0;
}

int tsparse(const char *s, int64_t *out, tsparse_kind *kind) {
    const char *p = s;
    if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
        p[3] >= '0' && p[3] <= '9' && p[4] == '-') {
        *kind = TSPARSE_ISO8601;
        return parse_iso(p, out);
    }
    int neg = *p == '-', big = 0;
    if (*p == '-' || *p == '+') p++;
    if (*p < '0' || *p > '9') return TSPARSE_EBAD;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > TSPARSE_MAX * 1000)
            big = 1; /* stop growing long before overflow */
        else
            v = v * 10 + (*p - '0');
    }
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++) {
        }
    if (*p) return TSPARSE_EBAD;
    if (big || (neg && v)) return TSPARSE_ERANGE;
    *kind = v > MS_ABOVE ? TSPARSE_MILLIS : TSPARSE_SECONDS;
    if (*kind == TSPARSE_MILLIS) v /= 1000;
    if (v > TSPARSE_MAX) return TSPARSE_ERANGE;
    *out = v;
    return 0;
}

const char *tsparse_kind_name(tsparse_kind k) {
    switch (k) {
    case TSPARSE_MILLIS:
        return "milliseconds";
    case TSPARSE_ISO8601:
        return "ISO 8601";
    default:
        return "unix seconds";
    }
}

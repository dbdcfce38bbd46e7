/* mx_time.c - see mx_time.h. */
#include "mx_time.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>

int mx_time_from_number(double x, int64_t *out) {
    if (!isfinite(x) || x < 0) return -1;
    if (x > MX_TIME_MS_ABOVE) x /= 1000.0;
    if (x > 9e15) return -1;
    *out = (int64_t)x;
    return 0;
}

/* n digits at *p into *v; advances *p. 0, or -1. */
static int digits(const char **p, int n, int *v) {
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* "Z", "+02:00", "+0200", "+02" or nothing, into seconds east of UTC. */
static int zone(const char *p, int *offset) {
    *offset = 0;
    if (*p == 0 || ((*p == 'Z' || *p == 'z') && p[1] == 0)) return 0;
    if (*p != '+' && *p != '-') return -1;
    int sign = *p++ == '-' ? -1 : 1, hh, mm = 0;
    if (digits(&p, 2, &hh)) return -1;
    if (*p == ':') p++;
    if (*p && digits(&p, 2, &mm)) return -1;
    if (*p || hh > 23 || mm > 59) return -1;
    *offset = sign * (hh * 3600 + mm * 60);
    return 0;
}

int mx_time_parse_iso(const char *s, int64_t *out) {
    const char *p = s;
    int y, mo, d, hh = 0, mi = 0, ss = 0, offset = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return -1;
    if (*p == 'T' || *p == 't' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
        p++;
        if (digits(&p, 2, &hh) || *p++ != ':' || digits(&p, 2, &mi)) return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &ss)) return -1;
            if (*p == '.' || *p == ',') {
                p++;
                if (!isdigit((unsigned char)*p)) return -1;
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
        if (hh > 23 || mi > 59 || ss > 60) return -1; /* 60: a leap second */
        if (zone(p, &offset)) return -1;
    } else if (*p) {
        return -1;
    }
    int64_t t = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - offset;
    if (t < 0) return -1;
    *out = t;
    return 0;
}

int mx_time_parse(const char *s, int64_t *out) {
    if (!s || !*s) return -1;
    const char *p = s;
    while (isdigit((unsigned char)*p))
        p++;
    if (p > s && (*p == 0 || (*p == '.' && p[1]))) { /* a number */
        char *end;
        double x = strtod(s, &end);
        if (*end) return -1;
        return mx_time_from_number(x, out);
    }
    return mx_time_parse_iso(s, out);
}

/* numfmt.c - see numfmt.h. */
#include "numfmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __SIZEOF_INT128__
typedef unsigned __int128 u128;

/* round(m * 2^e * 10^p), half to even, exactly; |p| <= 29 and |e| <= 100
 * (numfmt_float9's range keeps both products under 2^128). */
static uint64_t scaled(uint32_t m, int e, int p) {
    u128 num = m, den = 1, ten = 10;
    for (int i = 0; i < (p > 0 ? p : -p); i++)
        if (p > 0)
            num *= ten;
        else
            den *= ten;
    uint64_t q;
    u128 r, half;
    if (e < 0 && den == 1) { /* the common case: a shift, no division */
        int s = -e;
        q = (uint64_t)(num >> s);
        r = num & (((u128)1 << s) - 1);
        half = (u128)1 << (s - 1);
        if (r > half || (r == half && (q & 1))) q++;
        return q;
    }
    if (e > 0) num <<= e;
    if (e < 0) den <<= -e;
    q = (uint64_t)(num / den);
    r = num % den;
    if (2 * r > den || (2 * r == den && (q & 1))) q++;
    return q;
}

size_t numfmt_float9(char *out, float v) {
    float a = fabsf(v);
    if (!(a >= 1e-20f && a <= 1e20f)) /* zero, tiny, huge, NaN: printf's own */
        return (size_t)snprintf(out, NUMFMT_FLOAT9_MAX, "%.9g", (double)v);
    uint32_t bits;
    memcpy(&bits, &a, sizeof(bits));
    uint32_t m = (bits & 0x7fffffu) | 0x800000u; /* normal: 1e-20 is */
    int e = (int)(bits >> 23) - 150;
    /* the decimal exponent X of %g: nine digits in [1e8, 1e9) after rounding */
    int x = (int)floor(log10((double)a));
    uint64_t d;
    for (;;) {
        d = scaled(m, e, 8 - x);
        if (d >= 1000000000u)
            x++;
        else if (d < 100000000u)
            x--;
        else
            break;
    }
    char dig[9];
    for (int i = 8; i >= 0; i--, d /= 10)
        dig[i] = (char)('0' + d % 10);
    int nd = 9; /* significant digits left once trailing zeros go */
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    char *p = out;
    if (v < 0) *p++ = '-';
    if (x < -4 || x >= 9) {
        *p++ = dig[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, dig + 1, (size_t)nd - 1);
            p += nd - 1;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        *p++ = (char)('0' + ax / 10); /* |x| <= 20 here: two digits */
        *p++ = (char)('0' + ax % 10);
    } else if (x >= 0) {
        memcpy(p, dig, (size_t)x + 1);
        p += x + 1;
        if (nd > x + 1) {
            *p++ = '.';
            memcpy(p, dig + x + 1, (size_t)(nd - x - 1));
            p += nd - x - 1;
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -x - 1; i++)
            *p++ = '0';
        memcpy(p, dig, (size_t)nd);
        p += nd;
    }
    *p = 0;
    return (size_t)(p - out);
}
#else
size_t numfmt_float9(char *out, float v) {
    return (size_t)snprintf(out, NUMFMT_FLOAT9_MAX, "%.9g", (double)v);
}
#endif

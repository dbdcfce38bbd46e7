/* test_numfmt.c - numfmt_float9 writes exactly what snprintf's "%.9g"
 * writes: for every float of a stride through all 2^32 bit patterns
 * (each exponent, both signs, NaN and infinities, zeros, subnormals), for
 * random floats, for the values around each power of ten (where the
 * rounding carries into the exponent and where %g switches between fixed
 * and scientific notation) and for scores as the ranker produces them. */
#include "numfmt.h"
#include "rng.h"
#include "tap.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

static size_t checked;

static void check(float v) {
    char want[64], got[NUMFMT_FLOAT9_MAX + 8];
    memset(got, 'x', sizeof(got));
    int n = snprintf(want, sizeof(want), "%.9g", (double)v);
    size_t len = numfmt_float9(got, v);
    if ((size_t)n != len || strcmp(want, got) != 0)
        FAIL("float %a: numfmt_float9 wrote \"%s\" (%zu), printf \"%s\" (%d)", (double)v, got, len,
             want, n);
    ASSERT(len < NUMFMT_FLOAT9_MAX);
    checked++;
}

static float from_bits(uint32_t b) {
    float v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

static void test_bit_patterns(void) {
    /* an odd stride visits every exponent and low mantissa bits */
    for (uint64_t b = 0; b <= UINT32_MAX; b += 4099)
        check(from_bits((uint32_t)b));
    check(0.0f);
    check(-0.0f);
    check(INFINITY);
    check(-INFINITY);
    check(NAN);
    check(FLT_MIN);
    check(FLT_MAX);
    check(FLT_TRUE_MIN);
    printf("ok - numfmt_float9: %zu bit patterns as printf's %%.9g\n", checked);
}

static void test_powers_of_ten(void) {
    size_t before = checked;
    for (int x = -25; x <= 25; x++) {
        float p = powf(10.0f, (float)x);
        uint32_t b;
        memcpy(&b, &p, sizeof(b));
        /* the floats nearest 10^x and 9.99999999..e(x-1): carries */
        for (int d = -300; d <= 300; d++) {
            check(from_bits(b + (uint32_t)d));
            check(-from_bits(b + (uint32_t)d));
        }
    }
    printf("ok - numfmt_float9: %zu floats around each power of ten (rounding carries, %%g's "
           "switch to scientific)\n",
           checked - before);
}

static void test_random(void) {
    rng_state st;
    rng_seed(&st, 11);
    size_t before = checked;
    for (int i = 0; i < 300000; i++) {
        check(from_bits((uint32_t)rng_next(&st)));
        /* scores and propensities: margins of a few units, probabilities */
        check((float)((rng_uniform(&st) - 0.5) * 20.0));
        check((float)rng_uniform(&st));
    }
    printf("ok - numfmt_float9: %zu random floats, margins and probabilities\n", checked - before);
}

int main(void) {
    test_bit_patterns();
    test_powers_of_ten();
    test_random();
    return 0;
}

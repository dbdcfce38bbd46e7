/* numfmt.h - a float written as printf's "%.9g" writes it, without printf.
 *
 * Nine significant digits are enough for any float to read back as the
 * same float; every answer and every logged impression writes a few dozen
 * scores. glibc's printf goes through its multi-precision path for each
 * (about a tenth of a ranked request's CPU under load, by perf). Here the
 * nine digits come from one exact integer product or quotient (128-bit),
 * rounded half to even on the exact binary value as glibc rounds, then
 * laid out by %g's rules: fixed notation for exponents -4..8, else
 * d.dddddddde+XX, trailing zeros removed. Values outside 1e-30..1e30,
 * zero, subnormal and non-finite ones go to snprintf itself, so the text
 * is printf's for every float (tests/test_numfmt.c compares them).
 *
 * Pure functions: safe from any thread. */
#ifndef NUMFMT_H
#define NUMFMT_H

#include <stddef.h>

/* Room numfmt_float9 needs, with the terminating NUL. */
#define NUMFMT_FLOAT9_MAX 32

/* Writes v as snprintf(out, NUMFMT_FLOAT9_MAX, "%.9g", (double)v) would;
 * returns the length written (out is NUL-terminated). */
size_t numfmt_float9(char *out, float v);

#endif

/* ann_scan.h - inner products of one query with a block of contiguous
 * vectors: the kernel of the index's own list scans (ann.c).
 *
 * Two paths compute the same products: an AVX2+FMA one (8 vectors at a
 * time, for dimensions that are a multiple of 8) and a portable one (plain
 * C in eight lanes, vectorised by the compiler for the baseline target).
 * The first call picks AVX2 when the CPU has it; ann_scan_use forces a path
 * (tests and `mixrec bench` compare them). Results agree with each other
 * and with FAISS's inner products up to float rounding (sums in another
 * order), not bit for bit.
 *
 * Thread safety: ann_scan_dots is reentrant. ann_scan_use changes a
 * process-wide choice (an atomic): call it before serving threads start. */
#ifndef ANN_SCAN_H
#define ANN_SCAN_H

#include <stddef.h>
#include <stdint.h>

enum { ANN_SCAN_AUTO = 0, ANN_SCAN_PORTABLE = 1, ANN_SCAN_AVX2 = 2 };

/* out[i] = q . vecs[i * dim ..] for i < n. */
void ann_scan_dots(const float *q, const float *vecs, size_t n, size_t dim, float *out);

/* The positions i < n with v[i] > floor, ascending, into idx (capacity
 * n); returns their count. Most scores of a list fall below the floor of
 * its top k: compared 8 at a time, only the rest are looked at one by one. */
size_t ann_scan_above(const float *v, size_t n, float floor, uint32_t *idx);

/* out[j] = what ann_scan_dots gives row pos[j] of vecs, bit for bit (a
 * row's product never depends on the rows scanned with it), for j < m:
 * the exact re-scoring of rows an approximate scan chose. */
void ann_scan_dots_at(const float *q, const float *vecs, size_t dim, const uint32_t *pos, size_t m,
                      float *out);

/* The approximate copy (ann_approx.h): whether ann_scan_dots_i8 may be
 * called for dim (the AVX2 path in use, dim a multiple of 16 up to
 * ANN_SCAN_I8_MAX_DIM, where the 32-bit sums cannot overflow). */
#define ANN_SCAN_I8_MAX_DIM 512
int ann_scan_i8_ok(size_t dim);
/* Approximate products of a query in 16-bit steps (|q_d| <= 32767) with
 * rows of 8-bit ones (|v_d| <= 127), each row with its scale: out[i] =
 * (float)(q . vecs[i * dim ..]) * scale[i] * qscale, the sum exact. */
void ann_scan_dots_i8(const int16_t *q, float qscale, const int8_t *vecs, const float *scale,
                      size_t n, size_t dim, float *out);

/* Forces a path (ANN_SCAN_*); AVX2 on a CPU without it falls back to the
 * portable path. Returns the path now in use (never ANN_SCAN_AUTO). */
int ann_scan_use(int path);

/* The path in use for dim ("avx2" or "portable"). */
const char *ann_scan_path_name(size_t dim);

#endif

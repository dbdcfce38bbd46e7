/* vecio.h - float32 matrices in .fvecs and .npy files, and id lists.
 *
 * Used to bring your own item embeddings (mixrec build --item-vectors) and
 * by synth to write the planted vectors. Stateless; thread-safe. */
#ifndef VEC_VECIO_H
#define VEC_VECIO_H

#include <stddef.h>

#include "mx_err.h"

/* Reads a row-major float32 matrix. The format follows the extension:
 * .fvecs: every row is an int32 dimension then that many float32 (all rows
 *         must have the same dimension);
 * .npy:   NumPy format v1/v2/v3, 2-D, C order, dtype '<f4' or '<f8'
 *         (converted to float32).
 * Truncated files, inconsistent dimensions, wrong dtype/order/rank, NaN or
 * Inf values are MX_EFORMAT errors naming the file (and row). On success
 * *out is malloc'ed and owned by the caller (free). */
int vec_read(const char *path, float **out, size_t *rows, size_t *dim, mx_err *err);

/* Writes x (rows x dim) as .fvecs or .npy (by extension). */
int vec_write(const char *path, const float *x, size_t rows, size_t dim, mx_err *err);

/* Reads a text file with one id per line (trailing '\r' and blank lines at
 * the end ignored). *ids is a malloc'ed array of malloc'ed strings, owned by
 * the caller (vec_free_ids). An empty id in the middle is an error. */
int vec_read_ids(const char *path, char ***ids, size_t *n, mx_err *err);
void vec_free_ids(char **ids, size_t n);

#endif

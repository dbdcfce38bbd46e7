/* foldin.h - one ALS row solve: how training computes every user's and
 * item's row (build/embed.c) and how serving folds a user in from the
 * items of a session or an anonymous visitor (recommend.c), one copy.
 * Stateless and thread-safe on distinct outputs. */
#ifndef FOLD_FOLDIN_H
#define FOLD_FOLDIN_H

#include <stddef.h>
#include <stdint.h>

/* Settings of the ALS (embed.h); a fold-in uses the model's own. */
typedef struct emb_params emb_params;

/* Gram matrix out = Y^T Y + reg I (dim x dim, row-major), deterministic. */
void fold_gram(const float *y, size_t n, size_t dim, float reg, float *out);

/* Solves one row: x = argmin over the given (other-side) rows with
 * confidences conf, starting from x (zero it for a cold start). gram is
 * fold_gram(other side, reg). Used by training and to fold in a user from
 * a list of items (sessions, anonymous visitors, brought item vectors).
 * scratch must hold 3 * dim floats. */
void fold_solve_row(const float *other, size_t dim, const float *gram, const uint32_t *cols,
                    const float *conf, size_t n, size_t cg_steps, float *x, float *scratch);

/* Confidence of one event under p (1 + alpha * w). */
float fold_confidence(const emb_params *p, float value, int64_t ts);

#endif

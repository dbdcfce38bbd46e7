/* embed.h - item and user embeddings from implicit feedback.
 *
 * Method: implicit-feedback ALS (Hu, Koren & Volinsky, "Collaborative
 * Filtering for Implicit Feedback Datasets", ICDM 2008), each least-squares
 * step solved approximately with a few conjugate-gradient iterations warm
 * started from the previous factors (Takacs, Pilaszy & Tikk, RecSys 2011).
 * Every observed (user, item) has preference 1 and confidence
 * c = 1 + alpha * w, with w = 1 (binary) or the event value, optionally
 * decayed with the event's age (half_life); unobserved
 * pairs have preference 0 and confidence 1. Loss:
 *   sum_ui c_ui (p_ui - x_u.y_i)^2 + reg (|x_u|^2 + |y_i|^2).
 * Rows are solved in parallel with OpenMP; each row depends only on the
 * other side's factors, and Gram matrices are summed in a fixed order, so
 * results are identical for a seed whatever the thread count.
 * All functions are stateless and thread-safe on distinct outputs. */
#ifndef EMB_EMBED_H
#define EMB_EMBED_H

#include <stddef.h>
#include <string.h>
#include <stdint.h>

#include "dataset.h"
#include "foldin.h"
#include "mx_err.h"

typedef struct emb_params {
    size_t dim;        /* embedding dimension, default 32 */
    float reg;         /* L2 regularisation, default 0.05 * (1 + alpha) */
    float alpha;       /* confidence slope, default 10 */
    size_t iters;      /* ALS sweeps (users then items), default 15 */
    size_t cg_steps;   /* CG iterations per row and sweep, default 3 */
    int use_value;     /* 1: w = event value (rating/weight), 0: w = 1 */
    float value_scale; /* w = value / value_scale when use_value, default 1 */
    uint64_t seed;     /* initialisation seed, default 42 */
    double half_life;  /* seconds; > 0: w *= 2^(-(t_ref - ts) / half_life), so
                          recent engagements weigh more (default 0 = off) */
    int64_t t_ref;     /* reference time for half_life (set by the pipeline) */
} emb_params;

void emb_params_init(emb_params *p); /* the defaults: bconfig.c's rows */

/* Trains both sides. by_user rows are users (n_users rows), by_item rows
 * are items (n_items rows); both built from the same events. user_f
 * (n_users x dim) and item_f (n_items x dim) are caller-allocated outputs.
 * Rows without events end up zero. */
int emb_train_als(const ds_csr *by_user, const ds_csr *by_item, const emb_params *p, float *user_f,
                  float *item_f, mx_err *err);

/* Folds in every user of by_user against fixed item factors item_f (for
 * item vectors the user brought): user_f (n_users x dim) is overwritten. */
int emb_fold_in_users(const ds_csr *by_user, const float *item_f, size_t n_items,
                      const emb_params *p, float *user_f, mx_err *err);
#endif

/* ranker.h - a compact evaluator of an XGBoost tree ensemble.
 *
 * XGBoost trains the ranker (ranker_xgb.h); serving evaluates its saved
 * JSON model here, without XGBoost's predictor on the request path. The
 * trees are flattened, at load, into complete binary trees of their own
 * depth (a leaf above the bottom is replicated below itself, its split
 * never taken), stored as three flat arrays per tree: thresholds and
 * feature indices in breadth-first order and the 2^depth leaf values.
 * A row then walks depth levels without a branch:
 *     node = 2 * node + 1 + !(x[feature[node]] < threshold[node])
 * Rows are copied in blocks of up to 128, transposed in groups of 8 (feature f
 * of lane k at 8 f + k), and a block goes through one tree before the
 * next tree is touched: the block stays in L1, each tree is read once per
 * block (the layout idea of Treelite/FIL), and the 8 lanes of a group
 * walk together - independent chains of loads from one base register. Trees deeper than
 * RK_MAX_COMPLETE_DEPTH keep XGBoost's node arrays and are walked.
 *
 * The sum runs in float, base score first, trees in order - XGBoost's own
 * order - so results equal XGBoost's output margin (rank:* objectives
 * output the margin itself). Missing values are not supported: every
 * feature must be finite (rank_features.h guarantees it); a NaN takes the
 * right branch where XGBoost would take the default one.
 *
 * An rk_forest is immutable after rk_forest_parse and safe to share
 * between threads. */
#ifndef RK_RANKER_H
#define RK_RANKER_H

#include <stddef.h>

#include "mx_err.h"

#define RK_MAX_COMPLETE_DEPTH 10
#define RK_MAX_FEATURES 512

typedef struct rk_forest rk_forest;

/* Parses XGBoost's JSON model (XGBoosterSaveModelToBuffer, format "json";
 * version 1.x). Rejects, naming the reason: malformed JSON, a booster
 * other than gbtree, categorical or multi-target trees, more than
 * RK_MAX_FEATURES features, split features at or beyond the model's
 * feature count, malformed node arrays. *out owned
 * by the caller (rk_forest_free). */
int rk_forest_parse(const char *json, size_t len, rk_forest **out, mx_err *err);
void rk_forest_free(rk_forest *f); /* NULL is a no-op */

size_t rk_forest_n_features(const rk_forest *f); /* learner's num_feature */
size_t rk_forest_n_trees(const rk_forest *f);
size_t rk_forest_max_depth(const rk_forest *f);
const char *rk_forest_objective(const rk_forest *f); /* e.g. "rank:ndcg" */

/* Feature names stored in the model (XGBoost's feature_names), or NULL
 * when the model has none; i < n_features. */
const char *rk_forest_feature_name(const rk_forest *f, size_t i);

/* out[r] = margin of row r (x + r * stride, stride >= n_features). */
void rk_forest_predict(const rk_forest *f, const float *x, size_t n_rows, size_t stride,
                       float *out);

/* Whether rk_forest_predict may take the first three levels of every tree
 * eight rows at a time with AVX2 (by default when the CPU has it; the
 * same comparisons, so the same margins: tests check both paths).
 * Returns whether it will. Any thread; affects every forest. */
int rk_forest_use_avx2(int allow);

/* Why one row (x: n_features values) scores what it does, by Saabas'
 * method: along the row's path in each tree, every split adds the change
 * of the mean leaf value (leaves weighted by cover) to the feature it
 * splits on. contrib[f] (f < n_features) receives feature f's total and
 * *bias the base score plus every tree's root mean, so that *bias plus
 * the contributions is the row's margin up to float rounding. This is
 * XGBoost's pred_contribs with approx_contribs. One path per tree: cheap
 * enough per answer item, not meant for whole pools. */
void rk_forest_contrib(const rk_forest *f, const float *x, float *contrib, float *bias);

#endif

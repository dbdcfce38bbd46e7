/* ranker_xgb.h - XGBoost, through its C API: training the ranker and
 * XGBoost's own predictor (the reference the compact evaluator in ranker.h
 * is checked against, and its fallback).
 *
 * Training: one group per user (rows of a group are that user's
 * candidates), objective rank:ndcg or rank:pairwise, histogram trees,
 * early stopping on the validation groups' NDCG@10, deterministic for a
 * seed. The result is XGBoost's JSON model text, cut to the best round.
 * An rkx_booster is not shared between threads (XGBoost's predictor
 * keeps per-booster caches); rkx_predict is serialised by the caller. */
#ifndef RKX_RANKER_XGB_H
#define RKX_RANKER_XGB_H

#include <stddef.h>

#include "mx_err.h"
#include "rank_params.h"

#define RKX_MAX_FEATURES 64

typedef struct rkx_data {
    const float *x;         /* n_rows x n_features, row-major, finite */
    const float *label;     /* n_rows relevance (0/1 or graded) */
    const unsigned *groups; /* rows per group, in row order; sums to n_rows */
    size_t n_rows, n_groups;
} rkx_data;

typedef struct rkx_report {
    size_t rounds;                       /* trees kept (best round + 1) */
    double valid_first;                  /* validation NDCG@10 after the first round */
    double valid_best;                   /* ... at the best round */
    double importance[RKX_MAX_FEATURES]; /* total gain per feature, 0 when unused */
} rkx_report;

/* Trains on train, early-stopping on valid (n_groups may be 0: then all
 * p->rounds are kept). n_features <= RKX_MAX_FEATURES, names one per
 * feature (stored in the model). *json_out (malloc'd, NUL-terminated,
 * caller frees) receives the model. */
int rkx_train(const rkx_data *train, const rkx_data *valid, size_t n_features,
              const char *const *names, const rank_params *p, char **json_out, size_t *len_out,
              rkx_report *rep, mx_err *err);

typedef struct rkx_booster rkx_booster;

/* XGBoost's predictor on a saved model (JSON text). */
int rkx_load(const char *json, size_t len, rkx_booster **out, mx_err *err);
void rkx_free(rkx_booster *b);

/* out[r] = output margin of row r (x: n_rows x n_features). */
int rkx_predict(rkx_booster *b, const float *x, size_t n_rows, size_t n_features, float *out,
                mx_err *err);

/* XGBoost's approximate (Saabas) feature contributions, the reference for
 * rk_forest_contrib: out holds n_features + 1 values per row, the last
 * one the bias. */
int rkx_contribs(rkx_booster *b, const float *x, size_t n_rows, size_t n_features, float *out,
                 mx_err *err);

#endif

/* rank_features.h - the ranker's features of a candidate, one definition for
 * training (offline, rank_train.c), evaluation and serving.
 *
 * Every feature is a finite float (never NaN: the compact evaluator does
 * not implement XGBoost's missing-value branches). "The user's items" are
 * the training items in the model; "recent items" the MODEL_RECENT newest
 * of them plus the session's positive items; "session" the events the
 * caller brings (Redis at serving time; offline, the user's events in the
 * last rank_train.session_hours before the cut). Days count back from the
 * model's last training event (t_ref). The names, in order:
 *
 *   ann_score          inner product of the query vector and the item (0 without one)
 *   ann_rank           rank of ann_score in the pool (0 = best)
 *   cosine             cosine of the query vector and the item
 *   interest_weight    blended mixture weight of the item's interest (0 if not in it)
 *   interest_rank      rank of the item by ann_score among pool items of its interest
 *   pool_rank          position in the retrieved pool (fused order)
 *   fused              fused reciprocal-rank score of the pool
 *   in_mixture         1 if the mixture source found it
 *   in_single          1 if the single-vector source found it
 *   in_popular         1 if the popularity source found it
 *   pop_count          log(1 + training events on the item)
 *   pop_recent         log(1 + recent popularity), popularity.half_life_days decay
 *   pop_day            log(1 + popularity with a one-day half-life)
 *   item_age_days      days since the item's first event
 *   item_idle_days     days since the item's last event
 *   item_norm          length of the item's vector (ALS: a popularity proxy)
 *   recent_sim_max     largest cosine to the user's recent items
 *   recent_sim_mean    cosine to the mean direction of the recent items
 *   category_affinity  sum over the item's categories of the share of the
 *                      user's items in that category
 *   user_activity      log(1 + the user's training items)
 *   user_pop_affinity  mean pop_count of the user's items (crowd follower?)
 *   user_idle_days     days since the user's last training event (-1: unknown user)
 *   pop_vs_user        pop_count - user_pop_affinity
 *   session_events     positive session events
 *   session_weight     session mixture weight of the item's interest
 *   session_sim_max    largest cosine to the session's positive items
 *   session_share      b, the session's share of the blended mixture
 *   fresh              1 for an item new to the model: its first event less
 *                      than FEAT_FRESH_DAYS before t_ref, or none at all (an
 *                      item added to the catalogue after training,
 *                      feat_compute_new)
 *
 * A feat_ctx is per-thread scratch (no allocation per call); the model is
 * shared read-only. */
#ifndef FEAT_FEATURES_H
#define FEAT_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "retrieve.h"

enum {
    FEAT_ANN_SCORE,
    FEAT_ANN_RANK,
    FEAT_COSINE,
    FEAT_INTEREST_WEIGHT,
    FEAT_INTEREST_RANK,
    FEAT_POOL_RANK,
    FEAT_FUSED,
    FEAT_IN_MIXTURE,
    FEAT_IN_SINGLE,
    FEAT_IN_POPULAR,
    FEAT_POP_COUNT,
    FEAT_POP_RECENT,
    FEAT_POP_DAY,
    FEAT_ITEM_AGE,
    FEAT_ITEM_IDLE,
    FEAT_ITEM_NORM,
    FEAT_RECENT_SIM_MAX,
    FEAT_RECENT_SIM_MEAN,
    FEAT_CATEGORY_AFFINITY,
    FEAT_USER_ACTIVITY,
    FEAT_USER_POP_AFFINITY,
    FEAT_USER_IDLE,
    FEAT_POP_VS_USER,
    FEAT_SESSION_EVENTS,
    FEAT_SESSION_WEIGHT,
    FEAT_SESSION_SIM_MAX,
    FEAT_SESSION_SHARE,
    FEAT_FRESH,
    FEAT_N
};

/* Name of feature f (FEAT_*), NULL out of range. */
const char *feat_name(int f);

/* A session event (recommend.h's rec_event is this type). */
typedef struct feat_event {
    uint32_t item; /* dense item id */
    int64_t ts;    /* unix seconds */
    float weight;  /* type weight; < 0 for a dislike */
} feat_event;

/* Who the candidates are for. Mixture arrays: the blended mixture and,
 * aligned with it, the session mixture (NULL: none). */
typedef struct feat_query {
    int64_t user;   /* dense user id, -1 = unknown */
    const float *q; /* query vector (model dim) or NULL */
    const uint32_t *cid;
    const float *w;         /* blended weights */
    const float *session_w; /* session weights, may be NULL */
    size_t m;
    float session_share;
    const feat_event *events; /* may be NULL */
    size_t n_events;
} feat_query;

typedef struct feat_ctx feat_ctx;

/* Scratch for pools of up to max_cands candidates on model m (which must
 * outlive it). NULL on OOM. */
feat_ctx *feat_ctx_new(const mx_model *m, size_t max_cands);
void feat_ctx_free(feat_ctx *c);

/* Fills x (n x FEAT_N, row-major) for the pool c[0..n), in pool order.
 * n above the context's max_cands is clamped (only the first max_cands
 * rows are written); returns the rows written. */
size_t feat_compute(feat_ctx *c, const feat_query *q, const ret_cand *cands, size_t n, float *x);

/* Days an item stays "fresh" after its first event. */
#define FEAT_FRESH_DAYS 7.0f

/* An item the model has not trained on (added to the catalogue since), as
 * the ranker sees it: no events, so its popularity features are 0; its
 * vector, when the catalogue has one in the model's space, gives the
 * similarity features. */
typedef struct feat_new {
    float age_days;       /* since it was added */
    const float *vec;     /* model dim, or NULL (borrowed) */
    float inv_norm;       /* 1 / |vec|; 0 without a vector */
    const uint16_t *cats; /* model category ids (borrowed) */
    size_t n_cats;
} feat_new;

/* Fills x (n x FEAT_N) for new items for the same user and session as
 * feat_compute: fresh 1, item_age_days and item_idle_days their age, the
 * pool features as for a candidate below a pool of pool_n found by no
 * source. n above max_cands is clamped; returns the rows written. */
size_t feat_compute_new(feat_ctx *c, const feat_query *q, const feat_new *items, size_t n,
                        size_t pool_n, float *x);

#endif

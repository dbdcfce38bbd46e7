/* recommend.h - one recommendation request against a model: the long-term
 * profile, blended with the session's recent events, retrieved, filtered.
 *
 * This is the request-level logic the service calls (no network here);
 * sessions arrive as plain event lists, whatever stored them.
 *
 * The rule (documented for the API):
 *  - Session weight of an event: its type weight w_e (e.g. view 1, click 2,
 *    like 3, purchase 5; dislike < 0) times 2^(-(now - ts) / half_life).
 *  - Net session weight of interest c: r(c), the sum of the weights of its
 *    items' events, dislikes included: a dislike cancels likes of the same
 *    interest. P is the sum of the positive r(c), N of the negative ones'
 *    magnitudes.
 *  - Session view (rec_mixture.session, /interests' session_interests):
 *    r(c) / (P + N), the interest's signed share of the session: liked
 *    interests are positive, an interest whose dislikes outweigh its likes
 *    is negative (a click and three dislikes on one interest: -1 if
 *    nothing else happened).
 *  - Session mixture s(c): the positive r(c) over P (sums to 1).
 *  - Blended mixture: p(c) = (1 - b) p_long(c) + b s(c), b = P / (P + s0),
 *    so a strong, recent session dominates and an old or weak one fades;
 *    an unknown user with P > 0 has b = 1. Then every disliked event of
 *    interest c multiplies p(c) by dislike_factor^decay (a fresh dislike
 *    halves it, an old one fades): a dislike pushes its interest down even
 *    without a single like in the session. Top m kept, renormalised.
 *  - Query vector: the user's row re-solved (fold_solve_row, warm start from
 *    the long-term vector) over their training items plus the positive
 *    session items of interests whose net session weight is not negative,
 *    with confidences from the same weights.
 *  - Excluded: training items, every session item (seen, clicked or
 *    disliked) and the request's own exclusions.
 *  - Candidates: the blended pool (retrieve.h), with the popularity share
 *    scaled by (1 - b): an active session is current intent and outweighs
 *    the crowd. The request's filters (rec_filter_admits: categories kept,
 *    categories dropped, an age window) keep the items passing them,
 *    fetching deeper (up to max_k) when they thin the pool.
 *  - Ranking: with a learned ranker in the model (and use_ranker), the
 *    pool is max(k, rank_train.pool) candidates, scored from their features
 *    (rank_features.h); otherwise the pool's fused score stands. Dislikes
 *    reach the neighbours of the disliked items: a candidate's score loses
 *    dislike_penalty x d x (the pool's score range), d = min(1, the sum
 *    over disliked items of cos^2 x that dislike's decay; negative cosines
 *    count 0), so a near copy of a disliked item sinks to the bottom, a
 *    loose neighbour (cos 0.3: d 0.09) drops a little, and every further
 *    dislike pushes further. The pool is ordered by
 *    that score; with dislikes it holds max(k, rank_train.pool) candidates
 *    even in retrieval order, so that what sinks can be replaced. A ranked answer keeps a session
 * quota: Q = round(session_quota x b x k) of its items come from the interests the session touched
 * (when the pool has such items), spread so that every prefix of length L holds at least floor(Q L
 * / k): a learned order never hides what the user just did. Then the filters, then the
 *    diversity step (a
 *    cap per interest, or MMR over item-vector cosines; off by default),
 *    then the cut to k.
 *  - Scores: an answer's score is its position's, 1 / (1 + position):
 *    higher is better, non-increasing down the list, whatever moved an item
 *    (quota, diversity). rank_score keeps the ranker's own score (or the
 *    fused one), placed_by says what put the item where it is.
 *  - Reason of a candidate: "popular" when only the popularity source found
 *    it, else "session" when its interest's blended weight comes mostly
 *    from the session, else "long-term".
 * A rec_ctx is per-thread scratch; the model is shared read-only. */
#ifndef REC_RECOMMEND_H
#define REC_RECOMMEND_H

#include <stddef.h>
#include <stdint.h>

#include "rank_features.h"
#include "model.h"
#include "mx_err.h"
#include "retrieve.h"

typedef feat_event rec_event; /* item, ts, weight (< 0: dislike) */

typedef struct rec_params {
    double session_half_life; /* seconds, default 1800 */
    float session_strength;   /* s0, default 3 (about one recent like) */
    float dislike_factor;     /* per fresh dislike, on its interest's blended weight; 0.5 */
    float dislike_penalty;    /* neighbours of disliked items: share of the pool's score
                                 range lost at cosine 1; default 1, 0 = off */
    int use_ranker;           /* re-rank with the model's ranker when it has one, default 1 */
    size_t per_interest_cap;  /* diversity: at most this many items per interest; 0 = off */
    float mmr_lambda;         /* diversity: maximal marginal relevance weight; 0 = off */
    float session_quota;      /* q: ranked answers give the session's interests q * b of
                                 their slots at least; default 1, 0 = off */
    int xgboost_predictor;    /* score with XGBoost's own predictor instead of the compact
                                 evaluator (the reference; slower); default 0 */
} rec_params;

void rec_params_init(rec_params *p);

typedef struct rec_query {
    int64_t user;            /* dense user id, -1 = anonymous / unknown */
    const rec_event *events; /* the session, any order; may be NULL */
    size_t n_events;
    const uint32_t *exclude; /* extra items to leave out */
    size_t n_exclude;
    const uint32_t *blocked; /* items no answer may hold now (hidden, expired: the live
                                catalogue); any number, excluded like the above */
    size_t n_blocked;
    const uint16_t *categories; /* keep items having any of them; n = 0: all */
    size_t n_categories;
    const uint16_t *not_categories; /* drop items having any of them */
    size_t n_not_categories;
    /* Item age at request time: now - first seen (rec_filter_first_seen);
     * keep items at least min_age_s and at most max_age_s old; 0 = no
     * bound. */
    int64_t min_age_s, max_age_s;
    /* Categories an operator gave model items (the live catalogue), which
     * the category filters follow instead of the model's: 1 with the
     * item's names in *names (n of them), 0 when the model's hold. NULL:
     * the model's always. Called only when the request filters on
     * categories. */
    int (*categories_of)(const void *arg, uint32_t item, const char *const **names, size_t *n);
    const void *categories_arg;
    size_t k;
    int64_t now;
    int explain; /* fill each ranked item's features (rec_item.why_*) */
} rec_query;

#define REC_MAX_INTERESTS 255

/* The three views of a user's interests, over the same interest ids:
 * long-term (smoothed mixture) and blended, each summing to 1 (0 when
 * absent), and the session's signed shares r(c) / (P + N) (negative:
 * disliked; magnitudes sum to 1), sorted by blended weight. */
typedef struct rec_mixture {
    size_t n;
    uint32_t cid[REC_MAX_INTERESTS];
    float long_term[REC_MAX_INTERESTS];
    float session[REC_MAX_INTERESTS];
    float blended[REC_MAX_INTERESTS];
    float session_share;    /* b */
    float session_positive; /* P / (P + N): the positive shares' sum (0: none) */
} rec_mixture;

/* s(c) of slot i: the session mixture (positive shares renormalised). */
float rec_session_weight(const rec_mixture *x, size_t i);

/* NEW: a catalogue item the model has not trained on, from the fresh
 * source; PROMOTED: put there by a promotion (place.h). */
enum {
    REC_REASON_LONG_TERM = 0,
    REC_REASON_SESSION = 1,
    REC_REASON_POPULAR = 2,
    REC_REASON_NEW = 3,
    REC_REASON_PROMOTED = 4
};
/* "long-term", "session", "popular", "new", "promoted" */
const char *rec_reason_name(int reason);

/* The retrieval sources that speak for the user (not the crowd). */
#define REC_PERSONAL_SOURCES ((1u << RET_MIXTURE) | (1u << RET_SINGLE))

/* What put an item at its position: the order itself (the ranker's, or
 * retrieval's), the session quota pulling it up, the diversity step
 * (a cap or MMR) passing over better-scored items, or a rule of place.h
 * (a promotion, the fresh source) inserting it. */
enum {
    REC_PLACED_ORDER = 0,
    REC_PLACED_SESSION_QUOTA = 1,
    REC_PLACED_DIVERSITY = 2,
    REC_PLACED_PROMOTION = 3,
    REC_PLACED_FRESH = 4,
    REC_PLACED_EXPLORATION = 5
};
/* "ranker" or "retrieval" (by ranked), "session_quota", "diversity",
 * "promotion", "fresh", "exploration" */
const char *rec_placed_name(int placed, int ranked);

#define REC_WHY_N 3 /* features listed per explained item */

/* An item the model does not know (added to the catalogue after training):
 * what an answer shows of it. Borrowed from whoever holds the catalogue
 * view the answer was made from; valid as long as that view. */
typedef struct rec_extra {
    const char *id;
    const char *title;
    const char *const *categories;
    size_t n_categories;
    int64_t added_at;
} rec_extra;

typedef struct rec_item {
    uint32_t item;          /* model item; UINT32_MAX when extra says which */
    const rec_extra *extra; /* NULL for model items; else what the answer shows of the item
                               the model does not know (borrowed) */
    float score;            /* rec_recommend: 1 / (1 + position), non-increasing;
                               rec_similar: inner product with the item */
    float rank_score;       /* the ranker's score (ranked) or the fused retrieval score */
    float dislike_penalty;  /* taken off rank_score for nearness to disliked items */
    uint32_t interest;      /* the item's interest (UINT32_MAX if not indexed) */
    uint32_t pool_rank;     /* position in the retrieved pool (fused order) */
    uint8_t reason;         /* REC_REASON_* */
    uint8_t sources;        /* bit (1 << RET_*) per retrieval source */
    uint8_t ranked;         /* rank_score is the ranker's (else the pool's fused score) */
    uint8_t placed_by;      /* REC_PLACED_* */
    /* REC_PLACED_EXPLORATION: the probability that the exploration policy
     * put the item at its position (explore.h), in (0, 1]; 0 for an item
     * placed deterministically (propensity 1: rec_item_propensity) */
    float explore_p;
    /* q->explain on a ranked answer (compact evaluator): the n_why features
     * that moved rank_score most, largest |contribution| first (Saabas
     * contributions, ranker.h), with their values */
    uint8_t n_why;
    uint8_t why_feature[REC_WHY_N]; /* FEAT_* */
    float why_contrib[REC_WHY_N];
    float why_value[REC_WHY_N];
} rec_item;

/* The probability that the serving policy put it at its position. */
static inline double rec_item_propensity(const rec_item *it) {
    return it->explore_p > 0 ? it->explore_p : 1;
}

typedef struct rec_ctx rec_ctx;

/* Scratch for requests of up to max_k results on model m (which must
 * outlive it). NULL on OOM. */
rec_ctx *rec_ctx_new(const mx_model *m, size_t max_k);
void rec_ctx_free(rec_ctx *c);

/* The ranker's view of catalogue items new to the model (feat_compute_new)
 * for the user and session of q, which must be the query of the last
 * rec_recommend on c (its mixture and query vector are reused): when that
 * answer was ranked, out[i] (i < n, at most the context's pool capacity)
 * gets the ranker's rank_score for items[i], ranked 1 and, with
 * q->explain, its why; otherwise nothing is written. Overwrites the
 * context's feature scratch (the last answer is complete by then).
 * MX_EINVAL when the XGBoost predictor fails. */
int rec_rank_new(rec_ctx *c, const rec_query *q, const feat_new *items, size_t n, rec_item *out,
                 mx_err *err);

/* Fills out with the blended mixture of q (user and session). */
void rec_mixture_of(const mx_model *m, const rec_params *p, const rec_query *q, rec_mixture *out);

/* Up to q->k recommendations into out (capacity >= q->k); *n the count.
 * q->k above the context's max_k is an error. */
int rec_recommend(rec_ctx *c, const rec_params *p, const rec_query *q, rec_item *out, size_t *n,
                  mx_err *err);

/* The pool of a request as the ranker sees it: up to n_pool candidates
 * (blend, with the session as in rec_recommend, no category filter) and
 * their features (*x: *n rows of FEAT_N), both in c's scratch, valid
 * until the next call on c. n_pool is clamped to the context's capacity.
 * Training and evaluation use this; rec_recommend runs the same code. */
int rec_candidates(rec_ctx *c, const rec_params *p, const rec_query *q, size_t n_pool,
                   const ret_cand **cands, const float **x, size_t *n, mx_err *err);

/* The query vector of the last rec_recommend on c (dim floats, in c's
 * scratch until the next call), NULL when it had none (an unknown user
 * without a session). */
const float *rec_last_query(const rec_ctx *c);

/* 1 when the last rec_recommend on c ordered its answer with the ranker. */
int rec_last_ranked(const rec_ctx *c);

/* 1 when the last rec_recommend or rec_similar on c excluded item: the
 * user's training items, the session's items, the query's exclusions (where
 * callers put blocked items too), and rec_similar's own item. Constant time
 * (the retrieval context's marks); 0 for an item out of the model's range
 * and before any request. */
int rec_last_excluded(const rec_ctx *c, uint32_t item);

/* Why the last rec_recommend on c is mostly popular items (more than half
 * with reason "popular"): a sentence for people, static storage; NULL when
 * it is not. */
const char *rec_last_explanation(const rec_ctx *c);

/* Where rec_recommend's time goes (monotonic clock, nanoseconds summed
 * over c's calls since it was made): the profile, query vector and
 * exclusions; each retrieval source; fusion and de-duplication; the
 * ranker's features; ranking; filters, ordering, quotas, diversity and
 * the answer's explanation. The stages cover the call end to end. */
enum {
    REC_STAGE_PREPARE,
    REC_STAGE_MIXTURE,
    REC_STAGE_SINGLE,
    REC_STAGE_POPULAR,
    REC_STAGE_FUSION,
    REC_STAGE_FEATURES,
    REC_STAGE_RANKING,
    REC_STAGE_PLACE,
    REC_N_STAGES
};
void rec_stage_ns(const rec_ctx *c, uint64_t out[REC_N_STAGES]);
const char *rec_stage_name(int stage); /* "prepare", "mixture", ... */

/* Up to q->k items similar to item (inner product with its vector over
 * the global index, nprobe from the model), without itself and q's
 * exclusions, passing q's filters (rec_filter_admits; fetching deeper when
 * they thin the neighbours). Only k, exclude, blocked, now and the filters
 * of q are read. */
int rec_similar(rec_ctx *c, uint32_t item, const rec_query *q, rec_item *out, size_t *n,
                mx_err *err);

#endif

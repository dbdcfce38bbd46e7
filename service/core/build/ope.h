/* ope.h - off-policy evaluation: the click-through a target policy would
 * have had, estimated from the slates another (logging) policy served, as
 * `mixrec eval-logged` reports it (docs/experiments.md, "Off-policy
 * evaluation").
 *
 * The model of clicks is the simulated audience's (synth_clicks.h): the
 * probability of a click depends on the user, the item and its position,
 * so each slot of a slate is an arm of its own and the per-slot estimator
 * is unbiased (per-slot IPS). For logged slate n with k_n slots, slot j:
 *   p_nj  the logging policy's probability of the logged item at j
 *   m_nj  1 when the target put the same item at j
 *   c_nj  1 when the logged item at j got an attributed click
 *   w_nj  = m_nj / p_nj
 * and per slate S_n = sum_j w_nj c_nj, W_n = sum_j w_nj. With N slates and
 * K = sum k_n target slots:
 *   IPS   = sum S_n / K            (clicks per target slot)
 *   SNIPS = sum S_n / sum W_n      (self-normalised)
 * 95% intervals: the slate is the unit (its slots share a user); IPS is a
 * ratio of slate sums to slate lengths, SNIPS of S to W, both with the
 * delta method's standard error sqrt(sum_n (S_n - R d_n)^2 / (N (N-1))) /
 * mean(d) (d = k or W), which for equal k is the CLT's sd(S_n) / (k
 * sqrt N). Intervals are clamped to [0, 1]. The logged policy's own
 * click-through (clicks / shown) gets the same interval as IPS.
 *
 * Overlap: the effective sample size ESS = (sum w)^2 / sum w^2 (at most
 * the matched slots), coverage = matched / K, and the unsupported slots:
 * the target put another item where the logged item's propensity is 1, so
 * the logging policy could never have shown the target's item there and
 * no weighting recovers that slot's clicks (the estimate is biased down
 * by their share). The estimate is trusted when every limit of ope_limits
 * holds; otherwise ope_estimate says which failed and what to do.
 *
 * Pure and single-threaded; an ope_acc belongs to its caller. */
#ifndef OPE_OPE_H
#define OPE_OPE_H

#include <stddef.h>
#include <stdint.h>

#include "mx_err.h"

/* One slot of a logged slate against the target's answer. */
typedef struct ope_slot {
    float propensity; /* of the logged item at this position, in (0, 1] */
    uint8_t match;    /* the target put the same item here */
    uint8_t clicked;  /* the logged item here got an attributed click */
    uint8_t filled;   /* the target has an item at this position (its answer may be shorter) */
} ope_slot;

/* Running sums over slates; zero it with ope_acc_init. */
typedef struct ope_acc {
    size_t slates, slots, matched, matched_clicks, clicks, unsupported;
    double sw, sw2, s; /* sum w, sum w^2, sum S_n (= sum w c) */
    double ss, sk, kk; /* sum S_n^2, sum S_n k_n, sum k_n^2 */
    double sws, ww;    /* sum S_n W_n, sum W_n^2 */
    double cc, ck;     /* logged clicks C_n: sum C_n^2, sum C_n k_n */
} ope_acc;

void ope_acc_init(ope_acc *a);

/* Adds one slate of k slots (k >= 1). MX_EINVAL (a unchanged) when a
 * propensity is not in (0, 1] or a match has no target item. */
int ope_add_slate(ope_acc *a, const ope_slot *slots, size_t k, mx_err *err);

/* When an estimate is trusted (the defaults in brackets; docs). */
typedef struct ope_limits {
    size_t min_matched;     /* matched slots at least [200] */
    double min_ess;         /* effective sample size at least [100] */
    size_t min_clicks;      /* clicks on matched slots at least [10] */
    double max_unsupported; /* unsupported share of the target's slots at most [0.05] */
} ope_limits;

void ope_limits_init(ope_limits *l);

/* Why an estimate is not trusted (the first limit that failed). */
enum {
    OPE_TRUSTED = 0,
    OPE_NO_SLATES,
    OPE_UNSUPPORTED,
    OPE_FEW_MATCHED,
    OPE_LOW_ESS,
    OPE_FEW_CLICKS
};
/* "trusted", "no_slates", "unsupported", "few_matched", "low_ess", "few_clicks" */
const char *ope_verdict_name(int verdict);

typedef struct ope_result {
    size_t slates, slots, matched, matched_clicks, clicks, unsupported;
    double mean_k;            /* K / N */
    double coverage;          /* matched / K */
    double unsupported_share; /* unsupported / K */
    double ess;               /* (sum w)^2 / sum w^2; 0 without a match */
    double sum_w;             /* sum w; K when the weights average 1 over the target's slots */
    /* estimates with their standard errors and 95% intervals (NaN when
     * there is too little to compute them: no slates, one slate, no
     * match); computed whatever the verdict, for tests and diagnostics:
     * a caller refusing an untrusted estimate must not print them */
    double logged_ctr, logged_se, logged_lo, logged_hi;
    double ips, ips_se, ips_lo, ips_hi;
    double snips, snips_se, snips_lo, snips_hi;
    int verdict;      /* OPE_TRUSTED or why not */
    char reason[600]; /* "" when trusted; else what failed and what to do */
} ope_result;

/* The estimates and the verdict from a's sums and the limits l. */
void ope_estimate(const ope_acc *a, const ope_limits *l, ope_result *r);

/* The session the service would have read for a request at time t: the
 * stored session list expires ttl after its last write and keeps the last
 * max_events, so of the user's events with times ts[0..n) (ascending)
 * those before t count when no gap between two of them, nor between the
 * last and t, exceeds ttl; then the last max_events of those. Returns how
 * many, from *first on. Same unit for every time. */
size_t ope_session_window(const int64_t *ts, size_t n, int64_t t, int64_t ttl, size_t max_events,
                          size_t *first);

#endif

/* ope.c - see ope.h. */
#include "ope.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define OPE_Z95 1.959963984540054

void ope_acc_init(ope_acc *a) {
    memset(a, 0, sizeof(*a));
}

void ope_limits_init(ope_limits *l) {
    l->min_matched = 200;
    l->min_ess = 100;
    l->min_clicks = 10;
    l->max_unsupported = 0.05;
}

const char *ope_verdict_name(int verdict) {
    switch (verdict) {
    case OPE_TRUSTED:
        return "trusted";
    case OPE_NO_SLATES:
        return "no_slates";
    case OPE_UNSUPPORTED:
        return "unsupported";
    case OPE_FEW_MATCHED:
        return "few_matched";
    case OPE_LOW_ESS:
        return "low_ess";
    case OPE_FEW_CLICKS:
        return "few_clicks";
    }
    return "unknown";
}

int ope_add_slate(ope_acc *a, const ope_slot *slots, size_t k, mx_err *err) {
    if (k == 0) return mx_err_set(err, MX_EINVAL, "ope: a slate without slots");
    for (size_t j = 0; j < k; j++) {
        float p = slots[j].propensity;
        if (!(p > 0 && p <= 1))
            return mx_err_set(err, MX_EINVAL, "ope: propensity %g at position %zu is not in (0, 1]",
                              (double)p, j);
        if (slots[j].match && !slots[j].filled)
            return mx_err_set(err, MX_EINVAL, "ope: a match at position %zu without a target item",
                              j);
    }
    double S = 0, W = 0, C = 0, kn = (double)k;
    for (size_t j = 0; j < k; j++) {
        const ope_slot *s = &slots[j];
        C += s->clicked;
        if (s->match) {
            double w = 1.0 / s->propensity;
            W += w;
            S += w * s->clicked;
            a->sw2 += w * w;
            a->matched++;
            a->matched_clicks += s->clicked;
        } else if (s->filled && s->propensity >= 1) {
            a->unsupported++;
        }
    }
    a->slates++;
    a->slots += k;
    a->clicks += (size_t)C;
    a->sw += W;
    a->s += S;
    a->ss += S * S;
    a->sk += S * kn;
    a->kk += kn * kn;
    a->sws += S * W;
    a->ww += W * W;
    a->cc += C * C;
    a->ck += C * kn;
    return 0;
}

/* A ratio R = sum y / sum d over N units, with the delta method's standard
 * error from the sums sum y^2 (yy), sum y d (yd), sum d^2 (dd): the
 * residuals y - R d have sum of squares yy - 2 R yd + R^2 dd. */
static void ratio(double sy, double sd, double yy, double yd, double dd, size_t n, double *r,
                  double *se, double *lo, double *hi) {
    *r = sd > 0 ? sy / sd : NAN;
    *se = *lo = *hi = NAN;
    if (!(sd > 0) || n < 2) return;
    double rss = yy - 2 * *r * yd + *r * *r * dd;
    if (rss < 0) rss = 0; /* rounding */
    double mean_d = sd / (double)n;
    *se = sqrt(rss / ((double)n * (double)(n - 1))) / mean_d;
    *lo = fmax(0.0, *r - OPE_Z95 * *se);
    *hi = fmin(1.0, *r + OPE_Z95 * *se);
}

/* The first limit r breaks (r's counts filled), with what to do. */
static int verdict(const ope_result *r, const ope_limits *l, char *why, size_t len) {
    static const char remedy[] =
        "Log with exploration on (explore.share above 0) or raise explore.share, so that the "
        "logged slates put other items in more slots, or log for longer; or evaluate a target "
        "closer to the policy that was logged.";
    if (!r->slates) {
        snprintf(why, len, "no logged slate could be evaluated");
        return OPE_NO_SLATES;
    }
    if (r->unsupported_share > l->max_unsupported) {
        snprintf(why, len,
                 "%zu of the target's %zu slots (%.1f%%, above the limit of %.1f%%) put an item "
                 "where the logging policy placed its own deterministically (propensity 1), so "
                 "the log can never show what the target would have had there. %s",
                 r->unsupported, r->slots, 100 * r->unsupported_share, 100 * l->max_unsupported,
                 remedy);
        return OPE_UNSUPPORTED;
    }
    if (r->matched < l->min_matched) {
        snprintf(why, len,
                 "only %zu of the target's %zu slots hold the item the log shows there (at least "
                 "%zu are needed). %s",
                 r->matched, r->slots, l->min_matched, remedy);
        return OPE_FEW_MATCHED;
    }
    if (!(r->ess >= l->min_ess)) {
        snprintf(why, len,
                 "the effective sample size is %.1f (at least %.1f is needed): a few "
                 "low-propensity slots carry most of the weight. %s",
                 r->ess, l->min_ess, remedy);
        return OPE_LOW_ESS;
    }
    if (r->matched_clicks < l->min_clicks) {
        snprintf(why, len,
                 "only %zu clicks fall on the %zu matched slots (at least %zu are needed for the "
                 "interval to mean anything). Log for longer. %s",
                 r->matched_clicks, r->matched, l->min_clicks, remedy);
        return OPE_FEW_CLICKS;
    }
    why[0] = 0;
    return OPE_TRUSTED;
}

void ope_estimate(const ope_acc *a, const ope_limits *l, ope_result *r) {
    memset(r, 0, sizeof(*r));
    r->slates = a->slates;
    r->slots = a->slots;
    r->matched = a->matched;
    r->matched_clicks = a->matched_clicks;
    r->clicks = a->clicks;
    r->unsupported = a->unsupported;
    r->sum_w = a->sw;
    double K = (double)a->slots;
    r->mean_k = a->slates ? K / (double)a->slates : NAN;
    r->coverage = K > 0 ? (double)a->matched / K : NAN;
    r->unsupported_share = K > 0 ? (double)a->unsupported / K : NAN;
    r->ess = a->sw2 > 0 ? a->sw * a->sw / a->sw2 : 0;
    ratio((double)a->clicks, K, a->cc, a->ck, a->kk, a->slates, &r->logged_ctr, &r->logged_se,
          &r->logged_lo, &r->logged_hi);
    ratio(a->s, K, a->ss, a->sk, a->kk, a->slates, &r->ips, &r->ips_se, &r->ips_lo, &r->ips_hi);
    ratio(a->s, a->sw, a->ss, a->sws, a->ww, a->slates, &r->snips, &r->snips_se, &r->snips_lo,
          &r->snips_hi);
    r->verdict = verdict(r, l, r->reason, sizeof(r->reason));
}

size_t ope_session_window(const int64_t *ts, size_t n, int64_t t, int64_t ttl, size_t max_events,
                          size_t *first) {
    size_t end = 0; /* events before t: [0, end) */
    while (end < n && ts[end] < t)
        end++;
    *first = end;
    if (end == 0 || t - ts[end - 1] > ttl) return 0; /* expired (or never written) */
    size_t b = end - 1;
    while (b > 0 && ts[b] - ts[b - 1] <= ttl)
        b--; /* step back while the list was still alive */
    if (end - b > max_events) b = end - max_events;
    *first = b;
    return end - b;
}

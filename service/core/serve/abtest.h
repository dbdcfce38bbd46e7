/* abtest.h - the statistics of an online experiment's report.
 *
 * Click-through is a ratio of sums over users: clicks / impressions. The
 * impressions of one user are not independent draws (a user who likes
 * the catalogue clicks on many of them), so a binomial interval over
 * impressions is too narrow. The intervals here treat the user as the unit
 * (the delta method for a ratio of per-user sums; Deng et al., "Applying
 * the Delta Method in Metric Analytics", KDD 2018):
 *   R = S_c / S_n,
 *   Var(R) ~ (var_c - 2 R cov_cn + R^2 var_n) / (N mean_n^2)
 * from N users' impressions n_u and clicks c_u, which the service keeps as
 * the running sums of n, c, n^2, c^2 and n*c (so no per-user list is read).
 *
 * Two variants are compared by a two-sided z-test on R_b - R_a with the
 * two variances added (independent groups of users); the relative lift
 * R_b / R_a - 1 has its interval from log(R_b / R_a) (variance
 * Var(R_a) / R_a^2 + Var(R_b) / R_b^2). The sample-ratio check is a
 * chi-square goodness-of-fit of users per variant against the shares.
 * The sign test (interleaving) is an exact two-sided binomial test.
 *
 * Pure functions, thread-safe. */
#ifndef ABTEST_ABTEST_H
#define ABTEST_ABTEST_H

#include <stddef.h>

#define ABTEST_Z95 1.959963984540054

/* Per-user sums of one variant. */
typedef struct abtest_sums {
    double users;     /* N: users with at least one impression */
    double n, nn;     /* sum of n_u, sum of n_u^2 */
    double c, cc, nc; /* sum of c_u, sum of c_u^2, sum of n_u c_u */
} abtest_sums;

/* A ratio with its standard error and 95% interval (clamped to >= 0).
 * defined = 0 when there are no impressions; se = 0 with fewer than 2
 * users (the interval is then the point). */
typedef struct abtest_ratio {
    int defined;
    double value, se, lo, hi;
} abtest_ratio;

void abtest_ratio_of(const abtest_sums *s, abtest_ratio *out);

/* Variant b against control a. defined = 0 when either ratio is undefined
 * or the control's is 0 (no lift then; diff and p still defined when
 * both ratios are). */
typedef struct abtest_compare {
    int defined, lift_defined;
    double diff, diff_lo, diff_hi; /* R_b - R_a and its 95% interval */
    double lift, lift_lo, lift_hi; /* R_b / R_a - 1 and its 95% interval */
    double z, p;                   /* two-sided p-value of R_b = R_a */
} abtest_compare;

void abtest_compare_of(const abtest_ratio *a, const abtest_ratio *b, abtest_compare *out);

/* Chi-square statistic and p-value of observed counts against expected
 * shares (k >= 2 groups; shares sum to 1); *p = 1 when there is nothing
 * to test (no counts). */
void abtest_srm(const double *observed, const double *shares, size_t k, double *chi2, double *p);

/* Two-sided exact binomial p-value of wins against losses at 1/2 (ties
 * left out); 1 when both are 0. */
double abtest_sign_p(unsigned long wins, unsigned long losses);

/* Upper tail of the standard normal, P(Z > z). */
double abtest_normal_sf(double z);
/* Upper tail of chi-square with df degrees of freedom, P(X > x). */
double abtest_chi2_sf(double x, double df);

#endif

/* abtest.c - see abtest.h. */
#include "abtest.h"

#include <math.h>

double abtest_normal_sf(double z) {
    return 0.5 * erfc(z / sqrt(2.0));
}

/* The regularised upper incomplete gamma Q(a, x): a series below a + 1,
 * a continued fraction (modified Lentz) above (Numerical Recipes 6.2). */
static double gamma_q(double a, double x) {
    if (x <= 0) return 1.0;
    double lg = lgamma(a);
    if (x < a + 1) {
        double sum = 1.0 / a, term = sum;
        for (int n = 1; n < 1000; n++) {
            term *= x / (a + n);
            sum += term;
            if (fabs(term) < fabs(sum) * 1e-15) break;
        }
        double p = sum * exp(-x + a * log(x) - lg);
        return p >= 1 ? 0 : 1 - p;
    }
    const double tiny = 1e-300;
    double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int i = 1; i < 1000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15) break;
    }
    return exp(-x + a * log(x) - lg) * h;
}

double abtest_chi2_sf(double x, double df) {
    return gamma_q(df / 2, x / 2);
}

void abtest_ratio_of(const abtest_sums *s, abtest_ratio *out) {
    *out = (abtest_ratio){0};
    if (s->n <= 0 || s->users <= 0) return;
    double r = s->c / s->n, N = s->users;
    out->defined = 1;
    out->value = r;
    if (N >= 2) {
        double mean_n = s->n / N;
        double var_n = (s->nn - s->n * s->n / N) / (N - 1);
        double var_c = (s->cc - s->c * s->c / N) / (N - 1);
        double cov = (s->nc - s->n * s->c / N) / (N - 1);
        double v = (var_c - 2 * r * cov + r * r * var_n) / (N * mean_n * mean_n);
        out->se = v > 0 ? sqrt(v) : 0;
    }
    out->lo = fmax(0, r - ABTEST_Z95 * out->se);
    out->hi = r + ABTEST_Z95 * out->se;
}

void abtest_compare_of(const abtest_ratio *a, const abtest_ratio *b, abtest_compare *out) {
    *out = (abtest_compare){0};
    if (!a->defined || !b->defined) return;
    out->defined = 1;
    double se = sqrt(a->se * a->se + b->se * b->se);
    out->diff = b->value - a->value;
    out->diff_lo = out->diff - ABTEST_Z95 * se;
    out->diff_hi = out->diff + ABTEST_Z95 * se;
    if (se > 0) {
        out->z = out->diff / se;
        out->p = 2 * abtest_normal_sf(fabs(out->z));
    } else {
        out->p = out->diff == 0 ? 1 : 0;
    }
    if (a->value > 0 && b->value > 0) {
        double l = log(b->value / a->value);
        double sl =
            sqrt(a->se * a->se / (a->value * a->value) + b->se * b->se / (b->value * b->value));
        out->lift_defined = 1;
        out->lift = b->value / a->value - 1;
        out->lift_lo = exp(l - ABTEST_Z95 * sl) - 1;
        out->lift_hi = exp(l + ABTEST_Z95 * sl) - 1;
    } else if (a->value > 0) { /* no clicks in b: -100%, interval from the difference */
        out->lift_defined = 1;
        out->lift = -1;
        out->lift_lo = -1;
        out->lift_hi = out->diff_hi / a->value;
    }
}

void abtest_srm(const double *observed, const double *shares, size_t k, double *chi2, double *p) {
    double total = 0;
    for (size_t i = 0; i < k; i++)
        total += observed[i];
    *chi2 = 0;
    *p = 1;
    if (total <= 0 || k < 2) return;
    for (size_t i = 0; i < k; i++) {
        double e = total * shares[i];
        if (e > 0) *chi2 += (observed[i] - e) * (observed[i] - e) / e;
    }
    *p = abtest_chi2_sf(*chi2, (double)(k - 1));
}

double abtest_sign_p(unsigned long wins, unsigned long losses) {
    unsigned long n = wins + losses, lo = wins < losses ? wins : losses;
    if (n == 0) return 1;
    /* P(X <= lo) for X ~ Bin(n, 1/2), in logs: n can be large */
    double tail = 0;
    for (unsigned long i = 0; i <= lo; i++)
        tail += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                    (double)n * log(2.0));
    double p = 2 * tail;
    return p > 1 ? 1 : p;
}

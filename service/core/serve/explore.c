/* explore.c - see explore.h. */
#include "explore.h"

#include <math.h>

/* Gamma(shape, 1): Marsaglia and Tsang (2000) for shape >= 1; below 1,
 * Gamma(shape + 1) * U^(1 / shape). */
static double gamma_draw(rng_state *r, double shape) {
    if (shape < 1) {
        double u = rng_uniform(r);
        return gamma_draw(r, shape + 1) * pow(u > 0 ? u : 1e-300, 1 / shape);
    }
    double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x = rng_normal(r), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = rng_uniform(r);
        if (u < 1 - 0.0331 * x * x * x * x) return d * v;
        if (u > 0 && log(u) < 0.5 * x * x + d * (1 - v + log(v))) return d * v;
    }
}

double explore_beta(rng_state *r, double a, double b) {
    double x = gamma_draw(r, a), y = gamma_draw(r, b);
    return x + y > 0 ? x / (x + y) : 0.5;
}

static double arm_draw(const explore_arm *arm, rng_state *r) {
    double shown = arm->shown > 0 ? arm->shown : 0;
    double clicks = arm->clicks < 0 ? 0 : arm->clicks > shown ? shown : arm->clicks;
    return explore_beta(r, 1 + clicks, 1 + shown - clicks);
}

/* The m largest of draw[0..n) into slot, largest first (m small: a
 * selection by insertion). */
static size_t top_m(const double *draw, size_t n, size_t m, uint32_t *slot) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k == m && draw[i] <= draw[slot[m - 1]]) continue;
        size_t j = k < m ? k++ : m - 1;
        while (j > 0 && draw[slot[j - 1]] < draw[i]) {
            slot[j] = slot[j - 1];
            j--;
        }
        slot[j] = (uint32_t)i;
    }
    return k;
}

size_t explore_pick(const explore_arm *arms, size_t n, size_t m, rng_state *r, uint32_t *slot) {
    double draw[EXPLORE_MAX_ARMS];
    if (n > EXPLORE_MAX_ARMS) n = EXPLORE_MAX_ARMS; /* the candidates past it are never explored */
    for (size_t i = 0; i < n; i++)
        draw[i] = arm_draw(&arms[i], r);
    return top_m(draw, n, m < n ? m : n, slot);
}

void explore_propensity(const explore_arm *arms, size_t n, size_t m, const uint32_t *slot,
                        size_t draws, rng_state *r, double *p) {
    uint32_t again[EXPLORE_MAX_ARMS];
    size_t hits[EXPLORE_MAX_ARMS] = {0};
    if (m > EXPLORE_MAX_ARMS) m = EXPLORE_MAX_ARMS;
    for (size_t d = 0; d < draws; d++) {
        size_t k = explore_pick(arms, n, m, r, again);
        for (size_t j = 0; j < k; j++)
            hits[j] += again[j] == slot[j];
    }
    for (size_t j = 0; j < m; j++)
        p[j] = (double)(hits[j] + 1) / (double)(draws + 1);
}

double explore_share(double base, const float *weights, size_t n, double new_share) {
    double sum = 0, h = 0;
    for (size_t i = 0; i < n; i++)
        sum += weights[i] > 0 ? weights[i] : 0;
    for (size_t i = 0; i < n && sum > 0; i++)
        if (weights[i] > 0) h -= weights[i] / sum * log(weights[i] / sum);
    double spread = n > 1 ? h / log((double)n) : 0;
    double fresh = new_share < 0 ? 0 : new_share > 1 ? 1 : new_share;
    return base * (0.5 + 0.5 * spread + 0.5 * fresh);
}

double explore_decay(double count, double age_s, double half_life_s) {
    if (half_life_s <= 0 || age_s <= 0) return count;
    return count * exp2(-age_s / half_life_s);
}

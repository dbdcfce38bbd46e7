/* explore.c - see explore.h. */
#include "explore.h"

#include <math.h>

explore_prior explore_prior_of(double shown, double clicks) {
    shown = shown > 0 ? shown : 0;
    clicks = clicks < 0 ? 0 : clicks > shown ? shown : clicks;
    double mean = (clicks + 1) / (shown + 2);
    return (explore_prior){EXPLORE_PRIOR_WEIGHT * mean, EXPLORE_PRIOR_WEIGHT * (1 - mean)};
}

/* A draw for an arm: Gaussian Thompson sampling, the posterior
 * Beta(a + clicks, b + shown - clicks) approximated by a bell curve of the
 * same mean and variance. The bell is the sum of four uniforms scaled to
 * variance 1 (Irwin-Hall): one random word per draw, about 20x cheaper
 * than two gamma draws, which matters because propensities repeat the
 * whole pick explore.draws times per answer. */
static double arm_draw(const explore_arm *arm, explore_prior prior, rng_state *r) {
    double shown = arm->shown > 0 ? arm->shown : 0;
    double clicks = arm->clicks < 0 ? 0 : arm->clicks > shown ? shown : arm->clicks;
    double a = prior.a + clicks, b = prior.b + shown - clicks, n = a + b;
    double mean = a / n, sd = sqrt(a * b / (n * n * (n + 1)));
    uint64_t x = rng_next(r);
    double sum = (double)(x & 0xffff) + (double)((x >> 16) & 0xffff) +
                 (double)((x >> 32) & 0xffff) + (double)(x >> 48);
    double z = (sum / 65536.0 - 2) * 1.7320508075688772; /* variance 4/12 -> 1 */
    return mean + sd * z;
}

/* One pick for the explored positions pos[0..m) (increasing) of a slate
 * of len over n candidates: an explored position's pool is its own greedy
 * candidate (pos[j]) and the candidates past the slate (len .. n-1); the
 * positions take, in order, the largest draw of their pool not yet taken.
 * choice[j]: the candidate placed at pos[j]. */
static void slate_pick(const explore_arm *arms, size_t n, size_t len, const uint32_t *pos, size_t m,
                       explore_prior prior, rng_state *r, uint32_t *choice) {
    double draw[EXPLORE_MAX_ARMS];
    uint8_t taken[EXPLORE_MAX_ARMS];
    for (size_t j = 0; j < m; j++)
        draw[pos[j]] = arm_draw(&arms[pos[j]], prior, r);
    for (size_t i = len; i < n; i++) {
        draw[i] = arm_draw(&arms[i], prior, r);
        taken[i] = 0;
    }
    for (size_t j = 0; j < m; j++) {
        size_t best = pos[j];
        for (size_t i = len; i < n; i++)
            if (!taken[i] && draw[i] > draw[best]) best = i;
        if (best >= len) taken[best] = 1;
        choice[j] = (uint32_t)best;
    }
}

size_t explore_slate(const explore_arm *arms, size_t n, size_t k, size_t m, explore_prior prior,
                     size_t draws, rng_state *r, uint32_t *order, double *prop, uint8_t *explored) {
    if (n > EXPLORE_MAX_ARMS) n = EXPLORE_MAX_ARMS; /* candidates past it are never explored */
    size_t len = n < k ? n : k;
    if (m > len - (len > 0)) m = len - (len > 0); /* the top position stays greedy */
    for (size_t pos = 0; pos < len; pos++) {
        order[pos] = (uint32_t)pos;
        prop[pos] = 1;
        explored[pos] = 0;
    }
    if (!m || n == len) return len; /* nothing past the slate to try */
    uint32_t pos[EXPLORE_MAX_ARMS], choice[EXPLORE_MAX_ARMS], again[EXPLORE_MAX_ARMS];
    size_t hits[EXPLORE_MAX_ARMS] = {0};
    for (size_t j = 0; j < m; j++)
        pos[j] = (uint32_t)((j + 1) * len / (m + 1));
    slate_pick(arms, n, len, pos, m, prior, r, choice);
    /* the propensity: the same pick repeated on the same counts */
    for (size_t d = 0; d < draws; d++) {
        slate_pick(arms, n, len, pos, m, prior, r, again);
        for (size_t j = 0; j < m; j++)
            hits[j] += again[j] == choice[j];
    }
    for (size_t j = 0; j < m; j++) {
        order[pos[j]] = choice[j];
        prop[pos[j]] = (double)(hits[j] + 1) / (double)(draws + 1);
        explored[pos[j]] = 1;
    }
    return len;
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

/* explore.h - Thompson sampling for the exploration slots of a slate
 * (issue 16: exploration with logged propensities). Not yet served: the
 * request path, the counts in Redis and the logging build on it.
 *
 * Each candidate is an arm with a Beta posterior of its click-through,
 * Beta(1 + clicks, 1 + shown - clicks), from counts the caller keeps
 * (decayed with explore_decay). An item shown rarely has a wide posterior
 * and often draws high, so fresh and under-shown items are explored most;
 * an item shown often without clicks draws low and drops out. A pick draws
 * one sample per arm and fills the slots with the largest samples, in
 * order. A pick's propensity is the probability that the same policy, on
 * the same counts, would have put that arm in that slot: estimated by
 * repeating the draw, and never 0 for what was actually placed (the draw
 * that happened counts).
 *
 * Pure; an rng_state belongs to one thread. */
#ifndef EXPLORE_EXPLORE_H
#define EXPLORE_EXPLORE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

typedef struct explore_arm {
    double shown;  /* impressions (decayed); >= 0 */
    double clicks; /* clicks (decayed); clamped to [0, shown] */
} explore_arm;

/* One draw of Beta(a, b), a, b > 0 (Marsaglia and Tsang's gamma method). */
double explore_beta(rng_state *r, double a, double b);

/* Draws once per arm (n arms; only the first EXPLORE_MAX_ARMS are drawn)
 * and writes the indices of the m largest draws into slot, largest first.
 * Returns min(m, n). */
#define EXPLORE_MAX_ARMS 512
size_t explore_pick(const explore_arm *arms, size_t n, size_t m, rng_state *r, uint32_t *slot);

/* p[j]: the probability that a pick on the same arms puts slot[j] in slot
 * j, j < m, estimated from draws more picks plus the one that was made:
 * (matches + 1) / (draws + 1). */
void explore_propensity(const explore_arm *arms, size_t n, size_t m, const uint32_t *slot,
                        size_t draws, rng_state *r, double *p);

/* How much a user explores: base times 0.5 ... 1.5, growing with the
 * spread of their interest weights (normalised entropy of weights, n of
 * them, >= 0) and with new_share, the part of their clicks that went to
 * items shown rarely (0..1). Novelty-seeking users get up to 1.5x base,
 * single-interest users who click the familiar 0.5x. */
double explore_share(double base, const float *weights, size_t n, double new_share);

/* count after age_s seconds of exponential decay with this half-life
 * (half_life_s <= 0: no decay). */
double explore_decay(double count, double age_s, double half_life_s);

#endif

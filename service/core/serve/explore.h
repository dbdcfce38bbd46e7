/* explore.h - Thompson sampling for the exploration slots of a slate
 * (exploration with logged propensities; the service keeps the counts in
 * Redis, armstats.h, and serves it in api_recommendations.c).
 *
 * Each candidate is an arm with a Beta posterior of its click-through,
 * Beta(a + clicks, b + shown - clicks), from counts the caller keeps
 * (decayed with explore_decay) and a prior Beta(a, b) (explore_prior_of:
 * centred on the click-through of everything counted, so that an item
 * never shown draws around what items usually do, not around 0.5). A draw
 * is Gaussian Thompson sampling: a bell curve with the posterior's mean
 * and variance (cheap enough to repeat for propensities). An item shown
 * rarely has a wide posterior and often draws high, so fresh
 * and under-shown items are explored most;
 * an item shown often without clicks draws low and drops out. A slate's
 * explored positions each take the largest draw of their pool
 * (explore_slate); an item's propensity is the probability that the same
 * policy, on the same counts, would have put it at that position:
 * estimated by repeating the draw, and never 0 for what was actually
 * placed (the draw that happened counts).
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

/* The prior of every arm: Beta(a, b). */
typedef struct explore_prior {
    double a, b;
} explore_prior;

#define EXPLORE_FLAT ((explore_prior){1, 1})
#define EXPLORE_PRIOR_WEIGHT 10.0 /* impressions the prior is worth */

/* A prior worth EXPLORE_PRIOR_WEIGHT impressions at the click-through of
 * all counted items (clicks over shown, (clicks + 1) / (shown + 2)). */
explore_prior explore_prior_of(double shown, double clicks);

#define EXPLORE_MAX_ARMS 512 /* candidates a slate may draw on */

/* A slate of k from n candidates in the greedy order (best first), m of
 * its positions explored. The explored positions are spread down the
 * slate, j-th at floor((j + 1) len / (m + 1)) (never the first: the best
 * item stays on top); every other position keeps its greedy candidate.
 * An explored position is filled by Thompson sampling over its own greedy
 * candidate and the candidates past the slate (k .. n-1): one draw per
 * candidate (candidate i's counts are arms[i]), and the explored positions
 * take, top down, the largest draw of their pool not yet taken. So a
 * greedy item is never moved, only replaced where exploration won, and
 * whatever another policy would put at a position the log can show there
 * (off-policy evaluation needs that). order[pos] gets the candidate index
 * at each position, prop[pos] the probability that the policy put it
 * there: 1 for greedy positions; for explored ones estimated by repeating
 * the pick draws times on the same counts, (matches + 1) / (draws + 1),
 * never 0 for what was placed. explored[pos] is 1 for explored positions.
 * m is capped at len - 1; nothing is explored without candidates past the
 * slate. Returns the slate's length, len = min(k, n, EXPLORE_MAX_ARMS). */
size_t explore_slate(const explore_arm *arms, size_t n, size_t k, size_t m, explore_prior prior,
                     size_t draws, rng_state *r, uint32_t *order, double *prop, uint8_t *explored);

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

/* api_explore.h - exploration in a recommendation answer (explore.h's
 * policy on armstats.h's counts): the user's share of explored slots, the
 * slate with its explored slots and propensities, and the answer's
 * impressions counted.
 *
 * The rule (docs/experiments.md, "Exploration"): an answer of k items
 * explores m = round(s x k) slots (at most k - 1), s = explore_share of
 * the configuration's explore.share on the user's blended interest weights
 * and the part of their session's positive events on rarely shown items
 * (fewer impressions than the mean counted item). The request fetches
 * explore.depth candidates more; the greedy k - m keep their order, the
 * explored slots are spread down the slate and filled by Thompson sampling
 * over the rest. Each explored item carries its propensity.
 *
 * Used on a worker's thread for one request; nothing is shared. */
#ifndef API_EXPLORE_H
#define API_EXPLORE_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "armstats.h"
#include "recommend.h"

/* The user's share of explored slots for the request q (its events valid)
 * under settings cfg and params p. */
double api_explore_share(const mx_model *m, const rec_params *p, const rec_query *q,
                         const armstats *a, const srv_config *cfg);

/* The slate of up to k from items[0..n) (greedy order; model items) with
 * round(share x k) explored slots, in place; its length. */
size_t api_explore_slate(armstats *a, const srv_config *cfg, const mx_model *m, double share,
                         rec_item *items, size_t n, size_t k, int64_t now);

/* One impression for each of the answer's items (n) in the counts. */
void api_explore_count(api_req *r, const rec_item *items, size_t n);

#endif

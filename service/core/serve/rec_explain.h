/* rec_explain.h - why an answer is what it is, for explain=true: the
 * features that moved an item's ranker score most, and a sentence when an
 * answer is mostly popular items. recommend.c calls both on its own answer
 * (rec_item, rec_last_explanation); pure functions of their arguments. */
#ifndef REC_EXPLAIN_H
#define REC_EXPLAIN_H

#include <stddef.h>

#include "ranker.h"
#include "recommend.h"
#include "retrieve.h"

/* Fills r->n_why, why_feature, why_contrib and why_value with the REC_WHY_N
 * features of largest |Saabas contribution| (rk_forest_contrib) to the
 * score of x (r's pool row of features), largest first; features that
 * contributed nothing are left out. One path per tree: meant for the items
 * of an answer, not whole pools. */
void rec_explain_features(const rk_forest *f, const float *x, rec_item *r);

/* Why out[0..n) is mostly popular items (more than half with reason
 * "popular"), or NULL when it is not: no user vector (an unknown user, or
 * one without history, and no liked session item), the personal sources
 * found fewer than k unseen items in the pool cands[0..n_pool), or the
 * ranker preferred the crowd's items. Static strings. */
const char *rec_explain_answer(const rec_item *out, size_t n, size_t k, int known_user, int has_q,
                               size_t n_events, const ret_cand *cands, size_t n_pool);

#endif

/* rec_explain.c - see rec_explain.h. */
#include "rec_explain.h"

#include <math.h>
#include <stdint.h>

void rec_explain_features(const rk_forest *f, const float *x, rec_item *r) {
    float contrib[RK_MAX_FEATURES], bias;
    size_t nf = rk_forest_n_features(f);
    rk_forest_contrib(f, x, contrib, &bias);
    for (r->n_why = 0; r->n_why < REC_WHY_N; r->n_why++) {
        size_t best = SIZE_MAX;
        for (size_t j = 0; j < nf; j++)
            if (contrib[j] != 0 && (best == SIZE_MAX || fabsf(contrib[j]) > fabsf(contrib[best])))
                best = j;
        if (best == SIZE_MAX) break;
        r->why_feature[r->n_why] = (uint8_t)best;
        r->why_contrib[r->n_why] = contrib[best];
        r->why_value[r->n_why] = x[best];
        contrib[best] = 0; /* taken */
    }
}

const char *rec_explain_answer(const rec_item *out, size_t n, size_t k, int known_user, int has_q,
                               size_t n_events, const ret_cand *cands, size_t n_pool) {
    size_t popular = 0, personal = 0;
    for (size_t i = 0; i < n; i++)
        popular += out[i].reason == REC_REASON_POPULAR;
    if (n == 0 || 2 * popular <= n) return NULL;
    if (!has_q) {
        if (known_user)
            return "the user has no history in the model and no liked item in the session: "
                   "popular items";
        return n_events ? "unknown user and no liked item in the session: popular items"
                        : "unknown user and no session: popular items";
    }
    for (size_t i = 0; i < n_pool; i++)
        personal += (cands[i].sources & REC_PERSONAL_SOURCES) != 0;
    if (personal < k)
        return "the user's interests have few unseen items: popular items fill the list";
    return "the ranker scored popular items above what the user's interests found";
}

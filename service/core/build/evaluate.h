/* evaluate.h - scores retrieval methods on a held-out future.
 *
 * For every test user (their training events are in the model; seen items
 * are excluded from every list), each method retrieves with budget K for
 * every cut-off K (the mixture and the blend split each budget anew):
 *   popular             recent popularity
 *   single              one user vector, global ANN search (nprobe)
 *   mixture_unsmoothed  kNN-Embed retrieval with the raw mixture
 *   mixture             kNN-Embed retrieval with the smoothed mixture
 *   blend               the service's order without a ranker: mixture +
 *                       single + popular fused, the top K
 *   pool                with retrieval.pool_union: what the ranker picks
 *                       from, every source's own top K (up to 3K items, a
 *                       set: its recall@K is over all of it, its size in
 *                       pool_size)
 *   ranked              the service's answer: the pool (max(K,
 *                       rank_train.pool) candidates) re-ordered by the learned
 *                       ranker (rec_recommend); only with a ranker
 * and metrics.h scores the lists against the user's test items. Users run
 * in parallel (OpenMP), results do not depend on the thread count. */
#ifndef EVL_EVALUATE_H
#define EVL_EVALUATE_H

#include <stddef.h>

#include "dataset.h"
#include "metrics.h"
#include "model.h"
#include "mx_err.h"
#include "rank_train.h"

enum {
    EVL_POPULAR,
    EVL_SINGLE,
    EVL_MIXTURE_UNSMOOTHED,
    EVL_MIXTURE,
    EVL_BLEND,
    EVL_POOL,
    EVL_RANKED,
    EVL_N_METHODS
};

const char *evl_method_name(int method);

typedef struct evl_result {
    met_summary method[EVL_N_METHODS];
    int evaluated[EVL_N_METHODS]; /* ranked: only when the model has a ranker; pool:
                                     only with retrieval.pool_union */
    double pool_size[MET_MAX_KS]; /* mean items in the pool at each cut-off */
    size_t n_users;               /* evaluated */
    double seconds;
    double us_per_query[EVL_N_METHODS]; /* mean per user at the largest K */
} evl_result;

/* test: events sorted by (user, ts) (a split's test part). ks: 1 to
 * MET_MAX_KS positive, increasing cut-offs (else MX_EINVAL). max_users > 0
 * evaluates a deterministic sample (every n-th user). sessions (may be
 * NULL): the users' last training events, fed to the ranked method as
 * the session the service would have seen (rank_train.h). */
int evl_run(const mx_model *m, const ds_dataset *ds, const ds_event *test, size_t n_test,
            const size_t *ks, size_t n_ks, size_t max_users, const rkt_sessions *sessions,
            evl_result *out, mx_err *err);

/* evl_run, and user_score (capacity: the test users, or max_users) gets
 * each evaluated user's NDCG + recall at ks[0] of the answer (ranked, or
 * blend without a ranker), in the order of the users (the sample's), for
 * paired comparisons of two settings on the same users. */
int evl_run_users(const mx_model *m, const ds_dataset *ds, const ds_event *test, size_t n_test,
                  const size_t *ks, size_t n_ks, size_t max_users, const rkt_sessions *sessions,
                  double *user_score, evl_result *out, mx_err *err);

#endif

/* rank_params.h - settings of the learned ranker's training (bconfig.h's
 * "ranker" section; see rank_train.h for what they drive). */
#ifndef RKP_RANK_PARAMS_H
#define RKP_RANK_PARAMS_H

#include <stddef.h>
#include <stdint.h>

enum { RANK_OBJ_NDCG = 0, RANK_OBJ_PAIRWISE = 1 };

typedef struct rank_params {
    int enabled;          /* train a ranker with the model, default 1 */
    size_t pool;          /* candidates retrieved (blend) and re-ranked, default 100 */
    double label_frac;    /* last fraction of the training period whose events label, 0.2 */
    double session_hours; /* offline session: events this close before the cut, 1 */
    size_t max_users;     /* training users (deterministic sample), default 20000 */
    double valid_frac;    /* users held out for early stopping, default 0.2 */
    size_t objective;     /* RANK_OBJ_*, default ndcg */
    size_t rounds;        /* boosting rounds at most, default 300 */
    size_t early_stop;    /* stop after this many rounds without a better validation NDCG;
                             0: never, the ranker keeps every round */
    size_t depth;         /* max tree depth, default 6 */
    float eta, min_child_weight, subsample, colsample, lambda;
    uint64_t seed;
    size_t threads; /* 0 = all cores */
    /* slates (slate_train.h): engaged slates needed to train on them, and the
     * window after a slate in which an event on a shown item engages it */
    size_t min_slates;           /* default 500 */
    double slate_window_hours;   /* default 1 */
    size_t slate_pool_negatives; /* unshown pool items added per slate as negatives */
    int slates_mix;              /* train on the slates and the temporal split together */
} rank_params;

void rank_params_init(rank_params *p);

#endif

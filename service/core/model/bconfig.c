/* bconfig.c - see bconfig.h. The build's rows; the engine is settings.c. */
#include "bconfig.h"

#include <string.h>

#include <jansson.h>

/* A number or bool row; an enum row (its integer is the field's size). */
#define R(name, type, field, lo, hi, def, help)                                                    \
    { name, SETTINGS_##type, offsetof(bcfg, field), 0, lo, hi, def, NULL, help, NULL }
#define EN(name, field, names, def, help)                                                          \
    {                                                                                              \
        name, SETTINGS_ENUM, offsetof(bcfg, field), sizeof(((bcfg *)0)->field), 0, 0, def, names,  \
            help, NULL                                                                             \
    }

/* By value: RANK_OBJ_NDCG, RANK_OBJ_PAIRWISE; RET_ORDER_INTERLEAVE, RET_ORDER_SCORE. */
static const char *const objective_names[] = {"rank:ndcg", "rank:pairwise", NULL};
static const char *const order_names[] = {"interleaved", "score", NULL};

static const settings_row rows[] = {
    R("embed.dim", SIZE, embed.dim, 1, 1024, "32", "embedding dimension"),
    R("embed.reg", FLOAT, embed.reg, 0, 1e6, "0.55", "ALS L2 regularisation"),
    R("embed.alpha", FLOAT, embed.alpha, 0, 1e6, "10", "ALS confidence slope: c = 1 + alpha * w"),
    R("embed.iters", SIZE, embed.iters, 0, 1000, "15", "ALS sweeps"),
    R("embed.cg_steps", SIZE, embed.cg_steps, 1, 100, "3", "conjugate-gradient steps per row"),
    R("embed.use_value", BOOL, embed.use_value, 0, 1, "false",
      "weight events by their value (rating) instead of 1"),
    R("embed.value_scale", FLOAT, embed.value_scale, 1e-6, 1e9, "1", "w = value / value_scale"),
    R("embed.seed", U64, embed.seed, 0, 1.8e19, "42", "initialisation seed"),
    R("embed.half_life_days", DOUBLE, emb_half_life_days, 0, 1e6, "0",
      "ALS: an engagement's weight halves every this many days before the newest; 0 = off"),
    R("interests.count", SIZE, interests.n_clusters, 0, 65536, "0",
      "number of interests; 0 = chosen from the data in max(2, n/1000)..clamp(n/1000, 16, "
      "1024), at most n/5 (n: items with a vector; see README)"),
    R("interests.auto_tol", DOUBLE, interests.auto_tol, 0.001, 0.5, "0.05",
      "count 0: merging interests stops before the k-means objective (items' cosine to their "
      "centroid) falls by more than this share"),
    R("interests.label_coverage", DOUBLE, interests.label_min_cov, 0.01, 1, "0.5",
      "a label names categories only when they cover this share of the interest (by events); "
      "else representative titles"),
    R("interests.niter", SIZE, interests.niter, 1, 1000, "25", "k-means iterations"),
    R("interests.nredo", SIZE, interests.nredo, 1, 100, "1", "k-means restarts"),
    R("interests.seed", U64, interests.seed, 0, 2147483647, "42", "k-means seed"),
    R("mixture.knn", SIZE, mixture.knn_k, 0, 1000, "50", "neighbour users for smoothing (k)"),
    R("mixture.k0", FLOAT, mixture.k0, 0, 1e6, "20",
      "smoothing strength: lambda_u = k0 / (k0 + n_u)"),
    R("mixture.top_m", SIZE, mixture.top_m, 1, 255, "16", "interests kept per user (m)"),
    R("mixture.min_weight", FLOAT, mixture.min_weight, 0, 0.5, "0",
      "drop smoothed interests whose weight is below this (fewer lists to search)"),
    R("mixture.half_life_days", DOUBLE, mix_half_life_days, 0, 1e6, "0",
      "time decay of engagements in the mixture; 0 = none"),
    R("retrieval.overfetch", FLOAT, retrieval.overfetch, 1, 8, "1",
      "per-interest fetch: budget x overfetch + 8 + min(excluded items, 32)"),
    R("retrieval.nprobe", SIZE, retrieval.nprobe, 0, 65536, "16",
      "lists probed by the global (single/similar) search; 0 = all (exact)"),
    R("retrieval.share_mixture", FLOAT, retrieval.blend_share[RET_MIXTURE], 0, 1, "0.2",
      "blend: share of K from the mixture"),
    R("retrieval.share_single", FLOAT, retrieval.blend_share[RET_SINGLE], 0, 1, "0.2",
      "blend: share of K from the single user vector"),
    R("retrieval.share_popular", FLOAT, retrieval.blend_share[RET_POPULAR], 0, 1, "0.6",
      "blend: share of K from recent popularity"),
    EN("retrieval.mixture_order", retrieval.mixture_order, order_names, "score",
       "mixture list order: interleaved by interest weight, or by score"),
    R("retrieval.mixture_sharpen", FLOAT, retrieval.mixture_sharpen, 0.1, 10, "0.5",
      "mixture budget split by weight^gamma (1 = proportional, > 1 favours main interests)"),
    R("retrieval.rrf_k", FLOAT, retrieval.rrf_k, 1, 1e6, "60",
      "blend: reciprocal-rank fusion constant (larger = flatter)"),
    R("retrieval.pool_union", BOOL, retrieval.pool_union, 0, 1, "true",
      "blend: every source keeps its own top K in the pool (up to 3K), never losing its best "
      "source; false: the top K by fused score"),
    R("popularity.half_life_days", DOUBLE, pop_half_life_days, 0, 1e6, "14",
      "recent popularity decay; 0 = plain counts"),
    R("data.min_value", FLOAT, min_value, -1e30, 1e30, "-inf",
      "drop events whose value (rating) is below this"),
/* events.<type>: the weights of an imported log's type column, one row
 * per type of core's table (evtype.h), the defaults the service uses */
// clang-format off
#define EVROW(id, name, def, lo, hi, help) R("events." name, DOUBLE, event_weight[id], lo, hi, def, help),
    EVTYPE_TABLE(EVROW)
#undef EVROW
    // clang-format on
    R("rank_train.enabled", BOOL, ranker.enabled, 0, 1, "true",
      "train the learned ranker with the model (XGBoost)"),
    R("rank_train.pool", SIZE, ranker.pool, 1, 10000, "100",
      "candidates retrieved (blend) and re-ranked per request"),
    R("rank_train.label_frac", DOUBLE, ranker.label_frac, 0.01, 0.9, "0.2",
      "last fraction of the training events (by time) that label the ranker's examples"),
    R("rank_train.session_hours", DOUBLE, ranker.session_hours, 0, 1e6, "1",
      "offline session: a user's events this many hours before the cut"),
    R("rank_train.max_users", SIZE, ranker.max_users, 1, 100000000, "20000",
      "training users at most (deterministic sample)"),
    R("rank_train.valid_frac", DOUBLE, ranker.valid_frac, 0, 0.9, "0.2",
      "users held out for early stopping (0 = no early stopping)"),
    R("rank_train.min_slates", SIZE, ranker.min_slates, 1, 100000000, "500",
      "with --impressions: engaged slates needed to train the ranker on slates (else temporal)"),
    R("rank_train.slate_window_hours", DOUBLE, ranker.slate_window_hours, 0, 1e6, "1",
      "with --impressions: an event this close after a slate that showed its item engages it"),
    R("rank_train.slate_pool_negatives", SIZE, ranker.slate_pool_negatives, 0, 10000, "0",
      "with --impressions: unshown pool items added to each slate as negatives"),
    R("rank_train.slates_mix", BOOL, ranker.slates_mix, 0, 1, "true",
      "with --impressions: train on the slates and the temporal split's examples together "
      "(false: slates alone, measured worse in docs/ranker.md)"),
    EN("rank_train.objective", ranker.objective, objective_names, "rank:ndcg", "XGBoost objective"),
    R("rank_train.rounds", SIZE, ranker.rounds, 1, 10000, "100", "boosting rounds"),
    R("rank_train.early_stop", SIZE, ranker.early_stop, 0, 10000, "0",
      "stop after this many rounds without a better validation NDCG@10; 0: never, keep all "
      "rounds"),
    R("rank_train.depth", SIZE, ranker.depth, 1, 16, "4", "maximum tree depth"),
    R("rank_train.eta", FLOAT, ranker.eta, 1e-4, 1, "0.1", "learning rate"),
    R("rank_train.min_child_weight", FLOAT, ranker.min_child_weight, 0, 1e6, "10",
      "minimum hessian sum in a leaf"),
    R("rank_train.subsample", FLOAT, ranker.subsample, 0.1, 1, "0.8", "rows sampled per tree"),
    R("rank_train.colsample", FLOAT, ranker.colsample, 0.1, 1, "0.8", "features sampled per tree"),
    R("rank_train.lambda", FLOAT, ranker.lambda, 0, 1e6, "1", "L2 regularisation of leaf values"),
    R("rank_train.seed", U64, ranker.seed, 0, 2147483647, "42", "XGBoost seed"),
    R("rank_train.threads", SIZE, ranker.threads, 0, 1024, "0", "XGBoost threads; 0 = all cores"),
    R("eval.per_user_split", BOOL, split_per_user, 0, 1, "false",
      "0: global time cut-off; 1: each user's last test_frac"),
    R("eval.test_frac", DOUBLE, test_frac, 0.01, 0.9, "0.2", "fraction held out for testing"),
    R("eval.min_train", SIZE, min_train, 1, 1000000, "5",
      "test users need this many training events"),
    R("eval.valid_frac", DOUBLE, valid_frac, 0.01, 0.9, "0.2",
      "fraction of the training period held out for validation (--validate)"),
    R("eval.max_users", SIZE, max_eval_users, 0, 100000000, "0",
      "evaluate at most this many test users (0 = all)"),
};

#undef R
#undef EN

static const settings_table table = {rows, sizeof(rows) / sizeof(rows[0]), SETTINGS_BUILD, NULL};

const settings_table *bcfg_settings(void) {
    return &table;
}

void bcfg_init(bcfg *c) {
    memset(c, 0, sizeof(*c));
    settings_init(&table, c);
}

void bcfg_finish(bcfg *c) {
    c->mixture.half_life = c->mix_half_life_days * 86400.0;
    c->embed.half_life = c->emb_half_life_days * 86400.0;
}

const bcfg_entry *bcfg_entries(size_t *n) {
    *n = table.n_rows;
    return rows;
}

int bcfg_set(bcfg *c, const char *name, const char *value, mx_err *err) {
    return settings_set(&table, c, name, value, 0, err);
}

int bcfg_load_file(bcfg *c, const char *path, mx_err *err) {
    return settings_load_file(&table, c, path, err);
}

void bcfg_restore_json(bcfg *c, const void *params) {
    if (json_is_object((const json_t *)params))
        settings_load_json(&table, c, params, "manifest", SETTINGS_RESTORE, NULL);
}

void bcfg_format_value(const bcfg *c, const bcfg_entry *e, char *buf, size_t len) {
    settings_format(e, c, buf, len);
}

void *bcfg_to_json(const bcfg *c) {
    return settings_to_json(&table, c);
}

/* bconfig.c - see bconfig.h. */
#include "bconfig.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define E(name, type, field, lo, hi, help)                                                         \
    { name, type, offsetof(bcfg, field), lo, hi, help }

static const bcfg_entry entries[] = {
    E("embed.dim", BCFG_SIZE, embed.dim, 1, 1024, "embedding dimension"),
    E("embed.reg", BCFG_FLOAT, embed.reg, 0, 1e6, "ALS L2 regularisation"),
    E("embed.alpha", BCFG_FLOAT, embed.alpha, 0, 1e6, "ALS confidence slope: c = 1 + alpha * w"),
    E("embed.iters", BCFG_SIZE, embed.iters, 0, 1000, "ALS sweeps"),
    E("embed.cg_steps", BCFG_SIZE, embed.cg_steps, 1, 100, "conjugate-gradient steps per row"),
    E("embed.use_value", BCFG_BOOL, embed.use_value, 0, 1,
      "weight events by their value (rating) instead of 1"),
    E("embed.value_scale", BCFG_FLOAT, embed.value_scale, 1e-6, 1e9, "w = value / value_scale"),
    E("embed.seed", BCFG_U64, embed.seed, 0, 1.8e19, "initialisation seed"),
    E("embed.half_life_days", BCFG_DOUBLE, emb_half_life_days, 0, 1e6,
      "ALS: an engagement's weight halves every this many days before the newest; 0 = off"),
    E("interests.count", BCFG_SIZE, interests.n_clusters, 0, 65536,
      "number of interests; 0 = n_items/1000 clamped to 16..1024"),
    E("interests.niter", BCFG_SIZE, interests.niter, 1, 1000, "k-means iterations"),
    E("interests.nredo", BCFG_SIZE, interests.nredo, 1, 100, "k-means restarts"),
    E("interests.seed", BCFG_U64, interests.seed, 0, 2147483647, "k-means seed"),
    E("mixture.knn", BCFG_SIZE, mixture.knn_k, 0, 1000, "neighbour users for smoothing (k)"),
    E("mixture.k0", BCFG_FLOAT, mixture.k0, 0, 1e6,
      "smoothing strength: lambda_u = k0 / (k0 + n_u)"),
    E("mixture.top_m", BCFG_SIZE, mixture.top_m, 1, 255, "interests kept per user (m)"),
    E("mixture.min_weight", BCFG_FLOAT, mixture.min_weight, 0, 0.5,
      "drop smoothed interests whose weight is below this (fewer lists to search)"),
    E("mixture.half_life_days", BCFG_DOUBLE, mix_half_life_days, 0, 1e6,
      "time decay of engagements in the mixture; 0 = none"),
    E("retrieval.overfetch", BCFG_FLOAT, retrieval.overfetch, 1, 8,
      "per-interest fetch: budget x overfetch + 8 + min(excluded items, 32)"),
    E("retrieval.nprobe", BCFG_SIZE, retrieval.nprobe, 0, 65536,
      "lists probed by the global (single/similar) search; 0 = all (exact)"),
    E("retrieval.share_mixture", BCFG_FLOAT, retrieval.blend_share[RET_MIXTURE], 0, 1,
      "blend: share of K from the mixture"),
    E("retrieval.share_single", BCFG_FLOAT, retrieval.blend_share[RET_SINGLE], 0, 1,
      "blend: share of K from the single user vector"),
    E("retrieval.share_popular", BCFG_FLOAT, retrieval.blend_share[RET_POPULAR], 0, 1,
      "blend: share of K from recent popularity"),
    E("retrieval.mixture_order", BCFG_SIZE, retrieval.mixture_order, 0, 1,
      "mixture list order: 0 = interleaved by interest weight, 1 = by score"),
    E("retrieval.mixture_sharpen", BCFG_FLOAT, retrieval.mixture_sharpen, 0.1, 10,
      "mixture budget split by weight^gamma (1 = proportional, > 1 favours main interests)"),
    E("retrieval.rrf_k", BCFG_FLOAT, retrieval.rrf_k, 1, 1e6,
      "blend: reciprocal-rank fusion constant (larger = flatter)"),
    E("popularity.half_life_days", BCFG_DOUBLE, pop_half_life_days, 0, 1e6,
      "recent popularity decay; 0 = plain counts"),
    E("data.min_value", BCFG_FLOAT, min_value, -1e30, 1e30,
      "drop events whose value (rating) is below this"),
    E("ranker.enabled", BCFG_BOOL, ranker.enabled, 0, 1,
      "train the learned ranker with the model (XGBoost)"),
    E("ranker.pool", BCFG_SIZE, ranker.pool, 1, 10000,
      "candidates retrieved (blend) and re-ranked per request"),
    E("ranker.label_frac", BCFG_DOUBLE, ranker.label_frac, 0.01, 0.9,
      "last fraction of the training events (by time) that label the ranker's examples"),
    E("ranker.session_hours", BCFG_DOUBLE, ranker.session_hours, 0, 1e6,
      "offline session: a user's events this many hours before the cut"),
    E("ranker.max_users", BCFG_SIZE, ranker.max_users, 1, 100000000,
      "training users at most (deterministic sample)"),
    E("ranker.valid_frac", BCFG_DOUBLE, ranker.valid_frac, 0, 0.9,
      "users held out for early stopping (0 = no early stopping)"),
    E("ranker.objective", BCFG_SIZE, ranker.objective, 0, 1, "0 = rank:ndcg, 1 = rank:pairwise"),
    E("ranker.rounds", BCFG_SIZE, ranker.rounds, 1, 10000, "boosting rounds at most"),
    E("ranker.early_stop", BCFG_SIZE, ranker.early_stop, 1, 10000,
      "stop after this many rounds without a better validation NDCG@10"),
    E("ranker.depth", BCFG_SIZE, ranker.depth, 1, 16, "maximum tree depth"),
    E("ranker.eta", BCFG_FLOAT, ranker.eta, 1e-4, 1, "learning rate"),
    E("ranker.min_child_weight", BCFG_FLOAT, ranker.min_child_weight, 0, 1e6,
      "minimum hessian sum in a leaf"),
    E("ranker.subsample", BCFG_FLOAT, ranker.subsample, 0.1, 1, "rows sampled per tree"),
    E("ranker.colsample", BCFG_FLOAT, ranker.colsample, 0.1, 1, "features sampled per tree"),
    E("ranker.lambda", BCFG_FLOAT, ranker.lambda, 0, 1e6, "L2 regularisation of leaf values"),
    E("ranker.seed", BCFG_U64, ranker.seed, 0, 2147483647, "XGBoost seed"),
    E("ranker.threads", BCFG_SIZE, ranker.threads, 0, 1024, "XGBoost threads; 0 = all cores"),
    E("eval.per_user_split", BCFG_BOOL, split_per_user, 0, 1,
      "0: global time cut-off; 1: each user's last test_frac"),
    E("eval.test_frac", BCFG_DOUBLE, test_frac, 0.01, 0.9, "fraction held out for testing"),
    E("eval.min_train", BCFG_SIZE, min_train, 1, 1000000,
      "test users need this many training events"),
    E("eval.valid_frac", BCFG_DOUBLE, valid_frac, 0.01, 0.9,
      "fraction of the training period held out for validation (--validate)"),
    E("eval.max_users", BCFG_SIZE, max_eval_users, 0, 100000000,
      "evaluate at most this many test users (0 = all)"),
};

#undef E

static const char *other_sections[] = {"server", "redis", "ranking", "limits", "cors",
                                       "auth",   "log",   "session", "events", NULL};

void bcfg_init(bcfg *c) {
    memset(c, 0, sizeof(*c));
    emb_params_init(&c->embed);
    intr_params_init(&c->interests);
    mix_params_init(&c->mixture);
    ret_params_init(&c->retrieval);
    rank_params_init(&c->ranker);
    c->pop_half_life_days = 14;
    c->mix_half_life_days = 0;
    c->min_value = -INFINITY;
    c->split_per_user = 0;
    c->test_frac = 0.2;
    c->min_train = 5;
    c->valid_frac = 0.2;
    c->max_eval_users = 0;
}

void bcfg_finish(bcfg *c) {
    c->mixture.half_life = c->mix_half_life_days * 86400.0;
    c->embed.half_life = c->emb_half_life_days * 86400.0;
}

const bcfg_entry *bcfg_entries(size_t *n) {
    *n = sizeof(entries) / sizeof(entries[0]);
    return entries;
}

static const bcfg_entry *find(const char *name) {
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
        if (strcmp(entries[i].name, name) == 0) return &entries[i];
    return NULL;
}

/* A section of this table ("embed" for "embed.dim", ...). */
static int known_section(const char *sec) {
    size_t len = strlen(sec);
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
        if (strncmp(entries[i].name, sec, len) == 0 && entries[i].name[len] == '.') return 1;
    return 0;
}

static int set_number(bcfg *c, const bcfg_entry *e, double v, mx_err *err) {
    if (!isfinite(v) || v < e->min || v > e->max)
        return mx_err_set(err, MX_EINVAL, "%s: %g is out of range [%g, %g]", e->name, v, e->min,
                          e->max);
    char *p = (char *)c + e->offset;
    switch (e->type) {
    case BCFG_SIZE:
    case BCFG_U64:
    case BCFG_BOOL:
        if (v != floor(v))
            return mx_err_set(err, MX_EINVAL, "%s: %g is not an integer", e->name, v);
        if (e->type == BCFG_SIZE)
            *(size_t *)p = (size_t)v;
        else if (e->type == BCFG_U64)
            *(uint64_t *)p = (uint64_t)v;
        else
            *(int *)p = v != 0;
        break;
    case BCFG_FLOAT:
        *(float *)p = (float)v;
        break;
    case BCFG_DOUBLE:
        *(double *)p = v;
        break;
    }
    return 0;
}

int bcfg_set(bcfg *c, const char *name, const char *value, mx_err *err) {
    const bcfg_entry *e = find(name);
    if (!e) return mx_err_set(err, MX_EINVAL, "unknown setting '%s' (see --help)", name);
    if (e->type == BCFG_BOOL) {
        if (!strcmp(value, "true") || !strcmp(value, "1")) return set_number(c, e, 1, err);
        if (!strcmp(value, "false") || !strcmp(value, "0")) return set_number(c, e, 0, err);
        return mx_err_set(err, MX_EINVAL, "%s: expected true or false, got '%s'", name, value);
    }
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end)
        return mx_err_set(err, MX_EINVAL, "%s: '%s' is not a number", name, value);
    return set_number(c, e, v, err);
}

int bcfg_load_file(bcfg *c, const char *path, mx_err *err) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        if (json_error_code(&je) == json_error_cannot_open_file)
            return mx_err_set(err, MX_EIO, "%s", je.text); /* "unable to open PATH: why" */
        return mx_err_set(err, MX_EFORMAT, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    }
    int rc = 0;
    if (!json_is_object(root)) {
        rc = mx_err_set(err, MX_EFORMAT, "%s: the configuration must be a JSON object", path);
        goto done;
    }
    const char *sec;
    json_t *sv;
    json_object_foreach(root, sec, sv) {
        if (sec[0] == '_') continue; /* "_comment" keys carry comments */
        int other = 0;
        for (int i = 0; other_sections[i]; i++)
            other |= !strcmp(sec, other_sections[i]);
        if (other) continue;
        if (!known_section(sec)) {
            rc = mx_err_set(err, MX_EINVAL, "%s: unknown section '%s'", path, sec);
            goto done;
        }
        if (!json_is_object(sv)) {
            rc = mx_err_set(err, MX_EFORMAT, "%s: section '%s' must be an object", path, sec);
            goto done;
        }
        const char *key;
        json_t *v;
        json_object_foreach(sv, key, v) {
            if (key[0] == '_') continue;
            char name[128];
            snprintf(name, sizeof(name), "%s.%s", sec, key);
            const bcfg_entry *e = find(name);
            if (!e) {
                rc = mx_err_set(err, MX_EINVAL, "%s: unknown setting '%s'", path, name);
                goto done;
            }
            double num;
            if (json_is_boolean(v))
                num = json_is_true(v);
            else if (json_is_number(v))
                num = json_number_value(v);
            else {
                rc = mx_err_set(err, MX_EINVAL, "%s: '%s' must be a number", path, name);
                goto done;
            }
            if ((rc = set_number(c, e, num, err))) {
                mx_err_prefix(err, "%s", path);
                goto done;
            }
        }
    }
done:
    json_decref(root);
    return rc;
}

static double get_number(const bcfg *c, const bcfg_entry *e) {
    const char *p = (const char *)c + e->offset;
    switch (e->type) {
    case BCFG_SIZE:
        return (double)*(const size_t *)p;
    case BCFG_U64:
        return (double)*(const uint64_t *)p;
    case BCFG_BOOL:
        return *(const int *)p;
    case BCFG_FLOAT:
        return *(const float *)p;
    case BCFG_DOUBLE:
        return *(const double *)p;
    }
    return 0;
}

void bcfg_format_value(const bcfg *c, const bcfg_entry *e, char *buf, size_t len) {
    double v = get_number(c, e);
    if (e->type == BCFG_BOOL)
        snprintf(buf, len, "%s", v ? "true" : "false");
    else if (e->type == BCFG_U64)
        snprintf(buf, len, "%llu",
                 (unsigned long long)*(const uint64_t *)((const char *)c + e->offset));
    else if (isinf(v))
        snprintf(buf, len, "%s", v < 0 ? "-inf" : "inf");
    else
        snprintf(buf, len, "%g", v);
}

void *bcfg_to_json(const bcfg *c) {
    json_t *root = json_object();
    for (size_t i = 0; root && i < sizeof(entries) / sizeof(entries[0]); i++) {
        const bcfg_entry *e = &entries[i];
        char sec[64];
        const char *dot = strchr(e->name, '.');
        snprintf(sec, sizeof(sec), "%.*s", (int)(dot - e->name), e->name);
        json_t *s = json_object_get(root, sec);
        if (!s) {
            s = json_object();
            json_object_set_new(root, sec, s);
        }
        double v = get_number(c, e);
        json_t *jv;
        if (e->type == BCFG_BOOL)
            jv = json_boolean(v != 0);
        else if ((e->type == BCFG_SIZE || e->type == BCFG_U64) && v < 0x1p63)
            jv = json_integer((json_int_t)v);
        else if (e->type == BCFG_SIZE || e->type == BCFG_U64)
            jv = json_real(v); /* a u64 beyond json_int_t (signed 64-bit) */
        else if (!isfinite(v))
            jv = json_null(); /* JSON has no infinity */
        else
            jv = json_real(v);
        json_object_set_new(s, dot + 1, jv);
    }
    return root;
}

/* ranker_xgb.c - see ranker_xgb.h. */
#include "ranker_xgb.h"

#include "bconfig.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

/* Rounds the validation curve is averaged over (ranker choice, below). */
#define RKX_SMOOTH_ROUNDS 5.0

void rank_params_init(rank_params *p) {
    bcfg c;
    bcfg_init(&c); /* the defaults are bconfig.c's rows, written once */
    *p = c.ranker;
}

#define XCHECK(call)                                                                               \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            rc = mx_err_set(err, MX_EXGBOOST, "XGBoost: %s", XGBGetLastError());                   \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

static int make_dmatrix(const rkx_data *d, size_t nf, const char *const *names, DMatrixHandle *h,
                        mx_err *err) {
    int rc = 0;
    *h = NULL;
    XCHECK(XGDMatrixCreateFromMat(d->x, (bst_ulong)d->n_rows, (bst_ulong)nf, NAN, h));
    XCHECK(XGDMatrixSetFloatInfo(*h, "label", d->label, (bst_ulong)d->n_rows));
    XCHECK(XGDMatrixSetUIntInfo(*h, "group", d->groups, (bst_ulong)d->n_groups));
    XCHECK(XGDMatrixSetStrFeatureInfo(*h, "feature_name", (const char **)names, (bst_ulong)nf));
done:
    if (rc && *h) {
        XGDMatrixFree(*h);
        *h = NULL;
    }
    return rc;
}

/* "[3]\tvalid-ndcg@10:0.41234" -> 0.41234 */
static double parse_metric(const char *s) {
    const char *p = s ? strrchr(s, ':') : NULL;
    return p ? strtod(p + 1, NULL) : NAN;
}

static int set_param(BoosterHandle b, const char *k, const char *v, mx_err *err) {
    if (XGBoosterSetParam(b, k, v) == 0) return 0;
    return mx_err_set(err, MX_EXGBOOST, "XGBoost: %s=%s: %s", k, v, XGBGetLastError());
}

int rkx_train(const rkx_data *train, const rkx_data *valid, size_t nf, const char *const *names,
              const rank_params *p, char **json_out, size_t *len_out, rkx_report *rep,
              mx_err *err) {
    *json_out = NULL;
    *len_out = 0;
    memset(rep, 0, sizeof(*rep));
    if (nf == 0 || nf > RKX_MAX_FEATURES || train->n_rows == 0 || train->n_groups == 0)
        return mx_err_set(err, MX_EINVAL, "ranker: no training examples (%zu rows, %zu groups)",
                          train->n_rows, train->n_groups);
    int rc = 0;
    DMatrixHandle dtrain = NULL, dvalid = NULL;
    BoosterHandle b = NULL, best = NULL;
    int has_valid = valid && valid->n_groups > 0;
    if ((rc = make_dmatrix(train, nf, names, &dtrain, err))) goto done;
    if (has_valid && (rc = make_dmatrix(valid, nf, names, &dvalid, err))) goto done;
    DMatrixHandle cache[2] = {dtrain, dvalid};
    XCHECK(XGBoosterCreate(cache, has_valid ? 2 : 1, &b));
    char buf[64];
#define P(k, fmt, v)                                                                               \
    do {                                                                                           \
        snprintf(buf, sizeof(buf), fmt, v);                                                        \
        if ((rc = set_param(b, k, buf, err))) goto done;                                           \
    } while (0)
    P("objective", "%s", p->objective == RANK_OBJ_PAIRWISE ? "rank:pairwise" : "rank:ndcg");
    P("eval_metric", "%s", "ndcg@10");
    P("tree_method", "%s", "hist");
    P("max_depth", "%zu", p->depth);
    P("eta", "%g", (double)p->eta);
    P("min_child_weight", "%g", (double)p->min_child_weight);
    P("subsample", "%g", (double)p->subsample);
    P("colsample_bytree", "%g", (double)p->colsample);
    P("lambda", "%g", (double)p->lambda);
    P("seed", "%llu", (unsigned long long)(p->seed & 0x7fffffff));
    P("nthread", "%zu", p->threads);
    P("verbosity", "%d", 0);
#undef P
    /* The round is chosen on the validation NDCG@10 smoothed over rounds
     * (exponential average, about the last RKX_SMOOTH_ROUNDS): the raw
     * curve of a few hundred validation users jitters by more than a round
     * adds, and its maximum picked a ranker of 9 trees on one data set and
     * 58 on the next for settings that changed nothing the ranker sees. */
    size_t best_round = 0;
    double best_score = -INFINITY, smooth = 0;
    for (size_t it = 0; it < p->rounds; it++) {
        XCHECK(XGBoosterUpdateOneIter(b, (int)it, dtrain));
        if (!has_valid || p->early_stop == 0) { /* every round is kept */
            best_round = it;
            if (!has_valid) continue;
        }
        const char *res = NULL;
        const char *evname[1] = {"valid"};
        XCHECK(XGBoosterEvalOneIter(b, (int)it, &dvalid, evname, 1, &res));
        double raw = parse_metric(res);
        if (it == 0) rep->valid_first = raw;
        smooth = it == 0 ? raw : smooth + (raw - smooth) / RKX_SMOOTH_ROUNDS;
        double s = smooth;
        if (p->early_stop == 0) {
            best_score = s; /* reported: the curve where the ranker ends */
        } else if (s > best_score) {
            best_score = s;
            best_round = it;
        } else if (it - best_round >= p->early_stop) {
            break;
        }
    }
    rep->rounds = best_round + 1;
    rep->valid_best = has_valid ? best_score : NAN;
    XCHECK(XGBoosterSlice(b, 0, (int)rep->rounds, 1, &best));
    XCHECK(XGBoosterSetStrFeatureInfo(best, "feature_name", (const char **)names, (bst_ulong)nf));
    {
        bst_ulong nfs = 0, dim = 0;
        const char **fnames = NULL;
        const bst_ulong *shape = NULL;
        const float *scores = NULL;
        if (XGBoosterFeatureScore(best, "{\"importance_type\": \"total_gain\"}", &nfs, &fnames,
                                  &dim, &shape, &scores) == 0)
            for (bst_ulong i = 0; i < nfs; i++)
                for (size_t f = 0; f < nf; f++)
                    if (strcmp(fnames[i], names[f]) == 0) rep->importance[f] = scores[i];
    }
    bst_ulong len = 0;
    const char *data = NULL;
    XCHECK(XGBoosterSaveModelToBuffer(best, "{\"format\": \"json\"}", &len, &data));
    *json_out = malloc(len + 1);
    if (!*json_out) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for the ranker model");
        goto done;
    }
    memcpy(*json_out, data, len);
    (*json_out)[len] = '\0';
    *len_out = len;
done:
    if (best) XGBoosterFree(best);
    if (b) XGBoosterFree(b);
    if (dtrain) XGDMatrixFree(dtrain);
    if (dvalid) XGDMatrixFree(dvalid);
    return rc;
}

struct rkx_booster {
    BoosterHandle h;
};

int rkx_load(const char *json, size_t len, rkx_booster **out, mx_err *err) {
    int rc = 0;
    *out = calloc(1, sizeof(**out));
    if (!*out) return mx_err_set(err, MX_ENOMEM, "out of memory for the booster");
    XCHECK(XGBoosterCreate(NULL, 0, &(*out)->h));
    XCHECK(XGBoosterLoadModelFromBuffer((*out)->h, json, (bst_ulong)len));
    XCHECK(XGBoosterSetParam((*out)->h, "nthread", "1"));
done:
    if (rc) {
        rkx_free(*out);
        *out = NULL;
    }
    return rc;
}

void rkx_free(rkx_booster *b) {
    if (!b) return;
    if (b->h) XGBoosterFree(b->h);
    free(b);
}

int rkx_predict(rkx_booster *b, const float *x, size_t n_rows, size_t nf, float *out, mx_err *err) {
    int rc = 0;
    char iface[256];
    /* in-place prediction over our array (XGBoost's array interface) */
    snprintf(iface, sizeof(iface),
             "{\"data\": [%llu, true], \"shape\": [%zu, %zu], \"typestr\": \"<f4\", "
             "\"version\": 3}",
             (unsigned long long)(uintptr_t)x, n_rows, nf);
    static const char config[] = "{\"type\": 1, \"training\": false, \"iteration_begin\": 0, "
                                 "\"iteration_end\": 0, \"strict_shape\": false, "
                                 "\"missing\": NaN, \"cache_id\": 0}";
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    XCHECK(XGBoosterPredictFromDense(b->h, iface, config, NULL, &shape, &dim, &res));
    memcpy(out, res, n_rows * sizeof(float));
done:
    return rc;
}

int rkx_contribs(rkx_booster *b, const float *x, size_t n_rows, size_t nf, float *out,
                 mx_err *err) {
    int rc = 0;
    DMatrixHandle d = NULL;
    /* in-place prediction does margins only: contributions need a DMatrix */
    static const char config[] = "{\"type\": 3, \"training\": false, \"iteration_begin\": 0, "
                                 "\"iteration_end\": 0, \"strict_shape\": false}";
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    XCHECK(XGDMatrixCreateFromMat(x, (bst_ulong)n_rows, (bst_ulong)nf, NAN, &d));
    XCHECK(XGBoosterPredictFromDMatrix(b->h, d, config, &shape, &dim, &res));
    memcpy(out, res, n_rows * (nf + 1) * sizeof(float));
done:
    if (d) XGDMatrixFree(d);
    return rc;
}

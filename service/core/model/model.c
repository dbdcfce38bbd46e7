/* model.c - the model container: lookups, derived arrays, memory it owns,
 * and the attached ranker. Saving and loading: model_save.c, model_load.c. */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <pthread.h>

#include "hugemem.h"
#include "rank_features.h"
#include "ranker.h"
#include "ranker_xgb.h"

struct model_region {
    void *p;
    size_t len;
    int is_map;
    struct model_region *next;
};

void *model_keep(mx_model *m, void *p, size_t len, int is_map) {
    if (!p) return NULL;
    struct model_region *r = malloc(sizeof(*r));
    if (!r) {
        if (is_map)
            munmap(p, len);
        else
            free(p);
        return NULL;
    }
    r->p = p;
    r->len = len;
    r->is_map = is_map;
    r->next = m->regions;
    m->regions = r;
    return p;
}

void model_free(mx_model *m) {
    if (!m) return;
    ann_free(m->index);
    smap_free(m->user_map);
    smap_free(m->item_map);
    pop_free(&m->pop);
    free(m->labels);
    rk_forest_free(m->ranker);
    rkx_free(m->ranker_xgb);
    if (m->ranker_xgb_lock) pthread_mutex_destroy(m->ranker_xgb_lock);
    free(m->ranker_xgb_lock);
    free(m->ranker_json);
    json_decref(m->ranker_info);
    /* mixture arrays and id tables live in regions */
    for (struct model_region *r = m->regions, *next; r; r = next) {
        next = r->next;
        if (r->is_map)
            munmap(r->p, r->len);
        else
            free(r->p);
        free(r);
    }
    free(m);
}

int64_t model_user(const mx_model *m, const char *id) {
    uint32_t v;
    return smap_get(m->user_map, id, strlen(id), &v) == 0 ? (int64_t)v : -1;
}

int64_t model_item(const mx_model *m, const char *id) {
    uint32_t v;
    return smap_get(m->item_map, id, strlen(id), &v) == 0 ? (int64_t)v : -1;
}

int64_t model_category(const mx_model *m, const char *name) {
    for (size_t c = 0; c < m->n_categories; c++)
        if (strcmp(m->cat_names[c], name) == 0) return (int64_t)c;
    return -1;
}

void model_warn(mx_model *m, const char *fmt, ...) {
    if (m->n_warnings < MODEL_MAX_WARNINGS) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->warnings[m->n_warnings], sizeof(m->warnings[0]), fmt, ap);
        va_end(ap);
    }
    m->n_warnings++;
}

int model_derive_hot(mx_model *m, mx_err *err) {
    size_t n = m->n_items ? m->n_items : 1;
    mx_item_hot *h = model_keep(m, hugemem_alloc(n * sizeof(mx_item_hot)), 0, 0);
    if (!h) return mx_err_set(err, MX_ENOMEM, "out of memory for the items' features");
    memset(h, 0, n * sizeof(mx_item_hot));
    for (size_t i = 0; i < m->n_items; i++) {
        h[i].interest = m->item_interest ? m->item_interest[i] : UINT32_MAX;
        h[i].cat_lo = m->cat_ptr ? m->cat_ptr[i] : 0;
        h[i].cat_hi = m->cat_ptr ? m->cat_ptr[i + 1] : 0;
        h[i].inv_norm = m->item_inv_norm[i];
        if (m->item_stats)
            memcpy(h[i].stats, m->item_stats + i * MODEL_ITEM_STATS, sizeof(h[i].stats));
        memcpy(h[i].log_pop, m->item_log_pop + i * MODEL_LOG_POP, sizeof(h[i].log_pop));
    }
    m->item_hot = h;
    return 0;
}

int model_derive(mx_model *m, mx_err *err) {
    float *inv = model_keep(m, malloc((m->n_items ? m->n_items : 1) * sizeof(float)), 0, 0);
    if (!inv) return mx_err_set(err, MX_ENOMEM, "out of memory for item norms");
    for (size_t i = 0; i < m->n_items; i++) {
        const float *v = m->item_vecs + i * m->dim;
        double s = 0;
        for (size_t j = 0; j < m->dim; j++)
            s += (double)v[j] * v[j];
        inv[i] = s > 0 ? (float)(1.0 / sqrt(s)) : 0;
    }
    m->item_inv_norm = inv;
    float *lp =
        model_keep(m, malloc((m->n_items ? m->n_items : 1) * MODEL_LOG_POP * sizeof(float)), 0, 0);
    if (!lp) return mx_err_set(err, MX_ENOMEM, "out of memory for item popularity");
    for (size_t i = 0; i < m->n_items; i++) {
        float *o = lp + i * MODEL_LOG_POP;
        o[MODEL_LOG_POP_COUNT] = m->pop.count ? log1pf(m->pop.count[i]) : 0;
        o[MODEL_LOG_POP_RECENT] = m->pop.score ? log1pf(m->pop.score[i]) : 0;
        o[MODEL_LOG_POP_DAY] =
            m->item_stats ? log1pf(m->item_stats[i * MODEL_ITEM_STATS + MODEL_ITEM_POP_DAY]) : 0;
    }
    m->item_log_pop = lp;
    return 0;
}

int model_has_ranker(const mx_model *m) {
    return m->ranker != NULL || m->ranker_xgb != NULL;
}

int model_rank(const mx_model *m, const float *x, size_t n, int use_xgboost, float *out,
               mx_err *err) {
    if (m->ranker && !(use_xgboost && m->ranker_xgb)) {
        rk_forest_predict(m->ranker, x, n, FEAT_N, out);
        return 0;
    }
    if (!m->ranker_xgb) return mx_err_set(err, MX_EINVAL, "the model has no usable ranker");
    pthread_mutex_lock(m->ranker_xgb_lock);
    int rc = rkx_predict(m->ranker_xgb, x, n, FEAT_N, out, err);
    pthread_mutex_unlock(m->ranker_xgb_lock);
    return rc;
}

int model_set_ranker(mx_model *m, const char *json_text, size_t len, void *info, mx_err *err) {
    rk_forest_free(m->ranker);
    rkx_free(m->ranker_xgb);
    free(m->ranker_json);
    json_decref(m->ranker_info);
    m->ranker = NULL;
    m->ranker_xgb = NULL;
    if (!m->ranker_xgb_lock) {
        m->ranker_xgb_lock = malloc(sizeof(pthread_mutex_t));
        if (!m->ranker_xgb_lock) return mx_err_set(err, MX_ENOMEM, "out of memory for the ranker");
        pthread_mutex_init(m->ranker_xgb_lock, NULL);
    }
    m->ranker_json = malloc(len + 1);
    m->ranker_json_len = len;
    m->ranker_info = info;
    if (!m->ranker_json) return mx_err_set(err, MX_ENOMEM, "out of memory for the ranker");
    memcpy(m->ranker_json, json_text, len);
    m->ranker_json[len] = '\0';
    /* The feature list must be this build's, name for name, in order. */
    json_t *names = json_object_get(info, "features");
    size_t n = json_array_size(names);
    for (size_t f = 0; f < FEAT_N || f < n; f++) {
        const char *have = json_string_value(json_array_get(names, f));
        if (f >= n || f >= FEAT_N || !have || strcmp(have, feat_name((int)f)) != 0) {
            snprintf(m->ranker_status, sizeof(m->ranker_status),
                     "rejected: its feature %zu is '%s', this build computes '%s' (%zu features "
                     "vs %d): retrain the model",
                     f, f < n && have ? have : "(none)", f < FEAT_N ? feat_name((int)f) : "(none)",
                     n, FEAT_N);
            return 0;
        }
    }
    /* XGBoost's predictor: the reference and the fallback. */
    mx_err xerr = {0};
    if (rkx_load(json_text, len, &m->ranker_xgb, &xerr)) m->ranker_xgb = NULL;
    mx_err perr = {0};
    rk_forest *fo = NULL;
    char why[300] = "";
    if (rk_forest_parse(json_text, len, &fo, &perr)) {
        if (perr.code == MX_ENOMEM) return mx_err_set(err, MX_ENOMEM, "%s", perr.msg);
        snprintf(why, sizeof(why), "%.200s", perr.msg);
    } else if (rk_forest_n_features(fo) != FEAT_N) {
        snprintf(why, sizeof(why), "the trees use %zu features, this build computes %d",
                 rk_forest_n_features(fo), FEAT_N);
    } else {
        for (size_t f = 0; f < FEAT_N && !why[0]; f++) {
            const char *nm = rk_forest_feature_name(fo, f);
            if (nm && strcmp(nm, feat_name((int)f)) != 0)
                snprintf(why, sizeof(why),
                         "the trees' feature %zu is '%.60s', this build computes '%s'", f, nm,
                         feat_name((int)f));
        }
        if (why[0]) { /* a feature mismatch: XGBoost would be as wrong */
            rk_forest_free(fo);
            rkx_free(m->ranker_xgb);
            m->ranker_xgb = NULL;
            snprintf(m->ranker_status, sizeof(m->ranker_status), "rejected: %s", why);
            return 0;
        }
    }
    if (why[0]) {
        rk_forest_free(fo);
        fo = NULL;
        if (m->ranker_xgb && !strstr(why, "features")) {
            snprintf(m->ranker_status, sizeof(m->ranker_status),
                     "ok: XGBoost's predictor (the compact evaluator: %.180s)", why);
        } else {
            rkx_free(m->ranker_xgb);
            m->ranker_xgb = NULL;
            snprintf(m->ranker_status, sizeof(m->ranker_status), "rejected: %.200s", why);
        }
        return 0;
    }
    m->ranker = fo;
    snprintf(m->ranker_status, sizeof(m->ranker_status), "ok");
    return 0;
}

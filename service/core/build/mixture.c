/* mixture.c - raw and kNN-smoothed interest mixtures. See mixture.h. */
#include "mixture.h"

#include "bconfig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVFFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/error_c.h>

#include "interests.h"

#define MIX_EXACT_KNN_MAX 20000

void mix_params_init(mix_params *p) {
    bcfg c;
    bcfg_init(&c); /* the defaults are bconfig.c's rows, written once */
    *p = c.mixture;
}

static int mix_table_alloc(mix_table *t, uint32_t n_users, uint32_t m, mx_err *err) {
    memset(t, 0, sizeof(*t));
    size_t n = (size_t)n_users * m;
    t->cid = calloc(n ? n : 1, sizeof(uint32_t));
    t->w = calloc(n ? n : 1, sizeof(float));
    t->len = calloc(n_users ? n_users : 1, 1);
    if (!t->cid || !t->w || !t->len) {
        mix_table_free(t);
        return mx_err_set(err, MX_ENOMEM, "out of memory for %u mixtures", n_users);
    }
    t->n_users = n_users;
    t->m = m;
    return 0;
}

void mix_table_free(mix_table *t) {
    if (!t) return;
    free(t->cid);
    free(t->w);
    free(t->len);
    memset(t, 0, sizeof(*t));
}

void mix_row_from_dense(const double *dense, size_t n_clusters, uint32_t m, uint32_t *cid, float *w,
                        uint8_t *len) {
    /* One pass with a sorted top-m buffer (insertion from the end): O(C)
     * plus O(m) per value that enters the buffer. Ties keep the lower id. */
    double top[256];
    uint32_t n = 0;
    if (m == 0 || m > 255) { /* the table's slots are 1..255 */
        *len = 0;
        return;
    }
    for (size_t c = 0; c < n_clusters; c++) {
        double v = dense[c];
        if (!(v > 0) || (n == m && v <= top[n - 1])) continue;
        uint32_t pos = n < m ? n++ : m - 1;
        while (pos > 0 && top[pos - 1] < v) {
            top[pos] = top[pos - 1];
            cid[pos] = cid[pos - 1];
            pos--;
        }
        top[pos] = v;
        cid[pos] = (uint32_t)c;
    }
    double total = 0;
    for (uint32_t s = 0; s < n; s++)
        total += top[s];
    for (uint32_t s = 0; s < n; s++)
        w[s] = (float)(top[s] / total);
    *len = (uint8_t)n;
}

/* Drops the tail of a row (weights descending) below min_weight, keeping at
 * least the first entry, and renormalises. */
static void prune_row(float *w, uint8_t *len, float min_weight) {
    if (min_weight <= 0 || *len <= 1) return;
    uint8_t n = *len;
    while (n > 1 && w[n - 1] < min_weight)
        n--;
    if (n == *len) return;
    double total = 0;
    for (uint8_t s = 0; s < n; s++)
        total += w[s];
    for (uint8_t s = 0; s < n; s++)
        w[s] = (float)(w[s] / total);
    *len = n;
}

static float *normalised_copy(const float *v, size_t n, size_t dim, uint8_t *nonzero) {
    float *x = malloc((n ? n : 1) * dim * sizeof(float));
    if (!x) return NULL;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < dim; k++)
            s += (double)v[i * dim + k] * v[i * dim + k];
        float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        nonzero[i] = s > 0;
        for (size_t k = 0; k < dim; k++)
            x[i * dim + k] = v[i * dim + k] * inv;
    }
    return x;
}

int mix_user_knn(const float *user_vecs, size_t n_users, size_t dim, size_t k, int64_t *nbr,
                 mx_err *err) {
    int rc = 0;
    uint8_t *nz = calloc(n_users ? n_users : 1, 1);
    float *x = nz ? normalised_copy(user_vecs, n_users, dim, nz) : NULL;
    float *packed = NULL, *dist = NULL;
    idx_t *ids = NULL, *lab = NULL;
    FaissIndex *index = NULL, *quant = NULL;
    if (!x) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for the user kNN");
        goto done;
    }
    for (size_t i = 0; i < n_users * k; i++)
        nbr[i] = -1;
    size_t n = 0;
    ids = malloc((n_users ? n_users : 1) * sizeof(idx_t));
    packed = malloc((n_users ? n_users : 1) * dim * sizeof(float));
    if (!ids || !packed) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for the user kNN");
        goto done;
    }
    for (size_t u = 0; u < n_users; u++) {
        if (!nz[u]) continue;
        memcpy(packed + n * dim, x + u * dim, dim * sizeof(float));
        ids[n++] = (idx_t)u;
    }
    if (n < 2 || k == 0) goto done;
    if (n <= MIX_EXACT_KNN_MAX) {
        FaissIndexFlat *f = NULL;
        if (faiss_IndexFlatIP_new_with(&f, (idx_t)dim)) goto faiss_err;
        index = (FaissIndex *)f;
        if (faiss_Index_add(index, (idx_t)n, packed)) goto faiss_err;
    } else {
        /* Approximate beyond 20k users: an exact search is O(n^2 d). */
        size_t nlist = (size_t)(4 * sqrt((double)n));
        FaissIndexFlat *q = NULL;
        FaissIndexIVFFlat *ivf = NULL;
        if (faiss_IndexFlatIP_new_with(&q, (idx_t)dim)) goto faiss_err;
        quant = (FaissIndex *)q;
        if (faiss_IndexIVFFlat_new_with_metric(&ivf, quant, dim, nlist, METRIC_INNER_PRODUCT))
            goto faiss_err;
        index = (FaissIndex *)ivf;
        faiss_IndexIVFFlat_set_own_fields(ivf, 1);
        quant = NULL;
        if (faiss_Index_train(index, (idx_t)n, packed) || faiss_Index_add(index, (idx_t)n, packed))
            goto faiss_err;
        faiss_IndexIVF_set_nprobe((FaissIndexIVF *)ivf, 16);
    }
    size_t kk = k + 1 < n ? k + 1 : n;
    /* Queries in blocks: the result buffers stay small at 100k+ users. */
    enum { KNN_BLOCK = 8192 };
    size_t bs = n < KNN_BLOCK ? n : KNN_BLOCK;
    dist = malloc(bs * kk * sizeof(float));
    lab = malloc(bs * kk * sizeof(idx_t));
    if (!dist || !lab) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for the user kNN results");
        goto done;
    }
    for (size_t b = 0; b < n; b += bs) {
        size_t m = n - b < bs ? n - b : bs;
        if (faiss_Index_search(index, (idx_t)m, packed + b * dim, (idx_t)kk, dist, lab))
            goto faiss_err;
        for (size_t i = 0; i < m; i++) {
            size_t q = b + i, u = (size_t)ids[q], got = 0;
            for (size_t j = 0; j < kk && got < k; j++) {
                idx_t l = lab[i * kk + j];
                if (l < 0 || (size_t)l == q) continue;
                nbr[u * k + got++] = ids[l];
            }
        }
    }
    goto done;
faiss_err:
    rc = mx_err_set(err, MX_EFAISS, "user neighbour search failed: %s", faiss_get_last_error());
done:
    faiss_Index_free(index);
    faiss_Index_free(quant);
    free(x);
    free(nz);
    free(packed);
    free(ids);
    free(dist);
    free(lab);
    return rc;
}

/* Raw mixtures as a sparse row per user: (interest, weight) over every
 * interest the user touched, weights summing to 1. */
typedef struct {
    uint64_t *ptr;
    uint32_t *cid;
    float *w;
} sparse_mix;

static int raw_mixtures(const ds_csr *by_user, const uint32_t *item_interest, size_t n_clusters,
                        const mix_params *p, int64_t t_ref, sparse_mix *out, mx_err *err) {
    size_t nu = by_user->n_rows, nnz = by_user->ptr[nu];
    out->ptr = calloc(nu + 1, sizeof(uint64_t));
    out->cid = malloc((nnz ? nnz : 1) * sizeof(uint32_t));
    out->w = malloc((nnz ? nnz : 1) * sizeof(float));
    double *dense = calloc(n_clusters ? n_clusters : 1, sizeof(double));
    if (!out->ptr || !out->cid || !out->w || !dense) {
        free(dense);
        return mx_err_set(err, MX_ENOMEM, "out of memory for raw mixtures");
    }
    uint64_t pos = 0;
    for (size_t u = 0; u < nu; u++) {
        out->ptr[u] = pos;
        double total = 0;
        uint64_t beg = pos;
        for (uint64_t e = by_user->ptr[u]; e < by_user->ptr[u + 1]; e++) {
            uint32_t c = item_interest[by_user->col[e]];
            if (c == INTR_NONE) continue;
            double w = 1.0;
            if (p->half_life > 0) w = exp2(-(double)(t_ref - by_user->ts[e]) / p->half_life);
            if (dense[c] == 0) out->cid[pos++] = c;
            dense[c] += w;
            total += w;
        }
        for (uint64_t s = beg; s < pos; s++) {
            out->w[s] = total > 0 ? (float)(dense[out->cid[s]] / total) : 0.0f;
            dense[out->cid[s]] = 0;
        }
    }
    out->ptr[nu] = pos;
    free(dense);
    return 0;
}

int mix_compute(const ds_csr *by_user, const uint32_t *item_interest, size_t n_clusters,
                const float *user_vecs, size_t dim, const mix_params *p, int64_t t_ref,
                mix_table *raw, mix_table *smooth, mx_err *err) {
    size_t nu = by_user->n_rows;
    uint32_t m = (uint32_t)(p->top_m < n_clusters ? p->top_m : n_clusters);
    if (m == 0 || m > 255) return mx_err_set(err, MX_EINVAL, "top_m must be in 1..255");
    sparse_mix sm = {0};
    int64_t *nbr = NULL;
    int rc = raw_mixtures(by_user, item_interest, n_clusters, p, t_ref, &sm, err);
    if (rc) goto done;
    if (raw && (rc = mix_table_alloc(raw, (uint32_t)nu, m, err))) goto done;
    if (smooth && (rc = mix_table_alloc(smooth, (uint32_t)nu, m, err))) goto done;
    size_t k = p->knn_k;
    if (smooth && k > 0) {
        nbr = malloc((nu ? nu : 1) * k * sizeof(int64_t));
        if (!nbr) {
            rc = mx_err_set(err, MX_ENOMEM, "out of memory for neighbour lists");
            goto done;
        }
        if ((rc = mix_user_knn(user_vecs, nu, dim, k, nbr, err))) goto done;
    }
    int oom = 0;
#pragma omp parallel
    {
        double *dense = calloc(n_clusters ? n_clusters : 1, sizeof(double));
        if (!dense) {
#pragma omp atomic write
            oom = 1;
        }
#pragma omp for schedule(dynamic, 256)
        for (size_t u = 0; u < nu; u++) {
            if (!dense) continue;
            for (uint64_t s = sm.ptr[u]; s < sm.ptr[u + 1]; s++)
                dense[sm.cid[s]] = sm.w[s];
            if (raw)
                mix_row_from_dense(dense, n_clusters, m, raw->cid + u * m, raw->w + u * m,
                                   raw->len + u);
            if (smooth) {
                size_t n_u = by_user->ptr[u + 1] - by_user->ptr[u];
                double lambda = p->k0 > 0 ? p->k0 / (p->k0 + (double)n_u) : 0.0;
                size_t nn = 0;
                for (size_t j = 0; nbr && j < k; j++)
                    nn += nbr[u * k + j] >= 0;
                if (nn == 0 || sm.ptr[u + 1] == sm.ptr[u]) lambda = nn ? 1.0 : 0.0;
                for (size_t c = 0; c < n_clusters; c++)
                    dense[c] *= 1.0 - lambda;
                for (size_t j = 0; nbr && j < k; j++) {
                    int64_t v = nbr[u * k + j];
                    if (v < 0) continue;
                    for (uint64_t s = sm.ptr[v]; s < sm.ptr[v + 1]; s++)
                        dense[sm.cid[s]] += lambda * sm.w[s] / (double)nn;
                }
                mix_row_from_dense(dense, n_clusters, m, smooth->cid + u * m, smooth->w + u * m,
                                   smooth->len + u);
                prune_row(smooth->w + u * m, smooth->len + u, p->min_weight);
            }
            for (size_t c = 0; c < n_clusters; c++)
                dense[c] = 0;
        }
        free(dense);
    }
    if (oom) rc = mx_err_set(err, MX_ENOMEM, "out of memory smoothing mixtures");
done:
    if (rc) {
        if (raw) mix_table_free(raw);
        if (smooth) mix_table_free(smooth);
    }
    free(nbr);
    free(sm.ptr);
    free(sm.cid);
    free(sm.w);
    return rc;
}

/* interests.c - spherical k-means via FAISS, assignment and labels. */
#include "interests.h"

#include "bconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/Clustering_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/error_c.h>

void intr_params_init(intr_params *p) {
    bcfg c;
    bcfg_init(&c); /* the defaults are bconfig.c's rows, written once */
    *p = c.interests;
}

size_t intr_default_clusters(size_t n_items) {
    size_t c = n_items / 1000;
    if (c < 16) c = 16;
    if (c > 1024) c = 1024;
    return c;
}

static float norm(const float *x, size_t d) {
    float s = 0;
    for (size_t k = 0; k < d; k++)
        s += x[k] * x[k];
    return sqrtf(s);
}

/* A FAISS flat inner-product search (BLAS matrix products) in blocks. */
int intr_assign(const float *vecs, size_t n, size_t dim, const float *centroids, size_t k,
                uint32_t *out, mx_err *err) {
    enum { BLOCK = 16384 };
    FaissIndexFlat *idx = NULL;
    float *dist = malloc(BLOCK * sizeof(float));
    idx_t *lab = malloc(BLOCK * sizeof(idx_t));
    int rc = 0;
    if (!dist || !lab) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory assigning items to interests");
        goto done;
    }
    if (faiss_IndexFlatIP_new_with(&idx, (idx_t)dim) ||
        faiss_Index_add((FaissIndex *)idx, (idx_t)k, centroids)) {
        rc = mx_err_set(err, MX_EFAISS, "assigning items: %s", faiss_get_last_error());
        goto done;
    }
    for (size_t b = 0; b < n; b += BLOCK) {
        size_t m = n - b < BLOCK ? n - b : BLOCK;
        if (faiss_Index_search((FaissIndex *)idx, (idx_t)m, vecs + b * dim, 1, dist, lab)) {
            rc = mx_err_set(err, MX_EFAISS, "assigning items: %s", faiss_get_last_error());
            goto done;
        }
        for (size_t i = 0; i < m; i++) {
            float nv = norm(vecs + (b + i) * dim, dim);
            out[b + i] = nv > 0 && isfinite(nv) && lab[i] >= 0 ? (uint32_t)lab[i] : INTR_NONE;
        }
    }
done:
    faiss_Index_free((FaissIndex *)idx);
    free(dist);
    free(lab);
    return rc;
}

int intr_train(const float *item_vecs, size_t n_items, size_t dim, const intr_params *p,
               float **centroids, size_t *n_clusters_out, uint32_t *item_interest, mx_err *err) {
    int rc = 0;
    float *x = NULL;
    FaissClustering *cl = NULL;
    FaissIndexFlat *idx = NULL;
    *centroids = NULL;

    /* k-means trains on at most 256 points per centroid (FAISS's own
     * limit): pick them here, spread evenly over the items with a vector,
     * so that only the sample is copied and normalised, never the whole
     * catalogue (1M x 64 floats would be 256 MB more at peak). */
    size_t n_nonzero = 0;
    for (size_t i = 0; i < n_items; i++) {
        float nv = norm(item_vecs + i * dim, dim);
        n_nonzero += nv > 0 && isfinite(nv);
    }
    if (n_nonzero == 0)
        return mx_err_set(err, MX_EINVAL, "no item has an embedding: nothing to cluster");
    size_t k = p->n_clusters ? p->n_clusters : intr_default_clusters(n_nonzero);
    if (k > n_nonzero) k = n_nonzero;
    size_t n = n_nonzero < 256 * k ? n_nonzero : 256 * k;
    x = malloc(n * dim * sizeof(float));
    if (!x) return mx_err_set(err, MX_ENOMEM, "out of memory clustering %zu items", n);
    size_t seen = 0, taken = 0;
    for (size_t i = 0; i < n_items && taken < n; i++) {
        const float *v = item_vecs + i * dim;
        float nv = norm(v, dim);
        if (nv == 0 || !isfinite(nv)) continue;
        /* the j-th non-zero item is taken when floor(j * n / n_nonzero) steps */
        size_t want = (seen + 1) * n / n_nonzero;
        seen++;
        if (want == taken) continue;
        for (size_t d = 0; d < dim; d++)
            x[taken * dim + d] = v[d] / nv;
        taken++;
    }
    n = taken;

    FaissClusteringParameters cp;
    faiss_ClusteringParameters_init(&cp);
    cp.niter = (int)p->niter;
    cp.nredo = p->nredo ? (int)p->nredo : 1;
    cp.spherical = 1;
    cp.verbose = 0;
    cp.seed = (int)(p->seed & 0x7fffffff);
    cp.min_points_per_centroid = 1; /* small catalogues are fine: no warning */
    cp.max_points_per_centroid = 256;
    if (faiss_Clustering_new_with_params(&cl, (int)dim, (int)k, &cp) ||
        faiss_IndexFlatIP_new_with(&idx, (idx_t)dim) ||
        faiss_Clustering_train(cl, (idx_t)n, x, (FaissIndex *)idx)) {
        rc = mx_err_set(err, MX_EFAISS, "spherical k-means failed: %s", faiss_get_last_error());
        goto done;
    }
    float *cent = NULL;
    size_t sz = 0;
    faiss_Clustering_centroids(cl, &cent, &sz);
    if (sz != k * dim) {
        rc = mx_err_set(err, MX_EFAISS, "k-means returned %zu floats, expected %zu", sz, k * dim);
        goto done;
    }
    *centroids = malloc(k * dim * sizeof(float));
    if (!*centroids) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for centroids");
        goto done;
    }
    memcpy(*centroids, cent, k * dim * sizeof(float));
    /* Re-normalise: FAISS normalises after each update, but be exact. */
    for (size_t c = 0; c < k; c++) {
        float nc = norm(*centroids + c * dim, dim);
        if (nc > 0)
            for (size_t j = 0; j < dim; j++)
                (*centroids)[c * dim + j] /= nc;
    }
    if ((rc = intr_assign(item_vecs, n_items, dim, *centroids, k, item_interest, err))) {
        free(*centroids);
        *centroids = NULL;
        goto done;
    }
    *n_clusters_out = k;
done:
    faiss_Clustering_free(cl);
    faiss_Index_free((FaissIndex *)idx);
    free(x);
    return rc;
}

void intr_label_all(const uint32_t *item_interest, size_t n_items, size_t n_clusters,
                    const float *popularity, const ds_dataset *ds, intr_label *labels) {
    size_t n_cats = ds && ds_has_metadata(ds) ? ds_n_categories(ds) : 0;
    /* Per-interest category weights in one pass over the items; skipped
     * (plain "interest N" labels) if the table would be unreasonably big. */
    double *cw = NULL, *top_w = calloc(n_clusters * 3 + 1, sizeof(double));
    if (n_cats && n_clusters * n_cats <= ((size_t)1 << 26))
        cw = calloc(n_clusters * n_cats, sizeof(double));
    for (size_t c = 0; c < n_clusters; c++) {
        memset(&labels[c], 0, sizeof(labels[c]));
        for (int t = 0; t < 3; t++)
            labels[c].top_items[t] = INTR_NONE;
    }
    for (size_t i = 0; i < n_items && top_w; i++) {
        uint32_t c = item_interest[i];
        if (c >= n_clusters) continue;
        intr_label *l = &labels[c];
        double *tw = top_w + c * 3;
        l->size++;
        double w = popularity ? popularity[i] : 1.0;
        for (int t = 0; t < 3; t++) { /* the three most popular members, in order */
            if (l->top_items[t] == INTR_NONE || w > tw[t]) {
                for (int s = 2; s > t; s--)
                    tw[s] = tw[s - 1], l->top_items[s] = l->top_items[s - 1];
                tw[t] = w;
                l->top_items[t] = (uint32_t)i;
                break;
            }
        }
        if (!cw) continue;
        size_t nc = 0;
        const uint16_t *ic = ds_item_categories(ds, (uint32_t)i, &nc);
        /* a little weight for items nobody engaged with */
        for (size_t j = 0; j < nc; j++)
            cw[c * n_cats + ic[j]] += w + 1e-3;
    }
    /* Name an interest by the categories it over-represents: the score
     * share * log(share / global share) (the category's term of the KL
     * divergence) picks "Horror" over "Drama", which is common everywhere. */
    double *global = cw ? calloc(n_cats, sizeof(double)) : NULL;
    double gtotal = 0;
    for (size_t c = 0; global && c < n_clusters; c++)
        for (size_t k = 0; k < n_cats; k++)
            global[k] += cw[c * n_cats + k], gtotal += cw[c * n_cats + k];
    for (size_t c = 0; c < n_clusters; c++) {
        intr_label *l = &labels[c];
        double total = 0;
        for (size_t k = 0; global && k < n_cats; k++)
            total += cw[c * n_cats + k];
        int best[2] = {-1, -1};
        double best_s[2] = {0, 0};
        for (size_t k = 0; global && total > 0 && k < n_cats; k++) {
            double share = cw[c * n_cats + k] / total, gshare = global[k] / gtotal;
            if (share < 0.05 || gshare <= 0) continue;
            double score = share * log(share / gshare);
            if (score > best_s[0]) {
                best_s[1] = best_s[0], best[1] = best[0];
                best_s[0] = score, best[0] = (int)k;
            } else if (score > best_s[1]) {
                best_s[1] = score, best[1] = (int)k;
            }
        }
        if (best[0] >= 0 && best[1] >= 0 && best_s[1] > 0.3 * best_s[0])
            snprintf(l->name, sizeof(l->name), "%s / %s", ds_category_name(ds, (uint16_t)best[0]),
                     ds_category_name(ds, (uint16_t)best[1]));
        else if (best[0] >= 0)
            snprintf(l->name, sizeof(l->name), "%s", ds_category_name(ds, (uint16_t)best[0]));
        else
            snprintf(l->name, sizeof(l->name), "interest %zu", c);
    }
    free(global);
    free(cw);
    free(top_w);
}

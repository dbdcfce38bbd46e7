/* interests.c - spherical k-means via FAISS, the automatic count and
 * assignment. See interests.h. */
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

void intr_auto_range(size_t n, size_t *lo, size_t *hi, size_t *unbounded) {
    size_t top = n / 1000;
    if (top < 16) top = 16;
    if (top > 1024) top = 1024;
    *unbounded = top;
    size_t cap = n / INTR_MIN_ITEMS;
    if (top > cap) top = cap ? cap : 1;
    size_t bottom = n / 1000 < 2 ? 2 : n / 1000;
    if (bottom > top) bottom = top;
    *lo = bottom;
    *hi = top;
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

/* The normalised non-zero rows to cluster: at most 256 points per
 * centroid (FAISS's own limit) for k_max centroids, spread evenly over the
 * items with a vector, so that only the sample is copied and normalised,
 * never the whole catalogue (1M x 64 floats would be 256 MB more at
 * peak). *n_out: rows taken. */
static float *take_sample(const float *item_vecs, size_t n_items, size_t dim, size_t n_nonzero,
                          size_t k_max, size_t *n_out) {
    size_t n = n_nonzero < 256 * k_max ? n_nonzero : 256 * k_max;
    float *x = malloc((n ? n : 1) * dim * sizeof(float));
    if (!x) return NULL;
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
    *n_out = taken;
    return x;
}

/* One spherical k-means run on the sample x (n unit rows): *cent (k x dim,
 * unit rows, malloc'd). */
static int kmeans(const float *x, size_t n, size_t dim, size_t k, const intr_params *p,
                  float **cent, mx_err *err) {
    FaissClustering *cl = NULL;
    FaissIndexFlat *idx = NULL;
    int rc = 0;
    *cent = NULL;
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
    float *c = NULL;
    size_t sz = 0;
    faiss_Clustering_centroids(cl, &c, &sz);
    if (sz != k * dim) {
        rc = mx_err_set(err, MX_EFAISS, "k-means returned %zu floats, expected %zu", sz, k * dim);
        goto done;
    }
    if (!(*cent = malloc(k * dim * sizeof(float)))) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for centroids");
        goto done;
    }
    memcpy(*cent, c, k * dim * sizeof(float));
    /* Re-normalise: FAISS normalises after each update, but be exact. */
    for (size_t j = 0; j < k; j++) {
        float nc = norm(*cent + j * dim, dim);
        if (nc > 0)
            for (size_t d = 0; d < dim; d++)
                (*cent)[j * dim + d] /= nc;
    }
done:
    faiss_Clustering_free(cl);
    faiss_Index_free((FaissIndex *)idx);
    return rc;
}

/* Lloyd iterations of spherical k-means from the centroids cent (k x dim,
 * unit rows; updated in place) over the sample x: what FAISS does from
 * its random start, here from the merged interests. lab: n, scratch. */
static int refine(const float *x, size_t n, size_t dim, float *cent, size_t k, size_t niter,
                  uint32_t *lab, double *sum, mx_err *err) {
    for (size_t it = 0; it < niter; it++) {
        int rc = intr_assign(x, n, dim, cent, k, lab, err);
        if (rc) return rc;
        memset(sum, 0, k * dim * sizeof(double));
        for (size_t i = 0; i < n; i++)
            for (size_t d = 0; lab[i] < k && d < dim; d++)
                sum[lab[i] * dim + d] += x[i * dim + d];
        for (size_t j = 0; j < k; j++) {
            double s = 0;
            for (size_t d = 0; d < dim; d++)
                s += sum[j * dim + d] * sum[j * dim + d];
            if (s <= 0) continue; /* emptied: keeps its centroid */
            for (size_t d = 0; d < dim; d++)
                cent[j * dim + d] = (float)(sum[j * dim + d] / sqrt(s));
        }
    }
    return 0;
}

static double norm_d(const double *x, size_t d) {
    double s = 0;
    for (size_t k = 0; k < d; k++)
        s += x[k] * x[k];
    return sqrt(s);
}

/* The automatic count (interests.h): k-means at hi, then greedy merges of
 * the two interests that lose the least objective. A cluster's objective
 * is |sum of its rows| (its rows' cosines to its normalised sum), so a
 * merge costs |S_a| + |S_b| - |S_a + S_b|, exactly. Merging over-split
 * groups back is deterministic, where k-means at each smaller count would
 * often stop in a local optimum (one group split, two merged) and misjudge
 * it. The merged centroids are then refined. *cent gets the centroids,
 * *k_out the count. */
static int choose_count(const float *x, size_t n, size_t dim, const intr_params *p, size_t lo,
                        size_t hi, float **cent, size_t *k_out, intr_report *rep, mx_err *err) {
    float *c = NULL;
    int rc = kmeans(x, n, dim, hi, p, &c, err);
    if (rc) return rc;
    rep->runs = 1;
    uint32_t *lab = malloc((n ? n : 1) * sizeof(uint32_t));
    double *sum = calloc(hi * dim, sizeof(double)), *ns = calloc(hi, sizeof(double));
    double *merged = malloc(dim * sizeof(double));
    uint8_t *alive = malloc(hi);
    if (!lab || !sum || !ns || !merged || !alive) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory choosing the interest count");
        goto done;
    }
    if ((rc = intr_assign(x, n, dim, c, hi, lab, err))) goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; lab[i] < hi && d < dim; d++)
            sum[lab[i] * dim + d] += x[i * dim + d];
    double top = 0, obj;
    for (size_t j = 0; j < hi; j++) {
        ns[j] = norm_d(sum + j * dim, dim);
        top += ns[j];
        alive[j] = 1;
    }
    obj = top;
    size_t k = hi, n_acc = 0;
    double acc = 0; /* the merges so far: their count and summed cost */
    rep->stop = INTR_STOP_LO;
    while (k > lo) {
        double best = INFINITY;
        size_t ba = 0, bb = 0;
        for (size_t a = 0; a < hi; a++)
            for (size_t b = a + 1; alive[a] && b < hi; b++) {
                if (!alive[b]) continue;
                for (size_t d = 0; d < dim; d++)
                    merged[d] = sum[a * dim + d] + sum[b * dim + d];
                double loss = ns[a] + ns[b] - norm_d(merged, dim);
                if (loss < best) best = loss, ba = a, bb = b;
            }
        if (n_acc && best > INTR_ELBOW * acc / (double)n_acc) {
            rep->stop = INTR_STOP_ELBOW;
            rep->elbow = best / (acc / (double)n_acc);
            break;
        }
        if (obj - best < (1 - p->auto_tol) * top) {
            rep->stop = INTR_STOP_TOL;
            break;
        }
        for (size_t d = 0; d < dim; d++)
            sum[ba * dim + d] += sum[bb * dim + d];
        ns[ba] = norm_d(sum + ba * dim, dim);
        alive[bb] = 0;
        obj -= best;
        k--;
        if (best > 0) acc += best, n_acc++; /* an empty interest merges for free */
    }
    rep->ratio = top > 0 ? obj / top : 1;
    size_t j = 0;
    for (size_t a = 0; a < hi; a++) {
        if (!alive[a]) continue;
        for (size_t d = 0; d < dim; d++) /* an empty survivor keeps its k-means centroid */
            c[j * dim + d] = ns[a] > 0 ? (float)(sum[a * dim + d] / ns[a]) : c[a * dim + d];
        j++;
    }
    if (k < hi && (rc = refine(x, n, dim, c, k, p->niter, lab, sum, err))) goto done;
    *cent = c;
    c = NULL;
    *k_out = k;
done:
    free(c);
    free(lab);
    free(sum);
    free(ns);
    free(merged);
    free(alive);
    return rc;
}

int intr_train(const float *item_vecs, size_t n_items, size_t dim, const intr_params *p,
               float **centroids, size_t *n_clusters_out, uint32_t *item_interest,
               intr_report *rep_out, mx_err *err) {
    intr_report rep = {0};
    int rc = 0;
    *centroids = NULL;
    size_t n_nonzero = 0;
    for (size_t i = 0; i < n_items; i++) {
        float nv = norm(item_vecs + i * dim, dim);
        n_nonzero += nv > 0 && isfinite(nv);
    }
    rep.n_vectors = n_nonzero;
    rep.requested = p->n_clusters;
    if (rep_out) *rep_out = rep;
    if (n_nonzero == 0)
        return mx_err_set(err, MX_EINVAL, "no item has an embedding: nothing to cluster");
    size_t k = p->n_clusters;
    if (k == 0)
        intr_auto_range(n_nonzero, &rep.lo, &rep.hi, &rep.unbounded);
    else if (k > n_nonzero)
        k = n_nonzero;
    size_t n = 0;
    float *x = take_sample(item_vecs, n_items, dim, n_nonzero, k ? k : rep.hi, &n);
    if (!x) return mx_err_set(err, MX_ENOMEM, "out of memory clustering %zu items", n_nonzero);
    if (k) {
        rc = kmeans(x, n, dim, k, p, centroids, err);
        rep.runs = 1;
    } else if (rep.lo == rep.hi) {
        k = rep.hi;
        rc = kmeans(x, n, dim, k, p, centroids, err);
        rep.runs = 1;
        rep.ratio = 1;
    } else {
        rc = choose_count(x, n, dim, p, rep.lo, rep.hi, centroids, &k, &rep, err);
    }
    free(x);
    if (!rc && (rc = intr_assign(item_vecs, n_items, dim, *centroids, k, item_interest, err))) {
        free(*centroids);
        *centroids = NULL;
    }
    if (rc) return rc;
    rep.chosen = k;
    *n_clusters_out = k;
    if (rep_out) *rep_out = rep;
    return 0;
}

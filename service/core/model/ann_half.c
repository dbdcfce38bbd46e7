/* ann_half.c - see ann_half.h. */
#include "ann_half.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "ann_scan.h"
#include "ann_topk.h"

/* One row's factor of the bound (see ann_half.h), from the row and its
 * half read back; *norm gets |v|. */
static double row_factor(const float *v, const float *h, size_t dim, double *norm) {
    double err = 0, nv = 0;
    for (size_t d = 0; d < dim; d++) {
        double e = (double)v[d] - (double)h[d];
        err += e * e;
        nv += (double)v[d] * v[d];
    }
    err = sqrt(err);
    *norm = sqrt(nv);
    double u = ldexp(1.0, -24), g = (double)dim * u / (1 - (double)dim * u);
    return err + 2 * g * (*norm + err);
}

int ann_half_build(ann_index *ix, mx_err *err) {
    size_t dim = ix->dim, rows = ix->list_ptr[ix->n_lists];
    if (!ix->list_vecs || !ann_scan_half_ok(dim))
        return mx_err_set(err, MX_EINVAL, "no half-precision scan for this index or CPU");
    uint16_t *h = ann_alloc_huge((rows ? rows : 1) * dim * sizeof(uint16_t));
    float *bound = malloc((ix->n_lists ? ix->n_lists : 1) * sizeof(float));
    float *back = malloc(dim * sizeof(float));
    if (!h || !bound || !back) {
        free(h);
        free(bound);
        free(back);
        return mx_err_set(err, MX_ENOMEM, "out of memory for the index's half-precision copy");
    }
    double longest = 0;
    for (size_t t = 0; t < rows * dim; t++)
        if (!(fabsf(ix->list_vecs[t]) <= 65504.0f)) { /* past the halves' range (or not finite) */
            free(h);
            free(bound);
            free(back);
            return mx_err_set(err, MX_EINVAL, "a vector component is past half precision's range");
        }
    for (size_t l = 0; l < ix->n_lists; l++) {
        double worst = 0;
        for (size_t t = ix->list_ptr[l]; t < ix->list_ptr[l + 1]; t++) {
            const float *v = ix->list_vecs + t * dim;
            ann_scan_to_half(v, dim, h + t * dim);
            ann_scan_from_half(h + t * dim, dim, back);
            double norm, f = row_factor(v, back, dim, &norm);
            if (f > worst) worst = f;
            if (norm > longest) longest = norm;
        }
        bound[l] = (float)worst; /* the slack below is added once the longest row is known */
    }
    double slack = ldexp(longest, -20);
    for (size_t l = 0; l < ix->n_lists; l++)
        bound[l] = (float)((1.125 * bound[l] + slack) * (1 + ldexp(1.0, -20)));
    free(back);
    ann_half_drop(ix);
    ix->half_vecs = h;
    ix->half_bound = bound;
    return 0;
}

void ann_half_drop(ann_index *ix) {
    free(ix->half_vecs);
    free(ix->half_bound);
    ix->half_vecs = NULL;
    ix->half_bound = NULL;
}

float ann_half_query(const ann_index *ix, const float *q) {
    if (!ix->half_vecs || !ann_scan_half_ok(ix->dim)) return -1;
    double n = 0;
    for (size_t d = 0; d < ix->dim; d++)
        n += (double)q[d] * q[d];
    return (float)(sqrt(n) * (1 + ldexp(1.0, -20)));
}

float ann_half_scores(const ann_index *ix, ann_scratch *s, const float *q, float qnorm,
                      uint32_t l) {
    size_t at = ix->list_ptr[l], len = ix->list_ptr[l + 1] - at, dim = ix->dim;
    if (qnorm < 0) {
        ann_scan_dots(q, ix->list_vecs + at * dim, len, dim, s->dots);
        return -1;
    }
    ann_scan_dots_half(q, ix->half_vecs + at * dim, len, dim, s->approx);
    /* ann_topk_guess reads these rows of s->dots: the approximate scores
     * there (the guess is a floor to try, checked by the exact count) */
    size_t m = len < ANN_TOPK_SAMPLES ? 0 : ANN_TOPK_SAMPLES;
    for (size_t j = 0; j < m; j++) {
        size_t t = ann_topk_sample_at(j, len);
        s->dots[t] = s->approx[t];
    }
    return qnorm * ix->half_bound[l];
}

float ann_half_floor(const ann_index *ix, const ann_scratch *s, uint32_t l, size_t k, float delta) {
    enum { SAMPLES = ANN_TOPK_SAMPLES };
    size_t len = ix->list_ptr[l + 1] - ix->list_ptr[l];
    if (k == 0 || len < 4 * k || len < SAMPLES) return -FLT_MAX;
    float x[SAMPLES]; /* the samples, best first */
    for (size_t j = 0; j < SAMPLES; j++) {
        float v = s->approx[ann_topk_sample_at(j, len)];
        size_t t = j;
        for (; t > 0 && x[t - 1] < v; t--)
            x[t] = x[t - 1];
        x[t] = v;
    }
    /* the sample with about 1.5 k of the list above it, then lower ones
     * until k rows are above (the last sample has about 31/32 of a list of
     * 4 k or more above it) */
    size_t r = (3 * k * SAMPLES + 2 * len - 1) / (2 * len);
    for (r = r ? r : 1;; r *= 2) {
        if (r > SAMPLES) r = SAMPLES;
        float g = x[r - 1];
        if (ann_topk_count_above(s->approx, len, g) >= k)
            /* those rows score exactly above g - delta: the float below
             * the rounded difference is under it for certain */
            return nextafterf(g - delta, -FLT_MAX);
        if (r == SAMPLES) break;
    }
    return -FLT_MAX;
}

size_t ann_half_above(const ann_index *ix, ann_scratch *s, const float *q, uint32_t l, float floor,
                      float delta) {
    size_t at = ix->list_ptr[l], len = ix->list_ptr[l + 1] - at, dim = ix->dim;
    if (delta >= 0 && floor == -FLT_MAX) { /* every row: the float scan itself */
        ann_scan_dots(q, ix->list_vecs + at * dim, len, dim, s->dots);
        delta = -1;
    }
    if (delta < 0) return ann_scan_above(s->dots, len, floor, s->pos);
    size_t m = ann_scan_above(s->approx, len, floor - delta, s->pos), kept = 0;
    ann_scan_dots_at(q, ix->list_vecs + at * dim, dim, s->pos, m, s->exact);
    for (size_t j = 0; j < m; j++) {
        if (!(s->exact[j] > floor)) continue;
        uint32_t t = s->pos[j];
        s->dots[t] = s->exact[j];
        s->pos[kept++] = t;
    }
    return kept;
}

/* ann_approx.c - see ann_approx.h. */
#include "ann_approx.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "ann_scan.h"
#include "ann_topk.h"
#include "hugemem.h"

/* Rounds row v to steps of its scale (max |v_d| / 127) into w; returns
 * the scale (0 for a zero row). */
static float quantize_row(const float *v, size_t dim, int8_t *w) {
    float most = 0;
    for (size_t d = 0; d < dim; d++)
        if (fabsf(v[d]) > most) most = fabsf(v[d]);
    float scale = most / 127.0f;
    for (size_t d = 0; d < dim; d++) {
        long step = scale > 0 ? lrintf(v[d] / scale) : 0;
        w[d] = (int8_t)(step > 127 ? 127 : step < -127 ? -127 : step);
    }
    return scale;
}

/* One row's factors of the bound (see ann_approx.h), from the row and its
 * steps: |v - h| + g |v| (returned) and |h| (*h_norm); h = scale * w is
 * exact in double. *norm gets |v|. */
static double row_factor(const float *v, const int8_t *w, float scale, size_t dim, double *norm,
                         double *h_norm) {
    double err = 0, nv = 0, nh = 0;
    for (size_t d = 0; d < dim; d++) {
        double h = (double)scale * w[d], e = (double)v[d] - h;
        err += e * e;
        nv += (double)v[d] * v[d];
        nh += h * h;
    }
    *norm = sqrt(nv);
    *h_norm = sqrt(nh);
    double u = ldexp(1.0, -24), g = (double)dim * u / (1 - (double)dim * u);
    return sqrt(err) + g * *norm;
}

int ann_approx_build(ann_index *ix, mx_err *err) {
    size_t dim = ix->dim, rows = ix->list_ptr[ix->n_lists];
    if (!ix->list_vecs || !ann_scan_i8_ok(dim))
        return mx_err_set(err, MX_EINVAL, "no approximate scan for this index or CPU");
    for (size_t t = 0; t < rows * dim; t++)
        if (!isfinite(ix->list_vecs[t]))
            return mx_err_set(err, MX_EINVAL, "a vector component is not finite");
    size_t nl = ix->n_lists ? ix->n_lists : 1;
    int8_t *w = hugemem_alloc((rows ? rows : 1) * dim);
    float *scale = malloc((rows ? rows : 1) * sizeof(float));
    float *bound = malloc(nl * sizeof(float)), *hmax = malloc(nl * sizeof(float));
    if (!w || !scale || !bound || !hmax) {
        free(w);
        free(scale);
        free(bound);
        free(hmax);
        return mx_err_set(err, MX_ENOMEM, "out of memory for the index's approximate copy");
    }
    double longest = 0, grow = 1 + ldexp(1.0, -20);
    for (size_t l = 0; l < ix->n_lists; l++) {
        double worst = 0, widest = 0;
        for (size_t t = ix->list_ptr[l]; t < ix->list_ptr[l + 1]; t++) {
            const float *v = ix->list_vecs + t * dim;
            scale[t] = quantize_row(v, dim, w + t * dim);
            double norm, h_norm, f = row_factor(v, w + t * dim, scale[t], dim, &norm, &h_norm);
            if (f > worst) worst = f;
            if (h_norm > widest) widest = h_norm;
            if (norm > longest) longest = norm;
        }
        bound[l] = (float)worst; /* the slack below is added once the longest row is known */
        hmax[l] = (float)(1.125 * widest * grow);
    }
    double slack = ldexp(longest, -20);
    for (size_t l = 0; l < ix->n_lists; l++)
        bound[l] = (float)((1.125 * bound[l] + slack) * grow);
    ann_approx_drop(ix);
    ix->approx_vecs = w;
    ix->approx_scale = scale;
    ix->approx_bound = bound;
    ix->approx_norm = hmax;
    return 0;
}

void ann_approx_drop(ann_index *ix) {
    free(ix->approx_vecs);
    free(ix->approx_scale);
    free(ix->approx_bound);
    free(ix->approx_norm);
    ix->approx_vecs = NULL;
    ix->approx_scale = NULL;
    ix->approx_bound = NULL;
    ix->approx_norm = NULL;
}

float ann_approx_query(const ann_index *ix, ann_scratch *s, const float *q) {
    size_t dim = ix->dim;
    if (!ix->approx_vecs || !ann_scan_i8_ok(dim)) return -1;
    double n = 0, most = 0;
    for (size_t d = 0; d < dim; d++) {
        if (!isfinite(q[d])) return -1; /* the float scan, as without a copy */
        n += (double)q[d] * q[d];
        if (fabs(q[d]) > most) most = fabs(q[d]);
    }
    float qscale = (float)(most / 32767.0);
    double err = 0;
    for (size_t d = 0; d < dim; d++) {
        long step = qscale > 0 ? lrintf(q[d] / qscale) : 0;
        s->q16[d] = (int16_t)(step > 32767 ? 32767 : step < -32767 ? -32767 : step);
        double e = (double)q[d] - (double)qscale * s->q16[d];
        err += e * e;
    }
    double grow = 1 + ldexp(1.0, -20);
    s->qscale = qscale;
    s->qerr = (float)(sqrt(err) * grow);
    return (float)(sqrt(n) * grow);
}

float ann_approx_scores(const ann_index *ix, ann_scratch *s, const float *q, float qnorm,
                        uint32_t l) {
    size_t at = ix->list_ptr[l], len = ix->list_ptr[l + 1] - at, dim = ix->dim;
    if (qnorm < 0) {
        ann_scan_dots(q, ix->list_vecs + at * dim, len, dim, s->dots);
        return -1;
    }
    ann_scan_dots_i8(s->q16, s->qscale, ix->approx_vecs + at * dim, ix->approx_scale + at, len, dim,
                     s->approx);
    /* ann_topk_guess reads these rows of s->dots: the approximate scores
     * there (the guess is a floor to try, checked by a second pass) */
    size_t m = len < ANN_TOPK_SAMPLES ? 0 : ANN_TOPK_SAMPLES;
    for (size_t j = 0; j < m; j++) {
        size_t t = ann_topk_sample_at(j, len);
        s->dots[t] = s->approx[t];
    }
    /* the rows' part, and the query's rounding with the three roundings of
     * the products to float (4 u of each norm) */
    double u = ldexp(1.0, -24), qe = s->qerr;
    double delta = qnorm * (double)ix->approx_bound[l] +
                   (qe + 4 * u * (qnorm + qe)) * (double)ix->approx_norm[l];
    return (float)(delta * (1 + ldexp(1.0, -20)));
}

float ann_approx_floor(const ann_index *ix, ann_scratch *s, uint32_t l, size_t k, float delta) {
    size_t len = ix->list_ptr[l + 1] - ix->list_ptr[l];
    float g = ann_topk_floor(s->approx, len, k);
    if (g != -FLT_MAX) {
        /* the k-th best itself, among the rows above that counted sample
         * (about 1.5 k to 3 k of them): a mixture row re-scores about a
         * third of what it did from the sample alone */
        size_t m = ann_scan_above(s->approx, len, g, s->pos);
        for (size_t j = 0; j < m; j++)
            s->exact[j] = s->approx[s->pos[j]];
        if (m >= k) g = ann_topk_select(s->exact, m, k); /* ann_topk_floor counted k */
    }
    /* the rows above g score exactly above g - delta: the float below the
     * rounded difference is under it for certain */
    return g == -FLT_MAX ? g : nextafterf(g - delta, -FLT_MAX);
}

size_t ann_approx_above(const ann_index *ix, ann_scratch *s, const float *q, uint32_t l,
                        float floor, float delta) {
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

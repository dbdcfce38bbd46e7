/* foldin.c - the ALS row solver shared by training (embed.c) and by serving,
 * which folds a user in from a list of items. See foldin.h. */
#include "foldin.h"

#include <math.h>
#include <stdlib.h>

#include "embed.h"

float fold_confidence(const emb_params *p, float value, int64_t ts) {
    float w = p->use_value ? value / (p->value_scale > 0 ? p->value_scale : 1.0f) : 1.0f;
    if (p->half_life > 0) w *= (float)exp2(-(double)(p->t_ref - ts) / p->half_life);
    if (w < 0) w = 0;
    return 1.0f + p->alpha * w;
}

static inline float dot(const float *a, const float *b, size_t d) {
    float s = 0;
    for (size_t k = 0; k < d; k++)
        s += a[k] * b[k];
    return s;
}

/* y += a * x */
static inline void axpy(float a, const float *x, float *y, size_t d) {
    for (size_t k = 0; k < d; k++)
        y[k] += a * x[k];
}

/* out = G v */
static inline void gemv(const float *g, const float *v, float *out, size_t d) {
    for (size_t i = 0; i < d; i++)
        out[i] = dot(g + i * d, v, d);
}

#define GRAM_BLOCK 4096

void fold_gram(const float *y, size_t n, size_t dim, float reg, float *out) {
    /* Per-block partial sums in double, added in block order: the result
     * does not depend on how OpenMP schedules the blocks. */
    size_t nblocks = (n + GRAM_BLOCK - 1) / GRAM_BLOCK;
    size_t dd = dim * dim;
    double *part = calloc(nblocks ? nblocks * dd : 1, sizeof(double));
    if (!part) { /* fall back to a serial sum: slower, same contract */
        for (size_t i = 0; i < dd; i++)
            out[i] = 0;
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < dim; i++)
                axpy(y[r * dim + i], y + r * dim, out + i * dim, dim);
        for (size_t i = 0; i < dim; i++)
            out[i * dim + i] += reg;
        return;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t b = 0; b < nblocks; b++) {
        double *acc = part + b * dd;
        size_t end = (b + 1) * GRAM_BLOCK < n ? (b + 1) * GRAM_BLOCK : n;
        for (size_t r = b * GRAM_BLOCK; r < end; r++) {
            const float *row = y + r * dim;
            for (size_t i = 0; i < dim; i++) {
                double yi = row[i];
                if (yi == 0) continue;
                double *a = acc + i * dim;
                for (size_t j = i; j < dim; j++)
                    a[j] += yi * row[j];
            }
        }
    }
    for (size_t i = 0; i < dim; i++)
        for (size_t j = i; j < dim; j++) {
            double s = 0;
            for (size_t b = 0; b < nblocks; b++)
                s += part[b * dd + i * dim + j];
            out[i * dim + j] = out[j * dim + i] = (float)s;
        }
    for (size_t i = 0; i < dim; i++)
        out[i * dim + i] += reg;
    free(part);
}

void fold_solve_row(const float *other, size_t dim, const float *gram, const uint32_t *cols,
                    const float *conf, size_t n, size_t cg_steps, float *x, float *scratch) {
    float *r = scratch, *p = scratch + dim, *ap = scratch + 2 * dim;
    /* r = b - A x, with A = G + sum (c-1) y y^T and b = sum c y. */
    gemv(gram, x, r, dim);
    for (size_t k = 0; k < dim; k++)
        r[k] = -r[k];
    for (size_t e = 0; e < n; e++) {
        const float *yi = other + (size_t)cols[e] * dim;
        float c = conf[e];
        axpy(c - (c - 1.0f) * dot(yi, x, dim), yi, r, dim);
    }
    memcpy(p, r, dim * sizeof(float));
    float rs_old = dot(r, r, dim);
    if (rs_old < 1e-20f) return;
    for (size_t it = 0; it < cg_steps; it++) {
        gemv(gram, p, ap, dim);
        for (size_t e = 0; e < n; e++) {
            const float *yi = other + (size_t)cols[e] * dim;
            axpy((conf[e] - 1.0f) * dot(yi, p, dim), yi, ap, dim);
        }
        float pap = dot(p, ap, dim);
        if (!(pap > 0)) break;
        float a = rs_old / pap;
        axpy(a, p, x, dim);
        axpy(-a, ap, r, dim);
        float rs_new = dot(r, r, dim);
        if (rs_new < 1e-20f) break;
        float beta = rs_new / rs_old;
        for (size_t k = 0; k < dim; k++)
            p[k] = r[k] + beta * p[k];
        rs_old = rs_new;
    }
}

/* One half-sweep: solve every row of `rows` against fixed `other`. */

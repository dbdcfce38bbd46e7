/* embed.c - implicit ALS with conjugate-gradient row solves. See embed.h. */
#include "embed.h"

#include "bconfig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

void emb_params_init(emb_params *p) {
    bcfg c;
    bcfg_init(&c); /* the defaults are bconfig.c's rows, written once */
    *p = c.embed;
}

float emb_confidence(const emb_params *p, float value, int64_t ts) {
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

void emb_gram(const float *y, size_t n, size_t dim, float reg, float *out) {
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

void emb_solve_row(const float *other, size_t dim, const float *gram, const uint32_t *cols,
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
static int solve_side(const ds_csr *rows, const float *other, size_t n_other, const emb_params *p,
                      float *out, mx_err *err) {
    size_t dim = p->dim;
    float *gram = malloc(dim * dim * sizeof(float));
    if (!gram) return mx_err_set(err, MX_ENOMEM, "out of memory for the Gram matrix");
    emb_gram(other, n_other, dim, p->reg, gram);
    int oom = 0;
#pragma omp parallel
    {
        float *scratch = malloc(3 * dim * sizeof(float));
        size_t cap = 0;
        float *conf = NULL;
        if (!scratch) {
#pragma omp atomic write
            oom = 1;
        }
#pragma omp for schedule(dynamic, 64)
        for (size_t r = 0; r < rows->n_rows; r++) {
            if (!scratch) continue;
            size_t beg = rows->ptr[r], n = rows->ptr[r + 1] - beg;
            float *x = out + r * dim;
            if (n == 0) {
                memset(x, 0, dim * sizeof(float));
                continue;
            }
            if (n > cap) {
                float *c2 = realloc(conf, n * sizeof(float));
                if (!c2) {
#pragma omp atomic write
                    oom = 1;
                    continue;
                }
                conf = c2;
                cap = n;
            }
            for (size_t e = 0; e < n; e++)
                conf[e] = emb_confidence(p, rows->value[beg + e], rows->ts[beg + e]);
            emb_solve_row(other, dim, gram, rows->col + beg, conf, n, p->cg_steps, x, scratch);
        }
        free(conf);
        free(scratch);
    }
    free(gram);
    if (oom) return mx_err_set(err, MX_ENOMEM, "out of memory in an ALS sweep");
    return 0;
}

static void init_factors(float *f, size_t n, size_t dim, uint64_t seed) {
    rng_state st;
    rng_seed(&st, seed);
    float scale = 0.1f / sqrtf((float)dim);
    for (size_t i = 0; i < n * dim; i++)
        f[i] = scale * (float)rng_normal(&st);
}

int emb_train_als(const ds_csr *by_user, const ds_csr *by_item, const emb_params *p, float *user_f,
                  float *item_f, mx_err *err) {
    if (p->dim == 0 || p->dim > 1024)
        return mx_err_set(err, MX_EINVAL, "embedding dim must be in 1..1024 (got %zu)", p->dim);
    if (!(p->reg >= 0) || !(p->alpha >= 0))
        return mx_err_set(err, MX_EINVAL, "reg and alpha must be >= 0");
    size_t nu = by_user->n_rows, ni = by_item->n_rows;
    init_factors(user_f, nu, p->dim, p->seed);
    init_factors(item_f, ni, p->dim, p->seed ^ 0x9e3779b97f4a7c15ULL);
    for (size_t it = 0; it < p->iters; it++) {
        int rc = solve_side(by_user, item_f, ni, p, user_f, err);
        if (rc) return rc;
        rc = solve_side(by_item, user_f, nu, p, item_f, err);
        if (rc) return rc;
    }
    return 0;
}

int emb_fold_in_users(const ds_csr *by_user, const float *item_f, size_t n_items,
                      const emb_params *p, float *user_f, mx_err *err) {
    memset(user_f, 0, (size_t)by_user->n_rows * p->dim * sizeof(float));
    /* CG from zero needs more steps than a warm-started sweep. */
    emb_params q = *p;
    q.cg_steps = p->cg_steps * 3 > q.dim ? q.dim : p->cg_steps * 3;
    return solve_side(by_user, item_f, n_items, &q, user_f, err);
}

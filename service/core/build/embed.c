/* embed.c - implicit ALS with conjugate-gradient row solves. See embed.h. */
#include "embed.h"

#include "bconfig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "foldin.h"
#include "rng.h"

void emb_params_init(emb_params *p) {
    bcfg c;
    bcfg_init(&c); /* the defaults are bconfig.c's rows, written once */
    *p = c.embed;
}

static int solve_side(const ds_csr *rows, const float *other, size_t n_other, const emb_params *p,
                      float *out, mx_err *err) {
    size_t dim = p->dim;
    float *gram = malloc(dim * dim * sizeof(float));
    if (!gram) return mx_err_set(err, MX_ENOMEM, "out of memory for the Gram matrix");
    fold_gram(other, n_other, dim, p->reg, gram);
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
                conf[e] = fold_confidence(p, rows->value[beg + e], rows->ts[beg + e]);
            fold_solve_row(other, dim, gram, rows->col + beg, conf, n, p->cg_steps, x, scratch);
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

/* test_embed.c - implicit ALS keeps the promises of embed.h: the Gram
 * matrix is Y^T Y + reg I, a row solve reaches the exact least-squares
 * optimum, training separates block-structured tastes, results are
 * bitwise reproducible for a seed whatever the thread count, and folding
 * users in against trained items recovers their trained directions. */
#include "embed.h"
#include "rng.h"
#include "tap.h"

#include <omp.h>
#include <stdint.h>

static double cosine(const float *a, const float *b, size_t d) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t j = 0; j < d; j++) {
        ab += (double)a[j] * b[j];
        aa += (double)a[j] * a[j];
        bb += (double)b[j] * b[j];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

static double dotf(const float *a, const float *b, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++)
        s += (double)a[j] * b[j];
    return s;
}

static void random_matrix(float *x, size_t n, rng_state *st) {
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rng_normal(st);
}

/* Solves A x = b (n x n, row-major, overwritten) by Gaussian elimination
 * with partial pivoting, in double. */
static void gauss_solve(double *a, double *b, size_t n, double *x) {
    for (size_t c = 0; c < n; c++) {
        size_t p = c;
        for (size_t r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[p * n + c])) p = r;
        if (p != c) {
            for (size_t j = 0; j < n; j++) {
                double t = a[c * n + j];
                a[c * n + j] = a[p * n + j];
                a[p * n + j] = t;
            }
            double t = b[c];
            b[c] = b[p];
            b[p] = t;
        }
        ASSERT(fabs(a[c * n + c]) > 1e-12);
        for (size_t r = c + 1; r < n; r++) {
            double f = a[r * n + c] / a[c * n + c];
            for (size_t j = c; j < n; j++)
                a[r * n + j] -= f * a[c * n + j];
            b[r] -= f * b[c];
        }
    }
    for (size_t c = n; c-- > 0;) {
        double s = b[c];
        for (size_t j = c + 1; j < n; j++)
            s -= a[c * n + j] * x[j];
        x[c] = s / a[c * n + c];
    }
}

static void check_gram(size_t n, size_t dim, float reg, uint64_t seed) {
    rng_state st;
    rng_seed(&st, seed);
    float *y = malloc(n * dim * sizeof(float)), *g = malloc(dim * dim * sizeof(float));
    ASSERT(y && g);
    random_matrix(y, n * dim, &st);
    /* a few zero rows and entries (fold_gram skips zeros) */
    for (size_t j = 0; j < dim; j++)
        y[3 * dim + j] = 0;
    y[5 * dim + 1] = 0;
    fold_gram(y, n, dim, reg, g);
    for (size_t i = 0; i < dim; i++)
        for (size_t j = 0; j < dim; j++) {
            double s = i == j ? reg : 0;
            for (size_t r = 0; r < n; r++)
                s += (double)y[r * dim + i] * y[r * dim + j];
            ASSERT_NEAR(g[i * dim + j], s, 1e-5 * (fabs(s) + (double)n));
            ASSERT(g[i * dim + j] == g[j * dim + i]); /* exactly symmetric */
        }
    free(y);
    free(g);
}

static void test_gram(void) {
    check_gram(50, 7, 0.5f, 1);
    check_gram(9000, 5, 2.0f, 2); /* more than one 4096-row block */
    /* no rows: reg I */
    float g[9];
    fold_gram(NULL, 0, 3, 1.5f, g);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            ASSERT_EQ(g[i * 3 + j] == (i == j ? 1.5f : 0.0f), 1);
    TEST_OK("fold_gram equals a brute-force Y^T Y + reg I (one and several blocks)");
}

/* The exact optimum of sum_i c_i (p_i - x.y_i)^2 + reg |x|^2 over ALL
 * rows of y (p = 1, c = conf for the listed rows; p = 0, c = 1 otherwise),
 * computed directly from the loss, not from a Gram matrix. */
static void exact_row(const float *y, size_t n_rows, size_t dim, float reg, const uint32_t *cols,
                      const float *conf, size_t n, double *x) {
    double *a = calloc(dim * dim, sizeof(double)), *b = calloc(dim, sizeof(double));
    ASSERT(a && b);
    for (size_t r = 0; r < n_rows; r++) {
        double c = 1, p = 0;
        for (size_t e = 0; e < n; e++)
            if (cols[e] == r) c = conf[e], p = 1;
        const float *yr = y + r * dim;
        for (size_t i = 0; i < dim; i++) {
            b[i] += c * p * yr[i];
            for (size_t j = 0; j < dim; j++)
                a[i * dim + j] += c * yr[i] * yr[j];
        }
    }
    for (size_t i = 0; i < dim; i++)
        a[i * dim + i] += reg;
    gauss_solve(a, b, dim, x);
    free(a);
    free(b);
}

static void test_solve_row(void) {
    enum { N = 30, D = 6 };
    rng_state st;
    rng_seed(&st, 11);
    float y[N * D], g[D * D], scratch[3 * D], x[D];
    random_matrix(y, N * D, &st);
    for (size_t i = 0; i < N * D; i++)
        y[i] *= 0.5f;
    const float reg = 0.3f;
    fold_gram(y, N, D, reg, g);
    const uint32_t cols[] = {2, 5, 7, 11, 19, 23, 29};
    const float conf[] = {11, 3, 1.5f, 21, 6, 2, 8};
    size_t n = sizeof(cols) / sizeof(cols[0]);
    double want[D];
    exact_row(y, N, D, reg, cols, conf, n, want);

    /* cold start, dim CG steps: exact up to float rounding */
    memset(x, 0, sizeof(x));
    fold_solve_row(y, D, g, cols, conf, n, D, x, scratch);
    double scale = 0;
    for (size_t k = 0; k < D; k++)
        scale = fmax(scale, fabs(want[k]));
    ASSERT(scale > 0.05); /* a non-trivial solution */
    for (size_t k = 0; k < D; k++)
        ASSERT_NEAR(x[k], want[k], 1e-4 * (1 + scale));

    /* warm start from elsewhere converges to the same point */
    for (size_t k = 0; k < D; k++)
        x[k] = (float)rng_normal(&st);
    fold_solve_row(y, D, g, cols, conf, n, 2 * D, x, scratch);
    for (size_t k = 0; k < D; k++)
        ASSERT_NEAR(x[k], want[k], 1e-4 * (1 + scale));

    /* already optimal: a further call leaves x (nearly) unchanged */
    float keep[D];
    memcpy(keep, x, sizeof(x));
    fold_solve_row(y, D, g, cols, conf, n, 3, x, scratch);
    for (size_t k = 0; k < D; k++)
        ASSERT_NEAR(x[k], keep[k], 1e-4 * (1 + scale));

    /* one CG step from zero is a descent step, not the optimum */
    memset(x, 0, sizeof(x));
    fold_solve_row(y, D, g, cols, conf, n, 1, x, scratch);
    double dist = 0;
    for (size_t k = 0; k < D; k++)
        dist += (x[k] - want[k]) * (x[k] - want[k]);
    ASSERT(dist > 1e-6);
    ASSERT(dotf(x, x, D) > 0);
    TEST_OK("fold_solve_row converges to the exact least-squares row (Gaussian elimination)");
}

static void test_confidence(void) {
    emb_params p;
    emb_params_init(&p);
    ASSERT_NEAR(p.reg, 0.05 * (1 + p.alpha), 1e-6);
    p.alpha = 10;
    ASSERT_NEAR(fold_confidence(&p, 5.0f, 0), 11.0, 1e-6); /* binary: value ignored */
    p.use_value = 1;
    p.value_scale = 2.0f;
    ASSERT_NEAR(fold_confidence(&p, 5.0f, 0), 1.0 + 10.0 * 2.5, 1e-5);
    ASSERT_NEAR(fold_confidence(&p, -3.0f, 0), 1.0, 1e-6); /* negative weights clamp to 0 */
    /* age decay: w halves every half_life seconds before t_ref */
    p.use_value = 0;
    p.half_life = 10;
    p.t_ref = 100;
    ASSERT_NEAR(fold_confidence(&p, 1.0f, 100), 11.0, 1e-5);
    ASSERT_NEAR(fold_confidence(&p, 1.0f, 90), 6.0, 1e-5);
    ASSERT_NEAR(fold_confidence(&p, 1.0f, 80), 3.5, 1e-5);
    TEST_OK("fold_confidence is 1 + alpha * w, w decayed by age");
}

static void make_csr(const ds_event *ev, size_t n, uint32_t nu, uint32_t ni, ds_csr *bu,
                     ds_csr *bi) {
    mx_err err = {0};
    ASSERT_EQ(ds_csr_build(bu, ev, n, nu, 0, &err), 0);
    ASSERT_EQ(ds_csr_build(bi, ev, n, ni, 1, &err), 0);
}

/* Two groups of 20 users each liking about 60% of their own group's 20
 * items and nothing else; user 40 and item 40 have no events. */
enum { BU = 41, BI = 41, BG = 20 };

/* The block problem as CSRs, with ALS parameters of dim 8 and `iters`
 * sweeps; liked (BU x BI, may be NULL) marks each user's liked items. */
static void block_problem(unsigned char *liked, ds_csr *bu, ds_csr *bi, emb_params *p,
                          size_t iters) {
    ds_event ev[BU * BI];
    rng_state st;
    rng_seed(&st, 5);
    size_t n = 0;
    if (liked) memset(liked, 0, BU * BI);
    for (uint32_t u = 0; u < 2 * BG; u++) {
        uint32_t g = u / BG;
        for (uint32_t i = g * BG; i < (g + 1) * BG; i++) {
            if (rng_uniform(&st) < 0.6) {
                ev[n] = (ds_event){u, i, 1000 + (int64_t)n, 1.0f};
                n++;
                if (liked) liked[u * BI + i] = 1;
            }
        }
    }
    make_csr(ev, n, BU, BI, bu, bi);
    emb_params_init(p);
    p->dim = 8;
    p->iters = iters;
}

static void test_blocks(void) {
    unsigned char liked[BU * BI];
    ds_csr bu, bi;
    emb_params p;
    block_problem(liked, &bu, &bi, &p, 15);
    ASSERT(p.half_life == 0); /* off by default */
    float *uf = malloc(BU * p.dim * sizeof(float)), *itf = malloc(BI * p.dim * sizeof(float));
    mx_err err = {0};
    ASSERT_EQ(emb_train_als(&bu, &bi, &p, uf, itf, &err), 0);
    size_t d = p.dim;
    for (uint32_t u = 0; u < 2 * BG; u++) {
        uint32_t g = u / BG;
        double in_unseen = 0, out = 0, out_max = -1e9;
        size_t n_in_unseen = 0;
        for (uint32_t i = 0; i < 2 * BG; i++) {
            double s = dotf(uf + u * d, itf + i * d, d);
            if (i / BG == g) {
                if (!liked[u * BI + i]) in_unseen += s, n_in_unseen++;
            } else {
                out += s;
                if (s > out_max) out_max = s;
            }
        }
        out /= BG;
        /* liked items score high, out-of-group items near zero */
        for (uint32_t i = g * BG; i < (g + 1) * BG; i++)
            if (liked[u * BI + i]) ASSERT(dotf(uf + u * d, itf + i * d, d) > out_max + 0.2);
        /* and the group generalises: unseen in-group items beat the others */
        if (n_in_unseen) ASSERT(in_unseen / (double)n_in_unseen > out + 0.1);
    }
    /* rows without events are zero */
    for (size_t k = 0; k < d; k++) {
        ASSERT(uf[40 * d + k] == 0.0f);
        ASSERT(itf[40 * d + k] == 0.0f);
    }
    /* invalid parameters are errors, not crashes */
    p.dim = 0;
    ASSERT_EQ(emb_train_als(&bu, &bi, &p, uf, itf, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "dim");
    p.dim = 8;
    p.reg = -1;
    ASSERT_EQ(emb_train_als(&bu, &bi, &p, uf, itf, &err), MX_EINVAL);
    free(uf);
    free(itf);
    ds_csr_free(&bu);
    ds_csr_free(&bi);
    TEST_OK("ALS on two taste groups scores in-group items above out-of-group ones");
}

/* A bigger random log (more than 4096 users, so the Gram matrix over users
 * is summed from several blocks) trained with a given thread count. */
static void train_random(int threads, uint64_t seed, float **uf, float **itf, size_t *nu_out,
                         size_t *ni_out) {
    enum { NU = 5000, NI = 300, PER = 8 };
    static ds_event ev[NU * PER];
    rng_state st;
    rng_seed(&st, 99);
    size_t n = 0;
    for (uint32_t u = 0; u < NU; u++) {
        uint32_t base = (uint32_t)(rng_next(&st) % NI);
        for (uint32_t j = 0; j < PER; j++)
            ev[n++] = (ds_event){u, (base + j * 7) % NI, (int64_t)j, 1.0f};
    }
    ds_csr bu, bi;
    make_csr(ev, n, NU, NI, &bu, &bi);
    emb_params p;
    emb_params_init(&p);
    p.dim = 16;
    p.iters = 3;
    p.seed = seed;
    *uf = malloc(NU * p.dim * sizeof(float));
    *itf = malloc(NI * p.dim * sizeof(float));
    mx_err err = {0};
    omp_set_num_threads(threads);
    ASSERT_EQ(emb_train_als(&bu, &bi, &p, *uf, *itf, &err), 0);
    omp_set_num_threads(2);
    ds_csr_free(&bu);
    ds_csr_free(&bi);
    *nu_out = (size_t)NU * p.dim;
    *ni_out = (size_t)NI * p.dim;
}

static void test_determinism(void) {
    float *u1, *i1, *u2, *i2, *u3, *i3, *u4, *i4;
    size_t nu, ni;
    train_random(2, 42, &u1, &i1, &nu, &ni);
    train_random(2, 42, &u2, &i2, &nu, &ni);
    ASSERT(memcmp(u1, u2, nu * sizeof(float)) == 0);
    ASSERT(memcmp(i1, i2, ni * sizeof(float)) == 0);
    train_random(1, 42, &u3, &i3, &nu, &ni);
    ASSERT(memcmp(u1, u3, nu * sizeof(float)) == 0);
    ASSERT(memcmp(i1, i3, ni * sizeof(float)) == 0);
    train_random(2, 43, &u4, &i4, &nu, &ni);
    ASSERT(memcmp(i1, i4, ni * sizeof(float)) != 0);
    float *bufs[] = {u1, i1, u2, i2, u3, i3, u4, i4};
    for (size_t k = 0; k < 8; k++)
        free(bufs[k]);
    TEST_OK("same seed: bitwise identical factors, with 1 or 2 threads; other seed differs");
}

static void test_fold_in(void) {
    ds_csr bu, bi;
    emb_params p;
    block_problem(NULL, &bu, &bi, &p, 20);
    size_t d = p.dim;
    float *uf = malloc(BU * d * sizeof(float)), *itf = malloc(BI * d * sizeof(float));
    float *fold = malloc(BU * d * sizeof(float));
    mx_err err = {0};
    ASSERT_EQ(emb_train_als(&bu, &bi, &p, uf, itf, &err), 0);
    for (size_t k = 0; k < BU * d; k++)
        fold[k] = 123.0f; /* overwritten */
    ASSERT_EQ(emb_fold_in_users(&bu, itf, BI, &p, fold, &err), 0);
    double worst = 1;
    for (uint32_t u = 0; u < 2 * BG; u++) {
        double c = cosine(fold + u * d, uf + u * d, d);
        if (c < worst) worst = c;
        /* and the fold-in lands in the right group */
        uint32_t g = u / BG, other = 1 - g;
        double in = 0, out = 0;
        for (uint32_t i = 0; i < BG; i++) {
            in += dotf(fold + u * d, itf + (g * BG + i) * d, d);
            out += dotf(fold + u * d, itf + (other * BG + i) * d, d);
        }
        ASSERT(in > out);
    }
    ASSERT(worst > 0.95);
    for (size_t k = 0; k < d; k++)
        ASSERT(fold[40 * d + k] == 0.0f); /* no events: zero */
    free(uf);
    free(itf);
    free(fold);
    ds_csr_free(&bu);
    ds_csr_free(&bi);
    TEST_OK("emb_fold_in_users recovers the trained user directions (cosine > 0.95)");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_confidence();
    test_gram();
    test_solve_row();
    test_blocks();
    test_determinism();
    test_fold_in();
    return 0;
}

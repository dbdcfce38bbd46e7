/* cmd_bench.c - `mixrec bench`: load time, memory and per-query retrieval
 * latency of a saved model, on one thread.
 *
 * Loads the model, picks a deterministic sample of users that have a
 * mixture, and times each retrieval method query by query (after a
 * warm-up) with the model's own retrieval settings: the figures a serving
 * thread would see. Latencies are wall-clock (CLOCK_MONOTONIC) around
 * ret_begin + the source, i.e. what the service pays per candidate pool. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <omp.h>

#include "cli_util.h"
#include "commands.h"
#include "model.h"
#include "pipeline.h"
#include "rank_features.h"
#include "ranker.h"
#include "ranker_xgb.h"
#include "recommend.h"
#include "retrieve.h"
#include "rng.h"

enum { B_MODEL = 1, B_K, B_QUERIES, B_WARMUP, B_SEED, B_METHODS, B_NPROBE, B_JSON };

static const cli_opt bench_opts[] = {
    {"model", "DIR", "model root (with CURRENT) or one version directory (required)", B_MODEL},
    {"k", "K", "candidates per query (default 200)", B_K},
    {"queries", "N", "timed queries per method (default 2000)", B_QUERIES},
    {"warmup", "N", "untimed queries per method before timing (default 200)", B_WARMUP},
    {"seed", "S", "seed of the user sample (default 1)", B_SEED},
    {"methods", "LIST",
     "comma-separated subset of the methods above (default all): single,\n"
     "                               single_exact, mixture, blend, features, rank_compact,\n"
     "                               rank_xgboost, recommend",
     B_METHODS},
    {"nprobe", "N", "lists probed by single and blend (default: the model's retrieval.nprobe)",
     B_NPROBE},
    {"json", NULL, "print one JSON object instead of the table", B_JSON},
    {0},
};

/* The methods timed, in output order (--methods' help above lists them too). */
enum {
    M_SINGLE,
    M_SINGLE_EXACT,
    M_MIXTURE,
    M_BLEND,
    M_FEATURES,
    M_RANK_COMPACT,
    M_RANK_XGBOOST,
    M_RECOMMEND,
    M_N
};
static const char *method_names[M_N] = {"single",   "single_exact", "mixture",      "blend",
                                        "features", "rank_compact", "rank_xgboost", "recommend"};
/* Methods that need the model's ranker. */
static int needs_ranker(int meth) {
    return meth >= M_FEATURES && meth <= M_RANK_XGBOOST;
}

typedef struct {
    const char *model;
    size_t k, queries, warmup, seed;
    size_t nprobe; /* SIZE_MAX = the model's */
    int json;
    int run[M_N]; /* methods selected */
} bench_args;

typedef struct {
    double median, p90, p99, mean, min, max; /* wall-clock microseconds */
    double cpu_median, cpu_mean;             /* thread CPU time, microseconds */
    double mean_cands;
} bench_stats;

static int parse_size(const char *name, const char *arg, size_t lo, size_t hi, size_t *out) {
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (end == arg || *end || arg[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "mixrec bench: --%s must be an integer in [%zu, %zu], got '%s'\n", name, lo,
                hi, arg);
        return 2;
    }
    *out = (size_t)v;
    return 0;
}

static int parse_methods(const char *arg, int *run) {
    memset(run, 0, M_N * sizeof(int));
    const char *p = arg;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int i = 0; i < M_N; i++)
            if (strlen(method_names[i]) == len && !strncmp(method_names[i], p, len)) found = i;
        if (found < 0) {
            fprintf(stderr, "mixrec bench: unknown method '%.*s' in --methods (known:", (int)len,
                    p);
            for (int i = 0; i < M_N; i++)
                fprintf(stderr, "%s %s", i ? "," : "", method_names[i]);
            fprintf(stderr, ")\n");
            return 2;
        }
        run[found] = 1;
        p += len + (p[len] == ',');
    }
    for (int i = 0; i < M_N; i++)
        if (run[i]) return 0;
    fprintf(stderr, "mixrec bench: --methods names no method\n");
    return 2;
}

static int on_opt(void *ud, int id, const char *arg) {
    bench_args *a = ud;
    switch (id) {
    case B_MODEL:
        a->model = arg;
        return 0;
    case B_K:
        return parse_size("k", arg, 1, 10000, &a->k);
    case B_QUERIES:
        return parse_size("queries", arg, 1, 100000000, &a->queries);
    case B_WARMUP:
        return parse_size("warmup", arg, 0, 100000000, &a->warmup);
    case B_SEED:
        return parse_size("seed", arg, 0, SIZE_MAX, &a->seed);
    case B_NPROBE:
        return parse_size("nprobe", arg, 0, 65536, &a->nprobe);
    case B_METHODS:
        return parse_methods(arg, a->run);
    case B_JSON:
        a->json = 1;
        return 0;
    }
    return 2;
}

static void usage(FILE *f) {
    fprintf(f, "Usage: mixrec bench --model DIR [--k K] [--queries N] [--warmup N] [--seed S]\n"
               "                    [--methods LIST] [--nprobe N] [--json]\n\n"
               "Loads a model and measures, on one thread, the latency of one query of each\n"
               "retrieval method for a deterministic sample of users with a mixture (their\n"
               "seen items excluded):\n"
               "  single        global search with the user vector, nprobe from the model\n"
               "  single_exact  the same over every list (nprobe 0)\n"
               "  mixture       kNN-Embed: the smoothed mixture, one batched search\n"
               "  blend         the service's pool: mixture + single + popular\n"
               "  features      the ranker's features of a pool of k (rec_candidates\n"
               "                minus blend: the difference of the two medians)\n"
               "  rank_compact  scoring those k rows with the compact tree evaluator\n"
               "  rank_xgboost  the same rows with XGBoost's own predictor (in-place, 1 thread)\n"
               "  recommend     a whole request (rec_recommend, k 10): pool, features,\n"
               "                ranking, filters\n"
               "The ranker methods need a model with a ranker; k is the pool size.\n"
               "Prints load time, resident memory after load, and per method the median,\n"
               "p90, p99 and mean wall-clock latency in microseconds, the median thread CPU\n"
               "time (less sensitive to a busy machine) and the mean candidates returned;\n"
               "after recommend, where a call's time goes stage by stage (prepare, each\n"
               "source, fusion, features, ranking, place), checked against the call's mean.\n"
               "With nprobe 0 the single source scans the whole catalogue: on large\n"
               "catalogues use --methods or --nprobe to keep the run short.\n\n"
               "Options:\n");
    cli_print_options(f, bench_opts);
}

static double now_us(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* VmHWM (peak) and VmRSS (current) of this process in KiB; -1 if unknown. */
static void read_rss(long *hwm_kb, long *rss_kb) {
    *hwm_kb = *rss_kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "VmHWM:", 6)) *hwm_kb = strtol(line + 6, NULL, 10);
        if (!strncmp(line, "VmRSS:", 6)) *rss_kb = strtol(line + 6, NULL, 10);
    }
    fclose(f);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Quantile q of sorted v[0..n), linear between the closest ranks. */
static double quantile(const double *v, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

/* Fills st from the q timed queries (lat, cpu: microseconds; sorted here)
 * and the candidates they returned in all. */
static void summarize(double *lat, double *cpu, size_t q, double cands, bench_stats *st) {
    double sum = 0, cpu_sum = 0;
    for (size_t i = 0; i < q; i++)
        sum += lat[i], cpu_sum += cpu[i];
    qsort(lat, q, sizeof(double), cmp_double);
    qsort(cpu, q, sizeof(double), cmp_double);
    st->cpu_median = quantile(cpu, q, 0.5);
    st->cpu_mean = cpu_sum / (double)q;
    st->median = quantile(lat, q, 0.5);
    st->p90 = quantile(lat, q, 0.9);
    st->p99 = quantile(lat, q, 0.99);
    st->mean = sum / (double)q;
    st->min = lat[0];
    st->max = lat[q - 1];
    st->mean_cands = cands / (double)q;
}

/* One query of method meth for user u; *n receives the candidates. */
static int run_one(const mx_model *m, ret_ctx *ctx, int meth, uint32_t u, size_t k,
                   const ret_params *p, const ret_params *exact, ret_cand *out, size_t *n,
                   mx_err *err) {
    const uint32_t *seen = m->seen_items + m->seen_ptr[u];
    size_t n_seen = m->seen_ptr[u + 1] - m->seen_ptr[u];
    const float *q = m->user_vecs + (size_t)u * m->dim;
    const uint32_t *cid = m->mix.cid + (size_t)u * m->mix.m;
    const float *w = m->mix.w + (size_t)u * m->mix.m;
    size_t mlen = m->mix.len[u];
    ret_begin(ctx, seen, n_seen, 0);
    switch (meth) {
    case M_SINGLE:
        return ret_single(ctx, m->index, q, k, p, out, n, err);
    case M_SINGLE_EXACT:
        return ret_single(ctx, m->index, q, k, exact, out, n, err);
    case M_MIXTURE:
        return ret_mixture(ctx, m->index, q, cid, w, mlen, k, p, out, n, err);
    default:
        return ret_blend(ctx, m->index, &m->pop, q, cid, w, mlen, k, p, out, n, err);
    }
}

/* Warms up, then times a.queries queries of meth over the sample. */
static int bench_method(const mx_model *m, ret_ctx *ctx, int meth, const bench_args *a,
                        const uint32_t *sample, size_t n_sample, ret_cand *out, double *lat,
                        double *cpu, bench_stats *st, mx_err *err) {
    ret_params p = m->cfg.retrieval, exact = m->cfg.retrieval;
    p.nprobe = a->nprobe;
    exact.nprobe = 0;
    size_t n = 0;
    for (size_t i = 0; i < a->warmup; i++) {
        int rc = run_one(m, ctx, meth, sample[i % n_sample], a->k, &p, &exact, out, &n, err);
        if (rc) return rc;
    }
    double cands = 0;
    for (size_t i = 0; i < a->queries; i++) {
        double c0 = now_us(CLOCK_THREAD_CPUTIME_ID), t0 = now_us(CLOCK_MONOTONIC);
        int rc = run_one(m, ctx, meth, sample[i % n_sample], a->k, &p, &exact, out, &n, err);
        lat[i] = now_us(CLOCK_MONOTONIC) - t0;
        cpu[i] = now_us(CLOCK_THREAD_CPUTIME_ID) - c0;
        if (rc) return rc;
        cands += (double)n;
    }
    summarize(lat, cpu, a->queries, cands, st);
    return 0;
}

/* A deterministic sample of up to want users with a mixture (partial
 * Fisher-Yates over all of them). Returns the sample size; *out is owned
 * by the caller. */
static size_t pick_users(const mx_model *m, size_t want, uint64_t seed, uint32_t **out) {
    *out = NULL;
    size_t n = 0;
    for (size_t u = 0; u < m->n_users; u++)
        n += m->mix.len[u] > 0;
    if (n == 0) return 0;
    uint32_t *all = malloc(n * sizeof(uint32_t));
    if (!all) return 0;
    n = 0;
    for (size_t u = 0; u < m->n_users; u++)
        if (m->mix.len[u] > 0) all[n++] = (uint32_t)u;
    rng_state rs;
    rng_seed(&rs, seed);
    size_t take = want < n ? want : n;
    for (size_t i = 0; i < take; i++) {
        size_t j = i + (size_t)(rng_next(&rs) % (uint64_t)(n - i));
        uint32_t t = all[i];
        all[i] = all[j];
        all[j] = t;
    }
    *out = all;
    return take;
}

/* Pools and features of the sampled users, computed once, for timing the
 * scoring alone on the very rows the service would score. */
typedef struct {
    rec_ctx *rec;
    rkx_booster *xgb;
    size_t cap;  /* rows per set: the pool of k, up to RET_N_SOURCES x k (a union) */
    float *rows; /* n_sets x cap x FEAT_N */
    size_t *n_rows;
    size_t n_sets;
    float *scores; /* cap */
} rank_bench;

static int rank_one(const mx_model *m, rank_bench *rb, int meth, uint32_t u, size_t i, size_t k,
                    size_t *n, mx_err *err) {
    rec_params p;
    rec_params_init(&p);
    rec_query q = {.user = u, .k = 10, .now = m->t_ref};
    const ret_cand *cands;
    const float *x;
    size_t set = i % rb->n_sets;
    const float *rows = rb->rows + set * rb->cap * FEAT_N;
    switch (meth) {
    case M_FEATURES:
        return rec_candidates(rb->rec, &p, &q, k, &cands, &x, n, err);
    case M_RANK_COMPACT:
        *n = rb->n_rows[set];
        rk_forest_predict(m->ranker, rows, *n, FEAT_N, rb->scores);
        return 0;
    case M_RANK_XGBOOST:
        *n = rb->n_rows[set];
        return rkx_predict(rb->xgb, rows, *n, FEAT_N, rb->scores, err);
    default: {
        rec_item items[10];
        return rec_recommend(rb->rec, &p, &q, items, n, err);
    }
    }
}

static int bench_rank(const mx_model *m, rank_bench *rb, int meth, const bench_args *a,
                      const uint32_t *sample, size_t n_sample, double *lat, double *cpu,
                      bench_stats *st, mx_err *err) {
    size_t n = 0;
    for (size_t i = 0; i < a->warmup; i++)
        if (rank_one(m, rb, meth, sample[i % n_sample], i, a->k, &n, err)) return -1;
    double cands = 0;
    for (size_t i = 0; i < a->queries; i++) {
        double c0 = now_us(CLOCK_THREAD_CPUTIME_ID), t0 = now_us(CLOCK_MONOTONIC);
        int rc = rank_one(m, rb, meth, sample[i % n_sample], i, a->k, &n, err);
        lat[i] = now_us(CLOCK_MONOTONIC) - t0;
        cpu[i] = now_us(CLOCK_THREAD_CPUTIME_ID) - c0;
        if (rc) return rc;
        cands += (double)n;
    }
    summarize(lat, cpu, a->queries, cands, st);
    return 0;
}

static int rank_bench_init(const mx_model *m, const bench_args *a, const uint32_t *sample,
                           size_t n_sample, rank_bench *rb, mx_err *err) {
    memset(rb, 0, sizeof(*rb));
    rb->rec = rec_ctx_new(m, a->k);
    rb->n_sets = n_sample < 256 ? n_sample : 256;
    rb->cap = a->k * RET_N_SOURCES;
    rb->rows = malloc(rb->n_sets * rb->cap * FEAT_N * sizeof(float));
    rb->n_rows = calloc(rb->n_sets, sizeof(size_t));
    rb->scores = malloc(rb->cap * sizeof(float));
    if (!rb->rec || !rb->rows || !rb->n_rows || !rb->scores)
        return mx_err_set(err, MX_ENOMEM, "out of memory for the ranker bench");
    if (!m->ranker) return 0;
    int rc = rkx_load(m->ranker_json, m->ranker_json_len, &rb->xgb, err);
    if (rc) return rc;
    rec_params p;
    rec_params_init(&p);
    for (size_t s = 0; s < rb->n_sets; s++) {
        rec_query q = {.user = sample[s], .k = 10, .now = m->t_ref};
        const ret_cand *cands;
        const float *x;
        if ((rc = rec_candidates(rb->rec, &p, &q, a->k, &cands, &x, &rb->n_rows[s], err)))
            return rc;
        memcpy(rb->rows + s * rb->cap * FEAT_N, x, rb->n_rows[s] * FEAT_N * sizeof(float));
    }
    /* the two evaluators agree on these rows (the tests check 1e-5 too) */
    float *ref = malloc(rb->cap * sizeof(float));
    if (!ref) return mx_err_set(err, MX_ENOMEM, "out of memory for the ranker bench");
    for (size_t s = 0; s < rb->n_sets && !rc; s++) {
        const float *rows = rb->rows + s * rb->cap * FEAT_N;
        rk_forest_predict(m->ranker, rows, rb->n_rows[s], FEAT_N, rb->scores);
        rc = rkx_predict(rb->xgb, rows, rb->n_rows[s], FEAT_N, ref, err);
        for (size_t r = 0; r < rb->n_rows[s] && !rc; r++)
            if (fabsf(ref[r] - rb->scores[r]) > 1e-5f)
                rc = mx_err_set(err, MX_EFORMAT, "compact evaluator %g != XGBoost %g",
                                (double)rb->scores[r], (double)ref[r]);
    }
    free(ref);
    return rc;
}

static void rank_bench_free(rank_bench *rb) {
    rec_ctx_free(rb->rec);
    rkx_free(rb->xgb);
    free(rb->rows);
    free(rb->n_rows);
    free(rb->scores);
}

/* Mean microseconds per rec_recommend call in each stage (rec_stage_ns over
 * the recommend method's calls, warm-up included), 0 when not run. */
static double stage_us[REC_N_STAGES];

static void print_json(const bench_args *a, const mx_model *m, double load_s, long hwm, long rss,
                       size_t n_sample, size_t n_with_mix, const bench_stats *st) {
    json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:{s:I,s:I}}",
                          "model", a->model, "version", m->version, "users", (json_int_t)m->n_users,
                          "items", (json_int_t)m->n_items, "indexed_items",
                          (json_int_t)ann_ntotal(m->index), "interests", (json_int_t)m->n_clusters,
                          "dim", (json_int_t)m->dim, "k", (json_int_t)a->k, "queries",
                          (json_int_t)a->queries, "warmup", (json_int_t)a->warmup, "sampled_users",
                          (json_int_t)n_sample, "users_with_mixture", (json_int_t)n_with_mix,
                          "nprobe", (json_int_t)a->nprobe, "load_seconds", load_s,
                          "rss_after_load_kb", "peak", (json_int_t)hwm, "current", (json_int_t)rss);
    json_t *ms = json_object();
    for (int i = 0; i < M_N; i++) {
        if (!a->run[i]) continue;
        json_object_set_new(ms, method_names[i],
                            json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "median_us",
                                      st[i].median, "p90_us", st[i].p90, "p99_us", st[i].p99,
                                      "mean_us", st[i].mean, "min_us", st[i].min, "max_us",
                                      st[i].max, "cpu_median_us", st[i].cpu_median, "cpu_mean_us",
                                      st[i].cpu_mean, "mean_candidates", st[i].mean_cands));
    }
    json_object_set_new(o, "methods", ms);
    if (a->run[M_RECOMMEND]) {
        json_t *stages = json_object();
        for (int i = 0; i < REC_N_STAGES; i++)
            json_object_set_new(stages, rec_stage_name(i), json_real(stage_us[i]));
        json_object_set_new(o, "recommend_stages_mean_us", stages);
    }
    char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", txt ? txt : "{}");
    free(txt);
    json_decref(o);
}

static void print_table(const bench_args *a, const mx_model *m, double load_s, long hwm, long rss,
                        size_t n_sample, size_t n_with_mix, const bench_stats *st) {
    printf("model: %s (version %s): %zu users, %zu items (%zu indexed), %zu interests, dim %zu\n",
           a->model, m->version, m->n_users, m->n_items, ann_ntotal(m->index), m->n_clusters,
           m->dim);
    printf("load: %.3f s; resident after load: peak %.1f MiB, current %.1f MiB\n", load_s,
           (double)hwm / 1024, (double)rss / 1024);
    printf("queries: %zu per method over %zu sampled users (of %zu with a mixture), k %zu, "
           "warm-up %zu, 1 thread, nprobe %zu%s\n\n",
           a->queries, n_sample, n_with_mix, a->k, a->warmup, a->nprobe,
           a->nprobe ? "" : " (exact)");
    printf("%-14s %10s %10s %10s %10s %10s %8s\n", "method", "median us", "p90 us", "p99 us",
           "mean us", "cpu med us", "cands");
    for (int i = 0; i < M_N; i++)
        if (a->run[i])
            printf("%-14s %10.1f %10.1f %10.1f %10.1f %10.1f %8.1f\n", method_names[i],
                   st[i].median, st[i].p90, st[i].p99, st[i].mean, st[i].cpu_median,
                   st[i].mean_cands);
    if (a->run[M_RANK_COMPACT] && a->run[M_RANK_XGBOOST] && st[M_RANK_COMPACT].median > 0)
        printf("\nranking %zu candidates: compact evaluator %.1f us, XGBoost's predictor %.1f us "
               "(median; %.1fx)\n",
               a->k, st[M_RANK_COMPACT].median, st[M_RANK_XGBOOST].median,
               st[M_RANK_XGBOOST].median / st[M_RANK_COMPACT].median);
    if (a->run[M_FEATURES] && a->run[M_BLEND])
        printf("features of %zu candidates: %.1f us (features - blend medians)\n", a->k,
               st[M_FEATURES].median - st[M_BLEND].median);
    if (a->run[M_RECOMMEND]) {
        double sum = 0;
        printf("\nrecommend, where a call's time goes (mean us per call, monotonic clock):\n");
        for (int i = 0; i < REC_N_STAGES; i++) {
            printf("  %-10s %8.1f\n", rec_stage_name(i), stage_us[i]);
            sum += stage_us[i];
        }
        printf("  %-10s %8.1f  (the call's own mean: %.1f us; the rest is the stopwatch and "
               "the call itself)\n",
               "sum", sum, st[M_RECOMMEND].mean);
    }
}

int cmd_bench(int argc, char **argv) {
    bench_args a = {.k = 200,
                    .queries = 2000,
                    .warmup = 200,
                    .seed = 1,
                    .nprobe = SIZE_MAX,
                    .run = {1, 1, 1, 1, 1, 1, 1, 1}};
    int rc = cli_parse(argc, argv, usage, bench_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    if (!a.model) {
        fprintf(stderr, "mixrec bench: --model DIR is required (see --help)\n");
        return 2;
    }
    /* FAISS parallelises batched calls with OpenMP; a serving thread does not. */
    omp_set_num_threads(1);

    mx_err err = {0};
    mx_model *m = NULL;
    double t0 = pipe_now();
    if (model_load(a.model, &m, &err)) {
        fprintf(stderr, "mixrec bench: %s\n", err.msg);
        return 1;
    }
    double load_s = pipe_now() - t0;
    if (a.nprobe == SIZE_MAX) a.nprobe = m->cfg.retrieval.nprobe;
    long hwm, rss;
    read_rss(&hwm, &rss);

    uint32_t *sample = NULL;
    ret_ctx *ctx = NULL;
    ret_cand *out = NULL;
    double *lat = NULL, *cpu = NULL;
    bench_stats st[M_N];
    memset(st, 0, sizeof(st));
    rank_bench rb = {0};
    rc = 1;
    size_t n_with_mix = 0;
    for (size_t u = 0; u < m->n_users; u++)
        n_with_mix += m->mix.len[u] > 0;
    size_t n_sample = pick_users(m, a.queries, a.seed, &sample);
    if (n_sample == 0) {
        fprintf(stderr, "mixrec bench: %s\n",
                n_with_mix ? "out of memory sampling users" : "no user has a mixture");
        goto done;
    }
    ctx = ret_ctx_new(m->index, m->item_interest, m->n_items, a.k, m->mix.m);
    out = malloc(a.k * RET_N_SOURCES * sizeof(ret_cand)); /* the blend: a union of up to 3k */
    lat = malloc(a.queries * sizeof(double));
    cpu = malloc(a.queries * sizeof(double));
    if (!ctx || !out || !lat || !cpu) {
        fprintf(stderr, "mixrec bench: out of memory for k %zu and %zu queries\n", a.k, a.queries);
        goto done;
    }
    cli_log("loaded %s in %.2fs; timing %zu queries per method", a.model, load_s, a.queries);
    for (int i = 0; i < M_N; i++)
        if (a.run[i] && needs_ranker(i) && !m->ranker) {
            cli_log("no ranker in the model (%s): skipping the ranker methods", m->ranker_status);
            for (int j = 0; j < M_N; j++)
                if (needs_ranker(j)) a.run[j] = 0;
        }
    if (rank_bench_init(m, &a, sample, n_sample, &rb, &err)) {
        fprintf(stderr, "mixrec bench: %s\n", err.msg);
        goto done;
    }
    uint64_t stage0[REC_N_STAGES], stage1[REC_N_STAGES];
    for (int i = 0; i < M_N; i++) {
        if (!a.run[i]) continue;
        if (i == M_RECOMMEND) rec_stage_ns(rb.rec, stage0);
        int r = i >= M_FEATURES
                    ? bench_rank(m, &rb, i, &a, sample, n_sample, lat, cpu, &st[i], &err)
                    : bench_method(m, ctx, i, &a, sample, n_sample, out, lat, cpu, &st[i], &err);
        if (r) {
            fprintf(stderr, "mixrec bench: %s: %s\n", method_names[i], err.msg);
            goto done;
        }
        cli_log("%s: median %.1f us", method_names[i], st[i].median);
        if (i != M_RECOMMEND) continue;
        rec_stage_ns(rb.rec, stage1);
        for (int g = 0; g < REC_N_STAGES; g++)
            stage_us[g] = (double)(stage1[g] - stage0[g]) / 1e3 / (double)(a.queries + a.warmup);
    }
    if (a.json)
        print_json(&a, m, load_s, hwm, rss, n_sample, n_with_mix, st);
    else
        print_table(&a, m, load_s, hwm, rss, n_sample, n_with_mix, st);
    rc = 0;
done:
    rank_bench_free(&rb);
    free(cpu);
    free(lat);
    free(out);
    ret_ctx_free(ctx);
    free(sample);
    model_free(m);
    return rc;
}

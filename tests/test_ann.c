/* test_ann.c - the interest-list IVF of ann.h against brute force: lists
 * hold exactly their items, list searches and the exact global search
 * match a direct inner-product ranking, save/load round-trips, and
 * ann_load refuses files that are not an inner-product IVF-Flat. */
#include "ann.h"
#include "ann_scan.h"
#include "ann_topk.h"
#include "rng.h"
#include "tap.h"

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVFFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/index_io_c.h>
#include <omp.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

enum { D = 6, L = 4, N = 200 };

static float vecs[N * D], cents[L * D];
static uint32_t assign[N];
static size_t expect_size[L], n_indexed;
static char tmpdir[64];

/* Items in 4 lists of very different sizes (list 3 holds 3 items), some
 * items not indexed (UINT32_MAX, or a list number out of range). */
static void make_data(void) {
    rng_state st;
    rng_seed(&st, 5);
    for (size_t i = 0; i < N * D; i++)
        vecs[i] = (float)rng_normal(&st);
    for (size_t c = 0; c < L; c++) {
        double n2 = 0;
        for (size_t k = 0; k < D; k++) {
            cents[c * D + k] = (float)rng_normal(&st);
            n2 += (double)cents[c * D + k] * cents[c * D + k];
        }
        for (size_t k = 0; k < D; k++)
            cents[c * D + k] /= (float)sqrt(n2);
    }
    for (size_t i = 0; i < N; i++) {
        if (i % 23 == 5)
            assign[i] = UINT32_MAX;
        else if (i % 29 == 7)
            assign[i] = L + 3; /* out of range: not indexed either */
        else if (i == 10 || i == 100 || i == 150)
            assign[i] = 3;
        else
            assign[i] = (uint32_t)(i % 7 < 4 ? 0 : i % 7 < 6 ? 1 : 2);
        if (assign[i] < L) expect_size[assign[i]]++, n_indexed++;
    }
    ASSERT_EQ(expect_size[3], 3);
}

static double ip(const float *a, const float *b) {
    double s = 0;
    for (size_t k = 0; k < D; k++)
        s += (double)a[k] * b[k];
    return s;
}

/* Brute-force top k of q over the items of list `list` (or all indexed
 * items when list == L): ids into out, returns how many. */
static size_t brute(const float *q, uint32_t list, size_t k, int64_t *out, double *sc) {
    unsigned char used[N] = {0};
    size_t n = 0;
    for (; n < k; n++) {
        int64_t best = -1;
        double bs = -INFINITY;
        for (size_t i = 0; i < N; i++) {
            if (used[i] || assign[i] >= L || (list < L && assign[i] != list)) continue;
            double s = ip(q, vecs + i * D);
            if (s > bs) bs = s, best = (int64_t)i;
        }
        if (best < 0) break;
        used[best] = 1;
        out[n] = best;
        sc[n] = bs;
    }
    return n;
}

static void check_lists(const ann_index *ix, ann_scratch *s, const float *q) {
    const uint32_t lists[] = {2, 0, 3, 1, 2};
    enum { NL = 5, K = 8 };
    const float *scores;
    const int64_t *items;
    mx_err err = {0};
    ASSERT_EQ(ann_search_lists(ix, s, q, lists, NL, K, NULL, &scores, &items, &err), 0);
    for (size_t j = 0; j < NL; j++) {
        int64_t want[K];
        double ws[K];
        size_t n = brute(q, lists[j], K, want, ws);
        ASSERT_EQ(n, expect_size[lists[j]] < K ? expect_size[lists[j]] : K);
        for (size_t t = 0; t < K; t++) {
            if (t >= n) {
                ASSERT_EQ(items[j * K + t], -1); /* short list: padded */
                continue;
            }
            ASSERT_EQ(items[j * K + t], want[t]);
            ASSERT_EQ(assign[items[j * K + t]], lists[j]);
            ASSERT_NEAR(scores[j * K + t], ws[t], 1e-5);
            if (t) ASSERT(scores[j * K + t] <= scores[j * K + t - 1]);
        }
    }
}

static void check_global(const ann_index *ix, ann_scratch *s, const float *q) {
    enum { K = 25 };
    float sc[N];
    int64_t it[N];
    size_t found = 0;
    mx_err err = {0};
    int64_t want[N];
    double ws[N];
    size_t n = brute(q, L, K, want, ws);
    ASSERT_EQ(n, K);
    for (size_t probe = 0; probe <= L; probe += L) { /* 0 and n_lists: all */
        ASSERT_EQ(ann_search_global(ix, s, q, K, probe, sc, it, &found, &err), 0);
        ASSERT_EQ(found, K);
        for (size_t t = 0; t < K; t++) {
            ASSERT_EQ(it[t], want[t]);
            ASSERT_NEAR(sc[t], ws[t], 1e-5);
        }
    }
    /* k beyond the catalogue: everything indexed, in order */
    size_t big = 60 > n_indexed ? n_indexed : 60;
    n = brute(q, L, big, want, ws);
    ASSERT_EQ(ann_search_global(ix, s, q, big, 0, sc, it, &found, &err), 0);
    ASSERT_EQ(found, big);
    for (size_t t = 0; t < big; t++)
        ASSERT_EQ(it[t], want[t]);
    /* nprobe 1: only the list whose centroid scores highest */
    uint32_t best = 0;
    for (uint32_t c = 1; c < L; c++)
        if (ip(q, cents + c * D) > ip(q, cents + best * D)) best = c;
    ASSERT_EQ(ann_search_global(ix, s, q, K, 1, sc, it, &found, &err), 0);
    n = brute(q, best, K, want, ws);
    ASSERT_EQ(found, n);
    for (size_t t = 0; t < found; t++)
        ASSERT_EQ(it[t], want[t]);

    /* Rows already searched (as the blend's mixture leaves them) are reused
     * and change nothing: every subset of lists, deep and too shallow. */
    for (unsigned mask = 1; mask < (1u << L); mask++) {
        for (size_t depth = 5; depth <= 40; depth += 35) {
            uint32_t lists[L];
            size_t nk = 0;
            for (uint32_t c = 0; c < L; c++)
                if (mask & (1u << c)) lists[nk++] = c;
            const float *ls;
            const int64_t *li;
            ASSERT_EQ(ann_search_lists(ix, s, q, lists, nk, depth, NULL, &ls, &li, &err), 0);
            float ksc[L * 40];
            int64_t kit[L * 40];
            memcpy(ksc, ls, nk * depth * sizeof(float));
            memcpy(kit, li, nk * depth * sizeof(int64_t));
            ann_known known = {lists, ksc, kit, nk, depth, NULL};
            n = brute(q, L, K, want, ws);
            ASSERT_EQ(ann_search_global_known(ix, s, q, K, 0, &known, sc, it, &found, &err), 0);
            ASSERT_EQ(found, K);
            for (size_t t = 0; t < K; t++)
                ASSERT_EQ(it[t], want[t]);
        }
    }
}

/* ix holds the test data's lists: dim, list count and sizes, centroids. */
static void check_shape(const ann_index *ix) {
    ASSERT_EQ(ann_dim(ix), D);
    ASSERT_EQ(ann_n_lists(ix), L);
    ASSERT_EQ(ann_ntotal(ix), n_indexed);
    for (size_t c = 0; c < L; c++)
        ASSERT_EQ(ann_list_size(ix, c), expect_size[c]);
    ASSERT(memcmp(ann_centroids(ix), cents, sizeof(cents)) == 0);
}

static void test_build_and_search(void) {
    ann_index *ix = NULL;
    mx_err err = {0};
    ASSERT_EQ(ann_build(vecs, N, D, cents, L, assign, &ix, &err), 0);
    check_shape(ix);

    ann_scratch *s = ann_scratch_new(ix, 5, 64);
    ASSERT(s);
    rng_state st;
    rng_seed(&st, 9);
    for (int r = 0; r < 20; r++) {
        float q[D];
        for (size_t k = 0; k < D; k++)
            q[k] = (float)rng_normal(&st);
        check_lists(ix, s, q);
        check_global(ix, s, q);
    }

    /* bad requests are errors */
    const float *sc;
    const int64_t *it;
    float q[D] = {1, 0, 0, 0, 0, 0};
    uint32_t bad = L;
    ASSERT_EQ(ann_search_lists(ix, s, q, &bad, 1, 4, NULL, &sc, &it, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "out of range");
    uint32_t ok = 0;
    ASSERT_EQ(ann_search_lists(ix, s, q, &ok, 1, 65, NULL, &sc, &it, &err), MX_EINVAL);
    ASSERT_EQ(ann_search_lists(ix, s, q, &ok, 1, 0, NULL, &sc, &it, &err), MX_EINVAL);
    uint32_t many[6] = {0, 1, 2, 3, 0, 1};
    ASSERT_EQ(ann_search_lists(ix, s, q, many, 6, 4, NULL, &sc, &it, &err), MX_EINVAL);
    ann_scratch_free(s);
    ann_scratch_free(NULL);
    ann_free(ix);
    ann_free(NULL);
    TEST_OK("list sizes, per-list and global (exact, nprobe 1) searches match brute force");
}

/* Many threads, one shared index, a scratch each: the same answers. */
static void test_threads(void) {
    ann_index *ix = NULL;
    mx_err err = {0};
    ASSERT_EQ(ann_build(vecs, N, D, cents, L, assign, &ix, &err), 0);
    enum { Q = 64, K = 10 };
    float qs[Q * D];
    rng_state st;
    rng_seed(&st, 10);
    for (size_t i = 0; i < Q * D; i++)
        qs[i] = (float)rng_normal(&st);
    int64_t serial[Q * K], par[Q * K];
    float ss[Q * K], ps[Q * K];
    ann_scratch *s = ann_scratch_new(ix, L, K);
    size_t found;
    for (size_t q = 0; q < Q; q++)
        ASSERT_EQ(
            ann_search_global(ix, s, qs + q * D, K, 2, ss + q * K, serial + q * K, &found, &err),
            0);
    ann_scratch_free(s);
    int fails = 0;
#pragma omp parallel num_threads(4) reduction(+ : fails)
    {
        ann_scratch *ts = ann_scratch_new(ix, L, K);
        size_t f;
#pragma omp for
        for (size_t q = 0; q < Q; q++)
            fails +=
                ann_search_global(ix, ts, qs + q * D, K, 2, ps + q * K, par + q * K, &f, NULL) != 0;
        ann_scratch_free(ts);
    }
    ASSERT_EQ(fails, 0);
    ASSERT(memcmp(serial, par, sizeof(par)) == 0);
    ASSERT(memcmp(ss, ps, sizeof(ps)) == 0);
    ann_free(ix);
    TEST_OK("concurrent searches with a scratch per thread give the serial answers");
}

static void path_in(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmpdir, name);
}

/* FAISS 1.7.3's read_index leaks the half-built index when a file ends
 * early (plain `new`, then an exception). Such a load runs in a child that
 * leaves with _exit, skipping LeakSanitizer's check at exit, rather than a
 * suppression of read_index in lsan.supp that would also hide a real leak
 * of any index we load. Returns ann_load's code; err gets its message. */
static int load_in_child(const char *path, mx_err *err) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        ann_index *ix = (ann_index *)1;
        mx_err e = {0};
        int rc = ann_load(path, &ix, &e);
        if (rc == 0) ann_free(ix);
        e.code = ix == NULL ? rc : 12345; /* *out must be NULL on failure */
        _exit(write(fds[1], &e, sizeof(e)) == (ssize_t)sizeof(e) ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof(*err)) {
        ssize_t r = read(fds[0], (char *)err + got, sizeof(*err) - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(got, sizeof(*err));
    ASSERT(err->code != 12345);
    return err->code;
}

/* a and b answer the same global and list searches: the same items, and
 * scores within tol (0: the same bits). */
static void compare_indexes(const ann_index *a, const ann_index *b, double tol) {
    ann_scratch *s1 = ann_scratch_new(a, 5, 30), *s2 = ann_scratch_new(b, 5, 30);
    ASSERT(s1 && s2);
    rng_state st;
    rng_seed(&st, 12);
    mx_err err = {0};
    for (int r = 0; r < 10; r++) {
        float q[D], a_s[30], b_s[30];
        int64_t a_i[30], b_i[30];
        size_t na, nb;
        for (size_t k = 0; k < D; k++)
            q[k] = (float)rng_normal(&st);
        ASSERT_EQ(ann_search_global(a, s1, q, 30, 0, a_s, a_i, &na, &err), 0);
        ASSERT_EQ(ann_search_global(b, s2, q, 30, 0, b_s, b_i, &nb, &err), 0);
        ASSERT_EQ(na, nb);
        ASSERT(memcmp(a_i, b_i, na * sizeof(int64_t)) == 0);
        for (size_t t = 0; t < na; t++)
            ASSERT(tol == 0 ? a_s[t] == b_s[t] : fabs(a_s[t] - b_s[t]) <= tol);
        const uint32_t lists[] = {3, 1};
        const float *ls1, *ls2;
        const int64_t *li1, *li2;
        ASSERT_EQ(ann_search_lists(a, s1, q, lists, 2, 7, NULL, &ls1, &li1, &err), 0);
        ASSERT_EQ(ann_search_lists(b, s2, q, lists, 2, 7, NULL, &ls2, &li2, &err), 0);
        ASSERT(memcmp(li1, li2, 14 * sizeof(int64_t)) == 0);
        for (size_t t = 0; t < 14; t++)
            ASSERT(li1[t] < 0 || (tol == 0 ? ls1[t] == ls2[t] : fabs(ls1[t] - ls2[t]) <= tol));
        check_lists(b, s2, q);
    }
    ann_scratch_free(s1);
    ann_scratch_free(s2);
}

static void test_save_load(void) {
    ann_index *ix = NULL, *back = NULL;
    mx_err err = {0};
    ASSERT_EQ(ann_build(vecs, N, D, cents, L, assign, &ix, &err), 0);
    char path[128];
    path_in(path, sizeof(path), "index.faiss");
    ASSERT_EQ(ann_save(ix, path, &err), 0);
    ASSERT_EQ(ann_load(path, &back, &err), 0);
    check_shape(back);
    /* loaded, the index searches with FAISS: the same answers as the own
     * scan of the built one, up to float rounding */
    ASSERT(ann_has_vectors(ix) && !ann_has_vectors(back));
    compare_indexes(ix, back, 1e-5);
    /* with its own copy (FAISS's dropped): the same bits as the built one */
    ASSERT_EQ(ann_own_vectors(back, vecs, N, 0, &err), 0);
    ASSERT(ann_has_vectors(back));
    compare_indexes(ix, back, 0);
    ASSERT_EQ(ann_search_lists_faiss(back, NULL, vecs, NULL, 0, 1, NULL, NULL, &err), MX_EINVAL);
    /* saved again without FAISS's copy (made again from the own one) */
    char path2[128];
    path_in(path2, sizeof(path2), "index2.faiss");
    ASSERT_EQ(ann_save(back, path2, &err), 0);
    ann_index *again = NULL;
    ASSERT_EQ(ann_load(path2, &again, &err), 0);
    compare_indexes(ix, again, 1e-5);
    /* vectors that are not the index's are refused */
    static float wrong[N * D];
    for (size_t i = 0; i < N * D; i++)
        wrong[i] = 2 * vecs[i];
    ASSERT_EQ(ann_own_vectors(again, wrong, N, 0, &err), MX_EFORMAT);
    ASSERT(strstr(err.msg, "do not match") != NULL);
    ASSERT(!ann_has_vectors(again));
    ASSERT_EQ(ann_own_vectors(again, vecs, N / 4, 0, &err), MX_EFORMAT); /* too few rows */
    ASSERT_EQ(ann_own_vectors(again, vecs, N, 0, &err), 0);
    compare_indexes(ix, again, 0);
    ann_free(again);
    unlink(path2);
    ann_free(back);

    /* a truncated copy of the good file */
    FILE *f = fopen(path, "rb");
    ASSERT(f);
    char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    ASSERT(len > 100 && len < sizeof(buf));
    char trunc[128];
    path_in(trunc, sizeof(trunc), "truncated.faiss");
    f = fopen(trunc, "wb");
    ASSERT(fwrite(buf, 1, len / 2, f) == len / 2);
    fclose(f);
    ASSERT(load_in_child(trunc, &err) < 0);
    ASSERT_CONTAINS(err.msg, trunc);
    ann_free(ix);
    TEST_OK("save/load round trip: same lists, centroids and search results");
}

static void test_load_rejects(void) {
    mx_err err = {0};
    ann_index *ix = NULL;
    char path[128];

    /* a flat inner-product index: FAISS reads it, ann_load refuses it */
    FaissIndexFlatIP *flat = NULL;
    ASSERT_EQ(faiss_IndexFlatIP_new_with(&flat, D), 0);
    ASSERT_EQ(faiss_Index_add((FaissIndex *)flat, 10, vecs), 0);
    path_in(path, sizeof(path), "flat.faiss");
    ASSERT_EQ(faiss_write_index_fname((FaissIndex *)flat, path), 0);
    faiss_Index_free((FaissIndex *)flat);
    ASSERT_EQ(ann_load(path, &ix, &err), MX_EFORMAT);
    ASSERT(ix == NULL);
    ASSERT_CONTAINS(err.msg, path);
    ASSERT_CONTAINS(err.msg, "not an inner-product IVF-Flat index");

    /* an L2 IVF-Flat: the wrong metric */
    FaissIndexFlatL2 *q = NULL;
    FaissIndexIVFFlat *ivf = NULL;
    ASSERT_EQ(faiss_IndexFlatL2_new_with(&q, D), 0);
    ASSERT_EQ(faiss_Index_add((FaissIndex *)q, L, cents), 0);
    ASSERT_EQ(faiss_IndexIVFFlat_new_with_metric(&ivf, (FaissIndex *)q, D, L, METRIC_L2), 0);
    faiss_IndexIVFFlat_set_own_fields(ivf, 1);
    ASSERT_EQ(faiss_Index_add((FaissIndex *)ivf, 20, vecs), 0);
    path_in(path, sizeof(path), "l2.faiss");
    ASSERT_EQ(faiss_write_index_fname((FaissIndex *)ivf, path), 0);
    faiss_Index_free((FaissIndex *)ivf);
    ASSERT_EQ(ann_load(path, &ix, &err), MX_EFORMAT);
    ASSERT_CONTAINS(err.msg, "not an inner-product IVF-Flat index");

    /* garbage */
    path_in(path, sizeof(path), "garbage.faiss");
    FILE *f = fopen(path, "wb");
    ASSERT(f);
    fputs("this is not a FAISS index, just some text that goes on for a while\n", f);
    fclose(f);
    err.msg[0] = 0;
    ASSERT(ann_load(path, &ix, &err) < 0);
    ASSERT(ix == NULL);
    ASSERT_CONTAINS(err.msg, path);
    ASSERT_CONTAINS(err.msg, "reading the index");

    /* an empty file and a missing one */
    path_in(path, sizeof(path), "empty.faiss");
    f = fopen(path, "wb");
    fclose(f);
    ASSERT(ann_load(path, &ix, &err) < 0);
    ASSERT_CONTAINS(err.msg, path);
    path_in(path, sizeof(path), "missing.faiss");
    ASSERT(ann_load(path, &ix, &err) < 0);
    ASSERT_CONTAINS(err.msg, path);
    TEST_OK("ann_load refuses a flat index, an L2 IVF, garbage, empty and missing files");
}

/* ann_scan_dots on both paths against double-precision sums, for
 * dimensions the AVX2 path takes (multiples of 8) and others, with counts
 * that leave a tail after the blocks of eight. */
static void test_scan_kernel(void) {
    rng_state st;
    rng_seed(&st, 77);
    const size_t dims[] = {8, 16, 64, 3, 12, 72};
    static float q[72], v[37 * 72], out[37];
    for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++) {
        size_t dim = dims[di];
        for (size_t i = 0; i < dim; i++)
            q[i] = (float)rng_normal(&st);
        for (size_t i = 0; i < 37 * dim; i++)
            v[i] = (float)rng_normal(&st);
        for (int path = ANN_SCAN_PORTABLE; path <= ANN_SCAN_AVX2; path++) {
            ann_scan_use(path);
            for (size_t n = 0; n <= 37; n += (n < 9 ? 1 : 14)) {
                ann_scan_dots(q, v, n, dim, out);
                for (size_t i = 0; i < n; i++) {
                    double want = 0;
                    for (size_t d = 0; d < dim; d++)
                        want += (double)q[d] * v[i * dim + d];
                    ASSERT_NEAR(out[i], want, 1e-4 * (1 + fabs(want)));
                }
            }
        }
    }
    /* ann_scan_above: the positions above a floor, ascending, on both paths */
    static float sc[203];
    static uint32_t pos[203];
    for (size_t i = 0; i < 203; i++)
        sc[i] = (float)rng_normal(&st);
    sc[7] = 0.25f; /* equal to the floor: not above it */
    for (int path = ANN_SCAN_PORTABLE; path <= ANN_SCAN_AVX2; path++) {
        ann_scan_use(path);
        for (size_t n = 0; n <= 203; n += (n < 17 ? 1 : 31)) {
            size_t m = ann_scan_above(sc, n, 0.25f, pos), want = 0;
            for (size_t i = 0; i < n; i++)
                if (sc[i] > 0.25f) ASSERT_EQ(pos[want++], i);
            ASSERT_EQ(m, want);
        }
    }
    ann_scan_use(ANN_SCAN_AUTO);
    printf("# the kernel in use for 64 dims: %s\n", ann_scan_path_name(64));
    TEST_OK("ann_scan_dots and ann_scan_above, portable and AVX2 paths: the inner products "
            "(dims 3 to 72, tails), the positions above a floor");
}

/* The own list scan against FAISS's search_preassigned on the same index
 * (64 dims, lists of a few hundred items), on both kernel paths: the same
 * items in the same order (random data: no ties), scores up to rounding. */
static void test_own_matches_faiss(void) {
    enum { BD = 64, BL = 6, BN = 1500, BK = 50 };
    static float bv[BN * BD], bc[BL * BD];
    static uint32_t ba[BN];
    rng_state st;
    rng_seed(&st, 91);
    for (size_t i = 0; i < BN * BD; i++)
        bv[i] = (float)rng_normal(&st);
    for (size_t i = 0; i < BL * BD; i++)
        bc[i] = (float)rng_normal(&st) / 8;
    for (size_t i = 0; i < BN; i++)
        ba[i] = (uint32_t)(i * 7 % BL);
    ann_index *ix = NULL;
    mx_err err = {0};
    ASSERT_EQ(ann_build(bv, BN, BD, bc, BL, ba, &ix, &err), 0);
    ann_scratch *own = ann_scratch_new(ix, BL, BK), *ref = ann_scratch_new(ix, BL, BK);
    ASSERT(own && ref);
    const uint32_t lists[] = {0, 2, 5, 1};
    for (int path = ANN_SCAN_PORTABLE; path <= ANN_SCAN_AVX2; path++) {
        ann_scan_use(path);
        for (int r = 0; r < 20; r++) {
            float q[BD];
            for (size_t d = 0; d < BD; d++)
                q[d] = (float)rng_normal(&st);
            const float *os, *fs;
            const int64_t *oi, *fi;
            ASSERT_EQ(ann_search_lists(ix, own, q, lists, 4, BK, NULL, &os, &oi, &err), 0);
            ASSERT_EQ(ann_search_lists_faiss(ix, ref, q, lists, 4, BK, &fs, &fi, &err), 0);
            for (size_t t = 0; t < 4 * BK; t++) {
                ASSERT_EQ(oi[t], fi[t]);
                ASSERT_NEAR(os[t], fs[t], 1e-4 * (1 + fabs(fs[t])));
            }
        }
    }
    ann_scan_use(ANN_SCAN_AUTO);
    ann_scratch_free(own);
    ann_scratch_free(ref);
    ann_free(ix);
    TEST_OK("the own list scan answers as FAISS's search_preassigned (64 dims, both paths)");
}

static void cleanup(void) {
    const char *names[] = {"index.faiss", "truncated.faiss", "flat.faiss",
                           "l2.faiss",    "garbage.faiss",   "empty.faiss"};
    char path[128];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        path_in(path, sizeof(path), names[i]);
        unlink(path);
    }
    ASSERT_EQ(rmdir(tmpdir), 0);
}

/* ann_topk_floor: k values or more above it, or -FLT_MAX where no sample
 * can say so (short blocks, every value equal). */
static void test_topk_floor(void) {
    static float v[5000];
    rng_state st;
    rng_seed(&st, 17);
    const size_t ns[] = {10, 31, 32, 100, 1000, 5000}, ks[] = {1, 5, 20, 100, 300};
    size_t floors = 0, above_sum = 0, k_sum = 0;
    for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
        for (size_t b = 0; b < sizeof(ks) / sizeof(ks[0]); b++) {
            size_t n = ns[a], k = ks[b];
            for (size_t i = 0; i < n; i++) /* ascending runs, as list scores often are */
                v[i] = (float)rng_normal(&st) + (float)(i % 50) * 0.01f;
            float f = ann_topk_floor(v, n, k);
            if (n < 4 * k || n < ANN_TOPK_SAMPLES) {
                ASSERT(f == -FLT_MAX);
                continue;
            }
            ASSERT(f > -FLT_MAX);
            size_t above = ann_topk_count_above(v, n, f);
            ASSERT(above >= k);
            floors++, above_sum += above, k_sum += k;
        }
    for (size_t i = 0; i < 1000; i++)
        v[i] = 2.5f;
    ASSERT(ann_topk_floor(v, 1000, 10) == -FLT_MAX); /* nothing is above any sample */
    printf("# ann_topk_floor: %zu floors, %zu values above them for %zu wanted\n", floors,
           above_sum, k_sum);
    ASSERT(above_sum < 4 * k_sum);
    TEST_OK("ann_topk_floor: k values or more above it, -FLT_MAX on short blocks and ties");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mixrec-test-ann-XXXXXX");
    ASSERT(mkdtemp(tmpdir) != NULL);
    make_data();
    test_build_and_search();
    test_threads();
    test_save_load();
    test_load_rejects();
    test_scan_kernel();
    test_topk_floor();
    test_own_matches_faiss();
    cleanup();
    return 0;
}

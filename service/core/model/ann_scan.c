/* ann_scan.c - the inner-product kernel of the list scans. See ann_scan.h. */
#include "ann_scan.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ANN_SCAN_HAVE_AVX2 1
#else
#define ANN_SCAN_HAVE_AVX2 0
#endif

static atomic_int chosen = ANN_SCAN_AUTO;

/* q . v in eight independent lanes (vectorised by the compiler; FAISS sums
 * in lanes too, so scores agree up to rounding). */
static inline float dot_portable(const float *q, const float *v, size_t dim) {
    float lane[8] = {0};
    size_t d = 0;
    for (; d + 8 <= dim; d += 8)
        for (size_t j = 0; j < 8; j++)
            lane[j] += q[d + j] * v[d + j];
    float dot =
        ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    for (; d < dim; d++)
        dot += q[d] * v[d];
    return dot;
}

static void dots_portable(const float *q, const float *vecs, size_t n, size_t dim, float *out) {
    for (size_t i = 0; i < n; i++)
        out[i] = dot_portable(q, vecs + i * dim, dim);
}

#if ANN_SCAN_HAVE_AVX2
/* One vector's 8-lane partial sums of q . v (dim a multiple of 8). */
__attribute__((target("avx2,fma"))) static inline __m256 lanes_avx2(const float *q, const float *v,
                                                                    size_t dim) {
    __m256 acc = _mm256_mul_ps(_mm256_loadu_ps(q), _mm256_loadu_ps(v));
    for (size_t d = 8; d < dim; d += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(v + d), acc);
    return acc;
}

/* Eight vectors' dot products in one register: their lane sums are
 * reduced together (three rounds of horizontal adds and one cross-half
 * add), instead of one horizontal sum per vector. Each product's rounding
 * depends only on its own vector, never on the seven beside it: a list's
 * scan, its tail and a re-scoring of chosen rows (ann_scan_dots_at) give
 * a row the same float. */
__attribute__((target("avx2,fma"))) static inline __m256
block8_avx2(const float *q, const float *const v[8], size_t dim) {
    __m256 a0 = lanes_avx2(q, v[0], dim), a1 = lanes_avx2(q, v[1], dim);
    __m256 a2 = lanes_avx2(q, v[2], dim), a3 = lanes_avx2(q, v[3], dim);
    __m256 a4 = lanes_avx2(q, v[4], dim), a5 = lanes_avx2(q, v[5], dim);
    __m256 a6 = lanes_avx2(q, v[6], dim), a7 = lanes_avx2(q, v[7], dim);
    __m256 t0 = _mm256_hadd_ps(a0, a1), t1 = _mm256_hadd_ps(a2, a3);
    __m256 t2 = _mm256_hadd_ps(a4, a5), t3 = _mm256_hadd_ps(a6, a7);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    /* u0 = [v0 v1 v2 v3 | v0 v1 v2 v3] halves, u1 the same for v4..v7 */
    __m256 lo = _mm256_permute2f128_ps(u0, u1, 0x20);
    __m256 hi = _mm256_permute2f128_ps(u0, u1, 0x31);
    return _mm256_add_ps(lo, hi);
}

/* Rows at[0..n) (n <= 8; the rest repeat the last) into out[0..n). */
__attribute__((target("avx2,fma"))) static void rows_avx2(const float *q, const float *const *at,
                                                          size_t n, size_t dim, float *out) {
    const float *v[8];
    for (size_t j = 0; j < 8; j++)
        v[j] = at[j < n ? j : n - 1];
    float o[8];
    _mm256_storeu_ps(o, block8_avx2(q, v, dim));
    memcpy(out, o, n * sizeof(float));
}

__attribute__((target("avx2,fma"))) static void dots_avx2(const float *q, const float *vecs,
                                                          size_t n, size_t dim, float *out) {
    size_t i = 0;
    const float *v[8];
    for (; i + 8 <= n; i += 8) {
        /* block8_avx2's sums on consecutive rows, spelled out: through an
         * array of row pointers the loop ran 9% slower at 1M items */
        const float *b = vecs + i * dim;
        __m256 a0 = lanes_avx2(q, b, dim), a1 = lanes_avx2(q, b + dim, dim);
        __m256 a2 = lanes_avx2(q, b + 2 * dim, dim), a3 = lanes_avx2(q, b + 3 * dim, dim);
        __m256 a4 = lanes_avx2(q, b + 4 * dim, dim), a5 = lanes_avx2(q, b + 5 * dim, dim);
        __m256 a6 = lanes_avx2(q, b + 6 * dim, dim), a7 = lanes_avx2(q, b + 7 * dim, dim);
        __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
        _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                                                _mm256_permute2f128_ps(u0, u1, 0x31)));
    }
    if (i < n) {
        for (size_t j = 0; i + j < n; j++)
            v[j] = vecs + (i + j) * dim;
        rows_avx2(q, v, n - i, dim, out + i);
    }
}

static inline void prefetch_row(const float *v, size_t dim) {
    for (size_t b = 0; b < dim * sizeof(float); b += 64)
        __builtin_prefetch((const char *)v + b);
}

__attribute__((target("avx2,fma"))) static void dots_at_avx2(const float *q, const float *vecs,
                                                             size_t dim, const uint32_t *pos,
                                                             size_t m, float *out) {
    const float *v[8];
    /* the rows are scattered over the list: asked for 16 rows ahead, their
     * lines arrive together instead of one miss after another */
    for (size_t j = 0; j < m && j < 16; j++)
        prefetch_row(vecs + (size_t)pos[j] * dim, dim);
    for (size_t i = 0; i < m; i += 8) {
        size_t n = m - i < 8 ? m - i : 8;
        for (size_t j = i + 16; j < i + 24 && j < m; j++)
            prefetch_row(vecs + (size_t)pos[j] * dim, dim);
        for (size_t j = 0; j < n; j++)
            v[j] = vecs + (size_t)pos[i + j] * dim;
        rows_avx2(q, v, n, dim, out + i);
    }
}

/* Approximate products of a 16-bit query with rows of 8-bit integers:
 * sixteen components widened to 16 bits, multiplied and summed in pairs
 * (vpmaddwd), the 32-bit sums exact; a row's sum to float times its scale
 * and the query's. */
__attribute__((target("avx2"))) static inline __m256i lanes_i8(const int16_t *q, const int8_t *v,
                                                               size_t dim) {
    __m256i acc = _mm256_madd_epi16(_mm256_loadu_si256((const void *)q),
                                    _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)v)));
    for (size_t d = 16; d < dim; d += 16)
        acc = _mm256_add_epi32(
            acc, _mm256_madd_epi16(_mm256_loadu_si256((const void *)(q + d)),
                                   _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(v + d)))));
    return acc;
}

__attribute__((target("avx2"))) static void dots_i8_avx2(const int16_t *q, float qscale,
                                                         const int8_t *vecs, const float *scale,
                                                         size_t n, size_t dim, float *out) {
    size_t i = 0, bytes = n * dim;
    __m128 qs = _mm_set1_ps(qscale);
    /* a list starts cold: its first 2 KB asked for at once, then 2 KB ahead
     * of the rows being read (the stream prefetcher ramps up too slowly for
     * lists of 64 KB) */
    for (size_t b = 0; b < bytes && b < 2048; b += 64)
        _mm_prefetch((const char *)vecs + b, _MM_HINT_T0);
    for (; i + 4 <= n; i += 4) {
        const int8_t *v = vecs + i * dim;
        for (size_t b = 0; b < 4 * dim; b += 64)
            if (i * dim + 2048 + b < bytes) _mm_prefetch((const char *)v + 2048 + b, _MM_HINT_T0);
        __m256i a0 = lanes_i8(q, v, dim), a1 = lanes_i8(q, v + dim, dim);
        __m256i a2 = lanes_i8(q, v + 2 * dim, dim), a3 = lanes_i8(q, v + 3 * dim, dim);
        __m256i u = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
        __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
        __m128 f = _mm_mul_ps(_mm_cvtepi32_ps(sum), _mm_loadu_ps(scale + i));
        _mm_storeu_ps(out + i, _mm_mul_ps(f, qs));
    }
    for (; i < n; i++) {
        __m256i a = lanes_i8(q, vecs + i * dim, dim);
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
        s = _mm_hadd_epi32(s, s);
        s = _mm_hadd_epi32(s, s);
        out[i] = (float)_mm_cvtsi128_si32(s) * scale[i] * qscale;
    }
}

__attribute__((target("avx2"))) static size_t above_avx2(const float *v, size_t n, float floor,
                                                         uint32_t *idx) {
    size_t m = 0, i = 0;
    __m256 f = _mm256_set1_ps(floor);
    for (; i + 8 <= n; i += 8) {
        unsigned mask =
            (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(v + i), f, _CMP_GT_OQ));
        while (mask) {
            idx[m++] = (uint32_t)(i + (size_t)__builtin_ctz(mask));
            mask &= mask - 1;
        }
    }
    for (; i < n; i++)
        if (v[i] > floor) idx[m++] = (uint32_t)i;
    return m;
}

static int cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else
static int cpu_has_avx2(void) {
    return 0;
}
#endif

int ann_scan_use(int path) {
    int use = path == ANN_SCAN_PORTABLE ? ANN_SCAN_PORTABLE
              : cpu_has_avx2()          ? ANN_SCAN_AVX2
                                        : ANN_SCAN_PORTABLE;
    atomic_store(&chosen, use);
    return use;
}

static int path_for(size_t dim) {
    int use = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (use == ANN_SCAN_AUTO) use = ann_scan_use(ANN_SCAN_AUTO);
    return use == ANN_SCAN_AVX2 && dim >= 8 && dim % 8 == 0 ? ANN_SCAN_AVX2 : ANN_SCAN_PORTABLE;
}

const char *ann_scan_path_name(size_t dim) {
    return path_for(dim) == ANN_SCAN_AVX2 ? "avx2" : "portable";
}

size_t ann_scan_above(const float *v, size_t n, float floor, uint32_t *idx) {
#if ANN_SCAN_HAVE_AVX2
    if (path_for(8) == ANN_SCAN_AVX2) return above_avx2(v, n, floor, idx);
#endif
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] > floor) idx[m++] = (uint32_t)i;
    return m;
}

void ann_scan_dots(const float *q, const float *vecs, size_t n, size_t dim, float *out) {
#if ANN_SCAN_HAVE_AVX2
    if (path_for(dim) == ANN_SCAN_AVX2) {
        dots_avx2(q, vecs, n, dim, out);
        return;
    }
#endif
    dots_portable(q, vecs, n, dim, out);
}

void ann_scan_dots_at(const float *q, const float *vecs, size_t dim, const uint32_t *pos, size_t m,
                      float *out) {
#if ANN_SCAN_HAVE_AVX2
    if (path_for(dim) == ANN_SCAN_AVX2) {
        dots_at_avx2(q, vecs, dim, pos, m, out);
        return;
    }
#endif
    for (size_t j = 0; j < m; j++)
        out[j] = dot_portable(q, vecs + (size_t)pos[j] * dim, dim);
}

int ann_scan_i8_ok(size_t dim) {
    return path_for(dim) == ANN_SCAN_AVX2 && dim % 16 == 0 && dim <= ANN_SCAN_I8_MAX_DIM;
}

void ann_scan_dots_i8(const int16_t *q, float qscale, const int8_t *vecs, const float *scale,
                      size_t n, size_t dim, float *out) {
#if ANN_SCAN_HAVE_AVX2
    dots_i8_avx2(q, qscale, vecs, scale, n, dim, out);
#else
    (void)q, (void)qscale, (void)vecs, (void)scale, (void)n, (void)dim, (void)out;
#endif
}

/* ranker.c - see ranker.h. */
#include "ranker.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RK_HAVE_AVX2 1
#else
#define RK_HAVE_AVX2 0
#endif

/* Rows evaluated together through each tree: a tree's thresholds are
 * broadcast once per block, so a block of 128 (a pool of about 200 in two)
 * pays that setup half as often as one of 64 (rank_compact on
 * MovieTweetings' pools 21-23 -> 17-18 us); 128 rows of 28 features
 * still fit the 16 KiB buffer. */
#define RK_BLOCK 128
/* Transposed block buffer (16 KiB): 8 rows of up to RK_MAX_FEATURES. */
#define RK_XT_FLOATS 4096

typedef struct rk_tree {
    uint32_t depth;    /* complete layout: levels; UINT32_MAX = node walk */
    uint32_t off_node; /* into thr/feat (complete) or node arrays (walk) */
    uint32_t off_leaf; /* into leaf (complete) */
} rk_tree;

struct rk_forest {
    size_t n_features, n_trees, max_depth;
    float base;
    char objective[64];
    char **feature_names; /* n_features or NULL */
    rk_tree *trees;
    /* complete trees: per node the threshold and 8 x the feature index
     * (the offset of that feature in a transposed group of 8 rows) */
    float *thr;
    uint16_t *feat8;
    float *leaf;
    float *mean; /* per node: its mean leaf value (rk_forest_contrib) */

    size_t n_nodes, n_leaves;
    /* walked trees: XGBoost's arrays, per node */
    int32_t *w_left, *w_right;
    uint32_t *w_feat;
    float *w_value; /* threshold, or leaf value when w_left == -1 */
    float *w_mean;  /* mean leaf value under the node */
    size_t n_walk;
};

void rk_forest_free(rk_forest *f) {
    if (!f) return;
    if (f->feature_names)
        for (size_t i = 0; i < f->n_features; i++)
            free(f->feature_names[i]);
    free(f->feature_names);
    free(f->trees);
    free(f->thr);
    free(f->feat8);
    free(f->leaf);
    free(f->mean);
    free(f->w_left);
    free(f->w_right);
    free(f->w_feat);
    free(f->w_value);
    free(f->w_mean);
    free(f);
}

size_t rk_forest_n_features(const rk_forest *f) {
    return f->n_features;
}
size_t rk_forest_n_trees(const rk_forest *f) {
    return f->n_trees;
}
size_t rk_forest_max_depth(const rk_forest *f) {
    return f->max_depth;
}
const char *rk_forest_objective(const rk_forest *f) {
    return f->objective;
}
const char *rk_forest_feature_name(const rk_forest *f, size_t i) {
    return f->feature_names && i < f->n_features ? f->feature_names[i] : NULL;
}

/* XGBoost writes many numbers as strings ("5E-1"). */
static int json_number(json_t *v, double *out) {
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        char *end;
        *out = strtod(json_string_value(v), &end);
        return end == json_string_value(v) || *end ? -1 : 0;
    }
    return -1;
}

/* One tree's node arrays, as XGBoost stores them. */
typedef struct {
    size_t n;
    json_t *left, *right, *feat, *cond;
} xtree;

static int xtree_get(json_t *t, xtree *x, size_t n_features, size_t ti, mx_err *err) {
    x->left = json_object_get(t, "left_children");
    x->right = json_object_get(t, "right_children");
    x->feat = json_object_get(t, "split_indices");
    x->cond = json_object_get(t, "split_conditions");
    json_t *types = json_object_get(t, "split_type");
    if (!json_is_array(x->left) || !json_is_array(x->right) || !json_is_array(x->feat) ||
        !json_is_array(x->cond))
        return mx_err_set(err, MX_EFORMAT, "ranker tree %zu: missing node arrays", ti);
    x->n = json_array_size(x->left);
    if (x->n == 0 || json_array_size(x->right) != x->n || json_array_size(x->feat) != x->n ||
        json_array_size(x->cond) != x->n || x->n > (1u << 24))
        return mx_err_set(err, MX_EFORMAT, "ranker tree %zu: node arrays of different sizes", ti);
    for (size_t i = 0; i < json_array_size(types); i++)
        if (json_integer_value(json_array_get(types, i)) != 0)
            return mx_err_set(err, MX_EFORMAT,
                              "ranker tree %zu: categorical splits are not supported", ti);
    for (size_t i = 0; i < x->n; i++) {
        json_int_t l = json_integer_value(json_array_get(x->left, i));
        json_int_t r = json_integer_value(json_array_get(x->right, i));
        json_int_t f = json_integer_value(json_array_get(x->feat, i));
        /* children come after their parent in XGBoost's arrays: no cycles */
        if ((l == -1) != (r == -1) || (l != -1 && (l <= (json_int_t)i || l >= (json_int_t)x->n ||
                                                   r <= (json_int_t)i || r >= (json_int_t)x->n)))
            return mx_err_set(err, MX_EFORMAT, "ranker tree %zu: node %zu has bad children", ti, i);
        if (l != -1 && (f < 0 || (size_t)f >= n_features))
            return mx_err_set(err, MX_EFORMAT,
                              "ranker tree %zu: node %zu splits on feature %lld of %zu", ti, i,
                              (long long)f, n_features);
        if (!json_is_number(json_array_get(x->cond, i)))
            return mx_err_set(err, MX_EFORMAT, "ranker tree %zu: node %zu has no value", ti, i);
    }
    return 0;
}

static int child(const xtree *x, size_t i, int right) {
    return (int)json_integer_value(json_array_get(right ? x->right : x->left, i));
}

static size_t depth_of(const xtree *x, size_t i) {
    if (child(x, i, 0) == -1) return 0;
    size_t a = depth_of(x, (size_t)child(x, i, 0)), b = depth_of(x, (size_t)child(x, i, 1));
    return 1 + (a > b ? a : b);
}

/* The mean leaf value under each node of x, leaves weighted by their cover
 * (XGBoost's sum_hessian; equal weights in a model without it): what the
 * tree predicts before the path below the node is known. Saabas
 * contributions are the changes of this mean along a row's path; the
 * weighting is XGBoost's own (its approx_contribs). Children come after
 * their parent, so one backward pass fills every node. */
static void node_means(json_t *tree, const xtree *x, double *mean, double *cover) {
    json_t *hess = json_object_get(tree, "sum_hessian");
    int has = json_is_array(hess) && json_array_size(hess) == x->n;
    for (size_t i = x->n; i-- > 0;) {
        int l = child(x, i, 0), r = child(x, i, 1);
        double h = has ? json_number_value(json_array_get(hess, i)) : 0;
        if (l == -1) {
            mean[i] = json_number_value(json_array_get(x->cond, i));
            cover[i] = has ? h : 1;
            continue;
        }
        double c = has && h > 0 ? h : cover[l] + cover[r];
        mean[i] = c > 0 ? (mean[l] * cover[l] + mean[r] * cover[r]) / c : (mean[l] + mean[r]) / 2;
        cover[i] = c;
    }
}

/* Fills the complete subtree at position pos (level lvl of D) from node i. */
static void fill(rk_forest *f, const rk_tree *t, const xtree *x, const double *mean, size_t i,
                 size_t pos, size_t lvl) {
    size_t D = t->depth;
    if (lvl == D) { /* a leaf position */
        f->leaf[t->off_leaf + pos - ((1u << D) - 1)] =
            (float)json_number_value(json_array_get(x->cond, i));
        return;
    }
    int l = child(x, i, 0);
    f->mean[t->off_node + pos] = (float)mean[i];
    if (l == -1) { /* a leaf above the bottom: never split, replicate */
        f->thr[t->off_node + pos] = INFINITY;
        f->feat8[t->off_node + pos] = 0;
        fill(f, t, x, mean, i, 2 * pos + 1, lvl + 1);
        fill(f, t, x, mean, i, 2 * pos + 2, lvl + 1);
        return;
    }
    f->thr[t->off_node + pos] = (float)json_number_value(json_array_get(x->cond, i));
    f->feat8[t->off_node + pos] = (uint16_t)(8 * json_integer_value(json_array_get(x->feat, i)));
    fill(f, t, x, mean, (size_t)l, 2 * pos + 1, lvl + 1);
    fill(f, t, x, mean, (size_t)child(x, i, 1), 2 * pos + 2, lvl + 1);
}

static int grow(void **p, size_t n, size_t elem) {
    void *np = realloc(*p, (n ? n : 1) * elem);
    if (!np) return -1;
    *p = np;
    return 0;
}

int rk_forest_parse(const char *json, size_t len, rk_forest **out, mx_err *err) {
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root)
        return mx_err_set(err, MX_EFORMAT, "ranker: invalid JSON at line %d: %s", je.line, je.text);
    int rc = 0;
    double *mean = NULL; /* per tree: node means, then covers (node_means) */
    rk_forest *f = calloc(1, sizeof(*f));
    if (!f) {
        json_decref(root);
        return mx_err_set(err, MX_ENOMEM, "out of memory for the ranker");
    }
    json_t *learner = json_object_get(root, "learner");
    json_t *param = json_object_get(learner, "learner_model_param");
    json_t *gb = json_object_get(learner, "gradient_booster");
    json_t *trees = json_object_get(json_object_get(gb, "model"), "trees");
    const char *gb_name = json_string_value(json_object_get(gb, "name"));
    double base = 0, nf = 0, ncls = 0, ntarget = 1;
    if (!learner || json_number(json_object_get(param, "base_score"), &base) ||
        json_number(json_object_get(param, "num_feature"), &nf) || nf < 1 || nf > RK_MAX_FEATURES ||
        !json_is_array(trees)) {
        rc = mx_err_set(err, MX_EFORMAT, "ranker: not an XGBoost JSON model");
        goto done;
    }
    if (!gb_name || strcmp(gb_name, "gbtree") != 0) {
        rc = mx_err_set(err, MX_EFORMAT, "ranker: booster '%s' is not supported (gbtree only)",
                        gb_name ? gb_name : "?");
        goto done;
    }
    json_number(json_object_get(param, "num_class"), &ncls);
    json_number(json_object_get(param, "num_target"), &ntarget);
    if (ncls > 1 || ntarget > 1) {
        rc = mx_err_set(err, MX_EFORMAT,
                        "ranker: multi-class or multi-target models are not "
                        "supported");
        goto done;
    }
    f->base = (float)base;
    f->n_features = (size_t)nf;
    snprintf(f->objective, sizeof(f->objective), "%s",
             json_string_value(json_object_get(json_object_get(learner, "objective"), "name"))
                 ?: "");
    json_t *names = json_object_get(learner, "feature_names");
    if (json_is_array(names) && json_array_size(names) == f->n_features) {
        f->feature_names = calloc(f->n_features, sizeof(char *));
        if (!f->feature_names) goto oom;
        for (size_t i = 0; i < f->n_features; i++) {
            f->feature_names[i] = strdup(json_string_value(json_array_get(names, i)) ?: "");
            if (!f->feature_names[i]) goto oom;
        }
    }
    f->n_trees = json_array_size(trees);
    f->trees = calloc(f->n_trees ? f->n_trees : 1, sizeof(rk_tree));
    if (!f->trees) goto oom;
    for (size_t ti = 0; ti < f->n_trees; ti++) {
        xtree x;
        if ((rc = xtree_get(json_array_get(trees, ti), &x, f->n_features, ti, err))) goto done;
        if (grow((void **)&mean, 2 * x.n, sizeof(double))) goto oom;
        node_means(json_array_get(trees, ti), &x, mean, mean + x.n);
        size_t D = depth_of(&x, 0);
        if (D > f->max_depth) f->max_depth = D;
        rk_tree *t = &f->trees[ti];
        if (D <= RK_MAX_COMPLETE_DEPTH) {
            t->depth = (uint32_t)D;
            t->off_node = (uint32_t)f->n_nodes;
            t->off_leaf = (uint32_t)f->n_leaves;
            f->n_nodes += (1u << D) - 1;
            f->n_leaves += 1u << D;
            if (grow((void **)&f->thr, f->n_nodes, sizeof(float)) ||
                grow((void **)&f->feat8, f->n_nodes, sizeof(uint16_t)) ||
                grow((void **)&f->mean, f->n_nodes, sizeof(float)) ||
                grow((void **)&f->leaf, f->n_leaves, sizeof(float)))
                goto oom;
            fill(f, t, &x, mean, 0, 0, 0);
        } else {
            t->depth = UINT32_MAX;
            t->off_node = (uint32_t)f->n_walk;
            f->n_walk += x.n;
            if (grow((void **)&f->w_left, f->n_walk, sizeof(int32_t)) ||
                grow((void **)&f->w_right, f->n_walk, sizeof(int32_t)) ||
                grow((void **)&f->w_feat, f->n_walk, sizeof(uint32_t)) ||
                grow((void **)&f->w_value, f->n_walk, sizeof(float)) ||
                grow((void **)&f->w_mean, f->n_walk, sizeof(float)))
                goto oom;
            for (size_t i = 0; i < x.n; i++) {
                f->w_left[t->off_node + i] = child(&x, i, 0);
                f->w_right[t->off_node + i] = child(&x, i, 1);
                f->w_feat[t->off_node + i] =
                    (uint32_t)json_integer_value(json_array_get(x.feat, i));
                f->w_value[t->off_node + i] = (float)json_number_value(json_array_get(x.cond, i));
                f->w_mean[t->off_node + i] = (float)mean[i];
            }
        }
    }
    goto done;
oom:
    rc = mx_err_set(err, MX_ENOMEM, "out of memory for the ranker");
done:
    free(mean);
    json_decref(root);
    if (rc)
        rk_forest_free(f);
    else
        *out = f;
    return rc;
}

/* One level for lane k of a group: node index a -> its child. xt holds
 * the group transposed (feature f of lane k at xt[8 f + k]). */
#define STEP(a, k) a = 2 * a + 1 + !(xt[feat8[a] + (k)] < thr[a])

/* The 8 lanes of a group, from their nodes start[] at level `from` down
 * to the leaves of a depth-D tree: acc[k] += the leaf lane k reaches. The
 * lanes are separate variables so their chains of loads overlap. */
static inline __attribute__((always_inline)) void walk8(const float *thr, const uint16_t *feat8,
                                                        const float *leaf, uint32_t from,
                                                        uint32_t D, const float *xt,
                                                        const uint32_t start[8], float *acc) {
    size_t a0 = start[0], a1 = start[1], a2 = start[2], a3 = start[3], a4 = start[4], a5 = start[5],
           a6 = start[6], a7 = start[7];
    for (uint32_t l = from; l < D; l++) {
        STEP(a0, 0);
        STEP(a1, 1);
        STEP(a2, 2);
        STEP(a3, 3);
        STEP(a4, 4);
        STEP(a5, 5);
        STEP(a6, 6);
        STEP(a7, 7);
    }
    const size_t first_leaf = ((size_t)1 << D) - 1;
    acc[0] += leaf[a0 - first_leaf];
    acc[1] += leaf[a1 - first_leaf];
    acc[2] += leaf[a2 - first_leaf];
    acc[3] += leaf[a3 - first_leaf];
    acc[4] += leaf[a4 - first_leaf];
    acc[5] += leaf[a5 - first_leaf];
    acc[6] += leaf[a6 - first_leaf];
    acc[7] += leaf[a7 - first_leaf];
}
#undef STEP

/* One complete tree over groups of 8 transposed rows: acc[r] += leaf. The
 * eight lanes walk together (their chains of dependent loads overlap) and
 * address their features from one base register. */
static void eval_complete(const rk_forest *f, const rk_tree *t, const float *xt, size_t n_groups,
                          float *acc) {
    const float *thr = f->thr + t->off_node, *leaf = f->leaf + t->off_leaf;
    const uint16_t *feat8 = f->feat8 + t->off_node;
    size_t stride = 8 * f->n_features;
    uint32_t D = t->depth;
#ifdef __SSE2__
    if (D >= 3) {
        /* Levels 0-2 touch only nodes 0-6, the same for every lane: compare
         * 4 lanes at a time against each of them (SSE2, x86-64's baseline)
         * and pick each lane's path with masks; the lanes then go on from
         * level 3 with their own loads. Same comparisons, same results. */
        __m128 T[7];
        for (int j = 0; j < 7; j++)
            T[j] = _mm_set1_ps(thr[j]);
        const __m128i seven = _mm_set1_epi32(7);
        for (size_t g = 0; g < n_groups; g++, xt += stride, acc += 8) {
            uint32_t start[8];
            for (int h = 0; h < 8; h += 4) {
#define RIGHT(j) _mm_castps_si128(_mm_cmpnlt_ps(_mm_loadu_ps(xt + feat8[j] + h), T[j]))
#define PICK(m, a, b) _mm_or_si128(_mm_and_si128(m, b), _mm_andnot_si128(m, a))
                __m128i m0 = RIGHT(0);
                __m128i m1 = PICK(m0, RIGHT(1), RIGHT(2));
                __m128i m2 = PICK(m0, PICK(m1, RIGHT(3), RIGHT(4)), PICK(m1, RIGHT(5), RIGHT(6)));
#undef RIGHT
#undef PICK
                /* masks are -1 where the lane goes right: 7 + 4 b0 + 2 b1 + b2 */
                __m128i at =
                    _mm_sub_epi32(_mm_sub_epi32(_mm_sub_epi32(seven, _mm_slli_epi32(m0, 2)),
                                                _mm_slli_epi32(m1, 1)),
                                  m2);
                _mm_storeu_si128((__m128i *)(start + h), at);
            }
            walk8(thr, feat8, leaf, 3, D, xt, start, acc);
        }
        return;
    }
#endif
    static const uint32_t root[8] = {0};
    for (size_t g = 0; g < n_groups; g++, xt += stride, acc += 8)
        walk8(thr, feat8, leaf, 0, D, xt, root, acc);
}

#if RK_HAVE_AVX2
/* eval_complete for all eight lanes at once (AVX2), for trees of depth 3
 * or more: the same comparisons (!(x < threshold), true for NaN as the
 * scalar step) and the same float additions, lane by lane. Levels 0-3
 * compare every lane against each node of the level (15 nodes, one
 * broadcast threshold each) and pick each lane's result by blends on its
 * path so far; at depth 3 or 4 the leaves (8 or 16) are picked by a
 * permutation, below level 4 the lanes walk on one by one (walk8). */
__attribute__((target("avx2"))) static void eval_complete_avx2(const rk_forest *f, const rk_tree *t,
                                                               const float *xt, size_t n_groups,
                                                               float *acc) {
    const float *thr = f->thr + t->off_node, *leaf = f->leaf + t->off_leaf;
    const uint16_t *feat8 = f->feat8 + t->off_node;
    size_t stride = 8 * f->n_features;
    uint32_t D = t->depth, top = D >= 4 ? 15 : 7; /* nodes of the levels done here */
    __m256 T[15];
    for (uint32_t j = 0; j < top; j++)
        T[j] = _mm256_set1_ps(thr[j]);
    __m256 L0 = _mm256_setzero_ps(), L1 = _mm256_setzero_ps();
    if (D <= 4) L0 = _mm256_loadu_ps(leaf); /* 8 leaves at depth 3, 16 at depth 4 */
    if (D == 4) L1 = _mm256_loadu_ps(leaf + 8);
    for (size_t g = 0; g < n_groups; g++, xt += stride, acc += 8) {
#define RIGHT8(j) _mm256_cmp_ps(_mm256_loadu_ps(xt + feat8[j]), T[j], _CMP_NLT_UQ)
#define PICK(m, a, b) _mm256_blendv_ps(a, b, m)
#define BIT(m, s) _mm256_slli_epi32(_mm256_castps_si256(m), s) /* -(b << s) */
        /* masks are -1 where the lane goes right at that level */
        __m256 m0 = RIGHT8(0);
        __m256 m1 = PICK(m0, RIGHT8(1), RIGHT8(2));
        __m256 m2 = PICK(m0, PICK(m1, RIGHT8(3), RIGHT8(4)), PICK(m1, RIGHT8(5), RIGHT8(6)));
        /* the lane's index within level 3: 4 b0 + 2 b1 + b2 */
        __m256i j3 = _mm256_sub_epi32(
            _mm256_sub_epi32(_mm256_sub_epi32(_mm256_setzero_si256(), BIT(m0, 2)), BIT(m1, 1)),
            _mm256_castps_si256(m2));
        if (D == 3) {
            __m256 v = _mm256_permutevar8x32_ps(L0, j3);
            _mm256_storeu_ps(acc, _mm256_add_ps(_mm256_loadu_ps(acc), v));
            continue;
        }
        __m256 m3 =
            PICK(m0, PICK(m1, PICK(m2, RIGHT8(7), RIGHT8(8)), PICK(m2, RIGHT8(9), RIGHT8(10))),
                 PICK(m1, PICK(m2, RIGHT8(11), RIGHT8(12)), PICK(m2, RIGHT8(13), RIGHT8(14))));
        /* the index within level 4: 2 j3 + b3 (its low 3 bits pick within a half) */
        __m256i j4 = _mm256_sub_epi32(_mm256_slli_epi32(j3, 1), _mm256_castps_si256(m3));
        if (D == 4) {
            __m256 v = PICK(m0, _mm256_permutevar8x32_ps(L0, j4), _mm256_permutevar8x32_ps(L1, j4));
            _mm256_storeu_ps(acc, _mm256_add_ps(_mm256_loadu_ps(acc), v));
            continue;
        }
#undef RIGHT8
#undef PICK
#undef BIT
        uint32_t start[8];
        _mm256_storeu_si256((__m256i *)start, _mm256_add_epi32(j4, _mm256_set1_epi32(15)));
        walk8(thr, feat8, leaf, 4, D, xt, start, acc);
    }
}

static int avx2_state = -1; /* -1: not asked yet; 0 or 1 */

static int use_avx2(void) {
    int s = __atomic_load_n(&avx2_state, __ATOMIC_RELAXED);
    return s >= 0 ? s : rk_forest_use_avx2(1);
}
#endif

int rk_forest_use_avx2(int allow) {
#if RK_HAVE_AVX2
    __builtin_cpu_init();
    int on = allow && __builtin_cpu_supports("avx2");
    __atomic_store_n(&avx2_state, on, __ATOMIC_RELAXED);
    return on;
#else
    (void)allow;
    return 0;
#endif
}

/* Walks a deep tree for lane k of each group. */
static void eval_walk(const rk_forest *f, const rk_tree *t, const float *xt, size_t n_groups,
                      float *acc) {
    const int32_t *L = f->w_left + t->off_node, *R = f->w_right + t->off_node;
    const uint32_t *feat = f->w_feat + t->off_node;
    const float *val = f->w_value + t->off_node;
    size_t stride = 8 * f->n_features;
    for (size_t g = 0; g < n_groups; g++, xt += stride)
        for (size_t k = 0; k < 8; k++) {
            int32_t i = 0;
            while (L[i] != -1)
                i = xt[8 * feat[i] + k] < val[i] ? L[i] : R[i];
            acc[8 * g + k] += val[i];
        }
}

void rk_forest_predict(const rk_forest *f, const float *x, size_t n_rows, size_t stride,
                       float *out) {
    /* blocks of up to RK_BLOCK rows, transposed in groups of 8 */
    float xt[RK_XT_FLOATS], acc[RK_BLOCK];
    size_t nf = f->n_features, block = RK_XT_FLOATS / nf / 8 * 8;
    if (block > RK_BLOCK) block = RK_BLOCK;
    for (size_t b = 0; b < n_rows; b += block) {
        size_t n = n_rows - b < block ? n_rows - b : block, groups = (n + 7) / 8;
        for (size_t g = 0; g < groups; g++)
            for (size_t k = 0; k < 8; k++) {
                size_t r = g * 8 + k;
                float *dst = xt + g * 8 * nf + k;
                if (r < n) {
                    const float *src = x + (b + r) * stride;
                    for (size_t j = 0; j < nf; j++)
                        dst[8 * j] = src[j];
                } else { /* padding lanes: evaluated, never read back */
                    for (size_t j = 0; j < nf; j++)
                        dst[8 * j] = 0;
                }
            }
        for (size_t r = 0; r < groups * 8; r++)
            acc[r] = f->base;
        for (size_t t = 0; t < f->n_trees; t++) {
            const rk_tree *tr = &f->trees[t];
            if (tr->depth == UINT32_MAX) eval_walk(f, tr, xt, groups, acc);
#if RK_HAVE_AVX2
            else if (tr->depth >= 3 && use_avx2())
                eval_complete_avx2(f, tr, xt, groups, acc);
#endif
            else
                eval_complete(f, tr, xt, groups, acc);
        }
        memcpy(out + b, acc, n * sizeof(float));
    }
}

void rk_forest_contrib(const rk_forest *f, const float *x, float *contrib, float *bias) {
    double acc[RK_MAX_FEATURES] = {0}, b = f->base;
    for (size_t t = 0; t < f->n_trees; t++) {
        const rk_tree *tr = &f->trees[t];
        if (tr->depth == UINT32_MAX) { /* XGBoost's node arrays */
            const int32_t *L = f->w_left + tr->off_node, *R = f->w_right + tr->off_node;
            const uint32_t *feat = f->w_feat + tr->off_node;
            const float *val = f->w_value + tr->off_node, *mean = f->w_mean + tr->off_node;
            int32_t i = 0;
            b += mean[0];
            while (L[i] != -1) {
                int32_t next = x[feat[i]] < val[i] ? L[i] : R[i];
                acc[feat[i]] += (double)mean[next] - mean[i];
                i = next;
            }
            continue;
        }
        /* complete layout: a replicated leaf's children have its own mean,
         * so its never-taken split adds nothing */
        const float *thr = f->thr + tr->off_node, *mean = f->mean + tr->off_node,
                    *leaf = f->leaf + tr->off_leaf;
        const uint16_t *feat8 = f->feat8 + tr->off_node;
        size_t D = tr->depth, first_leaf = ((size_t)1 << D) - 1, a = 0;
        double v = D ? mean[0] : leaf[0];
        b += v;
        for (size_t l = 0; l < D; l++) {
            size_t fi = feat8[a] / 8, next = 2 * a + 1 + !(x[fi] < thr[a]);
            double nv = next >= first_leaf ? leaf[next - first_leaf] : mean[next];
            acc[fi] += nv - v;
            v = nv;
            a = next;
        }
    }
    for (size_t i = 0; i < f->n_features; i++)
        contrib[i] = (float)acc[i];
    *bias = (float)b;
}

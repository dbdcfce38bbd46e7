/* ann.c - the interest-list IVF index over FAISS's C API. See ann.h. */
#include "ann.h"

#include <float.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ann_approx.h"
#include "ann_impl.h"
#include "ann_scan.h"
#include "ann_topk.h"
#include "hugemem.h"

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVFFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_io_c.h>

static int finish_index(ann_index *ix, mx_err *err) {
    FaissIndex *q = faiss_IndexIVF_quantizer(ix->ivf);
    FaissIndexFlat *qf = faiss_IndexFlat_cast(q);
    if (!qf) return mx_err_set(err, MX_EFORMAT, "index quantizer is not a flat index");
    float *xb = NULL;
    size_t sz = 0;
    faiss_IndexFlat_xb(qf, &xb, &sz);
    if (sz != ix->n_lists * ix->dim)
        return mx_err_set(err, MX_EFORMAT, "index quantizer holds %zu floats, expected %zu", sz,
                          ix->n_lists * ix->dim);
    ix->centroids = malloc(sz * sizeof(float));
    if (!ix->centroids) return mx_err_set(err, MX_ENOMEM, "out of memory for centroids");
    memcpy(ix->centroids, xb, sz * sizeof(float));
    faiss_IndexIVF_set_nprobe(ix->ivf, 1); /* see ann.h: never changed again */
    /* the lists' members, for ann_search_filtered's own scan */
    ix->list_ptr = malloc((ix->n_lists + 1) * sizeof(size_t));
    if (!ix->list_ptr) return mx_err_set(err, MX_ENOMEM, "out of memory for the index lists");
    ix->list_ptr[0] = 0;
    for (size_t l = 0; l < ix->n_lists; l++) {
        size_t len = faiss_IndexIVF_get_list_size(ix->ivf, l);
        ix->list_ptr[l + 1] = ix->list_ptr[l] + len;
        if (len > ix->max_list) ix->max_list = len;
    }
    ix->list_ids = malloc((ix->list_ptr[ix->n_lists] + 1) * sizeof(int64_t));
    if (!ix->list_ids) return mx_err_set(err, MX_ENOMEM, "out of memory for the index lists");
    for (size_t l = 0; l < ix->n_lists; l++)
        if (ix->list_ptr[l + 1] > ix->list_ptr[l])
            faiss_IndexIVF_invlists_get_ids(ix->ivf, l, (idx_t *)ix->list_ids + ix->list_ptr[l]);
    return 0;
}

/* Gives back the whole pages of a read-only file mapping from *done up to
 * `to` (*done moves there): they leave the process's resident memory and
 * come back from the page cache when read again. */
static void release_pages(uintptr_t *done, const void *to) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), b = (uintptr_t)to & ~(page - 1);
    uintptr_t a = (*done + page - 1) & ~(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
    if (b > *done) *done = b;
}

/* The lists' members' vectors, copied in list order from item_vecs (row =
 * item id), so that a list scan reads one contiguous block (on huge
 * pages: a request streams through a few MB of them at 1M items). item_vecs is
 * read once in order; with release (a read-only file mapping), its pages
 * are given back as they are copied, so that the copy does not hold both
 * in memory at once. */
static int copy_list_vectors(ann_index *ix, const float *item_vecs, size_t n_items, int release,
                             mx_err *err) {
    size_t n = ix->list_ptr[ix->n_lists], dim = ix->dim;
    uint32_t *pos = hugemem_alloc((n_items ? n_items : 1) * sizeof(uint32_t));
    float *v = hugemem_alloc((n ? n : 1) * dim * sizeof(float));
    if (!pos || !v) {
        free(pos);
        free(v);
        return mx_err_set(err, MX_ENOMEM, "out of memory for the index's vectors");
    }
    memset(pos, 0xff, n_items * sizeof(uint32_t));
    for (size_t t = 0; t < n; t++) {
        int64_t item = ix->list_ids[t];
        if (item < 0 || (size_t)item >= n_items || n > UINT32_MAX || pos[item] != UINT32_MAX) {
            free(pos);
            free(v);
            return mx_err_set(err, MX_EFORMAT, "the index holds item %lld %s", (long long)item,
                              item >= 0 && (size_t)item < n_items ? "in two places"
                                                                  : "past the model's items");
        }
        pos[item] = (uint32_t)t;
    }
    enum { RELEASE_ROWS = 16384 };
    uintptr_t done = (uintptr_t)item_vecs; /* the mapping starts on a page */
    if (release) {                         /* what reading them before left resident goes first */
        uintptr_t all = done;
        release_pages(&all, item_vecs + n_items * dim);
    }
    for (size_t i = 0; i < n_items; i++) {
        if (pos[i] != UINT32_MAX)
            memcpy(v + (size_t)pos[i] * dim, item_vecs + i * dim, dim * sizeof(float));
        if (release && ((i + 1) % RELEASE_ROWS == 0 || i + 1 == n_items)) {
            const float *end = item_vecs + (i + 1) * dim;
            /* the last page whole too: the mapping's tail past the file is ours */
            uintptr_t tail = i + 1 == n_items ? (uintptr_t)sysconf(_SC_PAGESIZE) - 1 : 0;
            release_pages(&done, (const void *)((uintptr_t)end + tail));
        }
    }
    free(ix->list_vecs);
    free(ix->item_row);
    ix->list_vecs = v;
    ix->item_row = pos; /* kept: ann_item_vector */
    ix->n_items = n_items;
    return 0;
}

int ann_build(const float *item_vecs, size_t n_items, size_t dim, const float *centroids,
              size_t n_lists, const uint32_t *item_interest, ann_index **out, mx_err *err) {
    *out = NULL;
    ann_index *ix = calloc(1, sizeof(*ix));
    FaissIndexIVFFlat *ivf = NULL;
    float *x = NULL;
    idx_t *ids = NULL;
    int64_t *lists = NULL;
    int rc = 0;
    if (!ix) return mx_err_set(err, MX_ENOMEM, "out of memory for the index");
    ix->dim = dim;
    ix->n_lists = n_lists;
    if ((rc = ann_faiss_new_ivf(dim, centroids, n_lists, &ivf, err))) goto fail;
    ix->ivf = (FaissIndexIVF *)ivf;
    /* Add in blocks: only one block of vectors is ever copied. */
    enum { ADD_BLOCK = 65536 };
    x = malloc(ADD_BLOCK * dim * sizeof(float));
    ids = malloc(ADD_BLOCK * sizeof(idx_t));
    lists = malloc(ADD_BLOCK * sizeof(int64_t));
    if (!x || !ids || !lists) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory adding items to the index");
        goto fail;
    }
    for (size_t i = 0; i < n_items;) {
        size_t n = 0;
        for (; i < n_items && n < ADD_BLOCK; i++) {
            if (item_interest[i] >= n_lists) continue;
            memcpy(x + n * dim, item_vecs + i * dim, dim * sizeof(float));
            ids[n] = (idx_t)i;
            lists[n] = item_interest[i];
            n++;
        }
        if (n && faiss_IndexIVFFlat_add_core(ivf, (idx_t)n, x, ids, lists)) {
            rc = ann_faiss_fail(err, "adding items to the index");
            goto fail;
        }
    }
    if ((rc = finish_index(ix, err)) || (rc = copy_list_vectors(ix, item_vecs, n_items, 0, err)))
        goto fail;
    free(x);
    free(ids);
    free(lists);
    *out = ix;
    return 0;
fail:
    ann_free(ix);
    free(x);
    free(ids);
    free(lists);
    return rc;
}

int ann_save(const ann_index *ix, const char *path, mx_err *err) {
    FaissIndexIVFFlat *again = NULL;
    int rc = ix->ivf ? 0 : ann_faiss_rebuild(ix, &again, err);
    const FaissIndex *faiss = ix->ivf ? (const FaissIndex *)ix->ivf : (const FaissIndex *)again;
    if (!rc && faiss_write_index_fname(faiss, path)) rc = ann_faiss_fail(err, "writing the index");
    faiss_Index_free((FaissIndex *)again);
    if (rc) mx_err_prefix(err, "%s", path);
    return rc;
}

int ann_load(const char *path, ann_index **out, mx_err *err) {
    *out = NULL;
    FaissIndex *raw = NULL;
    if (faiss_read_index_fname(path, 0, &raw)) { /* name the file: FAISS may not */
        int rc = ann_faiss_fail(err, "reading the index");
        mx_err_prefix(err, "%s", path);
        return rc;
    }
    FaissIndexIVFFlat *ivf = faiss_IndexIVFFlat_cast(raw);
    if (!ivf || faiss_Index_metric_type(raw) != METRIC_INNER_PRODUCT) {
        faiss_Index_free(raw);
        return mx_err_set(err, MX_EFORMAT, "%s: not an inner-product IVF-Flat index", path);
    }
    ann_index *ix = calloc(1, sizeof(*ix));
    if (!ix) {
        faiss_Index_free(raw);
        return mx_err_set(err, MX_ENOMEM, "out of memory for the index");
    }
    ix->ivf = (FaissIndexIVF *)ivf;
    ix->dim = (size_t)faiss_Index_d(raw);
    ix->n_lists = faiss_IndexIVF_nlist(ix->ivf);
    int rc = finish_index(ix, err);
    if (rc) {
        ann_free(ix);
        mx_err_prefix(err, "%s", path);
        return rc;
    }
    *out = ix;
    return 0;
}

void ann_free(ann_index *ix) {
    if (!ix) return;
    faiss_Index_free((FaissIndex *)ix->ivf);
    free(ix->centroids);
    free(ix->list_ptr);
    free(ix->list_ids);
    free(ix->list_vecs);
    free(ix->item_row);
    ann_approx_drop(ix);
    free(ix);
}

size_t ann_dim(const ann_index *ix) {
    return ix->dim;
}
size_t ann_n_lists(const ann_index *ix) {
    return ix->n_lists;
}
size_t ann_ntotal(const ann_index *ix) {
    return ix->list_ptr[ix->n_lists];
}
size_t ann_list_size(const ann_index *ix, size_t list) {
    return list < ix->n_lists ? ix->list_ptr[list + 1] - ix->list_ptr[list] : 0;
}
int ann_has_vectors(const ann_index *ix) {
    return ix->list_vecs != NULL;
}
const float *ann_vector_rows(const ann_index *ix, const uint32_t **item_row, size_t *n_items) {
    *item_row = ix->list_vecs ? ix->item_row : NULL;
    *n_items = ix->list_vecs ? ix->n_items : 0;
    return ix->list_vecs;
}
const float *ann_centroids(const ann_index *ix) {
    return ix->centroids;
}

ann_scratch *ann_scratch_new(const ann_index *ix, size_t max_rows, size_t max_k) {
    ann_scratch *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    if (max_rows < ix->n_lists) max_rows = ix->n_lists; /* global search may probe all */
    s->max_rows = max_rows;
    s->max_k = max_k ? max_k : 1;
    s->dim = ix->dim;
    s->queries = malloc(max_rows * ix->dim * sizeof(float));
    s->assign = malloc(max_rows * sizeof(idx_t));
    s->coarse = calloc(max_rows, sizeof(float));
    s->scores = malloc(max_rows * s->max_k * sizeof(float));
    s->labels = malloc(max_rows * s->max_k * sizeof(idx_t));
    s->cscore = malloc(ix->n_lists * sizeof(float));
    s->order = malloc(ix->n_lists * sizeof(uint32_t));
    s->head = malloc(ix->n_lists * sizeof(size_t));
    s->order_heap = malloc(ix->n_lists * sizeof(uint32_t));
    s->redo = malloc(ix->n_lists * sizeof(uint32_t));
    s->rows = malloc(ix->n_lists * sizeof(row_res));
    /* pass 1 of a global search keeps at most 2k + 17 * rows results */
    s->keep_sc = malloc((2 * s->max_k + 17 * max_rows) * sizeof(float));
    s->keep_it = malloc((2 * s->max_k + 17 * max_rows) * sizeof(int64_t));
    s->dots = malloc((ix->max_list ? ix->max_list : 1) * sizeof(float));
    s->pos = malloc((ix->max_list ? ix->max_list : 1) * sizeof(uint32_t));
    s->approx = malloc((ix->max_list ? ix->max_list : 1) * sizeof(float));
    s->exact = malloc((ix->max_list ? ix->max_list : 1) * sizeof(float));
    s->q16 = malloc((ix->dim ? ix->dim : 1) * sizeof(int16_t));
    s->res_cap = 2 * s->max_k + 16;
    s->res_sc = malloc(s->res_cap * sizeof(float));
    s->res_it = malloc(s->res_cap * sizeof(int64_t));
    if (!s->queries || !s->assign || !s->coarse || !s->scores || !s->labels || !s->cscore ||
        !s->order || !s->head || !s->order_heap || !s->redo || !s->rows || !s->keep_sc ||
        !s->keep_it || !s->dots || !s->pos || !s->approx || !s->exact || !s->q16 || !s->res_sc ||
        !s->res_it) {
        ann_scratch_free(s);
        return NULL;
    }
    return s;
}

void ann_scratch_free(ann_scratch *s) {
    if (!s) return;
    free(s->queries);
    free(s->assign);
    free(s->coarse);
    free(s->scores);
    free(s->labels);
    free(s->cscore);
    free(s->order);
    free(s->head);
    free(s->order_heap);
    free(s->redo);
    free(s->rows);
    free(s->keep_sc);
    free(s->keep_it);
    free(s->dots);
    free(s->pos);
    free(s->approx);
    free(s->q16);
    free(s->exact);
    free(s->res_sc);
    free(s->res_it);
    free(s);
}

/* The same from the own copy: each list's scores in one block, its top
 * depth selected (ann_topk), best first, padded as FAISS pads. k <= max_k:
 * the reservoir holds it. With the approximate copy, a row's floor comes
 * from the approximate scores (ann_approx_floor), so that only the rows
 * near its top are read again as floats: a few dozen of a list of a
 * thousand; without it, from the exact scores (ann_topk_floor: counted
 * samples). */
static void own_search_lists(const ann_index *ix, ann_scratch *s, const float *q,
                             const uint32_t *lists, size_t n_lists, size_t k, const size_t *depth) {
    ann_topk top;
    float qnorm = ann_approx_query(ix, s, q);
    for (size_t j = 0; j < n_lists; j++) {
        uint32_t l = lists[j];
        size_t at = ix->list_ptr[l], len = ix->list_ptr[l + 1] - at, n = 0;
        size_t kj = depth ? depth[j] : k;
        float *sc = s->scores + j * k;
        int64_t *it = (int64_t *)s->labels + j * k;
        if (kj > 0) {
            float delta = ann_approx_scores(ix, s, q, qnorm, l);
            ann_topk_start(&top, s->res_sc, s->res_it, ann_reservoir_cap(s, kj), kj);
            top.floor = delta >= 0 ? ann_approx_floor(ix, s, l, kj, delta)
                                   : ann_topk_floor(s->dots, len, kj);
            size_t m = ann_approx_above(ix, s, q, l, top.floor, delta);
            for (size_t t = 0; t < m; t++)
                ann_topk_add(&top, s->dots[s->pos[t]], ix->list_ids[at + s->pos[t]]);
            n = ann_topk_finish(&top);
            memcpy(sc, top.sc, n * sizeof(float));
            memcpy(it, top.it, n * sizeof(int64_t));
        }
        for (; n < k; n++)
            sc[n] = -FLT_MAX, it[n] = -1;
    }
}

int ann_search_lists(const ann_index *ix, ann_scratch *s, const float *q, const uint32_t *lists,
                     size_t n_lists, size_t k, const size_t *depth, const float **scores,
                     const int64_t **items, mx_err *err) {
    int rc = ann_check_rows(ix, s, lists, n_lists, k, err);
    if (rc) return rc;
    for (size_t j = 0; depth && j < n_lists; j++)
        if (depth[j] > k)
            return mx_err_set(err, MX_EINVAL, "row %zu's depth %zu is past k %zu", j, depth[j], k);
    if (ix->list_vecs) {
        own_search_lists(ix, s, q, lists, n_lists, k, depth);
    } else {
        if ((rc = ann_faiss_lists(ix, s, q, lists, n_lists, k, err))) return rc;
        for (size_t j = 0; depth && j < n_lists; j++) /* FAISS's rows are k deep: cut */
            for (size_t t = depth[j]; t < k; t++)
                s->scores[j * k + t] = -FLT_MAX, s->labels[j * k + t] = -1;
    }
    *scores = s->scores;
    *items = (const int64_t *)s->labels;
    return 0;
}

int ann_search_lists_faiss(const ann_index *ix, ann_scratch *s, const float *q,
                           const uint32_t *lists, size_t n_lists, size_t k, const float **scores,
                           const int64_t **items, mx_err *err) {
    if (!ix->ivf) return mx_err_set(err, MX_EINVAL, "FAISS's copy of the index was dropped");
    int rc = ann_check_rows(ix, s, lists, n_lists, k, err);
    if (rc || (rc = ann_faiss_lists(ix, s, q, lists, n_lists, k, err))) return rc;
    *scores = s->scores;
    *items = (const int64_t *)s->labels;
    return 0;
}

/* Whether the own copy answers as FAISS does: for a few lists, the top
 * results of a search with the list's centroid, by both. */
static int own_agrees(ann_index *ix, mx_err *err) {
    enum { LISTS = 4, TOP = 8 };
    ann_scratch *s = ann_scratch_new(ix, LISTS, TOP);
    if (!s) return mx_err_set(err, MX_ENOMEM, "out of memory checking the index");
    int rc = 0;
    for (size_t j = 0; j < LISTS && j < ix->n_lists && !rc; j++) {
        uint32_t l = (uint32_t)(j * ix->n_lists / LISTS);
        size_t k = ann_list_size(ix, l) < TOP ? ann_list_size(ix, l) : TOP;
        if (k == 0) continue;
        const float *q = ix->centroids + (size_t)l * ix->dim;
        float fs[TOP];
        int64_t fi[TOP];
        if ((rc = ann_faiss_lists(ix, s, q, &l, 1, k, err))) break;
        memcpy(fs, s->scores, k * sizeof(float));
        memcpy(fi, s->labels, k * sizeof(int64_t));
        own_search_lists(ix, s, q, &l, 1, k, NULL);
        for (size_t t = 0; t < k && !rc; t++) {
            float tol = 1e-4f * (fabsf(fs[t]) + 1.0f);
            if (fabsf(s->scores[t] - fs[t]) > tol)
                rc = mx_err_set(err, MX_EFORMAT,
                                "the item vectors do not match the index: list %u's result %zu "
                                "scores %g by FAISS, %g from item_vectors",
                                l, t, (double)fs[t], (double)s->scores[t]);
        }
    }
    ann_scratch_free(s);
    return rc;
}

int ann_use_approx(ann_index *ix, int on, mx_err *err) {
    if (!on) {
        ann_approx_drop(ix);
        return 0;
    }
    return ann_approx_build(ix, err);
}

int ann_has_approx(const ann_index *ix) {
    return ix->approx_vecs != NULL;
}

int ann_own_vectors(ann_index *ix, const float *item_vecs, size_t n_items, int mapped,
                    mx_err *err) {
    int rc = copy_list_vectors(ix, item_vecs, n_items, mapped, err);
    if (!rc && ix->ivf && (rc = own_agrees(ix, err))) {
        free(ix->list_vecs);
        free(ix->item_row);
        ix->list_vecs = NULL;
        ix->item_row = NULL;
    }
    if (rc) return rc;
    faiss_Index_free((FaissIndex *)ix->ivf);
    ix->ivf = NULL;
    malloc_trim(0); /* FAISS's lists were many mid-sized blocks: give the heap back */
    /* Past the caches, scans wait on memory: the approximate copy is a
     * quarter of what they read (ann_approx.h). Made after the trim, so
     * that the peak stays the copy of the floats'. Without it (CPU,
     * memory) the floats serve. */
    if (ix->list_ptr[ix->n_lists] * ix->dim * sizeof(float) >= ANN_APPROX_MIN_BYTES)
        ann_approx_build(ix, NULL);
    return 0;
}

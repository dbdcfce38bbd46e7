/* ann_impl.h - what ann.c (the index, its own copy, the list rows),
 * ann_global.c (the global searches over the own copy), ann_approx.c (the
 * approximate copy) and ann_faiss.c (FAISS's side: building, rebuilding,
 * its searches) share. Private to those files. */
#ifndef ANN_IMPL_H
#define ANN_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <faiss/c_api/IndexIVFFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>

#include "ann.h"

struct ann_index {
    FaissIndexIVF *ivf; /* owns its quantizer; NULL once ann_own_vectors dropped it */
    size_t dim, n_lists;
    float *centroids; /* copy of the quantizer's vectors */
    size_t *list_ptr; /* n_lists + 1: list l's ids are list_ids[list_ptr[l] ..] */
    int64_t *list_ids;
    float *list_vecs;    /* the members' vectors in list order (row t = list_ids[t]), or NULL:
                            then FAISS searches */
    size_t max_list;     /* the longest list's length */
    uint32_t *item_row;  /* with list_vecs: per item, its row there (UINT32_MAX: not indexed) */
    size_t n_items;      /* item_row's length */
    int8_t *approx_vecs; /* list_vecs in steps of 8 bits, or NULL (ann_approx.h) */
    float *approx_scale; /* per row: its step */
    float *approx_bound; /* per list: the factor of |q| in its rows' error bound (ann_approx.h) */
    float *approx_norm;  /* per list: the factor of the query's rounding (its longest row) */
};

/* One probed list's results, best first. */
typedef struct {
    const float *sc;
    const int64_t *it;
    size_t n;
} row_res;

struct ann_scratch {
    size_t max_rows, max_k, dim;
    float *queries;       /* max_rows x dim */
    idx_t *assign;        /* max_rows */
    float *coarse;        /* max_rows, zeros (IVF-Flat ignores them) */
    float *scores;        /* max_rows x max_k */
    idx_t *labels;        /* max_rows x max_k */
    float *cscore;        /* n_lists centroid scores */
    uint32_t *order;      /* n_lists */
    size_t *head;         /* n_lists merge cursors */
    uint32_t *order_heap; /* n_lists: merge heap of row indices */
    uint32_t *redo;       /* n_lists: lists searched again (pass 2) */
    row_res *rows;        /* n_lists */
    float *keep_sc;       /* pass-1 rows kept aside during pass 2 */
    int64_t *keep_it;
    float *dots;        /* max_list: one list's scores (own scan) */
    uint32_t *pos;      /* max_list: positions in the list above a floor */
    float *approx;      /* max_list: one list's approximate scores (ann_approx.h) */
    float *exact;       /* max_list: rows scored again exactly */
    int16_t *q16;       /* dim: the query in 16-bit steps of qscale (ann_approx_query) */
    float qscale, qerr; /* |q - qscale q16|, rounded up */
    float *res_sc;      /* res_cap: the top-k reservoir (ann_topk) */
    int64_t *res_it;
    size_t res_cap;
};

/* The reservoir's size for a top k: about 2k (ann_topk.h), so that the
 * floor rises early and each compaction is short. */
static inline size_t ann_reservoir_cap(const ann_scratch *s, size_t k) {
    size_t cap = 2 * k + 16;
    return cap < s->res_cap ? cap : s->res_cap;
}

/* err from FAISS's last error, prefixed by what failed. */
int ann_faiss_fail(mx_err *err, const char *what);
/* A search of n_lists rows of k must fit the scratch and name real lists. */
int ann_check_rows(const ann_index *ix, const ann_scratch *s, const uint32_t *lists, size_t n_lists,
                   size_t k, mx_err *err);
/* Ranks the lists by centroid score into s->order (a partial selection of
 * the nprobe best first); returns nprobe (0 or too many: every list). */
size_t ann_probe_order(const ann_index *ix, ann_scratch *s, const float *q, size_t nprobe);

/* An empty inner-product IVF-Flat whose quantizer holds the centroids. */
int ann_faiss_new_ivf(size_t dim, const float *centroids, size_t n_lists, FaissIndexIVFFlat **out,
                      mx_err *err);
/* A FAISS index of ix's lists again, from the own copy. */
int ann_faiss_rebuild(const ann_index *ix, FaissIndexIVFFlat **out, mx_err *err);
/* FAISS's search of the lists into s->scores/s->labels (one batched
 * search_preassigned call); rows already checked. */
int ann_faiss_lists(const ann_index *ix, ann_scratch *s, const float *q, const uint32_t *lists,
                    size_t n_lists, size_t k, mx_err *err);
/* ann_search_global_known by FAISS (an index without the own copy). */
int ann_faiss_search_global(const ann_index *ix, ann_scratch *s, const float *q, size_t k,
                            size_t nprobe, const ann_known *known, float *scores, int64_t *items,
                            size_t *n_found, mx_err *err);

#endif

/* ann.h - the item index: an inner-product IVF whose inverted lists ARE
 * the interests.
 *
 * List c holds exactly the items of interest c (added with their
 * precomputed list), ids are dense item ids, vectors are the unnormalised
 * item embeddings (their norm carries popularity). The quantizer holds the
 * unit interest centroids.
 *  - ann_search_lists: one query vector searched inside chosen lists (one
 *    row per list): the mixture retrieval.
 *  - ann_search_global: the nprobe lists whose centroids score highest
 *    (nprobe = n_lists is exact), merged: "similar items" and the
 *    single-vector baseline.
 * FAISS stores the index (index.faiss) and built it; the searches read an
 * own copy of the lists' vectors, contiguous per list, with the kernel of
 * ann_scan.h: FAISS's per-query overhead (heaps, scanners, result arrays,
 * OpenMP) cost more than the arithmetic on lists of a few thousand items
 * (docs/performance.md). ann_build keeps both; a loaded index gets its copy
 * from the model's item vectors (ann_own_vectors), checked against FAISS's
 * answers, and FAISS's copy is then dropped (one copy in memory). Until
 * then, searches go to FAISS (search_preassigned, nprobe 1 for the index's
 * whole life).
 * An ann_index is read-only after build/load and safe to search from many
 * threads at once; each thread needs its own ann_scratch. FAISS may use
 * OpenMP inside a batched call: serving threads call omp_set_num_threads(1). */
#ifndef ANN_ANN_H
#define ANN_ANN_H

#include <stddef.h>
#include <stdint.h>

#include "mx_err.h"

typedef struct ann_index ann_index;
typedef struct ann_scratch ann_scratch;

/* Builds from item_vecs (n_items x dim), unit centroids (n_lists x dim)
 * and each item's list (item_interest; UINT32_MAX = not indexed). */
int ann_build(const float *item_vecs, size_t n_items, size_t dim, const float *centroids,
              size_t n_lists, const uint32_t *item_interest, ann_index **out, mx_err *err);

/* FAISS's own index I/O. ann_load checks that the file is an
 * inner-product IVF-Flat (clear error otherwise). ann_save writes FAISS's
 * copy, or one made again from the own copy when FAISS's was dropped. */
int ann_save(const ann_index *ix, const char *path, mx_err *err);
int ann_load(const char *path, ann_index **out, mx_err *err);
void ann_free(ann_index *ix);

/* Gives a loaded index its own copy of the lists' vectors from item_vecs
 * (row = item id, n_items rows: the vectors the index was built from),
 * checks that a few lists answer as FAISS does (MX_EFORMAT when not: the
 * vectors are not the index's), and drops FAISS's copy. mapped: item_vecs
 * is a read-only file mapping, whose pages are given back as they are
 * copied (MADV_DONTNEED: read again later, they come from the page cache),
 * so that loading holds one extra copy at most briefly. Not thread-safe:
 * call before the index is shared. */
int ann_own_vectors(ann_index *ix, const float *item_vecs, size_t n_items, int mapped, mx_err *err);
/* 1 when the searches read the own copy (ann_build, ann_own_vectors). */
int ann_has_vectors(const ann_index *ix);

size_t ann_dim(const ann_index *ix);
size_t ann_n_lists(const ann_index *ix);
size_t ann_ntotal(const ann_index *ix);
size_t ann_list_size(const ann_index *ix, size_t list);
const float *ann_centroids(const ann_index *ix); /* n_lists x dim, borrowed */

/* Scratch for queries of up to max_rows list-rows and max_k results per
 * row. Owned by one thread. */
ann_scratch *ann_scratch_new(const ann_index *ix, size_t max_rows, size_t max_k);
void ann_scratch_free(ann_scratch *s);

/* Searches q inside lists[0..n_lists) with k results each, or depth[j]
 * (<= k) for list j when depth is not NULL. Results for list j are
 * scores[j*k ..] and items[j*k ..], best first, item -1 (score -FLT_MAX)
 * past its depth and where a list has fewer items. The arrays belong to
 * the scratch and stay valid until its next use. */
int ann_search_lists(const ann_index *ix, ann_scratch *s, const float *q, const uint32_t *lists,
                     size_t n_lists, size_t k, const size_t *depth, const float **scores,
                     const int64_t **items, mx_err *err);

/* ann_search_lists by FAISS (search_preassigned) even when the own copy
 * exists: the reference the tests and `mixrec bench` compare with.
 * MX_EINVAL once FAISS's copy was dropped. */
int ann_search_lists_faiss(const ann_index *ix, ann_scratch *s, const float *q,
                           const uint32_t *lists, size_t n_lists, size_t k, const float **scores,
                           const int64_t **items, mx_err *err);

/* Top k over the nprobe best lists (by centroid . q); n_lists = exact.
 * Fills scores/items (caller arrays of k); returns the count found. */
int ann_search_global(const ann_index *ix, ann_scratch *s, const float *q, size_t k, size_t nprobe,
                      float *scores, int64_t *items, size_t *n_found, mx_err *err);

/* Rows a caller already searched with the same q (e.g. the mixture's
 * interest lists): lists[i]'s results, best first, are scores[i*k ..] and
 * items[i*k ..], depth[i] of them searched (NULL: k each; -1 items past
 * the depth are padding, before it the list's end). ann_search_global_known
 * does not search those lists again when a row covers what its first pass
 * needs; results are the same. */
typedef struct ann_known {
    const uint32_t *lists;
    const float *scores;
    const int64_t *items;
    size_t n, k;
    const size_t *depth;
} ann_known;

static inline size_t ann_known_depth(const ann_known *known, size_t row) {
    return known->depth ? known->depth[row] : known->k;
}

int ann_search_global_known(const ann_index *ix, ann_scratch *s, const float *q, size_t k,
                            size_t nprobe, const ann_known *known, float *scores, int64_t *items,
                            size_t *n_found, mx_err *err);

/* Whether a search leaves item out (arg: the caller's). */
typedef int (*ann_skip_fn)(const void *arg, int64_t item);
/* Asks for what the skip function will read for item (a prefetch): a
 * filtered scan names the rows it may check before it checks them. */
typedef void (*ann_hint_fn)(const void *arg, int64_t item);

/* An approximate copy of the own copy's vectors (8 bits a component, a
 * scale per row), which list scans read instead of the floats, scoring
 * exactly only the rows that can enter (ann_approx.h): the same answers,
 * bit for bit (ties at the k-th aside), from about a quarter of the bytes.
 * ann_own_vectors makes it for indexes of ANN_APPROX_MIN_BYTES of vectors
 * or more on CPUs with AVX2; it costs a byte per dimension and item, and 4
 * per item. on: make it (MX_EINVAL where the CPU, the dimension or a
 * component that is not finite rules it out); 0: drop it. Not while
 * searches run. */
#define ANN_APPROX_MIN_BYTES (64u << 20)
int ann_use_approx(ann_index *ix, int on, mx_err *err);
int ann_has_approx(const ann_index *ix);

/* The own copy's rows (NULL without one): item i's vector is row
 * (*item_row)[i] (UINT32_MAX: not in the index) for i < *n_items. The copy
 * sits on huge pages where the kernel gives them: read item vectors here on
 * the request path (mx_item_vec) rather than from the model's mapping.
 * Valid while ix lives. */
const float *ann_vector_rows(const ann_index *ix, const uint32_t **item_row, size_t *n_items);

/* Top k over the nprobe best lists, as ann_search_global, leaving out the
 * items skip names (skip may be NULL; hint, which may be NULL too, is told
 * of the items skip may be asked about a little before): a scan of the own copy, so that
 * excluded items cost nothing instead of a deeper search. A list with a
 * known row (searched with this q; may be NULL) is not scanned when the row
 * holds the list's best k kept items, or when what the row lacks could not
 * enter the top k. Scores equal FAISS's up to float rounding; ties in any
 * order. Cannot fail; finds nothing without the own copy
 * (ann_has_vectors). */
int ann_search_filtered(const ann_index *ix, ann_scratch *s, const float *q, size_t k,
                        size_t nprobe, const ann_known *known, ann_skip_fn skip, ann_hint_fn hint,
                        const void *arg, float *scores, int64_t *items, size_t *n_found);

#endif

/* ann_faiss.c - FAISS's side of the index: errors, building an IVF from
 * the centroids, rebuilding one from the own copy, and FAISS's searches
 * (an index loaded without its own copy, and the reference the tests
 * compare with). See ann.h. */
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/error_c.h>

#include "ann_impl.h"

int ann_faiss_fail(mx_err *err, const char *what) {
    const char *m = faiss_get_last_error();
    return mx_err_set(err, MX_EFAISS, "%s: %s", what, m ? m : "unknown FAISS error");
}

/* A search of n_lists rows of k must fit the scratch and name real lists. */
int ann_check_rows(const ann_index *ix, const ann_scratch *s, const uint32_t *lists, size_t n_lists,
                   size_t k, mx_err *err) {
    if (n_lists > s->max_rows || k > s->max_k || k == 0)
        return mx_err_set(err, MX_EINVAL,
                          "search of %zu lists x %zu exceeds the scratch (%zu x %zu)", n_lists, k,
                          s->max_rows, s->max_k);
    for (size_t j = 0; j < n_lists; j++)
        if (lists[j] >= ix->n_lists)
            return mx_err_set(err, MX_EINVAL, "list %u out of range", lists[j]);
    return 0;
}

/* An empty inner-product IVF-Flat whose quantizer holds the centroids
 * (added before the IVF is created, so that the IVF counts as trained). */
int ann_faiss_new_ivf(size_t dim, const float *centroids, size_t n_lists, FaissIndexIVFFlat **out,
                      mx_err *err) {
    FaissIndexFlat *quant = NULL;
    *out = NULL;
    if (faiss_IndexFlatIP_new_with(&quant, (idx_t)dim) ||
        faiss_Index_add((FaissIndex *)quant, (idx_t)n_lists, centroids) ||
        faiss_IndexIVFFlat_new_with_metric(out, (FaissIndex *)quant, dim, n_lists,
                                           METRIC_INNER_PRODUCT)) {
        int rc = ann_faiss_fail(err, "creating the IVF index");
        faiss_Index_free((FaissIndex *)quant);
        return rc;
    }
    faiss_IndexIVFFlat_set_own_fields(*out, 1);
    return 0;
}

/* A FAISS index of the lists again, from the own copy (after
 * ann_own_vectors dropped FAISS's). */
int ann_faiss_rebuild(const ann_index *ix, FaissIndexIVFFlat **out, mx_err *err) {
    int rc = ann_faiss_new_ivf(ix->dim, ix->centroids, ix->n_lists, out, err);
    int64_t *lists = rc ? NULL : malloc((ix->max_list ? ix->max_list : 1) * sizeof(int64_t));
    if (!rc && !lists) rc = mx_err_set(err, MX_ENOMEM, "out of memory writing the index");
    for (size_t l = 0; !rc && l < ix->n_lists; l++) {
        size_t at = ix->list_ptr[l], len = ix->list_ptr[l + 1] - at;
        for (size_t t = 0; t < len; t++)
            lists[t] = (int64_t)l;
        if (len && faiss_IndexIVFFlat_add_core(*out, (idx_t)len, ix->list_vecs + at * ix->dim,
                                               (const idx_t *)ix->list_ids + at, lists))
            rc = ann_faiss_fail(err, "adding items to the index");
    }
    free(lists);
    if (rc) {
        faiss_Index_free((FaissIndex *)*out);
        *out = NULL;
    }
    return rc;
}

/* FAISS's own search of the lists (one batched search_preassigned call). */
int ann_faiss_lists(const ann_index *ix, ann_scratch *s, const float *q, const uint32_t *lists,
                    size_t n_lists, size_t k, mx_err *err) {
    for (size_t j = 0; j < n_lists; j++) {
        memcpy(s->queries + j * ix->dim, q, ix->dim * sizeof(float));
        s->assign[j] = lists[j];
    }
    if (n_lists && faiss_IndexIVF_search_preassigned(ix->ivf, (idx_t)n_lists, s->queries, (idx_t)k,
                                                     s->assign, s->coarse, s->scores, s->labels, 0))
        return ann_faiss_fail(err, "searching interest lists");
    return 0;
}

static inline float head_score(const row_res *rows, const size_t *cur, size_t r) {
    return rows[r].sc[cur[r]];
}

static void sift_down(uint32_t *heap, size_t n, size_t i, const row_res *rows, const size_t *cur) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < n && head_score(rows, cur, heap[l]) > head_score(rows, cur, heap[best])) best = l;
        if (r < n && head_score(rows, cur, heap[r]) > head_score(rows, cur, heap[best])) best = r;
        if (best == i) return;
        uint32_t t = heap[i];
        heap[i] = heap[best];
        heap[best] = t;
        i = best;
    }
}

/* k-way merge of sorted rows with a max-heap of row heads: O(k log rows). */
static size_t merge_rows(ann_scratch *s, const row_res *rows, size_t nrows, size_t k, float *scores,
                         int64_t *items) {
    uint32_t *heap = s->order_heap;
    size_t *cur = s->head, hn = 0, n = 0;
    for (size_t r = 0; r < nrows; r++) {
        cur[r] = 0;
        if (rows[r].n > 0 && rows[r].it[0] >= 0) heap[hn++] = (uint32_t)r;
    }
    for (size_t i = hn / 2; i-- > 0;)
        sift_down(heap, hn, i, rows, cur);
    while (n < k && hn > 0) {
        uint32_t r = heap[0];
        scores[n] = rows[r].sc[cur[r]];
        items[n] = rows[r].it[cur[r]];
        n++;
        cur[r]++;
        if (cur[r] >= rows[r].n || rows[r].it[cur[r]] < 0) heap[0] = heap[--hn];
        sift_down(heap, hn, 0, rows, cur);
    }
    return n;
}

int ann_faiss_search_global(const ann_index *ix, ann_scratch *s, const float *q, size_t k,
                            size_t nprobe, const ann_known *known, float *scores, int64_t *items,
                            size_t *n_found, mx_err *err) {
    nprobe = ann_probe_order(ix, s, q, nprobe);
    /* Pass 1 (FAISS): every probed list returns only kk results, about twice its
     * fair share of k. A list can hold more of the global top k only if it
     * filled all kk slots and its last score still reaches the k-th merged
     * score; pass 2 searches just those lists again with the full k. The
     * result equals one pass with k per list, at a fraction of the heap
     * work (FAISS's per-row heaps dominate an all-lists search). Lists the
     * caller already searched with this q (known) are not searched again. */
    size_t kk = nprobe > 1 ? (2 * k + nprobe - 1) / nprobe + 16 : k;
    if (kk > k) kk = k;
    row_res *rows = s->rows;
    size_t n_unk = 0;
    for (size_t j = 0; j < nprobe; j++) {
        size_t kr = SIZE_MAX;
        for (size_t t = 0; known && t < known->n && kr == SIZE_MAX; t++)
            if (known->lists[t] == s->order[j] && ann_known_depth(known, t) >= kk) kr = t;
        if (kr != SIZE_MAX) {
            rows[j] = (row_res){known->scores + kr * known->k, known->items + kr * known->k, kk};
        } else {
            rows[j] = (row_res){NULL, NULL, n_unk}; /* filled below */
            s->redo[n_unk++] = s->order[j];
        }
    }
    const float *ls = NULL;
    const int64_t *li = NULL;
    int rc = n_unk ? ann_search_lists(ix, s, q, s->redo, n_unk, kk, NULL, &ls, &li, err) : 0;
    if (rc) return rc;
    for (size_t j = 0; j < nprobe; j++)
        if (!rows[j].sc) rows[j] = (row_res){ls + rows[j].n * kk, li + rows[j].n * kk, kk};
    size_t n = merge_rows(s, rows, nprobe, k, scores, items);
    if (kk < k) {
        size_t n2 = 0;
        for (size_t j = 0; j < nprobe; j++) {
            int full = rows[j].it[kk - 1] >= 0;
            if (full && (n < k || rows[j].sc[kk - 1] >= scores[n - 1])) s->redo[n2++] = s->order[j];
        }
        if (n2 > 0) {
            /* Copy pass-1 rows aside: pass 2 reuses the result buffers. */
            size_t m = 0;
            for (size_t j = 0; j < nprobe; j++) {
                int again = 0;
                for (size_t t = 0; t < n2 && !again; t++)
                    again = s->redo[t] == s->order[j];
                if (again) continue;
                memcpy(s->keep_sc + m * kk, rows[j].sc, kk * sizeof(float));
                memcpy(s->keep_it + m * kk, rows[j].it, kk * sizeof(int64_t));
                m++;
            }
            for (size_t t = 0; t < m; t++)
                rows[t] = (row_res){s->keep_sc + t * kk, s->keep_it + t * kk, kk};
            if ((rc = ann_search_lists(ix, s, q, s->redo, n2, k, NULL, &ls, &li, err))) return rc;
            for (size_t t = 0; t < n2; t++)
                rows[m + t] = (row_res){ls + t * k, li + t * k, k};
            n = merge_rows(s, rows, m + n2, k, scores, items);
        }
    }
    *n_found = n;
    return 0;
}

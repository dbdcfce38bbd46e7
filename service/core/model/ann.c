/* ann.c - the interest-list IVF index over FAISS's C API. See ann.h. */
#include "ann.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVFFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_io_c.h>

struct ann_index {
    FaissIndexIVF *ivf; /* owns its quantizer */
    size_t dim, n_lists;
    float *centroids; /* copy of the quantizer's vectors */
    size_t *list_ptr; /* n_lists + 1: list l's ids are list_ids[list_ptr[l] ..] */
    int64_t *list_ids;
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
};

static int faiss_fail(mx_err *err, const char *what) {
    const char *m = faiss_get_last_error();
    return mx_err_set(err, MX_EFAISS, "%s: %s", what, m ? m : "unknown FAISS error");
}

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
    for (size_t l = 0; l < ix->n_lists; l++)
        ix->list_ptr[l + 1] = ix->list_ptr[l] + faiss_IndexIVF_get_list_size(ix->ivf, l);
    ix->list_ids = malloc((ix->list_ptr[ix->n_lists] + 1) * sizeof(int64_t));
    if (!ix->list_ids) return mx_err_set(err, MX_ENOMEM, "out of memory for the index lists");
    for (size_t l = 0; l < ix->n_lists; l++)
        if (ix->list_ptr[l + 1] > ix->list_ptr[l])
            faiss_IndexIVF_invlists_get_ids(ix->ivf, l, (idx_t *)ix->list_ids + ix->list_ptr[l]);
    return 0;
}

int ann_build(const float *item_vecs, size_t n_items, size_t dim, const float *centroids,
              size_t n_lists, const uint32_t *item_interest, ann_index **out, mx_err *err) {
    *out = NULL;
    ann_index *ix = calloc(1, sizeof(*ix));
    FaissIndexFlat *quant = NULL;
    FaissIndexIVFFlat *ivf = NULL;
    float *x = NULL;
    idx_t *ids = NULL;
    int64_t *lists = NULL;
    int rc = 0;
    if (!ix) return mx_err_set(err, MX_ENOMEM, "out of memory for the index");
    ix->dim = dim;
    ix->n_lists = n_lists;
    /* The quantizer must hold the centroids before the IVF is created,
     * so that the IVF counts as trained. */
    if (faiss_IndexFlatIP_new_with(&quant, (idx_t)dim) ||
        faiss_Index_add((FaissIndex *)quant, (idx_t)n_lists, centroids) ||
        faiss_IndexIVFFlat_new_with_metric(&ivf, (FaissIndex *)quant, dim, n_lists,
                                           METRIC_INNER_PRODUCT)) {
        rc = faiss_fail(err, "creating the IVF index");
        goto fail;
    }
    faiss_IndexIVFFlat_set_own_fields(ivf, 1);
    quant = NULL;
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
            rc = faiss_fail(err, "adding items to the index");
            goto fail;
        }
    }
    if ((rc = finish_index(ix, err))) goto fail;
    free(x);
    free(ids);
    free(lists);
    *out = ix;
    return 0;
fail:
    faiss_Index_free((FaissIndex *)quant);
    ann_free(ix);
    free(x);
    free(ids);
    free(lists);
    return rc;
}

int ann_save(const ann_index *ix, const char *path, mx_err *err) {
    if (faiss_write_index_fname((const FaissIndex *)ix->ivf, path)) {
        int rc = faiss_fail(err, "writing the index");
        mx_err_prefix(err, "%s", path);
        return rc;
    }
    return 0;
}

int ann_load(const char *path, ann_index **out, mx_err *err) {
    *out = NULL;
    FaissIndex *raw = NULL;
    if (faiss_read_index_fname(path, 0, &raw)) { /* name the file: FAISS may not */
        int rc = faiss_fail(err, "reading the index");
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
    free(ix);
}

size_t ann_dim(const ann_index *ix) {
    return ix->dim;
}
size_t ann_n_lists(const ann_index *ix) {
    return ix->n_lists;
}
size_t ann_ntotal(const ann_index *ix) {
    return (size_t)faiss_Index_ntotal((const FaissIndex *)ix->ivf);
}
size_t ann_list_size(const ann_index *ix, size_t list) {
    return faiss_IndexIVF_get_list_size(ix->ivf, list);
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
    if (!s->queries || !s->assign || !s->coarse || !s->scores || !s->labels || !s->cscore ||
        !s->order || !s->head || !s->order_heap || !s->redo || !s->rows || !s->keep_sc ||
        !s->keep_it) {
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
    free(s);
}

int ann_search_lists(const ann_index *ix, ann_scratch *s, const float *q, const uint32_t *lists,
                     size_t n_lists, size_t k, const float **scores, const int64_t **items,
                     mx_err *err) {
    if (n_lists > s->max_rows || k > s->max_k || k == 0)
        return mx_err_set(err, MX_EINVAL,
                          "search of %zu lists x %zu exceeds the scratch (%zu x %zu)", n_lists, k,
                          s->max_rows, s->max_k);
    for (size_t j = 0; j < n_lists; j++) {
        if (lists[j] >= ix->n_lists)
            return mx_err_set(err, MX_EINVAL, "list %u out of range", lists[j]);
        memcpy(s->queries + j * ix->dim, q, ix->dim * sizeof(float));
        s->assign[j] = lists[j];
    }
    if (n_lists && faiss_IndexIVF_search_preassigned(ix->ivf, (idx_t)n_lists, s->queries, (idx_t)k,
                                                     s->assign, s->coarse, s->scores, s->labels, 0))
        return faiss_fail(err, "searching interest lists");
    *scores = s->scores;
    *items = (const int64_t *)s->labels;
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

/* Ranks the lists by centroid score into s->order (a partial selection of
 * the nprobe best first); returns nprobe (0 or too many: every list). */
static size_t probe_order(const ann_index *ix, ann_scratch *s, const float *q, size_t nprobe) {
    if (nprobe == 0 || nprobe > ix->n_lists) nprobe = ix->n_lists;
    for (size_t c = 0; c < ix->n_lists; c++) {
        const float *cv = ix->centroids + c * ix->dim;
        float v = 0;
        for (size_t d = 0; d < ix->dim; d++)
            v += cv[d] * q[d];
        s->cscore[c] = v;
        s->order[c] = (uint32_t)c;
    }
    if (nprobe < ix->n_lists) {
        for (size_t i = 0; i < nprobe; i++) {
            size_t best = i;
            for (size_t j = i + 1; j < ix->n_lists; j++)
                if (s->cscore[s->order[j]] > s->cscore[s->order[best]]) best = j;
            uint32_t t = s->order[i];
            s->order[i] = s->order[best];
            s->order[best] = t;
        }
    }
    return nprobe;
}

/* q . v in eight independent lanes (vectorised by the compiler; FAISS
 * sums in lanes too, so scores agree up to rounding either way). */
static inline float dot_product(const float *q, const float *v, size_t dim) {
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

/* Moves the hole at the root of the min-heap sc/it (n entries) down to
 * where v belongs; returns that slot. */
static size_t hole_down(float *sc, int64_t *it, size_t n, float v) {
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        float mv = v;
        if (l < n && sc[l] < mv) m = l, mv = sc[l];
        if (r < n && sc[r] < mv) m = r;
        if (m == i) return i;
        sc[i] = sc[m];
        it[i] = it[m];
        i = m;
    }
}

/* Min-heap of the k best (score, item) so far: the worst at 0. */
static void heap_push(float *sc, int64_t *it, size_t *n, size_t k, float v, int64_t item) {
    size_t i;
    if (*n < k) {
        i = (*n)++;
        while (i > 0 && sc[(i - 1) / 2] > v) {
            sc[i] = sc[(i - 1) / 2];
            it[i] = it[(i - 1) / 2];
            i = (i - 1) / 2;
        }
    } else {
        if (v <= sc[0]) return;
        i = hole_down(sc, it, *n, v);
    }
    sc[i] = v;
    it[i] = item;
}

/* The known row of list l (best first, known->k long), or NULL. */
static size_t known_row(const ann_known *known, uint32_t l) {
    for (size_t t = 0; known && known->k && t < known->n; t++)
        if (known->lists[t] == l) return t;
    return SIZE_MAX;
}

/* How a known row covers its list for a filtered top k: ROW_WHOLE when it
 * holds the whole list (padded with -1) or at least k items skip keeps
 * (the list's best k kept items are then among them), else ROW_PART. */
enum { ROW_WHOLE, ROW_PART };
static int row_cover(const ann_known *known, size_t r, size_t k, ann_skip_fn skip,
                     const void *arg) {
    const int64_t *it = known->items + r * known->k;
    size_t kept = 0;
    for (size_t t = 0; t < known->k; t++) {
        if (it[t] < 0) return ROW_WHOLE;
        if (!(skip && skip(arg, it[t])) && ++kept >= k) return ROW_WHOLE;
    }
    return ROW_PART;
}

static void push_row(const ann_known *known, size_t r, ann_skip_fn skip, const void *arg,
                     float *scores, int64_t *items, size_t *n, size_t k) {
    const float *sc = known->scores + r * known->k;
    const int64_t *it = known->items + r * known->k;
    for (size_t t = 0; t < known->k && it[t] >= 0; t++) {
        if (*n == k && sc[t] <= scores[0]) break; /* best first: no later one enters */
        if (skip && skip(arg, it[t])) continue;
        heap_push(scores, items, n, k, sc[t], it[t]);
    }
}

static void scan_list(const ann_index *ix, uint32_t l, const float *q, const float *vecs,
                      ann_skip_fn skip, const void *arg, float *scores, int64_t *items, size_t *n,
                      size_t k) {
    size_t end = ix->list_ptr[l + 1], dim = ix->dim;
    for (size_t t = ix->list_ptr[l]; t < end; t++) {
        int64_t item = ix->list_ids[t];
        /* rows are read in list order, scattered in memory: ask ahead */
        if (t + 8 < end) __builtin_prefetch(vecs + (size_t)ix->list_ids[t + 8] * dim);
        float dot = dot_product(q, vecs + (size_t)item * dim, dim);
        if (*n == k && dot <= scores[0]) continue; /* would not enter: no need to ask */
        if (skip && skip(arg, item)) continue;
        heap_push(scores, items, n, k, dot, item);
    }
}

int ann_search_filtered(const ann_index *ix, ann_scratch *s, const float *q, const float *vecs,
                        size_t k, size_t nprobe, const ann_known *known, ann_skip_fn skip,
                        const void *arg, float *scores, int64_t *items, size_t *n_found) {
    *n_found = 0;
    if (k == 0) return 0;
    nprobe = probe_order(ix, s, q, nprobe);
    size_t n = 0, n_part = 0;
    /* Lists without a known row are scanned, rows that cover their list
     * are merged; a row that does not (too many of its items skipped) waits
     * until the k-th best so far is known: its list's items beyond the row
     * score at most the row's last, so when that cannot enter, the row is
     * enough, else the list is scanned. */
    for (size_t j = 0; j < nprobe; j++) {
        uint32_t l = s->order[j];
        size_t r = known_row(known, l);
        if (r == SIZE_MAX)
            scan_list(ix, l, q, vecs, skip, arg, scores, items, &n, k);
        else if (row_cover(known, r, k, skip, arg) == ROW_WHOLE)
            push_row(known, r, skip, arg, scores, items, &n, k);
        else
            s->redo[n_part++] = l;
    }
    for (size_t j = 0; j < n_part; j++) {
        size_t r = known_row(known, s->redo[j]);
        float last = known->scores[r * known->k + known->k - 1];
        if (n == k && last <= scores[0])
            push_row(known, r, skip, arg, scores, items, &n, k);
        else
            scan_list(ix, s->redo[j], q, vecs, skip, arg, scores, items, &n, k);
    }
    /* heap sort: the worst goes last, so the array ends best first */
    for (size_t m = n; m > 1; m--) {
        float v = scores[m - 1];
        int64_t item = items[m - 1];
        scores[m - 1] = scores[0];
        items[m - 1] = items[0];
        size_t i = hole_down(scores, items, m - 1, v);
        scores[i] = v;
        items[i] = item;
    }
    *n_found = n;
    return 0;
}

int ann_search_global_known(const ann_index *ix, ann_scratch *s, const float *q, size_t k,
                            size_t nprobe, const ann_known *known, float *scores, int64_t *items,
                            size_t *n_found, mx_err *err) {
    *n_found = 0;
    if (k == 0) return 0;
    nprobe = probe_order(ix, s, q, nprobe);
    /* Pass 1: every probed list returns only kk results, about twice its
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
        for (size_t t = 0; known && known->k >= kk && t < known->n && kr == SIZE_MAX; t++)
            if (known->lists[t] == s->order[j]) kr = t;
        if (kr != SIZE_MAX) {
            rows[j] = (row_res){known->scores + kr * known->k, known->items + kr * known->k, kk};
        } else {
            rows[j] = (row_res){NULL, NULL, n_unk}; /* filled below */
            s->redo[n_unk++] = s->order[j];
        }
    }
    const float *ls = NULL;
    const int64_t *li = NULL;
    int rc = n_unk ? ann_search_lists(ix, s, q, s->redo, n_unk, kk, &ls, &li, err) : 0;
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
            if ((rc = ann_search_lists(ix, s, q, s->redo, n2, k, &ls, &li, err))) return rc;
            for (size_t t = 0; t < n2; t++)
                rows[m + t] = (row_res){ls + t * k, li + t * k, k};
            n = merge_rows(s, rows, m + n2, k, scores, items);
        }
    }
    *n_found = n;
    return 0;
}

int ann_search_global(const ann_index *ix, ann_scratch *s, const float *q, size_t k, size_t nprobe,
                      float *scores, int64_t *items, size_t *n_found, mx_err *err) {
    return ann_search_global_known(ix, s, q, k, nprobe, NULL, scores, items, n_found, err);
}

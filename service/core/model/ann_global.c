/* ann_global.c - the global searches over the index's own copy: the
 * probed lists in centroid order, the rows a caller already searched
 * (ann_known) reused, excluded items skipped inside the scan (ann.h's
 * ann_search_filtered, ann_search_global_known, ann_search_global). */
#include "ann.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ann_approx.h"
#include "ann_impl.h"
#include "ann_scan.h"
#include "ann_topk.h"

/* Ranks the lists by centroid score into s->order (a partial selection of
 * the nprobe best first); returns nprobe (0 or too many: every list). */
size_t ann_probe_order(const ann_index *ix, ann_scratch *s, const float *q, size_t nprobe) {
    if (nprobe == 0 || nprobe > ix->n_lists) nprobe = ix->n_lists;
    ann_scan_dots(q, ix->centroids, ix->n_lists, ix->dim, s->cscore);
    if (nprobe == ix->n_lists) {
        for (size_t c = 0; c < ix->n_lists; c++)
            s->order[c] = (uint32_t)c;
        return nprobe;
    }
    /* One pass, the best nprobe kept sorted (equal scores in list order):
     * most lists fail the one compare with the worst kept. A selection
     * sort took nprobe passes over the lists (1M x 64, 1,000 lists: about
     * 10 us a request). */
    const float *sc = s->cscore;
    size_t n = 0;
    for (size_t c = 0; c < ix->n_lists; c++) {
        if (n == nprobe && !(sc[c] > sc[s->order[n - 1]])) continue;
        size_t t = n < nprobe ? n++ : n - 1;
        for (; t > 0 && sc[c] > sc[s->order[t - 1]]; t--)
            s->order[t] = s->order[t - 1];
        s->order[t] = (uint32_t)c;
    }
    return nprobe;
}

/* The known row of list l (best first, ann_known_depth long), or
 * SIZE_MAX. */
static size_t known_row(const ann_known *known, uint32_t l) {
    for (size_t t = 0; known && known->k && t < known->n; t++)
        if (known->lists[t] == l && ann_known_depth(known, t) > 0) return t;
    return SIZE_MAX;
}

/* How a known row covers its list for a filtered top k: ROW_WHOLE when it
 * holds the whole list (padded with -1) or at least k items skip keeps
 * (the list's best k kept items are then among them), else ROW_PART. */
enum { ROW_WHOLE, ROW_PART };
static int row_cover(const ann_known *known, size_t r, size_t k, ann_skip_fn skip,
                     const void *arg) {
    const int64_t *it = known->items + r * known->k;
    size_t kept = 0, depth = ann_known_depth(known, r);
    for (size_t t = 0; t < depth; t++) {
        if (it[t] < 0) return ROW_WHOLE;
        if (!(skip && skip(arg, it[t])) && ++kept >= k) return ROW_WHOLE;
    }
    return ROW_PART;
}

/* The last (lowest) score of known row r. */
static float row_last(const ann_known *known, size_t r) {
    return known->scores[r * known->k + ann_known_depth(known, r) - 1];
}

static void push_row(const ann_known *known, size_t r, ann_skip_fn skip, const void *arg,
                     ann_topk *top) {
    const float *sc = known->scores + r * known->k;
    const int64_t *it = known->items + r * known->k;
    size_t depth = ann_known_depth(known, r);
    for (size_t t = 0; t < depth && it[t] >= 0; t++) {
        if (sc[t] <= top->floor) break; /* best first: no later one enters */
        if (skip && skip(arg, it[t])) continue;
        ann_topk_add(top, sc[t], it[t]);
    }
}

/* Adds list l's items that skip keeps to top. */
static void scan_list(const ann_index *ix, ann_scratch *s, uint32_t l, const float *q, float qnorm,
                      ann_skip_fn skip, ann_hint_fn hint, const void *arg, ann_topk *top) {
    size_t at = ix->list_ptr[l], len = ix->list_ptr[l + 1] - at;
    float delta = ann_approx_scores(ix, s, q, qnorm, l);
    /* the first list scanned (the best by centroid) sets a guessed floor:
     * with the approximate copy its own k-th best (ann_approx_floor: k of
     * its rows score above it, fewer only when skip takes some), else a
     * sample of its scores; when fewer than k of its kept items beat it,
     * again without one */
    float base = top->floor, guess = -FLT_MAX;
    if (top->n == 0)
        guess = delta >= 0 ? ann_approx_floor(ix, s, l, top->k, delta)
                           : ann_topk_guess(top, s->dots, len);
    if (guess > top->floor)
        top->floor = guess;
    else
        guess = -FLT_MAX;
    for (int pass = 0; pass < 2; pass++) {
        size_t m = ann_approx_above(ix, s, q, l, top->floor, delta);
        /* skip's reads (at 1M items a catalogue-sized array, a miss each:
         * 5.7% of a request, 2.8% with this) asked for before the loop
         * checks them in turn */
        for (size_t j = 0; hint && j < m; j++)
            hint(arg, ix->list_ids[at + s->pos[j]]);
        for (size_t j = 0; j < m; j++) {
            size_t t = s->pos[j];
            float dot = s->dots[t];
            if (dot <= top->floor) continue; /* the floor rose meanwhile */
            int64_t item = ix->list_ids[at + t];
            if (skip && skip(arg, item)) continue;
            ann_topk_add(top, dot, item);
        }
        if (guess == -FLT_MAX || top->n >= top->k) return;
        top->n = 0; /* the guess was too high */
        top->floor = base;
        guess = -FLT_MAX;
    }
}

/* The reservoir for a top k: 2k + 16 entries (grown once when a search
 * asks for more than the scratch was made for). */
static int reserve_topk(ann_scratch *s, size_t k) {
    size_t need = 2 * k + 16;
    if (need <= s->res_cap) return 0;
    float *sc = realloc(s->res_sc, need * sizeof(float));
    if (sc) s->res_sc = sc;
    int64_t *it = realloc(s->res_it, need * sizeof(int64_t));
    if (it) s->res_it = it;
    if (!sc || !it) return MX_ENOMEM;
    s->res_cap = need;
    return 0;
}

/* The k-th best score among the kept items of the known rows of the
 * probed lists (s->order[0..nprobe)), or -FLT_MAX when they hold fewer:
 * distinct items with exact scores, so the top k over those lists is at
 * least that good. A floor that high from the start passes only rows that
 * can enter, and a partial row whose last is under it needs no scan
 * (MovieTweetings, where the mixture's rows are every list: the single
 * source 23 -> 13 us). */
static float known_floor(const ann_known *known, ann_scratch *s, size_t nprobe, size_t k,
                         ann_skip_fn skip, const void *arg) {
    size_t cap = 2 * k + 16, room = 2 * s->max_k + 17 * s->max_rows;
    if (!known || !known->k || cap > room) return -FLT_MAX;
    ann_topk sel;
    ann_topk_start(&sel, s->keep_sc, s->keep_it, cap, k);
    for (size_t r = 0; r < known->n; r++) {
        size_t j = 0;
        while (j < nprobe && s->order[j] != known->lists[r])
            j++;
        if (j == nprobe) continue; /* not a list this search probes */
        push_row(known, r, skip, arg, &sel);
    }
    ann_topk_compact(&sel);
    /* just under the k-th: it and its ties are not in the reservoir yet */
    return sel.n >= k ? nextafterf(sel.floor, -FLT_MAX) : -FLT_MAX;
}

int ann_search_filtered(const ann_index *ix, ann_scratch *s, const float *q, size_t k,
                        size_t nprobe, const ann_known *known, ann_skip_fn skip, ann_hint_fn hint,
                        const void *arg, float *scores, int64_t *items, size_t *n_found) {
    *n_found = 0;
    if (k == 0 || !ix->list_vecs) return 0;
    if (reserve_topk(s, k)) return MX_ENOMEM;
    nprobe = ann_probe_order(ix, s, q, nprobe);
    float qnorm = ann_approx_query(ix, s, q);
    ann_topk top;
    ann_topk_start(&top, s->res_sc, s->res_it, ann_reservoir_cap(s, k), k);
    top.floor = known_floor(known, s, nprobe, k, skip, arg);
    size_t n_part = 0;
    /* Lists without a known row are scanned, rows that cover their list
     * are merged; a row that does not (shorter than k, or too many of its
     * items skipped) waits until the k-th best so far is known: its list's
     * items beyond the row score at most the row's last, so when that
     * cannot enter, the row is enough, else the list is scanned. Until k
     * entries are in, such a list whose row's last can enter is scanned at
     * once: the lists come best first, and the first holds most of the top
     * k. Left to the end, it was scanned under the floor of the worse lists
     * (1M x 64: about 830 of its rows a request scored above the floor,
     * 1,100 in all the single source's lists; now about 140 in all). */
    for (size_t j = 0; j < nprobe; j++) {
        uint32_t l = s->order[j];
        size_t r = known_row(known, l);
        if (r == SIZE_MAX)
            scan_list(ix, s, l, q, qnorm, skip, hint, arg, &top);
        else if (row_cover(known, r, k, skip, arg) == ROW_WHOLE)
            push_row(known, r, skip, arg, &top);
        else if (top.n < k && row_last(known, r) > top.floor)
            scan_list(ix, s, l, q, qnorm, skip, hint, arg, &top);
        else
            s->redo[n_part++] = l;
    }
    for (size_t j = 0; j < n_part; j++) {
        size_t r = known_row(known, s->redo[j]);
        float last = row_last(known, r);
        /* The floor is at most the k-th best so far (it was that at the
         * last compaction, or a guess that k entries beat): a row whose
         * last is not above it is enough without a compaction; else the
         * compaction makes the floor the k-th best itself. */
        if (!(top.n >= k && last <= top.floor)) ann_topk_compact(&top);
        if (top.n >= k && last <= top.floor)
            push_row(known, r, skip, arg, &top);
        else
            scan_list(ix, s, s->redo[j], q, qnorm, skip, hint, arg, &top);
    }
    size_t n = ann_topk_finish(&top);
    memcpy(scores, top.sc, n * sizeof(float));
    memcpy(items, top.it, n * sizeof(int64_t));
    *n_found = n;
    return 0;
}

int ann_search_global_known(const ann_index *ix, ann_scratch *s, const float *q, size_t k,
                            size_t nprobe, const ann_known *known, float *scores, int64_t *items,
                            size_t *n_found, mx_err *err) {
    *n_found = 0;
    if (k == 0) return 0;
    if (ix->list_vecs) /* the own scan: every probed list once, the known rows reused */
        return ann_search_filtered(ix, s, q, k, nprobe, known, NULL, NULL, NULL, scores, items,
                                   n_found);
    return ann_faiss_search_global(ix, s, q, k, nprobe, known, scores, items, n_found, err);
}

int ann_search_global(const ann_index *ix, ann_scratch *s, const float *q, size_t k, size_t nprobe,
                      float *scores, int64_t *items, size_t *n_found, mx_err *err) {
    return ann_search_global_known(ix, s, q, k, nprobe, NULL, scores, items, n_found, err);
}

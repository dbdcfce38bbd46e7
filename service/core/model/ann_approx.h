/* ann_approx.h - an approximate copy of the index's list vectors, 8 bits a
 * component, for list scans that read a quarter of the bytes and still
 * answer as the float scan does, bit for bit. Private to ann.c.
 *
 * At 1M items of 64 dimensions a request scans about 32 lists of 1,000
 * vectors (8 MB as floats): the scan waits on memory. With the copy, a list
 * is scored approximately from 8-bit rows (each row's components rounded
 * to the nearest of 255 steps of its own scale, max |v_d| / 127) and the
 * query in 16-bit steps, the products summed as exact integers (a quarter
 * of the float scan's bytes, and a third of its instructions), and only
 * the rows that can matter are scored again exactly from the floats, by
 * the very kernel the float scan uses (ann_scan_dots_at: the same float per
 * row). Which rows can matter is certain, not estimated: for a row v with
 * its approximation h (the steps times the scale) and the query q with
 * its approximation p, the two computed scores differ by at most
 *     |q| (|v - h| + g |v|) + (|q - p| + 4 u (|q| + |q - p|)) |h|,
 *     u = 2^-24, g = dim u / (1 - dim u)
 * (Cauchy-Schwarz for the rounding to steps of the row and of the query,
 * the classic bound on a float dot product's rounding for the exact score,
 * and the three roundings to float of the approximate one, whose integer
 * sum is exact); each list keeps the largest |v - h| + g |v| and |h| of
 * its rows (with an eighth more, and 2^-20 of the longest row, for the
 * rounding of the comparisons themselves). A row whose approximate score
 * is not within delta of the floor cannot beat it; the others are scored
 * exactly. Given the same floor, a scan adds the same rows, in the same
 * order, with the same scores, to the reservoir as the float scan. Floors
 * taken from approximate scores are the guess of a fresh reservoir
 * (ann_topk_guess's samples: only a floor to try, checked by a second
 * pass) and ann_approx_floor's (the k-th best, certain by the bound): they may let in
 * other rows below the k-th best, never change which k are best or their
 * scores (ties at the k-th aside, which the reservoir never ordered).
 *
 * Half precision did this before with 2 bytes a component: its bound is
 * about 20 times tighter, but a scan reads twice the bytes, and at 1M
 * items the re-scored rows that the wider bound adds (about 60 a request
 * for the single source, 10 a mixture row) cost less than the streaming.
 *
 * The steps of a list scan (ann.c's scan_list and own_search_lists) take a
 * delta: below 0 they work on the exact scores of the whole list in
 * s->dots, as without a copy; from 0, on the approximate ones.
 *
 * Threading: the copy is built before searches start and read-only
 * after; the scan functions write only the caller's scratch. */
#ifndef ANN_APPROX_H
#define ANN_APPROX_H

#include <stddef.h>
#include <stdint.h>

#include "ann_impl.h"
#include "mx_err.h"

/* Builds ix->approx_vecs, approx_scale and approx_bound from
 * ix->list_vecs. */
int ann_approx_build(ann_index *ix, mx_err *err);
/* Frees them (the scans go back to the floats). */
void ann_approx_drop(ann_index *ix);

/* |q|, rounded up, when scans of ix use the copy (it exists, the CPU's
 * scan path can read it, q is finite), with q in 16-bit steps into s (for
 * ann_approx_scores with this q); -1 when they do not. Once per query. */
float ann_approx_query(const ann_index *ix, ann_scratch *s, const float *q);

/* Scores list l for query q (qnorm: ann_approx_query's). With the copy:
 * approximate scores into s->approx, and into s->dots at the rows
 * ann_topk_guess samples; returns the list's delta. Without: exact scores
 * of every row into s->dots; returns -1. */
float ann_approx_scores(const ann_index *ix, ann_scratch *s, const float *q, float qnorm,
                        uint32_t l);

/* A floor at least min(k, rows) rows of list l score exactly above, from
 * the approximate scores in s->approx alone (delta: ann_approx_scores's):
 * their k-th best (ann_topk_floor's counted sample, then a selection among
 * the rows above it, in s->pos and s->exact), less delta and a little
 * more. A row re-scored by
 * ann_approx_above then scores within about 2 delta of the list's k-th
 * best or above. -FLT_MAX (every row) on lists shorter than 4 k or than
 * the samples. */
float ann_approx_floor(const ann_index *ix, ann_scratch *s, uint32_t l, size_t k, float delta);

/* The rows of list l whose exact scores are above floor, ascending, into
 * s->pos, each with its exact score in s->dots (ann_scan_above on the
 * exact scores); returns their count. */
size_t ann_approx_above(const ann_index *ix, ann_scratch *s, const float *q, uint32_t l,
                        float floor, float delta);

#endif

/* popular.h - recent item popularity.
 *
 * score_i = sum over events on item i of 2^(-(t_ref - ts) / half_life), or
 * plain counts when half_life is 0. Items are also kept in score order for
 * the "popular" source. Immutable after pop_compute; safe to share. */
#ifndef POP_POPULAR_H
#define POP_POPULAR_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "mx_err.h"

typedef struct pop_table {
    size_t n_items;
    float *score;     /* n_items */
    float *count;     /* n_items: plain event counts */
    uint32_t *ranked; /* items with score > 0, best first (ties: lower id) */
    size_t n_ranked;
} pop_table;

int pop_compute(const ds_event *ev, size_t n, size_t n_items, double half_life, int64_t t_ref,
                pop_table *out, mx_err *err);
/* Rebuilds ranked from score (after loading scores from a file). */
int pop_rank(pop_table *t, mx_err *err);
void pop_free(pop_table *t); /* frees arrays, not t */

#endif

/* popular.c - see popular.h. */
#include "popular.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const float *g_sort_score; /* qsort has no context argument */

static int by_score_desc(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    float sx = g_sort_score[x], sy = g_sort_score[y];
    if (sx != sy) return sx < sy ? 1 : -1;
    return x < y ? -1 : x > y;
}

int pop_rank(pop_table *t, mx_err *err) {
    free(t->ranked);
    t->n_ranked = 0;
    t->ranked = malloc((t->n_items ? t->n_items : 1) * sizeof(uint32_t));
    if (!t->ranked) return mx_err_set(err, MX_ENOMEM, "out of memory ranking items");
    for (size_t i = 0; i < t->n_items; i++)
        if (t->score[i] > 0) t->ranked[t->n_ranked++] = (uint32_t)i;
    /* Only called at build/load time, single-threaded. */
    g_sort_score = t->score;
    qsort(t->ranked, t->n_ranked, sizeof(uint32_t), by_score_desc);
    g_sort_score = NULL;
    return 0;
}

int pop_compute(const ds_event *ev, size_t n, size_t n_items, double half_life, int64_t t_ref,
                pop_table *out, mx_err *err) {
    memset(out, 0, sizeof(*out));
    out->n_items = n_items;
    out->score = calloc(n_items ? n_items : 1, sizeof(float));
    out->count = calloc(n_items ? n_items : 1, sizeof(float));
    if (!out->score || !out->count) {
        pop_free(out);
        return mx_err_set(err, MX_ENOMEM, "out of memory for popularity");
    }
    for (size_t e = 0; e < n; e++) {
        if (ev[e].item >= n_items) continue;
        double w = half_life > 0 ? exp2(-(double)(t_ref - ev[e].ts) / half_life) : 1.0;
        out->score[ev[e].item] += (float)w;
        out->count[ev[e].item] += 1.0f;
    }
    int rc = pop_rank(out, err);
    if (rc) pop_free(out);
    return rc;
}

void pop_free(pop_table *t) {
    if (!t) return;
    free(t->score);
    free(t->count);
    free(t->ranked);
    memset(t, 0, sizeof(*t));
}

/* rec_filter.c - see rec_filter.h. */
#include "rec_filter.h"

#include <math.h>

int64_t rec_filter_first_seen(const mx_model *m, uint32_t item) {
    if (!m->item_stats || item >= m->n_items) return m->t_ref;
    double days = m->item_stats[(size_t)item * MODEL_ITEM_STATS + MODEL_ITEM_AGE];
    return m->t_ref - (int64_t)llround(days * 86400.0);
}

static int in_list(const uint16_t *cats, size_t n, uint16_t c) {
    for (size_t t = 0; t < n; t++)
        if (cats[t] == c) return 1;
    return 0;
}

/* Whether first_seen (unix seconds; known) is inside q's age window. */
static int age_admits(const rec_query *q, int64_t first_seen) {
    int64_t age = q->now - first_seen;
    return (q->min_age_s <= 0 || age >= q->min_age_s) && (q->max_age_s <= 0 || age <= q->max_age_s);
}

/* The category filters on category names (a catalogue record's). */
static int names_admit(const mx_model *m, const rec_query *q, const char *const *names, size_t n) {
    int any = q->n_categories == 0;
    for (size_t j = 0; j < n; j++) {
        int64_t c = names[j] ? model_category(m, names[j]) : -1;
        if (c < 0) continue; /* requested categories are the model's */
        if (in_list(q->not_categories, q->n_not_categories, (uint16_t)c)) return 0;
        any |= in_list(q->categories, q->n_categories, (uint16_t)c);
    }
    return any;
}

int rec_filter_admits(const mx_model *m, const rec_query *q, uint32_t item) {
    if (item >= m->n_items) return 0; /* UINT32_MAX: a catalogue item (rec_filter_admits_extra) */
    const char *const *names;
    size_t n_names;
    if ((q->n_categories || q->n_not_categories) && q->categories_of &&
        q->categories_of(q->categories_arg, item, &names, &n_names)) {
        if (!names_admit(m, q, names, n_names)) return 0;
    } else if (q->n_categories || q->n_not_categories) {
        int any = q->n_categories == 0;
        for (uint32_t j = m->cat_ptr[item]; j < m->cat_ptr[item + 1]; j++) {
            if (in_list(q->not_categories, q->n_not_categories, m->cat_ids[j])) return 0;
            any |= in_list(q->categories, q->n_categories, m->cat_ids[j]);
        }
        if (!any) return 0;
    }
    if (q->min_age_s <= 0 && q->max_age_s <= 0) return 1;
    return age_admits(q, rec_filter_first_seen(m, item));
}

int rec_filter_admits_extra(const mx_model *m, const rec_query *q, const rec_extra *x) {
    if ((q->n_categories || q->n_not_categories) &&
        !names_admit(m, q, x->categories, x->n_categories))
        return 0;
    if (q->min_age_s <= 0 && q->max_age_s <= 0) return 1;
    return x->added_at > 0 && age_admits(q, x->added_at);
}

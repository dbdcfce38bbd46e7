/* rec_filter.h - the request's filters on item metadata (categories,
 * not_categories, min_age_s, max_age_s of a rec_query; exclusions are not
 * filters), for the model's items and the catalogue's. Pure functions of
 * the model and the query: any thread. */
#ifndef REC_FILTER_H
#define REC_FILTER_H

#include <stdint.h>

#include "model.h"
#include "recommend.h"

/* When the model first saw item (unix seconds): its first training event,
 * t_ref - item_age_days x 86400 (an item without events: t_ref). */
int64_t rec_filter_first_seen(const mx_model *m, uint32_t item);

/* The request's filters on item metadata (categories, not_categories,
 * min_age_s, max_age_s; exclusions are not filters): 1 when the item
 * passes them all. An item having an included and an excluded category
 * is dropped. rec_recommend and rec_similar filter with it; the catalogue
 * applies the same to its items. An item not in the model: 0. Pure, any
 * thread. */
int rec_filter_admits(const mx_model *m, const rec_query *q, uint32_t item);
/* The same for a catalogue item x: its categories by name
 * (model_category; a name the model does not know matches no requested
 * category), its age from added_at. An age bound never admits an item
 * whose added_at is unknown. */
int rec_filter_admits_extra(const mx_model *m, const rec_query *q, const rec_extra *x);

#endif

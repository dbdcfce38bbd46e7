/* dataset_internal.h - helpers shared by dataset.c and dataset_split.c;
 * not part of the module's interface (internal names are ds__). */
#ifndef DS_DATASET_INTERNAL_H
#define DS_DATASET_INTERNAL_H

#include <stddef.h>

#include "dataset.h"

/* Total orders on events: by (ts, user, item, value) and (user, ts, item,
 * value), so sorts are deterministic. */
int ds__cmp_time(const void *a, const void *b);
int ds__cmp_user(const void *a, const void *b);

/* Sorts ev by cmp, skipping the sort when already in order. */
void ds__sort(ds_event *ev, size_t n, int (*cmp)(const void *, const void *));

#endif

/* dataset_internal.h - the store's layout and helpers shared by dataset.c
 * (the store), dataset_read.c (the readers) and dataset_split.c; not part
 * of the module's interface (internal names are ds__). */
#ifndef DS_DATASET_INTERNAL_H
#define DS_DATASET_INTERNAL_H

#include <stddef.h>

#include "dataset.h"
#include "strmap.h"

#define DS_TS_MAX INT64_C(32503680000) /* 3000-01-01T00:00:00Z: later is a unit mistake */
#define DS_MAX_CATS 65535              /* category ids are uint16 */
#define DS_MAX_IDS UINT32_MAX          /* user and item ids are uint32 */

/* Metadata of one item; title NULL = none yet. Categories are
 * cats[cat_off .. cat_off + cat_n). */
typedef struct ds_meta {
    const char *title;
    uint32_t cat_off, cat_n;
} ds_meta;

struct ds_dataset {
    smap *user_map, *item_map, *cat_map, *title_map;
    const char **user_ids, **item_ids, **cat_names; /* borrowed from the maps */
    size_t n_users, cap_users, n_items, cap_items, n_cats, cap_cats;
    ds_meta *meta; /* per item */
    size_t cap_meta;
    uint16_t *cats;
    size_t n_cat_refs, cap_cat_refs;
    ds_event *ev;
    size_t n_ev, cap_ev;
    size_t no_meta; /* items without a metadata line */
    int has_meta;
    ds_stats st;
};

void ds__sync_meta_stats(ds_dataset *ds);

/* Appends one event, interning user and item. 0, MX_ENOMEM, MX_EINVAL when
 * an id limit is reached. */
int ds__add(ds_dataset *ds, const char *user, size_t ulen, const char *item, size_t ilen,
            int64_t ts, float value);

/* Sets the metadata of item (which has none yet). path/line locate errors
 * in a file; path NULL means a programmatic call. */
int ds__meta_set(ds_dataset *ds, uint32_t item, const char *title, size_t tlen, const char *cats,
                 size_t clen, char sep, const char *path, size_t line, mx_err *err);

/* Total orders on events: by (ts, user, item, value) and (user, ts, item,
 * value), so sorts are deterministic. */
int ds__cmp_time(const void *a, const void *b);
int ds__cmp_user(const void *a, const void *b);

/* Sorts ev by cmp, skipping the sort when already in order. */
void ds__sort(ds_event *ev, size_t n, int (*cmp)(const void *, const void *));

#endif

/* dataset.c - see dataset.h. The in-memory store: the dense-id dataset,
 * interning, events and item metadata, and its accessors. The text readers
 * that fill it are dataset_read.c; splits and compressed rows
 * dataset_split.c.
 *
 * String ids, titles and category names are interned in strmap maps,
 * whose arenas keep the returned strings at fixed addresses. */
#include "dataset.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"
#include "buf.h"
#include "strmap.h"

/* ================================================================== */
/* Building                                                           */
/* ================================================================== */

void ds__sync_meta_stats(ds_dataset *ds) {
    ds->st.items_without_meta = ds->has_meta ? ds->no_meta : 0;
}

/* Interns s in map with the next dense id, appending the map's copy to
 * names. 1 = new id, 0 = known id, MX_ENOMEM, MX_EINVAL = limit reached. */
static int ds__intern(smap *map, const char ***names, size_t *n, size_t *cap, size_t limit,
                      const char *s, size_t len, uint32_t *id) {
    /* Grow first, so a failure cannot leave a mapped id without a name. */
    if (buf_reserve((void **)names, cap, *n + 1, sizeof(**names))) return MX_ENOMEM;
    if (*n >= limit) return smap_get(map, s, len, id) == 0 ? 0 : MX_EINVAL;
    const char *stored;
    int rc = smap_put(map, s, len, (uint32_t)*n, id, &stored);
    if (rc == 1) (*names)[(*n)++] = stored;
    return rc;
}

static int ds__intern_item(ds_dataset *ds, const char *s, size_t len, uint32_t *id) {
    if (buf_reserve((void **)&ds->meta, &ds->cap_meta, ds->n_items + 1, sizeof(*ds->meta)))
        return MX_ENOMEM;
    int rc = ds__intern(ds->item_map, &ds->item_ids, &ds->n_items, &ds->cap_items, DS_MAX_IDS, s,
                        len, id);
    if (rc == 1) {
        ds->meta[*id] = (ds_meta){NULL, 0, 0};
        ds->no_meta++;
        ds__sync_meta_stats(ds);
    }
    return rc;
}

int ds__add(ds_dataset *ds, const char *user, size_t ulen, const char *item, size_t ilen,
            int64_t ts, float value) {
    uint32_t u, i;
    if (buf_reserve((void **)&ds->ev, &ds->cap_ev, ds->n_ev + 1, sizeof(*ds->ev))) return MX_ENOMEM;
    int rc = ds__intern(ds->user_map, &ds->user_ids, &ds->n_users, &ds->cap_users, DS_MAX_IDS, user,
                        ulen, &u);
    if (rc >= 0) rc = ds__intern_item(ds, item, ilen, &i);
    if (rc < 0) return rc;
    ds->ev[ds->n_ev++] = (ds_event){u, i, ts, value};
    return 0;
}

void ds_import_opts_init(ds_import_opts *o) {
    memset(o, 0, sizeof(*o)); /* formats AUTO, separators detected, columns by name */
    for (int t = 0; t < EVTYPE_N; t++)
        o->type_weights[t] = evtype_default_weight(t);
    o->min_value = -INFINITY;
    o->cat_sep = '|';
}

ds_dataset *ds_new(void) {
    ds_dataset *ds = calloc(1, sizeof(*ds));
    if (!ds) return NULL;
    ds->user_map = smap_new(1024);
    ds->item_map = smap_new(1024);
    ds->cat_map = smap_new(64);
    ds->title_map = smap_new(1024);
    if (!ds->user_map || !ds->item_map || !ds->cat_map || !ds->title_map) goto err;
    return ds;
err:
    ds_free(ds);
    return NULL;
}

void ds_free(ds_dataset *ds) {
    if (!ds) return;
    smap_free(ds->user_map);
    smap_free(ds->item_map);
    smap_free(ds->cat_map);
    smap_free(ds->title_map);
    free(ds->user_ids);
    free(ds->item_ids);
    free(ds->cat_names);
    free(ds->meta);
    free(ds->cats);
    free(ds->ev);
    free(ds);
}

int ds_add_event(ds_dataset *ds, const char *user, const char *item, int64_t ts, float value,
                 mx_err *err) {
    if (!ds || !user || !item) return mx_err_set(err, MX_EINVAL, "ds_add_event: NULL argument");
    if (!*user || !*item) return mx_err_set(err, MX_EINVAL, "ds_add_event: empty user or item id");
    if (ts < 0 || ts > DS_TS_MAX)
        return mx_err_set(err, MX_EINVAL, "ds_add_event: timestamp %lld out of range",
                          (long long)ts);
    if (!isfinite(value)) return mx_err_set(err, MX_EINVAL, "ds_add_event: value not finite");
    int rc = ds__add(ds, user, strlen(user), item, strlen(item), ts, value);
    if (rc == MX_EINVAL) return mx_err_set(err, rc, "ds_add_event: too many users or items");
    if (rc < 0) return mx_err_set(err, rc, "ds_add_event: out of memory");
    return 0;
}

int ds__cmp_time(const void *a, const void *b) {
    const ds_event *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->item != y->item) return x->item < y->item ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value); /* total order: deterministic */
}

int ds__cmp_user(const void *a, const void *b) {
    const ds_event *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    if (x->item != y->item) return x->item < y->item ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value);
}

void ds__sort(ds_event *ev, size_t n, int (*cmp)(const void *, const void *)) {
    size_t i = 1;
    while (i < n && cmp(&ev[i - 1], &ev[i]) <= 0)
        i++; /* logs often come sorted */
    if (i < n) qsort(ev, n, sizeof(*ev), cmp);
}

/* Merges repeated (user, item) pairs in linear time: bucket the events by
 * user, then a per-item stamp of the last user that had it finds repeats
 * within a bucket. Each repeat folds into the last occurrence and the
 * rest keeps file order, so a log written in time order stays sorted. */
static int ds__merge_duplicates(ds_dataset *ds) {
    size_t n = ds->n_ev, *start = calloc(ds->n_users + 1, sizeof(*start));
    size_t *order = malloc(n * sizeof(*order)), *last = malloc(ds->n_items * sizeof(*last) + 1);
    uint32_t *stamp = malloc(ds->n_items * sizeof(*stamp) + 1);
    int rc = MX_ENOMEM;
    if (!start || !order || !last || !stamp) goto done;
    ds_event *ev = ds->ev;
    for (size_t i = 0; i < n; i++)
        start[ev[i].user + 1]++;
    for (size_t u = 0; u < ds->n_users; u++)
        start[u + 1] += start[u];
    for (size_t i = 0; i < n; i++)
        order[start[ev[i].user]++] = i;
    memset(stamp, 0xff, ds->n_items * sizeof(*stamp)); /* no user has id UINT32_MAX */
    size_t dropped = 0;
    for (size_t j = 0; j < n; j++) {
        ds_event *e = &ev[order[j]];
        if (stamp[e->item] != e->user) {
            stamp[e->item] = e->user;
            last[e->item] = order[j];
            continue;
        }
        ds_event *o = &ev[last[e->item]]; /* fold the earlier one into this */
        if (o->ts > e->ts) e->ts = o->ts;
        if (o->value > e->value) e->value = o->value;
        o->user = UINT32_MAX; /* dropped */
        last[e->item] = order[j];
        dropped++;
    }
    if (dropped) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (ev[i].user != UINT32_MAX) ev[k++] = ev[i];
        ds->n_ev = k;
        ds->st.duplicates += dropped;
    }
    rc = 0;
done:
    free(start);
    free(order);
    free(last);
    free(stamp);
    return rc;
}

int ds_finish(ds_dataset *ds, mx_err *err) {
    if (!ds) return mx_err_set(err, MX_EINVAL, "ds_finish: NULL dataset");
    if (ds->n_ev && ds__merge_duplicates(ds) < 0)
        return mx_err_set(err, MX_ENOMEM, "ds_finish: out of memory");
    ds__sort(ds->ev, ds->n_ev, ds__cmp_time);
    ds->st.events = ds->n_ev;
    ds__sync_meta_stats(ds);
    return 0;
}

/* ================================================================== */
/* Metadata                                                           */
/* ================================================================== */

/* Sets the metadata of item (which has none yet). path/line locate errors
 * in a file; path NULL means a programmatic call. */
int ds__meta_set(ds_dataset *ds, uint32_t item, const char *title, size_t tlen, const char *cats,
                 size_t clen, char sep, const char *path, size_t line, mx_err *err) {
    const char *t;
    if (smap_put(ds->title_map, title, tlen, 0, NULL, &t) < 0) goto oom;
    size_t off = ds->n_cat_refs;
    const char *p = cats, *end = cats + clen;
    while (p < end) {
        const char *q = memchr(p, sep, (size_t)(end - p));
        const char *e = q ? q : end, *s = p;
        p = q ? q + 1 : end;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (s == e) continue; /* "A||B", a trailing separator */
        uint32_t c;
        int rc = ds__intern(ds->cat_map, &ds->cat_names, &ds->n_cats, &ds->cap_cats, DS_MAX_CATS, s,
                            (size_t)(e - s), &c);
        if (rc == MX_EINVAL) {
            if (!path)
                return mx_err_set(err, MX_EINVAL, "ds_set_item_meta: more than %d categories",
                                  DS_MAX_CATS);
            return mx_err_set(err, MX_EFORMAT, "%s:%zu: more than %d categories", path, line,
                              DS_MAX_CATS);
        }
        if (rc < 0) goto oom;
        size_t k = off;
        while (k < ds->n_cat_refs && ds->cats[k] != c)
            k++;
        if (k < ds->n_cat_refs) continue; /* "Drama|Drama" */
        if (buf_reserve((void **)&ds->cats, &ds->cap_cat_refs, ds->n_cat_refs + 1,
                        sizeof(*ds->cats)) ||
            ds->n_cat_refs >= UINT32_MAX)
            goto oom;
        ds->cats[ds->n_cat_refs++] = (uint16_t)c;
    }
    ds->meta[item] = (ds_meta){t, (uint32_t)off, (uint32_t)(ds->n_cat_refs - off)};
    ds->has_meta = 1;
    ds->no_meta--;
    ds__sync_meta_stats(ds);
    return 0;
oom:
    return mx_err_set(err, MX_ENOMEM, "out of memory storing item metadata");
}

int ds_set_item_meta(ds_dataset *ds, const char *item, const char *title, const char *categories,
                     char sep, mx_err *err) {
    if (!ds || !item) return mx_err_set(err, MX_EINVAL, "ds_set_item_meta: NULL argument");
    if (!*item) return mx_err_set(err, MX_EINVAL, "ds_set_item_meta: empty item id");
    uint32_t id;
    int rc = ds__intern_item(ds, item, strlen(item), &id);
    if (rc == MX_EINVAL) return mx_err_set(err, rc, "ds_set_item_meta: too many items");
    if (rc < 0) return mx_err_set(err, rc, "ds_set_item_meta: out of memory");
    ds->has_meta = 1;
    ds__sync_meta_stats(ds);
    if (ds->meta[id].title) {
        ds->st.meta_duplicate_items++;
        return 0;
    }
    if (!title) title = "";
    if (!categories) categories = "";
    return ds__meta_set(ds, id, title, strlen(title), categories, strlen(categories),
                        sep ? sep : '|', NULL, 0, err);
}

/* ================================================================== */
/* Accessors                                                          */
/* ================================================================== */

size_t ds_n_users(const ds_dataset *ds) {
    return ds->n_users;
}

size_t ds_n_items(const ds_dataset *ds) {
    return ds->n_items;
}

size_t ds_n_categories(const ds_dataset *ds) {
    return ds->n_cats;
}

const ds_event *ds_events(const ds_dataset *ds, size_t *n) {
    if (n) *n = ds->n_ev;
    return ds->ev;
}

const ds_stats *ds_get_stats(const ds_dataset *ds) {
    return &ds->st;
}

const char *ds_user_id(const ds_dataset *ds, uint32_t user) {
    return user < ds->n_users ? ds->user_ids[user] : NULL;
}

const char *ds_item_id(const ds_dataset *ds, uint32_t item) {
    return item < ds->n_items ? ds->item_ids[item] : NULL;
}

int64_t ds_find_user(const ds_dataset *ds, const char *id) {
    uint32_t v;
    return id && smap_get(ds->user_map, id, strlen(id), &v) == 0 ? (int64_t)v : -1;
}

int64_t ds_find_item(const ds_dataset *ds, const char *id) {
    uint32_t v;
    return id && smap_get(ds->item_map, id, strlen(id), &v) == 0 ? (int64_t)v : -1;
}

const char *ds_item_title(const ds_dataset *ds, uint32_t item) {
    return item < ds->n_items ? ds->meta[item].title : NULL;
}

const uint16_t *ds_item_categories(const ds_dataset *ds, uint32_t item, size_t *n) {
    static const uint16_t none[1] = {0}; /* non-NULL, so callers may memcpy 0 bytes */
    if (item >= ds->n_items || !ds->meta[item].title || !ds->meta[item].cat_n) {
        if (n) *n = 0;
        return none;
    }
    if (n) *n = ds->meta[item].cat_n;
    return ds->cats + ds->meta[item].cat_off;
}

const char *ds_category_name(const ds_dataset *ds, uint16_t cat) {
    return cat < ds->n_cats ? ds->cat_names[cat] : NULL;
}

int ds_has_metadata(const ds_dataset *ds) {
    return ds->has_meta;
}

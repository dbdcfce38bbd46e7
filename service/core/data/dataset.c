/* dataset.c - see dataset.h. Importing logs and metadata, the dense-id
 * dataset built from them, temporal splits and compressed rows.
 *
 * Import reads a whole file into one buffer and cuts lines and fields in
 * place (CSV quotes are undone where they stand, fields are NUL-terminated
 * over their separators), so a line costs no allocation beyond interning
 * a first-seen id. String ids, titles and category names are interned in
 * strmap maps, whose arenas keep the returned strings at fixed addresses. */
#include "dataset.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset_internal.h"
#include "buf.h"
#include "hash.h"
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

/* ================================================================== */
/* Building                                                           */
/* ================================================================== */

static void ds__sync_meta_stats(ds_dataset *ds) {
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

static int ds__add(ds_dataset *ds, const char *user, size_t ulen, const char *item, size_t ilen,
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
    memset(o, 0, sizeof(*o));
    o->format = DS_FMT_AUTO;
    o->user_col = "user";
    o->item_col = "item";
    o->time_col = "timestamp";
    o->value_col = NULL;
    o->min_value = -INFINITY;
    o->items_format = DS_FMT_AUTO;
    o->meta_id_col = "item";
    o->meta_title_col = "title";
    o->meta_cat_col = "categories";
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
static int ds__meta_set(ds_dataset *ds, uint32_t item, const char *title, size_t tlen,
                        const char *cats, size_t clen, char sep, const char *path, size_t line,
                        mx_err *err) {
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

/* ================================================================== */
/* Text input: files, lines, fields, numbers                          */
/* ================================================================== */

typedef struct ds_text {
    char *buf; /* size + 1 bytes, so the last field can be NUL-terminated */
    size_t size, pos, lineno;
} ds_text;

typedef struct ds_field {
    char *p;
    size_t n;
} ds_field;

typedef struct ds_fields {
    ds_field *f;
    size_t n, cap;
} ds_fields;

/* Reads all of path; *fnv gets the FNV-1a 64 of its bytes. */
static int ds__read_file(ds_text *t, const char *path, uint64_t *fnv, mx_err *err) {
    memset(t, 0, sizeof(*t));
    FILE *f = fopen(path, "rb");
    if (!f) return mx_err_set(err, MX_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    size_t cap = fstat(fileno(f), &sb) == 0 && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096;
    int rc = 0, c;
    t->buf = malloc(cap);
    if (!t->buf) goto oom;
    for (;;) {
        size_t want = cap - 1 - t->size, got = fread(t->buf + t->size, 1, want, f);
        t->size += got;
        /* A full buffer is usually the whole file (sized by fstat): probe
         * one byte before doubling. */
        if (got < want || (c = fgetc(f)) == EOF) break;
        char *b = realloc(t->buf, cap *= 2);
        if (!b) goto oom;
        t->buf = b;
        t->buf[t->size++] = (char)c;
    }
    if (ferror(f)) {
        rc = mx_err_set(err, MX_EIO, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    *fnv = hash_fnv1a(HASH_FNV_BASIS, t->buf, t->size);
    t->buf[t->size] = '\0';
    if (t->size >= 3 && memcmp(t->buf, "\xEF\xBB\xBF", 3) == 0) t->pos = 3; /* UTF-8 BOM */
done:
    fclose(f);
    if (rc < 0) {
        free(t->buf);
        t->buf = NULL;
    }
    return rc;
oom:
    rc = mx_err_set(err, MX_ENOMEM, "%s: out of memory reading the file", path);
    goto done;
}

/* Next line without its "\n" or "\r\n"; 0 at the end of the text. */
static int ds__next_line(ds_text *t, char **line, size_t *len) {
    if (t->pos >= t->size) return 0;
    char *s = t->buf + t->pos, *nl = memchr(s, '\n', t->size - t->pos);
    size_t n = nl ? (size_t)(nl - s) : t->size - t->pos;
    t->pos += n + (nl != NULL);
    if (n && s[n - 1] == '\r') n--;
    t->lineno++;
    *line = s;
    *len = n;
    return 1;
}

static int ds__blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

static ds_format ds__detect(const char *s, size_t n) {
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == ':' && s[i + 1] == ':') return DS_FMT_MOVIETWEETINGS;
    return memchr(s, '\t', n) ? DS_FMT_TSV : DS_FMT_CSV;
}

static int ds__push(ds_fields *fs, char *p, size_t n) {
    if (buf_reserve((void **)&fs->f, &fs->cap, fs->n + 1, sizeof(*fs->f))) return MX_ENOMEM;
    fs->f[fs->n++] = (ds_field){p, n};
    return 0;
}

static int ds__is_pad(char c, char sep) {
    return c == ' ' || (c == '\t' && sep != '\t');
}

/* Cuts a CSV/TSV line into fields. CSV fields may be quoted ("" is a quote
 * inside); the unquoting happens in place. TSV has no quoting. */
static int ds__split_delimited(char *s, char *end, char sep, int quotes, ds_fields *fs,
                               const char **why) {
    for (;;) {
        while (s < end && ds__is_pad(*s, sep))
            s++;
        if (quotes && s < end && *s == '"') {
            char *out = s, *q = s + 1;
            for (;;) {
                if (q >= end) {
                    *why = "unterminated quote";
                    return MX_EFORMAT;
                }
                if (*q == '"') {
                    if (q + 1 < end && q[1] == '"') {
                        *out++ = '"';
                        q += 2;
                        continue;
                    }
                    q++;
                    break;
                }
                *out++ = *q++;
            }
            if (ds__push(fs, s, (size_t)(out - s)) < 0) return MX_ENOMEM;
            while (q < end && ds__is_pad(*q, sep))
                q++;
            if (q == end) return 0;
            if (*q != sep) {
                *why = "text after a closing quote";
                return MX_EFORMAT;
            }
            s = q + 1;
            continue;
        }
        char *q = s < end ? memchr(s, sep, (size_t)(end - s)) : NULL, *e = q ? q : end;
        while (e > s && ds__is_pad(e[-1], sep))
            e--;
        if (ds__push(fs, s, (size_t)(e - s)) < 0) return MX_ENOMEM;
        if (!q) return 0;
        s = q + 1;
    }
}

/* Cuts a line into fields and NUL-terminates each: the byte after a field
 * is its separator, padding, the line end or the spare byte after the
 * buffer, none of which is needed once the line is split. */
static int ds__split(char *line, size_t len, ds_format fmt, ds_fields *fs, const char **why) {
    char *s = line, *end = line + len;
    int rc = 0;
    fs->n = 0;
    if (fmt == DS_FMT_MOVIETWEETINGS) {
        for (;;) {
            char *sep = NULL;
            for (char *q = s; (q = memchr(q, ':', (size_t)(end - q))) && q + 1 < end; q++)
                if (q[1] == ':') {
                    sep = q;
                    break;
                }
            if (ds__push(fs, s, (size_t)((sep ? sep : end) - s)) < 0) return MX_ENOMEM;
            if (!sep) break;
            s = sep + 2;
        }
    } else {
        rc =
            ds__split_delimited(s, end, fmt == DS_FMT_TSV ? '\t' : ',', fmt == DS_FMT_CSV, fs, why);
    }
    if (rc == MX_ENOMEM) *why = "out of memory";
    for (size_t i = 0; i < fs->n; i++)
        fs->f[i].p[fs->f[i].n] = '\0';
    return rc;
}

/* Unix seconds, maybe with a fraction (truncated). 0, -1 = not a number,
 * -2 = out of range. */
static int ds__parse_ts(const char *s, int64_t *out) {
    const char *p = s;
    int neg = *p == '-', big = 0;
    if (*p == '-' || *p == '+') p++;
    if (*p < '0' || *p > '9') return -1;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > DS_TS_MAX)
            big = 1; /* stop growing long before overflow */
        else
            v = v * 10 + (*p - '0');
    }
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++) {
        }
    if (*p) return -1;
    if (big || v > DS_TS_MAX || (neg && v)) return -2;
    *out = v;
    return 0;
}

static int ds__parse_value(const char *s, float *out) {
    const char *p = s;
    uint32_t v = 0;
    while (*p >= '0' && *p <= '9' && p - s < 7)
        v = v * 10 + (uint32_t)(*p++ - '0');
    if (!*p && p > s) { /* plain small integers, the common rating */
        *out = (float)v;
        return 0;
    }
    char *end;
    float f = strtof(s, &end);
    if (end == s || *end || !isfinite(f)) return -1;
    *out = f;
    return 0;
}

/* ================================================================== */
/* Import                                                             */
/* ================================================================== */

/* Skips blank lines to the first line of t; 0 when there is none. */
static int ds__first_line(ds_dataset *ds, ds_text *t, char **line, size_t *len) {
    while (ds__next_line(t, line, len)) {
        if (!ds__blank(*line, *len)) return 1;
        ds->st.blank_lines++;
    }
    return 0;
}

/* Finds the named columns of a header line. idx[k] = -1 where names[k] is
 * NULL or (when not required[k]) absent; *need = fields a data line needs. */
/* The next data record: skips (and counts) blank lines, splits the line
 * into fields and checks that it has at least `need`. *pending says the
 * current line (the first, kept after a header check) is still unread.
 * Returns 1 with fs filled, 0 at the end of the file, or an error. */
static int ds__next_record(ds_text *t, int *pending, char **line, size_t *len, ds_format fmt,
                           ds_fields *fs, size_t need, const char *path, size_t *blank,
                           size_t *lines, mx_err *err) {
    for (;;) {
        if (!*pending && !ds__next_line(t, line, len)) return 0;
        *pending = 0;
        if (ds__blank(*line, *len)) {
            (*blank)++;
            continue;
        }
        (*lines)++;
        const char *why = NULL;
        if (ds__split(*line, *len, fmt, fs, &why) < 0)
            return mx_err_set(err, MX_EFORMAT, "%s:%zu: %s", path, t->lineno, why);
        if (fs->n < need)
            return mx_err_set(err, MX_EFORMAT, "%s:%zu: too few fields: need %zu, got %zu", path,
                              t->lineno, need, fs->n);
        return 1;
    }
}

static int ds__header(char *line, size_t len, ds_format fmt, const char *path, size_t lineno,
                      const char *const *names, const int *required, int *idx, int ncols,
                      size_t *need, ds_fields *fs, mx_err *err) {
    const char *why = NULL;
    if (ds__split(line, len, fmt, fs, &why) < 0)
        return mx_err_set(err, MX_EFORMAT, "%s:%zu: %s in the header", path, lineno, why);
    *need = 0;
    for (int k = 0; k < ncols; k++) {
        idx[k] = -1;
        for (size_t i = 0; names[k] && i < fs->n; i++)
            if (strcmp(fs->f[i].p, names[k]) == 0) {
                idx[k] = (int)i;
                break;
            }
        if (idx[k] < 0 && names[k] && required[k]) {
            char hdr[200] = "";
            size_t used = 0;
            for (size_t i = 0; i < fs->n && used < sizeof(hdr); i++)
                used += (size_t)snprintf(hdr + used, sizeof(hdr) - used, "%s%s", i ? "," : "",
                                         fs->f[i].p);
            return mx_err_set(err, MX_EFORMAT, "%s:%zu: missing column '%s' (header: %s)", path,
                              lineno, names[k], hdr);
        }
        if (idx[k] >= 0 && (size_t)idx[k] + 1 > *need) *need = (size_t)idx[k] + 1;
    }
    return 0;
}

#define DS_OR(s, d) ((s) ? (s) : (d))

static int ds__load_log(ds_dataset *ds, const char *path, const ds_import_opts *o, ds_fields *fs,
                        mx_err *err) {
    enum { U, I, T, V };
    ds_text t;
    int rc = ds__read_file(&t, path, &ds->st.interactions_fnv, err);
    if (rc < 0) return rc;
    char *line;
    size_t len, need = 4, n_before = ds->n_ev;
    int idx[4] = {0, 1, 3, 2}, pending = ds__first_line(ds, &t, &line, &len);
    if (!pending) {
        rc = mx_err_set(err, MX_EFORMAT, "%s:1: empty file (no events)", path);
        goto done;
    }
    ds_format fmt = o->format == DS_FMT_AUTO ? ds__detect(line, len) : o->format;
    if (fmt != DS_FMT_MOVIETWEETINGS) {
        const char *names[4] = {DS_OR(o->user_col, "user"), DS_OR(o->item_col, "item"),
                                DS_OR(o->time_col, "timestamp"), o->value_col};
        const int required[4] = {1, 1, 1, 1};
        rc = ds__header(line, len, fmt, path, t.lineno, names, required, idx, 4, &need, fs, err);
        if (rc < 0) goto done;
        pending = 0;
    }
    for (;;) {
        rc = ds__next_record(&t, &pending, &line, &len, fmt, fs, need, path, &ds->st.blank_lines,
                             &ds->st.lines, err);
        if (rc < 0) goto done;
        if (rc == 0) break;
        rc = 0;
        const ds_field *u = &fs->f[idx[U]], *it = &fs->f[idx[I]], *ts = &fs->f[idx[T]];
        if (!u->n || !it->n) {
            rc = mx_err_set(err, MX_EFORMAT, "%s:%zu: empty %s id", path, t.lineno,
                            u->n ? "item" : "user");
            goto done;
        }
        int64_t when;
        int prc = ds__parse_ts(ts->p, &when);
        if (prc == -1) {
            rc =
                mx_err_set(err, MX_EFORMAT, "%s:%zu: bad timestamp '%.40s'", path, t.lineno, ts->p);
            goto done;
        }
        if (prc == -2) {
            rc = mx_err_set(err, MX_EFORMAT,
                            "%s:%zu: timestamp %.40s out of range (unix seconds, 0 to year 3000)",
                            path, t.lineno, ts->p);
            goto done;
        }
        float value = 1.0f;
        if (idx[V] >= 0 && ds__parse_value(fs->f[idx[V]].p, &value) < 0) {
            rc = mx_err_set(err, MX_EFORMAT, "%s:%zu: bad value '%.40s'", path, t.lineno,
                            fs->f[idx[V]].p);
            goto done;
        }
        if (value < o->min_value) {
            ds->st.below_min_value++;
            continue;
        }
        rc = ds__add(ds, u->p, u->n, it->p, it->n, when, value);
        if (rc < 0) {
            rc = mx_err_set(err, rc, "%s:%zu: %s", path, t.lineno,
                            rc == MX_EINVAL ? "too many users or items" : "out of memory");
            goto done;
        }
    }
    if (ds->n_ev == n_before) {
        if (ds->st.below_min_value)
            rc = mx_err_set(err, MX_EFORMAT, "%s:%zu: no events: all %zu are below min_value %g",
                            path, t.lineno, ds->st.below_min_value, (double)o->min_value);
        else
            rc = mx_err_set(err, MX_EFORMAT, "%s:%zu: no events after the header", path, t.lineno);
    }
done:
    free(t.buf);
    return rc;
}

static int ds__load_meta(ds_dataset *ds, const char *path, const ds_import_opts *o, ds_fields *fs,
                         mx_err *err) {
    enum { ID, TITLE, CATS };
    ds_text t;
    int rc = ds__read_file(&t, path, &ds->st.items_fnv, err);
    if (rc < 0) return rc;
    char *line;
    size_t len, need = 2; /* movietweetings: the genre field may be missing */
    int idx[3] = {0, 1, 2}, pending = ds__first_line(ds, &t, &line, &len);
    if (!pending) {
        rc = mx_err_set(err, MX_EFORMAT, "%s:1: empty file (no metadata)", path);
        goto done;
    }
    ds_format fmt = o->items_format == DS_FMT_AUTO ? ds__detect(line, len) : o->items_format;
    if (fmt != DS_FMT_MOVIETWEETINGS) {
        const char *names[3] = {DS_OR(o->meta_id_col, "item"), DS_OR(o->meta_title_col, "title"),
                                DS_OR(o->meta_cat_col, "categories")};
        const int required[3] = {1, 1, 0};
        rc = ds__header(line, len, fmt, path, t.lineno, names, required, idx, 3, &need, fs, err);
        if (rc < 0) goto done;
        pending = 0;
    }
    ds->has_meta = 1;
    ds__sync_meta_stats(ds);
    for (;;) {
        rc = ds__next_record(&t, &pending, &line, &len, fmt, fs, need, path, &ds->st.blank_lines,
                             &ds->st.meta_lines, err);
        if (rc < 0) goto done;
        if (rc == 0) break;
        rc = 0;
        const ds_field *id = &fs->f[idx[ID]];
        if (!id->n) {
            rc = mx_err_set(err, MX_EFORMAT, "%s:%zu: empty item id", path, t.lineno);
            goto done;
        }
        uint32_t item;
        if (smap_get(ds->item_map, id->p, id->n, &item) < 0) {
            ds->st.meta_unknown_items++;
            continue;
        }
        if (ds->meta[item].title) {
            ds->st.meta_duplicate_items++;
            continue;
        }
        const ds_field *ti = &fs->f[idx[TITLE]];
        const ds_field *ca = idx[CATS] >= 0 && (size_t)idx[CATS] < fs->n ? &fs->f[idx[CATS]] : NULL;
        rc = ds__meta_set(ds, item, ti->p, ti->n, ca ? ca->p : "", ca ? ca->n : 0,
                          o->cat_sep ? o->cat_sep : '|', path, t.lineno, err);
        if (rc < 0) goto done;
    }
done:
    free(t.buf);
    return rc;
}

int ds_load(ds_dataset **out, const char *interactions_path, const char *items_path,
            const ds_import_opts *opts, mx_err *err) {
    if (!out || !interactions_path) return mx_err_set(err, MX_EINVAL, "ds_load: NULL argument");
    *out = NULL;
    ds_import_opts defaults;
    if (!opts) {
        ds_import_opts_init(&defaults);
        opts = &defaults;
    }
    ds_fields fs = {0};
    ds_dataset *ds = ds_new();
    if (!ds) return mx_err_set(err, MX_ENOMEM, "ds_load: out of memory");
    int rc = ds__load_log(ds, interactions_path, opts, &fs, err);
    if (rc == 0 && items_path) rc = ds__load_meta(ds, items_path, opts, &fs, err);
    if (rc == 0) rc = ds_finish(ds, err);
    free(fs.f);
    if (rc < 0) {
        ds_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

/* impressions.c - see impressions.h. */
#include "impressions.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct imp_log {
    imp_slate *s;
    size_t n, cap;
    imp_stats st;
};

imp_log *imp_log_new(void) {
    return calloc(1, sizeof(imp_log));
}

static void slate_free(imp_slate *s) {
    free((char *)s->rid);
    free((char *)s->user);
    for (size_t i = 0; i < s->n_items; i++)
        free((char *)s->items[i]);
    free(s->items);
    free((float *)s->propensity);
}

void imp_log_free(imp_log *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++)
        slate_free(&l->s[i]);
    free(l->s);
    free(l);
}

size_t imp_log_count(const imp_log *l) {
    return l->n;
}

const imp_slate *imp_log_get(const imp_log *l, size_t i) {
    return &l->s[i];
}

const imp_stats *imp_log_stats(const imp_log *l) {
    return &l->st;
}

/* An item of the answer: its position (the array index when absent), id
 * and propensity. Ids may be strings or integers (a numeric export). */
typedef struct entry {
    double pos;
    size_t at;
    char *id;
    float prop;
} entry;

static int by_pos(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->pos != y->pos) return x->pos < y->pos ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* A record's items in either form of docs/streams.md, read through one
 * accessor (cell) so both give the same slate: format 1, an array of
 * objects {"item", "position", "propensity", ...} (or bare ids); format
 * 2, an object of columns {"item": [...], "propensity": [...], ...}, one
 * value per item in answer order, position = index. */
typedef struct item_view {
    const json_t *rows; /* format 1, else NULL */
    const json_t *cols; /* format 2, else NULL */
    size_t n;
} item_view;

/* The view of items (an array or an object); n = 0 when the columns do
 * not line up: an "item" column is required, and every member must be an
 * array of its length (a cut or garbled record is skipped whole, never
 * read with shifted propensities). */
static item_view view_of(const json_t *items) {
    item_view v = {0};
    if (json_is_array(items)) {
        v.rows = items;
        v.n = json_array_size(items);
        return v;
    }
    const json_t *ids = json_object_get(items, "item"), *col;
    const char *name;
    if (!json_is_array(ids)) return v;
    json_object_foreach((json_t *)items, name, col) {
        if (!json_is_array(col) || json_array_size(col) != json_array_size(ids)) return v;
    }
    v.cols = items;
    v.n = json_array_size(ids);
    return v;
}

/* Item i's value of field name (NULL when absent). */
static const json_t *cell(const item_view *v, size_t i, const char *name) {
    if (v->cols) return json_array_get(json_object_get(v->cols, name), i);
    const json_t *it = json_array_get(v->rows, i);
    if (json_is_object(it)) return json_object_get(it, name);
    return strcmp(name, "item") ? NULL : it; /* a bare id */
}

/* An item's "propensity" p: 1 when absent; -1 when not a number in (0, 1]
 * (a rounding excess of 1e-6 above 1 is taken as 1). */
static float prop_of(const json_t *p) {
    if (!p) return 1.0f;
    double v = json_is_number(p) ? json_number_value(p) : -1;
    if (!(v > 0 && v <= 1 + 1e-6)) return -1.0f;
    return v > 1 ? 1.0f : (float)v;
}

static char *id_text(const json_t *v) {
    char buf[32];
    if (json_is_string(v)) return json_string_length(v) ? strdup(json_string_value(v)) : NULL;
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        return strdup(buf);
    }
    return NULL;
}

/* The items of s (an array or columns) in answer order, with their
 * propensities; n_items = 0 when none is usable. *bad_prop is set when an
 * item's propensity is unusable (the caller skips the slate). -1 on OOM. */
static int read_items(const json_t *items_json, imp_slate *s, int *bad_prop) {
    item_view v = view_of(items_json);
    size_t k = 0;
    *bad_prop = 0;
    entry *e = calloc(v.n ? v.n : 1, sizeof(entry));
    if (!e) return -1;
    for (size_t i = 0; i < v.n; i++) {
        const json_t *id = cell(&v, i, "item"), *pos = cell(&v, i, "position");
        char *t = id ? id_text(id) : NULL;
        if (!t) continue;
        float p = prop_of(cell(&v, i, "propensity"));
        *bad_prop |= p < 0;
        e[k++] = (entry){json_is_number(pos) ? json_number_value(pos) : (double)i, i, t, p};
    }
    qsort(e, k, sizeof(entry), by_pos);
    const char **items = malloc((k ? k : 1) * sizeof(char *));
    float *prop = malloc((k ? k : 1) * sizeof(float));
    if (!items || !prop) {
        for (size_t i = 0; i < k; i++)
            free(e[i].id);
        free(e);
        free(items);
        free(prop);
        return -1;
    }
    for (size_t i = 0; i < k; i++) {
        items[i] = e[i].id;
        prop[i] = e[i].prop;
    }
    free(e);
    s->items = items;
    s->propensity = prop;
    s->n_items = k;
    return 0;
}

static int oom(mx_err *err) {
    return mx_err_set(err, MX_ENOMEM, "impressions: out of memory");
}

/* One parsed object into l (or counted as skipped). */
static int add_object(imp_log *l, const json_t *o, mx_err *err) {
    const json_t *items = json_object_get(o, "items"), *ts = json_object_get(o, "ts");
    const json_t *user = json_object_get(o, "user"), *rid = json_object_get(o, "recommendation_id");
    const json_t *order = json_object_get(o, "order");
    if (!(json_is_array(items) || json_is_object(items)) || !json_is_number(ts) ||
        !isfinite(json_number_value(ts))) {
        l->st.not_slate++;
        return 0;
    }
    char *u = user ? id_text(user) : NULL;
    if (!u) {
        l->st.anonymous++;
        return 0;
    }
    imp_slate s = {.user = u, .ts_ms = (int64_t)json_number_value(ts)};
    s.ranked = json_is_string(order) && !strcmp(json_string_value(order), "ranker");
    s.rid = strdup(json_is_string(rid) ? json_string_value(rid) : "");
    int bad_prop = 0;
    if (!s.rid || read_items(items, &s, &bad_prop)) {
        slate_free(&s);
        return oom(err);
    }
    if (!s.n_items || bad_prop) {
        slate_free(&s);
        if (bad_prop)
            l->st.bad_propensity++;
        else
            l->st.empty++;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        imp_slate *p = realloc(l->s, cap * sizeof(imp_slate));
        if (!p) {
            slate_free(&s);
            return oom(err);
        }
        l->s = p;
        l->cap = cap;
    }
    l->s[l->n++] = s;
    l->st.slates++;
    return 0;
}

int imp_log_add_line(imp_log *l, const char *line, size_t len, mx_err *err) {
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len) return 0; /* blank */
    l->st.lines++;
    json_t *o = json_loadb(line + i, len - i, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        l->st.bad_json++;
        return 0;
    }
    int rc = add_object(l, o, err);
    json_decref(o);
    return rc;
}

int imp_log_read(imp_log *l, const char *path, mx_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return mx_err_set(err, MX_EIO, "impressions: cannot open %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = 0;
    while (!rc && (got = getline(&line, &cap, f)) >= 0)
        rc = imp_log_add_line(l, line, (size_t)got, err);
    if (!rc && ferror(f)) rc = mx_err_set(err, MX_EIO, "impressions: cannot read %s", path);
    free(line);
    fclose(f);
    if (rc) mx_err_prefix(err, "%s", path);
    return rc;
}

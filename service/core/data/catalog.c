/* catalog.c - see catalog.h. */
#include "catalog.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "strmap.h"

struct cat_snapshot {
    int refs; /* atomic */
    uint64_t generation;
    cat_item *items;
    size_t n, cap, skipped;
    smap *ids;
    char *promotions;
};

int cat_item_blocked(const cat_item *it, int64_t now) {
    return (it->flags & CAT_HIDDEN) || (it->expires_at > 0 && it->expires_at <= now);
}

cat_snapshot *cat_snapshot_new(uint64_t generation) {
    cat_snapshot *s = calloc(1, sizeof(*s));
    if (!s || !(s->ids = smap_new(0))) {
        free(s);
        return NULL;
    }
    s->refs = 1;
    s->generation = generation;
    return s;
}

cat_snapshot *cat_snapshot_retain(cat_snapshot *s) {
    __atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

static void item_free(cat_item *it) {
    for (size_t j = 0; j < it->n_categories; j++)
        free((char *)it->categories[j]);
    free((void *)it->categories);
    free((char *)it->title);
    free((float *)it->vector);
}

void cat_snapshot_release(cat_snapshot *s) {
    if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    for (size_t i = 0; i < s->n; i++)
        item_free(&s->items[i]);
    free(s->items);
    smap_free(s->ids);
    free(s->promotions);
    free(s);
}

uint64_t cat_snapshot_generation(const cat_snapshot *s) {
    return s->generation;
}

size_t cat_snapshot_count(const cat_snapshot *s) {
    return s->n;
}

size_t cat_snapshot_skipped(const cat_snapshot *s) {
    return s->skipped;
}

const cat_item *cat_snapshot_at(const cat_snapshot *s, size_t i) {
    return &s->items[i];
}

const cat_item *cat_snapshot_find(const cat_snapshot *s, const char *id) {
    uint32_t i;
    if (!s || smap_get(s->ids, id, strlen(id), &i)) return NULL;
    return &s->items[i];
}

const char *cat_snapshot_promotions(const cat_snapshot *s) {
    return s->promotions;
}

int cat_snapshot_set_promotions(cat_snapshot *s, const char *json, size_t len) {
    free(s->promotions);
    s->promotions = NULL;
    if (!json) return 0;
    if (!(s->promotions = malloc(len + 1))) return MX_ENOMEM;
    memcpy(s->promotions, json, len);
    s->promotions[len] = 0;
    return 0;
}

static int64_t ts_of(const json_t *v) {
    if (!json_is_number(v)) return 0;
    double d = json_number_value(v);
    return d > 0 && d <= (double)CAT_MAX_TS ? (int64_t)d : 0;
}

/* Fills it from the stored object o; -1 when o is not a valid record
 * (it then holds nothing to free), MX_ENOMEM. */
static int item_of(const json_t *o, cat_item *it) {
    memset(it, 0, sizeof(*it));
    if (!json_is_object(o)) return -1;
    if (json_is_true(json_object_get(o, "hidden"))) it->flags |= CAT_HIDDEN;
    if (json_is_true(json_object_get(o, "new"))) it->flags |= CAT_NEW;
    it->expires_at = ts_of(json_object_get(o, "expires_at"));
    it->added_at = ts_of(json_object_get(o, "added_at"));
    it->updated_at = ts_of(json_object_get(o, "updated_at"));
    const json_t *t = json_object_get(o, "title"), *c = json_object_get(o, "categories"),
                 *v = json_object_get(o, "vector");
    if (json_is_string(t)) {
        it->flags |= CAT_HAS_TITLE;
        if (!(it->title = strdup(json_string_value(t)))) return MX_ENOMEM;
    }
    /* Redis' cjson writes an empty array as {}: both mean no categories */
    if (json_is_array(c) || (json_is_object(c) && json_object_size(c) == 0)) {
        it->flags |= CAT_HAS_CATEGORIES;
        size_t n = json_is_array(c) ? json_array_size(c) : 0;
        if (n && !(it->categories = calloc(n, sizeof(char *)))) goto oom;
        for (size_t j = 0; j < n; j++) {
            const char *name = json_string_value(json_array_get(c, j));
            if (!name) continue;
            if (!(it->categories[it->n_categories] = strdup(name))) goto oom;
            it->n_categories++;
        }
    }
    if (json_is_array(v) && json_array_size(v) > 0 && json_array_size(v) <= CAT_MAX_DIM) {
        size_t d = json_array_size(v);
        float *x = malloc(d * sizeof(float));
        if (!x) goto oom;
        for (size_t j = 0; j < d; j++)
            x[j] = (float)json_number_value(json_array_get(v, j));
        it->vector = x;
        it->dim = d;
    }
    return 0;
oom:
    item_free(it);
    memset(it, 0, sizeof(*it));
    return MX_ENOMEM;
}

int cat_snapshot_add(cat_snapshot *s, const char *id, size_t id_len, const char *json, size_t len) {
    json_t *o = json_loadb(json, len, 0, NULL);
    cat_item it;
    int rc = item_of(o, &it);
    json_decref(o);
    if (rc == -1 || id_len == 0) {
        s->skipped++;
        return 0;
    }
    if (rc) return rc;
    uint32_t at;
    const char *stored;
    if (buf_reserve((void **)&s->items, &s->cap, s->n + 1, sizeof(cat_item)) ||
        smap_put(s->ids, id, id_len, (uint32_t)s->n, &at, &stored) < 0) {
        item_free(&it);
        return MX_ENOMEM;
    }
    it.id = stored;
    if (at != s->n) { /* the same id twice: the later record wins */
        item_free(&s->items[at]);
        s->items[at] = it;
        return 0;
    }
    s->items[s->n++] = it;
    return 0;
}

json_t *cat_item_json(const cat_item *it) {
    json_t *o = json_object();
    if (it->flags & CAT_HIDDEN) json_object_set_new(o, "hidden", json_true());
    if (it->flags & CAT_NEW) json_object_set_new(o, "new", json_true());
    if (it->expires_at) json_object_set_new(o, "expires_at", json_integer(it->expires_at));
    if (it->added_at) json_object_set_new(o, "added_at", json_integer(it->added_at));
    if (it->updated_at) json_object_set_new(o, "updated_at", json_integer(it->updated_at));
    if (it->flags & CAT_HAS_TITLE) json_object_set_new(o, "title", json_string(it->title));
    if (it->flags & CAT_HAS_CATEGORIES) {
        json_t *c = json_array();
        for (size_t j = 0; j < it->n_categories; j++)
            json_array_append_new(c, json_string(it->categories[j]));
        json_object_set_new(o, "categories", c);
    }
    if (it->vector) json_object_set_new(o, "has_vector", json_true());
    return o;
}

/* ---- a client's change ---------------------------------------------------- */

static int fail(int *status, int code, char *field, size_t fsize, const char *name, mx_err *err,
                const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int fail(int *status, int code, char *field, size_t fsize, const char *name, mx_err *err,
                const char *fmt, ...) {
    *status = code;
    snprintf(field, fsize, "%s", name);
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return mx_err_set(err, MX_EINVAL, "%s: %s", name, msg);
}

#define FAIL(code, name, ...) fail(status, code, field, field_size, name, err, __VA_ARGS__)

static int check_categories(const json_t *c, int *status, char *field, size_t field_size,
                            mx_err *err) {
    if (!json_is_array(c)) return FAIL(400, "categories", "must be an array of names");
    if (json_array_size(c) > CAT_MAX_CATEGORIES)
        return FAIL(400, "categories", "at most %d categories", CAT_MAX_CATEGORIES);
    for (size_t j = 0; j < json_array_size(c); j++) {
        char name[48];
        snprintf(name, sizeof(name), "categories[%zu]", j);
        const char *s = json_string_value(json_array_get(c, j));
        if (!s) return FAIL(400, name, "must be a string");
        size_t len = strlen(s);
        if (len == 0 || len > CAT_MAX_CATEGORY)
            return FAIL(400, name, "a category name has 1 to %d bytes", CAT_MAX_CATEGORY);
        for (size_t i = 0; i < j; i++)
            if (!strcmp(s, json_string_value(json_array_get(c, i))))
                return FAIL(400, name, "'%s' is listed twice", s);
    }
    return 0;
}

static int check_vector(const json_t *v, size_t dim, int *status, char *field, size_t field_size,
                        mx_err *err) {
    if (!json_is_array(v)) return FAIL(400, "vector", "must be an array of numbers");
    if (json_array_size(v) != dim)
        return FAIL(422, "vector", "has %zu numbers; the model's space has %zu dimensions",
                    json_array_size(v), dim);
    for (size_t j = 0; j < dim; j++) {
        const json_t *x = json_array_get(v, j);
        if (!json_is_number(x) || !isfinite(json_number_value(x)))
            return FAIL(400, "vector", "element %zu is not a finite number", j);
    }
    return 0;
}

static int check_field(const char *key, const json_t *v, int mode, size_t dim, int *status,
                       char *field, size_t field_size, mx_err *err) {
    if (!strcmp(key, "hidden")) {
        if (!json_is_boolean(v)) return FAIL(400, key, "must be true or false");
    } else if (!strcmp(key, "expires_at")) {
        if (json_is_null(v)) return 0;
        if (!json_is_integer(v)) return FAIL(400, key, "must be unix seconds (an integer) or null");
        json_int_t t = json_integer_value(v);
        if (t <= 0 || t > CAT_MAX_TS)
            return FAIL(422, key, "%lld is not a time between 1970 and 2100 in unix seconds",
                        (long long)t);
    } else if (!strcmp(key, "title")) {
        if (!json_is_string(v)) return FAIL(400, key, "must be a string");
        if (json_string_length(v) > CAT_MAX_TITLE)
            return FAIL(400, key, "at most %d bytes", CAT_MAX_TITLE);
    } else if (!strcmp(key, "categories")) {
        return check_categories(v, status, field, field_size, err);
    } else if (!strcmp(key, "vector") && mode == CAT_PUT) {
        return check_vector(v, dim, status, field, field_size, err);
    } else {
        return FAIL(400, key, "unknown field; a %s takes %s", mode == CAT_PUT ? "PUT" : "PATCH",
                    mode == CAT_PUT ? "title, categories, vector, hidden, expires_at"
                                    : "hidden, expires_at, title, categories");
    }
    return 0;
}

int cat_change_of(const json_t *body, int mode, size_t dim, json_t **patch, int *status,
                  char *field, size_t field_size, mx_err *err) {
    *patch = NULL;
    field[0] = 0;
    if (!json_is_object(body)) return FAIL(400, "body", "must be a JSON object");
    if (mode == CAT_PATCH && json_object_size(body) == 0)
        return FAIL(400, "body", "names nothing to change");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        int rc = check_field(key, v, mode, dim, status, field, field_size, err);
        if (rc) return rc;
    }
    *patch = json_deep_copy(body);
    if (!*patch) return mx_err_set(err, MX_ENOMEM, "out of memory");
    return 0;
}

int cat_snapshot_read(const char *path, cat_snapshot **out, mx_err *err) {
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) return mx_err_set(err, MX_EIO, "%s: %s", path, strerror(errno));
    cat_snapshot *s = cat_snapshot_new(0);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = s ? 0 : mx_err_set(err, MX_ENOMEM, "out of memory");
    while (!rc && (len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len) continue;
        json_t *o = json_loadb(line, (size_t)len, 0, NULL);
        const char *id = json_string_value(json_object_get(o, "item"));
        if (!id || !id[0]) {
            rc = mx_err_set(err, MX_EFORMAT, "%s:%zu: expected a JSON object with an \"item\" id",
                            path, lineno);
        } else {
            char *text = json_dumps(o, JSON_COMPACT);
            rc = text ? cat_snapshot_add(s, id, strlen(id), text, strlen(text)) : MX_ENOMEM;
            if (rc) mx_err_set(err, rc, "out of memory reading %s", path);
            free(text);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (rc) {
        cat_snapshot_release(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* api_params.c - see api_params.h. */
#include "api_params.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* The parameter as text (query) or JSON (body); both NULL when absent. */
static void arg_of(const api_args *a, const char *name, const char **text, const json_t **json) {
    *text = a->body ? NULL : api_query(a->r, name);
    *json = a->body ? json_object_get(a->body, name) : NULL;
    if (*json && json_is_null(*json)) *json = NULL; /* null is absent */
}

int api_param_k(const api_args *a, size_t *k) {
    int max = a->r->env->cfg->max_k;
    const char *text;
    const json_t *json;
    arg_of(a, "k", &text, &json);
    long long x = 20;
    int ok = 1;
    if (json) {
        ok = json_is_integer(json);
        x = ok ? json_integer_value(json) : 0;
    } else if (text) {
        char *end;
        errno = 0;
        x = strtoll(text, &end, 10);
        ok = !errno && end != text && !*end;
    }
    if (!ok || x < 1 || x > max) {
        api_error(a->r, API_BAD_REQUEST, "bad_parameter", "k must be an integer in 1..%d", max);
        return -1;
    }
    *k = (size_t)x;
    return 0;
}

int api_param_flag(const api_args *a, const char *name, int def, int *out) {
    const char *text;
    const json_t *json;
    arg_of(a, name, &text, &json);
    *out = def;
    if (json && json_is_boolean(json))
        *out = json_is_true(json);
    else if (text && (!strcmp(text, "true") || !strcmp(text, "1")))
        *out = 1;
    else if (text && (!strcmp(text, "false") || !strcmp(text, "0")))
        *out = 0;
    else if (json || text) {
        api_error(a->r, API_BAD_REQUEST, "bad_parameter", "'%s' must be true or false", name);
        return -1;
    }
    return 0;
}

/* Whether an id of len bytes is acceptable; else the 400 answer. */
static int id_ok(api_req *r, const char *name, size_t len) {
    if (len > 0 && len <= API_MAX_ID) return 1;
    if (len == 0)
        api_error(r, API_BAD_REQUEST, "bad_parameter", "'%s' has an empty id", name);
    else
        api_error(r, API_BAD_REQUEST, "id_too_long", "'%s': ids are at most %d bytes, one has %zu",
                  name, API_MAX_ID, len);
    return 0;
}

int api_param_id(const api_args *a, const char *name, const char **out) {
    const char *text;
    const json_t *json;
    arg_of(a, name, &text, &json);
    *out = NULL;
    if (json && !json_is_string(json)) {
        api_error(a->r, API_BAD_REQUEST, "bad_parameter", "'%s' must be a string", name);
        return -1;
    }
    const char *s = json ? json_string_value(json) : text;
    if (!s) return 0;
    if (!id_ok(a->r, name, strlen(s))) return -1;
    if (!json && !api_utf8_valid(s)) {
        api_error(a->r, API_BAD_REQUEST, "bad_parameter", "'%s' must be UTF-8", name);
        return -1;
    }
    *out = s;
    return 0;
}

/* The ids of a parameter, each checked and passed to fn; at most max.
 * Query: comma-separated (empty entries skipped); body: an array of
 * strings. 0, or -1 with a 400 answer. */
static int each_id(const api_args *a, const char *name, size_t max,
                   int (*fn)(void *ctx, const char *id), void *ctx) {
    const char *text;
    const json_t *json;
    arg_of(a, name, &text, &json);
    size_t count = 0;
    if (json) {
        if (!json_is_array(json)) {
            api_error(a->r, API_BAD_REQUEST, "bad_parameter", "'%s' must be an array of strings",
                      name);
            return -1;
        }
        size_t i;
        const json_t *v;
        json_array_foreach(json, i, v) {
            if (!json_is_string(v)) {
                api_error(a->r, API_BAD_REQUEST, "bad_parameter", "'%s'[%zu] must be a string",
                          name, i);
                return -1;
            }
            if (++count > max) break;
            if (!id_ok(a->r, name, json_string_length(v)) || fn(ctx, json_string_value(v)))
                return -1;
        }
    }
    char buf[API_MAX_ID + 1];
    for (const char *p = text; p && *p && count <= max;) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            if (++count > max) break;
            if (!id_ok(a->r, name, len)) return -1;
            memcpy(buf, p, len);
            buf[len] = 0;
            if (!api_utf8_valid(buf)) { /* bodies are UTF-8 already (jansson checks) */
                api_error(a->r, API_BAD_REQUEST, "bad_parameter", "'%s': ids must be UTF-8", name);
                return -1;
            }
            if (fn(ctx, buf)) return -1;
        }
        p += len + (p[len] == ',');
    }
    if (count > max) {
        api_error(a->r, API_BAD_REQUEST, "bad_parameter", "'%s' takes at most %zu ids", name, max);
        return -1;
    }
    return 0;
}

typedef struct {
    const mx_model *m;
    api_ids *out;
    json_t *unknown;
} items_ctx;

static int add_item(void *ctx, const char *id) {
    items_ctx *c = ctx;
    int64_t it = model_item(c->m, id);
    if (it >= 0) {
        c->out->ids[c->out->n++] = (uint32_t)it;
        return 0;
    }
    if (!c->unknown) return 0;
    size_t i;
    json_t *v;
    json_array_foreach(c->unknown, i, v) if (!strcmp(json_string_value(v), id)) return 0;
    json_array_append_new(c->unknown, json_string(id));
    return 0;
}

int api_param_items(const api_args *a, const mx_model *m, const char *name, api_ids *out,
                    json_t *unknown) {
    out->n = 0;
    items_ctx c = {m, out, unknown};
    return each_id(a, name, API_MAX_IDS, add_item, &c);
}

typedef struct {
    api_req *r;
    const mx_model *m;
    const char *name;
    uint16_t *cats;
    size_t *n;
} cats_ctx;

static int add_category(void *ctx, const char *name) {
    cats_ctx *c = ctx;
    int64_t id = model_category(c->m, name);
    if (id < 0) {
        api_error(c->r, API_BAD_REQUEST, "unknown_category",
                  "'%s': category '%s' is not in the model", c->name, name);
        return -1;
    }
    c->cats[(*c->n)++] = (uint16_t)id;
    return 0;
}

static int categories_named(const api_args *a, const mx_model *m, const char *name, uint16_t *cats,
                            size_t *n) {
    *n = 0;
    cats_ctx c = {a->r, m, name, cats, n};
    return each_id(a, name, API_MAX_CATEGORIES, add_category, &c);
}

int api_param_categories(const api_args *a, const mx_model *m, uint16_t *cats, size_t *n) {
    return categories_named(a, m, "categories", cats, n);
}

/* Seconds of a duration text "90m" / "7d" / "3600" into *s; NULL, or why
 * not. Digits are bounded before multiplying: no overflow. */
static const char *duration_of(const char *t, int64_t *s) {
    if (*t == '-') return "must not be negative";
    size_t digits = strspn(t, "0123456789");
    if (digits == 0 || (t[digits] && t[digits + 1]) || (t[digits] && !strchr("smhdw", t[digits])))
        return "must be an integer with a unit s, m, h, d or w (e.g. 90m, 7d) or seconds";
    if (digits > 12) return "is above 100 years";
    int64_t v = 0, unit = 1;
    for (size_t i = 0; i < digits; i++)
        v = v * 10 + (t[i] - '0');
    switch (t[digits]) {
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    case 'w':
        unit = 7 * 86400;
        break;
    default:
        break;
    }
    if (v > API_MAX_DURATION_S / unit) return "is above 100 years";
    *s = v * unit;
    return NULL;
}

int api_param_duration(const api_args *a, const char *name, int64_t *s) {
    const char *text;
    const json_t *json;
    arg_of(a, name, &text, &json);
    *s = -1;
    const char *why = NULL;
    if (json && json_is_string(json)) {
        why = duration_of(json_string_value(json), s);
    } else if (json && json_is_number(json)) { /* seconds: whole ones */
        double v = json_number_value(json);
        if (v < 0)
            why = "must not be negative";
        else if (v > (double)API_MAX_DURATION_S)
            why = "is above 100 years";
        else if (v != (double)(int64_t)v)
            why = "must be a whole number of seconds";
        else
            *s = (int64_t)v;
    } else if (json) {
        why = "must be a string like \"7d\" or a number of seconds";
    } else if (text) {
        why = duration_of(text, s);
    }
    if (!why) return 0;
    *s = -1;
    api_error(a->r, API_BAD_REQUEST, "bad_parameter", "'%s' %s", name, why);
    return -1;
}

int api_param_filters(const api_args *a, const mx_model *m, api_filters *f) {
    int64_t lo, hi;
    if (categories_named(a, m, "categories", f->cats, &f->n_cats) ||
        categories_named(a, m, "exclude_categories", f->not_cats, &f->n_not_cats) ||
        api_param_duration(a, "min_age", &lo) || api_param_duration(a, "max_age", &hi))
        return -1;
    for (size_t i = 0; i < f->n_cats; i++)
        for (size_t j = 0; j < f->n_not_cats; j++)
            if (f->cats[i] == f->not_cats[j]) {
                api_error(a->r, API_BAD_REQUEST, "bad_parameter",
                          "'exclude_categories': category '%s' is also in 'categories'",
                          m->cat_names[f->cats[i]]);
                return -1;
            }
    if (hi == 0) { /* 0 is "no bound" below: an empty window must not read as none */
        api_error(a->r, API_BAD_REQUEST, "bad_parameter",
                  "'max_age' must be at least 1s (0 admits no item)");
        return -1;
    }
    if (lo >= 0 && hi > 0 && lo > hi) {
        api_error(a->r, API_BAD_REQUEST, "bad_parameter",
                  "'min_age' (%lld s) is above 'max_age' (%lld s)", (long long)lo, (long long)hi);
        return -1;
    }
    f->min_age_s = lo > 0 ? lo : 0;
    f->max_age_s = hi > 0 ? hi : 0;
    return 0;
}

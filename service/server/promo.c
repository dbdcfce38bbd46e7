/* promo.c - parsing and checking promotions; see promo.h. */
#include "promo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jfield.h"

struct promo_list {
    json_t *json; /* a private deep copy: the strings below point into it */
    size_t n;
    promo *p;
    const char **ids; /* every items promotion's ids, back to back */
};

/* Shares are decimal text: 0.7 + 0.2 + 0.1 is 1.0000000000000002 in
 * binary, and must pass. */
#define SHARE_EPS 1e-9

/* A time field: absent (def), or an integer in 0..PROMO_MAX_TIME. */
static int time_of(const json_t *o, const char *key, const char *at, int64_t def, int64_t *out,
                   char *field, size_t fsz, mx_err *err) {
    const json_t *v = json_object_get(o, key);
    *out = def;
    if (!v) return 0;
    char f[PROMO_FIELD_MAX];
    jfield_at(f, at, ".%s", key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > PROMO_MAX_TIME)
        return jfield_fail(field, fsz, f, err, "%s must be an integer in 0..%lld (unix seconds)",
                           key, PROMO_MAX_TIME);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* An id: a non-empty string of at most PROMO_MAX_ID bytes. */
static const char *id_of(const json_t *v) {
    return json_is_string(v) && json_string_length(v) > 0 &&
                   json_string_length(v) <= PROMO_MAX_ID &&
                   strlen(json_string_value(v)) == json_string_length(v)
               ? json_string_value(v)
               : NULL;
}

/* Checks and fills promotion p from object o (named at, e.g.
 * "promotions[1]"); ids takes its item ids. */
static int parse_one(const json_t *o, const char *at, int max_k, promo *p, const char **ids,
                     char *field, size_t fsz, mx_err *err) {
    static const char *const keys[] = {"name",     "items", "category", "share",
                                       "position", "start", "end"};
    char f[PROMO_FIELD_MAX];
    if (!json_is_object(o))
        return jfield_fail(field, fsz, at, err, "a promotion must be an object");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int known = 0;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            known |= !strcmp(key, keys[i]);
        if (!known) {
            jfield_at(f, at, ".%.32s", key);
            return jfield_fail(field, fsz, f, err,
                               "unknown field; a promotion takes name, items or category, share or "
                               "position, start, end");
        }
    }
    jfield_at(f, at, ".name");
    if (!json_object_get(o, "name"))
        return jfield_fail(field, fsz, f, err, "a promotion needs a name");
    int rc = jfield_name(o, at, PROMO_MAX_NAME, &p->name, field, fsz, err);
    if (rc) return rc;
    const json_t *items = json_object_get(o, "items"), *cat = json_object_get(o, "category");
    if (!items == !cat)
        return jfield_fail(field, fsz, at, err, "give either items or category (%s)",
                           items ? "not both" : "neither is here");
    if (items) {
        jfield_at(f, at, ".items");
        if (!json_is_array(items) || json_array_size(items) == 0 ||
            json_array_size(items) > PROMO_MAX_ITEMS)
            return jfield_fail(field, fsz, f, err, "items must be an array of 1..%d item ids",
                               PROMO_MAX_ITEMS);
        size_t i;
        json_array_foreach(items, i, v) {
            if (!(ids[i] = id_of(v))) {
                jfield_at(f, at, ".items[%zu]", i);
                return jfield_fail(field, fsz, f, err, "an item id is a string of 1..%d bytes",
                                   PROMO_MAX_ID);
            }
        }
        p->items = ids;
        p->n_items = json_array_size(items);
    } else {
        jfield_at(f, at, ".category");
        if (!(p->category = id_of(cat)))
            return jfield_fail(field, fsz, f, err, "a category is a string of 1..%d bytes",
                               PROMO_MAX_ID);
    }
    const json_t *share = json_object_get(o, "share"), *pos = json_object_get(o, "position");
    if (!share == !pos)
        return jfield_fail(field, fsz, at, err, "give either share or position (%s)",
                           share ? "not both" : "neither is here");
    p->position = -1;
    if (share) {
        jfield_at(f, at, ".share");
        double s = json_is_number(share) ? json_number_value(share) : -1;
        if (!(s > 0 && s <= 1)) return jfield_fail(field, fsz, f, err, "share must be in (0, 1]");
        p->share = s;
    } else {
        jfield_at(f, at, ".position");
        if (!json_is_integer(pos) || json_integer_value(pos) < 0 ||
            json_integer_value(pos) >= max_k)
            return jfield_fail(field, fsz, f, err,
                               "position must be an integer in 0..%d (0-based, below limits.max_k)",
                               max_k - 1);
        p->position = (int)json_integer_value(pos);
    }
    if (time_of(o, "start", at, 0, &p->start, field, fsz, err) ||
        time_of(o, "end", at, PROMO_MAX_TIME + 1, &p->end, field, fsz, err))
        return MX_EINVAL;
    if (p->start >= p->end) {
        jfield_at(f, at, ".end");
        return jfield_fail(field, fsz, f, err, "end must be after start (%lld <= %lld)",
                           (long long)p->end, (long long)p->start);
    }
    return 0;
}

/* Names unique, shares summing to at most 1, positions distinct over
 * a then b; errors name b's fields (what[i]) when b is not empty, else
 * a's. */
static int check_set(const promo_list *a, const promo_list *b, const char *what, char *field,
                     size_t fsz, mx_err *err) {
    size_t na = a ? a->n : 0, nb = b ? b->n : 0, n = na + nb;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const promo *p = i < na ? &a->p[i] : &b->p[i - na];
        total += p->share;
    }
    double sum = 0;
    char f[PROMO_FIELD_MAX];
    const char *also = a && b ? " (with the promotions already in force)" : "";
    for (size_t i = 0; i < n; i++) {
        const promo *p = i < na ? &a->p[i] : &b->p[i - na];
        size_t idx = b && i >= na ? i - na : i;
        int blame = !b || i >= na; /* a (the settings) passed on its own */
        sum += p->share;
        for (size_t j = 0; j < i && blame; j++) {
            const promo *q = j < na ? &a->p[j] : &b->p[j - na];
            if (!strcmp(p->name, q->name)) {
                snprintf(f, sizeof(f), "%s[%zu].name", what, idx);
                return jfield_fail(field, fsz, f, err, "duplicate name '%s'%s", p->name,
                                   j < na && b ? " (a promotion of the settings has it)" : "");
            }
            if (p->position >= 0 && p->position == q->position) {
                snprintf(f, sizeof(f), "%s[%zu].position", what, idx);
                return jfield_fail(field, fsz, f, err, "position %d is taken by promotion '%s'",
                                   p->position, q->name);
            }
        }
        if (blame && p->share > 0 && sum > 1 + SHARE_EPS) {
            snprintf(f, sizeof(f), "%s[%zu].share", what, idx);
            return jfield_fail(field, fsz, f, err,
                               "the shares sum to %g, over 100%% of the slots%s", total, also);
        }
    }
    return 0;
}

promo_list *promo_list_empty(void) {
    promo_list *l = calloc(1, sizeof(*l));
    if (l && !(l->json = json_array())) {
        free(l);
        return NULL;
    }
    return l;
}

void promo_list_free(promo_list *l) {
    if (!l) return;
    json_decref(l->json);
    free(l->p);
    free(l->ids);
    free(l);
}

int promo_parse(const json_t *arr, const char *what, int max_k, promo_list **out, char *field,
                size_t field_size, mx_err *err) {
    *out = NULL;
    if (field && field_size) field[0] = 0;
    if (!json_is_array(arr))
        return jfield_fail(field, field_size, what, err, "promotions are a JSON array of objects");
    if (json_array_size(arr) > PROMO_MAX)
        return jfield_fail(field, field_size, what, err, "at most %d promotions", PROMO_MAX);
    promo_list *l = calloc(1, sizeof(*l));
    if (!l) return mx_err_set(err, MX_ENOMEM, "out of memory for promotions");
    l->json = json_deep_copy(arr);
    l->n = json_array_size(arr);
    size_t n_ids = 0, i;
    const json_t *o;
    json_array_foreach(l->json, i, o) {
        const json_t *items = json_object_get(o, "items");
        if (json_is_array(items)) n_ids += json_array_size(items);
    }
    l->p = calloc(l->n ? l->n : 1, sizeof(promo));
    l->ids = calloc(n_ids ? n_ids : 1, sizeof(char *));
    if (!l->json || !l->p || !l->ids) {
        promo_list_free(l);
        return mx_err_set(err, MX_ENOMEM, "out of memory for promotions");
    }
    size_t used = 0;
    json_array_foreach(l->json, i, o) {
        char at[PROMO_FIELD_MAX];
        snprintf(at, sizeof(at), "%s[%zu]", what, i);
        int rc = parse_one(o, at, max_k, &l->p[i], l->ids + used, field, field_size, err);
        if (rc) {
            promo_list_free(l);
            return rc;
        }
        used += l->p[i].n_items;
    }
    int rc = check_set(l, NULL, what, field, field_size, err);
    if (rc) {
        promo_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int promo_parse_text(const char *text, const char *what, int max_k, promo_list **out, char *field,
                     size_t field_size, mx_err *err) {
    *out = NULL;
    json_t *arr;
    int rc = jfield_load_list(text, what, &arr, field, field_size, err);
    if (rc) return rc;
    rc = promo_parse(arr, what, max_k, out, field, field_size, err);
    json_decref(arr);
    return rc;
}

size_t promo_count(const promo_list *l) {
    return l ? l->n : 0;
}

const promo *promo_at(const promo_list *l, size_t i) {
    return &l->p[i];
}

int promo_active(const promo *p, int64_t t) {
    return p->start <= t && t < p->end;
}

size_t promo_active_at(const promo_list *l, int64_t t, const promo **out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; l && i < l->n; i++)
        if (promo_active(&l->p[i], t)) {
            if (n < cap) out[n] = &l->p[i];
            n++;
        }
    return n;
}

int promo_check_union(const promo_list *base, const promo_list *add, const char *what, char *field,
                      size_t field_size, mx_err *err) {
    if (field && field_size) field[0] = 0;
    static const promo_list none = {0};
    return check_set(base ? base : &none, add ? add : &none, what, field, field_size, err);
}

json_t *promo_json(const promo_list *l, size_t i) {
    return json_deep_copy(json_array_get(l->json, i));
}

json_t *promo_list_json(const promo_list *l) {
    return l ? json_deep_copy(l->json) : json_array();
}

/* settings.c - see settings.h. */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Internal flag: a row's own default, applied without the bounds check
 * (data.min_value's default is -inf, outside what a user may write). */
#define SETTINGS__DEFAULT 0x100

const settings_section settings_sections[] = {
    /* build: bconfig.c */
    {"embed", SETTINGS_BUILD, NULL},
    {"interests", SETTINGS_BUILD, NULL},
    {"mixture", SETTINGS_BUILD, NULL},
    {"retrieval", SETTINGS_BUILD, NULL},
    {"popularity", SETTINGS_BUILD, NULL},
    {"data", SETTINGS_BUILD, NULL},
    {"rank_train", SETTINGS_BUILD, NULL},
    {"eval", SETTINGS_BUILD, NULL},
    /* serve: srv_config.c */
    {"server", SETTINGS_SERVE, NULL},
    {"redis", SETTINGS_SERVE, NULL},
    {"limits", SETTINGS_SERVE, NULL},
    {"cors", SETTINGS_SERVE, NULL},
    {"auth", SETTINGS_SERVE, NULL},
    {"log", SETTINGS_SERVE, NULL},
    {"session", SETTINGS_SERVE, NULL},
    {"catalog", SETTINGS_SERVE, NULL},
    {"pages", SETTINGS_SERVE, NULL},
    /* both: the type weights of session events and of an imported log */
    {"events", SETTINGS_BUILD | SETTINGS_SERVE, NULL},
    {"ranking", SETTINGS_SERVE, NULL},
    {"experiments", SETTINGS_SERVE, NULL},
    {"explore", SETTINGS_SERVE, NULL},
    {"testing", SETTINGS_SERVE, NULL},
    {"tenants", SETTINGS_SERVE, NULL},
    /* renamed: the build's "ranker" sat next to the service's "ranking" */
    {"ranker", 0, "rank_train"},
    {NULL, 0, NULL},
};

const settings_row *settings_find(const settings_table *t, const char *name) {
    for (size_t i = 0; i < t->n_rows; i++)
        if (strcmp(t->rows[i].name, name) == 0) return &t->rows[i];
    return NULL;
}

/* The section of name ("embed" of "embed.dim", len bytes long), or NULL. */
static const settings_section *section_of(const char *name, size_t len) {
    for (const settings_section *s = settings_sections; s->name; s++)
        if (strlen(s->name) == len && strncmp(s->name, name, len) == 0) return s;
    return NULL;
}

/* ---- one value --------------------------------------------------------- */

static int is_integer_type(settings_type t) {
    return t == SETTINGS_INT || t == SETTINGS_SIZE || t == SETTINGS_U64;
}

static void store_int(void *p, size_t size, long long v) {
    if (size == sizeof(int))
        *(int *)p = (int)v;
    else
        *(size_t *)p = (size_t)v;
}

static long long load_int(const void *p, size_t size) {
    return size == sizeof(int) ? *(const int *)p : (long long)*(const size_t *)p;
}

static int parse_number(const settings_row *r, const char *text, unsigned flags, double *out,
                        mx_err *err) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    int trusted = (flags & SETTINGS__DEFAULT) != 0;
    if (errno || end == text || *end || (!trusted && !isfinite(v)))
        return mx_err_set(err, MX_EINVAL, "%s: '%s' is not a number", r->name, text);
    if (!trusted && (v < r->min || v > r->max))
        return mx_err_set(err, MX_EINVAL, "%s: %s is out of range [%g, %g]", r->name, text, r->min,
                          r->max);
    if (is_integer_type(r->type) && v != floor(v))
        return mx_err_set(err, MX_EINVAL, "%s: '%s' is not an integer", r->name, text);
    *out = v;
    return 0;
}

static void enum_names(const settings_row *r, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; r->names[i] && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", r->names[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

static int parse_enum(const settings_row *r, const char *text, unsigned flags, size_t *out,
                      mx_err *err) {
    size_t n = 0;
    for (; r->names[n]; n++)
        if (strcmp(r->names[n], text) == 0) {
            *out = n;
            return 0;
        }
    char names[256], *end;
    enum_names(r, names, sizeof(names));
    errno = 0;
    long long v = strtoll(text, &end, 10);
    int number = end != text && !*end && !errno;
    if (number && v >= 0 && (size_t)v < n) {
        if (flags & SETTINGS_RESTORE) { /* what builds before the names wrote */
            *out = (size_t)v;
            return 0;
        }
        return mx_err_set(err, MX_EINVAL, "%s: write \"%s\" instead of the number %s (one of: %s)",
                          r->name, r->names[v], text, names);
    }
    return mx_err_set(err, MX_EINVAL, "%s: unknown value '%s' (one of: %s)", r->name, text, names);
}

/* Parses text into the field of row r in obj; obj is unchanged on error. */
static int apply(const settings_row *r, void *obj, const char *text, unsigned flags, mx_err *err) {
    char *p = (char *)obj + r->offset;
    double v = 0;
    size_t e = 0;
    switch (r->type) {
    case SETTINGS_HOOK:
        return r->set(obj, r, text, err);
    case SETTINGS_STR: {
        size_t n = strlen(text);
        if (n >= r->size)
            return mx_err_set(err, MX_EINVAL, "%s: value is too long (%zu bytes, at most %zu)",
                              r->name, n, r->size - 1);
        memcpy(p, text, n + 1);
        return 0;
    }
    case SETTINGS_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "1"))
            *(int *)p = 1;
        else if (!strcmp(text, "false") || !strcmp(text, "0"))
            *(int *)p = 0;
        else
            return mx_err_set(err, MX_EINVAL, "%s: expected true or false, got '%s'", r->name,
                              text);
        return 0;
    case SETTINGS_ENUM:
        if (parse_enum(r, text, flags, &e, err)) return MX_EINVAL;
        store_int(p, r->size, (long long)e);
        return 0;
    default:
        break;
    }
    if (parse_number(r, text, flags, &v, err)) return MX_EINVAL;
    switch (r->type) {
    case SETTINGS_INT:
        *(int *)p = (int)v;
        break;
    case SETTINGS_SIZE:
        *(size_t *)p = (size_t)v;
        break;
    case SETTINGS_U64:
        *(uint64_t *)p = (uint64_t)v;
        break;
    case SETTINGS_FLOAT:
        *(float *)p = (float)v;
        break;
    default:
        *(double *)p = v;
        break;
    }
    return 0;
}

void settings_init(const settings_table *t, void *obj) {
    for (size_t i = 0; i < t->n_rows; i++)
        apply(&t->rows[i], obj, t->rows[i].def, SETTINGS__DEFAULT, NULL); /* tests: all valid */
}

/* The row of name in t. Errors say why there is none: unknown, renamed (in
 * RESTORE mode the new name is looked up instead) or another table's. */
static const settings_row *resolve(const settings_table *t, const char *name, unsigned flags,
                                   mx_err *err) {
    const settings_row *r = settings_find(t, name);
    if (r) return r;
    const char *dot = strchr(name, '.');
    const settings_section *s = dot ? section_of(name, (size_t)(dot - name)) : NULL;
    if (s && s->renamed_to) {
        char now[128];
        snprintf(now, sizeof(now), "%s%s", s->renamed_to, dot);
        if ((flags & SETTINGS_RESTORE) && (r = settings_find(t, now))) return r;
        mx_err_set(err, MX_EINVAL, "%s was renamed to %s", name, now);
    } else if (s && !(s->applies & t->applies)) {
        mx_err_set(err, MX_EINVAL, "'%s' is a %s setting, not one of mixrec %s", name,
                   s->applies & SETTINGS_SERVE ? "serve" : "build",
                   t->applies & SETTINGS_SERVE ? "serve" : "build/eval");
    } else {
        mx_err_set(err, MX_EINVAL, "unknown setting '%s' (see --help)", name);
    }
    return NULL;
}

int settings_set(const settings_table *t, void *obj, const char *name, const char *value,
                 unsigned flags, mx_err *err) {
    const settings_row *r = resolve(t, name, flags, err);
    if (!r) return MX_EINVAL;
    return apply(r, obj, value, flags, err);
}

/* ---- the config file --------------------------------------------------- */

/* A JSON value as the text settings_set takes (arrays of strings: joined
 * with commas; arrays of objects, e.g. catalog.promotions: their JSON
 * text). -1 if it has none. */
static int json_text(const json_t *v, char *out, size_t size) {
    int w = -1;
    if (json_is_array(v) && json_is_object(json_array_get(v, 0))) {
        size_t need = json_dumpb(v, NULL, 0, JSON_COMPACT);
        if (need == 0 || need >= size) return -1;
        json_dumpb(v, out, size, JSON_COMPACT);
        out[need] = 0;
        return 0;
    }
    if (json_is_string(v))
        w = snprintf(out, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        w = snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        w = snprintf(out, size, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        w = snprintf(out, size, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_array(v)) {
        size_t len = 0, i;
        json_t *x;
        out[0] = 0;
        json_array_foreach(v, i, x) {
            const char *s = json_string_value(x);
            if (!s || strchr(s, ',')) return -1;
            w = snprintf(out + len, size - len, "%s%s", i ? "," : "", s);
            if (w < 0 || (size_t)w >= size - len) return -1;
            len += (size_t)w;
        }
        return 0;
    }
    return w < 0 || (size_t)w >= size ? -1 : 0;
}

/* The keys of section sec (its name in the file; resolve maps a renamed
 * one). In RESTORE mode what cannot be read is passed over, never an end:
 * one bad value must not cost the others. */
static int load_section(const settings_table *t, void *obj, const json_t *sv, const char *sec,
                        const char *where, unsigned flags, mx_err *err) {
    const char *key;
    json_t *v;
    int restore = (flags & SETTINGS_RESTORE) != 0;
    if (!json_is_object(sv))
        return restore
                   ? 0
                   : mx_err_set(err, MX_EFORMAT, "%s: section '%s' must be an object", where, sec);
    json_object_foreach((json_t *)sv, key, v) {
        if (key[0] == '_') continue; /* "_comment" keys carry comments */
        char name[128], text[32768]; /* catalog.promotions: up to 32 KiB of JSON */
        snprintf(name, sizeof(name), "%s.%s", sec, key);
        const settings_row *r = resolve(t, name, flags, err);
        if (!r && restore) continue; /* a newer build's setting */
        if (!r) {
            mx_err_prefix(err, "%s", where);
            return MX_EINVAL;
        }
        if (json_text(v, text, sizeof(text))) {
            if (restore) continue; /* null: an infinity */
            return mx_err_set(err, MX_EINVAL,
                              "%s: '%s' must be a string, a number, true, false or a list of "
                              "strings",
                              where, name);
        }
        if (apply(r, obj, text, flags, err) && !restore) {
            mx_err_prefix(err, "%s", where);
            return MX_EINVAL;
        }
    }
    return 0;
}

int settings_load_json(const settings_table *t, void *obj, const void *json, const char *where,
                       unsigned flags, mx_err *err) {
    const json_t *root = json;
    const char *sec;
    json_t *sv;
    if (!json_is_object(root))
        return mx_err_set(err, MX_EFORMAT, "%s: the configuration must be a JSON object", where);
    json_object_foreach((json_t *)root, sec, sv) {
        if (sec[0] == '_') continue;
        const settings_section *s = section_of(sec, strlen(sec));
        if (!s) {
            if (flags & SETTINGS_RESTORE) continue;
            return mx_err_set(err, MX_EINVAL, "%s: unknown section '%s'", where, sec);
        }
        if (!s->renamed_to && !(s->applies & t->applies)) continue; /* the other table's */
        int rc = load_section(t, obj, sv, sec, where, flags, err);
        if (rc) return rc;
    }
    return 0;
}

int settings_load_file(const settings_table *t, void *obj, const char *path, mx_err *err) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        if (json_error_code(&je) == json_error_cannot_open_file)
            return mx_err_set(err, MX_EIO, "%s", je.text); /* "unable to open PATH: why" */
        return mx_err_set(err, MX_EFORMAT, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    }
    int rc = settings_load_json(t, obj, root, path, 0, err);
    json_decref(root);
    return rc;
}

/* ---- the environment --------------------------------------------------- */

/* The row var (MIXREC_SECTION_KEY or a short form) names, or NULL. */
static const settings_row *env_row(const settings_table *t, const char *var) {
    for (size_t a = 0; t->aliases && t->aliases[a][0]; a++)
        if (strcmp(var, t->aliases[a][0]) == 0) return settings_find(t, t->aliases[a][1]);
    if (strncmp(var, "MIXREC_", 7) != 0) return NULL;
    for (size_t i = 0; i < t->n_rows; i++) {
        const char *n = t->rows[i].name, *v = var + 7;
        for (; *n && *v; n++, v++)
            if ((*n == '.' ? '_' : toupper((unsigned char)*n)) != *v) break;
        if (!*n && !*v) return &t->rows[i];
    }
    return NULL;
}

int settings_load_env(const settings_table *t, void *obj, char **envp, mx_err *err) {
    for (char **e = envp; e && *e; e++) {
        if (strncmp(*e, "MIXREC_", 7) != 0) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        char var[128];
        size_t vl = (size_t)(eq - *e);
        if (vl >= sizeof(var)) return mx_err_set(err, MX_EINVAL, "environment: name too long");
        memcpy(var, *e, vl);
        var[vl] = 0;
        const settings_row *r = env_row(t, var);
        if (!r) return mx_err_set(err, MX_EINVAL, "environment: %s names no setting", var);
        if (apply(r, obj, eq + 1, 0, err)) {
            mx_err_prefix(err, "environment %s", var);
            return MX_EINVAL;
        }
    }
    return 0;
}

/* ---- output ------------------------------------------------------------ */

void settings_format(const settings_row *r, const void *obj, char *buf, size_t len) {
    const char *p = (const char *)obj + r->offset;
    double v = 0;
    switch (r->type) {
    case SETTINGS_INT:
        snprintf(buf, len, "%d", *(const int *)p);
        return;
    case SETTINGS_SIZE:
        snprintf(buf, len, "%zu", *(const size_t *)p);
        return;
    case SETTINGS_U64:
        snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)p);
        return;
    case SETTINGS_BOOL:
        snprintf(buf, len, "%s", *(const int *)p ? "true" : "false");
        return;
    case SETTINGS_ENUM: {
        long long e = load_int(p, r->size), n = 0;
        while (r->names[n])
            n++;
        snprintf(buf, len, "%s", e >= 0 && e < n ? r->names[e] : "?");
        return;
    }
    case SETTINGS_STR:
        snprintf(buf, len, "%s", p);
        return;
    case SETTINGS_HOOK:
        snprintf(buf, len, "%s", r->def);
        return;
    case SETTINGS_FLOAT:
        v = *(const float *)p;
        break;
    case SETTINGS_DOUBLE:
        v = *(const double *)p;
        break;
    }
    if (isinf(v))
        snprintf(buf, len, "%s", v < 0 ? "-inf" : "inf");
    else
        snprintf(buf, len, "%g", v);
}

static json_t *row_json(const settings_row *r, const void *obj) {
    const char *p = (const char *)obj + r->offset;
    char text[4096];
    switch (r->type) {
    case SETTINGS_INT:
        return json_integer(*(const int *)p);
    case SETTINGS_SIZE:
    case SETTINGS_U64: {
        uint64_t u = r->type == SETTINGS_SIZE ? *(const size_t *)p : *(const uint64_t *)p;
        /* a u64 beyond json_int_t (signed 64-bit) as a real */
        return u < (UINT64_C(1) << 63) ? json_integer((json_int_t)u) : json_real((double)u);
    }
    case SETTINGS_BOOL:
        return json_boolean(*(const int *)p);
    case SETTINGS_FLOAT:
    case SETTINGS_DOUBLE: {
        double v = r->type == SETTINGS_FLOAT ? *(const float *)p : *(const double *)p;
        return isfinite(v) ? json_real(v) : json_null(); /* JSON has no infinity */
    }
    default:
        settings_format(r, obj, text, sizeof(text));
        return json_string(text);
    }
}

void *settings_to_json(const settings_table *t, const void *obj) {
    json_t *root = json_object();
    for (size_t i = 0; root && i < t->n_rows; i++) {
        const settings_row *r = &t->rows[i];
        const char *dot = strchr(r->name, '.');
        char sec[64];
        snprintf(sec, sizeof(sec), "%.*s", (int)(dot - r->name), r->name);
        json_t *s = json_object_get(root, sec);
        if (!s) {
            s = json_object();
            json_object_set_new(root, sec, s);
        }
        json_object_set_new(s, dot + 1, row_json(r, obj));
    }
    return root;
}

void settings_help(const settings_table *t, FILE *f) {
    for (size_t i = 0; i < t->n_rows; i++) {
        const settings_row *r = &t->rows[i];
        char names[256] = "";
        if (r->type == SETTINGS_ENUM) {
            char list[240];
            enum_names(r, list, sizeof(list));
            snprintf(names, sizeof(names), " (one of: %s)", list);
        }
        fprintf(f, "  %-28s %-10s %s%s\n", r->name, r->def[0] ? r->def : "\"\"", r->help, names);
    }
}

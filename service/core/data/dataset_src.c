/* dataset_src.c - records of a log or metadata file, whatever its layout:
 * which column (or JSON key) holds which role (from a header line, the
 * first JSON object or a list of names for a header-less file), then each
 * record's values by role. The readers (dataset_read.c) see only roles and
 * values; the text layer is dataset_text.c. JSON lines are parsed with
 * jansson, one object per line. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "dataset_internal.h"

/* ================================================================== */
/* Names                                                              */
/* ================================================================== */

/* Header names compare without case and without '_', '-', '.' or spaces,
 * so user_id, userId, "User ID" and userid are one name. */
static size_t norm(const char *s, char *out, size_t cap) {
    size_t n = 0;
    for (; *s && n + 1 < cap; s++)
        if (*s != '_' && *s != '-' && *s != '.' && *s != ' ')
            out[n++] = (char)tolower((unsigned char)*s);
    out[n] = '\0';
    return n;
}

static int same_name(const char *a, const char *b) {
    char x[64], y[64];
    norm(a, x, sizeof(x));
    norm(b, y, sizeof(y));
    return strcmp(x, y) == 0;
}

/* Role r's usual names, "a, b or c", for messages. */
static void usual_list(const ds_role *r, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; r->usual[i] && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i == 0            ? ""
                                 : r->usual[i + 1] ? ", "
                                                   : " or ",
                                 r->usual[i]);
}

static int is_off(const char *name) {
    return name && (!strcmp(name, "-") || !*name);
}

/* ================================================================== */
/* Opening and mapping                                                */
/* ================================================================== */

int ds__src_open(ds_src *s, const char *path, ds_format fmt, char sep, ds_fields *fs, uint64_t *fnv,
                 size_t *blank, mx_err *err) {
    memset(s, 0, sizeof(*s));
    s->path = path;
    s->fs = fs;
    s->list_sep = '|';
    int rc = ds__read_file(&s->t, path, fnv, err);
    if (rc < 0) return rc;
    while (ds__next_line(&s->t, &s->line, &s->len)) {
        if (ds__blank(s->line, s->len)) {
            (*blank)++;
            continue;
        }
        s->pending = 1;
        s->lay = ds__detect(s->line, s->len, fmt, sep);
        return 1;
    }
    return 0;
}

void ds__src_close(ds_src *s) {
    free(s->t.buf);
    free(s->sb);
    json_decref(s->json);
    memset(s, 0, sizeof(*s));
}

static void set_col(ds_src *s, int r, int idx, const char *name) {
    s->idx[r] = idx;
    snprintf(s->name[r], sizeof(s->name[r]), "%s", name);
}

/* A header-less file: names in order, "-" or "_" for a column to skip. */
static int map_list(ds_src *s, const char *columns, mx_err *err) {
    const char *p = columns;
    for (int col = 0;; col++) {
        size_t n = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(n < 63 ? n : 63), p);
        char *b = name, *e = name + strlen(name);
        while (*b == ' ')
            b++;
        while (e > b && e[-1] == ' ')
            *--e = '\0';
        if (*b && strcmp(b, "-") && strcmp(b, "_")) {
            int found = -1;
            for (int r = 0; r < s->n_roles && found < 0; r++) {
                if (same_name(b, s->roles[r].name)) found = r;
                for (size_t i = 0; found < 0 && s->roles[r].usual[i]; i++)
                    if (same_name(b, s->roles[r].usual[i])) found = r;
            }
            if (found < 0 || s->idx[found] >= 0) {
                char names[160] = "";
                for (int r = 0, used = 0; r < s->n_roles; r++)
                    used += snprintf(names + used, sizeof(names) - (size_t)used, "%s, ",
                                     s->roles[r].name);
                return mx_err_set(
                    err, MX_EINVAL, "%s: columns '%s': %s '%s' (expected %sor - to skip a column)",
                    s->path, columns, found < 0 ? "unknown name" : "named twice:", b, names);
            }
            set_col(s, found, col, b);
        }
        if (!p[n]) break;
        p += n + 1;
    }
    for (int r = 0; r < s->n_roles; r++)
        if (s->roles[r].required && s->idx[r] < 0)
            return mx_err_set(err, MX_EINVAL, "%s: columns '%s' name no %s column", s->path,
                              columns, s->roles[r].name);
    return 0;
}

/* The header line: role r is the column named named[r] exactly, else the
 * first of its usual names found. */
static int map_header(ds_src *s, const char *const *named, mx_err *err) {
    const char *why = NULL;
    size_t col;
    ds_fields *fs = s->fs;
    if (ds__split(s->line, s->len, &s->lay, fs, &why, &col) < 0)
        return mx_err_set(err, MX_EFORMAT, "%s:%zu: column %zu: %s in the header", s->path,
                          s->t.lineno, col, why);
    char hdr[200] = "";
    for (size_t i = 0, used = 0; i < fs->n && used < sizeof(hdr); i++)
        used += (size_t)snprintf(hdr + used, sizeof(hdr) - used, "%s%s", i ? "," : "", fs->f[i].p);
    for (int r = 0; r < s->n_roles; r++) {
        const ds_role *ro = &s->roles[r];
        if (is_off(named[r]) && !ro->required) continue; /* "-": no such column */
        for (size_t i = 0; named[r] && i < fs->n && s->idx[r] < 0; i++)
            if (strcmp(fs->f[i].p, named[r]) == 0) set_col(s, r, (int)i, fs->f[i].p);
        for (size_t u = 0; !named[r] && ro->usual[u] && s->idx[r] < 0; u++)
            for (size_t i = 0; i < fs->n && s->idx[r] < 0; i++)
                if (same_name(fs->f[i].p, ro->usual[u])) set_col(s, r, (int)i, fs->f[i].p);
        if (s->idx[r] >= 0 || (!named[r] && !ro->required)) continue;
        if (named[r])
            return mx_err_set(err, MX_EFORMAT, "%s:%zu: missing column '%s' (header: %s)", s->path,
                              s->t.lineno, named[r], hdr);
        char usual[160];
        usual_list(ro, usual, sizeof(usual));
        return mx_err_set(err, MX_EFORMAT,
                          "%s:%zu: missing column '%s': expected a header name %s (header: %s); "
                          "a file without a header line needs its columns named in order (%s)",
                          s->path, s->t.lineno, ro->name, usual, hdr,
                          s->columns_opt ? s->columns_opt : "--columns");
    }
    s->header = 1;
    s->pending = 0;
    return 0;
}

static int json_parse(ds_src *s, mx_err *err) {
    json_error_t je;
    json_decref(s->json);
    s->json = json_loadb(s->line, s->len, 0, &je);
    if (!s->json)
        return mx_err_set(err, MX_EFORMAT, "%s:%zu: column %d: expected a JSON object: %s", s->path,
                          s->t.lineno, je.column, je.text);
    if (!json_is_object((json_t *)s->json))
        return mx_err_set(err, MX_EFORMAT, "%s:%zu: column 1: expected a JSON object {...}, got %s",
                          s->path, s->t.lineno,
                          json_is_array((json_t *)s->json) ? "an array" : "a scalar");
    return 0;
}

/* The first JSON object: role r is the key named[r], else the first key
 * that is one of its usual names. */
static int map_json(ds_src *s, const char *const *named, mx_err *err) {
    int rc = json_parse(s, err);
    if (rc < 0) return rc;
    json_t *obj = s->json;
    char keys[200] = "";
    size_t used = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (used < sizeof(keys))
            used += (size_t)snprintf(keys + used, sizeof(keys) - used, "%s%s", used ? ", " : "", k);
    }
    for (int r = 0; r < s->n_roles; r++) {
        const ds_role *ro = &s->roles[r];
        if (is_off(named[r]) && !ro->required) continue; /* "-": no such column */
        if (named[r] && json_object_get(obj, named[r])) set_col(s, r, 0, named[r]);
        for (size_t u = 0; !named[r] && ro->usual[u] && s->idx[r] < 0; u++) {
            json_object_foreach(obj, k, v) {
                if (s->idx[r] < 0 && same_name(k, ro->usual[u])) set_col(s, r, 0, k);
            }
        }
        if (s->idx[r] >= 0 || (!named[r] && !ro->required)) continue;
        char usual[160];
        usual_list(ro, usual, sizeof(usual));
        return mx_err_set(err, MX_EFORMAT, "%s:%zu: no %s field: expected a key %s (keys: %s)",
                          s->path, s->t.lineno, ro->name, named[r] ? named[r] : usual, keys);
    }
    return 0;
}

int ds__src_map(ds_src *s, const ds_role *roles, int n_roles, const char *const *named,
                const char *columns, mx_err *err) {
    s->roles = roles;
    s->n_roles = n_roles;
    for (int r = 0; r < DS_MAX_ROLES; r++)
        s->idx[r] = -1;
    int rc;
    if (s->lay.fmt == DS_FMT_JSONL) {
        if (columns)
            return mx_err_set(err, MX_EINVAL,
                              "%s: a JSON lines file names its fields: columns '%s' do not apply",
                              s->path, columns);
        rc = map_json(s, named, err);
    } else {
        rc = columns ? map_list(s, columns, err) : map_header(s, named, err);
    }
    if (rc < 0) return rc;
    for (int r = 0; r < n_roles; r++)
        if (s->idx[r] >= 0 && !roles[r].is_list && (size_t)s->idx[r] + 1 > s->need)
            s->need = (size_t)s->idx[r] + 1;
    return 0;
}

/* ================================================================== */
/* Records                                                            */
/* ================================================================== */

static int sb_add(ds_src *s, const char *p, size_t n) {
    if (buf_reserve((void **)&s->sb, &s->sb_cap, s->sb_n + n + 1, 1)) return MX_ENOMEM;
    memcpy(s->sb + s->sb_n, p, n);
    s->sb_n += n;
    s->sb[s->sb_n] = '\0';
    return 0;
}

/* Appends the text of a JSON value: a string as it is, a number as JSON
 * writes it, an array of those (lists only) joined with list_sep. */
static int json_text(ds_src *s, json_t *v, int list, const char **why) {
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return sb_add(s, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return sb_add(s, num, strlen(num));
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        return sb_add(s, num, strlen(num));
    case JSON_ARRAY:
        if (list) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                if (i && sb_add(s, &s->list_sep, 1) < 0) return MX_ENOMEM;
                int rc = json_text(s, e, 0, why);
                if (rc < 0) return rc;
            }
            return 0;
        }
        *why = "an array";
        return MX_EFORMAT;
    case JSON_OBJECT:
        *why = "an object";
        return MX_EFORMAT;
    default:
        *why = json_is_null(v) ? "null" : json_is_true(v) ? "true" : "false";
        return MX_EFORMAT;
    }
}

static int next_json(ds_src *s, mx_err *err) {
    int rc = json_parse(s, err);
    if (rc < 0) return rc;
    size_t off[DS_MAX_ROLES];
    s->sb_n = 0;
    for (int r = 0; r < s->n_roles; r++) {
        json_t *v = s->idx[r] >= 0 ? json_object_get(s->json, s->name[r]) : NULL;
        off[r] = SIZE_MAX;
        if (!v || json_is_null(v)) continue; /* absent, as an empty CSV field */
        off[r] = s->sb_n;
        const char *why = NULL;
        rc = sb_add(s, "", 0); /* its NUL, even for an empty list */
        if (rc == 0) rc = json_text(s, v, s->roles[r].is_list, &why);
        if (rc == MX_ENOMEM) return mx_err_set(err, rc, "%s: out of memory", s->path);
        if (rc < 0)
            return mx_err_set(err, MX_EFORMAT,
                              "%s:%zu: field '%s': expected a string or number%s, got %s", s->path,
                              s->t.lineno, s->name[r],
                              s->roles[r].is_list ? " or a list of them" : "", why);
        s->sb_n++; /* keep its NUL */
    }
    for (int r = 0; r < s->n_roles; r++) { /* sb is final: point into it */
        s->v[r] = off[r] == SIZE_MAX ? NULL : s->sb + off[r];
        s->vn[r] = s->v[r] ? strlen(s->v[r]) : 0;
    }
    return 0;
}

int ds__src_next(ds_src *s, size_t *blank, size_t *lines, mx_err *err) {
    for (;;) {
        if (!s->pending && !ds__next_line(&s->t, &s->line, &s->len)) return 0;
        s->pending = 0;
        if (ds__blank(s->line, s->len)) {
            (*blank)++;
            continue;
        }
        break;
    }
    (*lines)++;
    if (s->lay.fmt == DS_FMT_JSONL) {
        int rc = next_json(s, err);
        return rc < 0 ? rc : 1;
    }
    const char *why = NULL;
    size_t col;
    ds_fields *fs = s->fs;
    if (ds__split(s->line, s->len, &s->lay, fs, &why, &col) < 0) {
        const char *name = NULL; /* the column's name, when it is one of ours */
        for (int r = 0; r < s->n_roles; r++)
            if (s->idx[r] >= 0 && (size_t)s->idx[r] + 1 == col) name = s->name[r];
        return mx_err_set(err, MX_EFORMAT, "%s:%zu: column %zu%s%s%s: %s", s->path, s->t.lineno,
                          col, name ? " '" : "", name ? name : "", name ? "'" : "", why);
    }
    if (fs->n < s->need) {
        int last = 0;
        for (int r = 0; r < s->n_roles; r++)
            if (s->idx[r] >= 0 && (size_t)s->idx[r] + 1 == s->need) last = r;
        char sep[32] = "";
        if (s->lay.fmt != DS_FMT_MOVIETWEETINGS)
            snprintf(sep, sizeof(sep),
                     s->lay.sep == '\t' ? " (separator tab)" : " (separator '%c')", s->lay.sep);
        return mx_err_set(err, MX_EFORMAT,
                          "%s:%zu: too few fields: need %zu for column %zu '%s', got %zu%s",
                          s->path, s->t.lineno, s->need, s->need, s->name[last], fs->n, sep);
    }
    for (int r = 0; r < s->n_roles; r++) {
        int i = s->idx[r];
        s->v[r] = i >= 0 && (size_t)i < fs->n ? fs->f[i].p : NULL;
        s->vn[r] = s->v[r] ? fs->f[i].n : 0;
    }
    return 1;
}

void ds__src_label(const ds_src *s, int role, char *buf, size_t len) {
    if (s->lay.fmt == DS_FMT_JSONL)
        snprintf(buf, len, "field '%s'", s->name[role]);
    else
        snprintf(buf, len, "column %d '%s'", s->idx[role] + 1, s->name[role]);
}

void ds__src_describe(const ds_src *s, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "%s", ds__format_name(s->lay.fmt));
    if (used < len && (s->lay.fmt == DS_FMT_CSV || s->lay.fmt == DS_FMT_TSV)) {
        if (s->lay.fmt == DS_FMT_CSV)
            used += (size_t)snprintf(buf + used, len - used, ", separator '%c'", s->lay.sep);
        used += (size_t)snprintf(buf + used, len - used, ", %s",
                                 s->header ? "header line" : "no header line");
    } else if (used < len && s->lay.fmt == DS_FMT_MOVIETWEETINGS) {
        used += (size_t)snprintf(buf + used, len - used, ", no header line");
    }
    int first = 1;
    for (int r = 0; r < s->n_roles && used < len; r++) {
        if (s->idx[r] < 0) continue;
        char label[96];
        ds__src_label(s, r, label, sizeof(label));
        used += (size_t)snprintf(buf + used, len - used, "%s%s = %s", first ? "; " : ", ",
                                 s->roles[r].name, label);
        first = 0;
    }
}

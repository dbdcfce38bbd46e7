/* dataset_read.c - the text readers behind ds_load (dataset.h): files,
 * lines, CSV/TSV/"::" fields, timestamps and values, headers, the
 * interaction log and the metadata file.
 *
 * Import reads a whole file into one buffer and cuts lines and fields in
 * place (CSV quotes are undone where they stand, fields are NUL-terminated
 * over their separators), so a line costs no allocation beyond interning
 * a first-seen id (dataset.c). */
#include "dataset.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "dataset_internal.h"
#include "hash.h"
#include "strmap.h"

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

/* dataset_read.c - the readers behind ds_load (dataset.h): the interaction
 * log and the metadata file as records of roles (user, item, value, type,
 * ts; item, title, categories), whatever the file's layout (dataset_src.c
 * maps columns and JSON keys to roles; dataset_text.c cuts lines), each
 * value checked and converted, and the line ds_import_summary prints.
 *
 * Every refusal names the file, the line, the column (or JSON field) and
 * what was expected, so a user can fix an export without reading code. */
#include "dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"
#include "evtype.h"
#include "hash.h"
#include "strmap.h"
#include "tsparse.h"

/* ================================================================== */
/* Roles                                                              */
/* ================================================================== */

enum { R_USER, R_ITEM, R_VALUE, R_TYPE, R_TS, R_N };
enum { M_ID, M_TITLE, M_CATS, M_N };

static const char *const u_user[] = {"user", "user_id", "visitor_id", "customer_id", NULL};
static const char *const u_item[] = {"item", "item_id", "product_id", "movie_id", NULL};
static const char *const u_value[] = {"rating", "weight", "value", "score", NULL};
static const char *const u_type[] = {"type", "event", "event_type", NULL};
static const char *const u_ts[] = {"ts",         "timestamp", "time", "datetime",
                                   "event_time", "date",      NULL};
static const ds_role log_roles[R_N] = {
    {"user", u_user, 1, 0}, {"item", u_item, 1, 0}, {"rating", u_value, 0, 0},
    {"type", u_type, 0, 0}, {"ts", u_ts, 0, 0},
};

static const char *const u_mid[] = {"item", "item_id", "id", "product_id", "movie_id", NULL};
static const char *const u_title[] = {"title", "name", NULL};
static const char *const u_cats[] = {"categories", "category", "genres", "genre", "tags", NULL};
static const ds_role meta_roles[M_N] = {
    {"item", u_mid, 1, 0},
    {"title", u_title, 1, 0},
    {"categories", u_cats, 0, 1},
};

/* ================================================================== */
/* Values                                                             */
/* ================================================================== */

static int parse_value(const char *s, float *out) {
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

/* "path:line: column 3 'ts': " + what, for every refusal of a value. */
static int refuse(const ds_src *s, int role, mx_err *err, const char *what, const char *got) {
    char label[96];
    ds__src_label(s, role, label, sizeof(label));
    if (!got)
        return mx_err_set(err, MX_EFORMAT, "%s:%zu: %s: %s, got %s", s->path, s->t.lineno, label,
                          what, s->lay.fmt == DS_FMT_JSONL ? "no value" : "an empty field");
    return mx_err_set(err, MX_EFORMAT, "%s:%zu: %s: %s, got \"%.40s%s\"", s->path, s->t.lineno,
                      label, what, got, strlen(got) > 40 ? "..." : "");
}

static int read_ts(ds_dataset *ds, const ds_src *s, int64_t *when, mx_err *err) {
    const char *v = s->v[R_TS];
    tsparse_kind kind = TSPARSE_SECONDS;
    int rc = v && *v ? tsparse(v, when, &kind) : TSPARSE_EBAD;
    if (rc == TSPARSE_EBAD)
        return refuse(s, R_TS, err, "expected unix seconds, milliseconds or ISO 8601",
                      v && *v ? v : NULL);
    if (rc == TSPARSE_ERANGE)
        return refuse(s, R_TS, err,
                      kind == TSPARSE_ISO8601
                          ? "expected a time from 1970 to the year 3000"
                          : "expected a timestamp from 1970 to the year 3000 (unix seconds, or "
                            "milliseconds above 1e11)",
                      v);
    ds->st.ts_kinds[kind]++;
    return 0;
}

/* The type of the current record as a weight; 1 = kept with *w set, 0 =
 * skipped (unknown, or weighing <= 0) and counted. */
static int read_type(ds_dataset *ds, const ds_src *s, const ds_import_opts *o, double *w) {
    int t = s->v[R_TYPE] ? evtype_parse(s->v[R_TYPE], s->vn[R_TYPE]) : -1;
    if (t < 0) {
        if (!ds->st.unknown_types++) {
            snprintf(ds->unknown_type, sizeof(ds->unknown_type), "%s",
                     s->v[R_TYPE] && *s->v[R_TYPE] ? s->v[R_TYPE] : "(none)");
            ds->unknown_type_line = s->t.lineno;
        }
        return 0;
    }
    *w = o->type_weights[t];
    if (*w <= 0) {
        ds->st.nonpositive_types++;
        return 0;
    }
    return 1;
}

/* One record of the log: refuses bad ids, numbers and times; skips and
 * counts what the options drop; adds the rest. */
static int log_record(ds_dataset *ds, const ds_src *s, const ds_import_opts *o, mx_err *err) {
    for (int r = R_USER; r <= R_ITEM; r++)
        if (!s->vn[r])
            return refuse(s, r, err, r == R_USER ? "expected a user id" : "expected an item id",
                          NULL);
    int64_t when = (int64_t)ds->st.lines; /* no time column: line order is time */
    if (s->idx[R_TS] >= 0) {
        int rc = read_ts(ds, s, &when, err);
        if (rc < 0) return rc;
    }
    float value = 1.0f;
    if (s->v[R_VALUE] && parse_value(s->v[R_VALUE], &value) < 0)
        return refuse(s, R_VALUE, err, "expected a number", s->v[R_VALUE]);
    if (s->idx[R_TYPE] >= 0) {
        double w;
        if (!read_type(ds, s, o, &w)) return 0;
        value = (float)(value * w);
    }
    if (value < o->min_value) {
        ds->st.below_min_value++;
        return 0;
    }
    int rc = ds__add(ds, s->v[R_USER], s->vn[R_USER], s->v[R_ITEM], s->vn[R_ITEM], when, value);
    if (rc < 0)
        return mx_err_set(err, rc, "%s:%zu: %s", s->path, s->t.lineno,
                          rc == MX_EINVAL ? "too many users or items" : "out of memory");
    return 0;
}

/* The parts of the summary known once the columns are mapped. */
static void describe_log(ds_dataset *ds, const ds_src *s, const ds_import_opts *o) {
    char lay[400];
    ds__src_describe(s, lay, sizeof(lay));
    int n = snprintf(ds->log_desc, sizeof(ds->log_desc), "%s: %s", s->path, lay);
    if (s->idx[R_TYPE] >= 0 && n > 0 && (size_t)n < sizeof(ds->log_desc)) {
        n += snprintf(ds->log_desc + n, sizeof(ds->log_desc) - (size_t)n, "; event weights");
        for (int t = 0; t < EVTYPE_N && (size_t)n < sizeof(ds->log_desc); t++)
            n += snprintf(ds->log_desc + n, sizeof(ds->log_desc) - (size_t)n, "%s %s %g",
                          t ? "," : "", evtype_name(t), o->type_weights[t]);
    }
}

static int load_log(ds_dataset *ds, const char *path, const ds_import_opts *o, ds_fields *fs,
                    mx_err *err) {
    ds_src s;
    size_t n_before = ds->n_ev;
    int rc = ds__src_open(&s, path, o->format, o->sep, fs, &ds->st.interactions_fnv,
                          &ds->st.blank_lines, err);
    if (rc == 0) rc = mx_err_set(err, MX_EFORMAT, "%s:1: empty file (no events)", path);
    if (rc < 0) goto done;
    const char *columns = o->columns;
    if (!columns && s.lay.fmt == DS_FMT_MOVIETWEETINGS) columns = "user,item,rating,ts";
    const char *named[R_N] = {o->user_col, o->item_col, o->value_col, o->type_col, o->time_col};
    if ((rc = ds__src_map(&s, log_roles, R_N, named, columns, err)) < 0) goto done;
    describe_log(ds, &s, o);
    ds->log_has_ts = s.idx[R_TS] >= 0;
    while ((rc = ds__src_next(&s, &ds->st.blank_lines, &ds->st.lines, err)) == 1)
        if ((rc = log_record(ds, &s, o, err)) < 0) goto done;
    if (rc < 0) goto done;
    ds->log_blank = ds->st.blank_lines;
    if (ds->n_ev == n_before) {
        size_t skipped = ds->st.below_min_value + ds->st.unknown_types + ds->st.nonpositive_types;
        if (ds->st.below_min_value && skipped == ds->st.below_min_value)
            rc = mx_err_set(err, MX_EFORMAT, "%s:%zu: no events: all %zu are below min_value %g",
                            path, s.t.lineno, ds->st.below_min_value, (double)o->min_value);
        else if (skipped)
            rc =
                mx_err_set(err, MX_EFORMAT,
                           "%s:%zu: no events: %zu rows skipped (%zu of an unknown event type, "
                           "first \"%s\" at line %zu; %zu weighing <= 0; %zu below min_value)",
                           path, s.t.lineno, skipped, ds->st.unknown_types, ds->unknown_type,
                           ds->unknown_type_line, ds->st.nonpositive_types, ds->st.below_min_value);
        else
            rc =
                mx_err_set(err, MX_EFORMAT, "%s:%zu: no events after the header", path, s.t.lineno);
    }
done:
    ds__src_close(&s);
    return rc;
}

/* ================================================================== */
/* Metadata                                                           */
/* ================================================================== */

static int load_meta(ds_dataset *ds, const char *path, const ds_import_opts *o, ds_fields *fs,
                     mx_err *err) {
    ds_src s;
    int rc = ds__src_open(&s, path, o->items_format, o->items_sep, fs, &ds->st.items_fnv,
                          &ds->st.blank_lines, err);
    if (rc == 0) rc = mx_err_set(err, MX_EFORMAT, "%s:1: empty file (no metadata)", path);
    if (rc < 0) goto done;
    s.list_sep = o->cat_sep ? o->cat_sep : '|';
    s.columns_opt = "--items-columns";
    const char *columns = o->items_columns;
    if (!columns && s.lay.fmt == DS_FMT_MOVIETWEETINGS) columns = "item,title,categories";
    const char *named[M_N] = {o->meta_id_col, o->meta_title_col, o->meta_cat_col};
    if ((rc = ds__src_map(&s, meta_roles, M_N, named, columns, err)) < 0) goto done;
    char lay[400];
    ds__src_describe(&s, lay, sizeof(lay));
    snprintf(ds->meta_desc, sizeof(ds->meta_desc), "%s: %s", path, lay);
    ds->has_meta = 1;
    ds__sync_meta_stats(ds);
    while ((rc = ds__src_next(&s, &ds->st.blank_lines, &ds->st.meta_lines, err)) == 1) {
        rc = 0;
        if (!s.vn[M_ID]) {
            rc = refuse(&s, M_ID, err, "expected an item id", NULL);
            goto done;
        }
        uint32_t item;
        if (smap_get(ds->item_map, s.v[M_ID], s.vn[M_ID], &item) < 0) {
            ds->st.meta_unknown_items++;
            continue;
        }
        if (ds->meta[item].title) {
            ds->st.meta_duplicate_items++;
            continue;
        }
        const char *title = s.v[M_TITLE] ? s.v[M_TITLE] : "",
                   *cats = s.v[M_CATS] ? s.v[M_CATS] : "";
        rc = ds__meta_set(ds, item, title, s.vn[M_TITLE], cats, s.vn[M_CATS], s.list_sep, path,
                          s.t.lineno, err);
        if (rc < 0) goto done;
    }
done:
    ds__src_close(&s);
    return rc;
}

/* ================================================================== */
/* Loading and the summary                                            */
/* ================================================================== */

/* One log is the case n = 1 of ds_load_many (its fingerprint and summary
 * are that file's own). */
int ds_load(ds_dataset **out, const char *interactions_path, const char *items_path,
            const ds_import_opts *opts, mx_err *err) {
    if (!out || !interactions_path) return mx_err_set(err, MX_EINVAL, "ds_load: NULL argument");
    return ds_load_many(out, &interactions_path, 1, items_path, opts, NULL, err);
}

#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (used < len) used += (size_t)snprintf(buf + used, len - used, __VA_ARGS__);             \
    } while (0)

static void summary_log(const ds_dataset *ds, char *buf, size_t len) {
    const ds_stats *st = &ds->st;
    size_t used = 0, kinds = 0;
    ADD("%s; timestamps: ", ds->log_desc);
    for (int k = 0; k < TSPARSE_N_KINDS; k++)
        kinds += st->ts_kinds[k] > 0;
    if (!ds->log_has_ts) ADD("none (the order of the lines is time)");
    for (int k = 0, first = 1; k < TSPARSE_N_KINDS; k++) {
        if (!st->ts_kinds[k]) continue;
        if (kinds > 1)
            ADD("%s%zu %s", first ? "" : ", ", st->ts_kinds[k], tsparse_kind_name(k));
        else
            ADD("%s", tsparse_kind_name(k));
        first = 0;
    }
    ADD("; %zu rows, %zu events", st->lines, st->events);
    if (st->unknown_types)
        ADD("; skipped %zu of an unknown event type (first \"%s\" at line %zu)", st->unknown_types,
            ds->unknown_type, ds->unknown_type_line);
    if (st->nonpositive_types) ADD("; skipped %zu weighing <= 0 (dislike)", st->nonpositive_types);
    if (st->below_min_value) ADD("; skipped %zu below min_value", st->below_min_value);
    if (ds->log_blank) ADD("; skipped %zu blank lines", ds->log_blank);
    if (st->duplicates) ADD("; merged %zu repeated (user, item)", st->duplicates);
}

static void summary_meta(const ds_dataset *ds, char *buf, size_t len) {
    const ds_stats *st = &ds->st;
    size_t used = 0;
    ADD("%s; %zu rows", ds->meta_desc, st->meta_lines);
    if (st->meta_unknown_items)
        ADD("; skipped %zu for items not in the log", st->meta_unknown_items);
    if (st->meta_duplicate_items) ADD("; skipped %zu repeated items", st->meta_duplicate_items);
    if (st->items_without_meta) ADD("; %zu items of the log have none", st->items_without_meta);
}

#undef ADD

void ds_import_summary(const ds_dataset *ds, int items, char *buf, size_t len) {
    buf[0] = '\0';
    if (!ds || !(items ? ds->meta_desc[0] : ds->log_desc[0])) return;
    if (items)
        summary_meta(ds, buf, len);
    else
        summary_log(ds, buf, len);
}

/* ================================================================== */
/* Several logs                                                       */
/* ================================================================== */

/* The counters one file's read fills, zeroed before the next file so
 * load_log's checks and the summary line speak of that file alone. */
static void reset_file_counters(ds_dataset *ds) {
    ds_stats *st = &ds->st;
    st->lines = st->below_min_value = st->blank_lines = st->unknown_types = 0;
    st->nonpositive_types = 0;
    memset(st->ts_kinds, 0, sizeof(st->ts_kinds));
    st->interactions_fnv = 0;
    ds->log_blank = 0;
    ds->unknown_type[0] = '\0';
    ds->unknown_type_line = 0;
}

/* Distinct users and items among events [from, n_ev): stamps sized to the
 * ids known now. */
static int count_distinct(const ds_dataset *ds, size_t from, ds_source_stats *ps) {
    unsigned char *su = calloc(ds->n_users + 1, 1), *si = calloc(ds->n_items + 1, 1);
    if (!su || !si) {
        free(su);
        free(si);
        return MX_ENOMEM;
    }
    for (size_t e = from; e < ds->n_ev; e++) {
        ps->users += !su[ds->ev[e].user];
        su[ds->ev[e].user] = 1;
        ps->items += !si[ds->ev[e].item];
        si[ds->ev[e].item] = 1;
    }
    free(su);
    free(si);
    return 0;
}

static void add_counters(ds_stats *tot, const ds_stats *st) {
    tot->lines += st->lines;
    tot->below_min_value += st->below_min_value;
    tot->blank_lines += st->blank_lines;
    tot->unknown_types += st->unknown_types;
    tot->nonpositive_types += st->nonpositive_types;
    for (int k = 0; k < TSPARSE_N_KINDS; k++)
        tot->ts_kinds[k] += st->ts_kinds[k];
}

/* One file into ds, its figures into ps (may be NULL), its counters added
 * to tot. */
static int load_one(ds_dataset *ds, const char *path, const ds_import_opts *o, ds_fields *fs,
                    ds_stats *tot, size_t *blank_tot, int *has_ts, ds_source_stats *ps,
                    mx_err *err) {
    size_t n0 = ds->n_ev, u0 = ds->n_users, i0 = ds->n_items;
    reset_file_counters(ds);
    int rc = load_log(ds, path, o, fs, err);
    if (rc < 0) return rc;
    add_counters(tot, &ds->st);
    *blank_tot += ds->log_blank;
    *has_ts = *has_ts || ds->log_has_ts;
    if (!ps) return 0;
    memset(ps, 0, sizeof(*ps));
    ps->lines = ds->st.lines;
    ps->events = ds->n_ev - n0;
    ps->new_users = ds->n_users - u0;
    ps->new_items = ds->n_items - i0;
    ps->unknown_types = ds->st.unknown_types;
    ps->nonpositive_types = ds->st.nonpositive_types;
    ps->below_min_value = ds->st.below_min_value;
    ps->blank_lines = ds->log_blank;
    ps->fnv = ds->st.interactions_fnv;
    ds->st.events = ps->events; /* for this file's summary line */
    summary_log(ds, ps->summary, sizeof(ps->summary));
    ds->st.events = 0;
    if (count_distinct(ds, n0, ps) < 0) return mx_err_set(err, MX_ENOMEM, "out of memory");
    return 0;
}

int ds_load_many(ds_dataset **out, const char *const *paths, size_t n, const char *items_path,
                 const ds_import_opts *opts, ds_source_stats *per_source, mx_err *err) {
    if (!out || !paths || n == 0)
        return mx_err_set(err, MX_EINVAL, "ds_load_many: no interaction log");
    *out = NULL;
    for (size_t k = 0; k < n; k++)
        if (!paths[k]) return mx_err_set(err, MX_EINVAL, "ds_load_many: NULL path");
    ds_import_opts defaults;
    if (!opts) {
        ds_import_opts_init(&defaults);
        opts = &defaults;
    }
    ds_fields fs = {0};
    ds_dataset *ds = ds_new();
    uint64_t *fnvs = calloc(n, sizeof(*fnvs));
    ds_stats tot = {0};
    size_t blank = 0;
    int has_ts = 0, rc = 0;
    if (!ds || !fnvs) rc = mx_err_set(err, MX_ENOMEM, "ds_load_many: out of memory");
    for (size_t k = 0; rc == 0 && k < n; k++) {
        rc = load_one(ds, paths[k], opts, &fs, &tot, &blank, &has_ts,
                      per_source ? &per_source[k] : NULL, err);
        if (rc == 0) fnvs[k] = ds->st.interactions_fnv;
    }
    if (rc == 0) {
        ds->st.lines = tot.lines;
        ds->st.below_min_value = tot.below_min_value;
        ds->st.blank_lines = tot.blank_lines;
        ds->st.unknown_types = tot.unknown_types;
        ds->st.nonpositive_types = tot.nonpositive_types;
        memcpy(ds->st.ts_kinds, tot.ts_kinds, sizeof(tot.ts_kinds));
        ds->st.interactions_fnv =
            n == 1 ? fnvs[0] : hash_fnv1a(HASH_FNV_BASIS, fnvs, n * sizeof(*fnvs));
        ds->log_blank = blank;
        ds->log_has_ts = has_ts;
        if (n > 1) {
            int used = snprintf(ds->log_desc, sizeof(ds->log_desc), "%zu sources (", n);
            for (size_t k = 0; k < n && used > 0 && (size_t)used < sizeof(ds->log_desc); k++)
                used += snprintf(ds->log_desc + used, sizeof(ds->log_desc) - (size_t)used, "%s%s",
                                 k ? ", " : "", paths[k]);
            if (used > 0 && (size_t)used < sizeof(ds->log_desc))
                snprintf(ds->log_desc + used, sizeof(ds->log_desc) - (size_t)used, ")");
        }
    }
    if (rc == 0 && items_path) rc = load_meta(ds, items_path, opts, &fs, err);
    if (rc == 0) rc = ds_finish(ds, err);
    free(fs.f);
    free(fnvs);
    if (rc < 0) {
        ds_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

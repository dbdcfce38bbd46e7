/* dataset_internal.h - the store's layout and helpers shared by dataset.c
 * (the store), dataset_read.c (the readers) and dataset_split.c; not part
 * of the module's interface (internal names are ds__). */
#ifndef DS_DATASET_INTERNAL_H
#define DS_DATASET_INTERNAL_H

#include <stddef.h>

#include "dataset.h"
#include "strmap.h"
#include "tsparse.h"

#define DS_TS_MAX TSPARSE_MAX /* 3000-01-01T00:00:00Z: later is a unit mistake */
#define DS_MAX_CATS 65535     /* category ids are uint16 */
#define DS_MAX_IDS UINT32_MAX /* user and item ids are uint32 */

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
    /* What the readers detected, for ds_import_summary: format and columns
     * (empty: the file was not read), the first unknown event type. */
    char log_desc[640], meta_desc[512];
    int log_has_ts;   /* the log has a time column */
    size_t log_blank; /* blank lines of the log (blank_lines counts both files) */
    char unknown_type[40];
    size_t unknown_type_line;
};

void ds__sync_meta_stats(ds_dataset *ds);

/* Appends one event, interning user and item. 0, MX_ENOMEM, MX_EINVAL when
 * an id limit is reached. */
int ds__add(ds_dataset *ds, const char *user, size_t ulen, const char *item, size_t ilen,
            int64_t ts, float value);

/* Sets the metadata of item (which has none yet). path/line locate errors
 * in a file; path NULL means a programmatic call. */
int ds__meta_set(ds_dataset *ds, uint32_t item, const char *title, size_t tlen, const char *cats,
                 size_t clen, char sep, const char *path, size_t line, mx_err *err);

/* Total orders on events: by (ts, user, item, value) and (user, ts, item,
 * value), so sorts are deterministic. */
int ds__cmp_time(const void *a, const void *b);
int ds__cmp_user(const void *a, const void *b);

/* Sorts ev by cmp, skipping the sort when already in order. */
void ds__sort(ds_event *ev, size_t n, int (*cmp)(const void *, const void *));

/* ---- text input (dataset_text.c) ------------------------------------ */

/* A whole file in one buffer, cut into lines and fields in place. */
typedef struct ds_text {
    char *buf; /* size + 1 bytes, so the last field can be NUL-terminated */
    size_t size, pos, lineno;
} ds_text;

typedef struct ds_field {
    char *p; /* NUL-terminated after ds__split */
    size_t n;
} ds_field;

typedef struct ds_fields {
    ds_field *f;
    size_t n, cap;
} ds_fields;

/* How the lines of a text file split: fmt MOVIETWEETINGS ("::"), CSV
 * (sep, with quotes) or TSV (tab, no quotes); JSONL lines are objects. */
typedef struct ds_layout {
    ds_format fmt;
    char sep;
} ds_layout;

/* Reads all of path (skipping a UTF-8 BOM); *fnv gets the FNV-1a 64 of
 * its bytes. On error t->buf is NULL. */
int ds__read_file(ds_text *t, const char *path, uint64_t *fnv, mx_err *err);

/* Next line without its "\n" or "\r\n"; 0 at the end of the text. */
int ds__next_line(ds_text *t, char **line, size_t *len);

int ds__blank(const char *s, size_t n);

/* The layout of a file whose first non-blank line is line: fmt as given
 * (AUTO: detected, see dataset.h) and sep as given (0: detected for CSV). */
ds_layout ds__detect(const char *line, size_t len, ds_format fmt, char sep);

/* Cuts a line into fields and NUL-terminates each. On MX_EFORMAT *why
 * says what is wrong and *col which field (1-based) it is in. */
int ds__split(char *line, size_t len, const ds_layout *l, ds_fields *fs, const char **why,
              size_t *col);

/* "CSV", "TSV", "movietweetings (::)", "JSON lines". */
const char *ds__format_name(ds_format fmt);

/* ---- records (dataset_src.c) ------------------------------------------ */

/* What a column holds, in the reader's terms. */
typedef struct ds_role {
    const char *name;         /* "user": in messages and in a columns list */
    const char *const *usual; /* header names / keys found unnamed, NULL-terminated */
    int required;             /* a file without it is refused */
    int is_list; /* categories: a line may stop before it, a JSON value may be an array */
} ds_role;

#define DS_MAX_ROLES 5

/* One file being read record by record: its layout, which field holds
 * which role, and the current record's values. */
typedef struct ds_src {
    const char *path;
    ds_text t;
    ds_layout lay;
    int header; /* the first line named the columns */
    const ds_role *roles;
    int n_roles;
    int idx[DS_MAX_ROLES];       /* 0-based field (JSON: 0 when mapped); -1: none */
    char name[DS_MAX_ROLES][64]; /* its header name, key or columns-list name */
    size_t need;                 /* fields a delimited record must have */
    char list_sep;               /* JSON arrays are joined with it */
    const char *columns_opt;     /* the option naming a header-less file's columns */
    ds_fields *fs;               /* borrowed scratch */
    void *json;                  /* JSON lines: the current record (json_t *) */
    char *sb;                    /* JSON lines: the current record's texts */
    size_t sb_n, sb_cap;
    char *line;
    size_t len;
    int pending;                 /* the current line is read but not yet a record */
    const char *v[DS_MAX_ROLES]; /* the current record; NULL: absent */
    size_t vn[DS_MAX_ROLES];
} ds_src;

/* Reads path and finds its first non-blank line and layout (fmt/sep as
 * in ds__detect). 1: ready, 0: no line (blank lines counted), or an error.
 * ds__src_close is needed in every case. */
int ds__src_open(ds_src *s, const char *path, ds_format fmt, char sep, ds_fields *fs, uint64_t *fnv,
                 size_t *blank, mx_err *err);

/* Maps the roles to columns: from columns (a header-less file's names in
 * order; "-" or "_" skips one) if not NULL, else from the header line or
 * the first JSON object. named[r] is the header name or key the user gave
 * for role r (NULL: the usual names; "-": none). */
int ds__src_map(ds_src *s, const ds_role *roles, int n_roles, const char *const *named,
                const char *columns, mx_err *err);

/* The next record into s->v / s->vn: 1, 0 at the end of the file, or an
 * error naming the line (and column). Blank lines are skipped and counted. */
int ds__src_next(ds_src *s, size_t *blank, size_t *lines, mx_err *err);

/* "column 3 'ts'" (delimited) or "field 'ts'" (JSON lines). */
void ds__src_label(const ds_src *s, int role, char *buf, size_t len);

/* "CSV, separator ';', header line; user = column 1 'user_id', ..." */
void ds__src_describe(const ds_src *s, char *buf, size_t len);

void ds__src_close(ds_src *s);

#endif

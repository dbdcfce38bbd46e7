/* dataset.h - interaction logs and item metadata, imported into dense ids.
 *
 * Users and items have string ids outside and dense uint32 ids inside,
 * assigned in order of first appearance (so imports are deterministic).
 * A dataset is built once (load or programmatic adds) and is read-only
 * afterwards: concurrent readers are safe, concurrent writers are not. */
#ifndef DS_DATASET_H
#define DS_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "evtype.h"
#include "mx_err.h"

typedef enum {
    DS_FMT_AUTO = 0,       /* detect from the first non-blank line (see below) */
    DS_FMT_MOVIETWEETINGS, /* user::item::rating::ts, no header (MovieLens too) */
    DS_FMT_CSV,            /* delimited (',' or ';', or sep) with "quoted" fields */
    DS_FMT_TSV,            /* tab-separated, no quoting */
    DS_FMT_JSONL           /* JSON lines: one object per line, fields by name */
} ds_format;
/* Detection: a first byte '{' is JSON lines; "::" in the line is
 * movietweetings; otherwise the separator is the most frequent of tab, ';'
 * and ',' outside quotes (ties in that order): tab is TSV, the others CSV.
 * CSV/TSV files have a header line unless the columns are given. */

/* One engagement. value is the rating/weight column (1 when absent). */
typedef struct ds_event {
    uint32_t user;
    uint32_t item;
    int64_t ts; /* unix seconds */
    float value;
} ds_event;

typedef struct ds_import_opts {
    ds_format format; /* of the interaction log */
    char sep;         /* its CSV field separator; 0 = detected */
    /* A header-less log: the columns in order, comma-separated, by the names
     * below ("user,item,rating,ts"; "-" or "_" skips a column). NULL: the
     * file has a header line (movietweetings: "user,item,rating,ts"). */
    const char *columns;
    /* Header names (CSV/TSV) or keys (JSON lines) of the columns. NULL: the
     * usual names, case, '_', '-' and spaces ignored (user, user_id,
     * visitor_id, customer_id; item, item_id, product_id, movie_id;
     * rating, weight, value, score; type, event, event_type; ts,
     * timestamp, time, datetime, event_time, date). A named column must exist; "-"
     * turns an optional one (value, type, time) off. User and item are
     * required; without a value column every value is 1; without a time
     * column the order of the lines is time (line n at second n). */
    const char *user_col;
    const char *item_col;
    const char *time_col;
    const char *value_col;
    const char *type_col;
    /* A type column's values weigh type_weights[EVTYPE_*] (view, click,
     * like, purchase, dislike and a few other systems' names: evtype.h),
     * times the value column's value when there is one. Rows of an unknown
     * type and rows whose type weighs <= 0 (a dislike: the model learns
     * from engagement, as the service's fold-in does) are skipped and
     * counted. Defaults: evtype.h's, the service's events.* defaults. */
    double type_weights[EVTYPE_N];
    float min_value;           /* events with value < min_value are dropped and counted */
    ds_format items_format;    /* of the metadata file: MOVIETWEETINGS = id::title::A|B */
    char items_sep;            /* as sep, for the metadata file */
    const char *items_columns; /* as columns: "item,title,categories" */
    /* Metadata header names or keys; NULL: item, item_id, id, product_id,
     * movie_id; title, name; categories, category, genres, genre, tags. */
    const char *meta_id_col;
    const char *meta_title_col;
    const char *meta_cat_col;
    char cat_sep; /* separator inside the categories field, default '|' */
} ds_import_opts;

/* Defaults as documented above (min_value = -INFINITY: keep everything). */
void ds_import_opts_init(ds_import_opts *o);
/* ds_load with opts NULL uses these defaults. In the metadata file the id
 * and title columns are required, the categories column is optional (in
 * JSON lines a string or an array of strings). CSV fields may be quoted
 * ("" inside is a quote); TSV has no quoting. Timestamps are unix seconds,
 * milliseconds (numbers above 1e11) or ISO 8601 (tsparse.h). */

/* Counters of what the import skipped or merged (warnings, not errors). */
typedef struct ds_stats {
    size_t lines;                /* data lines read from the interaction log */
    size_t events;               /* events kept */
    size_t below_min_value;      /* dropped by min_value */
    size_t duplicates;           /* same (user, item) again: merged, latest ts kept, max value */
    size_t blank_lines;          /* skipped */
    size_t unknown_types;        /* rows of an event type evtype.h does not know: skipped */
    size_t nonpositive_types;    /* rows whose type weighs <= 0 (dislike): skipped */
    size_t ts_kinds[3];          /* timestamps read as tsparse_kind (seconds, ms, ISO) */
    size_t meta_lines;           /* data lines read from the metadata file */
    size_t meta_unknown_items;   /* metadata for items absent from the log: skipped */
    size_t meta_duplicate_items; /* second metadata line for an item: ignored */
    size_t items_without_meta;   /* items of the log with no metadata line */
    uint64_t interactions_fnv;   /* FNV-1a 64 of the interaction file's bytes */
    uint64_t items_fnv;          /* same for the metadata file, 0 when none */
} ds_stats;
/* blank_lines counts both files; items_without_meta stays 0 until some
 * metadata is given (a metadata file or ds_set_item_meta). */

typedef struct ds_dataset ds_dataset;

/* Reads an interaction log and optional metadata (items_path may be NULL).
 * Hard errors (unreadable or empty file, missing column, a line with too
 * few fields, a number or timestamp that does not parse or is out of
 * range, bad JSON) return MX_EFORMAT/MX_EIO with err naming the file, the
 * line, the column and what was expected:
 *   ratings.csv:17: column 3 'ts': expected unix seconds, milliseconds or
 *   ISO 8601, got "yesterday"
 * (in JSON lines the column is the field: "events.jsonl:4: field 'ts':
 * ..."). On success *out is owned by the caller (ds_free). Events are
 * sorted by (ts, user, item). */
int ds_load(ds_dataset **out, const char *interactions_path, const char *items_path,
            const ds_import_opts *opts, mx_err *err);

/* What one source of ds_load_many read and dropped. */
typedef struct ds_source_stats {
    size_t lines;             /* data lines read */
    size_t events;            /* events kept from it (before merging repeats across sources) */
    size_t users, items;      /* distinct users and items among those events */
    size_t new_users;         /* users no earlier source had */
    size_t new_items;         /* items no earlier source had */
    size_t unknown_types;     /* rows of an unknown event type: skipped */
    size_t nonpositive_types; /* rows whose type weighs <= 0 (dislike): skipped */
    size_t below_min_value;   /* rows below min_value: skipped */
    size_t blank_lines;       /* skipped */
    uint64_t fnv;             /* FNV-1a 64 of the file's bytes */
    char summary[1024];       /* ds_import_summary's line for this file alone */
} ds_source_stats;

/* Reads n >= 1 interaction logs into one dataset, each file detected and
 * mapped on its own (a historical CSV and JSON-lines exports of the
 * service's stream may be mixed), then the metadata (may be NULL), then
 * merges repeated (user, item) pairs across all of them (ds_finish).
 * per_source (n entries, may be NULL) receives what each file read and
 * dropped. Every file must hold events (as ds_load). The stats' counters
 * sum over the files; interactions_fnv is the file's own FNV for n == 1
 * (as ds_load) and otherwise the FNV-1a 64 of the n files' FNVs in order,
 * so a model's fingerprint covers every source. Errors as ds_load, naming
 * the file. *out owned by the caller. */
int ds_load_many(ds_dataset **out, const char *const *paths, size_t n, const char *items_path,
                 const ds_import_opts *opts, ds_source_stats *per_source, mx_err *err);

/* Programmatic construction (tests, synth). ds_new returns NULL on OOM.
 * ds_add_event interns the ids; call ds_finish once after the last add to
 * merge duplicates and sort; ds_set_item_meta may be called before or after
 * (it interns an unknown item id). categories is a separator-joined list. */
ds_dataset *ds_new(void);
int ds_add_event(ds_dataset *ds, const char *user, const char *item, int64_t ts, float value,
                 mx_err *err);
int ds_set_item_meta(ds_dataset *ds, const char *item, const char *title, const char *categories,
                     char sep, mx_err *err);
int ds_finish(ds_dataset *ds, mx_err *err);

void ds_free(ds_dataset *ds); /* NULL is a no-op */

size_t ds_n_users(const ds_dataset *ds);
size_t ds_n_items(const ds_dataset *ds);
size_t ds_n_categories(const ds_dataset *ds);

/* One line on what the import of the interaction log (items = 0) or the
 * metadata file (items = 1) detected and did: file, format, separator,
 * header, which column holds what, the timestamps' kind, rows read, kept
 * and skipped and why. Written into buf (len > 0, truncated to fit); an
 * empty string for a file that was not read (or a programmatic dataset). */
void ds_import_summary(const ds_dataset *ds, int items, char *buf, size_t len);

/* Borrowed pointer, valid until ds_free. */
const ds_event *ds_events(const ds_dataset *ds, size_t *n);
const ds_stats *ds_get_stats(const ds_dataset *ds);

const char *ds_user_id(const ds_dataset *ds, uint32_t user);
const char *ds_item_id(const ds_dataset *ds, uint32_t item);
int64_t ds_find_user(const ds_dataset *ds, const char *id); /* -1 if unknown */
int64_t ds_find_item(const ds_dataset *ds, const char *id); /* -1 if unknown */

/* Metadata; title is NULL and the category list empty without metadata. */
const char *ds_item_title(const ds_dataset *ds, uint32_t item);
const uint16_t *ds_item_categories(const ds_dataset *ds, uint32_t item, size_t *n);
const char *ds_category_name(const ds_dataset *ds, uint16_t cat);
int ds_has_metadata(const ds_dataset *ds);
/* ds_item_categories never returns NULL (an empty list has *n == 0). */

/* ---- temporal splits ------------------------------------------------ */

/* A split owns copies of its events. Users/items keep the dataset's ids. */
typedef struct ds_split {
    ds_event *train; /* sorted by (ts, user, item) */
    size_t n_train;
    ds_event *test; /* sorted by (user, ts) */
    size_t n_test;
    size_t n_test_users; /* distinct users in test */
    int64_t cutoff;      /* global split: first test timestamp; per-user: 0 */
} ds_split;

/* Global time cut-off: train = every event with ts < T; test = events with
 * ts >= T of users with at least min_train events before T. T is the
 * timestamp quantile at (1 - test_frac) of the given events.
 * Per-user split: for users with at least min_train + 1 events, the last
 * ceil(test_frac * n) events by time (at least 1) go to test, the rest and
 * all events of other users to train. Ties in ts are broken by item id.
 * Both take any event array (e.g. a previous split's train part, to carve a
 * validation split from the training period). */
int ds_split_global(const ds_event *ev, size_t n, double test_frac, size_t min_train, ds_split *out,
                    mx_err *err);
int ds_split_per_user(const ds_event *ev, size_t n, double test_frac, size_t min_train,
                      ds_split *out, mx_err *err);
void ds_split_free(ds_split *s); /* frees the arrays, not s itself */
/* Both return MX_EINVAL for n == 0 or test_frac outside (0, 1), and zero
 * *out first, so ds_split_free(out) is safe after an error. The per-user
 * test part is capped at n - min_train, so train keeps min_train events
 * of every tested user. */

/* ---- compressed rows ------------------------------------------------ */

/* Events grouped by user (or by item): row r's entries are
 * col[ptr[r] .. ptr[r+1]), sorted by ts then col, with value and ts. */
typedef struct ds_csr {
    uint32_t n_rows;
    uint64_t *ptr; /* n_rows + 1 */
    uint32_t *col;
    float *value;
    int64_t *ts;
} ds_csr;

/* by_item = 0: rows are users, cols items; 1: rows are items, cols users. */
int ds_csr_build(ds_csr *out, const ds_event *ev, size_t n, uint32_t n_rows, int by_item,
                 mx_err *err);
void ds_csr_free(ds_csr *c); /* frees the arrays, not c itself */

#endif

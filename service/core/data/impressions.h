/* impressions.h - reads logged slates (impressions) back from JSON lines.
 *
 * The input is what `mixrec export --stream impressions` writes (the export
 * format of docs/streams.md): one object per line with `recommendation_id`,
 * `ts` (unix milliseconds), `user`, `route`, `order` and `items`, in
 * either form: format 2 (the server writes it since the `format` field)
 * an object of columns {"item": [ids], "propensity": [p], ...}, one value
 * per item in answer order; format 1 (older records, and `mixrec synth
 * --clicks`) an array of {"item": id, "position": i, "propensity": p, ...}
 * in answer order. The shape says which; the same slate reads the same
 * from both. Other keys and columns are ignored, but every column must be
 * an array as long as "item" (else the slate is skipped as empty). An
 * item's `propensity` is the probability that the serving policy put that
 * item at that position: 1 for a deterministic placement (and when
 * absent: logs from before propensities were logged),
 * below 1 for an explored slot (docs/experiments.md, "Off-policy
 * evaluation"); a slate with a propensity that is not a number in (0, 1]
 * is skipped and counted. Ids stay strings here: mapping them to a
 * dataset's or a model's dense ids is the caller's business
 * (slate_train.h, cmd_eval_logged.c). Lines that are not an
 * impression (no `items`, anonymous user, bad JSON) are skipped and
 * counted, never fatal: an export is a log, and a log has noise. A missing
 * or unreadable file is an error.
 *
 * An imp_log is immutable once read; reading is single-threaded. */
#ifndef IMP_IMPRESSIONS_H
#define IMP_IMPRESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "mx_err.h"

typedef struct imp_slate {
    const char *rid;         /* recommendation_id ("" when absent) */
    const char *user;        /* never empty: anonymous slates are skipped */
    int64_t ts_ms;           /* unix milliseconds */
    int ranked;              /* "order" was "ranker" */
    size_t n_items;          /* items in answer order (by "position" when given) */
    const char **items;      /* item ids */
    const float *propensity; /* n_items, in answer order, each in (0, 1]; 1 when not logged */
} imp_slate;

typedef struct imp_stats {
    size_t lines;          /* non-blank lines read */
    size_t slates;         /* impressions kept */
    size_t bad_json;       /* not a JSON object */
    size_t not_slate;      /* no "items" array or object, or no "ts" (e.g. an event line) */
    size_t anonymous;      /* empty or missing user */
    size_t empty;          /* "items" without a usable item id, or columns that do not line up */
    size_t bad_propensity; /* an item's "propensity" not a number in (0, 1] */
} imp_stats;

typedef struct imp_log imp_log;

imp_log *imp_log_new(void);    /* NULL on OOM; owned by the caller (imp_log_free) */
void imp_log_free(imp_log *l); /* NULL is a no-op */

/* Appends the impressions of the JSON-lines file at path (may be called
 * once per file). Errors: the file cannot be opened or read, OOM. */
int imp_log_read(imp_log *l, const char *path, mx_err *err);

/* Appends the impressions of one line of text (len bytes, no newline
 * needed): the unit the file reader uses, and the tests. */
int imp_log_add_line(imp_log *l, const char *line, size_t len, mx_err *err);

size_t imp_log_count(const imp_log *l);
/* Borrowed, valid until imp_log_free; i < imp_log_count. */
const imp_slate *imp_log_get(const imp_log *l, size_t i);
const imp_stats *imp_log_stats(const imp_log *l);

#endif

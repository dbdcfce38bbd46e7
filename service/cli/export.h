/* export.h - a Redis stream (the service's events or impressions log) as
 * JSON lines, the export format of docs (one object per entry: the
 * entry's fields with JSON types - ts and position numbers, items and
 * request parsed JSON - plus "stream_id", the entry's id).
 *
 * Used by `mixrec export` and by `mixrec retrain` (which resumes from the
 * last id it wrote). Reads with XRANGE in pages over one synchronous
 * hiredis connection; one call, one connection, one thread. */
#ifndef EXP_EXPORT_H
#define EXP_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mx_err.h"

#define EXP_ID_LEN 48 /* "<ms>-<seq>" fits */

typedef struct exp_opts {
    const char *url;     /* redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH[?db=N] */
    const char *key;     /* the stream's key */
    const char *from_id; /* resume after this id (exclusive); NULL: from the start */
    int64_t since_ms;    /* entries at or after this unix time in ms; < 0: no bound */
    size_t count;        /* at most this many entries; 0: all */
    size_t page;         /* XRANGE COUNT per round trip; 0: 1000 */
    int timeout_ms;      /* connect and command timeout; 0: 5000 */
    FILE *progress;      /* progress lines (entries, rate, last id); NULL: quiet */
} exp_opts;

void exp_opts_init(exp_opts *o);

typedef struct exp_result {
    size_t entries;           /* lines written */
    size_t unparsed;          /* items/request values that were not JSON: kept as text */
    char last_id[EXP_ID_LEN]; /* the last id written; "" when none */
    int stream_missing;       /* the key does not exist (0 entries, not an error) */
    /* from_id is no longer in the stream (its first entry, first_id, is
     * later): trimming (MAXLEN) has passed it, so entries after it may have
     * been deleted before this export - a possible gap */
    int trimmed_after_from;
    char first_id[EXP_ID_LEN];
    double seconds;
} exp_result;

/* Writes the entries after from_id (and since since_ms) to out, in stream
 * order. Errors (MX_EINVAL bad URL or id, MX_EIO Redis unreachable, a
 * refused AUTH, the key not a stream, a write error) fill err with a
 * message naming the URL or key; entries written before an error stay
 * written and res says how many and the last id. */
int exp_run(const exp_opts *o, FILE *out, exp_result *res, mx_err *err);

/* The live catalogue's hash (o->key, e.g. "mixrec:catalog:items") as
 * JSON lines, one per item: {"item": id, ...its record} (catalog.h), the
 * input of `mixrec build --catalog`. Reads with HSCAN. res->entries is
 * the count, res->unparsed the records that were not JSON objects (left
 * out). Errors as exp_run. */
int exp_catalog(const exp_opts *o, FILE *out, exp_result *res, mx_err *err);

/* "1733390000000-0" or "1733390000000" (sequence 0): 0, else MX_EINVAL. */
int exp_parse_id(const char *id, uint64_t *ms, uint64_t *seq);

/* A time as unix seconds, milliseconds or ISO 8601 (tsparse.h) into unix
 * milliseconds: 0, else MX_EINVAL. */
int exp_parse_since(const char *s, int64_t *ms, mx_err *err);

#endif

/* catalog.h - the live catalogue as data: what an operator changed about
 * items since the model was built (hidden, an expiry time, title,
 * categories) and the items the model has never seen (added through
 * PUT /v1/items/{item}), one record per item.
 *
 * A record is a JSON object, the public format of the hash
 * "mixrec:catalog:items" (docs/catalogue.md) and of `mixrec export
 * --catalog`: every key optional,
 *   hidden      true: never in an answer
 *   expires_at  unix seconds: not in any answer from then on
 *   title       string
 *   categories  array of strings (replaces the model's)
 *   vector      array of numbers: the item in the model's space (new items)
 *   new         true: added by PUT, not (yet) trained on
 *   added_at    unix seconds of the first PUT
 *   updated_at  unix seconds of the last change
 *
 * cat_change_of checks a client's change before anything is stored (the
 * whole change or nothing); a snapshot is every record at one moment,
 * immutable once built and shared read-only between threads (reference
 * counted, atomically). */
#ifndef CAT_CATALOG_H
#define CAT_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mx_err.h"

/* Bounds a record must keep (API errors name the field). */
#define CAT_MAX_TITLE 512
#define CAT_MAX_CATEGORIES 16
#define CAT_MAX_CATEGORY 64
#define CAT_MAX_DIM 4096
#define CAT_MAX_TS 4102444800LL /* 2100-01-01: later is a mistake, not a plan */

enum { CAT_HIDDEN = 1, CAT_NEW = 2, CAT_HAS_TITLE = 4, CAT_HAS_CATEGORIES = 8 };

typedef struct cat_item {
    const char *id;
    unsigned flags;     /* CAT_* */
    int64_t expires_at; /* 0: never */
    int64_t added_at, updated_at;
    const char *title;       /* CAT_HAS_TITLE */
    const char **categories; /* CAT_HAS_CATEGORIES (may be 0 of them) */
    size_t n_categories;
    const float *vector; /* NULL: none */
    size_t dim;
} cat_item;

/* 1 when the item must not appear in an answer at time now. */
int cat_item_blocked(const cat_item *it, int64_t now);

typedef struct cat_snapshot cat_snapshot;

/* An empty snapshot (one reference, the caller's). NULL on OOM. */
cat_snapshot *cat_snapshot_new(uint64_t generation);
/* Adds the stored record json (len bytes) of item id. A record that is not
 * a valid object is skipped and counted (cat_snapshot_skipped): one bad
 * record must not hide the others. MX_ENOMEM only. Before sharing. */
int cat_snapshot_add(cat_snapshot *s, const char *id, size_t id_len, const char *json, size_t len);
/* The promotions' JSON text as stored (copied; NULL: none). Before sharing. */
int cat_snapshot_set_promotions(cat_snapshot *s, const char *json, size_t len);

/* The records of a JSON-lines file (`mixrec export --stream catalog`:
 * one {"item": id, ...record} per line) as a snapshot (*out, the
 * caller's). Errors name the file and line. */
int cat_snapshot_read(const char *path, cat_snapshot **out, mx_err *err);

cat_snapshot *cat_snapshot_retain(cat_snapshot *s);
void cat_snapshot_release(cat_snapshot *s); /* NULL is a no-op; frees at the last */

uint64_t cat_snapshot_generation(const cat_snapshot *s);
size_t cat_snapshot_count(const cat_snapshot *s);
size_t cat_snapshot_skipped(const cat_snapshot *s);
const cat_item *cat_snapshot_at(const cat_snapshot *s, size_t i);
const cat_item *cat_snapshot_find(const cat_snapshot *s, const char *id); /* NULL: none */
const char *cat_snapshot_promotions(const cat_snapshot *s);               /* NULL: none */

/* The record as JSON (new reference): the keys it has. */
json_t *cat_item_json(const cat_item *it);

/* A client's change to an item, checked: mode CAT_PATCH takes any of
 * hidden, expires_at (null clears it), title, categories; CAT_PUT also
 * vector, whose length must be dim (the model's) when given. On success
 * *patch (new reference) is the change to merge into the stored record
 * (null values remove keys). Errors: *status 400 (a wrong type, an
 * unknown key, an empty or too long name) or 422 (a vector of the wrong
 * length, a timestamp out of 0..CAT_MAX_TS), field names the key
 * ("categories[2]"), err says why. */
enum { CAT_PATCH = 0, CAT_PUT = 1 };
int cat_change_of(const json_t *body, int mode, size_t dim, json_t **patch, int *status,
                  char *field, size_t field_size, mx_err *err);

#endif

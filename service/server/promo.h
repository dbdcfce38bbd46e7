/* promo.h - promotions: a list of rules naming items or a category, with a
 * share of an answer's slots or a fixed position, and a time window.
 *
 * Format (JSON array; the shared contract of issue 15):
 *   {"name": "spring-sale",            1..64 chars of [A-Za-z0-9_.-], unique
 *    "items": ["i1", "i2"] | "category": "shoes",       exactly one of them
 *    "share": 0.2 | "position": 0,  exactly one: share in (0, 1], position
 *                                   an integer in 0..limits.max_k-1
 *    "start": 1767225600, "end": 1767830400}    unix seconds, optional
 *                                   (absent: always), 0..4102444800, start < end
 * Over the whole list the shares sum to at most 1 and the positions are
 * distinct. Errors name the field as the request wrote it
 * (`promotions[1].share`) and say what is wrong ("share must be in (0, 1]",
 * "the shares sum to 1.2, over 100% of the slots").
 *
 * Where the rules go into an answer is place.h's (service/core/serve);
 * which items a category means is the catalogue's. This module parses,
 * checks and answers "which are active at t".
 *
 * Thread-safety: a promo_list is immutable after promo_parse; any number of
 * threads may read one (it owns a private copy of its JSON). */
#ifndef PROMO_PROMO_H
#define PROMO_PROMO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jfield.h"
#include "mx_err.h"

#define PROMO_MAX 256               /* promotions in one list */
#define PROMO_MAX_ITEMS 1000        /* items of one promotion */
#define PROMO_MAX_NAME 64           /* bytes of a name */
#define PROMO_MAX_ID 256            /* bytes of an item id or a category (API_MAX_ID) */
#define PROMO_MAX_TIME 4102444800LL /* 2100-01-01T00:00:00Z */
#define PROMO_FIELD_MAX JFIELD_MAX  /* room for a field name */

/* One promotion; every pointer into its list, valid as long as the list. */
typedef struct promo {
    const char *name;
    const char *const *items; /* n_items ids; NULL for a category promotion */
    size_t n_items;
    const char *category; /* NULL for an items promotion */
    double share;         /* in (0, 1]; 0 for a position promotion */
    int position;         /* 0-based slot; -1 for a share promotion */
    int64_t start;        /* 0 when absent */
    int64_t end;          /* PROMO_MAX_TIME + 1 when absent */
} promo;

typedef struct promo_list promo_list;

/* Parses and checks arr (borrowed; must be a JSON array), where `what`
 * names it in errors ("promotions" for a request body, "catalog.promotions"
 * for the setting) and max_k bounds positions. On success *out is a new
 * list (the caller frees it with promo_list_free); on error *out is NULL,
 * field (when not NULL, field_size bytes, PROMO_FIELD_MAX is enough) holds
 * the offending field, err the message (which starts with the field), and
 * the return is MX_EINVAL (MX_ENOMEM on OOM). Nothing is kept on error. */
int promo_parse(const json_t *arr, const char *what, int max_k, promo_list **out, char *field,
                size_t field_size, mx_err *err);
/* The same from JSON text (the setting's value; "" is the empty list). */
int promo_parse_text(const char *text, const char *what, int max_k, promo_list **out, char *field,
                     size_t field_size, mx_err *err);
/* An empty list (NULL on OOM). */
promo_list *promo_list_empty(void);
void promo_list_free(promo_list *l);

size_t promo_count(const promo_list *l);
/* Promotion i < promo_count(l), borrowed from l. */
const promo *promo_at(const promo_list *l, size_t i);
/* 1 when t is within p's window: start <= t < end. */
int promo_active(const promo *p, int64_t t);
/* The promotions of l active at t, in list order, up to cap into out
 * (borrowed from l); returns how many are active (may exceed cap). */
size_t promo_active_at(const promo_list *l, int64_t t, const promo **out, size_t cap);
/* Whether base and add may be in force together: names unique, shares
 * summing to at most 1, positions distinct over both. Errors name add's
 * fields (what[i].share), as add is what a request is changing; 0 or
 * MX_EINVAL with field and err set as promo_parse does. */
int promo_check_union(const promo_list *base, const promo_list *add, const char *what, char *field,
                      size_t field_size, mx_err *err);
/* Promotion i as its JSON object (new reference; the fields as given). */
json_t *promo_json(const promo_list *l, size_t i);
/* The whole list as a JSON array (new reference). */
json_t *promo_list_json(const promo_list *l);

#endif

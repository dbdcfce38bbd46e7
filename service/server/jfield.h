/* jfield.h - errors that name the JSON field at fault, for the settings and
 * request bodies that hold lists of named objects (promo.h, experiment.h):
 * "promotions[1].share: share must be in (0, 1]".
 *
 * Pure functions; any thread. */
#ifndef JFIELD_JFIELD_H
#define JFIELD_JFIELD_H

#include <stddef.h>

#include <jansson.h>

#include "mx_err.h"

#define JFIELD_MAX 96 /* room for a field name: "catalog.promotions[255].items[999]" */

/* Sets field (field_size bytes, may be NULL) to name and err to
 * "name: message"; returns MX_EINVAL. */
__attribute__((format(printf, 5, 6))) int
jfield_fail(char *field, size_t field_size, const char *name, mx_err *err, const char *fmt, ...);

/* f (JFIELD_MAX bytes) = at + suffix (printf-formatted), cut to fit. */
__attribute__((format(printf, 3, 4))) void jfield_at(char *f, const char *at, const char *fmt, ...);

/* The "name" field of object o (named at, "experiments[0]") into *out
 * (borrowed from o): 0, or MX_EINVAL naming at.name when it is not a name:
 * 1..max_len characters of A-Z a-z 0-9 _ . - */
int jfield_name(const json_t *o, const char *at, size_t max_len, const char **out, char *field,
                size_t field_size, mx_err *err);

/* The JSON text of a list setting as a new array (*out; the caller
 * decrefs): blank text is the empty array. Invalid JSON: MX_EINVAL named
 * `what` with the line and column; MX_ENOMEM. */
int jfield_load_list(const char *text, const char *what, json_t **out, char *field,
                     size_t field_size, mx_err *err);

#endif

/* settings.h - the one settings engine: typed tables of settings, after
 * Redis's config.c.
 *
 * A setting is one row: a dotted name ("embed.dim"), a type, where it is
 * stored (an offset into the struct the table fills), bounds or enum names,
 * a default written once as the text `--set` would take, a help line and,
 * for the few settings with their own syntax (a listen address, a Redis
 * URL, a list), a set hook that parses and stores the text. Everything
 * else is derived from the rows: defaults (settings_init), `--set
 * NAME=VALUE` (settings_set), the JSON config file (settings_load_file and
 * settings_load_json: one walker), MIXREC_<SECTION>_<KEY> environment
 * variables plus a table's short forms (settings_load_env), `--help`
 * (settings_help) and the JSON copy in the model manifest (settings_to_json).
 *
 * Tables. Each struct that holds settings has one table: the build's
 * (bcfg, service/core/bconfig.c: applies to build, eval and the model) and
 * the service's (srv_config, service/server/srv_config.c: applies to
 * serve). Both share config/mixrec.json, so which table owns which section
 * is written once, in settings_sections (settings.c): a file section owned
 * by the other table is skipped, a section nobody owns is an error, and a
 * renamed section fails naming the new name ("ranker.pool was renamed to
 * rank_train.pool"). Every error names the setting.
 *
 * This module knows nothing of HTTP, event loops or what the settings
 * mean; it uses only mx_err and jansson. Tables are static and immutable;
 * the functions are reentrant. */
#ifndef SETTINGS_SETTINGS_H
#define SETTINGS_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

#include "mx_err.h"

typedef enum {
    SETTINGS_INT,    /* int */
    SETTINGS_SIZE,   /* size_t */
    SETTINGS_U64,    /* uint64_t */
    SETTINGS_FLOAT,  /* float */
    SETTINGS_DOUBLE, /* double */
    SETTINGS_BOOL,   /* int 0/1; true, false, 1 or 0 */
    SETTINGS_ENUM,   /* an index into names, stored in an integer of `size` bytes */
    SETTINGS_STR,    /* char[size] */
    SETTINGS_HOOK    /* parsed and stored by the row's set hook */
} settings_type;

/* Where a setting applies (a table's and a section's mask). */
enum { SETTINGS_BUILD = 1, SETTINGS_SERVE = 2 };

/* Flags of the setters. RESTORE reads values this build wrote earlier (the
 * model manifest): renamed sections map to their new names and enums may
 * be the numbers older builds wrote. */
enum { SETTINGS_RESTORE = 1 };

typedef struct settings_row settings_row;

/* Parses text and stores it into obj; returns 0 or fills err naming r->name. */
typedef int (*settings_set_fn)(void *obj, const settings_row *r, const char *text, mx_err *err);

struct settings_row {
    const char *name; /* "section.key" */
    settings_type type;
    size_t offset, size;      /* size: bytes of a STR buffer or of an ENUM's integer */
    double min, max;          /* numbers: inclusive bounds */
    const char *def;          /* the default, as text --set takes */
    const char *const *names; /* ENUM: the names, by value, NULL-terminated */
    const char *help;
    settings_set_fn set; /* HOOK only */
};

typedef struct settings_table {
    const settings_row *rows;
    size_t n_rows;
    unsigned applies;                /* SETTINGS_BUILD or SETTINGS_SERVE */
    const char *const (*aliases)[2]; /* environment short forms {"MIXREC_MODEL",
                                        "server.model_dir"}, {NULL, NULL}-terminated; may
                                        be NULL */
} settings_table;

/* A section of the config file: who owns it, or its new name. */
typedef struct settings_section {
    const char *name;
    unsigned applies;       /* 0 for a renamed section */
    const char *renamed_to; /* a renamed section's new name, else NULL */
} settings_section;

/* Every section of the config file, {NULL}-terminated. */
extern const settings_section settings_sections[];

/* The row called name in t, or NULL. */
const settings_row *settings_find(const settings_table *t, const char *name);

/* Applies every row's default to obj (fields no row names are left as they
 * are: the caller zeroes obj first). */
void settings_init(const settings_table *t, void *obj);

/* name=value. Bounds, integers, enum names are checked; errors name the
 * setting ("embed.dim: 0 is out of range [1, 1024]"), an unknown name says
 * so, a renamed one gives its new name. obj is unchanged on error. */
int settings_set(const settings_table *t, void *obj, const char *name, const char *value,
                 unsigned flags, mx_err *err);

/* Applies the sections t owns of a parsed config (a json_t object); the
 * other table's sections and keys starting with '_' (comments) are
 * skipped. Errors are prefixed with where ("FILE: ..."). */
int settings_load_json(const settings_table *t, void *obj, const void *json, const char *where,
                       unsigned flags, mx_err *err);

/* settings_load_json of a file: MX_EIO if it cannot be opened, MX_EFORMAT
 * with FILE:LINE:COLUMN for a syntax error. */
int settings_load_file(const settings_table *t, void *obj, const char *path, mx_err *err);

/* Applies MIXREC_<SECTION>_<KEY> variables (and t's short forms) from envp,
 * NULL-terminated. A MIXREC_ variable that names none of t's settings is an
 * error, so a typo does not silently fall back to a default. */
int settings_load_env(const settings_table *t, void *obj, char **envp, mx_err *err);

/* The value of row r in obj as text (HOOK rows: their default). */
void settings_format(const settings_row *r, const void *obj, char *buf, size_t len);

/* The values of obj as a new json_t object of sections (caller owns);
 * enums as their names, infinities as null. */
void *settings_to_json(const settings_table *t, const void *obj);

/* Writes one line per setting to f: name, default, help (and an enum's
 * names). */
void settings_help(const settings_table *t, FILE *f);

#endif

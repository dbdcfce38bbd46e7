/* bconfig.h - the model-building configuration: one table of settings.
 *
 * Every setting has a dotted name ("embed.dim"), a type, a default, bounds
 * and a help line, kept in one table (after Redis's config.c) that drives
 * the JSON config file, `--set name=value` flags, `--help` and the copy of
 * the parameters recorded in the model manifest. The JSON file nests the
 * sections: {"embed": {"dim": 64}, "mixture": {"k0": 20}}. Sections owned
 * by other parts (server, redis, ranking, ...) are skipped here; an unknown
 * section or key is an error naming it. */
#ifndef BCFG_BCONFIG_H
#define BCFG_BCONFIG_H

#include <stddef.h>

#include "embed.h"
#include "interests.h"
#include "mixture.h"
#include "mx_err.h"
#include "rank_params.h"
#include "retrieve.h"

typedef struct bcfg {
    emb_params embed;
    intr_params interests;
    mix_params mixture;
    ret_params retrieval;
    rank_params ranker;
    double pop_half_life_days; /* popularity decay; 0 = plain counts */
    double mix_half_life_days; /* mixture decay; copied into mixture.half_life */
    double emb_half_life_days; /* ALS confidence decay; copied into embed.half_life */
    float min_value;           /* drop events with a lower value at import */
    /* evaluation */
    int split_per_user;    /* 0: global time cut-off, 1: per-user last fraction */
    double test_frac;      /* fraction of events (global) or of each user's (per-user) */
    size_t min_train;      /* test users need this many training events */
    double valid_frac;     /* validation split carved from the training period */
    size_t max_eval_users; /* 0 = all; else a deterministic sample */
} bcfg;

typedef enum { BCFG_SIZE, BCFG_FLOAT, BCFG_DOUBLE, BCFG_U64, BCFG_BOOL } bcfg_type;

typedef struct bcfg_entry {
    const char *name;
    bcfg_type type;
    size_t offset;
    double min, max;
    const char *help;
} bcfg_entry;

void bcfg_init(bcfg *c);

/* The table, for help output. */
const bcfg_entry *bcfg_entries(size_t *n);

/* name=value, e.g. "embed.dim=32". Bounds are checked. */
int bcfg_set(bcfg *c, const char *name, const char *value, mx_err *err);

/* Applies a JSON file over the current values. */
int bcfg_load_file(bcfg *c, const char *path, mx_err *err);

/* The settings as a new jansson object (json_t*, caller owns). */
void *bcfg_to_json(const bcfg *c);

/* Writes "name = value" of entry e into buf. */
void bcfg_format_value(const bcfg *c, const bcfg_entry *e, char *buf, size_t len);

/* Finalises derived values (half-lives in seconds) before use. */
void bcfg_finish(bcfg *c);

#endif

/* bconfig.h - the model-building configuration: the build's table of the
 * settings engine (settings.h).
 *
 * Every setting is one row of bconfig.c: a dotted name ("embed.dim"), a
 * type, a default, bounds or enum names and a help line. The rows drive
 * the defaults (bcfg_init, and through it emb_params_init, mix_params_init,
 * intr_params_init, ret_params_init and rank_params_init: each default is
 * written once, in the row), the JSON config file, `--set name=value`,
 * `--help` and the copy of the parameters recorded in the model manifest.
 * The JSON file nests the sections: {"embed": {"dim": 64}, "mixture": {"k0":
 * 20}}. The service's sections of the same file (server, redis, ranking,
 * ...) are skipped here (settings_sections says who owns which); an
 * unknown section or key is an error naming it. The section "ranker" was
 * renamed "rank_train" (it sat next to the service's "ranking"): a file
 * that still uses it fails naming the new name, a model manifest written
 * with it still loads (bcfg_restore_json). */
#ifndef BCFG_BCONFIG_H
#define BCFG_BCONFIG_H

#include <stddef.h>

#include "embed.h"
#include "evtype.h"
#include "interests.h"
#include "mixture.h"
#include "mx_err.h"
#include "rank_params.h"
#include "retrieve.h"
#include "settings.h"

typedef struct bcfg {
    emb_params embed;
    intr_params interests;
    mix_params mixture;
    ret_params retrieval;
    rank_params ranker;            /* the "rank_train" section */
    double pop_half_life_days;     /* popularity decay; 0 = plain counts */
    double mix_half_life_days;     /* mixture decay; copied into mixture.half_life */
    double emb_half_life_days;     /* ALS confidence decay; copied into embed.half_life */
    float min_value;               /* drop events with a lower value at import */
    double event_weight[EVTYPE_N]; /* an imported type column's weights (events.*) */
    /* evaluation */
    int split_per_user;    /* 0: global time cut-off, 1: per-user last fraction */
    double test_frac;      /* fraction of events (global) or of each user's (per-user) */
    size_t min_train;      /* test users need this many training events */
    double valid_frac;     /* validation split carved from the training period */
    size_t max_eval_users; /* 0 = all; else a deterministic sample */
} bcfg;

typedef settings_row bcfg_entry;

/* Zeroes c and applies every row's default. */
void bcfg_init(bcfg *c);

/* The build's table (static). */
const settings_table *bcfg_settings(void);

/* The rows, for help output and the manifest. */
const bcfg_entry *bcfg_entries(size_t *n);

/* name=value, e.g. "embed.dim=32". Bounds are checked. */
int bcfg_set(bcfg *c, const char *name, const char *value, mx_err *err);

/* Applies a JSON file over the current values. */
int bcfg_load_file(bcfg *c, const char *path, mx_err *err);

/* Applies the parameters a model manifest recorded (bcfg_to_json's layout,
 * a json_t*) over c: absent entries, nulls (an infinite value), unknown
 * names and values this build rejects keep their current values, so they
 * never stop a model from loading; renamed sections and enums written as
 * numbers by older builds are read. */
void bcfg_restore_json(bcfg *c, const void *params);

/* The settings as a new jansson object (json_t*, caller owns). */
void *bcfg_to_json(const bcfg *c);

/* Writes the value of entry e in c into buf. */
void bcfg_format_value(const bcfg *c, const bcfg_entry *e, char *buf, size_t len);

/* Finalises derived values (half-lives in seconds) before use. */
void bcfg_finish(bcfg *c);

#endif

/* cli_tune.h - `mixrec tune`'s search with its table and settings file,
 * shared by `mixrec tune` and `mixrec build --tune`. */
#ifndef CLI_TUNE_H
#define CLI_TUNE_H

#include <stdint.h>
#include <stdio.h>

#include "cli_util.h"
#include "tune.h"

typedef struct cli_tune_opts {
    tune_params p;
    uint64_t seed;   /* embed.seed, interests.seed and rank_train.seed */
    int seed_set;    /* 0: the settings' own seeds */
    const char *out; /* settings file to write (NULL: none) */
} cli_tune_opts;

void cli_tune_opts_init(cli_tune_opts *o);

/* "600", "90s", "10m", "1h" into seconds; 2 on a bad value (printed). */
int cli_tune_budget(const char *arg, double *seconds);

/* Runs the search from d->cfg over ds, printing one table row per trial on
 * table (stdout or stderr) and the winner; writes o->out: d->config_file's
 * JSON (or an empty object) with every searched setting at its chosen
 * value and a "_tuned" section saying where they came from. On success
 * d->cfg holds the chosen settings. 0, or 1 on failure (printed). */
int cli_tune_run(cli_data *d, const ds_dataset *ds, const cli_tune_opts *o, FILE *table);

#endif

/* cli_util.h - option parsing shared by the subcommands.
 *
 * Each subcommand declares a table of options; cli_parse walks argv
 * ("--name value" or "--name=value"), calls the handler for each and
 * prints usage from the same table, so --help can never drift from what
 * is accepted. The data options (interaction log, metadata, formats,
 * config) are shared by build and eval. */
#ifndef CLI_UTIL_H
#define CLI_UTIL_H

#include <stdio.h>

#include "bconfig.h"
#include "catalog.h"
#include "dataset.h"
#include "model.h"
#include "pipeline.h"

typedef struct cli_opt {
    const char *name; /* without the leading "--" */
    const char *arg;  /* metavar, NULL for a flag */
    const char *help;
    int id;
} cli_opt;

/* Returns 0 on success, 1 if --help was printed (by usage, on stdout), 2 on a usage error (the
 * message is printed). handler returns 0 or prints and returns 2. */
int cli_parse(int argc, char **argv, void (*usage)(FILE *f), const cli_opt *opts,
              int (*handler)(void *ud, int id, const char *arg), void *ud);

void cli_print_options(FILE *f, const cli_opt *opts);

/* cli_parse over cli_data_opts and the command's own opts together (build,
 * eval, tune, retrain); the same return values. */
int cli_parse_data(int argc, char **argv, void (*usage)(FILE *f), const cli_opt *own,
                   int (*handler)(void *ud, int id, const char *arg), void *ud);

/* Data options shared by build and eval. */
#define CLI_MAX_SOURCES 256

typedef struct cli_data {
    const char *interactions, *items; /* interactions: the first source */
    /* every --interactions, in order (retrain adds its exports here) */
    const char *sources[CLI_MAX_SOURCES];
    size_t n_sources;
    ds_import_opts imp;
    bcfg cfg;
    pipe_inputs in;
    const char *config_file;
    const char *sets[64];
    size_t n_sets;
} cli_data;

extern const cli_opt cli_data_opts[]; /* ids 1000.. ; terminated by {0} */

void cli_data_init(cli_data *d);
/* Handles one data option (id >= 1000); 2 on error (printed). */
int cli_data_option(cli_data *d, int id, const char *arg);
/* Adds one interaction source (as --interactions does); 2 when full. */
int cli_data_add_source(cli_data *d, const char *path);
/* After parsing: checks required options, loads the config file, applies
 * --set overrides, loads the dataset (every source merged, ds_load_many)
 * and prints one line per source (what it read, kept and dropped). Prints
 * errors; returns 0, or 2 for usage/config errors and 1 for data errors. */
int cli_data_finish(cli_data *d, ds_dataset **ds);

/* `--catalog PATH` (JSON lines of catalogue records): reads them, applies
 * their titles and categories to ds's items that have events, and gives
 * the records (*out, the caller's to release) for pipe_inputs.catalog.
 * Prints a summary line or the error; 0, 2 (unreadable) or 1 (malformed). */
int cli_catalog_apply(const char *path, ds_dataset *ds, cat_snapshot **out);

/* The input formats and how columns are found: build's and eval's --help. */
void cli_print_input_help(FILE *f);

/* Prints the settings of t (--set NAME=VALUE or --config sections) with
 * their built-in defaults and help: build's, eval's and serve's --help.
 * `sources` (text ending in a newline) says what overrides the defaults. */
void cli_print_settings(FILE *f, const settings_table *t, const char *sources);

/* build's and eval's `sources` for cli_print_settings. */
extern const char cli_data_sources[];

/* Timestamped progress line on stderr (format checked). */
void cli_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* m's build report (model.h): how the interest count was chosen, then one
 * "warning: ..." line per thing the data was too small for. */
void cli_log_build_report(const mx_model *m);

#endif

/* cli_slates.h - `--impressions FILE` (repeatable) of build and eval: the
 * logged slates the ranker may train on (slate_train.h). Kept out of
 * cli_util.c's data options on purpose: it is an input of the ranker, not
 * of the dataset. Single-threaded, like the rest of the CLI. */
#ifndef CLI_SLATES_H
#define CLI_SLATES_H

#include <stdio.h>

#include "impressions.h"
#include "pipeline.h"
#include "rank_train.h"

#define CLI_SLATES_MAX_FILES 32

typedef struct cli_slates {
    const char *paths[CLI_SLATES_MAX_FILES]; /* borrowed from argv */
    size_t n;
    imp_log *log; /* owned; cli_slates_free */
} cli_slates;

/* The option row and its help, for build's and eval's option tables. */
#define CLI_SLATES_OPT(id)                                                                         \
    {                                                                                              \
        "impressions", "FILE",                                                                     \
            "logged slates, JSON lines as `mixrec export` writes them (repeatable): the ranker "   \
            "trains on them when there are rank_train.min_slates engaged ones",                    \
            (id)                                                                                   \
    }

/* One --impressions; 2 on error (printed). */
int cli_slates_add(cli_slates *s, const char *path);
/* Reads every file (progress and skipped lines on stderr) and points
 * in->impressions at the log; nothing without --impressions. 1 on error
 * (printed). */
int cli_slates_load(cli_slates *s, pipe_inputs *in);
void cli_slates_free(cli_slates *s);

/* One line on what the ranker trained on, for build's and eval's output:
 * "slates (N slates, ...)" or "temporal split" plus why not slates. */
void cli_slates_print(FILE *f, const rkt_report *rr, int had_impressions);

#endif

/* cmd_tune.c - `mixrec tune`: searches the quality settings on a
 * validation split of the training period and writes them as a settings
 * file (tune.h says how). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_tune.h"
#include "cli_util.h"
#include "commands.h"

enum { T_OUT = 1, T_BUDGET, T_TRIALS, T_PASSES, T_SEED, T_MAX_USERS, T_SWEEP };

static const cli_opt tune_opts[] = {
    {"out", "FILE", "settings file to write (required; may be the --config file itself)", T_OUT},
    {"budget", "TIME", "wall-clock budget: 600, 90s, 10m, 1h (default 10m)", T_BUDGET},
    {"trials", "N", "stop after N trials (a budget that does not depend on the machine)", T_TRIALS},
    {"passes", "N", "passes over the grid at most (default 2)", T_PASSES},
    {"seed", "S", "seed of the embeddings, interests and ranker (default: the settings')", T_SEED},
    {"max-users", "N", "score a deterministic sample of N validation users per trial", T_MAX_USERS},
    {"sweep", NULL,
     "score every value of the grid alone from the start instead of searching (how the "
     "built-in defaults were chosen); the file records the trials",
     T_SWEEP},
    {0},
};

typedef struct {
    cli_data data;
    cli_tune_opts o;
} tune_args;

static int parse_count(const char *name, const char *arg, size_t lo, size_t *out) {
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (end == arg || *end || arg[0] == '-' || v < lo || v > 100000000ULL) {
        fprintf(stderr, "mixrec tune: --%s wants an integer >= %zu, got '%s'\n", name, lo, arg);
        return 2;
    }
    *out = (size_t)v;
    return 0;
}

static int on_opt(void *ud, int id, const char *arg) {
    tune_args *a = ud;
    size_t v = 0;
    if (id >= 1000) return cli_data_option(&a->data, id, arg);
    switch (id) {
    case T_OUT:
        a->o.out = arg;
        return 0;
    case T_BUDGET:
        return cli_tune_budget(arg, &a->o.p.budget_s);
    case T_TRIALS:
        return parse_count("trials", arg, 1, &a->o.p.max_trials);
    case T_PASSES:
        return parse_count("passes", arg, 1, &a->o.p.max_passes);
    case T_MAX_USERS:
        return parse_count("max-users", arg, 1, &a->o.p.max_users);
    case T_SWEEP:
        a->o.p.sweep = 1;
        return 0;
    case T_SEED:
        if (parse_count("seed", arg, 0, &v)) return 2;
        a->o.seed = v;
        a->o.seed_set = 1;
        return 0;
    }
    return 2;
}

static void usage(FILE *f) {
    size_t n = 0;
    const tune_coord *plan = tune_default_plan(&n);
    fprintf(f,
            "Usage: mixrec tune --interactions PATH [--items PATH] [--config FILE] [--set ...]\n"
            "                   [--budget 10m] [--trials N] [--seed S] --out FILE\n\n"
            "Searches the settings that decide quality on a validation split carved from the\n"
            "training period (the last eval.test_frac of events is never read; the last\n"
            "eval.valid_frac of the rest scores every trial). A trial builds the model and its\n"
            "ranker and scores the service's answer: the objective is ranked NDCG@10 +\n"
            "recall@10, under the constraint that the pool's recall@100 is at least 0.95x the\n"
            "best single source's. Coordinate descent over the grid below, starting from the\n"
            "settings given (--config, --set, else the built-in defaults); a value is kept when\n"
            "it beats the best by more than 0.5%%. Prints a table of trials and the winner and\n"
            "writes FILE: the --config file (or an empty one) with every searched setting at\n"
            "its chosen value and a \"_tuned\" section (data fingerprint, split, objective,\n"
            "scores). Use it with `mixrec build --config FILE`, or tune and build in one step\n"
            "with `mixrec build --tune`.\n\nThe grid:\n");
    for (size_t c = 0; c < n; c++) {
        fprintf(f, "  %-30s", plan[c].label);
        for (size_t v = 0; v < plan[c].n_values; v++)
            fprintf(f, "%s%s", v ? " | " : "", plan[c].values[v]);
        fprintf(f, "\n");
    }
    fprintf(f, "\nOptions:\n");
    cli_print_options(f, cli_data_opts);
    cli_print_options(f, tune_opts);
    fprintf(f, "\n");
    cli_print_input_help(f);
}

int cmd_tune(int argc, char **argv) {
    tune_args a;
    memset(&a, 0, sizeof(a));
    cli_data_init(&a.data);
    cli_tune_opts_init(&a.o);
    int rc = cli_parse_data(argc, argv, usage, tune_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    if (!a.o.out) {
        fprintf(stderr, "mixrec tune: --out FILE is required (see --help)\n");
        return 2;
    }
    ds_dataset *ds = NULL;
    if ((rc = cli_data_finish(&a.data, &ds))) return rc;
    rc = cli_tune_run(&a.data, ds, &a.o, stdout);
    ds_free(ds);
    return rc;
}

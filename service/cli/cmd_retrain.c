/* cmd_retrain.c - `mixrec retrain`: the loop that closes the service's
 * loop (retrain.h does one run): one shot, or every DURATION until SIGINT
 * or SIGTERM. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_util.h"
#include "commands.h"
#include "retrain.h"
#include "tenants.h"

enum { R_MODEL = 1, R_BASE, R_REDIS, R_KEY, R_TENANT, R_EVERY, R_KEEP, R_MARGIN, R_HOLDOUT };

/* Exit codes of a one-shot run (also in --help). */
enum { EXIT_PROMOTED = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_KEPT = 3 };

static const cli_opt retrain_opts[] = {
    {"model", "ROOT", "model root: versions, CURRENT, and retrain/ (exports, state) (required)",
     R_MODEL},
    {"base", "LOG", "the historical log every build starts from (required; repeatable)", R_BASE},
    {"redis", "URL", "redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH (required)", R_REDIS},
    {"key", "KEY", "the events stream (default mixrec:events)", R_KEY},
    {"tenant", "NAME", "a tenant's events stream (tenants.list: mixrec@NAME:events)", R_TENANT},
    {"every", "DURATION", "run again every DURATION (e.g. 1h, 30m, 10s); default: once", R_EVERY},
    {"keep", "N", "keep the newest N versions (CURRENT and the new one always; 0: all; default 5)",
     R_KEEP},
    {"margin", "M",
     "promote unless NDCG@10 is worse than the serving one's by more than M, "
     "relative (default 0.02)",
     R_MARGIN},
    {"holdout", "F",
     "judge on the latest F of the events the serving version has not seen (default 0.2)",
     R_HOLDOUT},
    {0},
};

typedef struct {
    cli_data data;
    rt_opts o;
    double every; /* seconds; 0 once */
} retrain_args;

static int parse_num(const char *name, const char *arg, double lo, double hi, double *out) {
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "mixrec retrain: --%s wants a number in [%g, %g], got '%s'\n", name, lo, hi,
                arg);
        return 2;
    }
    *out = v;
    return 0;
}

/* "90", "90s", "30m", "1h", "1d" into seconds. */
static int parse_duration(const char *arg, double *out) {
    char *end;
    double v = strtod(arg, &end), unit = 1;
    if (!strcmp(end, "m"))
        unit = 60;
    else if (!strcmp(end, "h"))
        unit = 3600;
    else if (!strcmp(end, "d"))
        unit = 86400;
    else if (*end && strcmp(end, "s"))
        end = (char *)arg; /* unknown unit */
    if (end == arg || !(v > 0) || !isfinite(v * unit)) {
        fprintf(stderr, "mixrec retrain: --every wants a duration like 1h, 30m or 10s, got '%s'\n",
                arg);
        return 2;
    }
    *out = v * unit;
    return 0;
}

static int on_opt(void *ud, int id, const char *arg) {
    retrain_args *a = ud;
    double v;
    if (id >= 1000) return cli_data_option(&a->data, id, arg);
    switch (id) {
    case R_MODEL:
        a->o.root = arg;
        return 0;
    case R_BASE:
        return cli_data_add_source(&a->data, arg);
    case R_REDIS:
        a->o.redis_url = arg;
        return 0;
    case R_KEY:
        a->o.key = arg;
        return 0;
    case R_TENANT: {
        static char key[128]; /* one --tenant per process */
        if (!tn_name_valid(arg)) {
            fprintf(stderr, "mixrec retrain: --tenant: '%s' is not a tenant name\n", arg);
            return 2;
        }
        snprintf(key, sizeof(key), "mixrec@%s:events", arg);
        a->o.key = key;
        return 0;
    }
    case R_EVERY:
        return parse_duration(arg, &a->every);
    case R_KEEP:
        if (parse_num("keep", arg, 0, 100000, &v)) return 2;
        a->o.keep = (size_t)v;
        return 0;
    case R_MARGIN:
        return parse_num("margin", arg, 0, 1, &a->o.margin);
    case R_HOLDOUT:
        if (parse_num("holdout", arg, 0.001, 0.9, &a->o.holdout)) return 2;
        return 0;
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "Usage: mixrec retrain --model ROOT --base LOG --redis URL [--every DURATION]\n"
               "                      [--keep N] [--margin M] [--config FILE] [--set K=V ...]\n\n"
               "One run: exports the events the stream got since the last run into\n"
               "ROOT/retrain/events-<n>.jsonl (ROOT/retrain/state.json holds the last id), loads\n"
               "the base log plus every export, holds out the latest window (--holdout of the\n"
               "events newer than the serving version's data, by time), builds a candidate on\n"
               "the events before it and scores it and the serving version (ROOT/CURRENT) on\n"
               "the same window users with `mixrec eval`'s code;\n"
               "promotes unless its NDCG@10 is worse by more than --margin (relative). A\n"
               "promoted version is rebuilt on every event, window included, saved, and\n"
               "CURRENT is pointed at it atomically; a losing candidate is saved, not served.\n"
               "Either way its manifest gets a \"retrain\" object with the decision and both\n"
               "sets of figures. Then versions beyond --keep are pruned.\n"
               "With --every it runs until SIGINT/SIGTERM (the run in progress finishes); a\n"
               "failed run is logged and the next one tries again.\n"
               "Exit codes (one shot): 0 promoted, 3 kept the serving version (the candidate\n"
               "lost, or no new events), 1 failed (CURRENT unchanged), 2 usage.\n\nOptions:\n");
    cli_print_options(f, retrain_opts);
    cli_print_options(f, cli_data_opts);
    fprintf(f, "\n");
    cli_print_settings(f, bcfg_settings(), cli_data_sources);
}

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static int one_run(const retrain_args *a) {
    rt_outcome out = RT_KEPT;
    mx_err err = {0};
    if (rt_run_once(&a->o, &out, &err)) {
        cli_log("retrain: failed: %s (CURRENT unchanged)", err.msg);
        fprintf(stderr, "mixrec retrain: %s\n", err.msg);
        return EXIT_FAILED;
    }
    return out == RT_PROMOTED ? EXIT_PROMOTED : EXIT_KEPT;
}

int cmd_retrain(int argc, char **argv) {
    retrain_args *a = calloc(1, sizeof(*a));
    if (!a) return 1;
    cli_data_init(&a->data);
    a->o.keep = 5;
    a->o.margin = 0.02;
    a->o.holdout = 0.2;
    int rc = cli_parse_data(argc, argv, usage, retrain_opts, on_opt, a);
    if (rc) {
        free(a);
        return rc == 1 ? 0 : rc;
    }
    const char *missing = !a->o.root           ? "--model ROOT"
                          : !a->data.n_sources ? "--base LOG"
                          : !a->o.redis_url    ? "--redis URL"
                                               : NULL;
    if (missing) {
        fprintf(stderr, "mixrec retrain: %s is required (see --help)\n", missing);
        free(a);
        return EXIT_USAGE;
    }
    a->o.data = &a->data;
    if (a->every <= 0) {
        rc = one_run(a);
        free(a);
        return rc;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    cli_log("retrain: every %gs; SIGINT or SIGTERM stops", a->every);
    while (!g_stop) {
        one_run(a); /* a failure is logged; the next run tries again */
        for (double slept = 0; !g_stop && slept < a->every; slept += 0.2) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    cli_log("retrain: stopped by a signal");
    free(a);
    return 0;
}

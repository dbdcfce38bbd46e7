/* cmd_build.c - `mixrec build`: trains a model and saves a new version. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_slates.h"
#include "cli_tune.h"
#include "cli_util.h"
#include "commands.h"
#include "model.h"
#include "pipeline.h"
#include "rank_train.h"

enum { B_OUT = 1, B_IMPRESSIONS, B_CATALOG, B_TUNE, B_BUDGET };

static const cli_opt build_opts[] = {
    {"out", "DIR", "model root: the new version goes in DIR/<version>, DIR/CURRENT points at it",
     B_OUT},
    CLI_SLATES_OPT(B_IMPRESSIONS),
    {"catalog", "FILE",
     "the live catalogue's records (`mixrec export --stream catalog`): titles and categories "
     "set by operators replace the metadata's, hidden and expired items get no popularity",
     B_CATALOG},
    {"tune", NULL,
     "first search the quality settings on this data (`mixrec tune`; they are written to "
     "DIR/tuned.json), then build with them",
     B_TUNE},
    {"budget", "TIME", "--tune: its wall-clock budget (default 10m)", B_BUDGET},
    {0},
};

typedef struct {
    cli_data data;
    const char *out, *catalog;
    cli_slates slates;
    int tune;
    cli_tune_opts tune_opts;
} build_args;

static int on_opt(void *ud, int id, const char *arg) {
    build_args *a = ud;
    if (id >= 1000) return cli_data_option(&a->data, id, arg);
    if (id == B_OUT) a->out = arg;
    if (id == B_IMPRESSIONS) return cli_slates_add(&a->slates, arg);
    if (id == B_CATALOG) a->catalog = arg;
    if (id == B_TUNE) a->tune = 1;
    if (id == B_BUDGET) return cli_tune_budget(arg, &a->tune_opts.p.budget_s);
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "Usage: mixrec build --interactions PATH [--interactions PATH ...] [--items PATH]\n"
               "                    [--format FMT] [--config FILE]\n"
               "                    [--columns LIST] [--set NAME=VALUE ...] [--tune [--budget T]]\n"
               "                    --out DIR\n\n"
               "Learns item and user embeddings (implicit ALS), clusters items into interests\n"
               "(spherical k-means), computes every user's kNN-smoothed interest mixture and\n"
               "popularity, builds the interest-list IVF index, and saves it all as a new\n"
               "model version.\n\nOptions:\n");
    cli_print_options(f, cli_data_opts);
    cli_print_options(f, build_opts);
    fprintf(f, "\n");
    cli_print_input_help(f);
    cli_print_settings(f, bcfg_settings(), cli_data_sources);
}

/* --tune: the search's table on stderr (stdout stays the build's summary),
 * its settings in DIR/tuned.json, a->data.cfg the chosen ones. */
static int tune_first(build_args *a, const ds_dataset *ds) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/tuned.json", a->out);
    if (mkdir(a->out, 0755) && errno != EEXIST) {
        fprintf(stderr, "mixrec build: cannot create %s: %s\n", a->out, strerror(errno));
        return 1;
    }
    a->tune_opts.out = path;
    return cli_tune_run(&a->data, ds, &a->tune_opts, stderr);
}

int cmd_build(int argc, char **argv) {
    build_args a;
    memset(&a, 0, sizeof(a));
    cli_data_init(&a.data);
    cli_tune_opts_init(&a.tune_opts);
    int rc = cli_parse_data(argc, argv, usage, build_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    if (!a.out) {
        fprintf(stderr, "mixrec build: --out DIR is required (see --help)\n");
        return 2;
    }
    ds_dataset *ds = NULL;
    if ((rc = cli_data_finish(&a.data, &ds))) return rc;
    cat_snapshot *catalog = NULL;
    if (a.catalog && (rc = cli_catalog_apply(a.catalog, ds, &catalog))) {
        ds_free(ds);
        return rc;
    }
    a.data.in.catalog = catalog;
    a.data.in.catalog_now = (int64_t)time(NULL);
    if ((rc = cli_slates_load(&a.slates, &a.data.in))) {
        cli_slates_free(&a.slates);
        cat_snapshot_release(catalog);
        ds_free(ds);
        return rc;
    }
    if (a.tune && (rc = tune_first(&a, ds))) {
        cli_slates_free(&a.slates);
        cat_snapshot_release(catalog);
        ds_free(ds);
        return rc;
    }
    size_t n_ev = 0;
    const ds_event *ev = ds_events(ds, &n_ev);
    mx_model *m = NULL;
    mx_err err = {0};
    pipe_timings t;
    rkt_report rr;
    if (a.data.cfg.ranker.enabled)
        cli_log("training the ranker: an early model before the cut, then XGBoost");
    cli_log("building: dim %zu, interests %s, k %zu, k0 %g, m %zu", a.data.cfg.embed.dim,
            a.data.cfg.interests.n_clusters ? "set" : "auto", a.data.cfg.mixture.knn_k,
            (double)a.data.cfg.mixture.k0, a.data.cfg.mixture.top_m);
    if (rkt_build(ds, ev, n_ev, &a.data.cfg, &a.data.in, &m, &t, &rr, &err)) {
        fprintf(stderr, "mixrec build: %s\n%s", err.msg,
                rr.failed ? "(rank_train.enabled=0 builds without a ranker)\n" : "");
        ds_free(ds);
        cli_slates_free(&a.slates);
        cat_snapshot_release(catalog);
        return 1;
    }
    cli_slates_free(&a.slates);
    cat_snapshot_release(catalog);
    cli_log_build_report(m); /* the ranker's absence included */
    if (rr.trained)
        cli_log("ranker: %zu rounds, validation NDCG@10 %.4f -> %.4f, %zu + %zu users; early "
                "model %.2fs, examples %.2fs, XGBoost %.2fs",
                rr.xgb.rounds, rr.xgb.valid_first, rr.xgb.valid_best, rr.users_train,
                rr.users_valid, rr.seconds_early_model, rr.seconds_examples, rr.seconds_xgboost);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cli_log("embeddings %.2fs, interests %.2fs, mixtures %.2fs, index %.2fs; peak RSS %ld MiB",
            t.embed, t.interests, t.mixtures, t.index, ru.ru_maxrss / 1024);
    char version[48];
    double ts = pipe_now();
    if (model_save(m, a.out, version, &err)) {
        fprintf(stderr, "mixrec build: %s\n", err.msg);
        model_free(m);
        ds_free(ds);
        return 1;
    }
    cli_log("saved %s/%s in %.2fs", a.out, version, pipe_now() - ts);
    printf("model %s/%s: %zu users, %zu items (%zu indexed), %zu interests, dim %zu\n", a.out,
           version, m->n_users, m->n_items, ann_ntotal(m->index), m->n_clusters, m->dim);
    if (a.data.cfg.ranker.enabled && rr.trained) cli_slates_print(stdout, &rr, a.slates.n > 0);
    printf("interests:\n");
    for (size_t c = 0; c < m->n_clusters && c < 64; c++) {
        const lbl_label *l = &m->labels[c];
        printf("  %3zu  %-36s %3.0f%% %6u items", c, l->name, 100.0 * l->coverage, l->size);
        /* a title label shows its examples already */
        for (int k = 0; l->kind != LBL_TITLES && k < 2 && l->top_items[k] != UINT32_MAX; k++) {
            const char *title = m->titles && m->titles[l->top_items[k]]
                                    ? m->titles[l->top_items[k]]
                                    : m->item_ids[l->top_items[k]];
            printf("%s%s", k ? "; " : "  e.g. ", title);
        }
        printf("\n");
    }
    if (m->n_clusters > 64) printf("  ... %zu more in interests.json\n", m->n_clusters - 64);
    model_free(m);
    ds_free(ds);
    return 0;
}

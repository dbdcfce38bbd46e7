/* cmd_eval.c - `mixrec eval`: temporal split, build on the past, score the
 * future, every retrieval method side by side. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_slates.h"
#include "cli_util.h"
#include "commands.h"
#include "evaluate.h"
#include "pipeline.h"
#include "rank_train.h"
#include "ranker.h"

enum {
    E_JSON = 1,
    E_VALIDATE,
    E_SPLIT,
    E_TEST_FRAC,
    E_MIN_TRAIN,
    E_KS,
    E_MAX_USERS,
    E_IMPRESSIONS
};

static const cli_opt eval_opts[] = {
    {"json", NULL, "print one JSON object instead of tables", E_JSON},
    {"validate", NULL, "score a validation split carved from the training period (for tuning)",
     E_VALIDATE},
    {"split", "global|per-user", "global time cut-off (default) or each user's last events",
     E_SPLIT},
    {"test-frac", "F", "fraction held out (default 0.2; eval.test_frac)", E_TEST_FRAC},
    {"min-train", "N", "test users need N training events (default 5; eval.min_train)",
     E_MIN_TRAIN},
    {"ks", "K,K,...", "cut-offs (default 10,20,50,100,200)", E_KS},
    {"max-users", "N", "evaluate a deterministic sample of N test users", E_MAX_USERS},
    CLI_SLATES_OPT(E_IMPRESSIONS),
    {0},
};

typedef struct {
    cli_data data;
    int json, validate;
    const char *split, *test_frac, *min_train, *max_users;
    size_t ks[MET_MAX_KS], n_ks;
    cli_slates slates;
} eval_args;

static int on_opt(void *ud, int id, const char *arg) {
    eval_args *a = ud;
    if (id >= 1000) return cli_data_option(&a->data, id, arg);
    switch (id) {
    case E_JSON:
        a->json = 1;
        break;
    case E_VALIDATE:
        a->validate = 1;
        break;
    case E_SPLIT:
        if (strcmp(arg, "global") && strcmp(arg, "per-user")) {
            fprintf(stderr, "mixrec eval: --split is global or per-user, not '%s'\n", arg);
            return 2;
        }
        a->split = arg;
        break;
    case E_TEST_FRAC:
        a->test_frac = arg;
        break;
    case E_MIN_TRAIN:
        a->min_train = arg;
        break;
    case E_MAX_USERS:
        a->max_users = arg;
        break;
    case E_IMPRESSIONS:
        return cli_slates_add(&a->slates, arg);
    case E_KS: {
        a->n_ks = 0;
        const char *p = arg;
        while (*p) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v <= 0 || v > 10000 || a->n_ks == MET_MAX_KS ||
                (a->n_ks && (size_t)v <= a->ks[a->n_ks - 1]) || (*end && *end != ',')) {
                fprintf(stderr,
                        "mixrec eval: --ks wants increasing cut-offs like 10,50,100 (at most %d)\n",
                        MET_MAX_KS);
                return 2;
            }
            a->ks[a->n_ks++] = (size_t)v;
            p = *end ? end + 1 : end;
        }
        break;
    }
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(f,
            "Usage: mixrec eval --interactions PATH [--items PATH] [--format FMT] [--config FILE]\n"
            "                   [--json] [--validate] [--split global|per-user] [--ks 10,100]\n\n"
            "Splits the log in time (default: every event before a global cut-off T trains, the\n"
            "events after T of users with at least min_train earlier events test), builds the\n"
            "model on the past only, and scores popular, single, mixture_unsmoothed, mixture and\n"
            "blend with the same budget K: recall@K, NDCG@K, clusters@K (distinct interests),\n"
            "genres@K (distinct categories), coverage@K, and recall@100 per activity bucket.\n"
            "Seen items are excluded. Tune with --validate, which carves a validation split\n"
            "out of the training period and never touches the test events.\n\nOptions:\n");
    cli_print_options(f, cli_data_opts);
    cli_print_options(f, eval_opts);
    fprintf(f, "\n");
    cli_print_input_help(f);
    cli_print_settings(f, bcfg_settings(), cli_data_sources);
}

/* The ranker's training summary and feature importances. */
static void print_ranker(const mx_model *m, const rkt_report *rr) {
    if (!m->ranker) { /* none, or only XGBoost's predictor can read it */
        printf("\nranker: %s\n", m->ranker_status);
        if (!model_has_ranker(m)) return;
    }
    if (m->ranker)
        printf("\nranker: %zu trees (depth <= %zu), %s; ", rk_forest_n_trees(m->ranker),
               rk_forest_max_depth(m->ranker), rk_forest_objective(m->ranker));
    printf("examples: %zu + %zu users, %zu rows, %zu positives; validation NDCG@10 %.4f after one "
           "round, %.4f at the best\n",
           rr->users_train, rr->users_valid, rr->rows, rr->positives, rr->xgb.valid_first,
           rr->xgb.valid_best);
    double total = 0;
    int order[FEAT_N];
    for (int f = 0; f < FEAT_N; f++) {
        order[f] = f;
        total += rr->xgb.importance[f];
    }
    for (int i = 1; i < FEAT_N; i++) /* by importance, insertion sort */
        for (int j = i; j > 0 && rr->xgb.importance[order[j]] > rr->xgb.importance[order[j - 1]];
             j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    printf("feature importance (share of total gain)\n");
    for (int i = 0; i < FEAT_N; i++)
        printf("  %-20s %6.1f%%%s", feat_name(order[i]),
               total > 0 ? 100.0 * rr->xgb.importance[order[i]] / total : 0.0,
               i % 3 == 2 || i == FEAT_N - 1 ? "\n" : "   ");
}

static void print_table(const evl_result *r, const char *label) {
    const met_summary *s0 = &r->method[0];
    printf("\n%s: %zu test users\n\n", label, r->n_users);
    printf("%-20s", "method");
    for (size_t k = 0; k < s0->n_ks; k++)
        printf(" %9s", "");
    printf("\n");
    const char *rows[] = {"recall", "ndcg", "clusters", "genres", "coverage"};
    for (int row = 0; row < 5; row++) {
        if (row == 3 && !s0->has_genres) continue;
        printf("%-20s", rows[row]);
        for (size_t k = 0; k < s0->n_ks; k++) {
            char h[24];
            snprintf(h, sizeof(h), "@%zu", s0->ks[k]);
            printf(" %9s", h);
        }
        printf("\n");
        for (int meth = 0; meth < EVL_N_METHODS; meth++) {
            const met_summary *s = &r->method[meth];
            if (!r->evaluated[meth]) continue;
            printf("  %-18s", evl_method_name(meth));
            for (size_t k = 0; k < s->n_ks; k++) {
                double v = row == 0   ? s->recall[k]
                           : row == 1 ? s->ndcg[k]
                           : row == 2 ? s->clusters[k]
                           : row == 3 ? s->genres[k]
                                      : s->coverage[k];
                printf(row == 2 || row == 3 ? " %9.2f" : " %9.4f", v);
            }
            printf("\n");
        }
    }
    if (r->evaluated[EVL_POOL]) {
        printf("%-20s", "pool size");
        for (size_t k = 0; k < s0->n_ks; k++)
            printf(" %9.1f", r->pool_size[k]);
        printf("\n");
    }
    printf("recall@100 by training events\n%-20s %9s %9s %9s   %s\n", "", "5-9", "10-19", "20+",
           "us/user");
    for (int meth = 0; meth < EVL_N_METHODS; meth++) {
        const met_summary *s = &r->method[meth];
        if (!r->evaluated[meth]) continue;
        printf("  %-18s", evl_method_name(meth));
        for (int b = 0; b < MET_N_BUCKETS; b++)
            printf(" %9.4f", s->bucket_recall100[b]);
        printf("   %7.1f\n", r->us_per_query[meth]);
    }
    printf("  users per bucket  ");
    for (int b = 0; b < MET_N_BUCKETS; b++)
        printf(" %9zu", s0->bucket_users[b]);
    printf("\n");
}

/* The evaluation as one JSON document on stdout. */
static void print_json(const eval_args *a, const ds_dataset *ds, const ds_split *use,
                       const bcfg *cfg, const mx_model *m, const pipe_timings *t,
                       const evl_result *res, const char *engaged, const slt_replay_result *rp) {
    const ds_stats *st = ds_get_stats(ds);
    json_t *out = json_pack(
        "{s:{s:s,s:I,s:I,s:I,s:I,s:s},s:{s:s,s:f,s:I,s:I,s:I,s:I,s:I,s:b},s:{s:I,s:I,s:f}}",
        "dataset", "interactions", a->data.interactions, "events", (json_int_t)st->events, "users",
        (json_int_t)ds_n_users(ds), "items", (json_int_t)ds_n_items(ds), "categories",
        (json_int_t)ds_n_categories(ds), "engaged", engaged, "split", "type",
        cfg->split_per_user ? "per-user" : "global", "test_frac", cfg->test_frac, "cutoff",
        (json_int_t)use->cutoff, "min_train", (json_int_t)cfg->min_train, "train_events",
        (json_int_t)use->n_train, "test_events", (json_int_t)use->n_test, "test_users",
        (json_int_t)use->n_test_users, "validation", a->validate, "model", "interests",
        (json_int_t)m->n_clusters, "dim", (json_int_t)m->dim, "build_seconds", t->total);
    if (a->data.n_sources > 1) { /* "interactions" stays the first, as before */
        json_t *src = json_array();
        for (size_t k = 0; k < a->data.n_sources; k++)
            json_array_append_new(src, json_string(a->data.sources[k]));
        json_object_set_new(json_object_get(out, "dataset"), "sources", src);
    }
    json_t *methods = json_object();
    for (int meth = 0; meth < EVL_N_METHODS; meth++) {
        if (!res->evaluated[meth]) continue;
        json_t *mo = json_object();
        met_summary_to_json(&res->method[meth], mo);
        json_object_set_new(mo, "us_per_user", json_real(res->us_per_query[meth]));
        for (size_t k = 0; meth == EVL_POOL && k < res->method[meth].n_ks; k++) {
            char key[32];
            snprintf(key, sizeof(key), "size@%zu", res->method[meth].ks[k]);
            json_object_set_new(mo, key, json_real(res->pool_size[k]));
        }
        json_object_set_new(methods, evl_method_name(meth), mo);
    }
    json_object_set_new(out, "methods", methods);
    if (m->ranker_info) json_object_set(out, "ranker", (json_t *)m->ranker_info);
    if (a->slates.log)
        json_object_set_new(out, "slates_replay",
                            json_pack("{s:I,s:I,s:f,s:f,s:f,s:f}", "slates", (json_int_t)rp->slates,
                                      "not_in_pool", (json_int_t)rp->not_in_pool, "ndcg_shown",
                                      rp->ndcg_logged, "ndcg_model", rp->ndcg_model,
                                      "ips_ndcg_shown", rp->ips_logged, "ips_ndcg_model",
                                      rp->ips_model));
    json_object_set_new(out, "parameters", (json_t *)bcfg_to_json(cfg));
    char *txt = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", txt ? txt : "{}");
    free(txt);
    json_decref(out);
}

int cmd_eval(int argc, char **argv) {
    eval_args a;
    memset(&a, 0, sizeof(a));
    cli_data_init(&a.data);
    static const size_t default_ks[] = {10, 20, 50, 100, 200};
    memcpy(a.ks, default_ks, sizeof(default_ks));
    a.n_ks = 5;
    int rc = cli_parse_data(argc, argv, usage, eval_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    ds_dataset *ds = NULL;
    if ((rc = cli_data_finish(&a.data, &ds))) return rc;
    if ((rc = cli_slates_load(&a.slates, &a.data.in))) {
        cli_slates_free(&a.slates);
        ds_free(ds);
        return rc;
    }
    /* The eval flags are shorthands for eval.* settings and win over the
     * config file and --set. */
    const char *flags[][2] = {
        {"eval.per_user_split", a.split ? (!strcmp(a.split, "per-user") ? "1" : "0") : NULL},
        {"eval.test_frac", a.test_frac},
        {"eval.min_train", a.min_train},
        {"eval.max_users", a.max_users},
    };
    mx_err err = {0};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (flags[i][1] && bcfg_set(&a.data.cfg, flags[i][0], flags[i][1], &err)) {
            fprintf(stderr, "mixrec eval: %s\n", err.msg);
            ds_free(ds);
            cli_slates_free(&a.slates);
            return 2;
        }
    }
    const bcfg *cfg = &a.data.cfg;
    size_t n_ev = 0;
    const ds_event *ev = ds_events(ds, &n_ev);
    ds_split split = {0}, valid = {0};
    mx_model *m = NULL;
    evl_result res;
    rkt_sessions *sessions = NULL;
    rc = 1;
    int (*split_fn)(const ds_event *, size_t, double, size_t, ds_split *, mx_err *) =
        cfg->split_per_user ? ds_split_per_user : ds_split_global;
    if (split_fn(ev, n_ev, cfg->test_frac, cfg->min_train, &split, &err)) goto fail;
    const ds_split *use = &split;
    if (a.validate) {
        if (split_fn(split.train, split.n_train, cfg->valid_frac, cfg->min_train, &valid, &err))
            goto fail;
        use = &valid;
    }
    cli_log("%s split: %zu train events, %zu %s events of %zu users",
            cfg->split_per_user ? "per-user" : "global", use->n_train, use->n_test,
            a.validate ? "validation" : "test", use->n_test_users);
    if (use->n_test_users == 0) {
        mx_err_set(&err, MX_EINVAL,
                   "no user has %zu training events and a later event: nothing to evaluate",
                   cfg->min_train);
        goto fail;
    }
    /* The model and its ranker, both from the training part only. */
    rkt_report rr = {0};
    pipe_timings t;
    if (rkt_build(ds, use->train, use->n_train, cfg, &a.data.in, &m, &t, &rr, &err)) goto fail;
    cli_log_build_report(m); /* without a ranker, the other methods still run */
    cli_log("model: %zu interests, dim %zu, built in %.2fs", m->n_clusters, m->dim, t.total);
    if (cfg->ranker.enabled) {
        cli_log("ranker: %s; early model %.2fs, examples %.2fs, XGBoost %.2fs", m->ranker_status,
                rr.seconds_early_model, rr.seconds_examples, rr.seconds_xgboost);
        if (rkt_sessions_new(use->train, use->n_train, m->n_users, m->t_ref + 1,
                             cfg->ranker.session_hours, &sessions, &err))
            goto fail;
    }
    if (evl_run(m, ds, use->test, use->n_test, a.ks, a.n_ks, cfg->max_eval_users, sessions, &res,
                &err))
        goto fail;
    cli_log("scored %zu users in %.2fs", res.n_users, res.seconds);
    slt_replay_result rp = {0};
    if (a.slates.log && use->n_train &&
        slt_replay(ds, a.slates.log, ev, n_ev, use->train[use->n_train - 1].ts + 1, m, &cfg->ranker,
                   &rp, &err))
        goto fail;
    char engaged[128];
    if (isfinite(cfg->min_value))
        snprintf(engaged, sizeof(engaged), "events with value >= %g", (double)cfg->min_value);
    else
        snprintf(engaged, sizeof(engaged), "every event, any rating");
    if (a.json) {
        print_json(&a, ds, use, cfg, m, &t, &res, engaged, &rp);
    } else {
        printf("data: %s", a.data.interactions);
        if (a.data.n_sources > 1) printf(" and %zu more sources", a.data.n_sources - 1);
        printf(" (%s), %zu users, %zu items\n", engaged, ds_n_users(ds), ds_n_items(ds));
        printf("split: %s, test_frac %.2f, min_train %zu: %zu train events, %zu %s events\n",
               cfg->split_per_user ? "per-user" : "global time cut-off", cfg->test_frac,
               cfg->min_train, use->n_train, use->n_test, a.validate ? "validation" : "test");
        printf("model: %zu interests, dim %zu, k %zu, k0 %g, m %zu\n", m->n_clusters, m->dim,
               cfg->mixture.knn_k, (double)cfg->mixture.k0, cfg->mixture.top_m);
        print_table(&res, a.validate ? "validation" : "test");
        if (cfg->ranker.enabled) print_ranker(m, &rr);
        if (cfg->ranker.enabled) cli_slates_print(stdout, &rr, a.slates.n > 0);
        if (a.slates.log)
            printf("held-out slates (after the training events): %zu replayed; NDCG of the "
                   "engaged items within the slate: %.4f as shown, %.4f in this model's %s order "
                   "(%zu shown items outside its pool); weighted by 1/examination: %.4f as shown, "
                   "%.4f reordered\n",
                   rp.slates, rp.ndcg_logged, rp.ndcg_model, m->ranker ? "ranker" : "retrieval",
                   rp.not_in_pool, rp.ips_logged, rp.ips_model);
    }
    rc = 0;
fail:
    if (rc) fprintf(stderr, "mixrec eval: %s\n", err.msg);
    rkt_sessions_free(sessions);
    model_free(m);
    ds_split_free(&split);
    ds_split_free(&valid);
    ds_free(ds);
    cli_slates_free(&a.slates);
    return rc;
}

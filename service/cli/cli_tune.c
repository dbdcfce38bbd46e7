/* cli_tune.c - see cli_tune.h. */
#include "cli_tune.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

void cli_tune_opts_init(cli_tune_opts *o) {
    memset(o, 0, sizeof(*o));
    tune_params_init(&o->p);
}

int cli_tune_budget(const char *arg, double *seconds) {
    char *end;
    double v = strtod(arg, &end);
    double unit = !strcmp(end, "") || !strcmp(end, "s") ? 1
                  : !strcmp(end, "m")                   ? 60
                  : !strcmp(end, "h")                   ? 3600
                                                        : -1;
    if (end == arg || unit < 0 || !(v > 0) || v * unit > 7 * 86400.0) {
        fprintf(stderr, "mixrec: --budget wants a duration like 600, 90s, 10m or 1h, got '%s'\n",
                arg);
        return 2;
    }
    *seconds = v * unit;
    return 0;
}

typedef struct progress_ctx {
    FILE *f;
} progress_ctx;

static void print_header(FILE *f) {
    fprintf(f, "%3s  %-52s %8s %9s %6s %9s %9s %-8s %4s %6s\n", "#", "changed from the best so far",
            "ndcg@10", "recall@10", "z", "pool@100", "best@100", "(source)", "ok", "secs");
}

static void print_row(void *ud, const tune_result *r, const tune_trial *t) {
    progress_ctx *pc = ud;
    (void)r;
    fprintf(pc->f, "%3zu  %-52.52s %8.4f %9.4f %6.2f %9.4f %9.4f %-8s %4s %6.1f%s\n", t->index,
            t->changed, t->ndcg10, t->recall10, t->z, t->pool_r100, t->best_r100, t->best_source,
            t->feasible ? "yes" : "no", t->seconds, t->embed_cached ? " (embeddings reused)" : "");
    fflush(pc->f);
}

/* A setting's value from bcfg_to_json's layout ({"section": {"key": v}}). */
static json_t *value_of(json_t *params, const char *name) {
    char sec[64];
    const char *dot = strchr(name, '.');
    if (!dot || (size_t)(dot - name) >= sizeof(sec)) return NULL;
    snprintf(sec, sizeof(sec), "%.*s", (int)(dot - name), name);
    return json_object_get(json_object_get(params, sec), dot + 1);
}

/* Sets name's value in the file's object, creating its section. */
static int put_setting(json_t *file, const char *name, json_t *value) {
    char sec[64];
    const char *dot = strchr(name, '.');
    if (!dot || !value || (size_t)(dot - name) >= sizeof(sec)) return -1;
    snprintf(sec, sizeof(sec), "%.*s", (int)(dot - name), name);
    json_t *s = json_object_get(file, sec);
    if (!json_is_object(s)) {
        s = json_object();
        if (json_object_set_new(file, sec, s)) return -1;
    }
    return json_object_set(s, dot + 1, value);
}

static json_t *trial_json(const tune_trial *t) {
    return json_pack("{s:s,s:f,s:f,s:f,s:f,s:s,s:I,s:f,s:f,s:b,s:b}", "changed", t->changed,
                     "ndcg@10", t->ndcg10, "recall@10", t->recall10, "pool_recall@100",
                     t->pool_r100, "best_source_recall@100", t->best_r100, "best_source",
                     t->best_source, "pool", (json_int_t)t->pool_k, "pool_recall@pool", t->pool_rp,
                     "best_source_recall@pool", t->best_rp, "pool_constraint_met", t->feasible,
                     "ranked", t->ranked);
}

/* Where the values came from: data, split, objective, the score. */
static json_t *provenance(const cli_data *d, const ds_dataset *ds, const cli_tune_opts *o,
                          const tune_result *r, const tune_coord *plan, size_t n_plan) {
    const ds_stats *st = ds_get_stats(ds);
    char fnv[2][24], date[32];
    snprintf(fnv[0], sizeof(fnv[0]), "%016llx", (unsigned long long)st->interactions_fnv);
    snprintf(fnv[1], sizeof(fnv[1]), "%016llx", (unsigned long long)st->items_fnv);
    time_t now = time(NULL);
    struct tm g;
    gmtime_r(&now, &g);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &g);
    json_t *table = json_array();
    for (size_t i = 0; i < r->n_trials; i++) {
        const tune_trial *t = &r->trials[i];
        json_array_append_new(table, json_pack("{s:s,s:f,s:f,s:f,s:f,s:b}", "changed", t->changed,
                                               "ndcg@10", t->ndcg10, "recall@10", t->recall10, "z",
                                               t->z, "pool_recall@100", t->pool_r100,
                                               "pool_constraint_met", t->feasible));
    }
    json_t *searched = json_array();
    for (size_t c = 0; c < n_plan; c++)
        json_array_append_new(searched, json_string(plan[c].label));
    const bcfg *b = &d->cfg;
    return json_pack(
        "{s:s,s:s,s:{s:s,s:s*,s:I,s:I,s:I,s:s,s:s*},s:{s:s,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:I},"
        "s:s,s:s,s:o,s:o,s:{s:I,s:I,s:b,s:b,s:f,s:f,s:I,s:o,s:o}}",
        "by", "mixrec tune", "date", date, "data", "interactions", d->interactions, "items",
        d->items, "events", (json_int_t)st->events, "users", (json_int_t)ds_n_users(ds), "items_n",
        (json_int_t)ds_n_items(ds), "interactions_fnv", fnv[0], "items_fnv",
        d->items ? fnv[1] : NULL, "split", "type",
        "global time cut-offs: the last test_frac of events is never read; the last valid_frac "
        "of the rest scores the trials",
        "test_frac", b->test_frac, "valid_frac", b->valid_frac, "min_train",
        (json_int_t)b->min_train, "cutoff", (json_int_t)r->cutoff, "valid_cutoff",
        (json_int_t)r->valid_cutoff, "train_events", (json_int_t)r->train_events, "valid_events",
        (json_int_t)r->valid_events, "valid_users", (json_int_t)r->valid_users, "held_out_events",
        (json_int_t)r->held_out_events, "objective",
        "the answer's (ranked) NDCG@10 + recall@10 on the validation users", "constraint",
        "the pool's recall@100 and recall@rank_train.pool at least 0.95x the best source's", "best",
        trial_json(&r->trials[r->best]), "start", trial_json(&r->trials[0]), "search", "trials",
        (json_int_t)r->n_trials, "passes", (json_int_t)r->passes, "complete", r->complete, "sweep",
        o->p.sweep, "budget_s", o->p.budget_s, "seconds", r->seconds, "seed",
        (json_int_t)(o->seed_set ? o->seed : b->embed.seed), "searched", searched, "table", table);
}

/* The settings file: the starting file's object with every searched
 * setting at its chosen value, and _tuned. */
static int write_settings(const cli_data *d, const ds_dataset *ds, const cli_tune_opts *o,
                          const tune_result *r, const tune_coord *plan, size_t n_plan) {
    json_error_t je;
    json_t *file = d->config_file ? json_load_file(d->config_file, 0, &je) : json_object();
    if (!json_is_object(file)) {
        fprintf(stderr, "mixrec tune: %s: %s\n", d->config_file, je.text);
        json_decref(file);
        return 1;
    }
    json_t *params = bcfg_to_json(&r->cfg);
    int bad = !params;
    for (size_t c = 0; c < n_plan && !bad; c++) /* every name any value of c sets */
        for (size_t v = 0; v < plan[c].n_values && !bad; v++) {
            char buf[512];
            snprintf(buf, sizeof(buf), "%s", plan[c].values[v]);
            for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && !bad;
                 tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');
                if (eq) *eq = 0;
                bad = put_setting(file, tok, value_of(params, tok)) != 0;
            }
        }
    if (o->seed_set)
        for (const char *const *n =
                 (const char *const[]){"embed.seed", "interests.seed", "rank_train.seed", NULL};
             *n && !bad; n++)
            bad = put_setting(file, *n, value_of(params, *n)) != 0;
    json_decref(params);
    if (!bad) bad = json_object_set_new(file, "_tuned", provenance(d, ds, o, r, plan, n_plan));
    /* 6 significant digits: settings are floats (0.4, not 0.40000000596046448) */
    if (!bad)
        bad = json_dump_file(file, o->out,
                             JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) != 0;
    json_decref(file);
    if (bad) fprintf(stderr, "mixrec tune: cannot write %s\n", o->out);
    return bad;
}

int cli_tune_run(cli_data *d, const ds_dataset *ds, const cli_tune_opts *o, FILE *table) {
    mx_err err = {0};
    if (o->seed_set) {
        char s[32];
        snprintf(s, sizeof(s), "%llu", (unsigned long long)(o->seed % 2147483647u));
        if (bcfg_set(&d->cfg, "embed.seed", s, &err) ||
            bcfg_set(&d->cfg, "interests.seed", s, &err) ||
            bcfg_set(&d->cfg, "rank_train.seed", s, &err)) {
            fprintf(stderr, "mixrec tune: %s\n", err.msg);
            return 1;
        }
    }
    size_t n_plan = o->p.n_plan;
    const tune_coord *plan = o->p.plan ? o->p.plan : tune_default_plan(&n_plan);
    cli_log("tuning on a validation split of the training period; budget %.0fs%s", o->p.budget_s,
            o->p.max_trials ? " or the trial cap" : "");
    print_header(table);
    progress_ctx pc = {table};
    tune_result r;
    int rc = tune_run(ds, &d->cfg, &d->in, &o->p, print_row, &pc, &r, &err);
    if (rc) {
        fprintf(stderr, "mixrec tune: %s\n", err.msg);
        tune_result_free(&r);
        return 1;
    }
    const tune_trial *b = &r.trials[r.best], *s0 = &r.trials[0];
    fprintf(table,
            "%zu trials in %.0fs (%s, %zu pass%s; embeddings reused %zu times); %zu validation "
            "users\n",
            r.n_trials, r.seconds, r.complete ? "search complete" : "cut by the budget", r.passes,
            r.passes == 1 ? "" : "es", r.embed_hits, r.valid_users);
    fprintf(table,
            "best: trial %zu: ndcg@10 %.4f (start %.4f), recall@10 %.4f (start %.4f), "
            "pool recall@100 %.4f vs best source %.4f (%s)%s\n",
            b->index, b->ndcg10, s0->ndcg10, b->recall10, s0->recall10, b->pool_r100, b->best_r100,
            b->best_source, b->feasible ? "" : "; pool constraint NOT met");
    fprintf(table, "chosen:");
    json_t *params = bcfg_to_json(&r.cfg);
    for (size_t c = 0; c < n_plan; c++) { /* the names of c's first value, at their values */
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", plan[c].values[0]);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(tok, '=');
            if (eq) *eq = 0;
            char *v = json_dumps(value_of(params, tok), JSON_ENCODE_ANY | JSON_REAL_PRECISION(4));
            fprintf(table, " %s=%s%s", tok, v ? v : "?", b->choice[c] < 0 ? " (start)" : "");
            free(v);
        }
    }
    json_decref(params);
    fprintf(table, "\n");
    if (o->out && (rc = write_settings(d, ds, o, &r, plan, n_plan)) == 0)
        cli_log("wrote %s", o->out);
    if (!rc) d->cfg = r.cfg;
    tune_result_free(&r);
    return rc;
}

/* api_experiments.c - see api_experiments.h. */
#include "api_experiments.h"

#include <stdlib.h>

#include "experiment.h"
#include "expstats.h"

void api_experiments_list(api_req *r) {
    const experiment_list *l = r->env->experiments;
    json_t *arr = json_array();
    for (size_t i = 0; i < experiment_count(l); i++)
        json_array_append_new(arr, experiment_json(l, i));
    api_respond_json(r, json_pack("{s:o}", "experiments", arr));
    api_finish(r);
}

typedef struct report_op {
    api_req *r;
    const experiment *e; /* in r->env->experiments, which outlives the request */
} report_op;

static void on_counts(void *arg, int ok, const char *error, const expstats_counts *c) {
    report_op *op = arg;
    if (!ok)
        api_error(op->r, API_UNAVAILABLE, "redis_unavailable", "the counts were not read: %s",
                  error ? error : "redis is unavailable");
    else
        api_respond_json(op->r, expstats_report(op->e, c));
    api_finish(op->r);
    free(op);
}

void api_experiments_report(api_req *r) {
    const experiment *e = experiment_named(r->env->experiments, r->param);
    if (!e) {
        api_error(r, API_NOT_FOUND, "unknown_experiment", "no experiment '%s' in experiments.list",
                  r->param);
        api_finish(r);
        return;
    }
    sess_client *sc = api_redis(r, "the counts were not read");
    report_op *op = sc ? malloc(sizeof(*op)) : NULL;
    if (!op) {
        if (sc) api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        api_finish(r);
        return;
    }
    *op = (report_op){r, e};
    expstats_read(sc, e, on_counts, op);
}

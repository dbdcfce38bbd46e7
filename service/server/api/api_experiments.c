/* api_experiments.c - see api_experiments.h. */
#include "api_experiments.h"

#include <stdlib.h>

#include "experiment.h"
#include "expsync.h"
#include "expstats.h"

/* {"experiments": [l's experiments with their defaults]}: GET's answer. */
static json_t *list_json(const experiment_list *l) {
    json_t *arr = json_array();
    for (size_t i = 0; i < experiment_count(l); i++)
        json_array_append_new(arr, experiment_json(l, i));
    return json_pack("{s:o}", "experiments", arr);
}

void api_experiments_list(api_req *r) {
    api_respond_json(r, list_json(wk_lease_experiments(r->lease)));
    api_finish(r);
}

/* ---- replacing the list ------------------------------------------------- */

/* A change waiting for Redis. */
typedef struct put_op {
    api_req *r;
    experiment_list *l; /* the new list: put in force once stored */
    xs_source source;   /* XS_REDIS: an operator's list; XS_SETTINGS: back to the file's */
    char *text;         /* its JSON text as stored (NULL: an erase) */
} put_op;

static void op_free(put_op *op) {
    if (!op) return;
    experiment_list_free(op->l);
    free(op->text);
    free(op);
}

/* Answers 400 invalid_experiments with the field at fault. */
static void refuse(api_req *r, const char *field, const mx_err *err) {
    json_t *o = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", "invalid_experiments", "message",
                          err->msg, "field", field);
    api_respond(r, API_BAD_REQUEST, o ? json_dumps(o, JSON_COMPACT) : NULL);
    json_decref(o);
}

static void on_stored(void *arg, int ok, int64_t version, const char *error) {
    put_op *op = arg;
    api_req *r = op->r;
    if (!ok) {
        api_error(r, API_UNAVAILABLE, "redis_unavailable",
                  "the experiments were not stored (or not confirmed; the request may be "
                  "repeated), the list in force stays: %s",
                  error ? error : "redis is unavailable");
    } else {
        json_t *o = list_json(op->l);
        /* a slower answer to an older change never undoes a newer one */
        int rc = xs_offer(wk_experiments(r->env->pool), op->l, op->source, version);
        op->l = NULL;
        if (rc == MX_ENOMEM) {
            json_decref(o);
            api_error(r, API_INTERNAL_ERROR, "internal",
                      "out of memory: stored, in force here within %d ms", XSYNC_POLL_MS);
        } else {
            api_respond_json(r, o);
        }
    }
    op_free(op);
    api_finish(r);
}

/* Stores op's change (taken), or answers why not; finishes r then. */
static void store(api_req *r, put_op *op) {
    sess_client *sc = op ? api_redis(r, "the experiments were not stored") : NULL;
    if (!sc) {
        op_free(op);
        api_finish(r);
        return;
    }
    xsync_store(sc, api_admin_deadline_ms(r->env->cfg), op->text, on_stored, op);
}

/* A change to the settings file's list (DELETE, or a PUT of null). */
static put_op *back_to_settings(api_req *r) {
    put_op *op = calloc(1, sizeof(*op));
    mx_err err = {0};
    if (op && !experiment_parse_text(r->env->cfg->experiments_list, "experiments.list", r->env->cfg,
                                     &op->l, NULL, 0, &err)) {
        op->r = r;
        op->source = XS_SETTINGS;
        return op;
    }
    free(op); /* checked at start-up: only OOM gets here */
    api_error(r, API_INTERNAL_ERROR, "internal", "%s", op ? err.msg : "out of memory");
    return NULL;
}

/* A change to the list arr (borrowed), checked; NULL with the answer set. */
static put_op *operator_list(api_req *r, const json_t *arr) {
    char field[JFIELD_MAX];
    mx_err err = {0};
    put_op *op = calloc(1, sizeof(*op));
    if (!op) {
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        return NULL;
    }
    op->r = r;
    op->source = XS_REDIS;
    if (experiment_parse(arr, "experiments", r->env->cfg, &op->l, field, sizeof(field), &err)) {
        if (err.code == MX_ENOMEM)
            api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        else
            refuse(r, field, &err);
        op_free(op);
        return NULL;
    }
    if (!(op->text = json_dumps(arr, JSON_COMPACT))) {
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        op_free(op);
        return NULL;
    }
    return op;
}

void api_experiments_put(api_req *r) {
    json_t *body = api_body_object(r, "experiments");
    const json_t *arr = json_object_get(body, "experiments");
    put_op *op = NULL;
    if (!body) {
        /* answered */
    } else if (!arr) {
        api_error(r, API_BAD_REQUEST, "bad_parameter",
                  "the body is {\"experiments\": [...]} ([] serves none; null returns to "
                  "experiments.list)");
    } else {
        op = json_is_null(arr) ? back_to_settings(r) : operator_list(r, arr);
    }
    json_decref(body);
    if (!op) {
        api_finish(r);
        return;
    }
    store(r, op);
}

void api_experiments_delete(api_req *r) {
    store(r, back_to_settings(r));
}

/* ---- reports ------------------------------------------------------------ */

typedef struct report_op {
    api_req *r;
    const experiment *e; /* in the request's list, which its lease holds until api_finish */
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
    const experiment *e = experiment_named(wk_lease_experiments(r->lease), r->param);
    if (!e) {
        api_error(r, API_NOT_FOUND, "unknown_experiment",
                  "no experiment '%s' in the list in force (GET /v1/admin/experiments)", r->param);
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

/* expstats.c - see expstats.h. */
#include "expstats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

/* KEYS: [1] the sums, [2] the users. ARGV: [1] variant, [2] user. */
static const char impression_script[] =
    "local p = ARGV[1] .. '|'\n"
    "local u = p .. ARGV[2] .. '|'\n"
    "local n = redis.call('HINCRBY', KEYS[2], u .. 'n', 1)\n"
    "local c = tonumber(redis.call('HGET', KEYS[2], u .. 'c') or '0')\n"
    "if n == 1 then redis.call('HINCRBY', KEYS[1], p .. 'users', 1) end\n"
    "redis.call('HINCRBY', KEYS[1], p .. 'imps', 1)\n"
    "redis.call('HINCRBY', KEYS[1], p .. 'imps2', 2 * n - 1)\n"
    "if c > 0 then redis.call('HINCRBY', KEYS[1], p .. 'cross', c) end\n"
    "return n\n";

void expstats_keys(const experiment *e, char agg[EXPSTATS_KEY_MAX], char users[EXPSTATS_KEY_MAX]) {
    snprintf(agg, EXPSTATS_KEY_MAX, "mixrec:exp:%s:%04x", e->name, e->tag >> 3);
    snprintf(users, EXPSTATS_KEY_MAX, "mixrec:exp:%s:%04x:users", e->name, e->tag >> 3);
}

static void on_counted(void *arg, int ok, const struct redisReply *reply, const char *error) {
    (void)error;
    if (!ok || reply->type == REDIS_REPLY_ERROR) prom_experiment_unrecorded(arg);
}

void expstats_impression(sess_client *c, const experiment *e, size_t v, const char *user, prom *p) {
    if (!sess_connected(c)) {
        prom_experiment_unrecorded(p);
        return;
    }
    char agg[EXPSTATS_KEY_MAX], users[EXPSTATS_KEY_MAX];
    expstats_keys(e, agg, users);
    const char *argv[] = {"EVAL", impression_script, "2", agg, users, e->variants[v].name, user};
    size_t len[7];
    for (int i = 0; i < 7; i++)
        len[i] = strlen(argv[i]);
    sess_command(c, 7, argv, len, on_counted, p);
}

typedef struct read_op {
    const experiment *e;
    expstats_cb cb;
    void *arg;
} read_op;

/* One field "variant|what" of the sums into the variant's counts. */
static void take_field(const experiment *e, expstats_variant *out, const char *field,
                       double value) {
    const char *bar = strchr(field, '|');
    if (!bar) return;
    size_t nl = (size_t)(bar - field);
    for (size_t v = 0; v < e->n_variants; v++) {
        const char *name = e->variants[v].name;
        if (strlen(name) != nl || strncmp(name, field, nl)) continue;
        const char *what = bar + 1;
        abtest_sums *s = &out[v].sums;
        if (!strcmp(what, "users"))
            s->users = value;
        else if (!strcmp(what, "imps"))
            s->n = value;
        else if (!strcmp(what, "imps2"))
            s->nn = value;
        else if (!strcmp(what, "clicks"))
            s->c = value;
        else if (!strcmp(what, "clicks2"))
            s->cc = value;
        else if (!strcmp(what, "cross"))
            s->nc = value;
        else if (!strncmp(what, "ev:", 3))
            for (int t = 0; t < SESS_N_TYPES; t++)
                if (!strcmp(what + 3, sess_type_name(t))) out[v].events[t] = value;
        return;
    }
}

static void on_read(void *arg, int ok, const struct redisReply *reply, const char *error) {
    read_op *op = arg;
    expstats_variant v[EXPERIMENT_MAX_VARIANTS];
    memset(v, 0, sizeof(v));
    if (ok && reply->type != REDIS_REPLY_ARRAY) {
        ok = 0;
        error = reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply";
    }
    for (size_t i = 0; ok && i + 1 < reply->elements; i += 2) {
        const redisReply *f = reply->element[i], *x = reply->element[i + 1];
        if (f->type == REDIS_REPLY_STRING && x->type == REDIS_REPLY_STRING)
            take_field(op->e, v, f->str, strtod(x->str, NULL));
    }
    op->cb(op->arg, ok, ok ? NULL : error, ok ? v : NULL);
    free(op);
}

void expstats_read(sess_client *c, const experiment *e, expstats_cb cb, void *arg) {
    read_op *op = malloc(sizeof(*op));
    if (!op) {
        cb(arg, 0, "out of memory", NULL);
        return;
    }
    *op = (read_op){e, cb, arg};
    char agg[EXPSTATS_KEY_MAX], users[EXPSTATS_KEY_MAX];
    expstats_keys(e, agg, users);
    const char *argv[] = {"HGETALL", agg};
    size_t len[] = {7, strlen(agg)};
    sess_command(c, 2, argv, len, on_read, op);
}

/* A number for JSON: NaN and infinities have no JSON form. */
static json_t *num(double x) {
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *variant_json(const experiment *e, const expstats_variant *v, size_t i,
                            const abtest_ratio *r, const abtest_ratio *control) {
    json_t *ev = json_object();
    for (int t = 0; t < SESS_N_TYPES; t++)
        json_object_set_new(ev, sess_type_name(t), json_integer((json_int_t)v[i].events[t]));
    json_t *o = json_pack("{s:s,s:f,s:I,s:I,s:I,s:o}", "name", e->variants[i].name, "share",
                          e->variants[i].share, "users", (json_int_t)v[i].sums.users, "impressions",
                          (json_int_t)v[i].sums.n, "clicks", (json_int_t)v[i].sums.c, "events", ev);
    if (r[i].defined)
        json_object_set_new(o, "click_through",
                            json_pack("{s:o,s:o,s:o,s:o}", "value", num(r[i].value), "se",
                                      num(r[i].se), "low", num(r[i].lo), "high", num(r[i].hi)));
    else
        json_object_set_new(o, "click_through", json_null());
    if (i == 0) {
        json_object_set_new(o, "control", json_true());
        return o;
    }
    abtest_compare c;
    abtest_compare_of(control, &r[i], &c);
    if (!c.defined) {
        json_object_set_new(o, "vs_control", json_null());
        return o;
    }
    json_t *vs = json_pack("{s:o,s:o,s:o,s:o,s:o}", "difference", num(c.diff), "difference_low",
                           num(c.diff_lo), "difference_high", num(c.diff_hi), "z", num(c.z),
                           "p_value", num(c.p));
    if (c.lift_defined) {
        json_object_set_new(vs, "lift", num(c.lift));
        json_object_set_new(vs, "lift_low", num(c.lift_lo));
        json_object_set_new(vs, "lift_high", num(c.lift_hi));
    }
    json_object_set_new(o, "vs_control", vs);
    return o;
}

json_t *expstats_report(const experiment *e, const expstats_variant *v) {
    abtest_ratio r[EXPERIMENT_MAX_VARIANTS];
    double users[EXPERIMENT_MAX_VARIANTS], shares[EXPERIMENT_MAX_VARIANTS];
    for (size_t i = 0; i < e->n_variants; i++) {
        abtest_ratio_of(&v[i].sums, &r[i]);
        users[i] = v[i].sums.users;
        shares[i] = e->variants[i].share;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < e->n_variants; i++)
        json_array_append_new(arr, variant_json(e, v, i, r, &r[0]));
    double chi2, p;
    abtest_srm(users, shares, e->n_variants, &chi2, &p);
    return json_pack(
        "{s:s,s:s,s:f,s:s,s:o,s:{s:o,s:o,s:b},s:s}", "experiment", e->name, "salt", e->salt,
        "audience", e->audience, "mode", e->mode == EXPERIMENT_AB ? "ab" : "interleave", "variants",
        arr, "sample_ratio", "chi2", num(chi2), "p_value", num(p), "mismatch", p < 0.001, "method",
        "click-through = attributed clicks / impressions per variant; intervals are 95%, by the "
        "delta method with the user as the unit (a user's impressions are not independent); "
        "p_value: two-sided z-test of the difference to the control; sample_ratio: chi-square "
        "test of users per variant against the shares, mismatch when p < 0.001");
}

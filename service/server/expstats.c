/* expstats.c - see expstats.h. */
#include "expstats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

/* KEYS: [1] the sums, [2] the users, [3] an interleaved answer's teams
 * or "". ARGV: [1] variant ("*" interleaved), [2] user, [3] the teams'
 * lifetime, then field, value pairs of the teams. */
static const char impression_script[] =
    "if KEYS[3] ~= '' and #ARGV > 3 then\n"
    "  redis.call('HSET', KEYS[3], unpack(ARGV, 4))\n"
    "  redis.call('EXPIRE', KEYS[3], ARGV[3])\n"
    "end\n"
    "local p = ARGV[1] .. '|'\n"
    "local u = p .. ARGV[2] .. '|'\n"
    "local n = redis.call('HINCRBY', KEYS[2], u .. 'n', 1)\n"
    "local c = tonumber(redis.call('HGET', KEYS[2], u .. 'c') or '0')\n"
    "if n == 1 then redis.call('HINCRBY', KEYS[1], p .. 'users', 1) end\n"
    "redis.call('HINCRBY', KEYS[1], p .. 'imps', 1)\n"
    "redis.call('HINCRBY', KEYS[1], p .. 'imps2', 2 * n - 1)\n"
    "if c > 0 then redis.call('HINCRBY', KEYS[1], p .. 'cross', c) end\n"
    "return n\n";

void expstats_keys(const char *prefix, const experiment *e, char agg[EXPSTATS_KEY_MAX],
                   char users[EXPSTATS_KEY_MAX]) {
    snprintf(agg, EXPSTATS_KEY_MAX, "%sexp:%s:%04x", prefix, e->name, e->tag >> 3);
    snprintf(users, EXPSTATS_KEY_MAX, "%sexp:%s:%04x:users", prefix, e->name, e->tag >> 3);
}

static void on_counted(void *arg, int ok, const struct redisReply *reply, const char *error) {
    (void)error;
    if (!ok || reply->type == REDIS_REPLY_ERROR) prom_experiment_unrecorded(arg);
}

void expstats_il_key(const char *prefix, const char *rid, char key[EXPSTATS_IL_KEY_MAX]) {
    snprintf(key, EXPSTATS_IL_KEY_MAX, "%sil:%s", prefix, rid);
}

/* The impression script with n_extra field/value arguments after the
 * fixed ones. */
static void count(sess_client *c, const experiment *e, const char *variant, const char *user,
                  const char *il_key, int window_s, const char **extra, const size_t *extra_len,
                  size_t n_extra, prom *p) {
    if (!sess_connected(c)) {
        prom_experiment_unrecorded(p);
        return;
    }
    char agg[EXPSTATS_KEY_MAX], users[EXPSTATS_KEY_MAX], window[16];
    expstats_keys(sess_config(c)->redis_prefix, e, agg, users);
    snprintf(window, sizeof(window), "%d", window_s);
    size_t argc = 9 + n_extra;
    const char **argv = malloc(argc * sizeof(*argv));
    size_t *len = malloc(argc * sizeof(*len));
    if (!argv || !len) {
        free(argv), free(len);
        prom_experiment_unrecorded(p);
        return;
    }
    const char *fixed[9] = {"EVAL", impression_script, "3",  agg,   users,
                            il_key, variant,           user, window};
    for (size_t i = 0; i < 9; i++)
        argv[i] = fixed[i], len[i] = strlen(fixed[i]);
    for (size_t i = 0; i < n_extra; i++)
        argv[9 + i] = extra[i], len[9 + i] = extra_len[i];
    sess_command(c, (int)argc, argv, len, on_counted, p);
    free(argv);
    free(len);
}

void expstats_impression(sess_client *c, const experiment *e, size_t v, const char *user, prom *p) {
    count(c, e, e->variants[v].name, user, "", 0, NULL, NULL, 0, p);
}

void expstats_interleaved(sess_client *c, const experiment *e, const char *user, const char *rid,
                          const char *const *items, const uint8_t *team, size_t n, int window_s,
                          prom *p) {
    char key[EXPSTATS_IL_KEY_MAX];
    expstats_il_key(sess_config(c)->redis_prefix, rid, key);
    const char **extra = malloc((2 * n + 1) * sizeof(*extra));
    size_t *len = malloc((2 * n + 1) * sizeof(*len));
    char *names = malloc(n * (SESS_MAX_ID + 3) + 1);
    size_t k = 0, used = 0;
    static const char *const digit[2] = {"0", "1"};
    for (size_t i = 0; extra && len && names && i < n; i++) {
        if (team[i] > 1) continue;
        int w = snprintf(names + used, SESS_MAX_ID + 3, "i:%s", items[i]);
        if (w < 0 || w >= SESS_MAX_ID + 3) continue;
        extra[k] = names + used, len[k++] = (size_t)w;
        extra[k] = digit[team[i]], len[k++] = 1;
        used += (size_t)w + 1;
    }
    if (extra && len && names) {
        count(c, e, "*", user, key, window_s, extra, len, k, p);
        sess_flush(c); /* the teams must be there before a click on the answer comes */
    } else
        prom_experiment_unrecorded(p);
    free(extra);
    free(len);
    free(names);
}

typedef struct read_op {
    const experiment *e;
    expstats_cb cb;
    void *arg;
} read_op;

/* A sum or an event count ("users", ..., "ev:click") into s or events;
 * 0 when what is neither. */
static int take_sum(const char *what, double value, abtest_sums *s, double *events) {
    static const char *const sums[] = {"users", "imps", "imps2", "clicks", "clicks2", "cross"};
    double *dst[] = {&s->users, &s->n, &s->nn, &s->c, &s->cc, &s->nc};
    for (size_t i = 0; i < 6; i++)
        if (!strcmp(what, sums[i])) return *dst[i] = value, 1;
    if (strncmp(what, "ev:", 3)) return 0;
    for (int t = 0; t < SESS_N_TYPES; t++)
        if (!strcmp(what + 3, sess_type_name(t))) events[t] = value;
    return 1;
}

/* One field "variant|what" (or "*|what") of the sums into the counts. */
static void take_field(const experiment *e, expstats_counts *out, const char *field, double value) {
    const char *bar = strchr(field, '|');
    if (!bar) return;
    size_t nl = (size_t)(bar - field);
    const char *what = bar + 1;
    if (nl == 1 && field[0] == '*') {
        expstats_teams *t = &out->teams;
        static const char *const names[] = {"wins0",   "wins1",   "ties",
                                            "clicks0", "clicks1", "unattributed"};
        double *dst[] = {&t->wins[0],   &t->wins[1],   &t->ties,
                         &t->clicks[0], &t->clicks[1], &t->unattributed};
        if (take_sum(what, value, &t->sums, t->events)) return;
        for (size_t i = 0; i < 6; i++)
            if (!strcmp(what, names[i])) *dst[i] = value;
        return;
    }
    for (size_t v = 0; v < e->n_variants; v++) {
        const char *name = e->variants[v].name;
        if (strlen(name) == nl && !strncmp(name, field, nl)) {
            take_sum(what, value, &out->v[v].sums, out->v[v].events);
            return;
        }
    }
}

static void on_read(void *arg, int ok, const struct redisReply *reply, const char *error) {
    read_op *op = arg;
    expstats_counts counts;
    memset(&counts, 0, sizeof(counts));
    if (ok && reply->type != REDIS_REPLY_ARRAY) {
        ok = 0;
        error = reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply";
    }
    for (size_t i = 0; ok && i + 1 < reply->elements; i += 2) {
        const redisReply *f = reply->element[i], *x = reply->element[i + 1];
        if (f->type == REDIS_REPLY_STRING && x->type == REDIS_REPLY_STRING)
            take_field(op->e, &counts, f->str, strtod(x->str, NULL));
    }
    op->cb(op->arg, ok, ok ? NULL : error, ok ? &counts : NULL);
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
    expstats_keys(sess_config(c)->redis_prefix, e, agg, users);
    const char *argv[] = {"HGETALL", agg};
    size_t len[] = {7, strlen(agg)};
    sess_command(c, 2, argv, len, on_read, op);
}

/* A number for JSON: NaN and infinities have no JSON form. */
static json_t *num(double x) {
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *events_json(const double *events) {
    json_t *ev = json_object();
    for (int t = 0; t < SESS_N_TYPES; t++)
        json_object_set_new(ev, sess_type_name(t), json_integer((json_int_t)events[t]));
    return ev;
}

static json_t *variant_json(const experiment *e, const expstats_variant *v, size_t i,
                            const abtest_ratio *r, const abtest_ratio *control) {
    json_t *ev = events_json(v[i].events);
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

/* Interleaving: wins, ties and the sign test (ties left out). */
static json_t *interleaved_report(const experiment *e, const expstats_teams *t) {
    const char *a = e->variants[0].name, *b = e->variants[1].name;
    double with_clicks = t->wins[0] + t->wins[1] + t->ties;
    double p = abtest_sign_p((unsigned long)t->wins[0], (unsigned long)t->wins[1]);
    const char *winner = p >= 0.05 || t->wins[0] == t->wins[1] ? NULL
                         : t->wins[1] > t->wins[0]             ? b
                                                               : a;
    json_t *vars = json_array();
    for (int i = 0; i < 2; i++)
        json_array_append_new(vars, json_pack("{s:s,s:I,s:I}", "name", e->variants[i].name, "wins",
                                              (json_int_t)t->wins[i], "clicks",
                                              (json_int_t)t->clicks[i]));
    json_t *il = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "answers", (json_int_t)t->sums.n, "users",
        (json_int_t)t->sums.users, "answers_with_clicks", (json_int_t)with_clicks, "ties",
        (json_int_t)t->ties, "unattributed_clicks", (json_int_t)t->unattributed, "preference",
        with_clicks > 0 ? num((t->wins[1] - t->wins[0]) / with_clicks) : json_null(), "sign_test_p",
        num(p), "winner", winner ? json_string(winner) : json_null(), "events",
        events_json(t->events));
    json_t *o =
        json_pack("{s:s,s:s,s:f,s:s,s:o,s:o}", "experiment", e->name, "salt", e->salt, "audience",
                  e->audience, "mode", "interleave", "variants", vars, "interleaving", il);
    json_object_set_new(
        o, "method",
        json_sprintf("team-draft interleaving of '%s' and '%s': a click credits the variant that "
                     "placed the item; an answer is a win for the variant its clicks credited "
                     "more, a tie when both as much; preference = (wins of '%s' - wins of '%s') "
                     "/ answers with clicks; sign_test_p: two-sided exact binomial test of wins "
                     "against losses (ties left out)",
                     a, b, b, a));
    return o;
}

json_t *expstats_report(const experiment *e, const expstats_counts *c) {
    if (e->mode == EXPERIMENT_INTERLEAVE) return interleaved_report(e, &c->teams);
    const expstats_variant *v = c->v;
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

/* cmd_eval_logged.c - `mixrec eval-logged`: the click-through another
 * configuration would have had, estimated off-policy from the logs of the
 * one that ran (issue 16; docs/experiments.md, "Off-policy evaluation").
 *
 * Reads the impressions (impressions.h, with their propensities) and the
 * events (JSON lines of `mixrec export --stream events`), replays every
 * logged slate with the model and the target's settings - the user's
 * session rebuilt from the events as the service would have read it
 * (ordered by when the server stored them: the export's stream_id;
 * ope_session_window, then api_session_events: the server's own code) -
 * and hands each slot's match, propensity and attributed click to ope.h,
 * which estimates and says whether to trust it. Exit status: 0 with an
 * estimate, 3 when the overlap is too thin to give one, 1 bad input, 2
 * usage or configuration. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_session.h"
#include "cli_util.h"
#include "commands.h"
#include "export.h"
#include "impressions.h"
#include "model.h"
#include "ope.h"
#include "recommend.h"
#include "rid.h"
#include "sessions.h"
#include "srv_config.h"
#include "strmap.h"

#define EL_MAX_FILES 32
#define EL_MAX_SETS 64
#define EL_NONE UINT32_MAX

enum { E_MODEL = 1, E_IMP, E_EV, E_CONFIG, E_SET, E_MATCHED, E_ESS, E_CLICKS, E_UNSUP, E_JSON };

static const cli_opt el_opts[] = {
    {"model", "DIR",
     "the model the log was served from: root (with CURRENT) or a version (required)", E_MODEL},
    {"impressions", "FILE",
     "impressions, JSON lines of `mixrec export --stream impressions` (required, repeatable)",
     E_IMP},
    {"events", "FILE",
     "events, JSON lines of `mixrec export --stream events` (required, repeatable)", E_EV},
    {"config", "FILE",
     "the target's settings, a `mixrec serve --config` file (default: the built-in settings)",
     E_CONFIG},
    {"set", "NAME=VALUE",
     "a target setting over --config, e.g. --set ranking.enabled=false (repeatable)", E_SET},
    {"min-matched", "N", "refuse below N slots where the target and the log agree (default 200)",
     E_MATCHED},
    {"min-ess", "X", "refuse below this effective sample size (default 100)", E_ESS},
    {"min-clicks", "N", "refuse below N clicks on matched slots (default 10)", E_CLICKS},
    {"max-unsupported", "F",
     "refuse above this share of target slots the log cannot show (default 0.05; 1 accepts any, "
     "and the bias)",
     E_UNSUP},
    {"json", NULL, "print every figure as one JSON object instead of a table", E_JSON},
    {0},
};

typedef struct el_args {
    const char *model, *config;
    const char *imps[EL_MAX_FILES], *events[EL_MAX_FILES], *sets[EL_MAX_SETS];
    size_t n_imps, n_events, n_sets;
    ope_limits lim;
    int json;
} el_args;

static int add_path(const char **list, size_t *n, size_t cap, const char *opt, const char *arg) {
    if (*n == cap) {
        fprintf(stderr, "mixrec eval-logged: at most %zu %s\n", cap, opt);
        return 2;
    }
    list[(*n)++] = arg;
    return 0;
}

static int number(const char *opt, const char *arg, double lo, double hi, double *out) {
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "mixrec eval-logged: --%s must be a number in [%g, %g], got '%s'\n", opt,
                lo, hi, arg);
        return 2;
    }
    *out = v;
    return 0;
}

static int on_opt(void *ud, int id, const char *arg) {
    el_args *a = ud;
    double v;
    int rc = 0;
    switch (id) {
    case E_MODEL:
        a->model = arg;
        break;
    case E_CONFIG:
        a->config = arg;
        break;
    case E_IMP:
        return add_path(a->imps, &a->n_imps, EL_MAX_FILES, "--impressions", arg);
    case E_EV:
        return add_path(a->events, &a->n_events, EL_MAX_FILES, "--events", arg);
    case E_SET:
        if (!strchr(arg, '=')) {
            fprintf(stderr, "mixrec eval-logged: --set expects NAME=VALUE, got '%s'\n", arg);
            return 2;
        }
        return add_path(a->sets, &a->n_sets, EL_MAX_SETS, "--set", arg);
    case E_MATCHED:
        if (!(rc = number("min-matched", arg, 0, 1e12, &v))) a->lim.min_matched = (size_t)v;
        break;
    case E_ESS:
        rc = number("min-ess", arg, 0, 1e15, &a->lim.min_ess);
        break;
    case E_CLICKS:
        if (!(rc = number("min-clicks", arg, 0, 1e12, &v))) a->lim.min_clicks = (size_t)v;
        break;
    case E_UNSUP:
        rc = number("max-unsupported", arg, 0, 1, &a->lim.max_unsupported);
        break;
    case E_JSON:
        a->json = 1;
        break;
    }
    return rc;
}

static void el_usage(FILE *f) {
    fprintf(f,
            "Usage: mixrec eval-logged --model DIR --impressions FILE --events FILE\n"
            "                          [--config OTHER.json] [--set NAME=VALUE ...] [--json]\n\n"
            "Estimates off-policy the click-through per slot that another configuration (the\n"
            "target: --config and --set as `mixrec serve` reads them; not the environment)\n"
            "would have had, from the slates the running one logged and their clicks: each slate\n"
            "is answered again by the target for its user, time and length, with the session the\n"
            "events give. The target is evaluated deterministically: exploration off, without\n"
            "the live catalogue, pages or request filters. docs/experiments.md explains the\n"
            "estimators (IPS, SNIPS) and when no number is given (exit status 3, the reason on\n"
            "stderr and in --json): log with exploration on (explore.share) to evaluate a\n"
            "target that differs from what ran.\n\n"
            "Exit status: 0 estimate given, 3 refused, 1 bad input, 2 usage or configuration.\n\n"
            "Options:\n");
    cli_print_options(f, el_opts);
}

/* ---- the events ------------------------------------------------------------- */

typedef struct el_event {
    uint32_t user;    /* interned id (users) */
    uint32_t slate;   /* the slate its recommendation_id names, or EL_NONE */
    int64_t ts;       /* unix seconds: the event's time (a session weight's age) */
    int64_t at_ms;    /* when the server stored it: stream_id's milliseconds, else ts */
    int type;         /* EVTYPE_* */
    const char *item; /* interned (items) */
} el_event;

typedef struct el_log {
    imp_log *imps;
    smap *rids;  /* slate recommendation_id -> slate index */
    smap *users; /* user id -> index */
    smap *items; /* interned item ids */
    el_event *ev;
    int64_t *ev_ts; /* ev's at_ms, for ope_session_window */
    size_t n_ev, cap_ev;
    size_t *user_off; /* users' events: ev[user_off[u] .. user_off[u + 1]) after sorting */
    size_t ev_lines, ev_bad, ev_unknown_type;
} el_log;

static void el_log_free(el_log *l) {
    imp_log_free(l->imps);
    smap_free(l->rids);
    smap_free(l->users);
    smap_free(l->items);
    free(l->ev);
    free(l->ev_ts);
    free(l->user_off);
}

static char *id_text(const json_t *v, char *buf, size_t len) {
    if (json_is_string(v) && json_string_length(v) && json_string_length(v) <= SESS_MAX_ID)
        return (char *)json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

/* One event line into l (or counted as bad). -1 on OOM. */
static int add_event(el_log *l, const json_t *o) {
    char ub[32], ib[32];
    const json_t *ts = json_object_get(o, "ts"), *type = json_object_get(o, "type");
    const json_t *rid = json_object_get(o, "recommendation_id");
    const char *user = id_text(json_object_get(o, "user"), ub, sizeof(ub));
    const char *item = id_text(json_object_get(o, "item"), ib, sizeof(ib));
    if (!user || !item || !json_is_number(ts) || !isfinite(json_number_value(ts)) ||
        !json_is_string(type)) {
        l->ev_bad++;
        return 0;
    }
    int t = evtype_of(json_string_value(type));
    if (t < 0) {
        l->ev_unknown_type++;
        return 0;
    }
    el_event e = {.slate = EL_NONE, .ts = (int64_t)json_number_value(ts), .type = t};
    const json_t *sid = json_object_get(o, "stream_id");
    uint64_t ms, seq;
    int stored = json_is_string(sid) && !exp_parse_id(json_string_value(sid), &ms, &seq);
    e.at_ms = stored ? (int64_t)ms : (int64_t)(json_number_value(ts) * 1000);
    uint32_t uid = (uint32_t)smap_size(l->users);
    if (smap_put(l->users, user, strlen(user), uid, &e.user, NULL) < 0 ||
        smap_put(l->items, item, strlen(item), 0, NULL, &e.item) < 0)
        return -1;
    if (json_is_string(rid))
        smap_get(l->rids, json_string_value(rid), json_string_length(rid), &e.slate);
    if (l->n_ev == l->cap_ev) {
        size_t cap = l->cap_ev ? 2 * l->cap_ev : 1024;
        el_event *p = realloc(l->ev, cap * sizeof(el_event));
        if (!p) return -1;
        l->ev = p;
        l->cap_ev = cap;
    }
    l->ev[l->n_ev++] = e;
    return 0;
}

static int read_events(el_log *l, const char *path, mx_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return mx_err_set(err, MX_EIO, "--events %s: cannot open it: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = 0;
    while (!rc && (got = getline(&line, &cap, f)) >= 0) {
        if (strspn(line, " \t\r\n") == (size_t)got) continue;
        l->ev_lines++;
        json_t *o = json_loadb(line, (size_t)got, 0, NULL);
        if (json_is_object(o))
            rc = add_event(l, o) ? mx_err_set(err, MX_ENOMEM, "out of memory") : 0;
        else
            l->ev_bad++;
        json_decref(o);
    }
    if (!rc && ferror(f)) rc = mx_err_set(err, MX_EIO, "--events %s: cannot read it", path);
    free(line);
    fclose(f);
    return rc;
}

static int by_user_ts(const void *a, const void *b) {
    const el_event *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    return (x->at_ms > y->at_ms) - (x->at_ms < y->at_ms);
}

/* Sorts the events by user and time and indexes them by user. */
static int index_events(el_log *l) {
    size_t nu = smap_size(l->users);
    if (l->n_ev) qsort(l->ev, l->n_ev, sizeof(el_event), by_user_ts);
    l->ev_ts = malloc((l->n_ev ? l->n_ev : 1) * sizeof(int64_t));
    l->user_off = calloc(nu + 1, sizeof(size_t));
    if (!l->ev_ts || !l->user_off) return -1;
    for (size_t i = 0; i < l->n_ev; i++) {
        l->ev_ts[i] = l->ev[i].at_ms;
        l->user_off[l->ev[i].user + 1]++;
    }
    for (size_t u = 0; u < nu; u++)
        l->user_off[u + 1] += l->user_off[u];
    return 0;
}

/* Prints msg as the command's error; 1. */
static int fail(const char *msg) {
    fprintf(stderr, "mixrec eval-logged: %s\n", msg);
    return 1;
}

/* Reads every file of a into l; prints what it read. 1 on error (printed). */
static int load_logs(const el_args *a, el_log *l) {
    mx_err err = {0};
    int rc = 0;
    if (!(l->imps = imp_log_new()) || !(l->rids = smap_new(0)) || !(l->users = smap_new(0)) ||
        !(l->items = smap_new(0)))
        rc = mx_err_set(&err, MX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < a->n_imps; i++)
        rc = imp_log_read(l->imps, a->imps[i], &err);
    if (rc) return fail(err.msg);
    const imp_stats *st = imp_log_stats(l->imps);
    cli_log("impressions: %zu lines, %zu slates; skipped %zu not JSON, %zu not a slate, %zu "
            "anonymous, %zu without items, %zu with a bad propensity",
            st->lines, st->slates, st->bad_json, st->not_slate, st->anonymous, st->empty,
            st->bad_propensity);
    if (!imp_log_count(l->imps))
        rc = mx_err_set(&err, MX_EFORMAT,
                        "no slate in the --impressions files (%zu lines read); give the export "
                        "of the impressions stream",
                        st->lines);
    for (size_t s = 0; !rc && s < imp_log_count(l->imps); s++) {
        const char *rid = imp_log_get(l->imps, s)->rid;
        if (*rid && smap_put(l->rids, rid, strlen(rid), (uint32_t)s, NULL, NULL) < 0)
            rc = mx_err_set(&err, MX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; !rc && i < a->n_events; i++)
        rc = read_events(l, a->events[i], &err);
    if (!rc && index_events(l)) rc = mx_err_set(&err, MX_ENOMEM, "out of memory");
    if (rc) return fail(err.msg);
    cli_log("events: %zu lines, %zu events of %zu users; skipped %zu malformed, %zu of an "
            "unknown type",
            l->ev_lines, l->n_ev, smap_size(l->users), l->ev_bad, l->ev_unknown_type);
    return 0;
}

/* ---- replay ----------------------------------------------------------------- */

typedef struct el_run {
    const mx_model *m;
    const srv_config *cfg;
    rec_params p;
    rec_ctx *ctx;
    el_log *log;
    uint8_t *clicked; /* per slate, per logged position: an attributed click */
    size_t *slot_off; /* slate s's positions: clicked[slot_off[s] ..] */
    sess_event *sev;  /* cfg->session_max_events */
    rec_event *rev;
    rec_item *out;
    ope_slot *slots;
    size_t max_k;
    /* counts */
    size_t similar, too_long, logged_items, unknown_items, unknown_users, with_session;
    size_t clicks_attributed, clicks_elsewhere;
} el_run;

/* Marks every click naming a slate on the item it names (once per slate
 * and item); clicks on an item the slate did not show are counted. */
static void mark_clicks(el_run *r) {
    const el_log *l = r->log;
    for (size_t i = 0; i < l->n_ev; i++) {
        const el_event *e = &l->ev[i];
        if (e->type != EVTYPE_CLICK || e->slate == EL_NONE) continue;
        const imp_slate *s = imp_log_get(l->imps, e->slate);
        size_t j = 0;
        while (j < s->n_items && strcmp(s->items[j], e->item))
            j++;
        if (j == s->n_items) {
            r->clicks_elsewhere++;
            continue;
        }
        r->clicks_attributed += !r->clicked[r->slot_off[e->slate] + j];
        r->clicked[r->slot_off[e->slate] + j] = 1;
    }
}

/* The session of slate s's user at its time, as the server's events. */
static size_t session_of(el_run *r, size_t s, const imp_slate *is) {
    const el_log *l = r->log;
    uint32_t u;
    if (smap_get(l->users, is->user, strlen(is->user), &u)) return 0;
    size_t off = l->user_off[u], n = l->user_off[u + 1] - off, first;
    size_t got =
        ope_session_window(l->ev_ts + off, n, is->ts_ms, (int64_t)r->cfg->session_ttl_s * 1000,
                           (size_t)r->cfg->session_max_events, &first);
    size_t k = 0;
    for (size_t i = first; i < first + got; i++) {
        const el_event *e = &l->ev[off + i];
        if (e->slate == s) continue; /* its own clicks, a clock's rounding before it */
        sess_event *o = &r->sev[k++];
        snprintf(o->item, sizeof(o->item), "%s", e->item);
        o->ts = e->ts;
        o->type = e->type;
    }
    return api_session_events(r->cfg, r->m, r->sev, k, r->rev, k);
}

/* Replays slate s against the target and adds it to acc. 1 when the slate
 * is left out, -1 on error (err). */
static int replay(el_run *r, size_t s, ope_acc *acc, mx_err *err) {
    const imp_slate *is = imp_log_get(r->log->imps, s);
    int route;
    if (!rid_parse(is->rid, &route, NULL) && route == RID_ROUTE_ITEM_SIMILAR) {
        r->similar++;
        return 1;
    }
    if (is->n_items > r->max_k) {
        r->too_long++;
        return 1;
    }
    size_t n_ev = session_of(r, s, is);
    r->with_session += n_ev > 0;
    rec_query q = {.user = model_user(r->m, is->user),
                   .events = r->rev,
                   .n_events = n_ev,
                   .k = is->n_items,
                   .now = is->ts_ms / 1000};
    r->unknown_users += q.user < 0;
    size_t n = 0;
    if (rec_recommend(r->ctx, &r->p, &q, r->out, &n, err)) return -1;
    for (size_t j = 0; j < is->n_items; j++) {
        int64_t it = model_item(r->m, is->items[j]);
        r->logged_items++;
        r->unknown_items += it < 0;
        int filled = j < n;
        r->slots[j] = (ope_slot){.propensity = is->propensity[j],
                                 .match = filled && it >= 0 && r->out[j].item == (uint32_t)it,
                                 .clicked = r->clicked[r->slot_off[s] + j],
                                 .filled = (uint8_t)filled};
    }
    return ope_add_slate(acc, r->slots, is->n_items, err);
}

static void run_free(el_run *r) {
    rec_ctx_free(r->ctx);
    free(r->clicked);
    free(r->slot_off);
    free(r->sev);
    free(r->rev);
    free(r->out);
    free(r->slots);
}

/* Every slate replayed into acc. 1 on error (printed). */
static int replay_all(el_run *r, ope_acc *acc) {
    const imp_log *il = r->log->imps;
    size_t ns = imp_log_count(il), rows = 0, longest = 1;
    r->slot_off = malloc((ns + 1) * sizeof(size_t));
    if (!r->slot_off) goto oom;
    for (size_t s = 0; s < ns; s++) {
        size_t k = imp_log_get(il, s)->n_items;
        r->slot_off[s] = rows;
        rows += k;
        if (k <= r->max_k && k > longest) longest = k;
    }
    size_t me = (size_t)r->cfg->session_max_events;
    r->clicked = calloc(rows ? rows : 1, 1);
    r->sev = malloc(me * sizeof(sess_event));
    r->rev = malloc(me * sizeof(rec_event));
    r->out = malloc(longest * sizeof(rec_item));
    r->slots = malloc(longest * sizeof(ope_slot));
    r->ctx = rec_ctx_new(r->m, longest);
    if (!r->clicked || !r->sev || !r->rev || !r->out || !r->slots || !r->ctx) goto oom;
    mark_clicks(r);
    ope_acc_init(acc);
    mx_err err = {0};
    for (size_t s = 0; s < ns; s++)
        if (replay(r, s, acc, &err) < 0) {
            fprintf(stderr, "mixrec eval-logged: slate %zu (%s): %s\n", s, imp_log_get(il, s)->rid,
                    err.msg);
            return 1;
        }
    if (r->logged_items && r->unknown_items == r->logged_items) {
        fprintf(stderr,
                "mixrec eval-logged: the model (%s) knows none of the %zu logged items: "
                "give the model the log was served from\n",
                r->m->version, r->logged_items);
        return 1;
    }
    return 0;
oom:
    return fail("out of memory");
}

/* ---- the target and the report ---------------------------------------------- */

/* The target's settings: defaults, --config, --set. 2 on error (printed). */
static int load_target(const el_args *a, srv_config *cfg) {
    mx_err err = {0};
    srv_config_init(cfg);
    if (a->config && srv_config_load_file(cfg, a->config, &err)) {
        fprintf(stderr, "mixrec eval-logged: --config %s: %s\n", a->config, err.msg);
        return 2;
    }
    for (size_t i = 0; i < a->n_sets; i++) {
        char name[256];
        const char *eq = strchr(a->sets[i], '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq - a->sets[i]), a->sets[i]);
        if (srv_config_set(cfg, name, eq + 1, &err)) {
            fprintf(stderr, "mixrec eval-logged: --set %s: %s\n", a->sets[i], err.msg);
            return 2;
        }
    }
    if (cfg->experiments_list[0] && strcmp(cfg->experiments_list, "[]"))
        cli_log("experiments.list is ignored: the target is the configuration's own settings");
    return 0;
}

static json_t *num(double x) {
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *ci(double lo, double hi) {
    return isfinite(lo) && isfinite(hi) ? json_pack("[f,f]", lo, hi) : json_null();
}

static void print_json(const el_args *a, const el_run *run, const ope_result *r) {
    int t = r->verdict == OPE_TRUSTED;
    json_t *o = json_object();
    json_t *sets = json_array();
    for (size_t i = 0; i < a->n_sets; i++)
        json_array_append_new(sets, json_string(a->sets[i]));
    json_object_set_new(o, "target", json_pack("{s:s?,s:o}", "config", a->config, "set", sets));
    json_object_set_new(o, "model", json_string(run->m->version));
    json_object_set_new(o, "deterministic", json_true());
    json_object_set_new(o, "trusted", json_boolean(t));
    json_object_set_new(o, "verdict", json_string(ope_verdict_name(r->verdict)));
    json_object_set_new(o, "reason", json_string(r->reason));
    json_object_set_new(o, "ips", t ? num(r->ips) : json_null());
    json_object_set_new(o, "ips_ci", t ? ci(r->ips_lo, r->ips_hi) : json_null());
    json_object_set_new(o, "ips_se", t ? num(r->ips_se) : json_null());
    json_object_set_new(o, "snips", t ? num(r->snips) : json_null());
    json_object_set_new(o, "snips_ci", t ? ci(r->snips_lo, r->snips_hi) : json_null());
    json_object_set_new(o, "snips_se", t ? num(r->snips_se) : json_null());
    json_object_set_new(o, "logged_ctr", num(r->logged_ctr));
    json_object_set_new(o, "logged_ctr_ci", ci(r->logged_lo, r->logged_hi));
    json_object_set_new(o, "slates", json_integer((json_int_t)r->slates));
    json_object_set_new(o, "slots", json_integer((json_int_t)r->slots));
    json_object_set_new(o, "mean_k", num(r->mean_k));
    json_object_set_new(o, "clicks", json_integer((json_int_t)r->clicks));
    json_object_set_new(o, "matched", json_integer((json_int_t)r->matched));
    json_object_set_new(o, "matched_clicks", json_integer((json_int_t)r->matched_clicks));
    json_object_set_new(o, "coverage", num(r->coverage));
    json_object_set_new(o, "unsupported", json_integer((json_int_t)r->unsupported));
    json_object_set_new(o, "unsupported_share", num(r->unsupported_share));
    json_object_set_new(o, "ess", num(r->ess));
    json_object_set_new(o, "sum_w", num(r->sum_w));
    json_object_set_new(o, "limits",
                        json_pack("{s:I,s:f,s:I,s:f}", "min_matched",
                                  (json_int_t)a->lim.min_matched, "min_ess", a->lim.min_ess,
                                  "min_clicks", (json_int_t)a->lim.min_clicks, "max_unsupported",
                                  a->lim.max_unsupported));
    json_object_set_new(
        o, "replay",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "similar_items_left_out",
                  (json_int_t)run->similar, "longer_than_max_k_left_out", (json_int_t)run->too_long,
                  "logged_items", (json_int_t)run->logged_items, "unknown_items",
                  (json_int_t)run->unknown_items, "unknown_users", (json_int_t)run->unknown_users,
                  "with_session", (json_int_t)run->with_session, "clicks_attributed",
                  (json_int_t)run->clicks_attributed, "clicks_not_on_the_slate",
                  (json_int_t)run->clicks_elsewhere));
    char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", txt ? txt : "{}");
    free(txt);
    json_decref(o);
}

static void print_table(const el_args *a, const el_run *run, const ope_result *r) {
    int t = r->verdict == OPE_TRUSTED;
    printf("target            %s%s (deterministic: exploration off), model %s\n",
           a->config ? a->config : "built-in settings", a->n_sets ? " with --set" : "",
           run->m->version);
    printf("logged slates     %zu evaluated (left out: %zu similar-items answers, %zu longer than "
           "limits.max_k)\n",
           r->slates, run->similar, run->too_long);
    printf("target slots      %zu (mean k %.2f); %zu users unknown to the model, %zu slates with "
           "a session\n",
           r->slots, r->mean_k, run->unknown_users, run->with_session);
    printf("matched slots     %zu (coverage %.4f), %zu of them clicked\n", r->matched, r->coverage,
           r->matched_clicks);
    printf("unsupported       %zu (%.2f%% of the target's slots)\n", r->unsupported,
           100 * r->unsupported_share);
    printf("effective size    %.1f\n", r->ess);
    printf("\n                  click-through per slot   95%% interval\n");
    printf("logged policy     %-24.4f %.4f - %.4f   (%zu clicks on %zu shown items)\n",
           r->logged_ctr, r->logged_lo, r->logged_hi, r->clicks, r->slots);
    if (t) {
        printf("target, IPS       %-24.4f %.4f - %.4f\n", r->ips, r->ips_lo, r->ips_hi);
        printf("target, SNIPS     %-24.4f %.4f - %.4f\n", r->snips, r->snips_lo, r->snips_hi);
    } else {
        printf("target, IPS       not given: %s\n", ope_verdict_name(r->verdict));
        printf("target, SNIPS     not given: %s\n", ope_verdict_name(r->verdict));
    }
}

int cmd_eval_logged(int argc, char **argv) {
    el_args a = {0};
    ope_limits_init(&a.lim);
    int rc = cli_parse(argc, argv, el_usage, el_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    if (!a.model || !a.n_imps || !a.n_events) {
        fprintf(stderr, "mixrec eval-logged: --model, --impressions and --events are required "
                        "(see --help)\n");
        return 2;
    }
    srv_config cfg;
    if ((rc = load_target(&a, &cfg))) return rc;
    el_log log = {0};
    mx_model *m = NULL;
    mx_err err = {0};
    if (!(rc = load_logs(&a, &log)) && model_load(a.model, &m, &err)) rc = fail(err.msg);
    el_run run = {.m = m, .cfg = &cfg, .log = &log, .max_k = (size_t)cfg.max_k};
    api_rec_params(&cfg, &run.p); /* exploration is not a recommend.h parameter: none here */
    ope_acc acc;
    ope_result r;
    if (!rc) rc = replay_all(&run, &acc);
    if (!rc) {
        ope_estimate(&acc, &a.lim, &r);
        if (a.json)
            print_json(&a, &run, &r);
        else
            print_table(&a, &run, &r);
        if (r.verdict != OPE_TRUSTED) {
            fprintf(stderr, "mixrec eval-logged: no estimate (%s): %s\n",
                    ope_verdict_name(r.verdict), r.reason);
            rc = 3;
        }
    }
    run_free(&run);
    el_log_free(&log);
    model_free(m);
    return rc;
}

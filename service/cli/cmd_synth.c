/* cmd_synth.c - `mixrec synth`: a synthetic catalogue with planted
 * multi-interest users, in the formats `mixrec build` reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "cli_world.h"
#include "commands.h"
#include "model.h"
#include "synth.h"
#include "synth_clicks.h"

enum {
    S_ITEMS = 1,
    S_USERS,
    S_INTERESTS,
    S_DIM,
    S_SEED,
    S_OUT,
    S_MIN_EV,
    S_MAX_EV,
    S_MAX_UI,
    S_COVER,
    S_ZIPF,
    S_CLICKS,
    S_MODEL,
    S_DAYS,
    S_VISIT,
    S_CLICK_SEED,
    S_START_DAY,
    S_K,
    S_MAX_CLICK,
    S_NO_RANKER,
    S_MIN_UI,
    S_DOMINANT,
    S_TREND_SHARE,
    S_TREND_ITEMS,
    S_WORLD
};

static const cli_opt synth_opts[] = {
    {"items", "N", "catalogue size (default 10000)", S_ITEMS},
    {"users", "M", "users (default 2000)", S_USERS},
    {"interests", "C", "planted interests (default 16)", S_INTERESTS},
    {"dim", "D", "dimension of the planted item vectors (default 32)", S_DIM},
    {"seed", "S", "random seed (default 42)", S_SEED},
    {"min-events", "N", "fewest events per user (default 5)", S_MIN_EV},
    {"max-events", "N", "most events per user (default 60)", S_MAX_EV},
    {"world", "interest|trend|sparse",
     "a preset (README: Evaluation worlds); later options override it", S_WORLD},
    {"max-user-interests", "N", "most planted interests per user (default 4)", S_MAX_UI},
    {"min-user-interests", "N", "fewest planted interests per user (default 1)", S_MIN_UI},
    {"dominant", "F", "weight of a user's first interest (default 0: all Dirichlet(1))",
     S_DOMINANT},
    {"trend-share", "F", "share of events on the week's trending items (default 0)", S_TREND_SHARE},
    {"trend-items", "N", "trending items per week, a new set every week (default 30)",
     S_TREND_ITEMS},
    {"cover-items", NULL, "give every item at least one event (whole catalogue in a model)",
     S_COVER},
    {"zipf", "S", "popularity exponent within an interest (default 0.8; 0: no popularity bias)",
     S_ZIPF},
    {"out", "DIR", "output directory (required)", S_OUT},
    {"clicks", NULL,
     "simulate users clicking on slates served by --model (same world options as the world's)",
     S_CLICKS},
    {"model", "ROOT", "--clicks: the model to serve (built from DIR/interactions.csv)", S_MODEL},
    {"days", "N", "--clicks: simulated days (default 7)", S_DAYS},
    {"visit-prob", "F", "--clicks: chance a user visits on a day (default 0.3)", S_VISIT},
    {"click-seed", "S", "--clicks: seed of visits and clicks (default 1)", S_CLICK_SEED},
    {"start-day", "N", "--clicks: start N days after the history ends (default 0)", S_START_DAY},
    {"k", "N", "--clicks: slate length (default 10)", S_K},
    {"max-click", "F", "--clicks: click chance of a top item at position 0 (default 0.5)",
     S_MAX_CLICK},
    {"no-ranker", NULL, "--clicks: serve in retrieval order", S_NO_RANKER},
    {0},
};

typedef struct {
    syn_params p;
    const char *out;
    int clicks;
    const char *model;
    syc_params c;
    size_t start_day;
} synth_args;

static int parse_prob(const char *name, const char *arg, double *out) {
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= 0 && v <= 1)) {
        fprintf(stderr, "mixrec synth: --%s must be a number in [0, 1], got '%s'\n", name, arg);
        return 2;
    }
    *out = v;
    return 0;
}

static int parse_size(const char *name, const char *arg, size_t lo, size_t hi, size_t *out) {
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (end == arg || *end || arg[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "mixrec synth: --%s must be an integer in [%zu, %zu], got '%s'\n", name, lo,
                hi, arg);
        return 2;
    }
    *out = (size_t)v;
    return 0;
}

/* The evaluation worlds of tuning (README: Evaluation worlds):
 *   interest  2-4 planted interests, one holding 60% of the user's events,
 *             no popularity inside an interest: taste is everything
 *   trend     70% of events on 30 items trending that week, a new set
 *             every week: recent popularity is everything
 *   sparse    3-8 events per user: little to learn from anyone */
static int world_preset(const char *name, syn_params *p) {
    if (!strcmp(name, "interest")) {
        p->min_user_interests = 2, p->max_user_interests = 4;
        p->dominant = 0.6, p->zipf_s = 0;
    } else if (!strcmp(name, "trend")) {
        p->trend_share = 0.7, p->trend_items = 30;
    } else if (!strcmp(name, "sparse")) {
        p->min_events = 3, p->max_events = 8;
    } else {
        fprintf(stderr, "mixrec synth: --world is interest, trend or sparse, not '%s'\n", name);
        return 2;
    }
    return 0;
}

static int on_opt(void *ud, int id, const char *arg) {
    synth_args *a = ud;
    size_t v = 0;
    switch (id) {
    case S_ITEMS:
        return parse_size("items", arg, 1, 100000000, &a->p.n_items);
    case S_USERS:
        return parse_size("users", arg, 1, 100000000, &a->p.n_users);
    case S_INTERESTS:
        return parse_size("interests", arg, 1, 100000, &a->p.n_interests);
    case S_DIM:
        return parse_size("dim", arg, 2, 4096, &a->p.dim);
    case S_MIN_EV:
        return parse_size("min-events", arg, 1, 100000, &a->p.min_events);
    case S_MAX_EV:
        return parse_size("max-events", arg, 1, 100000, &a->p.max_events);
    case S_MAX_UI:
        return parse_size("max-user-interests", arg, 1, 1000, &a->p.max_user_interests);
    case S_MIN_UI:
        return parse_size("min-user-interests", arg, 1, 1000, &a->p.min_user_interests);
    case S_DOMINANT:
        return parse_prob("dominant", arg, &a->p.dominant);
    case S_TREND_SHARE:
        return parse_prob("trend-share", arg, &a->p.trend_share);
    case S_TREND_ITEMS:
        return parse_size("trend-items", arg, 1, 100000000, &a->p.trend_items);
    case S_WORLD:
        return world_preset(arg, &a->p);
    case S_SEED:
        if (parse_size("seed", arg, 0, SIZE_MAX, &v)) return 2;
        a->p.seed = v;
        return 0;
    case S_OUT:
        a->out = arg;
        return 0;
    case S_COVER:
        a->p.cover_items = 1;
        return 0;
    case S_ZIPF: {
        double z = 0;
        char *end;
        z = strtod(arg, &end);
        if (end == arg || *end || !(z >= 0 && z <= 10)) {
            fprintf(stderr, "mixrec synth: --zipf must be a number in [0, 10], got '%s'\n", arg);
            return 2;
        }
        a->p.zipf_s = z;
        return 0;
    }
    case S_CLICKS:
        a->clicks = 1;
        return 0;
    case S_MODEL:
        a->model = arg;
        return 0;
    case S_DAYS:
        return parse_size("days", arg, 1, 3650, &a->c.days);
    case S_VISIT:
        return parse_prob("visit-prob", arg, &a->c.visit_prob);
    case S_CLICK_SEED:
        if (parse_size("click-seed", arg, 0, SIZE_MAX, &v)) return 2;
        a->c.seed = v;
        return 0;
    case S_START_DAY:
        return parse_size("start-day", arg, 0, 36500, &a->start_day);
    case S_K:
        return parse_size("k", arg, 1, 100, &a->c.k);
    case S_MAX_CLICK:
        return parse_prob("max-click", arg, &a->c.max_click);
    case S_NO_RANKER:
        a->c.use_ranker = 0;
        return 0;
    }
    return 2;
}

static void usage(FILE *f) {
    fprintf(
        f,
        "Usage: mixrec synth --items N --users M --interests C --dim D --seed S --out DIR\n\n"
        "Writes DIR/interactions.csv (user,item,timestamp,weight), DIR/items.csv\n"
        "(item,title,categories; the category names the planted interest), DIR/truth.csv\n"
        "(user,interest,weight), the planted item vectors (item_vectors.fvecs + .ids) and\n"
        "DIR/world.json (these options: `mixrec simulate --world DIR` plays the same world).\n"
        "Build a model from it with:\n"
        "  mixrec build --interactions DIR/interactions.csv --items DIR/items.csv --out M\n\n"
        "With --clicks --model M (and the same world options), serves slates from M to the\n"
        "world's users over --days simulated days after the history and lets them click\n"
        "(P = position bias 1/log2(2+pos) x their true preference); writes\n"
        "DIR/impressions.jsonl and DIR/events.jsonl (the export format) and DIR/clicks.csv\n"
        "(the clicks in interactions.csv's format), and prints the expected clicks per slate.\n\n"
        "Options:\n");
    cli_print_options(f, synth_opts);
}

static FILE *open_out(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "mixrec synth: cannot write %s\n", path);
    return f;
}

/* --clicks: the world again (same options, same seed), the model, the
 * simulation. */
static int run_clicks(synth_args *a) {
    syn_world w;
    mx_model *m = NULL;
    mx_err err = {0};
    int rc = 1;
    FILE *fi = NULL, *fe = NULL, *fc = NULL;
    if (syn_make(&a->p, &w, &err)) {
        fprintf(stderr, "mixrec synth: %s\n", err.msg);
        return 1;
    }
    if (model_load(a->model, &m, &err)) {
        fprintf(stderr, "mixrec synth: %s\n", err.msg);
        goto done;
    }
    if (!(fi = open_out(a->out, "impressions.jsonl")) || !(fe = open_out(a->out, "events.jsonl")) ||
        !(fc = open_out(a->out, "clicks.csv")))
        goto done;
    a->c.start = a->p.t0 + SYN_SPAN_SECONDS + (int64_t)a->start_day * 86400;
    cli_log("simulating %zu days of %zu users on %s (%s), click seed %llu", a->c.days, w.n_users,
            m->version, a->c.use_ranker ? "ranker" : "retrieval order",
            (unsigned long long)a->c.seed);
    syc_stats st;
    if (syc_run(&w, m, &a->c, a->c.start, fi, fe, fc, &st, &err)) {
        fprintf(stderr, "mixrec synth: %s\n", err.msg);
        goto done;
    }
    printf("wrote %s: %zu slates (%zu ranked) in %zu visits, %zu clicks\n", a->out, st.slates,
           st.ranked, st.visits, st.clicks);
    printf("clicks per slate: %.4f sampled, %.4f expected\n",
           st.slates ? (double)st.clicks / (double)st.slates : 0.0,
           st.slates ? st.expected_clicks / (double)st.slates : 0.0);
    rc = 0;
done:
    if (fi && fclose(fi)) rc = 1;
    if (fe && fclose(fe)) rc = 1;
    if (fc && fclose(fc)) rc = 1;
    model_free(m);
    syn_world_free(&w);
    return rc;
}

int cmd_synth(int argc, char **argv) {
    synth_args a;
    memset(&a, 0, sizeof(a));
    syn_params_init(&a.p);
    syc_params_init(&a.c);
    int rc = cli_parse(argc, argv, usage, synth_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    if (!a.out) {
        fprintf(stderr, "mixrec synth: --out DIR is required (see --help)\n");
        return 2;
    }
    if (a.p.min_events > a.p.max_events) {
        fprintf(stderr, "mixrec synth: --min-events is larger than --max-events\n");
        return 2;
    }
    if (a.p.min_user_interests > a.p.max_user_interests) {
        fprintf(stderr, "mixrec synth: --min-user-interests is larger than --max-user-interests\n");
        return 2;
    }
    if (a.p.n_interests > a.p.n_items) {
        fprintf(stderr, "mixrec synth: more interests than items\n");
        return 2;
    }
    if (a.clicks != (a.model != NULL)) {
        fprintf(stderr, "mixrec synth: --clicks and --model ROOT go together\n");
        return 2;
    }
    syn_world w;
    mx_err err = {0};
    if (a.clicks) return run_clicks(&a);
    cli_log("generating %zu items, %zu users, %zu interests, dim %zu, seed %llu", a.p.n_items,
            a.p.n_users, a.p.n_interests, a.p.dim, (unsigned long long)a.p.seed);
    if (syn_make(&a.p, &w, &err) || syn_write(&w, a.out, &err) ||
        cli_world_save(a.out, &a.p, &err)) {
        fprintf(stderr, "mixrec synth: %s\n", err.msg);
        if (err.code != MX_EINVAL) syn_world_free(&w);
        return 1;
    }
    printf("wrote %s: %zu events of %zu users over %zu items\n", a.out, w.n_events, w.n_users,
           w.n_items);
    syn_world_free(&w);
    return 0;
}

/* cmd_synth.c - `mixrec synth`: a synthetic catalogue with planted
 * multi-interest users, in the formats `mixrec build` reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "synth.h"

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
    S_COVER
};

static const cli_opt synth_opts[] = {
    {"items", "N", "catalogue size (default 10000)", S_ITEMS},
    {"users", "M", "users (default 2000)", S_USERS},
    {"interests", "C", "planted interests (default 16)", S_INTERESTS},
    {"dim", "D", "dimension of the planted item vectors (default 32)", S_DIM},
    {"seed", "S", "random seed (default 42)", S_SEED},
    {"min-events", "N", "fewest events per user (default 5)", S_MIN_EV},
    {"max-events", "N", "most events per user (default 60)", S_MAX_EV},
    {"max-user-interests", "N", "most planted interests per user (default 4)", S_MAX_UI},
    {"cover-items", NULL, "give every item at least one event (whole catalogue in a model)",
     S_COVER},
    {"out", "DIR", "output directory (required)", S_OUT},
    {0},
};

typedef struct {
    syn_params p;
    const char *out;
} synth_args;

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
    }
    return 2;
}

static void usage(FILE *f) {
    fprintf(f,
            "Usage: mixrec synth --items N --users M --interests C --dim D --seed S --out DIR\n\n"
            "Writes DIR/interactions.csv (user,item,timestamp,weight), DIR/items.csv\n"
            "(item,title,categories; the category names the planted interest), DIR/truth.csv\n"
            "(user,interest,weight) and the planted item vectors (item_vectors.fvecs + .ids).\n"
            "Build a model from it with:\n"
            "  mixrec build --interactions DIR/interactions.csv --items DIR/items.csv --out M\n\n"
            "Options:\n");
    cli_print_options(f, synth_opts);
}

int cmd_synth(int argc, char **argv) {
    synth_args a;
    memset(&a, 0, sizeof(a));
    syn_params_init(&a.p);
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
    if (a.p.n_interests > a.p.n_items) {
        fprintf(stderr, "mixrec synth: more interests than items\n");
        return 2;
    }
    syn_world w;
    mx_err err = {0};
    cli_log("generating %zu items, %zu users, %zu interests, dim %zu, seed %llu", a.p.n_items,
            a.p.n_users, a.p.n_interests, a.p.dim, (unsigned long long)a.p.seed);
    if (syn_make(&a.p, &w, &err) || syn_write(&w, a.out, &err)) {
        fprintf(stderr, "mixrec synth: %s\n", err.msg);
        if (err.code != MX_EINVAL) syn_world_free(&w);
        return 1;
    }
    printf("wrote %s: %zu events of %zu users over %zu items\n", a.out, w.n_events, w.n_users,
           w.n_items);
    syn_world_free(&w);
    return 0;
}

/* cmd_simulate.c - `mixrec simulate`: a simulated audience with known
 * preferences playing against a running server over HTTP.
 *
 * The world is the one `mixrec synth` wrote (DIR/world.json regenerates
 * it), so the simulator knows every user's planted interest weights and
 * every item's popularity. Each request picks a user at random, asks the
 * server for a slate (GET /v1/users/{user}/recommendations), and lets the
 * user click with synth_clicks.h's model - position bias times true
 * preference, the same model as `mixrec synth --clicks` - then posts the
 * clicks as events carrying the answer's recommendation_id and position
 * (so the server attributes them, to experiments too). Because it knows
 * the click probabilities, it also sums the expected clicks of every
 * slate: the true click-through each variant had, without sampling noise,
 * to hold the server's report against. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli_util.h"
#include "cli_world.h"
#include "commands.h"
#include "httpc.h"
#include "rng.h"
#include "synth_clicks.h"

#define SIM_MAX_VARIANTS 32
#define SIM_TIMEOUT_MS 10000

enum {
    O_URL = 1,
    O_WORLD,
    O_REQUESTS,
    O_K,
    O_MAX_CLICK,
    O_SEED,
    O_KEY,
    O_MAX_SECONDS,
    O_JSON,
    O_LOVED,
    O_NOVELTY
};

static const cli_opt sim_opts[] = {
    {"url", "URL", "the server (http://HOST:PORT; required)", O_URL},
    {"world", "DIR", "the world `mixrec synth --out DIR` wrote (required)", O_WORLD},
    {"requests", "N", "slates to ask for (default 2000)", O_REQUESTS},
    {"k", "N", "slate length (default 10)", O_K},
    {"max-click", "F", "click chance of a top item at position 0 (default 0.5)", O_MAX_CLICK},
    {"seed", "S", "seed of users and clicks (default 1)", O_SEED},
    {"api-key", "KEY", "sent as X-API-Key (default: $MIXREC_API_KEY)", O_KEY},
    {"max-seconds", "S", "stop after this long whatever the count (default 300)", O_MAX_SECONDS},
    {"json", NULL, "print the summary as JSON", O_JSON},
    {"loved", "ITEM",
     "every user loves this world item (i<k>) as much as their best: a hit the model does not "
     "know; the summary says how often it was shown, per quarter of the requests",
     O_LOVED},
    {"novelty", "F",
     "this share of the users seek novelty: indifferent to popularity, a tail item pulls them as "
     "much as its interest's head (default 0); the summary compares them with the others",
     O_NOVELTY},
    {0},
};

typedef struct sim_args {
    const char *url, *world, *key, *loved;
    size_t requests, k, max_seconds;
    double max_click, novelty;
    uint64_t seed;
    int json;
} sim_args;

typedef struct variant_stats {
    char name[72];
    size_t impressions, clicks, users;
    double expected;
    unsigned char *seen; /* per world user */
} variant_stats;

/* The --loved item: shown per quarter of the requests, clicked. */
typedef struct loved_stats {
    int64_t item; /* world item, -1: none */
    size_t shown[4], clicks;
} loved_stats;

/* --novelty: per group (0: the others, 1: the seekers) the answers,
 * their explored items (propensity below 1) and expected clicks. */
typedef struct novelty_stats {
    size_t answers[2], explored[2];
    double expected[2];
} novelty_stats;

/* Whether user u seeks novelty: a hash of the seed and u below the share. */
static int seeks_novelty(const sim_args *a, size_t u) {
    uint64_t x = a->seed * 0x9E3779B97F4A7C15ull + u + 1;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return (double)(x >> 11) * 0x1p-53 < a->novelty;
}

/* The click chance of world item i at position p for user u: the loved
 * item pulls as hard as anything can; a novelty seeker is indifferent to
 * popularity (an item deep in its interest's tail pulls as much as the
 * head), so their clicks go to what is shown rarely. */
static double click_chance(const sim_args *a, const syn_world *w, size_t u, int64_t i, size_t p,
                           double wmax, int64_t loved) {
    if (i < 0) return 0;
    double attract = i == loved ? a->max_click : syc_attract_w(w, u, (size_t)i, wmax, a->max_click);
    if (i != loved && a->novelty > 0 && seeks_novelty(a, u) && w->item_pop[i] > 0)
        attract /= w->item_pop[i];
    return syc_exam(p) * (attract > 1 ? 1 : attract);
}

/* Interleaved answers (items marked with the variant that placed them):
 * the sampled clicks credited to each variant, and the answers each won. */
typedef struct teams_stats {
    char name[2][72];
    size_t answers, clicks[2], wins[2], ties;
} teams_stats;

/* The team of an item's variant name (learning the two names in the
 * order seen), or -1. */
static int team_of(teams_stats *t, const char *name) {
    if (!name) return -1;
    for (int i = 0; i < 2; i++) {
        if (!t->name[i][0]) snprintf(t->name[i], sizeof(t->name[i]), "%s", name);
        if (!strcmp(t->name[i], name)) return i;
    }
    return -1;
}

static int parse_num(const char *name, const char *arg, double lo, double hi, double *out) {
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "mixrec simulate: --%s must be a number in [%g, %g], got '%s'\n", name, lo,
                hi, arg);
        return 2;
    }
    *out = v;
    return 0;
}

static int on_opt(void *ud, int id, const char *arg) {
    sim_args *a = ud;
    double v;
    switch (id) {
    case O_URL:
        a->url = arg;
        return 0;
    case O_WORLD:
        a->world = arg;
        return 0;
    case O_KEY:
        a->key = arg;
        return 0;
    case O_JSON:
        a->json = 1;
        return 0;
    case O_LOVED:
        a->loved = arg;
        return 0;
    case O_MAX_CLICK:
        return parse_num("max-click", arg, 0, 1, &a->max_click);
    case O_NOVELTY:
        return parse_num("novelty", arg, 0, 1, &a->novelty);
    }
    if (id == O_REQUESTS || id == O_K || id == O_SEED || id == O_MAX_SECONDS) {
        double hi = id == O_K ? 100 : id == O_SEED ? 1e15 : 1e8;
        if (parse_num(id == O_REQUESTS ? "requests"
                      : id == O_K      ? "k"
                      : id == O_SEED   ? "seed"
                                       : "max-seconds",
                      arg, id == O_SEED ? 0 : 1, hi, &v))
            return 2;
        if (id == O_REQUESTS) a->requests = (size_t)v;
        if (id == O_K) a->k = (size_t)v;
        if (id == O_SEED) a->seed = (uint64_t)v;
        if (id == O_MAX_SECONDS) a->max_seconds = (size_t)v;
        return 0;
    }
    return 2;
}

static void usage(FILE *f) {
    fprintf(f, "Usage: mixrec simulate --url http://127.0.0.1:PORT --world DIR [--requests N]\n\n"
               "Plays the users of a synthetic world (`mixrec synth --out DIR`; serve a model\n"
               "built from DIR/interactions.csv) against a running server: each request picks a\n"
               "user, asks GET /v1/users/{user}/recommendations?k=K, and the user clicks the item\n"
               "at position p with P = 1/log2(2+p) x max_click x w_u[interest] / max w_u x pop\n"
               "(their planted preference); clicks are posted to /v1/events with the answer's\n"
               "recommendation_id and position. Prints, per experiment variant the server said\n"
               "it served (\"-\": none), the users, impressions, sampled clicks and the true\n"
               "click-through (expected clicks per answer, known to the simulator exactly);\n"
               "for interleaved answers (items marked with a variant), each variant's credited\n"
               "clicks and the answers it won.\n\n"
               "Options:\n");
    cli_print_options(f, sim_opts);
}

static variant_stats *variant_of(variant_stats *v, size_t *n, const char *name, size_t n_users) {
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(v[i].name, name)) return &v[i];
    if (*n == SIM_MAX_VARIANTS) return NULL;
    variant_stats *s = &v[(*n)++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->seen = calloc(n_users, 1);
    return s->seen ? s : NULL;
}

/* The world item of an answer's item id ("i<k>"), or -1. */
static int64_t world_item(const syn_world *w, const char *id) {
    char *end;
    if (!id || id[0] != 'i' || id[1] < '0' || id[1] > '9') return -1;
    unsigned long long v = strtoull(id + 1, &end, 10);
    return *end || v >= w->n_items ? -1 : (int64_t)v;
}

/* One slate for user u: ask, click, post. 0, or 1 with the message
 * printed. */
static int one_request(httpc *c, const sim_args *a, const syn_world *w, size_t u, double wmax,
                       rng_state *r, size_t req, variant_stats *vs, size_t *nv, teams_stats *ts,
                       loved_stats *ls, novelty_stats *ns) {
    char path[128];
    snprintf(path, sizeof(path), "/v1/users/u%zu/recommendations?k=%zu", u, a->k);
    int status;
    const char *reply;
    mx_err err = {0};
    if (httpc_request(c, "GET", path, NULL, SIM_TIMEOUT_MS, &status, &reply, &err)) {
        fprintf(stderr, "mixrec simulate: GET %s: %s\n", path, err.msg);
        return 1;
    }
    json_t *o = json_loads(reply, 0, NULL);
    const char *rid = json_string_value(json_object_get(o, "recommendation_id"));
    if (status != 200 || !rid) {
        fprintf(stderr, "mixrec simulate: GET %s: status %d: %.300s\n", path, status, reply);
        json_decref(o);
        return 1;
    }
    const char *vname = json_string_value(json_object_get(o, "variant"));
    variant_stats *v = variant_of(vs, nv, vname ? vname : "-", w->n_users);
    if (!v) {
        json_decref(o);
        fprintf(stderr, "mixrec simulate: too many variants or out of memory\n");
        return 1;
    }
    v->impressions++;
    ns->answers[a->novelty > 0 && seeks_novelty(a, u)]++;
    if (!v->seen[u]) v->seen[u] = 1, v->users++;
    json_t *events = json_array(), *it;
    size_t p, credited[2] = {0, 0};
    int interleaved = 0;
    json_array_foreach(json_object_get(o, "items"), p, it) {
        int team = team_of(ts, json_string_value(json_object_get(it, "variant")));
        interleaved |= team >= 0;
        const char *id = json_string_value(json_object_get(it, "item"));
        int64_t i = world_item(w, id);
        double pc = click_chance(a, w, u, i, p, wmax, ls->item);
        int group = a->novelty > 0 && seeks_novelty(a, u);
        v->expected += pc;
        ns->expected[group] += pc;
        ns->explored[group] += json_real_value(json_object_get(it, "propensity")) < 1;
        if (i >= 0 && i == ls->item) ls->shown[4 * req / a->requests]++;
        if (rng_uniform(r) >= pc) continue;
        char user[32], eid[64];
        snprintf(user, sizeof(user), "u%zu", u);
        snprintf(eid, sizeof(eid), "sim-%" PRIu64 "-%zu-%zu", a->seed, req, p);
        json_array_append_new(events, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "user", user, "item",
                                                id, "type", "click", "recommendation_id", rid,
                                                "position", (json_int_t)p, "event_id", eid));
        v->clicks++;
        ls->clicks += i == ls->item;
        if (team >= 0) credited[team]++;
    }
    json_decref(o);
    if (interleaved) {
        ts->answers++;
        for (int t = 0; t < 2; t++)
            ts->clicks[t] += credited[t];
        if (credited[0] + credited[1])
            credited[0] == credited[1] ? ts->ties++ : ts->wins[credited[1] > credited[0]]++;
    }
    int rc = 0;
    if (json_array_size(events)) {
        char *body = json_dumps(events, JSON_COMPACT);
        if (!body ||
            httpc_request(c, "POST", "/v1/events", body, SIM_TIMEOUT_MS, &status, &reply, &err)) {
            fprintf(stderr, "mixrec simulate: POST /v1/events: %s\n", body ? err.msg : "OOM");
            rc = 1;
        } else if (status != 200) {
            fprintf(stderr, "mixrec simulate: POST /v1/events: status %d: %.300s\n", status, reply);
            rc = 1;
        }
        free(body);
    }
    json_decref(events);
    return rc;
}

static json_t *teams_json(const teams_stats *t) {
    json_t *o =
        json_pack("{s:I,s:I}", "answers", (json_int_t)t->answers, "ties", (json_int_t)t->ties);
    json_t *arr = json_array();
    for (int i = 0; i < 2; i++)
        json_array_append_new(arr, json_pack("{s:s,s:I,s:I}", "name", t->name[i], "wins",
                                             (json_int_t)t->wins[i], "clicks",
                                             (json_int_t)t->clicks[i]));
    json_object_set_new(o, "variants", arr);
    return o;
}

static json_t *loved_json(const sim_args *a, const loved_stats *l) {
    return json_pack("{s:s,s:[I,I,I,I],s:I}", "item", a->loved, "shown", (json_int_t)l->shown[0],
                     (json_int_t)l->shown[1], (json_int_t)l->shown[2], (json_int_t)l->shown[3],
                     "clicks", (json_int_t)l->clicks);
}

static json_t *novelty_json(const sim_args *a, const novelty_stats *n) {
    json_t *o = json_pack("{s:f}", "share", a->novelty);
    const char *name[2] = {"others", "seekers"};
    for (int g = 0; g < 2; g++) {
        double per = n->answers[g] ? 1.0 / (double)n->answers[g] : 0;
        json_object_set_new(o, name[g],
                            json_pack("{s:I,s:f,s:f}", "answers", (json_int_t)n->answers[g],
                                      "explored_per_answer", (double)n->explored[g] * per,
                                      "true_click_through", n->expected[g] * per));
    }
    return o;
}

static void print_summary(const sim_args *a, const variant_stats *v, size_t nv,
                          const teams_stats *t, const loved_stats *l, const novelty_stats *ns,
                          size_t done, double seconds) {
    if (a->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < nv; i++)
            json_array_append_new(
                arr,
                json_pack("{s:s,s:I,s:I,s:I,s:f,s:f}", "name", v[i].name, "users",
                          (json_int_t)v[i].users, "impressions", (json_int_t)v[i].impressions,
                          "clicks", (json_int_t)v[i].clicks, "click_through",
                          v[i].impressions ? (double)v[i].clicks / (double)v[i].impressions : 0.0,
                          "true_click_through",
                          v[i].impressions ? v[i].expected / (double)v[i].impressions : 0.0));
        json_t *o = json_pack("{s:I,s:f,s:o}", "requests", (json_int_t)done, "seconds", seconds,
                              "variants", arr);
        if (t->answers) json_object_set_new(o, "interleaving", teams_json(t));
        if (l->item >= 0) json_object_set_new(o, "loved", loved_json(a, l));
        if (a->novelty > 0) json_object_set_new(o, "novelty", novelty_json(a, ns));
        char *s = json_dumps(o, JSON_COMPACT);
        if (s) puts(s);
        free(s);
        json_decref(o);
        return;
    }
    printf("%zu requests in %.1f s (%.0f/s)\n", done, seconds, seconds > 0 ? done / seconds : 0);
    printf("%-16s %8s %11s %8s %10s %10s\n", "variant", "users", "impressions", "clicks", "ctr",
           "true ctr");
    for (size_t i = 0; i < nv; i++)
        printf("%-16s %8zu %11zu %8zu %10.4f %10.4f\n", v[i].name, v[i].users, v[i].impressions,
               v[i].clicks, v[i].impressions ? (double)v[i].clicks / (double)v[i].impressions : 0,
               v[i].impressions ? v[i].expected / (double)v[i].impressions : 0);
    if (t->answers)
        printf("interleaved answers %zu: %s won %zu (%zu clicks), %s won %zu (%zu clicks), %zu "
               "ties\n",
               t->answers, t->name[0], t->wins[0], t->clicks[0], t->name[1], t->wins[1],
               t->clicks[1], t->ties);
    if (l->item >= 0)
        printf("loved item %s: shown %zu, %zu, %zu, %zu times per quarter of the requests, %zu "
               "clicks\n",
               a->loved, l->shown[0], l->shown[1], l->shown[2], l->shown[3], l->clicks);
    for (int g = 1; a->novelty > 0 && g >= 0; g--)
        printf("%s: %zu answers, %.2f explored items per answer, true ctr %.4f\n",
               g ? "novelty seekers" : "the others", ns->answers[g],
               ns->answers[g] ? (double)ns->explored[g] / (double)ns->answers[g] : 0,
               ns->answers[g] ? ns->expected[g] / (double)ns->answers[g] : 0);
}

int cmd_simulate(int argc, char **argv) {
    sim_args a = {.requests = 2000, .k = 10, .max_click = 0.5, .seed = 1, .max_seconds = 300};
    a.key = getenv("MIXREC_API_KEY");
    int rc = cli_parse(argc, argv, usage, sim_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    if (!a.url || !a.world) {
        fprintf(stderr, "mixrec simulate: --url and --world are required (see --help)\n");
        return 2;
    }
    syn_params p;
    syn_world w;
    mx_err err = {0};
    if (cli_world_load(a.world, &p, &err)) {
        fprintf(stderr, "mixrec simulate: %s\n", err.msg);
        return 2;
    }
    if (syn_make(&p, &w, &err)) {
        fprintf(stderr, "mixrec simulate: %s\n", err.msg);
        return 1;
    }
    httpc *c = httpc_new(a.url, a.key, &err);
    double *wmax = calloc(w.n_users, sizeof(double));
    if (!c || !wmax) {
        fprintf(stderr, "mixrec simulate: %s\n", c ? "out of memory" : err.msg);
        httpc_free(c);
        free(wmax);
        syn_world_free(&w);
        return 2;
    }
    for (size_t u = 0; u < w.n_users; u++)
        wmax[u] = syc_user_wmax(&w, u);
    loved_stats ls = {.item = a.loved ? world_item(&w, a.loved) : -1};
    novelty_stats ns = {0};
    if (a.loved && ls.item < 0) {
        fprintf(stderr, "mixrec simulate: --loved %s is not an item of the world (i0, i1, ...)\n",
                a.loved);
        httpc_free(c);
        free(wmax);
        syn_world_free(&w);
        return 2;
    }
    variant_stats vs[SIM_MAX_VARIANTS];
    memset(vs, 0, sizeof(vs));
    teams_stats ts = {0};
    size_t nv = 0, done = 0;
    rng_state r;
    rng_seed(&r, a.seed);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double seconds = 0;
    rc = 0;
    for (; done < a.requests && seconds < (double)a.max_seconds; done++) {
        size_t u = (size_t)(rng_next(&r) % w.n_users);
        if (one_request(c, &a, &w, u, wmax[u], &r, done, vs, &nv, &ts, &ls, &ns)) {
            rc = 1;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    }
    print_summary(&a, vs, nv, &ts, &ls, &ns, done, seconds);
    for (size_t i = 0; i < nv; i++)
        free(vs[i].seen);
    free(wmax);
    httpc_free(c);
    syn_world_free(&w);
    return rc;
}

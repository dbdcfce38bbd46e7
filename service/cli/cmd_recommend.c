/* cmd_recommend.c - `mixrec recommend` and `mixrec similar`: ask a saved
 * model from the command line, with explanations. The same request logic
 * (recommend.h) the service uses; handy to inspect a model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "cli_util.h"
#include "commands.h"
#include "model.h"
#include "recommend.h"
#include "retrieve.h"

enum { R_MODEL = 1, R_USER, R_RECENT, R_ITEM, R_K, R_EXCLUDE, R_CATEGORY, R_JSON };

static const cli_opt rec_opts[] = {
    {"model", "DIR", "model root (with CURRENT) or a version directory (required)", R_MODEL},
    {"user", "ID", "the user to recommend for (unknown ids get popular items)", R_USER},
    {"recent", "ITEM,...", "recent items of the visitor (a session: clicks, now)", R_RECENT},
    {"k", "K", "how many (default 10, at most 1000)", R_K},
    {"exclude", "ITEM,...", "items to leave out", R_EXCLUDE},
    {"category", "NAME", "only items of this category (repeatable: any of them)", R_CATEGORY},
    {"json", NULL, "print JSON instead of a table", R_JSON},
    {0},
};

static const cli_opt sim_opts[] = {
    {"model", "DIR", "model root (with CURRENT) or a version directory (required)", R_MODEL},
    {"item", "ID", "the item (required)", R_ITEM},
    {"k", "K", "how many (default 10, at most 1000)", R_K},
    {"json", NULL, "print JSON instead of a table", R_JSON},
    {0},
};

typedef struct {
    const char *model, *user, *recent, *item, *exclude;
    const char *categories[16];
    size_t n_categories, k;
    int json;
} rec_args;

static int on_opt(void *ud, int id, const char *arg) {
    rec_args *a = ud;
    char *end;
    switch (id) {
    case R_MODEL:
        a->model = arg;
        break;
    case R_USER:
        a->user = arg;
        break;
    case R_RECENT:
        a->recent = arg;
        break;
    case R_ITEM:
        a->item = arg;
        break;
    case R_EXCLUDE:
        a->exclude = arg;
        break;
    case R_JSON:
        a->json = 1;
        break;
    case R_CATEGORY:
        if (a->n_categories == 16) {
            fprintf(stderr, "mixrec: at most 16 --category options\n");
            return 2;
        }
        a->categories[a->n_categories++] = arg;
        break;
    case R_K:
        a->k = strtoul(arg, &end, 10);
        if (end == arg || *end || a->k == 0 || a->k > 1000) {
            fprintf(stderr, "mixrec: --k must be in 1..1000, got '%s'\n", arg);
            return 2;
        }
        break;
    }
    return 0;
}

static void rec_usage(FILE *f) {
    fprintf(f, "Usage: mixrec recommend --model DIR (--user ID | --recent ITEM,...) [--k K]\n"
               "                        [--exclude ITEM,...] [--category NAME] [--json]\n\n"
               "Recommends from a saved model: the user's long-term interests blended with the\n"
               "recent items given (as clicks happening now), their training items excluded,\n"
               "each result explained by its interest and reason (long-term, session, popular).\n\n"
               "Options:\n");
    cli_print_options(f, rec_opts);
}

static void sim_usage(FILE *f) {
    fprintf(f, "Usage: mixrec similar --model DIR --item ID [--k K] [--json]\n\n"
               "Items closest to ITEM by inner product of their embeddings.\n\nOptions:\n");
    cli_print_options(f, sim_opts);
}

/* Splits a comma list of item ids into dense ids; unknown ids are listed
 * on stderr and skipped (as the API will list them in its answer). */
static size_t parse_items(const mx_model *m, const char *list, uint32_t *out, size_t cap) {
    size_t n = 0;
    char buf[256];
    for (const char *p = list; p && *p && n < cap;) {
        size_t len = strcspn(p, ",");
        if (len > 0 && len < sizeof(buf)) {
            memcpy(buf, p, len);
            buf[len] = 0;
            int64_t it = model_item(m, buf);
            if (it >= 0)
                out[n++] = (uint32_t)it;
            else
                fprintf(stderr, "mixrec: unknown item '%s' ignored\n", buf);
        }
        p += len + (p[len] == ',');
    }
    return n;
}

static const char *title_of(const mx_model *m, uint32_t item) {
    return m->titles && m->titles[item] ? m->titles[item] : "";
}

static void print_items(const mx_model *m, const rec_item *items, size_t n, int json,
                        int with_reason) {
    if (json) { /* the API's shape (api.h) */
        json_t *arr = api_items_json(m, NULL, items, n, with_reason);
        json_t *root = json_pack("{s:s,s:o}", "model_version", m->version, "items", arr);
        char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt ? txt : "{}");
        free(txt);
        json_decref(root);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const rec_item *r = &items[i];
        printf("%3zu  %-12s %-44.44s %-26.26s %-9s %.4g\n", i + 1, m->item_ids[r->item],
               title_of(m, r->item), r->interest != INTR_NONE ? m->labels[r->interest].name : "-",
               with_reason ? rec_reason_name(r->reason) : "", (double)r->rank_score);
    }
}

static int load(const char *dir, mx_model **m) {
    mx_err err = {0};
    if (!dir) {
        fprintf(stderr, "mixrec: --model DIR is required (see --help)\n");
        return 2;
    }
    if (model_load(dir, m, &err)) {
        fprintf(stderr, "mixrec: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int cmd_recommend(int argc, char **argv) {
    rec_args a = {.k = 10};
    int rc = cli_parse(argc, argv, rec_usage, rec_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    if (!a.user && !a.recent) {
        fprintf(stderr, "mixrec recommend: give --user ID and/or --recent ITEM,...\n");
        return 2;
    }
    mx_model *m = NULL;
    if ((rc = load(a.model, &m))) return rc;
    uint32_t recent[256], exclude[256];
    uint16_t cats[16];
    rec_event ev[256];
    size_t n_recent = parse_items(m, a.recent, recent, 256);
    size_t n_ex = parse_items(m, a.exclude, exclude, 256), n_cats = 0;
    for (size_t i = 0; i < a.n_categories; i++) {
        int64_t c = model_category(m, a.categories[i]);
        if (c < 0)
            fprintf(stderr, "mixrec: unknown category '%s' ignored\n", a.categories[i]);
        else
            cats[n_cats++] = (uint16_t)c;
    }
    int64_t now = m->t_ref; /* the model's "now": its last training event */
    for (size_t i = 0; i < n_recent; i++)
        ev[i] = (rec_event){recent[i], now, 2.0f}; /* a click */
    rec_query q = {.user = a.user ? model_user(m, a.user) : -1,
                   .events = ev,
                   .n_events = n_recent,
                   .exclude = exclude,
                   .n_exclude = n_ex,
                   .categories = cats,
                   .n_categories = n_cats,
                   .k = a.k,
                   .now = now,
                   .explain = a.json};
    if (a.user && q.user < 0 && !a.json)
        printf("user '%s' is not in the model: cold start\n", a.user);
    if (a.n_categories && n_cats == 0) {
        fprintf(stderr, "mixrec recommend: none of the categories exists\n");
        model_free(m);
        return 2;
    }
    rec_params p;
    rec_params_init(&p);
    rec_ctx *c = rec_ctx_new(m, 1000);
    rec_item *out = malloc(a.k * sizeof(rec_item));
    size_t n = 0;
    mx_err err = {0};
    rc = !c || !out ? (mx_err_set(&err, MX_ENOMEM, "out of memory"), 1)
         : rec_recommend(c, &p, &q, out, &n, &err) ? 1
                                                   : 0;
    if (rc) {
        fprintf(stderr, "mixrec recommend: %s\n", err.msg);
    } else {
        if (!a.json) {
            rec_mixture mix;
            rec_mixture_of(m, &p, &q, &mix);
            printf("interests (blended = %.0f%% session):", 100.0 * mix.session_share);
            for (size_t i = 0; i < mix.n && i < 5; i++)
                printf("%s %s %.0f%%", i ? "," : "", m->labels[mix.cid[i]].name,
                       100.0 * mix.blended[i]);
            printf("\norder: %s\n", rec_last_ranked(c) ? "learned ranker (score: the ranker's)"
                                                       : "retrieval (no ranker in use)");
        }
        print_items(m, out, n, a.json, 1);
    }
    free(out);
    rec_ctx_free(c);
    model_free(m);
    return rc;
}

int cmd_similar(int argc, char **argv) {
    rec_args a = {.k = 10};
    int rc = cli_parse(argc, argv, sim_usage, sim_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    if (!a.item) {
        fprintf(stderr, "mixrec similar: --item ID is required (see --help)\n");
        return 2;
    }
    mx_model *m = NULL;
    if ((rc = load(a.model, &m))) return rc;
    int64_t it = model_item(m, a.item);
    if (it < 0) {
        fprintf(stderr, "mixrec similar: item '%s' is not in the model\n", a.item);
        model_free(m);
        return 1;
    }
    rec_ctx *c = rec_ctx_new(m, 1000);
    rec_item *out = malloc(a.k * sizeof(rec_item));
    size_t n = 0;
    mx_err err = {0};
    rc = !c || !out ? (mx_err_set(&err, MX_ENOMEM, "out of memory"), 1)
         : rec_similar(c, (uint32_t)it, &(rec_query){.k = a.k}, out, &n, &err) ? 1
                                                                               : 0;
    if (rc)
        fprintf(stderr, "mixrec similar: %s\n", err.msg);
    else {
        if (!a.json) printf("similar to %s %s:\n", a.item, title_of(m, (uint32_t)it));
        print_items(m, out, n, a.json, 0);
    }
    free(out);
    rec_ctx_free(c);
    model_free(m);
    return rc;
}

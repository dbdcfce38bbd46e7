/* cli_util.c - see cli_util.h. */
#include "cli_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "pipeline.h"

static double g_t0;

void cli_log(const char *fmt, ...) {
    if (g_t0 == 0) g_t0 = pipe_now();
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%7.2fs] ", pipe_now() - g_t0);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_log_build_report(const mx_model *m) {
    if (m->interests_note[0]) cli_log("interests: %s", m->interests_note);
    for (size_t i = 0; i < m->n_warnings && i < MODEL_MAX_WARNINGS; i++)
        cli_log("warning: %s", m->warnings[i]);
    if (m->n_warnings > MODEL_MAX_WARNINGS)
        cli_log("warning: %zu more warnings", m->n_warnings - MODEL_MAX_WARNINGS);
}

void cli_print_options(FILE *f, const cli_opt *opts) {
    for (const cli_opt *o = opts; o->name; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-28s %s\n", left, o->help);
    }
}

int cli_parse(int argc, char **argv, void (*usage)(FILE *f), const cli_opt *opts,
              int (*handler)(void *ud, int id, const char *arg), void *ud) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "mixrec: unexpected argument '%s' (see --help)\n", a);
            return 2;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const cli_opt *o = NULL;
        for (const cli_opt *p = opts; p->name && !o; p++)
            if (strlen(p->name) == nlen && !strncmp(p->name, name, nlen)) o = p;
        if (!o) {
            fprintf(stderr, "mixrec: unknown option '--%.*s' (see --help)\n", (int)nlen, name);
            return 2;
        }
        const char *arg = NULL;
        if (o->arg) {
            if (eq)
                arg = eq + 1;
            else if (i + 1 < argc)
                arg = argv[++i];
            else {
                fprintf(stderr, "mixrec: option --%s needs a value (%s)\n", o->name, o->arg);
                return 2;
            }
        } else if (eq) {
            fprintf(stderr, "mixrec: option --%s takes no value\n", o->name);
            return 2;
        }
        int rc = handler(ud, o->id, arg);
        if (rc) return rc;
    }
    return 0;
}

int cli_parse_data(int argc, char **argv, void (*usage)(FILE *f), const cli_opt *own,
                   int (*handler)(void *ud, int id, const char *arg), void *ud) {
    const cli_opt *tables[2] = {cli_data_opts, own};
    cli_opt all[128];
    size_t n = 0;
    for (int t = 0; t < 2; t++)
        for (const cli_opt *o = tables[t]; o->name; o++) {
            if (n + 1 == sizeof(all) / sizeof(all[0])) {
                fprintf(stderr, "mixrec: too many options for one command\n");
                return 2;
            }
            all[n++] = *o;
        }
    all[n] = (cli_opt){0};
    return cli_parse(argc, argv, usage, all, handler, ud);
}

enum {
    D_INTERACTIONS = 1000,
    D_ITEMS,
    D_FORMAT,
    D_ITEMS_FORMAT,
    D_SEPARATOR,
    D_ITEMS_SEPARATOR,
    D_COLUMNS,
    D_ITEMS_COLUMNS,
    D_USER_COL,
    D_ITEM_COL,
    D_TIME_COL,
    D_VALUE_COL,
    D_TYPE_COL,
    D_META_ID_COL,
    D_TITLE_COL,
    D_CAT_COL,
    D_CAT_SEP,
    D_MIN_VALUE,
    D_CONFIG,
    D_SET,
    D_ITEM_VECTORS,
    D_ITEM_VECTOR_IDS
};

const cli_opt cli_data_opts[] = {
    {"interactions", "PATH",
     "interaction log (required); repeatable: the logs are merged (e.g. the history plus "
     "`mixrec export` files)",
     D_INTERACTIONS},
    {"items", "PATH", "item metadata: titles and categories (optional)", D_ITEMS},
    {"format", "FMT", "auto|jsonl|csv|tsv|movietweetings (default auto: detected, see below)",
     D_FORMAT},
    {"items-format", "FMT", "format of --items, as --format", D_ITEMS_FORMAT},
    {"separator", "CHAR", "CSV field separator, e.g. ';' or tab (default: detected)", D_SEPARATOR},
    {"items-separator", "CHAR", "as --separator, for --items", D_ITEMS_SEPARATOR},
    {"columns", "LIST", "header-less log: its columns in order, e.g. user,item,rating,ts (- skips)",
     D_COLUMNS},
    {"items-columns", "LIST", "header-less --items: e.g. item,title,categories", D_ITEMS_COLUMNS},
    {"user-col", "NAME", "header name or key of user ids (default: found by name)", D_USER_COL},
    {"item-col", "NAME", "header name or key of item ids (default: found by name)", D_ITEM_COL},
    {"time-col", "NAME", "... of timestamps (default: found by name; -: none)", D_TIME_COL},
    {"value-col", "NAME", "... of ratings/weights (default: found by name; -: none, 1)",
     D_VALUE_COL},
    {"type-col", "NAME", "... of event types (default: found by name; -: none)", D_TYPE_COL},
    {"item-id-col", "NAME", "--items header name or key of item ids (default: found by name)",
     D_META_ID_COL},
    {"title-col", "NAME", "... of titles (default: found by name)", D_TITLE_COL},
    {"categories-col", "NAME", "... of categories (default: found by name)", D_CAT_COL},
    {"category-sep", "CHAR", "separator inside the categories field (default |)", D_CAT_SEP},
    {"min-value", "X", "keep only events whose value is >= X (e.g. ratings >= 7)", D_MIN_VALUE},
    {"config", "FILE", "JSON configuration (see config/mixrec.json)", D_CONFIG},
    {"set", "NAME=VALUE", "override one setting, e.g. --set embed.dim=32 (repeatable)", D_SET},
    {"item-vectors", "PATH", "use these item embeddings (.fvecs/.npy) instead of ALS",
     D_ITEM_VECTORS},
    {"item-vector-ids", "PATH", "item id of each row of --item-vectors, one per line",
     D_ITEM_VECTOR_IDS},
    {0},
};

void cli_data_init(cli_data *d) {
    memset(d, 0, sizeof(*d));
    ds_import_opts_init(&d->imp);
    bcfg_init(&d->cfg);
}

static int parse_format(const char *s, ds_format *out) {
    if (!strcmp(s, "movietweetings") || !strcmp(s, "movielens"))
        *out = DS_FMT_MOVIETWEETINGS;
    else if (!strcmp(s, "csv"))
        *out = DS_FMT_CSV;
    else if (!strcmp(s, "tsv"))
        *out = DS_FMT_TSV;
    else if (!strcmp(s, "jsonl") || !strcmp(s, "json"))
        *out = DS_FMT_JSONL;
    else if (!strcmp(s, "auto"))
        *out = DS_FMT_AUTO;
    else {
        fprintf(stderr, "mixrec: unknown format '%s' (auto, jsonl, csv, tsv, movietweetings)\n", s);
        return 2;
    }
    return 0;
}

/* One character; "tab" and "\t" (as typed in a shell) are a tab. */
static int parse_sep(const char *name, const char *s, char *out) {
    if (!strcmp(s, "tab") || !strcmp(s, "\\t"))
        *out = '\t';
    else if (strlen(s) == 1 && s[0] != '"' && s[0] != '\n' && s[0] != '\r')
        *out = s[0];
    else {
        fprintf(stderr, "mixrec: --%s: expected one character or tab, got '%s'\n", name, s);
        return 2;
    }
    return 0;
}

int cli_data_add_source(cli_data *d, const char *path) {
    if (d->n_sources >= CLI_MAX_SOURCES) {
        fprintf(stderr, "mixrec: at most %d --interactions sources\n", CLI_MAX_SOURCES);
        return 2;
    }
    d->sources[d->n_sources++] = path;
    d->interactions = d->sources[0];
    return 0;
}

/* One line per source: what it read, added and dropped, and why. */
static void log_sources(const cli_data *d, const ds_source_stats *ps) {
    for (size_t k = 0; k < d->n_sources; k++) {
        const ds_source_stats *s = &ps[k];
        cli_log("source %zu: %s", k + 1, s->summary);
        cli_log("source %zu: %zu lines -> %zu events, %zu users (%zu new), %zu items (%zu new); "
                "dropped %zu unknown type, %zu dislike/weight <= 0, %zu below min_value, %zu "
                "blank",
                k + 1, s->lines, s->events, s->users, s->new_users, s->items, s->new_items,
                s->unknown_types, s->nonpositive_types, s->below_min_value, s->blank_lines);
    }
}

int cli_data_option(cli_data *d, int id, const char *arg) {
    switch (id) {
    case D_INTERACTIONS:
        return cli_data_add_source(d, arg);
    case D_ITEMS:
        d->items = arg;
        break;
    case D_FORMAT:
        return parse_format(arg, &d->imp.format);
    case D_ITEMS_FORMAT:
        return parse_format(arg, &d->imp.items_format);
    case D_SEPARATOR:
        return parse_sep("separator", arg, &d->imp.sep);
    case D_ITEMS_SEPARATOR:
        return parse_sep("items-separator", arg, &d->imp.items_sep);
    case D_COLUMNS:
        d->imp.columns = arg;
        break;
    case D_ITEMS_COLUMNS:
        d->imp.items_columns = arg;
        break;
    case D_TYPE_COL:
        d->imp.type_col = arg;
        break;
    case D_USER_COL:
        d->imp.user_col = arg;
        break;
    case D_ITEM_COL:
        d->imp.item_col = arg;
        break;
    case D_TIME_COL:
        d->imp.time_col = arg;
        break;
    case D_VALUE_COL:
        d->imp.value_col = arg;
        break;
    case D_META_ID_COL:
        d->imp.meta_id_col = arg;
        break;
    case D_TITLE_COL:
        d->imp.meta_title_col = arg;
        break;
    case D_CAT_COL:
        d->imp.meta_cat_col = arg;
        break;
    case D_CAT_SEP:
        if (strlen(arg) != 1) {
            fprintf(stderr, "mixrec: --category-sep must be one character\n");
            return 2;
        }
        d->imp.cat_sep = arg[0];
        break;
    case D_MIN_VALUE: {
        char *end;
        double v = strtod(arg, &end);
        if (end == arg || *end || !isfinite(v)) {
            fprintf(stderr, "mixrec: --min-value: '%s' is not a number\n", arg);
            return 2;
        }
        d->cfg.min_value = (float)v;
        d->imp.min_value = (float)v;
        break;
    }
    case D_CONFIG:
        d->config_file = arg;
        break;
    case D_SET:
        if (d->n_sets >= 64) {
            fprintf(stderr, "mixrec: too many --set options\n");
            return 2;
        }
        d->sets[d->n_sets++] = arg;
        break;
    case D_ITEM_VECTORS:
        d->in.item_vectors = arg;
        break;
    case D_ITEM_VECTOR_IDS:
        d->in.item_vector_ids = arg;
        break;
    default:
        return 2;
    }
    return 0;
}

int cli_data_finish(cli_data *d, ds_dataset **ds) {
    mx_err err = {0};
    float cli_min = d->imp.min_value;
    if (!d->interactions) {
        fprintf(stderr, "mixrec: --interactions PATH is required (see --help)\n");
        return 2;
    }
    if (d->config_file && bcfg_load_file(&d->cfg, d->config_file, &err)) {
        fprintf(stderr, "mixrec: config: %s\n", err.msg);
        return 2;
    }
    for (size_t i = 0; i < d->n_sets; i++) {
        char name[128];
        const char *eq = strchr(d->sets[i], '=');
        if (!eq || eq == d->sets[i] || (size_t)(eq - d->sets[i]) >= sizeof(name)) {
            fprintf(stderr, "mixrec: --set expects NAME=VALUE, got '%s'\n", d->sets[i]);
            return 2;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(eq - d->sets[i]), d->sets[i]);
        if (bcfg_set(&d->cfg, name, eq + 1, &err)) {
            fprintf(stderr, "mixrec: --set: %s\n", err.msg);
            return 2;
        }
    }
    /* --min-value wins over the config file's data.min_value */
    if (isfinite(cli_min)) d->cfg.min_value = cli_min;
    d->imp.min_value = d->cfg.min_value;
    /* a type column weighs events as the service weighs session events */
    memcpy(d->imp.type_weights, d->cfg.event_weight, sizeof(d->imp.type_weights));
    cli_log("loading %s%s%s%s", d->interactions, d->n_sources > 1 ? " and more" : "",
            d->items ? " and " : "", d->items ? d->items : "");
    ds_source_stats *ps = calloc(d->n_sources, sizeof(*ps));
    if (!ps) {
        fprintf(stderr, "mixrec: out of memory\n");
        return 1;
    }
    if (ds_load_many(ds, d->sources, d->n_sources, d->items, &d->imp, ps, &err)) {
        fprintf(stderr, "mixrec: %s\n", err.msg);
        free(ps);
        return 1;
    }
    if (d->n_sources > 1) log_sources(d, ps);
    free(ps);
    char line[2048];
    for (int items = 0; items < 2; items++) {
        ds_import_summary(*ds, items, line, sizeof(line));
        if (line[0]) cli_log("read %s", line);
    }
    const ds_stats *st = ds_get_stats(*ds);
    cli_log("%zu events, %zu users, %zu items, %zu categories", st->events, ds_n_users(*ds),
            ds_n_items(*ds), ds_n_categories(*ds));
    if (st->duplicates || st->below_min_value || st->meta_unknown_items ||
        st->meta_duplicate_items || st->blank_lines)
        cli_log("warnings: %zu duplicate events merged, %zu below --min-value dropped, %zu blank "
                "lines, %zu metadata lines for unknown items, %zu duplicate metadata lines, %zu "
                "items without metadata",
                st->duplicates, st->below_min_value, st->blank_lines, st->meta_unknown_items,
                st->meta_duplicate_items, st->items_without_meta);
    return 0;
}

const char cli_data_sources[] =
    "The column after each name is its built-in default, which the command uses\n"
    "unless --config FILE or --set names the setting (no configuration file is\n"
    "read without --config). --config FILE overrides these defaults and --set\n"
    "overrides the file. config/mixrec.json, tuned for the bundled data, sets its\n"
    "own values for several of them; scripts/demo and the README's figures use it.\n";

void cli_print_input_help(FILE *f) {
    fprintf(f,
            "Input files (--interactions, --items):\n"
            "  The format is detected from the first non-blank line: '{' is JSON lines (one\n"
            "  object per line, fields by name); '::' is MovieLens/MovieTweetings\n"
            "  user::item::rating::ts; anything else is CSV/TSV separated by the most frequent\n"
            "  of tab, ';' and ',' (CSV fields may be \"quoted\", separators inside included).\n"
            "  CSV/TSV files have a header line, or --columns names their columns in order.\n"
            "  Columns are found by name (case, '_' and '-' ignored) unless named with\n"
            "  --user-col and the like:\n"
            "    user    user, user_id, visitor_id, customer_id (required)\n"
            "    item    item, item_id, product_id, movie_id (required)\n"
            "    rating  rating, weight, value, score (none: every value is 1)\n"
            "    type    type, event, event_type: view, click, like, purchase, dislike (also\n"
            "            transaction, buy, order = purchase; addtocart, cart, favorite = like);\n"
            "            the value is multiplied by the type's events.* weight (the settings\n"
            "            the service uses for sessions); unknown types and types weighing <= 0\n"
            "            (dislike) are skipped and counted\n"
            "    ts      ts, timestamp, time, datetime, event_time, date: unix seconds,\n"
            "            milliseconds (any number above 1e11), ISO 8601 (2021-11-04T10:00:00Z,\n"
            "            +02:00 offsets, 2021-11-04; no offset = UTC); none: the order of the\n"
            "            lines is time\n"
            "  Items: item (item, item_id, id, product_id, movie_id), title (title, name),\n"
            "  categories (categories, category, genres, genre, tags: '|'-separated, or a\n"
            "  JSON list). Values weigh in the embeddings with embed.use_value=true.\n"
            "  A bad file stops with file:line: column N 'name': what was expected; a\n"
            "  line per file says what was detected, kept and skipped.\n"
            "  Several --interactions (e.g. a history plus `mixrec export` files, which\n"
            "  carry extra keys - stream_id, event_id, recommendation_id, position - that\n"
            "  are ignored) are read each in its own format and merged; repeated (user,\n"
            "  item) pairs across them merge as within one file. Each source gets a line:\n"
            "  lines, events, users and items (new ones), and what was dropped and why.\n\n");
}

void cli_print_settings(FILE *f, const settings_table *t, const char *sources) {
    fprintf(f, "Settings (--set NAME=VALUE, or the same names as sections in --config).\n%s\n",
            sources);
    settings_help(t, f);
}

/* The item's categories (the record's, else the dataset's) joined by '|';
 * 0, or -1 when they do not fit or a name holds the separator. */
static int joined_categories(const ds_dataset *ds, uint32_t item, const cat_item *it, char *buf,
                             size_t size) {
    size_t at = 0, n = 0;
    const uint16_t *cats = ds_item_categories(ds, item, &n);
    size_t count = (it->flags & CAT_HAS_CATEGORIES) ? it->n_categories : n;
    buf[0] = 0;
    for (size_t j = 0; j < count; j++) {
        const char *name =
            (it->flags & CAT_HAS_CATEGORIES) ? it->categories[j] : ds_category_name(ds, cats[j]);
        if (strchr(name, '|')) return -1;
        int w = snprintf(buf + at, size - at, "%s%s", j ? "|" : "", name);
        if (w < 0 || (size_t)w >= size - at) return -1;
        at += (size_t)w;
    }
    return 0;
}

int cli_catalog_apply(const char *path, ds_dataset *ds, cat_snapshot **out) {
    mx_err err = {0};
    cat_snapshot *s = NULL;
    if (cat_snapshot_read(path, &s, &err)) {
        fprintf(stderr, "mixrec: --catalog: %s\n", err.msg);
        return err.code == MX_EIO ? 2 : 1;
    }
    size_t described = 0, blocked = 0, skipped = 0;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < cat_snapshot_count(s); i++) {
        const cat_item *it = cat_snapshot_at(s, i);
        int64_t item = ds_find_item(ds, it->id);
        if (item < 0) continue; /* no events on it: nothing to train */
        blocked += cat_item_blocked(it, now);
        if (!(it->flags & (CAT_HAS_TITLE | CAT_HAS_CATEGORIES))) continue;
        char cats[CAT_MAX_CATEGORIES * (CAT_MAX_CATEGORY + 1) + 1];
        const char *title =
            (it->flags & CAT_HAS_TITLE) ? it->title : ds_item_title(ds, (uint32_t)item);
        if (joined_categories(ds, (uint32_t)item, it, cats, sizeof(cats)) ||
            ds_set_item_meta(ds, it->id, title ? title : "", cats, '|', &err)) {
            skipped++;
            continue;
        }
        described++;
    }
    cli_log("catalogue %s: %zu records; %zu items described by operators, %zu hidden or expired "
            "(no popularity)%s",
            path, cat_snapshot_count(s), described, blocked,
            skipped ? "; some descriptions could not be applied" : "");
    *out = s;
    return 0;
}

/* cmd_export.c - `mixrec export`: a Redis stream of the service (events or
 * impressions) as JSON lines (export.h), resumable from an id. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "catstore.h"
#include "export.h"
#include "tenants.h"

enum { X_REDIS = 1, X_STREAM, X_KEY, X_TENANT, X_SINCE, X_FROM, X_OUT, X_COUNT };

static const cli_opt export_opts[] = {
    {"redis", "URL", "redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH[?db=N] (required)",
     X_REDIS},
    {"stream", "NAME",
     "events (default), impressions, or catalog (the live catalogue's records, for build "
     "--catalog)",
     X_STREAM},
    {"key", "KEY", "the key (default mixrec:events / mixrec:impressions / mixrec:catalog:items)",
     X_KEY},
    {"tenant", "NAME",
     "a tenant's keys (tenants.list: mixrec@NAME:events, ...) instead of the default tenant's",
     X_TENANT},
    {"since", "TIME", "entries from this time on: unix seconds, milliseconds or ISO 8601", X_SINCE},
    {"from", "ID", "resume after this stream id (exclusive), e.g. the last 'next: --from'", X_FROM},
    {"out", "FILE", "write here (default: stdout); written whole, then renamed into place", X_OUT},
    {"count", "N", "at most N entries", X_COUNT},
    {0},
};

typedef struct {
    exp_opts o;
    const char *stream, *out, *since, *tenant;
} export_args;

static int on_opt(void *ud, int id, const char *arg) {
    export_args *a = ud;
    switch (id) {
    case X_TENANT:
        if (!tn_name_valid(arg)) {
            fprintf(stderr, "mixrec export: --tenant: '%s' is not a tenant name\n", arg);
            return 2;
        }
        a->tenant = arg;
        return 0;
    case X_REDIS:
        a->o.url = arg;
        break;
    case X_STREAM:
        if (strcmp(arg, "events") && strcmp(arg, "impressions") && strcmp(arg, "catalog")) {
            fprintf(stderr, "mixrec export: --stream is events, impressions or catalog, not '%s'\n",
                    arg);
            return 2;
        }
        a->stream = arg;
        break;
    case X_KEY:
        a->o.key = arg;
        break;
    case X_SINCE:
        a->since = arg;
        break;
    case X_FROM:
        a->o.from_id = arg;
        break;
    case X_OUT:
        a->out = arg;
        break;
    case X_COUNT: {
        char *end;
        errno = 0;
        long long n = strtoll(arg, &end, 10);
        if (end == arg || *end || n <= 0 || errno) {
            fprintf(stderr, "mixrec export: --count wants a positive number, got '%s'\n", arg);
            return 2;
        }
        a->o.count = (size_t)n;
        break;
    }
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "Usage: mixrec export --redis URL [--stream events|impressions] [--key KEY]\n"
               "                     [--since TIME] [--from ID] [--count N] [--out FILE]\n\n"
               "Writes a stream of the service as JSON lines: one object per entry, its fields\n"
               "with JSON types (ts, position and format numbers, items and request parsed)\n"
               "plus \"stream_id\". Exported events are valid `mixrec build --interactions`\n"
               "input; exported impressions are valid `--impressions` input.\n"
               "Progress goes to stderr, and at the end the id to resume after:\n"
               "  next: --from 1733390000000-0\n"
               "A missing stream exports nothing (exit 0). Exit codes: 0 done, 1 Redis or write\n"
               "error, 2 usage.\n\nOptions:\n");
    cli_print_options(f, export_opts);
}

int cmd_export(int argc, char **argv) {
    export_args a;
    memset(&a, 0, sizeof(a));
    exp_opts_init(&a.o);
    int rc = cli_parse(argc, argv, usage, export_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    if (!a.o.url) {
        fprintf(stderr, "mixrec export: --redis URL is required (see --help)\n");
        return 2;
    }
    mx_err err = {0};
    if (a.since && exp_parse_since(a.since, &a.o.since_ms, &err)) {
        fprintf(stderr, "mixrec export: %s\n", err.msg);
        return 2;
    }
    uint64_t ms, seq;
    if (a.o.from_id && exp_parse_id(a.o.from_id, &ms, &seq)) {
        fprintf(stderr,
                "mixrec export: --from: expected a stream id like 1733390000000-0, got '%s'\n",
                a.o.from_id);
        return 2;
    }
    int impressions = a.stream && !strcmp(a.stream, "impressions");
    int catalog = a.stream && !strcmp(a.stream, "catalog");
    char key[128];
    if (!a.o.key) { /* the default tenant's, or tenants.h's mixrec@NAME: */
        snprintf(key, sizeof(key), "mixrec%s%s:%s", a.tenant ? "@" : "", a.tenant ? a.tenant : "",
                 catalog       ? CATSTORE_ITEMS
                 : impressions ? "impressions"
                               : "events");
        a.o.key = key;
    }
    a.o.progress = stderr;
    FILE *out = stdout;
    char tmp[4096] = "";
    if (a.out) {
        snprintf(tmp, sizeof(tmp), "%s.tmp", a.out);
        if (!(out = fopen(tmp, "w"))) {
            fprintf(stderr, "mixrec export: %s: %s\n", tmp, strerror(errno));
            return 1;
        }
    }
    exp_result res;
    rc = catalog ? exp_catalog(&a.o, out, &res, &err) : exp_run(&a.o, out, &res, &err);
    if (a.out) {
        int ok = fclose(out) == 0;
        if (!rc && (!ok || rename(tmp, a.out) != 0))
            rc = mx_err_set(&err, MX_EIO, "%s: %s", a.out, strerror(errno));
        if (rc) remove(tmp);
    }
    if (rc) {
        fprintf(stderr, "mixrec export: %s\n", err.msg);
        if (res.entries) fprintf(stderr, "next: --from %s\n", res.last_id);
        return 1;
    }
    if (catalog) {
        fprintf(stderr, "mixrec export: %zu catalogue records from %s%s\n", res.entries, a.o.key,
                res.unparsed ? " (some were not JSON objects: left out)" : "");
        return 0;
    }
    if (res.stream_missing)
        fprintf(stderr, "mixrec export: stream %s does not exist: 0 entries\n", a.o.key);
    else if (!res.entries)
        fprintf(stderr, "mixrec export: no new entries in %s\n", a.o.key);
    if (res.trimmed_after_from)
        fprintf(stderr,
                "mixrec export: warning: the stream was trimmed past --from (its first entry is "
                "now %s): entries after --from may have been deleted by MAXLEN before this "
                "export; export more often or raise log.events_maxlen\n",
                res.first_id);
    if (res.unparsed)
        fprintf(stderr,
                "mixrec export: warning: %zu items/request values were not JSON (kept as "
                "text)\n",
                res.unparsed);
    fprintf(stderr, "next: --from %s\n",
            res.last_id[0] ? res.last_id : (a.o.from_id ? a.o.from_id : "0-0"));
    return 0;
}

/* cmd_serve.c - `mixrec serve`: the REST service.
 *
 * Threads: the main thread loads the configuration and the model, starts
 * the worker loops (workers.h) and the HTTP thread (http.h), then waits
 * for signals (srv_signals.h): SIGHUP reloads the model directory's
 * current version off the request path (a broken one is rejected, the old
 * one keeps serving; SIGHUPs during a reload are coalesced into one more),
 * SIGINT/SIGTERM drain in-flight requests and exit 0. The handlers are
 * installed first thing, so a signal is handled the same on whichever
 * thread the kernel delivers it; our own threads start with the signals
 * blocked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "cli_util.h"
#include "commands.h"
#include "http.h"
#include "model.h"
#include "model_holder.h"
#include "srv_config.h"
#include "srv_signals.h"
#include "workers.h"

extern char **environ;

enum { S_CONFIG = 1, S_MODEL, S_LISTEN, S_REDIS, S_WORKERS, S_SET };

static const cli_opt serve_opts[] = {
    {"config", "FILE", "JSON configuration (see config/mixrec.json)", S_CONFIG},
    {"model", "DIR", "model root; its CURRENT version is served (server.model_dir)", S_MODEL},
    {"listen", "HOST:PORT", "address to listen on (server.listen)", S_LISTEN},
    {"redis", "URL", "redis://HOST:PORT/DB or unix:/PATH (redis.url)", S_REDIS},
    {"workers", "N", "worker event loops, 0 = one per core (server.workers)", S_WORKERS},
    {"set", "NAME=VALUE", "any setting by name, e.g. --set limits.max_k=100 (repeatable)", S_SET},
    {0},
};

typedef struct {
    const char *config;
    const char *flags[64][2]; /* setting name, value: applied last */
    int n;
} serve_args;

static int add(serve_args *a, const char *name, const char *value) {
    if (a->n == 64) {
        fprintf(stderr, "mixrec serve: too many options\n");
        return 2;
    }
    a->flags[a->n][0] = name;
    a->flags[a->n][1] = value;
    a->n++;
    return 0;
}

static char set_names[64][128];

static int on_opt(void *ud, int id, const char *arg) {
    serve_args *a = ud;
    switch (id) {
    case S_CONFIG:
        a->config = arg;
        return 0;
    case S_MODEL:
        return add(a, "server.model_dir", arg);
    case S_LISTEN:
        return add(a, "server.listen", arg);
    case S_REDIS:
        return add(a, "redis.url", arg);
    case S_WORKERS:
        return add(a, "server.workers", arg);
    case S_SET: {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(set_names[0]) || a->n == 64) {
            fprintf(stderr, "mixrec serve: --set expects NAME=VALUE, got '%s'\n", arg);
            return 2;
        }
        snprintf(set_names[a->n], sizeof(set_names[0]), "%.*s", (int)(eq - arg), arg);
        return add(a, set_names[a->n], eq + 1);
    }
    }
    return 2;
}

static void usage(FILE *f) {
    fprintf(f, "Usage: mixrec serve [--config FILE] [--model DIR] [--listen HOST:PORT]\n"
               "                    [--redis URL] [--workers N] [--set NAME=VALUE ...]\n\n"
               "Serves recommendations over HTTP/JSON. Settings come from the defaults, then\n"
               "--config, then MIXREC_<SECTION>_<KEY> environment variables (short forms:\n"
               "MIXREC_MODEL, MIXREC_LISTEN, MIXREC_WORKERS, MIXREC_REDIS), then flags.\n"
               "An invalid setting exits with code 2, naming it. SIGHUP reloads the model;\n"
               "SIGTERM or SIGINT drain in-flight requests and exit.\n\nOptions:\n");
    cli_print_options(f, serve_opts);
    fprintf(f, "\n");
    cli_print_settings(f, srv_config_settings(),
                       "The column after each name is its built-in default, used unless --config,\n"
                       "a MIXREC_* variable or a flag names the setting, in the order above (no\n"
                       "configuration file is read without --config).\n");
}

static void log_line(const char *what, const char *detail) {
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s mixrec: %s%s%s\n", ts, what, detail ? ": " : "", detail ? detail : "");
}

int cmd_serve(int argc, char **argv) {
    serve_args a = {0};
    int rc = cli_parse(argc, argv, usage, serve_opts, on_opt, &a);
    if (rc) return rc == 1 ? 0 : rc;
    mx_err err = {0};
    if (srv_signals_install(&err)) {
        fprintf(stderr, "mixrec serve: cannot start: %s\n", err.msg);
        return 1;
    }
    srv_config cfg;
    srv_config_init(&cfg);
    if ((a.config && srv_config_load_file(&cfg, a.config, &err)) ||
        srv_config_load_env(&cfg, environ, &err)) {
        fprintf(stderr, "mixrec serve: invalid configuration: %s\n", err.msg);
        return 2;
    }
    for (int i = 0; i < a.n; i++)
        if (srv_config_set(&cfg, a.flags[i][0], a.flags[i][1], &err)) {
            fprintf(stderr, "mixrec serve: invalid configuration: %s\n", err.msg);
            return 2;
        }
    if (srv_config_validate(&cfg, &err)) {
        fprintf(stderr, "mixrec serve: invalid configuration: %s\n", err.msg);
        return 2;
    }

    mx_model *m = NULL;
    if (model_load(cfg.model_dir, &m, &err)) {
        fprintf(stderr, "mixrec serve: cannot start: %s\n", err.msg);
        return 1;
    }
    char detail[2048];
    snprintf(detail, sizeof(detail), "%s (%zu users, %zu items, %zu interests)", m->version,
             m->n_users, m->n_items, m->n_clusters);
    mh_holder *holder = mh_new();
    wk_pool *pool = NULL;
    http_server *http = NULL;
    if (!holder) {
        model_free(m);
        fprintf(stderr, "mixrec serve: out of memory\n");
        return 1;
    }
    mh_set(holder, m);
    log_line("model loaded", detail);
    srv_signals_block(1); /* the threads started now inherit the mask */
    rc = wk_start(&pool, &cfg, holder, cfg.redis_url[0] != 0, &err) ||
         http_start(&http, &cfg, holder, pool, &err);
    srv_signals_block(0);
    if (rc) {
        fprintf(stderr, "mixrec serve: cannot start: %s\n", err.msg);
        wk_stop(pool);
        mh_free(holder);
        return 1;
    }
    snprintf(detail, sizeof(detail), "http://%s with %d workers, sessions in %s", cfg.listen,
             wk_count(pool), cfg.redis_url[0] ? cfg.redis_url : "(no Redis configured)");
    log_line("listening on", detail);

    while (srv_signals_wait() == SRV_SIGNALS_RELOAD) {
        if (http_reload(http, detail, sizeof(detail), &err))
            log_line("reload rejected, the old model keeps serving", err.msg);
        else
            log_line("model reloaded", detail);
    }
    log_line("stopping", "draining in-flight requests");
    http_stop(http, cfg.request_timeout_s);
    wk_stop(pool);
    mh_free(holder);
    log_line("stopped", NULL);
    return 0;
}

/* `mixrec routes [--json]`: the route table (api.h), as the service serves
 * it; tests/test_openapi.sh compares the JSON with proto/openapi.json. */
int cmd_routes(int argc, char **argv) {
    int json = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 1 || (argc == 1 && !json)) {
        fprintf(argc == 1 && !strcmp(argv[0], "--help") ? stdout : stderr,
                "Usage: mixrec routes [--json]\n\nLists the REST routes: method, path, name "
                "(metrics and access log) and where they run.\n");
        return argc == 1 && !strcmp(argv[0], "--help") ? 0 : 2;
    }
    if (json) {
        json_t *o = api_routes_json();
        char *txt = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (!txt) return 1;
        printf("%s\n", txt);
        free(txt);
        return 0;
    }
    size_t n;
    const api_route *rt = api_routes(&n);
    for (size_t i = 0; i < n; i++)
        printf("%-5s %-36s %-22s %s%s%s\n", rt[i].method, rt[i].pattern, rt[i].name,
               rt[i].flags & API_ON_WORKER   ? "worker"
               : rt[i].flags & API_ON_THREAD ? "thread"
                                             : "http-thread",
               rt[i].flags & API_NEEDS_KEY ? " api-key" : "",
               rt[i].flags & API_ADMIN ? " admin" : "");
    return 0;
}

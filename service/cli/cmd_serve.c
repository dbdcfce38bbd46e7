/* cmd_serve.c - `mixrec serve`: the REST service.
 *
 * Threads: the main thread loads the configuration and the model, starts
 * the worker loops (workers.h) and the HTTP thread (http.h), then waits
 * for signals (srv_signals.h): SIGHUP re-reads the settings for the keys,
 * scopes and rate limits (access.h) and reloads the model directory's
 * current version off the request path (a broken one is rejected, the old
 * one keeps serving; SIGHUPs during a reload are coalesced into one more),
 * SIGINT/SIGTERM drain in-flight requests and exit 0. The handlers are
 * installed first thing, so a signal is handled the same on whichever
 * thread the kernel delivers it; our own threads start with the signals
 * blocked. The main thread also owns the model watcher's timer
 * (model_watch.h): every server.model_poll_s seconds, between signals, it
 * checks CURRENT and reloads through the same path as SIGHUP. Reloads of
 * the admin route run on their own thread; mh_reload serialises them all. */
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
#include "model_watch.h"
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
               "An invalid setting exits with code 2, naming it. SIGHUP reloads the model\n"
               "(so does a change of the model root's CURRENT, server.model_poll_s) and\n"
               "re-reads the settings' keys, scopes and rate limits (auth.*, limits.*_rate,\n"
               "limits.*_burst, server.trusted_proxies; the rest needs a restart);\n"
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

static double mono_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* One check of CURRENT by the watcher, and the reload it asks for. */
static void watch_once(mw_watch *w, mh_holder *holder, http_server *http) {
    char name[MH_MAX_NAME], served[MH_MAX_NAME], detail[2 * MH_MAX_NAME + 640];
    mx_err err = {0};
    mh_served_name(holder, served, sizeof(served));
    switch (mw_check(w, holder, name, sizeof(name), &err)) {
    case MW_IDLE:
        return;
    case MW_ERROR:
        log_line("model watch: cannot read CURRENT", err.msg);
        return;
    case MW_CLEARED:
        snprintf(detail, sizeof(detail), "%s, the version served", name);
        log_line("model watch: refusal withdrawn, CURRENT names", detail);
        return;
    case MW_LOAD:
        break;
    }
    char version[64];
    if (http_reload(http, version, sizeof(version), &err)) {
        snprintf(detail, sizeof(detail), "%s (%s keeps serving): %s", name, served, err.msg);
        log_line("model watch: version refused", detail);
    } else {
        snprintf(detail, sizeof(detail), "%s (CURRENT changed, was %s)", version, served);
        log_line("model reloaded", detail);
    }
}

/* The settings as start-up reads them: built-in defaults, then the file,
 * the environment and the flags. */
static int load_settings(const serve_args *a, srv_config *cfg, mx_err *err) {
    srv_config_init(cfg);
    if ((a->config && srv_config_load_file(cfg, a->config, err)) ||
        srv_config_load_env(cfg, environ, err))
        return MX_EINVAL;
    for (int i = 0; i < a->n; i++)
        if (srv_config_set(cfg, a->flags[i][0], a->flags[i][1], err)) return MX_EINVAL;
    return srv_config_validate(cfg, err);
}

/* SIGHUP's second half: the settings read again, and the keys, scopes
 * and rate limits put in force (access.h; other settings need a restart).
 * A file that does not parse changes nothing. */
static void reload_access(const serve_args *a, http_server *http) {
    srv_config *cfg = malloc(sizeof(*cfg));
    mx_err err = {0};
    ac_table *t = NULL;
    if (!cfg)
        mx_err_set(&err, MX_ENOMEM, "out of memory");
    else if (!load_settings(a, cfg, &err) && !ac_table_new(&t, cfg, &err))
        http_set_access(http, t);
    if (t) {
        char detail[128];
        snprintf(detail, sizeof(detail), "%zu API keys, the rate limits and trusted proxies",
                 ac_key_count(t));
        log_line("settings reloaded", detail);
    } else {
        log_line("settings reload rejected, the keys and limits in force stay", err.msg);
    }
    free(cfg);
}

/* The main thread's life after start-up: signals, and the watcher's timer
 * as the wait's timeout. Returns on SIGTERM/SIGINT. */
static void serve_until_stopped(const serve_args *a, const srv_config *cfg, mh_holder *holder,
                                http_server *http) {
    mw_watch *w = cfg->model_poll_s > 0 ? mw_new(cfg->model_dir) : NULL;
    if (cfg->model_poll_s > 0 && !w) log_line("model watch off", "out of memory");
    double next = mono_s() + cfg->model_poll_s;
    char detail[1024];
    mx_err err = {0};
    for (;;) {
        int ms = -1;
        if (w) {
            double left = next - mono_s();
            ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        }
        srv_signals_event ev = srv_signals_wait(ms);
        if (ev == SRV_SIGNALS_STOP) break;
        if (ev == SRV_SIGNALS_RELOAD) {
            reload_access(a, http);
            if (http_reload(http, detail, sizeof(detail), &err))
                log_line("reload rejected, the old model keeps serving", err.msg);
            else
                log_line("model reloaded", detail);
            continue;
        }
        watch_once(w, holder, http);
        next = mono_s() + cfg->model_poll_s; /* after the load: polls never pile up */
    }
    mw_free(w);
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
    static srv_config cfg; /* large: not on the stack */
    if (load_settings(&a, &cfg, &err)) {
        fprintf(stderr, "mixrec serve: invalid configuration: %s\n", err.msg);
        return 2;
    }

    mh_holder *holder = mh_new();
    wk_pool *pool = NULL;
    http_server *http = NULL;
    if (!holder) {
        fprintf(stderr, "mixrec serve: out of memory\n");
        return 1;
    }
    /* Through mh_reload, so the holder knows which name CURRENT gave. */
    if (mh_reload(holder, cfg.model_dir, NULL, 0, &err)) {
        fprintf(stderr, "mixrec serve: cannot start: %s\n", err.msg);
        mh_free(holder);
        return 1;
    }
    char detail[2048];
    mh_ref *ref = mh_acquire(holder, NULL);
    const mx_model *m = mh_model(ref);
    snprintf(detail, sizeof(detail), "%s (%zu users, %zu items, %zu interests)", m->version,
             m->n_users, m->n_items, m->n_clusters);
    mh_release(ref);
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

    serve_until_stopped(&a, &cfg, holder, http);
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
        printf("%-5s %-36s %-22s %s%s%s%s\n", rt[i].method, rt[i].pattern, rt[i].name,
               rt[i].flags & API_ON_WORKER   ? "worker"
               : rt[i].flags & API_ON_THREAD ? "thread"
                                             : "http-thread",
               api_route_scope(&rt[i]) ? " " : "", ac_scope_name(api_route_scope(&rt[i])),
               rt[i].flags & API_ADMIN ? " (off without keys)" : "");
    return 0;
}

/* cmd_serve.c - `mixrec serve`: the REST service.
 *
 * Threads: the main thread loads the configuration and the model, starts
 * the worker loops (workers.h) and the HTTP lanes on them (http.h), then waits
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
#include "tenants.h"
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

/* A catalogue this process serves: the default tenant (the top-level
 * settings) or one of tenants.list (tenants.h), with its model, workers
 * and the watcher of its model root's CURRENT. */
typedef struct serve_tenant {
    const char *name;
    const srv_config *cfg;
    mh_holder *holder;
    wk_pool *pool;
    mw_watch *watch; /* NULL: not watched */
    double next;     /* when to look at CURRENT again */
} serve_tenant;

/* "model reloaded" for the default tenant, "model reloaded (shop)" else. */
static void log_tenant(const serve_tenant *t, const char *what, const char *detail) {
    char line[128];
    snprintf(line, sizeof(line), "%s%s%s%s", what, strcmp(t->name, TN_DEFAULT) ? " (" : "",
             strcmp(t->name, TN_DEFAULT) ? t->name : "", strcmp(t->name, TN_DEFAULT) ? ")" : "");
    log_line(line, detail);
}

/* One check of tenant i's CURRENT by its watcher, and the reload it asks for. */
static void watch_once(serve_tenant *t, size_t i, http_server *http) {
    char name[MH_MAX_NAME], served[MH_MAX_NAME], detail[2 * MH_MAX_NAME + 640];
    mx_err err = {0};
    mh_served_name(t->holder, served, sizeof(served));
    switch (mw_check(t->watch, t->holder, name, sizeof(name), &err)) {
    case MW_IDLE:
        return;
    case MW_ERROR:
        log_tenant(t, "model watch: cannot read CURRENT", err.msg);
        return;
    case MW_CLEARED:
        snprintf(detail, sizeof(detail), "%s, the version served", name);
        log_tenant(t, "model watch: refusal withdrawn, CURRENT names", detail);
        return;
    case MW_LOAD:
        break;
    }
    char version[64];
    if (http_reload(http, i, version, sizeof(version), &err)) {
        snprintf(detail, sizeof(detail), "%s (%s keeps serving): %s", name, served, err.msg);
        log_tenant(t, "model watch: version refused", detail);
    } else {
        snprintf(detail, sizeof(detail), "%s (CURRENT changed, was %s)", version, served);
        log_tenant(t, "model reloaded", detail);
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

/* Tenant i's keys and limits of the settings just read (cfg, its tenants
 * parsed in tl): in force from the next request. */
static int reload_tenant_access(http_server *http, const serve_tenant *t, size_t i,
                                const srv_config *cfg, const tn_list *tl, mx_err *err) {
    const srv_config *tc = i == 0 ? cfg : NULL;
    for (size_t j = 0; !tc && j < tn_count(tl); j++)
        if (!strcmp(tn_name(tl, j), t->name)) tc = tn_config(tl, j);
    if (!tc)
        return mx_err_set(err, MX_EINVAL,
                          "tenant '%s' is gone from tenants.list: adding or removing a tenant "
                          "needs a restart",
                          t->name);
    ac_table *keys = NULL;
    if (ac_table_new(&keys, tc, err)) return MX_EINVAL;
    http_set_access(http, i, keys);
    char detail[128];
    snprintf(detail, sizeof(detail), "%zu API keys, the rate limits and trusted proxies",
             ac_key_count(keys));
    log_tenant(t, "settings reloaded", detail);
    return 0;
}

/* SIGHUP's second half: the settings read again, and every tenant's keys,
 * scopes and rate limits put in force (access.h; other settings need a
 * restart). A file that does not parse changes nothing. */
static void reload_access(const serve_args *a, http_server *http, const serve_tenant *t, size_t n) {
    srv_config *cfg = malloc(sizeof(*cfg));
    tn_list *tl = NULL;
    mx_err err = {0};
    int rc = !cfg ? mx_err_set(&err, MX_ENOMEM, "out of memory")
                  : load_settings(a, cfg, &err) || tn_parse(cfg, &tl, &err);
    for (size_t i = 0; !rc && i < n; i++)
        if (reload_tenant_access(http, &t[i], i, cfg, tl, &err))
            log_tenant(&t[i], "settings reload rejected, the keys and limits in force stay",
                       err.msg);
    if (rc) log_line("settings reload rejected, the keys and limits in force stay", err.msg);
    tn_list_free(tl);
    free(cfg);
}

/* The main thread's life after start-up: signals, and the watchers'
 * timers as the wait's timeout. Returns on SIGTERM/SIGINT. */
static void serve_until_stopped(const serve_args *a, serve_tenant *t, size_t n, http_server *http) {
    char detail[1024];
    mx_err err = {0};
    for (;;) {
        double first = -1;
        for (size_t i = 0; i < n; i++)
            if (t[i].watch && (first < 0 || t[i].next < first)) first = t[i].next;
        int ms = -1;
        if (first >= 0) {
            double left = first - mono_s();
            ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        }
        srv_signals_event ev = srv_signals_wait(ms);
        if (ev == SRV_SIGNALS_STOP) break;
        if (ev == SRV_SIGNALS_RELOAD) {
            reload_access(a, http, t, n);
            for (size_t i = 0; i < n; i++) {
                if (http_reload(http, i, detail, sizeof(detail), &err))
                    log_tenant(&t[i], "reload rejected, the old model keeps serving", err.msg);
                else
                    log_tenant(&t[i], "model reloaded", detail);
            }
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (!t[i].watch || t[i].next > mono_s()) continue;
            watch_once(&t[i], i, http);
            t[i].next = mono_s() + t[i].cfg->model_poll_s; /* after the load: no pile-up */
        }
    }
}

/* Loads tenant t's model and starts its workers. */
static int start_tenant(serve_tenant *t, mx_err *err) {
    if (!(t->holder = mh_new())) return mx_err_set(err, MX_ENOMEM, "out of memory");
    /* Through mh_reload, so the holder knows which name CURRENT gave. */
    if (mh_reload(t->holder, t->cfg->model_dir, NULL, 0, err)) return MX_EINVAL;
    char detail[2048];
    mh_ref *ref = mh_acquire(t->holder, NULL);
    const mx_model *m = mh_model(ref);
    snprintf(detail, sizeof(detail), "%s (%zu users, %zu items, %zu interests)", m->version,
             m->n_users, m->n_items, m->n_clusters);
    mh_release(ref);
    log_tenant(t, "model loaded", detail);
    if (t->cfg->model_poll_s > 0 && !(t->watch = mw_new(t->cfg->model_dir)))
        log_tenant(t, "model watch off", "out of memory");
    t->next = mono_s() + t->cfg->model_poll_s;
    srv_signals_block(1); /* the threads started now inherit the mask */
    int rc = wk_start(&t->pool, t->cfg, t->holder, t->cfg->redis_url[0] != 0, err);
    srv_signals_block(0);
    return rc;
}

static void stop_tenant(serve_tenant *t) {
    wk_stop(t->pool);
    mh_free(t->holder);
    mw_free(t->watch);
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
    tn_list *tl = NULL;
    if (load_settings(&a, &cfg, &err) || tn_parse(&cfg, &tl, &err)) {
        fprintf(stderr, "mixrec serve: invalid configuration: %s\n", err.msg);
        return 2;
    }
    static serve_tenant t[TN_MAX + 1];
    static http_tenant ht[TN_MAX + 1];
    size_t n = 0;
    http_server *http = NULL;
    const char *failed = "";
    rc = 0;
    for (size_t i = 0; !rc && i <= tn_count(tl); i++, n++) {
        t[i] = (serve_tenant){.name = i ? tn_name(tl, i - 1) : TN_DEFAULT,
                              .cfg = i ? tn_config(tl, i - 1) : &cfg};
        if ((rc = start_tenant(&t[i], &err)) && i) failed = t[i].name;
        ht[i] = (http_tenant){t[i].name, t[i].cfg, t[i].holder, t[i].pool};
    }
    srv_signals_block(1);
    if (!rc) rc = http_start(&http, ht, n, &err);
    srv_signals_block(0);
    if (rc) {
        fprintf(stderr, "mixrec serve: cannot start%s%s: %s\n", failed[0] ? " tenant " : "", failed,
                err.msg);
        for (size_t i = 0; i < n; i++)
            stop_tenant(&t[i]);
        tn_list_free(tl);
        return 1;
    }
    char detail[2048];
    snprintf(detail, sizeof(detail), "http://%s with %d workers%s, sessions in %s", cfg.listen,
             wk_count(t[0].pool), n > 1 ? " per tenant" : "",
             cfg.redis_url[0] ? cfg.redis_url : "(no Redis configured)");
    log_line("listening on", detail);
    if (n > 1) {
        snprintf(detail, sizeof(detail), "%zu (default and /v1/tenants/{name}/...)", n);
        log_line("tenants", detail);
    }

    serve_until_stopped(&a, t, n, http);
    log_line("stopping", "draining in-flight requests");
    http_stop(http, cfg.request_timeout_s);
    for (size_t i = 0; i < n; i++)
        stop_tenant(&t[i]);
    tn_list_free(tl);
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

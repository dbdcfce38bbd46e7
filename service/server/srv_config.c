/* srv_config.c - see srv_config.h. One table drives defaults, the file,
 * the environment, flags and help. */
#include "srv_config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

typedef enum { T_STR, T_INT, T_SIZE, T_DOUBLE, T_LIST, T_LISTEN, T_REDIS, T_LOG } ctype_t;

typedef struct {
    const char *name;
    ctype_t type;
    size_t offset, size; /* size: buffer size (T_STR) */
    double min, max;
    const char *def;
    const char *help;
} entry;

#define OFF(f) offsetof(srv_config, f)
#define SZ(f) sizeof(((srv_config *)0)->f)

static const entry entries[] = {
    {"server.listen", T_LISTEN, OFF(listen), SZ(listen), 0, 0, "127.0.0.1:8080",
     "HOST:PORT to listen on (0.0.0.0 for every interface)"},
    {"server.workers", T_INT, OFF(workers), 0, 0, 256, "0", "event-loop workers; 0 = one per core"},
    {"server.model_dir", T_STR, OFF(model_dir), SZ(model_dir), 0, 0, "",
     "model root (its CURRENT version is served)"},
    {"server.ui_dir", T_STR, OFF(ui_dir), SZ(ui_dir), 0, 0, "auto",
     "inspector page files served at /ui/; auto: share/mixrec/ui or the checkout's service/ui "
     "next to the binary; empty: no page"},
    {"redis.url", T_REDIS, OFF(redis_url), SZ(redis_url), 0, 0, "redis://127.0.0.1:6379/0",
     "redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH[?db=N]; empty: no sessions"},
    {"redis.connect_timeout_ms", T_INT, OFF(redis_connect_timeout_ms), 0, 1, 600000, "500",
     "Redis connect timeout"},
    {"redis.command_timeout_ms", T_INT, OFF(redis_command_timeout_ms), 0, 1, 600000, "50",
     "a session read slower than this answers from the long-term profile"},
    {"redis.sentinels", T_STR, OFF(redis_sentinels), SZ(redis_sentinels), 0, 0, "",
     "Sentinels HOST:PORT,... asked for the master (redis.url: password, db only)"},
    {"redis.sentinel_master", T_STR, OFF(redis_sentinel_master), SZ(redis_sentinel_master), 0, 0,
     "mymaster", "name of the master the Sentinels monitor"},
    {"limits.max_body_bytes", T_SIZE, OFF(max_body_bytes), 0, 64, 1 << 30, "1048576",
     "largest request body (413 above)"},
    {"limits.max_header_bytes", T_SIZE, OFF(max_header_bytes), 0, 1024, 1 << 20, "16384",
     "largest request header block"},
    {"limits.max_k", T_INT, OFF(max_k), 0, 1, 1000, "200", "largest k a request may ask for"},
    {"limits.max_batch", T_INT, OFF(max_batch), 0, 1, 100000, "1000", "most events per batch"},
    {"limits.request_timeout_s", T_INT, OFF(request_timeout_s), 0, 1, 3600, "10",
     "idle connections and slow clients are closed after this"},
    {"limits.max_connections", T_INT, OFF(max_connections), 0, 1, 1000000, "4096",
     "concurrent connections"},
    {"cors.origins", T_LIST, OFF(cors_origins), 0, 0, 0, "",
     "allowed browser origins, comma-separated; * allows any; empty: no CORS"},
    {"auth.api_keys", T_LIST, OFF(api_keys), 0, 0, 0, "",
     "keys accepted on write/admin routes (X-API-Key); empty: those routes need none"},
    {"log.level", T_LOG, OFF(log_level), 0, 0, 0, "info", "error, warn, info or debug"},
    {"session.half_life_s", T_DOUBLE, OFF(session_half_life_s), 0, 1, 1e9, "1800",
     "a session event's weight halves every this many seconds"},
    {"session.strength", T_DOUBLE, OFF(session_strength), 0, 0, 1e9, "3",
     "s0: session share b = S / (S + s0)"},
    {"session.max_events", T_INT, OFF(session_max_events), 0, 1, 100000, "100",
     "events kept per user in Redis (capped list)"},
    {"session.ttl_s", T_INT, OFF(session_ttl_s), 0, 1, 100000000, "86400",
     "a session expires this long after its last event"},
    {"events.view", T_DOUBLE, OFF(w_view), 0, -100, 100, "1", "weight of a view"},
    {"events.click", T_DOUBLE, OFF(w_click), 0, -100, 100, "2", "weight of a click"},
    {"events.like", T_DOUBLE, OFF(w_like), 0, -100, 100, "3", "weight of a like"},
    {"events.purchase", T_DOUBLE, OFF(w_purchase), 0, -100, 100, "5", "weight of a purchase"},
    {"events.dislike", T_DOUBLE, OFF(w_dislike), 0, -100, 0, "-3",
     "weight of a dislike (negative: pushes its interest down)"},
    {"ranking.enabled", T_INT, OFF(ranking_enabled), 0, 0, 1, "1",
     "1: re-rank with the model's learned ranker when it has one; 0: retrieval order"},
    {"ranking.session_quota", T_DOUBLE, OFF(ranking_session_quota), 0, 0, 1, "1",
     "ranked answers give the session's interests at least this x b of their slots; 0 = off"},
    {"ranking.xgboost_predictor", T_INT, OFF(ranking_xgboost_predictor), 0, 0, 1, "0",
     "1: score with XGBoost's own predictor (the reference; about 4x slower) instead of the "
     "compact evaluator"},
    {"ranking.per_interest_cap", T_INT, OFF(ranking_per_interest_cap), 0, 0, 1000, "0",
     "diversity: at most this many items per interest in an answer; 0 = off"},
    {"ranking.mmr_lambda", T_DOUBLE, OFF(ranking_mmr_lambda), 0, 0, 1, "0",
     "diversity: maximal marginal relevance weight (0 = off, 1 = only novelty)"},
    {"testing.session_delay_ms", T_INT, OFF(testing_session_delay_ms), 0, 0, 60000, "0",
     "tests only: every session read waits this long before it goes to Redis (a slow Redis "
     "reply, made deterministic, e.g. to keep a request in flight across a reload); 0 = off"},
};

#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))

static const char *sections[] = {"server", "redis",   "limits", "cors",    "auth", "ranking",
                                 "log",    "session", "events", "testing", NULL};

const srv_config_entry *srv_config_entries(size_t *n) {
    static srv_config_entry out[N_ENTRIES];
    for (size_t i = 0; i < N_ENTRIES; i++)
        out[i] = (srv_config_entry){entries[i].name, entries[i].def, entries[i].help};
    *n = N_ENTRIES;
    return out;
}

const char *srv_log_level_name(srv_log_level l) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    return l <= SRV_LOG_DEBUG ? names[l] : "info";
}

static const entry *find(const char *name) {
    for (size_t i = 0; i < N_ENTRIES; i++)
        if (strcmp(entries[i].name, name) == 0) return &entries[i];
    return NULL;
}

static int copy_str(char *dst, size_t size, const char *v, const char *name, mx_err *err) {
    size_t n = strlen(v);
    if (n >= size)
        return mx_err_set(err, MX_EINVAL, "%s: value is too long (%zu bytes, at most %zu)", name, n,
                          size - 1);
    memcpy(dst, v, n + 1);
    return 0;
}

static int parse_port(const char *s, int *port) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 65535) return -1;
    *port = (int)v;
    return 0;
}

static int set_listen(srv_config *c, const char *v, mx_err *err) {
    const char *colon = strrchr(v, ':');
    int port;
    if (!colon || colon == v || parse_port(colon + 1, &port))
        return mx_err_set(err, MX_EINVAL,
                          "server.listen: expected HOST:PORT (port 1-65535), got '%s'", v);
    const char *h = v;
    size_t hl = (size_t)(colon - v);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') h++, hl -= 2; /* [::1]:8080 */
    if (hl >= sizeof(c->listen_host))
        return mx_err_set(err, MX_EINVAL, "server.listen: host is too long");
    if (copy_str(c->listen, sizeof(c->listen), v, "server.listen", err)) return MX_EINVAL;
    memcpy(c->listen_host, h, hl);
    c->listen_host[hl] = 0;
    c->listen_port = port;
    return 0;
}

static int set_redis(srv_config *c, const char *v, mx_err *err) {
    if (!v[0]) { /* no Redis: sessions and events are off */
        c->redis_url[0] = 0;
        c->redis_host[0] = c->redis_path[0] = c->redis_password[0] = 0;
        c->redis_unix = 0;
        return 0;
    }
    srv_config t = *c;
    t.redis_unix = 0;
    t.redis_host[0] = t.redis_path[0] = t.redis_password[0] = 0;
    t.redis_port = 6379;
    t.redis_db = 0;
    if (strncmp(v, "unix:", 5) == 0) {
        const char *p = v + 5, *q = strchr(p, '?');
        size_t pl = q ? (size_t)(q - p) : strlen(p);
        if (pl == 0 || pl >= sizeof(t.redis_path) || p[0] != '/')
            return mx_err_set(err, MX_EINVAL,
                              "redis.url: unix:/PATH needs an absolute path, got '%s'", v);
        memcpy(t.redis_path, p, pl);
        t.redis_path[pl] = 0;
        if (q) {
            char *end;
            long db = strncmp(q, "?db=", 4) == 0 ? strtol(q + 4, &end, 10) : -1;
            if (db < 0 || db > 1000 || q[4] == 0 || *end)
                return mx_err_set(err, MX_EINVAL, "redis.url: expected unix:/PATH?db=N, got '%s'",
                                  v);
            t.redis_db = (int)db;
        }
        t.redis_unix = 1;
    } else if (strncmp(v, "redis://", 8) == 0) {
        const char *p = v + 8, *at = strrchr(p, '@'), *slash;
        if (at) {
            const char *pw = memchr(p, ':', (size_t)(at - p));
            pw = pw ? pw + 1 : p; /* redis://user:pass@ or redis://pass@ */
            size_t pwl = (size_t)(at - pw);
            if (pwl >= sizeof(t.redis_password))
                return mx_err_set(err, MX_EINVAL, "redis.url: password is too long");
            memcpy(t.redis_password, pw, pwl);
            t.redis_password[pwl] = 0;
            p = at + 1;
        }
        slash = strchr(p, '/');
        size_t hl = slash ? (size_t)(slash - p) : strlen(p);
        char hostport[300];
        if (hl == 0 || hl >= sizeof(hostport))
            return mx_err_set(err, MX_EINVAL, "redis.url: no host in '%s'", v);
        memcpy(hostport, p, hl);
        hostport[hl] = 0;
        char *colon = strrchr(hostport, ':');
        if (colon) {
            *colon = 0;
            if (parse_port(colon + 1, &t.redis_port))
                return mx_err_set(err, MX_EINVAL, "redis.url: bad port in '%s'", v);
        }
        if (!hostport[0] || strlen(hostport) >= sizeof(t.redis_host))
            return mx_err_set(err, MX_EINVAL, "redis.url: no host in '%s'", v);
        strcpy(t.redis_host, hostport);
        if (slash && slash[1]) {
            char *end;
            long db = strtol(slash + 1, &end, 10);
            if (db < 0 || db > 1000 || *end)
                return mx_err_set(err, MX_EINVAL, "redis.url: bad database number in '%s'", v);
            t.redis_db = (int)db;
        }
    } else {
        return mx_err_set(err, MX_EINVAL,
                          "redis.url: expected redis://HOST:PORT/DB or unix:/PATH, got '%s'", v);
    }
    if (copy_str(t.redis_url, sizeof(t.redis_url), v, "redis.url", err)) return MX_EINVAL;
    *c = t;
    return 0;
}

/* Comma-separated list into fixed slots, blanks trimmed, empty = none. */
static int set_list(srv_config *c, const entry *e, const char *v, mx_err *err) {
    int is_keys = e->offset == OFF(api_keys);
    size_t width = is_keys ? SZ(api_keys[0]) : SZ(cors_origins[0]);
    char *base = (char *)c + e->offset;
    int *count = is_keys ? &c->n_api_keys : &c->n_cors_origins;
    char tmp[SRV_MAX_LIST][256];
    int n = 0;
    for (const char *p = v; *p;) {
        size_t len = strcspn(p, ",");
        const char *s = p, *t = p + len;
        while (s < t && isspace((unsigned char)*s))
            s++;
        while (t > s && isspace((unsigned char)t[-1]))
            t--;
        if (t > s) {
            if (n == SRV_MAX_LIST)
                return mx_err_set(err, MX_EINVAL, "%s: at most %d entries", e->name, SRV_MAX_LIST);
            if ((size_t)(t - s) >= width)
                return mx_err_set(err, MX_EINVAL, "%s: entry %d is too long (at most %zu bytes)",
                                  e->name, n + 1, width - 1);
            memcpy(tmp[n], s, (size_t)(t - s));
            tmp[n][t - s] = 0;
            n++;
        }
        p += len + (p[len] == ',');
    }
    for (int i = 0; i < n; i++)
        memcpy(base + (size_t)i * width, tmp[i], strlen(tmp[i]) + 1);
    *count = n;
    return 0;
}

int srv_config_set(srv_config *c, const char *name, const char *value, mx_err *err) {
    const entry *e = find(name);
    if (!e) return mx_err_set(err, MX_EINVAL, "unknown setting '%s'", name);
    char *p = (char *)c + e->offset;
    char *end;
    switch (e->type) {
    case T_STR:
        return copy_str(p, e->size, value, name, err);
    case T_LISTEN:
        return set_listen(c, value, err);
    case T_REDIS:
        return set_redis(c, value, err);
    case T_LIST:
        return set_list(c, e, value, err);
    case T_LOG:
        for (int l = SRV_LOG_ERROR; l <= SRV_LOG_DEBUG; l++)
            if (strcmp(value, srv_log_level_name((srv_log_level)l)) == 0) {
                c->log_level = (srv_log_level)l;
                return 0;
            }
        return mx_err_set(err, MX_EINVAL, "%s: expected error, warn, info or debug, got '%s'", name,
                          value);
    case T_INT:
    case T_SIZE:
    case T_DOUBLE: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return mx_err_set(err, MX_EINVAL, "%s: '%s' is not a number", name, value);
        if (v < e->min || v > e->max)
            return mx_err_set(err, MX_EINVAL, "%s: %s is out of range [%g, %g]", name, value,
                              e->min, e->max);
        if (e->type != T_DOUBLE && v != floor(v))
            return mx_err_set(err, MX_EINVAL, "%s: '%s' is not an integer", name, value);
        if (e->type == T_INT)
            *(int *)p = (int)v;
        else if (e->type == T_SIZE)
            *(size_t *)p = (size_t)v;
        else
            *(double *)p = v;
        return 0;
    }
    }
    return mx_err_set(err, MX_EINVAL, "%s: unsupported type", name);
}

void srv_config_init(srv_config *c) {
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < N_ENTRIES; i++)
        srv_config_set(c, entries[i].name, entries[i].def, NULL); /* defaults are valid */
}

static int is_section(const char *s) {
    for (int i = 0; sections[i]; i++)
        if (strcmp(sections[i], s) == 0) return 1;
    return 0;
}

/* A JSON value as the text srv_config_set takes (arrays: comma-joined). */
static int json_text(const json_t *v, char *out, size_t size) {
    if (json_is_string(v)) return snprintf(out, size, "%s", json_string_value(v)) >= (int)size;
    if (json_is_integer(v))
        return snprintf(out, size, "%lld", (long long)json_integer_value(v)) >= (int)size;
    if (json_is_real(v)) return snprintf(out, size, "%.17g", json_real_value(v)) >= (int)size;
    if (json_is_array(v)) {
        size_t len = 0, i;
        json_t *x;
        out[0] = 0;
        json_array_foreach(v, i, x) {
            const char *s = json_string_value(x);
            if (!s || strchr(s, ',')) return -1;
            int w = snprintf(out + len, size - len, "%s%s", i ? "," : "", s);
            if (w < 0 || (size_t)w >= size - len) return -1;
            len += (size_t)w;
        }
        return 0;
    }
    return -1;
}

int srv_config_load_file(srv_config *c, const char *path, mx_err *err) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return mx_err_set(err, MX_EFORMAT, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    int rc = 0;
    const char *sec, *key;
    json_t *sv, *v;
    if (!json_is_object(root)) {
        rc = mx_err_set(err, MX_EFORMAT, "%s: the configuration must be a JSON object", path);
        goto done;
    }
    json_object_foreach(root, sec, sv) {
        if (!is_section(sec)) continue; /* the build's sections, "_comment" */
        if (!json_is_object(sv)) {
            rc = mx_err_set(err, MX_EFORMAT, "%s: section '%s' must be an object", path, sec);
            goto done;
        }
        json_object_foreach(sv, key, v) {
            if (key[0] == '_') continue;
            char name[128], text[4096];
            snprintf(name, sizeof(name), "%s.%s", sec, key);
            if (!find(name)) {
                rc = mx_err_set(err, MX_EINVAL, "%s: unknown setting '%s'", path, name);
                goto done;
            }
            if (json_text(v, text, sizeof(text))) {
                rc = mx_err_set(err, MX_EINVAL,
                                "%s: '%s' must be a string, a number or a list of strings", path,
                                name);
                goto done;
            }
            if ((rc = srv_config_set(c, name, text, err))) {
                mx_err_prefix(err, "%s", path);
                goto done;
            }
        }
    }
done:
    json_decref(root);
    return rc;
}

int srv_config_load_env(srv_config *c, char **envp, mx_err *err) {
    /* Short forms named in the docs, then MIXREC_<SECTION>_<KEY>. */
    static const char *alias[][2] = {
        {"MIXREC_LISTEN", "server.listen"},   {"MIXREC_WORKERS", "server.workers"},
        {"MIXREC_MODEL", "server.model_dir"}, {"MIXREC_REDIS", "redis.url"},
        {"MIXREC_API_KEYS", "auth.api_keys"}, {"MIXREC_CORS_ORIGINS", "cors.origins"},
        {"MIXREC_LOG_LEVEL", "log.level"}};
    for (char **e = envp; e && *e; e++) {
        if (strncmp(*e, "MIXREC_", 7) != 0) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        char var[128], name[128];
        size_t vl = (size_t)(eq - *e);
        if (vl >= sizeof(var)) return mx_err_set(err, MX_EINVAL, "environment: name too long");
        memcpy(var, *e, vl);
        var[vl] = 0;
        name[0] = 0;
        for (size_t a = 0; a < sizeof(alias) / sizeof(alias[0]); a++)
            if (strcmp(var, alias[a][0]) == 0) snprintf(name, sizeof(name), "%s", alias[a][1]);
        if (!name[0]) {
            /* MIXREC_LIMITS_MAX_BODY_BYTES -> limits.max_body_bytes */
            const char *s = var + 7, *us = strchr(s, '_');
            if (!us) return mx_err_set(err, MX_EINVAL, "environment: %s names no setting", var);
            size_t n = 0;
            for (const char *p = s; *p && n < sizeof(name) - 1; p++)
                name[n++] = p == us ? '.' : (char)tolower((unsigned char)*p);
            name[n] = 0;
        }
        if (!find(name)) return mx_err_set(err, MX_EINVAL, "environment: %s names no setting", var);
        int rc = srv_config_set(c, name, eq + 1, err);
        if (rc) {
            mx_err_prefix(err, "environment %s", var);
            return rc;
        }
    }
    return 0;
}

int srv_config_validate(const srv_config *c, mx_err *err) {
    if (!c->model_dir[0])
        return mx_err_set(err, MX_EINVAL,
                          "server.model_dir: no model directory (set it, MIXREC_MODEL or --model)");
    for (const char *p = c->redis_sentinels; *p;) { /* HOST:PORT,HOST:PORT */
        size_t len = strcspn(p, ",");
        char one[300];
        const char *colon = len < sizeof(one) ? memchr(p, ':', len) : NULL;
        int port;
        snprintf(one, sizeof(one), "%.*s", (int)len, p);
        if (!colon || colon == p || parse_port(one + (colon - p) + 1, &port) || c->redis_unix ||
            !c->redis_sentinel_master[0])
            return mx_err_set(err, MX_EINVAL,
                              "redis.sentinels: expected HOST:PORT,... with a redis:// url and "
                              "redis.sentinel_master, got '%s'",
                              c->redis_sentinels);
        p += len + (p[len] == ',');
    }
    return 0;
}

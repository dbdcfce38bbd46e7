/* srv_config.c - see srv_config.h. The service's rows of the settings
 * engine (settings.h), with the parsers of the settings that have their own
 * syntax (listen address, Redis URL, lists) as set hooks, and the
 * cross-setting checks. */
#include "srv_config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evtype.h"
#include "experiment.h"
#include "access.h"
#include "promo.h"
#include "settings.h"
#include "tenants.h"

#define OFF(f) offsetof(srv_config, f)
#define SZ(f) sizeof(((srv_config *)0)->f)
#define NUM(name, type, field, lo, hi, def, help)                                                  \
    { name, SETTINGS_##type, OFF(field), 0, lo, hi, def, NULL, help, NULL }
#define STR(name, field, def, help)                                                                \
    { name, SETTINGS_STR, OFF(field), SZ(field), 0, 0, def, NULL, help, NULL }
#define EN(name, field, names, def, help)                                                          \
    { name, SETTINGS_ENUM, OFF(field), SZ(field), 0, 0, def, names, help, NULL }
#define HOOK(name, field, fn, def, help)                                                           \
    { name, SETTINGS_HOOK, OFF(field), SZ(field), 0, 0, def, NULL, help, fn }

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

static int set_listen(void *obj, const settings_row *r, const char *v, mx_err *err) {
    srv_config *c = obj;
    (void)r;
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

static int set_redis(void *obj, const settings_row *r, const char *v, mx_err *err) {
    srv_config *c = obj;
    (void)r;
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
static int set_list(void *obj, const settings_row *e, const char *v, mx_err *err) {
    srv_config *c = obj;
    int is_keys = e->offset == OFF(api_keys), is_proxies = e->offset == OFF(trusted_proxies);
    size_t width = is_keys      ? SZ(api_keys[0])
                   : is_proxies ? SZ(trusted_proxies[0])
                                : SZ(cors_origins[0]);
    char *base = (char *)c + e->offset;
    int *count = is_keys ? &c->n_api_keys : is_proxies ? &c->n_trusted_proxies : &c->n_cors_origins;
    char tmp[SRV_MAX_LIST][256];
    int n = 0;
    size_t len;
    for (const char *p = v, *s; (s = srv_list_next(&p, &len));) {
        const char *t = s + len;
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
    }
    for (int i = 0; i < n; i++)
        memcpy(base + (size_t)i * width, tmp[i], strlen(tmp[i]) + 1);
    *count = n;
    return 0;
}

/* By value: SRV_LOG_ERROR .. SRV_LOG_DEBUG. */
static const char *const log_names[] = {"error", "warn", "info", "debug", NULL};

static const settings_row rows[] = {
    HOOK("server.listen", listen, set_listen, "127.0.0.1:8080",
         "HOST:PORT to listen on (0.0.0.0 for every interface)"),
    NUM("server.workers", INT, workers, 0, 256, "0", "event-loop workers; 0 = one per core"),
    STR("server.model_dir", model_dir, "", "model root (its CURRENT version is served)"),
    NUM("server.model_poll_s", INT, model_poll_s, 0, 86400, "5",
        "seconds between checks of the model root's CURRENT: a new version is loaded and swapped "
        "in by itself, a broken one refused (/readyz); 0 = off (SIGHUP or the admin route only)"),
    STR("server.ui_dir", ui_dir, "auto",
        "inspector page files served at /ui/; auto: share/mixrec/ui or the checkout's service/ui "
        "next to the binary; empty: no page"),
    HOOK("server.trusted_proxies", trusted_proxies, set_list, "",
         "load balancers whose X-Forwarded-For names the client (addresses or ADDRESS/BITS, "
         "comma-separated): rate limits per address then count the client, not the proxy"),
    HOOK("redis.url", redis_url, set_redis, "redis://127.0.0.1:6379/0",
         "redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH[?db=N]; empty: no sessions"),
    STR("redis.prefix", redis_prefix, "mixrec:",
        "what every key and channel of this service in Redis starts with (sessions, event ids, "
        "pages, the catalogue, experiments, exploration counts); the streams are named by "
        "log.events_stream and log.impressions_stream"),
    NUM("redis.connect_timeout_ms", INT, redis_connect_timeout_ms, 1, 600000, "500",
        "Redis connect timeout"),
    NUM("redis.command_timeout_ms", INT, redis_command_timeout_ms, 1, 600000, "50",
        "a session read slower than this answers from the long-term profile"),
    STR("redis.sentinels", redis_sentinels, "",
        "Sentinels HOST:PORT,... asked for the master (redis.url: password, db only)"),
    STR("redis.sentinel_master", redis_sentinel_master, "mymaster",
        "name of the master the Sentinels monitor"),
    NUM("limits.max_body_bytes", SIZE, max_body_bytes, 64, 1 << 30, "1048576",
        "largest request body (413 above)"),
    NUM("limits.max_header_bytes", SIZE, max_header_bytes, 1024, 1 << 20, "16384",
        "largest request header block"),
    NUM("limits.max_k", INT, max_k, 1, 1000, "200", "largest k a request may ask for"),
    NUM("limits.max_batch", INT, max_batch, 1, 100000, "1000", "most events per batch"),
    NUM("limits.request_timeout_s", INT, request_timeout_s, 1, 3600, "10",
        "idle connections and slow clients are closed after this"),
    NUM("limits.max_connections", INT, max_connections, 1, 1000000, "4096",
        "concurrent connections"),
    NUM("limits.read_rate", DOUBLE, limits_read_rate, 0, 1e9, "0",
        "reads (recommendations, similar, interests, items) a second per API key, or per client "
        "address without one; 429 with Retry-After above; 0 = unlimited (docs/deploy.md)"),
    NUM("limits.read_burst", DOUBLE, limits_read_burst, 0, 1e9, "0",
        "reads a client may make at once above limits.read_rate; 0 = one second's worth"),
    NUM("limits.write_rate", DOUBLE, limits_write_rate, 0, 1e9, "0",
        "writes (events, tokens, admin routes) a second per API key or client address; 0 = "
        "unlimited"),
    NUM("limits.write_burst", DOUBLE, limits_write_burst, 0, 1e9, "0",
        "writes a client may make at once above limits.write_rate; 0 = one second's worth"),
    NUM("limits.rate_clients", INT, limits_rate_clients, 64, 16777216, "65536",
        "clients (keys, addresses) whose rate-limit buckets are kept; ~160 bytes each"),
    HOOK("cors.origins", cors_origins, set_list, "",
         "allowed browser origins, comma-separated; * allows any; empty: no CORS"),
    HOOK("auth.api_keys", api_keys, set_list, "",
         "keys with every scope (X-API-Key), named key-1, key-2, ... in logs and metrics; "
         "with neither these nor auth.keys, every route is open but the admin ones"),
    STR("auth.keys", auth_keys, "",
        "API keys with scopes: a JSON array (in a config file, the array itself) of {id, key, "
        "scopes: [read, write, admin], read_rate, read_burst, write_rate, write_burst}; the id "
        "names the key in logs and metrics; SIGHUP re-reads the keys (rotation without a "
        "restart)"),
    STR("auth.anonymous", auth_anonymous, "read",
        "scopes of a request without a key while keys are configured (read: a public site reads "
        "without one; empty: every route needs a key)"),
    STR("auth.token_secret", token_secret, "",
        "signs the event tokens of POST /v1/tokens; empty: derived from auth.api_keys (tokens "
        "then end when the keys change); the same on every replica"),
    NUM("auth.token_max_ttl_s", INT, token_max_ttl_s, 60, 604800, "86400",
        "the longest life an event token may ask for"),
    EN("log.level", log_level, log_names, "info", "the least severe messages logged"),
    STR("log.events_stream", log_events_stream, "mixrec:events",
        "Redis stream every stored event is appended to (docs/streams.md)"),
    NUM("log.events_maxlen", INT, log_events_maxlen, 1000, 2000000000, "1000000",
        "the events stream keeps about this many entries (XADD MAXLEN ~)"),
    NUM("log.event_id_window_s", INT, log_event_id_window_s, 1, 31536000, "86400",
        "an event posted again with the same event_id within this window is stored once"),
    NUM("log.impressions", BOOL, log_impressions, 0, 1, "true",
        "true: one record per recommendation answer to log.impressions_stream (fire and forget; "
        "records Redis does not store are counted in mixrec_impressions_dropped_total)"),
    STR("log.impressions_stream", log_impressions_stream, "mixrec:impressions",
        "Redis stream key of the impression records"),
    NUM("log.impressions_maxlen", INT, log_impressions_maxlen, 1, 2000000000, "1000000",
        "the impressions stream is capped near this many records (XADD MAXLEN ~)"),
    NUM("catalog.refresh_s", INT, catalog_refresh_s, 1, 86400, "30",
        "the live catalogue is re-read from Redis at least this often (changes arrive at once by "
        "pub/sub; this covers a lost message)"),
    NUM("catalog.fresh_share", DOUBLE, catalog_fresh_share, 0, 1, "0.1",
        "share of an answer's slots offered to new catalogue items (PUT, not yet trained on) that "
        "match the user's categories or vector; 0 = off"),
    NUM("catalog.fresh_days", INT, catalog_fresh_days, 1, 3650, "30",
        "a new item takes fresh slots for this many days after it was added"),
    NUM("catalog.fresh_min_cosine", DOUBLE, catalog_fresh_min_cosine, -1, 1, "0.2",
        "a new item given with a vector matches a user whose query vector is at least this close"),
    NUM("session.half_life_s", DOUBLE, session_half_life_s, 1, 1e9, "1800",
        "a session event's weight halves every this many seconds"),
    NUM("session.strength", DOUBLE, session_strength, 0, 1e9, "3",
        "s0: session share b = S / (S + s0)"),
    NUM("session.max_events", INT, session_max_events, 1, 100000, "100",
        "events kept per user in Redis (capped list)"),
    NUM("session.ttl_s", INT, session_ttl_s, 1, 100000000, "86400",
        "a session expires this long after its last event"),
    NUM("pages.ttl_s", INT, pages_ttl_s, 0, 100000000, "1800",
        "what a chain of pages (after=recommendation_id) showed is kept this long in Redis; 0: "
        "paging off (after answers 400 paging_disabled, nothing is written)"),
/* events.<type>, one row per type of core's table (evtype.h): the
 * defaults are written there, shared with the build's rows */
// clang-format off
#define EVROW(id, name, def, lo, hi, help) NUM("events." name, DOUBLE, w_event[id], lo, hi, def, help),
    EVTYPE_TABLE(EVROW)
#undef EVROW
    // clang-format on
    NUM("ranking.enabled", BOOL, ranking_enabled, 0, 1, "true",
        "true: re-rank with the model's learned ranker when it has one; false: retrieval order"),
    NUM("ranking.session_quota", DOUBLE, ranking_session_quota, 0, 1, "1",
        "ranked answers give the session's interests at least this x b of their slots; 0 = off"),
    NUM("ranking.xgboost_predictor", BOOL, ranking_xgboost_predictor, 0, 1, "false",
        "true: score with XGBoost's own predictor (the reference; about 4x slower) instead of the "
        "compact evaluator"),
    NUM("ranking.per_interest_cap", INT, ranking_per_interest_cap, 0, 1000, "0",
        "diversity: at most this many items per interest in an answer; 0 = off"),
    NUM("ranking.mmr_lambda", DOUBLE, ranking_mmr_lambda, 0, 1, "0",
        "diversity: maximal marginal relevance weight (0 = off, 1 = only novelty)"),
    STR("catalog.promotions", catalog_promotions, "",
        "promotions in force on every replica: a JSON array (in a config file, the array "
        "itself) of {name, items or category, share or position, start, end} (docs: "
        "PUT /v1/admin/promotions adds more through Redis); shares sum to at most 1; a bad "
        "list stops the server; empty: none"),
    STR("experiments.list", experiments_list, "",
        "online experiments: a JSON array (in a config file, the array itself) of {name, salt, "
        "audience, variants: [{name, share, settings}]}; a user falls into a variant by a hash "
        "of the salt and the user id, and is served with the variant's settings (per-request "
        "ones: ranking.*, session.half_life_s, session.strength); docs/experiments.md; a bad "
        "list stops the server; empty: none. A list PUT to /v1/admin/experiments (stored in "
        "Redis, mixrec:experiments) replaces it on every replica and wins over it at start, "
        "until DELETE /v1/admin/experiments"),
    NUM("experiments.click_window_s", INT, experiments_click_window_s, 60, 100000000, "3600",
        "interleaving: which variant placed each item of an answer is kept this long in Redis "
        "(mixrec:il:<recommendation_id>); a click later than this counts for neither"),
    NUM("explore.share", DOUBLE, explore_share, 0, 0.5, "0",
        "exploration: about this share of an answer's slots (0.5x to 1.5x by the user's interest "
        "spread and clicks on rarely shown items) go to candidates past the greedy ones, drawn by "
        "Thompson sampling on their click counts; each item's propensity is in the answer and the "
        "impression log; 0 = off (docs/experiments.md)"),
    NUM("explore.depth", INT, explore_depth, 1, 500, "15",
        "exploration: candidates past the greedy ones that an explored slot may take"),
    NUM("explore.draws", INT, explore_draws, 10, 100000, "100",
        "exploration: repeated draws that estimate an explored item's propensity (cost: about "
        "draws x (depth + explored slots) Beta draws per answer)"),
    NUM("explore.half_life_s", DOUBLE, explore_half_life_s, 0, 1e9, "604800",
        "exploration: impression and click counts halve every this many seconds; 0 = never"),
    NUM("explore.refresh_ms", INT, explore_refresh_ms, 50, 3600000, "1000",
        "exploration: each worker re-reads the counts from Redis this often (milliseconds)"),
    NUM("explore.counts", BOOL, explore_counts, 0, 1, "false",
        "exploration: count impressions and clicks per item in Redis even when no configuration "
        "in force at start explores (on by itself when explore.share or a variant's is above 0; "
        "set it when an experiment that explores will be added at runtime)"),
    STR("tenants.list", tenants_list, "",
        "more catalogues in this service: a JSON array (in a config file, the array itself) of "
        "{name, model_dir, keys, settings}; each is served under /v1/tenants/<name>/... with its "
        "own model, keys, limits and Redis keys (mixrec@<name>:...), the top level's settings "
        "as its defaults; the plain /v1/... routes serve the top level (tenant default); "
        "docs/scaling.md"),
    NUM("testing.session_delay_ms", INT, testing_session_delay_ms, 0, 60000, "0",
        "tests only: every session read waits this long before it goes to Redis (a slow Redis "
        "reply, made deterministic, e.g. to keep a request in flight across a reload); 0 = off"),
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* Short forms named in the docs; the rest is MIXREC_<SECTION>_<KEY>. */
static const char *const aliases[][2] = {
    {"MIXREC_LISTEN", "server.listen"},   {"MIXREC_WORKERS", "server.workers"},
    {"MIXREC_MODEL", "server.model_dir"}, {"MIXREC_REDIS", "redis.url"},
    {"MIXREC_API_KEYS", "auth.api_keys"}, {"MIXREC_CORS_ORIGINS", "cors.origins"},
    {"MIXREC_LOG_LEVEL", "log.level"},    {NULL, NULL}};

static const settings_table table = {rows, N_ROWS, SETTINGS_SERVE, aliases};

const settings_table *srv_config_settings(void) {
    return &table;
}

const srv_config_entry *srv_config_entries(size_t *n) {
    static srv_config_entry out[N_ROWS];
    for (size_t i = 0; i < N_ROWS; i++)
        out[i] = (srv_config_entry){rows[i].name, rows[i].def, rows[i].help};
    *n = N_ROWS;
    return out;
}

const char *srv_list_next(const char **p, size_t *len) {
    if (!**p) return NULL;
    size_t n = strcspn(*p, ",");
    const char *s = *p, *t = *p + n;
    *p += n + ((*p)[n] == ',');
    while (s < t && isspace((unsigned char)*s))
        s++;
    while (t > s && isspace((unsigned char)t[-1]))
        t--;
    *len = (size_t)(t - s);
    return s;
}

const char *srv_log_level_name(srv_log_level l) {
    return l <= SRV_LOG_DEBUG ? log_names[l] : "info";
}

void srv_config_init(srv_config *c) {
    memset(c, 0, sizeof(*c));
    settings_init(&table, c);
}

int srv_config_set(srv_config *c, const char *name, const char *value, mx_err *err) {
    return settings_set(&table, c, name, value, 0, err);
}

int srv_config_load_file(srv_config *c, const char *path, mx_err *err) {
    return settings_load_file(&table, c, path, err);
}

int srv_config_load_env(srv_config *c, char **envp, mx_err *err) {
    return settings_load_env(&table, c, envp, err);
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
    if (c->log_impressions && !c->log_impressions_stream[0])
        return mx_err_set(err, MX_EINVAL,
                          "log.impressions_stream: empty; name a stream key or set "
                          "log.impressions=false");
    promo_list *promos = NULL; /* parsed again where used; here only checked */
    int rc = promo_parse_text(c->catalog_promotions, "catalog.promotions", c->max_k, &promos, NULL,
                              0, err);
    promo_list_free(promos);
    if (rc) return rc;
    experiment_list *xl = NULL; /* the same */
    rc = experiment_parse_text(c->experiments_list, "experiments.list", c, &xl, NULL, 0, err);
    experiment_list_free(xl);
    if (rc) return rc;
    ac_table *keys = NULL; /* the same */
    rc = ac_table_new(&keys, c, err);
    ac_table_free(keys);
    if (rc || !c->tenants_list[0]) return rc;
    tn_list *tenants = NULL; /* the same */
    rc = tn_parse(c, &tenants, err);
    tn_list_free(tenants);
    return rc;
}

/* srv_config.h - the service's configuration: the service's table of the
 * settings engine (settings.h; the rows are in srv_config.c).
 *
 * Sources, later ones winning: built-in defaults (each written once, in
 * its row), the JSON config file (sections "server", "redis", "limits",
 * "cors", "auth", "log", "session", "catalog", "pages", "events", "ranking",
 * "experiments", "explore", "testing" of the
 * same file that holds the build settings; see config/mixrec.json),
 * environment variables MIXREC_<SECTION>_<KEY> (e.g.
 * MIXREC_SERVER_WORKERS=4, MIXREC_REDIS_URL=unix:/run/redis.sock) and
 * command-line flags (srv_config_set with the dotted name). Every error
 * names the setting, so `mixrec serve` can exit with code 2 and a message
 * an operator can act on.
 *
 * A srv_config is plain data: filled once at start-up by the main thread,
 * read-only afterwards (safe to share between threads). */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stddef.h>

#include "evtype.h"
#include "mx_err.h"
#include "settings.h"

#define SRV_MAX_LIST 16 /* origins, API keys, trusted proxies */

typedef enum { SRV_LOG_ERROR, SRV_LOG_WARN, SRV_LOG_INFO, SRV_LOG_DEBUG } srv_log_level;

typedef struct srv_config {
    /* server */
    char listen[300]; /* HOST:PORT as given */
    char listen_host[256];
    int listen_port;
    int workers; /* event loops; 0 = one per core */
    char model_dir[4096];
    int model_poll_s;  /* seconds between checks of model_dir/CURRENT; 0 = not watched */
    char ui_dir[4096]; /* the inspector page's files; "auto", "" = off */
    /* catalog (catstore.h, catview.h) */
    int catalog_refresh_s;
    double catalog_fresh_share;
    int catalog_fresh_days;
    double catalog_fresh_min_cosine;
    /* redis: redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH[?db=N];
     * an empty url turns sessions and events off */
    char redis_url[1024];
    int redis_unix;
    char redis_host[256];
    int redis_port;
    char redis_path[512];
    char redis_password[256];
    int redis_db;
    /* Sentinel: HOST:PORT,... asked for the address of the master named
     * redis_sentinel_master (redis_url then gives only password and db) */
    char redis_sentinels[512];
    char redis_sentinel_master[128];
    /* every key and channel mixrec names in Redis starts with this
     * ("mixrec:"; a tenant's is "mixrec@<tenant>:", tenants.h) */
    char redis_prefix[64];
    int redis_connect_timeout_ms;
    int redis_command_timeout_ms;
    /* limits */
    size_t max_body_bytes;
    size_t max_header_bytes;
    int max_k;
    int max_batch;
    int request_timeout_s;
    int max_connections;
    /* rate limits (access.h): tokens a second per key or client address,
     * and the burst; 0 rate: unlimited, 0 burst: one second's worth */
    double limits_read_rate, limits_read_burst;
    double limits_write_rate, limits_write_burst;
    int limits_rate_clients; /* buckets kept (ratelimit.h) */
    /* cors, auth */
    char cors_origins[SRV_MAX_LIST][256]; /* "*" allows any */
    int n_cors_origins;
    char api_keys[SRV_MAX_LIST][128]; /* keys with every scope (access.h) */
    int n_api_keys;
    char auth_keys[16384];   /* JSON array of {id, key, scopes, rates} (access.h) */
    char auth_anonymous[64]; /* scopes without a key, while any key is configured */
    /* server.trusted_proxies: addresses or ADDRESS/BITS whose X-Forwarded-For
     * is believed */
    char trusted_proxies[SRV_MAX_LIST][64];
    int n_trusted_proxies;
    char token_secret[256]; /* HMAC key of event tokens (api_auth.h); "": from the keys */
    int token_max_ttl_s;
    /* log */
    srv_log_level log_level;
    char log_events_stream[256]; /* evlog.h */
    int log_events_maxlen;
    int log_event_id_window_s;
    int log_impressions;              /* one record per answer to the stream (implog.h) */
    char log_impressions_stream[256]; /* its key */
    int log_impressions_maxlen;       /* XADD MAXLEN ~ this */
    /* session (see service/core/recommend.h for the rule) */
    double session_half_life_s;
    double session_strength;
    int session_max_events; /* capped list per user in Redis */
    int session_ttl_s;
    int pages_ttl_s; /* a page chain's key lives this long; 0: paging off (api_pages.h) */
    /* events: type weights, by EVTYPE_* id (defaults in core's evtype.h) */
    double w_event[EVTYPE_N];
    /* ranking (see service/core/recommend.h) */
    int ranking_enabled;
    int ranking_per_interest_cap;
    double ranking_session_quota;
    int ranking_xgboost_predictor;
    double ranking_mmr_lambda;
    /* catalog: promotions in force on every replica, JSON text of promo.h's
     * format (checked by srv_config_validate); the admin route adds more */
    char catalog_promotions[32768];
    /* experiments: JSON text of experiment.h's format (checked by
     * srv_config_validate) */
    char experiments_list[32768];
    int experiments_click_window_s;
    /* explore (armstats.h, explore.h; docs/experiments.md) */
    double explore_share; /* base share of an answer's slots explored; 0: off */
    int explore_depth;    /* candidates beyond the greedy ones that may be explored */
    int explore_draws;    /* repeated picks that estimate a propensity */
    double explore_half_life_s;
    int explore_refresh_ms; /* workers re-read the counts this often */
    int explore_counts;     /* keep the counts even where no answer explores */
    /* tenants: JSON text of tenants.h's list (checked by srv_config_validate) */
    char tenants_list[32768];
    /* testing: hooks that make timing-dependent tests deterministic */
    int testing_session_delay_ms;
} srv_config;

void srv_config_init(srv_config *c);

/* The service's table (static), e.g. for settings_help. */
const settings_table *srv_config_settings(void);

/* name=value with a dotted name ("server.workers"). Lists are
 * comma-separated. Errors name the setting and the bad value. */
int srv_config_set(srv_config *c, const char *name, const char *value, mx_err *err);

/* Applies the service's sections of a JSON config file; the build's
 * sections (embed, mixture, ...) are left to bconfig, a section nobody
 * owns is an error. MX_EIO if the file cannot be opened. */
int srv_config_load_file(srv_config *c, const char *path, mx_err *err);

/* Applies MIXREC_<SECTION>_<KEY> variables from envp (NULL-terminated,
 * e.g. environ). A MIXREC_ variable that names no setting is an error, so
 * a typo does not silently fall back to a default. */
int srv_config_load_env(srv_config *c, char **envp, mx_err *err);

/* Cross-setting checks after everything is applied (e.g. a model dir). */
int srv_config_validate(const srv_config *c, mx_err *err);

/* The table, for --help: name, default as text, help. */
typedef struct srv_config_entry {
    const char *name, *def, *help;
} srv_config_entry;
const srv_config_entry *srv_config_entries(size_t *n);

const char *srv_log_level_name(srv_log_level l);

/* The next entry of the comma-separated list at *p, blanks trimmed (its
 * length in *len, 0 for an empty entry), *p moved past it; NULL at the
 * end. The one reader of the settings' lists. */
const char *srv_list_next(const char **p, size_t *len);

#endif

/* access.h - who may call what, and how often: API keys with scopes, what
 * a caller without a key may do, the rate limits, the proxies whose
 * X-Forwarded-For is believed; and the gate through which the HTTP lanes
 * read them, so that a settings reload (SIGHUP) rotates keys and changes
 * limits without a restart.
 *
 * Scopes: read (recommendations, similar, interests, items), write
 * (events, event tokens), admin (reload, catalogue changes, promotions,
 * experiments). Keys come from auth.keys, a JSON array of
 *   {"id": "shop-web", "key": "...", "scopes": ["read", "write"],
 *    "read_rate": 50, "read_burst": 100, "write_rate": 5, "write_burst": 20}
 * (id: what logs and metrics name, never the key; the rates are optional
 * and default to limits.*), and from auth.api_keys, keys with every scope
 * named key-1, key-2, ... in order. Without any key, every route is open
 * but the admin routes, which are off (as before scopes existed). With
 * keys, a request without one has the scopes of auth.anonymous ("read" by
 * default: a public website reads without a key; "" requires keys for
 * everything).
 *
 * Rate limits (ratelimit.h): a request with a key takes a token from the
 * key's bucket, one without from its client address's, in the read or the
 * write budget (admin routes count as writes). The client address is the
 * connection's, or, when that is one of server.trusted_proxies, the last
 * address of X-Forwarded-For that is not a trusted proxy.
 *
 * Threading: an ac_table is immutable once made (any thread may read
 * it). An ac_gate is shared by the threads that admit requests (every
 * HTTP lane, http.h): between ac_gate_lock and ac_gate_unlock one of them
 * holds the table in force and the limiter; ac_gate_publish may be
 * called from any thread. */
#ifndef ACCESS_ACCESS_H
#define ACCESS_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "mx_err.h"
#include "ratelimit.h"
#include "srv_config.h"

/* Scopes, as bits. */
enum { AC_READ = 1, AC_WRITE = 2, AC_ADMIN = 4, AC_ALL = 7 };
#define AC_MAX_KEYS 256
#define AC_MAX_ID 64

typedef struct ac_key {
    char id[AC_MAX_ID + 1];
    char key[128];
    unsigned scopes;
    double rate[RL_BUDGETS], burst[RL_BUDGETS]; /* < 0: the settings' limits.* */
} ac_key;

typedef struct ac_table ac_table;

/* The table of cfg's auth.*, limits.*_rate/_burst and
 * server.trusted_proxies. Errors name the setting (auth.keys[2].scopes:
 * unknown scope 'wrte'). */
int ac_table_new(ac_table **out, const srv_config *cfg, mx_err *err);
void ac_table_free(ac_table *t);

/* Whether any key is configured. */
int ac_has_keys(const ac_table *t);
size_t ac_key_count(const ac_table *t);
/* The key whose secret is key, or NULL; compares against every key in
 * time that does not depend on where they differ. */
const ac_key *ac_find(const ac_table *t, const char *key);
/* The scopes of a request without a key. */
unsigned ac_anonymous(const ac_table *t);
/* The rate (tokens a second; 0: unlimited) and burst of key's budget (key
 * NULL: a client address's). */
void ac_limits(const ac_table *t, const ac_key *key, int budget, double *rate, double *burst);
/* Whether any budget is limited (else no client address is needed). */
int ac_limited(const ac_table *t);
/* The client address of a connection from peer (numeric, e.g.
 * "127.0.0.1" or "::1"; IPv4-mapped IPv6 written as IPv4) that sent xff
 * (X-Forwarded-For, or NULL), into out. */
void ac_client(const ac_table *t, const char *peer, const char *xff, char *out, size_t size);
/* The HMAC key of event tokens: auth.token_secret's bytes, or a digest of
 * every key (so replicas with the same settings agree). */
void ac_token_key(const ac_table *t, const uint8_t **key, size_t *len);

const char *ac_scope_name(unsigned scope);

typedef struct ac_gate ac_gate;

/* A gate with t in force (ownership passes) and a limiter of
 * max_clients buckets. NULL on OOM (t is then freed). */
ac_gate *ac_gate_new(ac_table *t, size_t max_clients);
void ac_gate_free(ac_gate *g);
/* Puts t in force from the next request on (ownership passes); any
 * thread. A table published before and not yet taken is freed. */
void ac_gate_publish(ac_gate *g, ac_table *t);
/* Takes the gate's lock and returns the table in force, valid until
 * ac_gate_unlock (a publish takes effect at the next lock). Hold it for
 * microseconds: every request's admission waits on it. */
const ac_table *ac_gate_lock(ac_gate *g);
void ac_gate_unlock(ac_gate *g);
/* The limiter (ratelimit.h): use it between ac_gate_lock and _unlock. */
rl_limiter *ac_gate_limiter(ac_gate *g);

#endif

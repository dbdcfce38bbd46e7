/* access.c - see access.h. */
#include "access.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sha256.h"

typedef struct ac_net {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int bits;
} ac_net;

struct ac_table {
    ac_key *keys;
    size_t n;
    unsigned anonymous;
    double rate[RL_BUDGETS], burst[RL_BUDGETS];
    ac_net proxies[SRV_MAX_LIST];
    int n_proxies;
    uint8_t token_key[256];
    size_t token_key_len;
};

static const char *const scope_names[] = {"read", "write", "admin"};

const char *ac_scope_name(unsigned scope) {
    return scope == AC_READ    ? "read"
           : scope == AC_WRITE ? "write"
           : scope == AC_ADMIN ? "admin"
                               : "";
}

/* One scope word into *bits; -1 when it is none. */
static int scope_bit(const char *s, size_t n, unsigned *bits) {
    for (unsigned i = 0; i < 3; i++)
        if (strlen(scope_names[i]) == n && !strncmp(s, scope_names[i], n)) {
            *bits |= 1u << i;
            return 0;
        }
    return -1;
}

/* "read,write" (blanks allowed) into *bits. */
static int parse_scope_list(const char *v, const char *name, unsigned *bits, mx_err *err) {
    *bits = 0;
    size_t n;
    for (const char *p = v, *s; (s = srv_list_next(&p, &n));)
        if (n && scope_bit(s, n, bits))
            return mx_err_set(err, MX_EINVAL, "%s: unknown scope '%.*s' (read, write, admin)", name,
                              (int)n, s);
    return 0;
}

static int parse_net(const char *v, ac_net *out) {
    char host[64];
    const char *slash = strchr(v, '/');
    size_t hl = slash ? (size_t)(slash - v) : strlen(v);
    if (hl == 0 || hl >= sizeof(host)) return -1;
    memcpy(host, v, hl);
    host[hl] = 0;
    out->family = strchr(host, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(out->family, host, out->addr) != 1) return -1;
    int max = out->family == AF_INET ? 32 : 128;
    out->bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || b < 0 || b > max) return -1;
        out->bits = (int)b;
    }
    return 0;
}

static int net_has(const ac_net *n, int family, const uint8_t *addr) {
    if (n->family != family) return 0;
    int full = n->bits / 8, rest = n->bits % 8;
    if (memcmp(n->addr, addr, (size_t)full) != 0) return 0;
    if (!rest) return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (n->addr[full] & mask) == (addr[full] & mask);
}

/* An IPv4-mapped IPv6 address ("::ffff:1.2.3.4") as IPv4; others as given. */
static const char *unmapped(const char *s) {
    size_t n = strlen(s);
    return n > 7 && !strncasecmp(s, "::ffff:", 7) && memchr(s + 7, '.', n - 7) ? s + 7 : s;
}

/* Parses a numeric address (IPv4-mapped IPv6 as IPv4). */
static int parse_addr(const char *s, int *family, uint8_t addr[16]) {
    s = unmapped(s);
    *family = strchr(s, ':') ? AF_INET6 : AF_INET;
    return inet_pton(*family, s, addr) == 1 ? 0 : -1;
}

static int is_proxy(const ac_table *t, const char *s) {
    int family;
    uint8_t addr[16];
    if (parse_addr(s, &family, addr)) return 0;
    for (int i = 0; i < t->n_proxies; i++)
        if (net_has(&t->proxies[i], family, addr)) return 1;
    return 0;
}

/* A rate or burst field of a key: absent -1 (the settings' value). */
static int key_number(json_t *o, const char *field, const char *where, double *out, mx_err *err) {
    json_t *v = json_object_get(o, field);
    *out = -1;
    if (!v) return 0;
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1e9)
        return mx_err_set(err, MX_EINVAL, "%s.%s: expected a number in 0..1e9", where, field);
    *out = json_number_value(v);
    return 0;
}

static int id_valid(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n > AC_MAX_ID) return 0;
    for (; *id; id++)
        if (!isalnum((unsigned char)*id) && !strchr("._-", *id)) return 0;
    return 1;
}

static int parse_key(json_t *o, const char *where, ac_key *k, mx_err *err) {
    static const char *const fields[] = {"id",         "key",        "scopes",      "read_rate",
                                         "read_burst", "write_rate", "write_burst", NULL};
    if (!json_is_object(o)) return mx_err_set(err, MX_EINVAL, "%s: expected an object", where);
    const char *f;
    json_t *v;
    json_object_foreach(o, f, v) {
        int known = 0;
        for (int i = 0; fields[i]; i++)
            known |= !strcmp(f, fields[i]);
        if (!known)
            return mx_err_set(err, MX_EINVAL,
                              "%s: unknown field '%s' (id, key, scopes, read_rate, read_burst, "
                              "write_rate, write_burst)",
                              where, f);
    }
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *key = json_string_value(json_object_get(o, "key"));
    if (!id || !id_valid(id))
        return mx_err_set(err, MX_EINVAL, "%s.id: expected 1..%d letters, digits, '.', '_', '-'",
                          where, AC_MAX_ID);
    if (!key || strlen(key) < 8 || strlen(key) >= sizeof(k->key))
        return mx_err_set(err, MX_EINVAL, "%s.key: expected a string of 8..%zu bytes", where,
                          sizeof(k->key) - 1);
    snprintf(k->id, sizeof(k->id), "%s", id);
    snprintf(k->key, sizeof(k->key), "%s", key);
    json_t *sc = json_object_get(o, "scopes");
    char name[128];
    snprintf(name, sizeof(name), "%s.scopes", where);
    k->scopes = 0;
    if (json_is_string(sc)) {
        if (parse_scope_list(json_string_value(sc), name, &k->scopes, err)) return MX_EINVAL;
    } else if (json_is_array(sc)) {
        size_t i;
        json_t *s;
        json_array_foreach(sc, i, s) {
            const char *w = json_string_value(s);
            if (!w || scope_bit(w, strlen(w), &k->scopes))
                return mx_err_set(err, MX_EINVAL, "%s[%zu]: expected read, write or admin", name,
                                  i);
        }
    } else {
        return mx_err_set(err, MX_EINVAL, "%s: expected a list of read, write, admin", name);
    }
    if (!k->scopes) return mx_err_set(err, MX_EINVAL, "%s: no scope", name);
    return key_number(o, "read_rate", where, &k->rate[RL_READ], err) ||
                   key_number(o, "read_burst", where, &k->burst[RL_READ], err) ||
                   key_number(o, "write_rate", where, &k->rate[RL_WRITE], err) ||
                   key_number(o, "write_burst", where, &k->burst[RL_WRITE], err)
               ? MX_EINVAL
               : 0;
}

/* auth.api_keys (every scope), then auth.keys. */
static int parse_keys(ac_table *t, const srv_config *cfg, mx_err *err) {
    json_t *arr = NULL;
    if (cfg->auth_keys[0]) {
        json_error_t je;
        arr = json_loads(cfg->auth_keys, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_array(arr)) {
            json_decref(arr);
            return mx_err_set(err, MX_EINVAL, "auth.keys: expected a JSON array of keys (%s)",
                              je.text[0] ? je.text : "not an array");
        }
    }
    size_t n = (size_t)cfg->n_api_keys + json_array_size(arr);
    if (n > AC_MAX_KEYS) {
        json_decref(arr);
        return mx_err_set(err, MX_EINVAL, "auth.keys: at most %d keys", AC_MAX_KEYS);
    }
    t->keys = calloc(n ? n : 1, sizeof(*t->keys));
    if (!t->keys) {
        json_decref(arr);
        return mx_err_set(err, MX_ENOMEM, "out of memory for the keys");
    }
    for (int i = 0; i < cfg->n_api_keys; i++) {
        ac_key *k = &t->keys[t->n++];
        snprintf(k->id, sizeof(k->id), "key-%d", i + 1);
        snprintf(k->key, sizeof(k->key), "%s", cfg->api_keys[i]);
        k->scopes = AC_ALL;
        for (int b = 0; b < RL_BUDGETS; b++)
            k->rate[b] = k->burst[b] = -1;
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
        char where[64];
        snprintf(where, sizeof(where), "auth.keys[%zu]", i);
        ac_key *k = &t->keys[t->n];
        rc = parse_key(json_array_get(arr, i), where, k, err);
        for (size_t j = 0; !rc && j < t->n; j++)
            if (!strcmp(t->keys[j].id, k->id) || !strcmp(t->keys[j].key, k->key))
                rc = mx_err_set(err, MX_EINVAL, "%s: the %s of key '%s' again", where,
                                strcmp(t->keys[j].id, k->id) ? "secret" : "id", t->keys[j].id);
        t->n += !rc;
    }
    json_decref(arr);
    return rc;
}

static void derive_token_key(ac_table *t, const srv_config *cfg) {
    size_t n = strlen(cfg->token_secret);
    if (n) {
        memcpy(t->token_key, cfg->token_secret,
               n < sizeof(t->token_key) ? n : sizeof(t->token_key));
        t->token_key_len = n < sizeof(t->token_key) ? n : sizeof(t->token_key);
        return;
    }
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, "mixrec event tokens\n", 20);
    for (size_t i = 0; i < t->n; i++)
        sha256_update(&c, t->keys[i].key, strlen(t->keys[i].key) + 1);
    sha256_final(&c, t->token_key);
    t->token_key_len = SHA256_BYTES;
}

int ac_table_new(ac_table **out, const srv_config *cfg, mx_err *err) {
    *out = NULL;
    ac_table *t = calloc(1, sizeof(*t));
    if (!t) return mx_err_set(err, MX_ENOMEM, "out of memory for the keys");
    int rc = parse_keys(t, cfg, err);
    if (!rc) rc = parse_scope_list(cfg->auth_anonymous, "auth.anonymous", &t->anonymous, err);
    for (int i = 0; !rc && i < cfg->n_trusted_proxies; i++)
        if (parse_net(cfg->trusted_proxies[i], &t->proxies[t->n_proxies++]))
            rc = mx_err_set(err, MX_EINVAL,
                            "server.trusted_proxies: '%s' is not an address or ADDRESS/BITS",
                            cfg->trusted_proxies[i]);
    if (rc) {
        ac_table_free(t);
        return rc;
    }
    if (!t->n) t->anonymous = AC_ALL; /* no key: open, but API_ADMIN routes are off (api_auth.c) */
    t->rate[RL_READ] = cfg->limits_read_rate;
    t->burst[RL_READ] = cfg->limits_read_burst;
    t->rate[RL_WRITE] = cfg->limits_write_rate;
    t->burst[RL_WRITE] = cfg->limits_write_burst;
    derive_token_key(t, cfg);
    *out = t;
    return 0;
}

void ac_table_free(ac_table *t) {
    if (!t) return;
    free(t->keys);
    free(t);
}

int ac_has_keys(const ac_table *t) {
    return t->n > 0;
}

size_t ac_key_count(const ac_table *t) {
    return t->n;
}

/* Compares in time independent of where the strings differ. */
static int same_secret(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

const ac_key *ac_find(const ac_table *t, const char *key) {
    const ac_key *found = NULL;
    for (size_t i = 0; i < t->n; i++) /* every key, not up to the first match */
        if (same_secret(key, t->keys[i].key) && !found) found = &t->keys[i];
    return found;
}

unsigned ac_anonymous(const ac_table *t) {
    return t->anonymous;
}

/* A burst of 0: one second of the rate, at least 1. */
static double burst_or_rate(double burst, double rate) {
    return burst > 0 ? burst : rate > 1 ? rate : 1;
}

void ac_limits(const ac_table *t, const ac_key *key, int budget, double *rate, double *burst) {
    double r = t->rate[budget], b = t->burst[budget];
    if (key && key->rate[budget] >= 0) r = key->rate[budget];
    if (key && key->burst[budget] >= 0) b = key->burst[budget];
    *rate = r;
    *burst = burst_or_rate(b, r);
}

int ac_limited(const ac_table *t) {
    int any = 0;
    for (int b = 0; b < RL_BUDGETS; b++)
        any |= t->rate[b] > 0;
    for (size_t i = 0; i < t->n; i++)
        for (int b = 0; b < RL_BUDGETS; b++)
            any |= t->keys[i].rate[b] > 0;
    return any;
}

/* Copies [s, e) trimmed into out. */
static void copy_trimmed(const char *s, const char *e, char *out, size_t size) {
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    size_t n = (size_t)(e - s) < size ? (size_t)(e - s) : size - 1;
    memcpy(out, s, n);
    out[n] = 0;
}

void ac_client(const ac_table *t, const char *peer, const char *xff, char *out, size_t size) {
    const char *p = unmapped(peer);
    snprintf(out, size, "%s", p);
    if (!xff || !t->n_proxies || !is_proxy(t, p)) return;
    /* From the right: each trusted proxy appended the address it saw. */
    for (const char *end = xff + strlen(xff); end > xff;) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        char hop[64];
        copy_trimmed(start, end, hop, sizeof(hop));
        int family;
        uint8_t addr[16];
        if (parse_addr(hop, &family, addr)) return; /* not an address: the last proxy's peer */
        snprintf(out, size, "%s", unmapped(hop));
        if (!is_proxy(t, hop)) return;
        end = start > xff ? start - 1 : xff;
    }
}

void ac_token_key(const ac_table *t, const uint8_t **key, size_t *len) {
    *key = t->token_key;
    *len = t->token_key_len;
}

/* ---- the gate --------------------------------------------------------------- */

struct ac_gate {
    pthread_mutex_t mu;          /* guards current and rl */
    ac_table *current;           /* in force */
    _Atomic(ac_table *) pending; /* published, not yet taken */
    rl_limiter *rl;
};

ac_gate *ac_gate_new(ac_table *t, size_t max_clients) {
    ac_gate *g = calloc(1, sizeof(*g));
    if (g) g->rl = rl_new(max_clients);
    if (!g || !g->rl) {
        free(g);
        ac_table_free(t);
        return NULL;
    }
    g->current = t;
    atomic_init(&g->pending, NULL);
    pthread_mutex_init(&g->mu, NULL);
    return g;
}

void ac_gate_free(ac_gate *g) {
    if (!g) return;
    ac_table_free(atomic_exchange(&g->pending, NULL));
    ac_table_free(g->current);
    rl_free(g->rl);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void ac_gate_publish(ac_gate *g, ac_table *t) {
    ac_table_free(atomic_exchange(&g->pending, t)); /* never taken: nobody else has it */
}

const ac_table *ac_gate_lock(ac_gate *g) {
    pthread_mutex_lock(&g->mu);
    if (atomic_load_explicit(&g->pending, memory_order_relaxed)) {
        ac_table *t = atomic_exchange(&g->pending, NULL);
        if (t) {
            ac_table_free(g->current); /* read under the lock only */
            g->current = t;
        }
    }
    return g->current;
}

void ac_gate_unlock(ac_gate *g) {
    pthread_mutex_unlock(&g->mu);
}

rl_limiter *ac_gate_limiter(ac_gate *g) {
    return g->rl;
}

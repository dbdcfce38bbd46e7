/* api_auth.c - see api_auth.h. */
#include "api_auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sha256.h"

/* ---- tokens ----------------------------------------------------------------- */

static void b64url(const uint8_t *in, size_t n, char *out) {
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t j = 0; j < chars; j++)
            out[o++] = al[(v >> (18 - 6 * j)) & 63];
    }
    out[o] = 0;
}

/* Decodes base64url (no padding) into out; its length, or -1. */
static long unb64url(const char *in, size_t n, uint8_t *out, size_t size) {
    uint32_t v = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        int x = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '-'             ? 62
                : c == '_'             ? 63
                                       : -1;
        if (x < 0) return -1;
        v = v << 6 | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= size) return -1;
            out[o++] = (uint8_t)(v >> bits);
        }
    }
    return (long)o;
}

/* The HMAC of payload under the tokens' key (access.h: the configured
 * secret, or one derived from every API key, so that replicas with the
 * same settings agree). */
static void sign(const ac_table *t, const char *payload, uint8_t mac[SHA256_BYTES]) {
    const uint8_t *key;
    size_t len;
    ac_token_key(t, &key, &len);
    sha256_hmac(key, len, payload, strlen(payload), mac);
}

int api_auth_token_make(const ac_table *keys, const char *user, int64_t expires_at, char *out,
                        size_t size) {
    char u64[(API_MAX_ID + 2) / 3 * 4 + 1], payload[sizeof(u64) + 32], m64[48];
    size_t ulen = strlen(user);
    if (ulen > API_MAX_ID) return -1;
    b64url((const uint8_t *)user, ulen, u64);
    snprintf(payload, sizeof(payload), "%" PRId64 ".%s", expires_at, u64);
    uint8_t mac[SHA256_BYTES];
    sign(keys, payload, mac);
    b64url(mac, sizeof(mac), m64);
    int n = snprintf(out, size, "%s.%s", payload, m64);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int api_auth_token_user(const ac_table *keys, const char *token, int64_t now, char *user,
                        size_t size, int *expired) {
    *expired = 0;
    const char *dot2 = strrchr(token, '.');
    char payload[512];
    size_t plen = dot2 ? (size_t)(dot2 - token) : 0;
    if (!dot2 || plen >= sizeof(payload)) return -1;
    memcpy(payload, token, plen);
    payload[plen] = 0;
    uint8_t mac[SHA256_BYTES], got[SHA256_BYTES + 3];
    sign(keys, payload, mac);
    long glen = unb64url(dot2 + 1, strlen(dot2 + 1), got, sizeof(got));
    unsigned char d = glen != SHA256_BYTES;
    for (size_t i = 0; i < SHA256_BYTES; i++)
        d |= (unsigned char)(mac[i] ^ got[i]);
    if (d) return -1; /* the signature first: nothing unsigned is parsed */
    char *dot1 = strchr(payload, '.');
    if (!dot1) return -1;
    *dot1 = 0;
    long long exp = strtoll(payload, NULL, 10);
    long ulen = unb64url(dot1 + 1, strlen(dot1 + 1), (uint8_t *)user, size - 1);
    if (ulen <= 0) return -1;
    user[ulen] = 0;
    if (exp <= now) {
        *expired = 1;
        return -1;
    }
    return 0;
}

/* ---- access ------------------------------------------------------------------- */

static int check_token(api_req *r, const ac_table *t) {
    int expired;
    if (api_auth_token_user(t, r->bearer, (int64_t)time(NULL), r->token_user, sizeof(r->token_user),
                            &expired) == 0)
        return 0;
    r->token_user[0] = 0;
    if (expired)
        api_error(r, API_UNAUTHORIZED, "token_expired",
                  "the event token has expired; get a new one from POST /v1/tokens");
    else
        api_error(r, API_FORBIDDEN, "forbidden", "the event token is not valid");
    return -1;
}

/* Who may call: the key (then r->key_id), an event token, or anonymous
 * with the scope. 0, or -1 with the answer set. */
static int check_scope(api_req *r, const ac_table *t, unsigned scope, const ac_key **key) {
    unsigned flags = r->route->flags;
    *key = NULL;
    if (r->api_key && ac_has_keys(t)) { /* without keys every route is open: none is checked */
        if (!(*key = ac_find(t, r->api_key))) {
            api_error(r, API_FORBIDDEN, "forbidden", "the API key is not valid");
            return -1;
        }
        snprintf(r->key_id, sizeof(r->key_id), "%s", (*key)->id);
        if ((*key)->scopes & scope) return 0;
        api_error(r, API_FORBIDDEN, "forbidden", "the key '%s' does not have the %s scope",
                  (*key)->id, ac_scope_name(scope));
        return -1;
    }
    if (ac_anonymous(t) & scope) return 0;
    if (r->bearer && (flags & API_TOKEN_OK)) return check_token(r, t);
    if (flags & API_TOKEN_OK)
        api_error(r, API_UNAUTHORIZED, "unauthorized",
                  "X-API-Key, or an event token (Authorization: Bearer, from POST /v1/tokens), "
                  "is required");
    else
        api_error(r, API_UNAUTHORIZED, "unauthorized", "X-API-Key with the %s scope is required",
                  ac_scope_name(scope));
    return -1;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A token from the key's bucket, or the client address's. 0, or -1 with
 * a 429 answer and r->retry_after_s. */
static int check_rate(api_req *r, const ac_table *t, const ac_key *key, unsigned scope) {
    int budget = scope == AC_READ ? RL_READ : RL_WRITE;
    double rate, burst;
    ac_limits(t, key, budget, &rate, &burst);
    if (rate <= 0) return 0;
    char who[RL_MAX_WHO], client[64];
    if (key) {
        snprintf(who, sizeof(who), "k:%s", key->id);
    } else {
        ac_client(t, r->peer, r->forwarded, client, sizeof(client));
        snprintf(who, sizeof(who), "a:%s", client);
    }
    if (rl_take(ac_gate_limiter(r->env->gate), who, key ? key->id : "anonymous", budget, rate,
                burst, mono_s(), &r->retry_after_s))
        return 0;
    api_error(r, API_TOO_MANY_REQUESTS, "rate_limited",
              "more than %g %s a second (burst %g) from this %s; retry after %d s", rate,
              budget == RL_READ ? "reads" : "writes", burst, key ? "API key" : "client address",
              r->retry_after_s);
    return -1;
}

/* api_auth_check under the gate's lock. */
static int check_locked(api_req *r, const ac_table *t) {
    unsigned scope = api_route_scope(r->route);
    r->token_user[0] = 0;
    r->key_id[0] = 0;
    r->retry_after_s = 0;
    if ((r->route->flags & API_ADMIN) && !ac_has_keys(t)) {
        api_error(r, API_FORBIDDEN, "admin_disabled",
                  "admin routes are off until auth.api_keys or auth.keys is set (SIGHUP reloads "
                  "the keys)");
        return -1;
    }
    if (!scope) return 0;
    const ac_key *key;
    if (check_scope(r, t, scope, &key)) return -1;
    return check_rate(r, t, key, scope);
}

int api_auth_check(api_req *r) {
    const ac_table *t = ac_gate_lock(r->env->gate);
    int rc = check_locked(r, t);
    ac_gate_unlock(r->env->gate);
    return rc;
}

static int make_token(ac_gate *g, const char *user, int64_t exp, char *token, size_t size) {
    int rc = api_auth_token_make(ac_gate_lock(g), user, exp, token, size);
    ac_gate_unlock(g);
    return rc;
}

void api_auth_tokens_post(api_req *r) {
    json_t *body = api_body_object(r, "user,ttl_s");
    api_args a = {r, body};
    const char *user;
    int max = r->env->cfg->token_max_ttl_s;
    if (body && api_param_id(&a, "user", &user) == 0) {
        const json_t *jt = json_object_get(body, "ttl_s");
        json_int_t ttl = jt ? (json_is_integer(jt) ? json_integer_value(jt) : -1) : 3600;
        char token[512];
        int64_t exp = (int64_t)time(NULL) + ttl;
        if (!user)
            api_error(r, API_BAD_REQUEST, "bad_parameter", "'user' is required");
        else if (ttl < 60 || ttl > max)
            api_error(r, API_BAD_REQUEST, "bad_parameter",
                      "'ttl_s' must be an integer in 60..%d (auth.token_max_ttl_s)", max);
        else if (make_token(r->env->gate, user, exp, token, sizeof(token)))
            api_error(r, API_INTERNAL_ERROR, "internal", "the token does not fit");
        else
            api_respond_json(r, json_pack("{s:s,s:s,s:I,s:I}", "token", token, "user", user,
                                          "expires_at", (json_int_t)exp, "ttl_s", ttl));
    }
    json_decref(body);
    api_finish(r);
}

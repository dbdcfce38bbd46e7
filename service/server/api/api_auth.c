/* api_auth.c - see api_auth.h. */
#include "api_auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sha256.h"

/* Compares in time independent of where the strings differ. */
static int same_secret(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

static int key_valid(const srv_config *cfg, const char *key) {
    int good = 0;
    for (int i = 0; i < cfg->n_api_keys; i++) /* every key, not the first match */
        good |= same_secret(key, cfg->api_keys[i]);
    return good;
}

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

/* The HMAC of payload under the configured secret (or one derived from
 * every API key, so that replicas with the same settings agree). */
static void sign(const srv_config *cfg, const char *payload, uint8_t mac[SHA256_BYTES]) {
    uint8_t key[SHA256_BYTES];
    if (cfg->token_secret[0]) {
        sha256_hmac(cfg->token_secret, strlen(cfg->token_secret), payload, strlen(payload), mac);
        return;
    }
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, "mixrec event tokens\n", 20);
    for (int i = 0; i < cfg->n_api_keys; i++)
        sha256_update(&c, cfg->api_keys[i], strlen(cfg->api_keys[i]) + 1);
    sha256_final(&c, key);
    sha256_hmac(key, sizeof(key), payload, strlen(payload), mac);
}

int api_auth_token_make(const srv_config *cfg, const char *user, int64_t expires_at, char *out,
                        size_t size) {
    char u64[(API_MAX_ID + 2) / 3 * 4 + 1], payload[sizeof(u64) + 32], m64[48];
    size_t ulen = strlen(user);
    if (ulen > API_MAX_ID) return -1;
    b64url((const uint8_t *)user, ulen, u64);
    snprintf(payload, sizeof(payload), "%" PRId64 ".%s", expires_at, u64);
    uint8_t mac[SHA256_BYTES];
    sign(cfg, payload, mac);
    b64url(mac, sizeof(mac), m64);
    int n = snprintf(out, size, "%s.%s", payload, m64);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int api_auth_token_user(const srv_config *cfg, const char *token, int64_t now, char *user,
                        size_t size, int *expired) {
    *expired = 0;
    const char *dot2 = strrchr(token, '.');
    char payload[512];
    size_t plen = dot2 ? (size_t)(dot2 - token) : 0;
    if (!dot2 || plen >= sizeof(payload)) return -1;
    memcpy(payload, token, plen);
    payload[plen] = 0;
    uint8_t mac[SHA256_BYTES], got[SHA256_BYTES + 3];
    sign(cfg, payload, mac);
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

static int check_token(api_req *r) {
    int expired;
    if (api_auth_token_user(r->env->cfg, r->bearer, (int64_t)time(NULL), r->token_user,
                            sizeof(r->token_user), &expired) == 0)
        return 0;
    r->token_user[0] = 0;
    if (expired)
        api_error(r, API_UNAUTHORIZED, "token_expired",
                  "the event token has expired; get a new one from POST /v1/tokens");
    else
        api_error(r, API_FORBIDDEN, "forbidden", "the event token is not valid");
    return -1;
}

int api_auth_check(api_req *r) {
    const srv_config *cfg = r->env->cfg;
    unsigned flags = r->route->flags;
    r->token_user[0] = 0;
    if ((flags & API_ADMIN) && cfg->n_api_keys == 0) {
        api_error(r, API_FORBIDDEN, "admin_disabled",
                  "admin routes are off until auth.api_keys is set (SIGHUP reloads too)");
        return -1;
    }
    if (!(flags & API_NEEDS_KEY) || cfg->n_api_keys == 0) return 0;
    if (r->api_key) {
        if (key_valid(cfg, r->api_key)) return 0;
        api_error(r, API_FORBIDDEN, "forbidden", "the API key is not valid");
        return -1;
    }
    if (r->bearer && (flags & API_TOKEN_OK)) return check_token(r);
    if (flags & API_TOKEN_OK)
        api_error(r, API_UNAUTHORIZED, "unauthorized",
                  "X-API-Key, or an event token (Authorization: Bearer, from POST /v1/tokens), "
                  "is required");
    else
        api_error(r, API_UNAUTHORIZED, "unauthorized", "X-API-Key is required");
    return -1;
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
        else if (api_auth_token_make(r->env->cfg, user, exp, token, sizeof(token)))
            api_error(r, API_INTERNAL_ERROR, "internal", "the token does not fit");
        else
            api_respond_json(r, json_pack("{s:s,s:s,s:I,s:I}", "token", token, "user", user,
                                          "expires_at", (json_int_t)exp, "ttl_s", ttl));
    }
    json_decref(body);
    api_finish(r);
}

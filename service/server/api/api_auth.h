/* api_auth.h - who may call a route: API keys (X-API-Key, auth.api_keys)
 * and event tokens, and POST /v1/tokens which issues them.
 *
 * An event token lets a web page post the events of one user without a
 * key in its JavaScript: the site's backend, which holds a key, asks
 * POST /v1/tokens {"user": "u42", "ttl_s": 3600} and hands the token to
 * the page; the page sends it as "Authorization: Bearer <token>" on
 * POST /v1/events (the only route that takes one, API_TOKEN_OK), and the
 * service accepts events of that user only, until the token expires.
 * A token is "<expiry>.<user, base64url>.<HMAC-SHA256, base64url>" signed
 * with auth.token_secret (or, when that is empty, a key derived from
 * the API keys: access.h): stateless, so any replica with the same settings
 * accepts it, and nothing is stored. Tokens and keys are never logged.
 *
 * Threading: api_auth_check and the tokens route run on any HTTP lane
 * and hold the access gate's lock while they read it (access.h); the
 * token functions are stateless. */
#ifndef API_AUTH_H
#define API_AUTH_H

#include <stdint.h>

#include "api.h"

/* Access to the route (access.h): its scope against the key's (then
 * r->key_id is set), an event token where the route takes one (then
 * r->token_user is set) or what anonymous callers may do; then the key's
 * or the client address's rate limit. 0, or -1 with the answer set (401
 * without credentials, 403 with wrong ones or without the scope, 403
 * admin_disabled on admin routes while no key is configured, 429 with
 * r->retry_after_s over the limit). Runs on the gate's thread. */
int api_auth_check(api_req *r);

/* The token for user valid until expires_at (unix seconds) into out.
 * 0, or -1 when out is too small. */
int api_auth_token_make(const ac_table *keys, const char *user, int64_t expires_at, char *out,
                        size_t size);

/* Checks token at time now: 0 with its user in user (size bytes), or -1
 * with *expired set when it was valid once and is now past its expiry. */
int api_auth_token_user(const ac_table *keys, const char *token, int64_t now, char *user,
                        size_t size, int *expired);

/* POST /v1/tokens: {"user": "...", "ttl_s": 3600} -> {"token", "user",
 * "expires_at", "ttl_s"}. */
void api_auth_tokens_post(api_req *r);

#endif

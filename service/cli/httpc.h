/* httpc.h - a small blocking HTTP/1.1 client for the command-line tools
 * that talk to a running server (`mixrec simulate`): one keep-alive
 * connection to an http://HOST:PORT address, requests one at a time,
 * replies with Content-Length or chunked bodies. Not for the server: the
 * server never blocks on network I/O.
 *
 * Threading: an httpc belongs to one thread. */
#ifndef HTTPC_HTTPC_H
#define HTTPC_HTTPC_H

#include <stddef.h>

#include "mx_err.h"

typedef struct httpc httpc;

/* A client for base ("http://127.0.0.1:8080"; a numeric IPv4 or IPv6
 * address or a host name; no path), with an optional API key sent as
 * X-API-Key (NULL: none; copied). Connects lazily. NULL on a bad address
 * (err says why) or OOM. */
httpc *httpc_new(const char *base, const char *api_key, mx_err *err);
void httpc_free(httpc *c); /* NULL is a no-op */

/* Sends METHOD path (with its query) and body (JSON; NULL: none) and
 * reads the reply: its status into *status and its body into *reply (a
 * NUL-terminated string the client owns, valid until the next request).
 * Reconnects once when the kept connection was closed. Gives up after
 * timeout_ms without progress. 0, or MX_EIO with err set. */
int httpc_request(httpc *c, const char *method, const char *path, const char *body, int timeout_ms,
                  int *status, const char **reply, mx_err *err);

#endif

/* http.h - the HTTP front: libmicrohttpd, routing, errors, CORS, access log.
 *
 * Threading: libmicrohttpd runs one internal polling thread (epoll) that
 * owns every socket. Cheap routes (health, readiness, preflight, errors)
 * are answered on it. Routes that compute (recommendations, similar
 * items, interests) suspend their connection and go to a worker loop
 * (workers.h); the worker fills in the response and resumes the
 * connection, and the HTTP thread sends it. No thread blocks on the
 * network. A request's memory lives in its http_req, freed when
 * libmicrohttpd reports the request completed. */
#ifndef HTTP_HTTP_H
#define HTTP_HTTP_H

#include <stddef.h>

#include "model_holder.h"
#include "prom.h"
#include "mx_err.h"
#include "srv_config.h"
#include "workers.h"

typedef struct http_server http_server;

/* Listens on cfg->listen. cfg, holder and pool are borrowed and must
 * outlive the server. */
int http_start(http_server **out, const srv_config *cfg, mh_holder *holder, wk_pool *pool,
               mx_err *err);

/* Stops accepting, lets in-flight requests finish (up to timeout_s), then
 * closes everything and frees the server. */
void http_stop(http_server *s, int timeout_s);

/* Loads the model directory's current version and swaps it in; a broken
 * model is rejected (err says why) and the old one keeps serving. Reloads
 * are serialised. Blocking: call it off the request path (main thread on
 * SIGHUP, or the admin route's own thread). */
int http_reload(http_server *s, char *version_out, size_t size, mx_err *err);

/* ---- for route handlers (routes.c), on a worker thread --------------- */

typedef struct http_req http_req;

/* Request inputs, captured on the HTTP thread before the hand-off. */
const char *http_req_path_param(const http_req *r);              /* {user} or {item}, decoded */
const char *http_req_query(const http_req *r, const char *name); /* NULL if absent */
const char *http_req_body(const http_req *r, size_t *len);
int http_req_route(const http_req *r);
const srv_config *http_req_config(const http_req *r);
prom *http_req_prom(const http_req *r);

/* Sets the response: status and a JSON body (ownership of body passes;
 * it is a NUL-terminated malloc'ed string). */
void http_req_respond(http_req *r, int status, char *json_body);
/* A JSON error {"error":{"code":code,"message":...}}. */
void http_req_error(http_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Hands the response back to the HTTP thread. Every route calls it once,
 * synchronously or later from a callback on the same worker. */
void http_req_finish(http_req *r);
/* What the access log says about the user, if any. */
void http_req_set_user(http_req *r, const char *user);

enum {
    ROUTE_NONE = 0,
    ROUTE_HEALTHZ,
    ROUTE_READYZ,
    ROUTE_USER_RECS,      /* GET /v1/users/{user}/recommendations */
    ROUTE_USER_INTERESTS, /* GET /v1/users/{user}/interests */
    ROUTE_ITEM_SIMILAR,   /* GET /v1/items/{item}/similar */
    ROUTE_RECS_POST,      /* POST /v1/recommendations */
    ROUTE_EVENTS,         /* POST /v1/events */
    ROUTE_METRICS,        /* GET /metrics */
    ROUTE_ADMIN_RELOAD    /* POST /v1/admin/reload */
};

/* Route handlers (routes.c): run on a worker; they respond and call
 * http_req_finish, possibly later (after a Redis reply). */
void routes_run(wk_worker *w, http_req *r);

#endif

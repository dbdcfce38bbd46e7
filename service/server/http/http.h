/* http.h - the HTTP transport of the API (api/api.h): libmicrohttpd,
 * suspend/resume, CORS, API keys, limits and the access log. http/ is the
 * only part of mixrec that includes microhttpd.h.
 *
 * Threading: every worker of the default tenant's pool (workers.h) runs a
 * libmicrohttpd daemon of its own on one shared listening socket, from its
 * event loop (http_lane.h): the worker that accepted a connection owns its
 * sockets. It matches a request to a route of the table, checks what the
 * route's flags ask, and runs the handler where they say: cheap routes
 * (health, readiness, metrics) and every error at once; routes that
 * compute on that same worker (the connection suspended while the handler
 * waits for Redis), or on a worker of the tenant's own pool; the reload on
 * a thread of its own. The handler's api_finish resumes the connection and
 * its lane sends the answer. No thread blocks on the network. A request's
 * memory lives in its http_req, freed when libmicrohttpd reports the
 * request completed. */
#ifndef HTTP_HTTP_H
#define HTTP_HTTP_H

#include <stddef.h>

#include "access.h"
#include "model_holder.h"
#include "mx_err.h"
#include "srv_config.h"
#include "workers.h"

typedef struct http_server http_server;

/* A catalogue the server answers for (tenants.h): its name ("default"
 * for the first), settings, model and workers; borrowed, they must
 * outlive the server. */
typedef struct http_tenant {
    const char *name;
    const srv_config *cfg;
    mh_holder *holder;
    wk_pool *pool;
} http_tenant;

/* Listens on tenants[0].cfg->listen (the default tenant's settings are
 * the transport's) for n tenants (1..TN_MAX + 1): the plain routes serve
 * tenants[0], /v1/tenants/{name}/... the one named. */
int http_start(http_server **out, const http_tenant *tenants, size_t n, mx_err *err);
size_t http_tenant_count(const http_server *s);

/* Stops accepting, lets in-flight requests finish (up to timeout_s), then
 * closes everything and frees the server. */
void http_stop(http_server *s, int timeout_s);

/* Puts keys, scopes and limits t in force for tenant (an index of
 * http_start's array) from the next request on (ownership passes;
 * access.h): the main thread calls it when SIGHUP has re-read the
 * settings. */
void http_set_access(http_server *s, size_t tenant, ac_table *t);

/* Loads the model directory's current version and swaps it in, counted in
 * the metrics (api_admin.h), for tenant; a broken model is rejected (err says why) and
 * the old one keeps serving. Blocking: the main thread calls it on SIGHUP. */
int http_reload(http_server *s, size_t tenant, char *version_out, size_t size, mx_err *err);

#endif

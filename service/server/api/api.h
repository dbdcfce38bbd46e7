/* api.h - the REST API apart from its transport: one table of routes, the
 * request a handler reads and the response it fills, and the parameters
 * every route shares (parsed and checked here, once, with one default).
 *
 * A route is a row of the table (api.c): method, path pattern, the name
 * that metrics and the access log use, flags saying where it runs and what
 * it needs, and its handler. The transport (http/http.c, the only file that
 * includes microhttpd.h) matches a request to a row, checks what the flags
 * ask (API key, JSON body), fills an api_req and runs the handler where
 * the flags say: at once (cheap), on a worker loop (computes;
 * it then holds a lease on the model it started with until it finishes,
 * see workers.h), or on a thread of its own (blocks, e.g. a reload). A
 * handler calls api_finish exactly once, at once or later from a callback
 * on the same worker. Handlers never see a socket, so tests run them on a
 * real worker pool without one (tests/test_api.c).
 *
 * Threading: the table is constant. An api_req belongs to one thread at a
 * time: the transport's until it runs the handler, the handler's until
 * api_finish, the transport's again after. */
#ifndef API_API_H
#define API_API_H

#include <stddef.h>

#include <jansson.h>

#include "access.h"
#include "experiment.h"
#include "implog.h"
#include "model_holder.h"
#include "prom.h"
#include "recommend.h"
#include "sessions.h"
#include "srv_config.h"
#include "workers.h"

/* HTTP statuses the API answers with. */
enum {
    API_OK = 200,
    API_NO_CONTENT = 204,
    API_BAD_REQUEST = 400,
    API_UNAUTHORIZED = 401,
    API_FORBIDDEN = 403,
    API_NOT_FOUND = 404,
    API_METHOD_NOT_ALLOWED = 405,
    API_CONTENT_TOO_LARGE = 413,
    API_UNSUPPORTED_MEDIA_TYPE = 415,
    API_UNPROCESSABLE_CONTENT = 422,
    API_TOO_MANY_REQUESTS = 429,
    API_HEADERS_TOO_LARGE = 431,
    API_INTERNAL_ERROR = 500,
    API_UNAVAILABLE = 503
};

/* Route flags. */
enum {
    API_ON_WORKER = 1 << 0,   /* computes: on a worker loop, with a model lease */
    API_ON_THREAD = 1 << 1,   /* blocks (loads files): on a thread of its own */
    API_SCOPE_WRITE = 1 << 2, /* the write scope (access.h): a key when keys are configured */
    API_ADMIN = 1 << 3,       /* the admin scope; off (403 admin_disabled) while no key is */
    API_JSON_BODY = 1 << 4,   /* a body with Content-Type: application/json (POST, PUT, PATCH;
                               * a PATCH may also say application/merge-patch+json) */
    API_TOKEN_OK = 1 << 5,    /* an event token (api_auth.h) may stand for the key */
    API_SCOPE_READ = 1 << 6,  /* the read scope: anonymous callers have it by default */
    API_SCOPE_ADMIN = 1 << 7  /* the admin scope, open while no key is configured */
};

/* What handlers share for the server's life (borrowed, read-only). */
typedef struct api_env {
    const srv_config *cfg;
    /* cfg's experiments.list, parsed: checked at start, not the list in
     * force (a PUT may have replaced it): requests read
     * wk_lease_experiments */
    const experiment_list *experiments;
    prom *prom;
    mh_holder *holder;
    wk_pool *pool;
    /* keys, scopes and rate limits in force (access.h): read and updated
     * by the thread that runs api_check only */
    ac_gate *gate;
    /* the tenant (tenants.h) this env serves, "default" for the plain
     * routes, and every tenant's env (for the list and the metrics) */
    const char *tenant;
    const struct api_env *tenants;
    size_t n_tenants;
} api_env;

typedef struct api_req api_req;
typedef void (*api_handler)(api_req *r);

typedef struct api_route {
    const char *method;  /* "GET" (HEAD too), "POST", "PUT", "PATCH" or "DELETE" */
    const char *pattern; /* "/v1/users/{user}/recommendations": at most one {param} */
    const char *name;    /* metrics label and access log, e.g. "user_recommendations" */
    unsigned flags;
    const char *query; /* the query parameters it takes, comma-separated; NULL: none */
    api_handler handler;
} api_route;

/* A route's scope: access.h's AC_READ, AC_WRITE or AC_ADMIN, or 0 (health,
 * metrics, the index: anyone, never limited). */
unsigned api_route_scope(const api_route *rt);

/* The one limit on ids (users, items, categories) everywhere: in paths,
 * query strings, bodies and events; longer is 400 id_too_long. */
#define API_MAX_ID SESS_MAX_ID
#define API_MAX_QUERY 32

/* The table and its size. Metrics count route i + 1 (0 = unmatched). */
const api_route *api_routes(size_t *n);
/* Matches METHOD PATH into r: r->route is the row whose pattern matches
 * path with this method (HEAD counts as GET), else one with another method
 * (api_check answers 405), else NULL; its {param} is decoded into
 * r->param (r->param_len is its full length, which may exceed API_MAX_ID:
 * api_check answers 400 then). */
const api_route *api_match(api_req *r, const char *method, const char *path);
/* The methods path's pattern takes, as an Allow header, in table order:
 * "GET, PUT, PATCH, OPTIONS" (API_ALLOW_MAX bytes hold any row set). */
#define API_ALLOW_MAX 128
void api_allow(const api_route *rt, char *buf, size_t size);
/* {"routes":[{"method","path","name","query","worker","thread","api_key",
 * "admin"}]} (new reference): `mixrec routes --json` prints it. */
json_t *api_routes_json(void);

struct api_req {
    /* inputs, set by the transport before the handler runs */
    const api_route *route;
    const api_env *env;
    const char *method;         /* as sent; borrowed from the transport */
    char param[API_MAX_ID + 1]; /* the {param} of the pattern, decoded */
    size_t param_len;
    int nq, query_overflow; /* query_overflow: more than API_MAX_QUERY parameters */
    const char *qname[API_MAX_QUERY], *qvalue[API_MAX_QUERY];
    const char *body;
    size_t body_len;
    const char *api_key;   /* X-API-Key, or NULL; borrowed */
    const char *bearer;    /* the token of "Authorization: Bearer ...", or NULL; borrowed */
    char peer[64];         /* the connection's address, numeric ("" when unknown) */
    const char *forwarded; /* X-Forwarded-For, or NULL; borrowed */
    /* set by api_check: the id of the key that admitted the request ("" when
     * none; logged, never the key) and, on a 429, the seconds to wait */
    char key_id[AC_MAX_ID + 1];
    int retry_after_s;
    /* set by api_check when an event token admitted the request */
    char token_user[API_MAX_ID + 1];
    /* set by api_run_on_worker for API_ON_WORKER routes */
    wk_worker *worker;
    wk_lease *lease;
    /* the response */
    int status;
    char *resp;               /* JSON text, malloc'ed; owned by the request */
    const char *content_type; /* NULL: application/json */
    char user[128];           /* who the access log names (sanitised) */
    /* the transport's: called by api_finish */
    void (*on_finish)(api_req *r);
    /* stage times (prom_stage): the last stage's end, set by the transport
     * on arrival; staged once a handler reported a stage */
    uint64_t mark_ns;
    int staged;
};

/* Adds the time since the last stage's end to stage (PROM_STAGE_*) and
 * starts the next; api_stage_skip only starts it (the time between was
 * reported otherwise). */
void api_stage(api_req *r, int stage);
void api_stage_skip(api_req *r);

/* What must hold before the route's handler runs, in this order: a
 * matched route (else 404 not_found with pointers to /openapi.json and
 * /ui/), the method (405), the path id (UTF-8, at most API_MAX_ID bytes),
 * the query (only the route's parameters, each once), access (API key or
 * event token and its scopes, then the rate limit: api_auth.h). 0, or -1
 * with the answer set. */
int api_check(api_req *r);
/* Query parameter name (NULL when absent). */
const char *api_query(const api_req *r, const char *name);
/* The request body as a JSON object whose keys are all among fields
 * (comma-separated); new reference, or NULL with a 400 answer (bad JSON, a
 * duplicate key, not an object, an unknown field named with a suggestion). */
json_t *api_body_object(api_req *r, const char *fields);
/* Sets the response (ownership of body passes: a malloc'ed NUL-terminated
 * string; NULL answers 500). */
void api_respond(api_req *r, int status, char *body);
/* Answers o (stolen) as JSON, 200. */
void api_respond_json(api_req *r, json_t *o);
/* A JSON error {"error":{"code":code,"message":...}}. */
void api_error(api_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void api_set_user(api_req *r, const char *user);
/* 1 when s (NUL-terminated) is valid UTF-8: ids in paths and queries. */
int api_utf8_valid(const char *s);
/* The answer is complete: releases the request's model lease and hands
 * the request back to its transport. Exactly once per request. */
void api_finish(api_req *r);
/* The transport's job on a worker: takes a lease on the current model
 * (503 no_model without one) and runs the route's handler. */
void api_run_on_worker(wk_worker *w, api_req *r);

#include "api_params.h"

/* ---- shared answers -------------------------------------------------------- */

/* What an answer shows of an item: its title (NULL: none) and categories,
 * from the live catalogue's override, the model, or the item's extra. */
typedef struct api_item_desc {
    const char *title;
    const char *const *cats; /* names, or NULL: the model's cat_ids */
    const uint16_t *cat_ids;
    size_t n_cats;
} api_item_desc;
api_item_desc api_describe(const mx_model *m, const rec_item *it, const catview *cv);
const char *api_desc_category(const mx_model *m, const api_item_desc *d, size_t j);

/* Items as the API (and the CLI) show them: item, score, title, categories
 * (the live catalogue's overrides from cv, which may be NULL); with
 * explain, the interest and the reason. New reference. */
json_t *api_items_json(const mx_model *m, const catview *cv, const rec_item *items, size_t n,
                       int explain);
/* An answer item's id: the model's, or the catalogue item's (extra). */
const char *api_item_id(const mx_model *m, const rec_item *it);
/* Asks for what answering items[0..n) reads of each model item (its id,
 * title and categories), for all of them at once: in a large catalogue
 * each is a miss to memory, and the impression record and the JSON
 * answer then read them one after another. Changes nothing. */
void api_prefetch_items(const mx_model *m, const rec_item *items, size_t n);
/* The serve settings that shape an answer, as recommend.h's parameters. */
void api_rec_params(const srv_config *cfg, rec_params *p);
/* Makes an answer o (borrowed; NULL is allowed) an impression: gives it a
 * "recommendation_id" from the worker's generator (rid.h) whose route is
 * r's and whose order is rec->order (RID_ORDER_*), counts it in metrics,
 * and queues rec (route, id and time filled in here; the rest borrowed
 * for the call) to the worker's impression log when there is one. On a
 * worker, once per answer. */
/* The worker's Redis connection, or NULL with a 503 answer saying
 * `doing: why` (the caller finishes the request). */
sess_client *api_redis(api_req *r, const char *doing);
void api_impression(api_req *r, json_t *o, implog_record *rec);
/* The request's settings an impression records (k, filters, exclusions),
 * as the query q that answered it has them. */
void api_record_query(implog_record *rec, const rec_query *q);
/* The Redis deadline of an operator's write or read (catalogue,
 * promotions): an operator waits for the answer, and a stored change must
 * not be reported failed because the machine was busy for the 50 ms a
 * recommendation may wait: max(redis.command_timeout_ms, 2000). */
int api_admin_deadline_ms(const srv_config *cfg);
/* The learned ranker's state for /readyz and /metrics. */
const char *api_ranker_state(const mx_model *m, const srv_config *cfg);

#endif

/* test_api.c - the API's handlers without a socket: each route of the
 * table is run as the HTTP transport runs it (cheap ones here, computing
 * ones on a real worker pool with a model lease, the reload on this
 * thread), on a real model built from a planted world, and its status and
 * JSON are checked. No Redis: sessions read as unavailable and events are
 * refused with 503, as the service does without redis.url; then, on a
 * second pool with a real redis-server of the test's own, a dislike posted
 * as an event shows in /interests and moves the next answer (issue 13).
 * Also: a request waiting for its session keeps the model it started with
 * across a reload (issue 11), and the table itself (patterns, names,
 * flags). */
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#include "fixture.h"

#include "api.h"
#include "api_auth.h"
#include "model_holder.h"
#include "rid.h"
#include "srv_config.h"
#include "workers.h"
#include "rec_filter.h"

static srv_config cfg;
static api_env env;

/* cfg's keys changed: in force from the next request, as SIGHUP does. */
static void keys_changed(void) {
    ac_table *t = NULL;
    mx_err err = {0};
    ASSERT_EQ(ac_table_new(&t, &cfg, &err), 0);
    ac_gate_publish(env.gate, t);
}

/* The table in force (this thread runs every api_check: no other
 * thread can publish while it is read). */
static const ac_table *keys_of(void) {
    const ac_table *t = ac_gate_lock(env.gate);
    ac_gate_unlock(env.gate);
    return t;
}
static const char *names[PROM_MAX_ROUTES];

typedef struct call {
    api_req req;
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int done;
    json_t *json; /* the parsed answer (NULL for non-JSON) */
} call;

static void on_finish(api_req *r) {
    call *c = (call *)r;
    pthread_mutex_lock(&c->lock);
    c->done = 1;
    pthread_cond_signal(&c->done_cv);
    pthread_mutex_unlock(&c->lock);
}

static void run_job(wk_worker *w, void *arg) {
    api_run_on_worker(w, arg);
}

/* The X-API-Key and bearer token of the next requests (NULL: none). */
static const char *next_key, *next_bearer;

/* Starts METHOD PATH?QUERY with body (may be NULL) where its route's
 * flags say, after api_check as the transport runs it; the query is
 * "a=1&b=2" (no escapes). One request at a time (the query buffers). */
static call *start(const char *method, const char *path, const char *query, const char *body) {
    call *c = calloc(1, sizeof(*c));
    ASSERT(c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->done_cv, NULL);
    c->req.env = &env;
    c->req.on_finish = on_finish;
    api_match(&c->req, method, path);
    static char qbuf[API_MAX_QUERY][2][2048];
    for (const char *p = query; p && *p;) {
        size_t len = strcspn(p, "&");
        if (c->req.nq == API_MAX_QUERY) {
            c->req.query_overflow = 1;
            break;
        }
        char *pair = qbuf[c->req.nq][0], *val = qbuf[c->req.nq][1];
        snprintf(pair, 2048, "%.*s", (int)len, p);
        char *eq = strchr(pair, '=');
        snprintf(val, 2048, "%s", eq ? eq + 1 : "");
        if (eq) *eq = 0;
        c->req.qname[c->req.nq] = pair;
        c->req.qvalue[c->req.nq++] = val;
        p += len + (p[len] == '&');
    }
    c->req.body = body;
    c->req.body_len = body ? strlen(body) : 0;
    c->req.api_key = next_key;
    c->req.bearer = next_bearer;
    if (api_check(&c->req)) { /* answered before any handler, as the transport does */
        on_finish(&c->req);
        return c;
    }
    unsigned flags = c->req.route->flags;
    if (flags & API_ON_WORKER)
        ASSERT_EQ(wk_submit(env.pool, run_job, &c->req), 0);
    else
        c->req.route->handler(&c->req); /* at once, or on its own thread: here */
    return c;
}

static void wait_for(call *c) {
    pthread_mutex_lock(&c->lock);
    while (!c->done)
        pthread_cond_wait(&c->done_cv, &c->lock);
    pthread_mutex_unlock(&c->lock);
    ASSERT(c->req.resp);
    if (!c->req.content_type) {
        json_error_t je;
        c->json = json_loads(c->req.resp, 0, &je);
        if (!c->json) FAIL("not JSON: %s", c->req.resp);
    }
}

static call *run(const char *method, const char *path, const char *query, const char *body) {
    call *c = start(method, path, query, body);
    wait_for(c);
    return c;
}

static void done(call *c) {
    json_decref(c->json);
    free(c->req.resp);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->done_cv);
    free(c);
}

/* Asserts the status and, for an error, its code. */
static void expect(call *c, int status, const char *code) {
    if (c->req.status != status)
        FAIL("status %d, expected %d: %s", c->req.status, status, c->req.resp);
    const char *got = json_string_value(json_object_get(json_object_get(c->json, "error"), "code"));
    if (code && (!got || strcmp(got, code)))
        FAIL("code %s, expected %s: %s", got, code, c->req.resp);
}

static const char *str(const json_t *o, const char *key) {
    return json_string_value(json_object_get(o, key));
}

static int has_item(const json_t *answer, const char *id) {
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(answer, "items"), i,
                       it) if (!strcmp(str(it, "item"), id)) return 1;
    return 0;
}

static void test_table(void) {
    size_t n;
    const api_route *rt = api_routes(&n);
    ASSERT_EQ(n, 24);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            ASSERT(strcmp(rt[i].name, rt[j].name) != 0);
            ASSERT(strcmp(rt[i].pattern, rt[j].pattern) || strcmp(rt[i].method, rt[j].method));
        }
        ASSERT(rt[i].handler);
        ASSERT(!((rt[i].flags & API_ON_WORKER) && (rt[i].flags & API_ON_THREAD)));
    }
    api_req r = {0};
    ASSERT(api_match(&r, "GET", "/v1/users/u%20x/recommendations"));
    ASSERT_STR_EQ(r.route->name, "user_recommendations");
    ASSERT_STR_EQ(r.param, "u%20x");
    ASSERT(!api_match(&r, "GET", "/v1/users//recommendations"));
    ASSERT(!api_match(&r, "GET", "/v1/users/a/b/recommendations"));
    ASSERT(!api_match(&r, "GET", "/v1/nothing"));
    ASSERT(!api_match(&r, "GET", "/healthz/"));
    /* the catalogue: one path, three methods, and /v1/items/{item}/similar apart */
    ASSERT(api_match(&r, "PATCH", "/v1/items/i1"));
    ASSERT_STR_EQ(r.route->name, "item_patch");
    ASSERT(r.route->flags & API_JSON_BODY);
    ASSERT(api_match(&r, "PUT", "/v1/items/i1"));
    ASSERT_STR_EQ(r.route->name, "item_put");
    ASSERT(api_match(&r, "GET", "/v1/items/i1"));
    ASSERT_STR_EQ(r.route->name, "item_get");
    ASSERT(api_match(&r, "GET", "/v1/items/i1/similar"));
    ASSERT_STR_EQ(r.route->name, "item_similar");
    ASSERT(api_match(&r, "POST", "/v1/admin/reload"));
    ASSERT((r.route->flags & API_ADMIN) && api_route_scope(r.route) == AC_ADMIN &&
           (r.route->flags & API_ON_THREAD));
    ASSERT(api_match(&r, "HEAD", "/v1/recommendations"));
    ASSERT_STR_EQ(r.route->name, "recommendations_get");
    ASSERT(api_match(&r, "POST", "/v1/recommendations"));
    ASSERT_STR_EQ(r.route->name, "recommendations");
    char allow[API_ALLOW_MAX];
    api_allow(r.route, allow, sizeof(allow));
    ASSERT_STR_EQ(allow, "POST, GET, OPTIONS");
    json_t *j = api_routes_json();
    ASSERT_EQ(json_array_size(json_object_get(j, "routes")), n);
    json_decref(j);
    /* every method of every row (GET, POST, PUT, PATCH) routes to that row;
     * the Allow list of its path names it; the methods no row of the path
     * takes match another row of the path, which api_check answers 405 with
     * that list */
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < n; i++) {
        char path[256], want[API_ALLOW_MAX] = "";
        const char *open = strchr(rt[i].pattern, '{'), *close = open ? strchr(open, '}') : NULL;
        if (close)
            snprintf(path, sizeof(path), "%.*sx%s", (int)(open - rt[i].pattern), rt[i].pattern,
                     close + 1);
        else
            snprintf(path, sizeof(path), "%s", rt[i].pattern);
        for (size_t j2 = 0; j2 < n; j2++)
            if (!strcmp(rt[j2].pattern, rt[i].pattern))
                snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s, ", rt[j2].method);
        strcat(want, "OPTIONS");
        ASSERT(api_match(&r, rt[i].method, path) == &rt[i]);
        api_allow(r.route, allow, sizeof(allow));
        ASSERT_STR_EQ(allow, want);
        for (size_t mi = 0; mi < sizeof(methods) / sizeof(methods[0]); mi++) {
            char needle[16];
            const char *m = methods[mi];
            snprintf(needle, sizeof(needle), "%s, ", !strcmp(m, "HEAD") ? "GET" : m);
            ASSERT(api_match(&r, m, path));
            ASSERT_STR_EQ(r.route->pattern, rt[i].pattern);
            int taken = strstr(want, needle) != NULL;
            ASSERT_EQ(!strcmp(r.route->method, !strcmp(m, "HEAD") ? "GET" : m), taken);
        }
    }
    TEST_OK("route table: unique names, one place to run, patterns match one segment, the "
            "method picks the row (GET, HEAD, POST, PUT, PATCH), Allow lists the path's rows");
}

/* What api_check answers before any handler: 404 with pointers, 405,
 * long ids, unknown, duplicate and too many query parameters. */
static void test_checks(void) {
    call *c = run("GET", "/v1/nothing", NULL, NULL);
    expect(c, 404, "not_found");
    ASSERT_CONTAINS(c->req.resp, "/openapi.json");
    ASSERT_CONTAINS(c->req.resp, "/ui/");
    done(c);
    c = run("DELETE", "/v1/events", NULL, NULL);
    expect(c, 405, "method_not_allowed");
    done(c);
    c = run("PATCH", "/v1/recommendations", NULL, "{}");
    expect(c, 405, "method_not_allowed");
    ASSERT_CONTAINS(c->req.resp, "POST, GET, OPTIONS");
    done(c);
    c = run("PUT", "/healthz", NULL, "{}");
    expect(c, 405, "method_not_allowed");
    ASSERT_CONTAINS(c->req.resp, "GET, OPTIONS");
    done(c);
    char path[1024], id[700];
    memset(id, 'u', 600);
    id[600] = 0;
    snprintf(path, sizeof(path), "/v1/users/%s/recommendations", id);
    c = run("GET", path, NULL, NULL);
    expect(c, 400, "id_too_long");
    ASSERT_CONTAINS(c->req.resp, "256");
    done(c);
    id[257] = 0;
    snprintf(path, sizeof(path), "/v1/users/%s/interests", id);
    c = run("GET", path, NULL, NULL);
    expect(c, 400, "id_too_long");
    done(c);
    id[256] = 0; /* the limit itself is fine, and reads no session it cannot hold */
    snprintf(path, sizeof(path), "/v1/users/%s/recommendations", id);
    c = run("GET", path, "k=2", NULL);
    expect(c, 200, NULL);
    done(c);
    c = run("GET", "/v1/users/u1/recommendations", "category=x", NULL);
    expect(c, 400, "unknown_parameter");
    ASSERT_CONTAINS(c->req.resp, "did you mean 'categories'");
    done(c);
    c = run("GET", "/v1/recommendations", "recentItems=i1", NULL);
    expect(c, 400, "unknown_parameter");
    ASSERT_CONTAINS(c->req.resp, "did you mean 'recent_items'");
    done(c);
    c = run("GET", "/v1/users/u1/recommendations", "k=5&k=7", NULL);
    expect(c, 400, "duplicate_parameter");
    done(c);
    c = run("GET", "/healthz", "x=1", NULL);
    expect(c, 400, "unknown_parameter");
    done(c);
    char many[512] = "";
    for (int i = 0; i < API_MAX_QUERY + 1; i++)
        strcat(many, i ? "&k=1" : "k=1");
    c = run("GET", "/v1/users/u1/recommendations", many, NULL);
    expect(c, 400, "bad_parameter");
    done(c);
    TEST_OK("checks: 404 points to /openapi.json and /ui/, 405, ids over 256 bytes 400, "
            "unknown (with a suggestion), duplicate and too many parameters 400");
}

static void test_index(void) {
    call *c = run("GET", "/", NULL, NULL);
    expect(c, 200, NULL);
    ASSERT_STR_EQ(str(c->json, "api"), "/openapi.json");
    ASSERT_STR_EQ(str(c->json, "inspector"), "/ui/");
    done(c);
    c = run("GET", "/openapi.json", NULL, NULL);
    expect(c, 200, NULL);
    ASSERT(json_object_get(c->json, "openapi") && json_object_get(c->json, "paths"));
    ASSERT(json_object_get(json_object_get(c->json, "paths"), "/v1/tokens"));
    done(c);
    TEST_OK("GET / points to the API document and the page; /openapi.json is served");
}

static void test_health(const char *version) {
    call *c = run("GET", "/healthz", NULL, NULL);
    expect(c, 200, NULL);
    ASSERT_STR_EQ(str(c->json, "status"), "ok");
    done(c);
    c = run("GET", "/readyz", NULL, NULL);
    expect(c, 200, NULL);
    ASSERT_STR_EQ(str(c->json, "model_version"), version);
    ASSERT_STR_EQ(str(c->json, "redis"), "not configured");
    done(c);
    c = run("GET", "/metrics", NULL, NULL);
    ASSERT_EQ(c->req.status, 200);
    ASSERT_CONTAINS(c->req.content_type, "text/plain");
    ASSERT_CONTAINS(c->req.resp, "mixrec_model_reloads_total");
    done(c);
    TEST_OK("healthz, readyz (model version, no Redis), metrics (Prometheus text)");
}

/* Whether every item of an answer has category cat. */
static int all_in_category(const json_t *answer, const char *cat) {
    size_t i, j;
    json_t *it, *c;
    json_array_foreach(json_object_get(answer, "items"), i, it) {
        int has = 0;
        json_array_foreach(json_object_get(it, "categories"), j, c) has |=
            !strcmp(json_string_value(c), cat);
        if (!has) return 0;
    }
    return 1;
}

/* The answer's recommendation_id names route and the answer's order. */
static int rid_of(const json_t *o, int route) {
    int r, ord;
    const char *order = json_string_value(json_object_get(o, "order"));
    int want = order && !strcmp(order, "ranker") ? RID_ORDER_RANKER : RID_ORDER_RETRIEVAL;
    return rid_parse(json_string_value(json_object_get(o, "recommendation_id")), &r, &ord) == 0 &&
           r == route && ord == want;
}

static void test_user_recommendations(void) {
    call *c = run("GET", "/v1/users/u1/recommendations", "k=5&explain=true", NULL);
    expect(c, 200, NULL);
    ASSERT_EQ(json_array_size(json_object_get(c->json, "items")), 5);
    ASSERT(json_is_true(json_object_get(c->json, "known_user")));
    ASSERT_STR_EQ(str(c->json, "session"), "unavailable");
    ASSERT(json_object_get(json_array_get(json_object_get(c->json, "items"), 0), "reason"));
    char top[128], q[200];
    snprintf(top, sizeof(top), "%s",
             str(json_array_get(json_object_get(c->json, "items"), 0), "item"));
    done(c);
    snprintf(q, sizeof(q), "k=5&exclude=%s,nope", top);
    c = run("GET", "/v1/users/u1/recommendations", q, NULL);
    expect(c, 200, NULL);
    ASSERT(!has_item(c->json, top));
    ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(c->json, "unknown_items"), 0)),
                  "nope");
    done(c);
    c = run("GET", "/v1/users/u1/recommendations", NULL, NULL);
    expect(c, 200, NULL);
    ASSERT_EQ(json_array_size(json_object_get(c->json, "items")), 20); /* the one default */
    ASSERT(!json_object_get(json_array_get(json_object_get(c->json, "items"), 0), "reason"));
    done(c);
    const char *bad_k[] = {"k=0", "k=abc", "k=201", "k=5x", "k="};
    for (size_t i = 0; i < sizeof(bad_k) / sizeof(bad_k[0]); i++) {
        c = run("GET", "/v1/users/u1/recommendations", bad_k[i], NULL);
        expect(c, 400, "bad_parameter");
        ASSERT_CONTAINS(str(json_object_get(c->json, "error"), "message"), "1..200");
        done(c);
    }
    c = run("GET", "/v1/users/u1/recommendations", "categories=no-such-category", NULL);
    expect(c, 400, "unknown_category");
    done(c);
    c = run("GET", "/v1/users/u1/recommendations", "exclude=i1,\xff\xfe", NULL);
    expect(c, 400, "bad_parameter"); /* ids must be UTF-8, as in paths */
    done(c);
    c = run("GET", "/v1/users/u1/recommendations", "explain=maybe", NULL);
    expect(c, 400, "bad_parameter");
    done(c);
    static char many[300 * 5 + 16] = "exclude=";
    for (int i = 0; i < 300; i++)
        sprintf(many + strlen(many), "%si%d", i ? "," : "", i);
    c = run("GET", "/v1/users/u1/recommendations", many, NULL);
    expect(c, 400, "bad_parameter"); /* a limit is an error, never a silent cut */
    ASSERT_CONTAINS(c->req.resp, "at most 256");
    done(c);
    c = run("GET", "/v1/users/nobody/recommendations", "k=3", NULL);
    expect(c, 200, NULL);
    ASSERT(json_is_false(json_object_get(c->json, "known_user")));
    done(c);
    TEST_OK("GET recommendations: k (default 20, bounds), explain off by default, exclude with "
            "unknown ids listed, 300 ids 400, categories, unknown user");
}

static void test_categories_everywhere(const char *cat) {
    char q[256], body[256];
    snprintf(q, sizeof(q), "k=10&categories=%s", cat);
    call *c = run("GET", "/v1/users/u1/recommendations", q, NULL);
    expect(c, 200, NULL);
    ASSERT(json_array_size(json_object_get(c->json, "items")) > 0 && all_in_category(c->json, cat));
    ASSERT(rid_of(c->json, RID_ROUTE_USER_RECOMMENDATIONS));
    done(c);
    c = run("GET", "/v1/recommendations", q, NULL);
    expect(c, 200, NULL);
    ASSERT(json_array_size(json_object_get(c->json, "items")) > 0 && all_in_category(c->json, cat));
    ASSERT_STR_EQ(str(c->json, "session"), "none");
    ASSERT(rid_of(c->json, RID_ROUTE_RECOMMENDATIONS_GET));
    done(c);
    snprintf(body, sizeof(body), "{\"user\":\"u1\",\"k\":10,\"categories\":[\"%s\"]}", cat);
    c = run("POST", "/v1/recommendations", NULL, body);
    expect(c, 200, NULL);
    ASSERT(json_array_size(json_object_get(c->json, "items")) > 0 && all_in_category(c->json, cat));
    ASSERT(rid_of(c->json, RID_ROUTE_RECOMMENDATIONS));
    done(c);
    c = run("GET", "/v1/items/i1/similar", q, NULL);
    expect(c, 200, NULL);
    ASSERT(json_array_size(json_object_get(c->json, "items")) == 10 &&
           all_in_category(c->json, cat));
    ASSERT(rid_of(c->json, RID_ROUTE_ITEM_SIMILAR)); /* similar: retrieval order, no "order" */
    done(c);
    TEST_OK("categories: one parameter, applied on GET user, GET anonymous, POST and similar; "
            "each answer's recommendation_id names its route and order");
}

/* ---- filters on item metadata (issue 15) ----------------------------------- */

/* How many items of an answer have category cat. */
static size_t count_in_category(const json_t *answer, const char *cat) {
    size_t i, j, n = 0;
    json_t *it, *c;
    json_array_foreach(json_object_get(answer, "items"), i, it) {
        int has = 0;
        json_array_foreach(json_object_get(it, "categories"), j, c) has |=
            !strcmp(json_string_value(c), cat);
        n += has;
    }
    return n;
}

/* Asserts every item of an answer is in the age window [lo, hi] (hi 0:
 * none) at some time in [t0, t1], the request's own clock. */
static void check_ages(const mx_model *m, const json_t *answer, int64_t t0, int64_t t1, int64_t lo,
                       int64_t hi) {
    size_t i;
    json_t *it;
    ASSERT(json_array_size(json_object_get(answer, "items")) > 0);
    json_array_foreach(json_object_get(answer, "items"), i, it) {
        int64_t item = model_item(m, str(it, "item"));
        ASSERT(item >= 0);
        int64_t first = rec_filter_first_seen(m, (uint32_t)item);
        ASSERT(t1 - first >= lo);
        if (hi) ASSERT(t0 - first <= hi);
    }
}

static int cmp_age(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Runs METHOD PATH with query or body (a printf format of one string
 * argument arg) and checks the answer's items against the window. */
static void window_case(const mx_model *m, const char *method, const char *path, const char *fmt,
                        const char *arg, int64_t lo, int64_t hi) {
    char text[512];
    snprintf(text, sizeof(text), fmt, arg);
    int post = !strcmp(method, "POST");
    int64_t t0 = (int64_t)time(NULL);
    call *c = run(method, path, post ? NULL : text, post ? text : NULL);
    int64_t t1 = (int64_t)time(NULL);
    expect(c, 200, NULL);
    check_ages(m, c->json, t0, t1, lo, hi);
    done(c);
}

static void test_filters(const mx_model *m) {
    /* two categories of u1's own answer */
    call *c = run("GET", "/v1/users/u1/recommendations", "k=20", NULL);
    expect(c, 200, NULL);
    const char *a = NULL, *b = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(c->json, "items"), i, it) {
        const char *first = json_string_value(json_array_get(json_object_get(it, "categories"), 0));
        if (first && !a) a = first;
        if (first && a && strcmp(first, a) && !b) b = first;
    }
    ASSERT(a && b);
    char ca[API_MAX_ID + 1], cb[API_MAX_ID + 1], q[1024], body[1024];
    snprintf(ca, sizeof(ca), "%s", a);
    snprintf(cb, sizeof(cb), "%s", b);
    done(c);

    const char *get_routes[] = {"/v1/users/u1/recommendations", "/v1/recommendations",
                                "/v1/items/i1/similar"};
    for (int r = 0; r < 3; r++) {
        snprintf(q, sizeof(q), "k=10&categories=%s,%s", ca, cb);
        c = run("GET", get_routes[r], q, NULL);
        expect(c, 200, NULL);
        size_t n = json_array_size(json_object_get(c->json, "items"));
        size_t in_a = count_in_category(c->json, ca), in_b = count_in_category(c->json, cb);
        ASSERT(n == 10 && in_a + in_b >= n);     /* every item has one of them */
        if (r < 2) ASSERT(in_a > 0 && in_b > 0); /* both kept, not only the first */
        done(c);
        snprintf(q, sizeof(q), "k=10&exclude_categories=%s,%s", ca, cb);
        c = run("GET", get_routes[r], q, NULL);
        expect(c, 200, NULL);
        ASSERT(json_array_size(json_object_get(c->json, "items")) == 10);
        ASSERT_EQ(count_in_category(c->json, ca) + count_in_category(c->json, cb), 0);
        done(c);
    }
    snprintf(body, sizeof(body),
             "{\"user\":\"u1\",\"k\":10,\"categories\":[\"%s\",\"%s\"],\"exclude_categories\":[]}",
             ca, cb);
    c = run("POST", "/v1/recommendations", NULL, body);
    expect(c, 200, NULL);
    ASSERT(count_in_category(c->json, ca) > 0 && count_in_category(c->json, cb) > 0 &&
           count_in_category(c->json, ca) + count_in_category(c->json, cb) >= 10);
    done(c);
    snprintf(body, sizeof(body), "{\"k\":10,\"exclude_categories\":[\"%s\",\"%s\"]}", ca, cb);
    c = run("POST", "/v1/recommendations", NULL, body);
    expect(c, 200, NULL);
    ASSERT(json_array_size(json_object_get(c->json, "items")) == 10);
    ASSERT_EQ(count_in_category(c->json, ca) + count_in_category(c->json, cb), 0);
    done(c);

    /* age windows: the items' ages now, the median as the bound */
    int64_t now = (int64_t)time(NULL), *ages = malloc(m->n_items * sizeof(int64_t));
    ASSERT(ages);
    for (uint32_t j = 0; j < m->n_items; j++)
        ages[j] = now - rec_filter_first_seen(m, j);
    qsort(ages, m->n_items, sizeof(int64_t), cmp_age);
    int64_t mid = ages[m->n_items / 2];
    free(ages);
    char arg[64];
    int64_t mid_h = mid / 3600, mid_d = mid / 86400 + 1; /* whole units around the median */
    snprintf(arg, sizeof(arg), "%lldm", (long long)(mid / 60));
    window_case(m, "GET", "/v1/users/u1/recommendations", "k=10&max_age=%s", arg, 0, mid / 60 * 60);
    window_case(m, "GET", "/v1/recommendations", "k=10&max_age=%s", arg, 0, mid / 60 * 60);
    window_case(m, "GET", "/v1/items/i1/similar", "k=10&max_age=%s", arg, 0, mid / 60 * 60);
    snprintf(arg, sizeof(arg), "%lldh", (long long)mid_h);
    window_case(m, "GET", "/v1/users/u1/recommendations", "k=10&min_age=%s", arg, mid_h * 3600, 0);
    window_case(m, "GET", "/v1/items/i1/similar", "k=10&min_age=%s", arg, mid_h * 3600, 0);
    snprintf(arg, sizeof(arg), "%lld", (long long)mid);
    window_case(m, "POST", "/v1/recommendations", "{\"user\":\"u1\",\"k\":10,\"max_age\":%s}", arg,
                0, mid);
    snprintf(arg, sizeof(arg), "%lldd", (long long)mid_d);
    window_case(m, "POST", "/v1/recommendations",
                "{\"k\":10,\"min_age\":\"1w\",\"max_age\":\"%s\"}", arg, 7 * 86400, mid_d * 86400);
    TEST_OK("filters: two categories kept, two dropped, max_age and min_age in every unit, on "
            "GET user, GET anonymous, POST and similar");

    /* bad input: 400 naming the parameter, on every route */
    static const struct {
        const char *query, *code, *names;
    } bad[] = {
        {"categories=no-such", "unknown_category", "'categories'"},
        {"exclude_categories=no-such", "unknown_category", "'exclude_categories'"},
        {"categories=%s&exclude_categories=%s", "bad_parameter", "'exclude_categories'"},
        {"max_age=-1d", "bad_parameter", "'max_age' must not be negative"},
        {"min_age=-5", "bad_parameter", "'min_age' must not be negative"},
        {"max_age=7x", "bad_parameter", "'max_age' must be an integer with a unit"},
        {"max_age=1.5h", "bad_parameter", "'max_age'"},
        {"max_age=d", "bad_parameter", "'max_age'"},
        {"max_age=", "bad_parameter", "'max_age'"},
        {"min_age=7dd", "bad_parameter", "'min_age'"},
        {"max_age=36526d", "bad_parameter", "'max_age' is above 100 years"},
        {"min_age=99999999999999999999", "bad_parameter", "'min_age' is above 100 years"},
        {"max_age=0", "bad_parameter", "'max_age' must be at least 1s"},
        {"min_age=2d&max_age=1d", "bad_parameter", "'min_age' (172800 s) is above 'max_age'"},
        {"max_age=1h&max_age=2h", "duplicate_parameter", "max_age"}};
    for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++)
        for (int r = 0; r < 3; r++) {
            snprintf(q, sizeof(q), bad[j].query, ca, ca);
            c = run("GET", get_routes[r], q, NULL);
            expect(c, 400, bad[j].code);
            ASSERT_CONTAINS(c->req.resp, bad[j].names);
            done(c);
        }
    static const struct {
        const char *body, *names;
    } bad_body[] = {{"{\"max_age\":-5}", "'max_age' must not be negative"},
                    {"{\"max_age\":1.5}", "'max_age' must be a whole number"},
                    {"{\"max_age\":true}", "'max_age' must be a string"},
                    {"{\"min_age\":[\"1h\"]}", "'min_age' must be a string"},
                    {"{\"max_age\":4e9}", "'max_age' is above 100 years"},
                    {"{\"max_age\":\"5y\"}", "'max_age' must be an integer with a unit"},
                    {"{\"min_age\":\"1h\",\"max_age\":60}", "'min_age' (3600 s) is above"},
                    {"{\"exclude_categories\":\"x\"}", "'exclude_categories' must be an array"}};
    for (size_t j = 0; j < sizeof(bad_body) / sizeof(bad_body[0]); j++) {
        c = run("POST", "/v1/recommendations", NULL, bad_body[j].body);
        expect(c, 400, "bad_parameter");
        ASSERT_CONTAINS(c->req.resp, bad_body[j].names);
        done(c);
    }
    TEST_OK("filters: unknown categories, a category kept and dropped, negative, malformed, "
            "absurd and zero durations, min_age above max_age -> 400 naming the parameter");
}

static void test_interests_and_similar(void) {
    call *c = run("GET", "/v1/users/u1/interests", NULL, NULL);
    expect(c, 200, NULL);
    ASSERT(json_array_size(json_object_get(c->json, "long_term")) > 0);
    ASSERT_STR_EQ(str(c->json, "user"), "u1");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(c->json, "long_term"), i, e) {
        /* each label says what it names and how much of its interest */
        const char *kind = json_string_value(json_object_get(e, "label_kind"));
        double cov = json_number_value(json_object_get(e, "coverage"));
        ASSERT(kind && (strcmp(kind, "categories") == 0 || strcmp(kind, "titles") == 0));
        ASSERT(cov > 0 && cov <= 1);
    }
    done(c);
    c = run("GET", "/v1/items/i1/similar", "k=4", NULL);
    expect(c, 200, NULL);
    ASSERT_EQ(json_array_size(json_object_get(c->json, "items")), 4);
    ASSERT(!has_item(c->json, "i1"));
    char first[128], q[256];
    snprintf(first, sizeof(first), "%s",
             str(json_array_get(json_object_get(c->json, "items"), 0), "item"));
    done(c);
    snprintf(q, sizeof(q), "k=4&exclude=%s,nope&explain=true", first);
    c = run("GET", "/v1/items/i1/similar", q, NULL);
    expect(c, 200, NULL);
    ASSERT(!has_item(c->json, first) && !has_item(c->json, "i1"));
    ASSERT(json_object_get(json_array_get(json_object_get(c->json, "items"), 0), "reason"));
    ASSERT_EQ(json_array_size(json_object_get(c->json, "unknown_items")), 1);
    done(c);
    c = run("GET", "/v1/items/no-such-item/similar", NULL, NULL);
    expect(c, 404, "unknown_item");
    done(c);
    c = run("GET", "/v1/items/i1/similar", "k=-1", NULL);
    expect(c, 400, "bad_parameter");
    done(c);
    TEST_OK("interests (labels with kind and coverage); similar items: k, exclude, explain, "
            "unknown item 404");
}

static void test_post_recommendations(void) {
    call *c = run("POST", "/v1/recommendations", NULL,
                  "{\"recent_items\":[\"i1\",\"nope\"],\"exclude\":[\"i2\"],\"k\":6}");
    expect(c, 200, NULL);
    ASSERT_EQ(json_array_size(json_object_get(c->json, "items")), 6);
    ASSERT(!has_item(c->json, "i1") && !has_item(c->json, "i2"));
    ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(c->json, "unknown_items"), 0)),
                  "nope");
    ASSERT_STR_EQ(str(c->json, "session"), "none");
    ASSERT(!json_object_get(json_array_get(json_object_get(c->json, "items"), 0), "reason"));
    done(c);
    /* a user's stored session is read on POST as on GET (Redis is absent here) */
    c = run("POST", "/v1/recommendations", NULL, "{\"user\":\"u1\",\"k\":3,\"explain\":true}");
    expect(c, 200, NULL);
    ASSERT_STR_EQ(str(c->json, "session"), "unavailable");
    ASSERT(json_is_true(json_object_get(c->json, "known_user")));
    ASSERT(json_object_get(json_array_get(json_object_get(c->json, "items"), 0), "reason"));
    done(c);
    struct {
        const char *body, *code, *says;
    } bad[] = {{"{", "bad_json", NULL},
               {"[1]", "bad_json", NULL},
               {"{\"k\":1,\"k\":2}", "bad_json", NULL},
               {"{\"k\":\"5\"}", "bad_parameter", NULL},
               {"{\"k\":0}", "bad_parameter", NULL},
               {"{\"user\":5}", "bad_parameter", NULL},
               {"{\"user\":\"\"}", "bad_parameter", NULL},
               {"{\"recent_items\":\"i1\"}", "bad_parameter", NULL},
               {"{\"exclude\":[1]}", "bad_parameter", NULL},
               {"{\"exclude\":[\"\"]}", "bad_parameter", NULL},
               {"{\"categories\":[\"no-such\"]}", "unknown_category", NULL},
               {"{\"categories\":\"x\"}", "bad_parameter", NULL},
               {"{\"explain\":\"yes\"}", "bad_parameter", NULL},
               {"{\"recentItems\":[\"i1\"]}", "unknown_field", "did you mean 'recent_items'"},
               {"{\"category\":\"x\"}", "unknown_field", "did you mean 'categories'"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = run("POST", "/v1/recommendations", NULL, bad[i].body);
        expect(c, 400, bad[i].code);
        if (bad[i].says) ASSERT_CONTAINS(c->req.resp, bad[i].says);
        done(c);
    }
    static char big[400 * 8 + 64];
    strcpy(big, "{\"recent_items\":[");
    for (int i = 0; i < 300; i++)
        sprintf(big + strlen(big), "%s\"i%d\"", i ? "," : "", i);
    strcat(big, "]}");
    c = run("POST", "/v1/recommendations", NULL, big);
    expect(c, 400, "bad_parameter");
    ASSERT_CONTAINS(c->req.resp, "at most 256");
    done(c);
    TEST_OK("POST recommendations: the GET vocabulary and defaults, the user's session, unknown "
            "ids listed, 16 bad bodies -> 400 naming the field");
}

static int has_rejection(const json_t *answer, const char *text) {
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(answer, "rejected"), i,
                       r) if (strstr(str(r, "error"), text)) return 1;
    return 0;
}

static void test_events(void) {
    call *c =
        run("POST", "/v1/events", NULL, "[{\"user\":\"u1\",\"item\":\"i1\",\"type\":\"click\"}]");
    expect(c, 503, "redis_unavailable"); /* never acknowledged unless stored */
    done(c);
    c = run("POST", "/v1/events", NULL,
            "[{\"user\":\"\",\"item\":\"i1\",\"type\":\"click\"},{\"user\":\"u\",\"item\":\"i1\","
            "\"type\":\"poke\"},{\"user\":\"u\",\"item\":\"i1\",\"type\":\"view\",\"ts\":\"soon\"},"
            "{\"user\":\"u\",\"item\":\"i1\",\"type\":\"view\",\"ts\":99999999999999},"
            "{\"user\":\"u\",\"item\":\"i1\",\"type\":\"view\",\"when\":1}]");
    expect(c, 400, "bad_events");
    ASSERT_EQ(json_array_size(json_object_get(c->json, "rejected")), 5);
    ASSERT(has_rejection(c->json, "milliseconds or ISO 8601"));
    ASSERT(has_rejection(c->json, "unknown field 'when'"));
    done(c);
    c = run("GET", "/metrics", NULL, NULL);
    ASSERT_CONTAINS(c->req.resp, "mixrec_events_total{outcome=\"rejected\"} 5\n");
    ASSERT_CONTAINS(c->req.resp, "mixrec_events_total{outcome=\"failed\"} 1\n");
    done(c);
    c = run("POST", "/v1/events", NULL, "{\"events\": 3}");
    expect(c, 400, "bad_json");
    done(c);
    c = run("POST", "/v1/events", NULL, "{\"event\": []}");
    expect(c, 400, "unknown_field");
    done(c);
    char big[4096] = "[";
    for (int i = 0; i < cfg.max_batch + 1; i++)
        strcat(big, i ? ",{}" : "{}");
    strcat(big, "]");
    c = run("POST", "/v1/events", NULL, big);
    expect(c, 413, "batch_too_large");
    done(c);
    TEST_OK("events: 503 without Redis, bad events (ts units, unknown fields) rejected by index "
            "and counted, batch limit 413");
}

/* Keys and event tokens (api_auth.h). */
static void test_tokens(void) {
    snprintf(cfg.api_keys[0], sizeof(cfg.api_keys[0]), "k-secret");
    cfg.n_api_keys = 1;
    keys_changed();
    const char *ev = "[{\"user\":\"u7\",\"item\":\"i1\",\"type\":\"click\"}]";
    call *c = run("POST", "/v1/events", NULL, ev);
    expect(c, 401, "unauthorized");
    ASSERT_CONTAINS(c->req.resp, "POST /v1/tokens");
    done(c);
    c = run("POST", "/v1/tokens", NULL, "{\"user\":\"u7\"}");
    expect(c, 401, "unauthorized"); /* minting takes a key */
    done(c);
    next_key = "k-secret";
    c = run("POST", "/v1/tokens", NULL, "{\"user\":\"u7\",\"ttl_s\":600}");
    expect(c, 200, NULL);
    char token[512];
    snprintf(token, sizeof(token), "%s", str(c->json, "token"));
    ASSERT(json_integer_value(json_object_get(c->json, "expires_at")) > (json_int_t)time(NULL));
    done(c);
    c = run("POST", "/v1/tokens", NULL, "{\"user\":\"u7\",\"ttl_s\":10}");
    expect(c, 400, "bad_parameter");
    done(c);
    next_key = NULL;
    next_bearer = token;
    c = run("POST", "/v1/events", NULL, ev);
    expect(c, 503, "redis_unavailable"); /* admitted: it fails only for want of Redis */
    done(c);
    c = run("POST", "/v1/events", NULL, "[{\"user\":\"u8\",\"item\":\"i1\",\"type\":\"click\"}]");
    expect(c, 403, "forbidden"); /* another user's events */
    done(c);
    c = run("POST", "/v1/recommendations", NULL, "{}"); /* reads need nothing */
    expect(c, 200, NULL);
    done(c);
    token[strlen(token) - 2] ^= 1; /* tampered */
    c = run("POST", "/v1/events", NULL, ev);
    expect(c, 403, "forbidden");
    done(c);
    char old[512];
    ASSERT_EQ(api_auth_token_make(keys_of(), "u7", (int64_t)time(NULL) - 1, old, sizeof(old)), 0);
    next_bearer = old;
    c = run("POST", "/v1/events", NULL, ev);
    expect(c, 401, "token_expired");
    done(c);
    snprintf(cfg.api_keys[0], sizeof(cfg.api_keys[0]), "k-rotated");
    keys_changed();
    ASSERT_EQ(api_auth_token_make(keys_of(), "u7", (int64_t)time(NULL) + 60, old, sizeof(old)), 0);
    snprintf(cfg.api_keys[0], sizeof(cfg.api_keys[0]), "k-secret");
    keys_changed();
    c = run("POST", "/v1/events", NULL, ev);
    expect(c, 403, "forbidden"); /* signed under other keys */
    done(c);
    next_bearer = NULL;
    cfg.n_api_keys = 0;
    keys_changed();
    TEST_OK("event tokens: minted with a key, post their user's events only, tampered, expired "
            "and foreign tokens refused");
}

static char tmpdir[64];

/* The weight of interest id in a /interests list (0 when absent). */
static double weight_in(const json_t *list, json_int_t id) {
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) if (json_integer_value(json_object_get(x, "id")) ==
                                       id) return json_real_value(json_object_get(x, "weight"));
    return 0;
}

/* Items of the answer in interest id. */
static size_t count_interest(const json_t *answer, json_int_t id) {
    size_t i, n = 0;
    json_t *it;
    json_array_foreach(json_object_get(answer, "items"), i, it) n +=
        json_integer_value(json_object_get(json_object_get(it, "interest"), "id")) == id;
    return n;
}

/* A redis-server of the test's own on dir/redis.sock; 0 when it is not
 * installed or does not start (the test is then skipped). */
static pid_t start_redis(const char *dir, char *sock, size_t size) {
    snprintf(sock, size, "%s/redis.sock", dir);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed ASSERT exits: no server left behind */
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
               "--appendonly", "no", "--dir", dir, (char *)NULL);
        _exit(127);
    }
    struct stat st;
    for (int i = 0; i < 100 && pid > 0; i++) {
        if (stat(sock, &st) == 0) return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid) return 0;
        usleep(50 * 1000);
    }
    if (pid > 0) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
    return 0;
}

/* Issue 13: one dislike, stored through POST /v1/events in a real Redis,
 * turns its interest negative in session_interests and lowers it in the
 * blend (long_term untouched, in its own order), and the next answer
 * drops the item and moves away from its interest. A dislike weighted as
 * a like (sessions.c) fails here. */
static void test_dislike_with_redis(void) {
    char sock[128], url[160];
    pid_t redis = start_redis(tmpdir, sock, sizeof(sock));
    if (!redis) {
        printf(
            "ok - # SKIP dislikes through Redis: redis-server is not installed or did not start\n");
        return;
    }
    static srv_config rcfg;
    rcfg = cfg;
    mx_err err = {0};
    snprintf(url, sizeof(url), "unix:%s", sock);
    ASSERT_EQ(srv_config_set(&rcfg, "redis.url", url, &err), 0);
    wk_pool *pool = NULL;
    ASSERT_EQ(wk_start(&pool, &rcfg, env.holder, 1, &err), 0);
    api_env saved = env;
    env.cfg = &rcfg;
    env.pool = pool;
    call *c = NULL;
    for (int i = 0; i < 100; i++, usleep(50 * 1000)) { /* the workers connect */
        c = run("GET", "/readyz", NULL, NULL);
        int up = !strcmp(str(c->json, "redis"), "ok");
        done(c);
        if (up) break;
    }
    call *before = run("GET", "/v1/users/u1/interests", NULL, NULL);
    expect(before, 200, NULL);
    ASSERT_STR_EQ(str(before->json, "session"), "ok");
    call *r0 = run("GET", "/v1/users/u1/recommendations", "k=10&explain=true", NULL);
    expect(r0, 200, NULL);
    /* the interest the answer shows most, and its first item there */
    json_t *items0 = json_object_get(r0->json, "items"), *it;
    json_int_t top = -1;
    size_t most = 0, i;
    double prev = INFINITY;
    json_array_foreach(items0, i, it) {
        json_int_t id = json_integer_value(json_object_get(json_object_get(it, "interest"), "id"));
        if (count_interest(r0->json, id) > most) most = count_interest(r0->json, id), top = id;
        ASSERT(json_array_size(json_object_get(it, "sources")) > 0);
        ASSERT_STR_EQ(str(it, "placed_by"), "retrieval"); /* no ranker in this model */
        double score = json_real_value(json_object_get(it, "score"));
        ASSERT(score <= prev); /* non-increasing down the list */
        prev = score;
    }
    const char *victim = NULL;
    json_array_foreach(items0, i, it) {
        json_int_t id = json_integer_value(json_object_get(json_object_get(it, "interest"), "id"));
        if (!victim && id == top) victim = str(it, "item");
    }
    ASSERT(victim && most >= 2);
    char body[256];
    snprintf(body, sizeof(body), "[{\"user\":\"u1\",\"item\":\"%s\",\"type\":\"dislike\"}]",
             victim);
    c = run("POST", "/v1/events", NULL, body);
    expect(c, 200, NULL);
    ASSERT_EQ(json_integer_value(json_object_get(c->json, "accepted")), 1);
    done(c);
    call *after = run("GET", "/v1/users/u1/interests", NULL, NULL);
    expect(after, 200, NULL);
    ASSERT_EQ(json_integer_value(json_object_get(after->json, "session_events")), 1);
    double s_top = weight_in(json_object_get(after->json, "session_interests"), top);
    double b0 = weight_in(json_object_get(before->json, "blended"), top),
           b1 = weight_in(json_object_get(after->json, "blended"), top);
    printf("# disliked %s: interest #%lld session %.3f, blended %.3f -> %.3f\n", victim,
           (long long)top, s_top, b0, b1);
    ASSERT_NEAR(s_top, -1, 1e-6); /* the whole session, against it */
    ASSERT(b1 < b0);
    ASSERT(json_equal(json_object_get(before->json, "long_term"),
                      json_object_get(after->json, "long_term")));
    call *r1 = run("GET", "/v1/users/u1/recommendations", "k=10&explain=true", NULL);
    expect(r1, 200, NULL);
    ASSERT(!has_item(r1->json, victim));
    printf("# interest #%lld in %zu of 10 before the dislike, %zu after\n", (long long)top, most,
           count_interest(r1->json, top));
    ASSERT(count_interest(r1->json, top) < most);
    done(before), done(after), done(r0), done(r1);
    env = saved;
    wk_stop(pool);
    kill(redis, SIGTERM);
    waitpid(redis, NULL, 0);
    TEST_OK("a dislike through POST /v1/events (real Redis): its interest negative in "
            "session_interests, lower in the blend, long_term unchanged; the next answer moves");
}

/* A request waiting for its session keeps its model while a reload lands
 * and the worker moves on (issue 11). */
static void test_lease_across_reload(const char *old_version, mx_model *next) {
    cfg.testing_session_delay_ms = 400;
    call *waiting = start("GET", "/v1/users/u1/recommendations", "k=5", NULL);
    usleep(100 * 1000); /* the job has run: the request waits on its timer */
    mh_set(env.holder, next);
    call *c = run("GET", "/v1/items/i1/similar", "k=3", NULL); /* the worker moves to next */
    expect(c, 200, NULL);
    ASSERT_STR_EQ(str(c->json, "model_version"), "v-next");
    done(c);
    wait_for(waiting);
    expect(waiting, 200, NULL);
    ASSERT_STR_EQ(str(waiting->json, "model_version"), old_version);
    done(waiting);
    cfg.testing_session_delay_ms = 0;
    c = run("GET", "/v1/users/u1/recommendations", "k=5", NULL);
    ASSERT_STR_EQ(str(c->json, "model_version"), "v-next");
    done(c);
    TEST_OK("a request waiting for its session answers from its model across a reload");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void test_admin_reload(mx_model *m) {
    char version[64];
    mx_err err = {0};
    ASSERT_EQ(model_save(m, tmpdir, version, &err), 0);
    snprintf(cfg.model_dir, sizeof(cfg.model_dir), "%s", tmpdir);
    call *c = run("POST", "/v1/admin/reload", NULL, NULL);
    expect(c, 403, "admin_disabled"); /* no keys: no admin routes */
    done(c);
    snprintf(cfg.api_keys[0], sizeof(cfg.api_keys[0]), "k-admin");
    cfg.n_api_keys = 1;
    keys_changed();
    next_key = "k-admin";
    c = run("POST", "/v1/admin/reload", NULL, NULL);
    expect(c, 200, NULL);
    ASSERT_STR_EQ(str(c->json, "model_version"), version);
    done(c);
    char path[128];
    snprintf(path, sizeof(path), "%s/CURRENT", tmpdir);
    FILE *f = fopen(path, "w");
    ASSERT(f && fputs("no-such-version\n", f) >= 0 && fclose(f) == 0);
    c = run("POST", "/v1/admin/reload", NULL, NULL);
    expect(c, 422, "model_rejected");
    done(c);
    c = run("GET", "/readyz", NULL, NULL);
    ASSERT_STR_EQ(str(c->json, "model_version"), version); /* the old one keeps serving */
    done(c);
    cfg.n_api_keys = 0;
    keys_changed();
    next_key = NULL;
    TEST_OK("admin reload: 200 with the new version; a broken one 422, the old one serves");
}

int main(void) {
    ds_dataset *ds = fixture_dataset(1200, 300, 6, 8, 11);
    const char *settings[] = {"embed.dim=8", "interests.count=6", NULL};
    mx_model *m = fixture_model(ds, NULL, 0, settings),
             *next = fixture_model(ds, NULL, 0, settings);
    snprintf(m->version, sizeof(m->version), "v-first");
    snprintf(next->version, sizeof(next->version), "v-next");
    srv_config_init(&cfg);
    cfg.workers = 1;
    cfg.redis_url[0] = 0;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mixrec-test-api-XXXXXX");
    ASSERT(mkdtemp(tmpdir) != NULL);

    size_t n;
    const api_route *rt = api_routes(&n);
    names[0] = "unmatched";
    for (size_t i = 0; i < n; i++)
        names[i + 1] = rt[i].name;
    mh_holder *holder = mh_new();
    mh_set(holder, m);
    wk_pool *pool = NULL;
    mx_err err = {0};
    ASSERT_EQ(wk_start(&pool, &cfg, holder, 0, &err), 0);
    ac_table *keys = NULL;
    ASSERT_EQ(ac_table_new(&keys, &cfg, &err), 0);
    env = (api_env){.cfg = &cfg,
                    .prom = prom_new(names, (int)n + 1),
                    .holder = holder,
                    .pool = pool,
                    .gate = ac_gate_new(keys, 1024),
                    .tenant = "default",
                    .tenants = &env,
                    .n_tenants = 1};

    test_table();
    test_checks();
    test_health("v-first");
    test_user_recommendations();
    test_categories_everywhere(m->cat_names[m->cat_ids[m->cat_ptr[0]]]);
    test_filters(m);
    test_interests_and_similar();
    test_post_recommendations();
    test_events();
    test_tokens();
    test_dislike_with_redis();
    mx_model *saved = fixture_model(ds, NULL, 0, settings);
    test_lease_across_reload("v-first", next);
    test_admin_reload(saved);
    test_index();

    wk_stop(pool);
    mh_free(holder);
    model_free(saved);
    prom_free(env.prom);
    ac_gate_free(env.gate);
    ds_free(ds);
    ASSERT_EQ(nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    return 0;
}

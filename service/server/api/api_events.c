/* api_events.c - see api_events.h. */
#include "api_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sessions.h"

typedef struct batch {
    api_req *r;
    size_t accepted;
    json_t *rejected;
    char (*users)[257];
    const char **user_ptrs;
    sess_event *ev;
} batch;

static void batch_free(batch *b) {
    if (!b) return;
    json_decref(b->rejected);
    free(b->users);
    free(b->user_ptrs);
    free(b->ev);
    free(b);
}

static batch *batch_new(api_req *r, size_t n) {
    batch *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->r = r;
    b->rejected = json_array();
    b->users = calloc(n ? n : 1, sizeof(*b->users));
    b->user_ptrs = calloc(n ? n : 1, sizeof(char *));
    b->ev = calloc(n ? n : 1, sizeof(sess_event));
    if (!b->rejected || !b->users || !b->user_ptrs || !b->ev) {
        batch_free(b);
        return NULL;
    }
    return b;
}

static void on_stored(void *arg, int ok, const char *error) {
    batch *b = arg;
    api_req *r = b->r;
    prom_events(r->env->prom, ok ? b->accepted : 0,
                json_array_size(b->rejected) + (ok ? 0 : b->accepted), !ok);
    if (!ok)
        api_error(r, API_UNAVAILABLE, "redis_unavailable", "events were not stored: %s",
                  error ? error : "redis is unavailable");
    else
        api_respond_json(r, json_pack("{s:I,s:O}", "accepted", (json_int_t)b->accepted, "rejected",
                                      b->rejected));
    batch_free(b);
    api_finish(r);
}

static void reject(json_t *rejected, size_t i, const char *why) {
    json_array_append_new(rejected, json_pack("{s:I,s:s}", "index", (json_int_t)i, "error", why));
}

/* Checks event i and keeps it in b, or records why not. */
static void take_event(batch *b, size_t i, const json_t *e, int64_t now) {
    const json_t *jts = json_object_get(e, "ts");
    const char *u = json_string_value(json_object_get(e, "user")),
               *it = json_string_value(json_object_get(e, "item")),
               *ty = json_string_value(json_object_get(e, "type"));
    if (!json_is_object(e))
        reject(b->rejected, i, "not an object");
    else if (!u || !u[0] || strlen(u) > 256)
        reject(b->rejected, i, "'user' must be a non-empty string of at most 256 bytes");
    else if (!it || !it[0] || strlen(it) >= sizeof(b->ev[0].item) || strchr(it, '\t'))
        reject(b->rejected, i, "'item' must be a non-empty string of at most 127 bytes");
    else if (!ty || sess_type_of(ty) < 0)
        reject(b->rejected, i, "'type' must be view, click, like, purchase or dislike");
    else if (jts && !(json_is_integer(jts) && json_integer_value(jts) >= 0))
        reject(b->rejected, i, "'ts' must be unix seconds (an integer)");
    else {
        size_t k = b->accepted++;
        snprintf(b->users[k], sizeof(b->users[k]), "%s", u);
        b->user_ptrs[k] = b->users[k];
        snprintf(b->ev[k].item, sizeof(b->ev[k].item), "%s", it);
        b->ev[k].type = sess_type_of(ty);
        b->ev[k].ts = jts ? (int64_t)json_integer_value(jts) : now;
    }
}

/* The batch of the body, checked; NULL with the answer given. */
static batch *parse_batch(api_req *r) {
    json_error_t je;
    json_t *body = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!body) {
        api_error(r, API_BAD_REQUEST, "bad_json", "invalid JSON at line %d: %s", je.line, je.text);
        return NULL;
    }
    json_t *events = json_is_object(body) ? json_object_get(body, "events") : body;
    size_t n = json_array_size(events);
    batch *b = NULL;
    if (!json_is_array(events))
        api_error(r, API_BAD_REQUEST, "bad_json",
                  "the body must be an array of events (or {\"events\": [...]})");
    else if (n > (size_t)r->env->cfg->max_batch)
        api_error(r, API_CONTENT_TOO_LARGE, "batch_too_large",
                  "%zu events in one batch, at most %d (limits.max_batch)", n,
                  r->env->cfg->max_batch);
    else if (!(b = batch_new(r, n)))
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
    if (b) {
        int64_t now = (int64_t)time(NULL);
        size_t i;
        json_t *e;
        json_array_foreach(events, i, e) take_event(b, i, e, now);
    }
    json_decref(body);
    return b;
}

void api_events_post(api_req *r) {
    batch *b = parse_batch(r);
    if (!b) {
        api_finish(r);
        return;
    }
    if (b->accepted == 0) {
        json_t *o = json_pack("{s:{s:s,s:s},s:O}", "error", "code", "bad_events", "message",
                              "no valid event in the batch", "rejected", b->rejected);
        api_respond(r, API_BAD_REQUEST, o ? json_dumps(o, JSON_COMPACT) : NULL);
        json_decref(o);
        batch_free(b);
        api_finish(r);
        return;
    }
    sess_client *sc = wk_sessions(r->worker);
    if (!sc)
        on_stored(b, 0, "no Redis is configured (redis.url)");
    else
        sess_append(sc, b->user_ptrs, b->ev, b->accepted, on_stored, b);
}

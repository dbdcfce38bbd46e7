/* api_events.c - see api_events.h. */
#include "api_events.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "armstats.h"
#include "evlog.h"
#include "tsparse.h"
#include "rid.h"
#include "sessions.h"

/* How far in the future an event's ts may be (client clocks drift). */
#define EVENT_MAX_AHEAD_S 86400

/* An accepted event: its strings are borrowed from the batch's body. */
typedef struct held {
    evlog_event e;
    size_t index; /* in the posted batch */
} held;

typedef struct batch {
    api_req *r;
    json_t *body; /* owns the strings of ev */
    size_t accepted;
    json_t *rejected;
    json_t *unknown; /* distinct ids of accepted events the model does not know */
    prom_event_batch counts;
    held *ev;
} batch;

static void batch_free(batch *b) {
    if (!b) return;
    json_decref(b->body);
    json_decref(b->rejected);
    json_decref(b->unknown);
    free(b->ev);
    free(b);
}

static batch *batch_new(api_req *r, size_t n) {
    batch *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->r = r;
    b->rejected = json_array();
    b->unknown = json_array();
    b->ev = calloc(n ? n : 1, sizeof(*b->ev));
    if (!b->rejected || !b->unknown || !b->ev) {
        batch_free(b);
        return NULL;
    }
    return b;
}

/* Duplicates were valid but not stored again: they leave the stored
 * counts and are listed by their index in the batch. */
static json_t *take_duplicates(batch *b, const unsigned char *dup) {
    json_t *list = json_array();
    for (size_t k = 0; dup && k < b->accepted; k++) {
        if (!dup[k]) continue;
        b->counts.valid_by_type[b->ev[k].e.type]--;
        b->counts.duplicates++;
        json_array_append_new(list, json_integer((json_int_t)b->ev[k].index));
    }
    return list;
}

/* Exploration's counts (armstats.h): a click on an item of an answer
 * (stored, not a duplicate) adds to the item's clicks, once this worker's
 * copy shows that anything is counted (otherwise nothing explores). */
static void count_clicks(const batch *b, int ok, const unsigned char *dup) {
    if (!ok || !armstats_size(wk_armstats(b->r->worker))) return;
    const char *stack[64], **ids = b->accepted <= 64 ? stack : malloc(b->accepted * sizeof(*ids));
    size_t n = 0;
    for (size_t k = 0; ok && ids && k < b->accepted; k++) {
        const evlog_event *e = &b->ev[k].e;
        if (e->recommendation_id && e->type == EVTYPE_CLICK && !(dup && dup[k])) ids[n++] = e->item;
    }
    if (n) armstats_clicked(wk_sessions(b->r->worker), b->r->env->cfg, ids, n, (int64_t)time(NULL));
    if (ids != stack) free(ids);
}

static void on_stored(void *arg, int ok, const char *error, const unsigned char *dup) {
    batch *b = arg;
    api_req *r = b->r;
    b->counts.redis_failed = !ok;
    json_t *dups = ok ? take_duplicates(b, dup) : NULL;
    prom_events(r->env->prom, &b->counts);
    count_clicks(b, ok, dup);
    for (size_t k = 0; ok && k < b->accepted; k++) /* attribution: stored events only */
        if (b->ev[k].e.recommendation_id && !(dup && dup[k])) {
            const evlog_event *e = &b->ev[k].e;
            prom_attributed(r->env->prom, e->type, e->recommendation_id);
            if (e->experiment)
                prom_experiment_attributed(r->env->prom, e->experiment, (size_t)e->variant,
                                           e->type);
        }
    if (!ok) {
        api_error(r, API_UNAVAILABLE, "redis_unavailable", "events were not stored: %s",
                  error ? error : "redis is unavailable");
    } else {
        json_t *o = json_pack("{s:I,s:I,s:o,s:O}", "accepted", (json_int_t)b->accepted, "stored",
                              (json_int_t)(b->accepted - json_array_size(dups)), "duplicates", dups,
                              "rejected", b->rejected);
        if (json_array_size(b->unknown)) json_object_set(o, "unknown_items", b->unknown);
        api_respond_json(r, o);
    }
    batch_free(b);
    api_finish(r);
}

static void reject(batch *b, size_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reject(batch *b, size_t i, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(b->rejected,
                          json_pack("{s:I,s:s}", "index", (json_int_t)i, "error", msg));
    b->counts.rejected++;
}

/* What an event's ts may be. */
#define TS_EXPECTED "unix seconds, unix milliseconds or ISO 8601 (e.g. 2026-12-04T10:00:00Z)"

/* An event's ts: absent (now), unix seconds or milliseconds (a number or
 * its digits) or ISO 8601 text, read by the same rule as the builder's
 * files (tsparse.h). 0, or -1. */
static int event_ts(const json_t *jts, int64_t now, int64_t *ts) {
    if (!jts) {
        *ts = now;
        return 0;
    }
    char text[64];
    if (json_is_integer(jts))
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(jts));
    else if (json_is_real(jts))
        snprintf(text, sizeof(text), "%.3f", json_real_value(jts));
    else if (!json_is_string(jts) || json_string_length(jts) >= sizeof(text))
        return -1;
    else
        snprintf(text, sizeof(text), "%s", json_string_value(jts));
    tsparse_kind kind;
    if (tsparse(text, ts, &kind)) return -1;
    return *ts <= now + EVENT_MAX_AHEAD_S ? 0 : -1;
}

/* What an event takes. */
static const char *const event_fields[] = {
    "user", "item", "type", "ts", "event_id", "recommendation_id", "position", NULL};
#define EVENT_FIELDS_TEXT "user, item, type, ts, event_id, recommendation_id and position"

/* The first key of e that an event does not take, or NULL. */
static const char *unknown_field(const json_t *e) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)e, key, v) {
        size_t f = 0;
        while (event_fields[f] && strcmp(key, event_fields[f]) != 0)
            f++;
        if (!event_fields[f]) return key;
    }
    return NULL;
}

/* An optional id field: absent (NULL, 0), or a non-empty string of at
 * most API_MAX_ID bytes (0), else -1. */
static int optional_id(const json_t *e, const char *name, const char **out) {
    const json_t *v = json_object_get(e, name);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > API_MAX_ID)
        return -1;
    *out = json_string_value(v);
    return 0;
}

/* Whether id is a recommendation_id this service made (rid.h). */
static int recommendation_id_ok(const char *id) {
    int route, order;
    return rid_parse(id, &route, &order) == 0;
}

/* position: absent (-1) or an integer in 0 .. limits.max_k - 1. */
static int optional_position(const json_t *e, int max_k, int *out) {
    const json_t *v = json_object_get(e, "position");
    *out = -1;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= max_k)
        return -1;
    *out = (int)json_integer_value(v);
    return 0;
}

static void note_unknown(batch *b, const mx_model *m, const char *item) {
    if (model_item(m, item) >= 0) return;
    b->counts.unknown_items++;
    size_t i;
    json_t *v;
    json_array_foreach(b->unknown, i, v) if (!strcmp(json_string_value(v), item)) return;
    json_array_append_new(b->unknown, json_string(item));
}

/* The experiment variant the event's answer came from (its id's tag),
 * when that experiment is still in the list. */
static void attribute_experiment(const experiment_list *l, evlog_event *e) {
    unsigned tag = 0;
    size_t xi;
    if (!e->recommendation_id || rid_parse_tagged(e->recommendation_id, NULL, NULL, &tag)) return;
    e->variant = experiment_of_tag(l, tag, &xi);
    if (e->variant >= 0) e->experiment = experiment_at(l, xi);
}

/* Checks event i and keeps it in b, or records why not. */
static void take_event(batch *b, const mx_model *m, size_t i, const json_t *e, int64_t now) {
    const char *u = json_string_value(json_object_get(e, "user")),
               *it = json_string_value(json_object_get(e, "item")),
               *ty = json_string_value(json_object_get(e, "type")), *extra, *eid, *rid;
    int64_t ts = 0;
    int pos = -1, max_k = b->r->env->cfg->max_k;
    if (!json_is_object(e))
        reject(b, i, "not an object");
    else if ((extra = unknown_field(e)))
        reject(b, i, "unknown field '%.64s'; an event takes " EVENT_FIELDS_TEXT, extra);
    else if (!u || !u[0] || strlen(u) > API_MAX_ID)
        reject(b, i, "'user' must be a non-empty string of at most %d bytes", API_MAX_ID);
    else if (!it || !it[0] || strlen(it) > API_MAX_ID || strchr(it, '\t'))
        reject(b, i, "'item' must be a non-empty string of at most %d bytes (no tabs)", API_MAX_ID);
    else if (!ty || sess_type_of(ty) < 0)
        reject(b, i, "'type' must be view, click, like, purchase or dislike");
    else if (event_ts(json_object_get(e, "ts"), now, &ts))
        reject(b, i, "'ts' must be %s, at most a day ahead", TS_EXPECTED);
    else if (optional_id(e, "event_id", &eid))
        reject(b, i, "'event_id' must be a non-empty string of at most %d bytes", API_MAX_ID);
    else if (optional_id(e, "recommendation_id", &rid) || (rid && !recommendation_id_ok(rid)))
        reject(b, i, "'recommendation_id' must be the recommendation_id of an answer");
    else if (optional_position(e, max_k, &pos))
        reject(b, i, "'position' must be an integer in 0..%d (its place in that answer)",
               max_k - 1);
    else {
        held *h = &b->ev[b->accepted++];
        h->index = i;
        h->e = (evlog_event){u, it, sess_type_of(ty), ts, eid, rid, pos, NULL, -1};
        attribute_experiment(wk_lease_experiments(b->r->lease), &h->e);
        b->counts.valid_by_type[h->e.type]++;
        note_unknown(b, m, it);
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
    json_t *events = body;
    if (json_is_object(body)) {
        json_decref(body);
        if (!(body = api_body_object(r, "events"))) return NULL; /* {"events": [...]} only */
        events = json_object_get(body, "events");
    }
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
        json_array_foreach(events, i, e) take_event(b, wk_lease_model(r->lease), i, e, now);
        b->body = body; /* the events' strings */
        return b;
    }
    json_decref(body);
    return NULL;
}

/* With an event token, every event must be of the token's user (else the
 * whole batch is refused, and counted as rejected). */
static int token_allows(api_req *r, batch *b) {
    if (!r->token_user[0]) return 1;
    for (size_t k = 0; k < b->accepted; k++)
        if (strcmp(b->ev[k].e.user, r->token_user) != 0) {
            prom_event_batch refused = {.rejected = b->counts.rejected + b->accepted};
            prom_events(r->env->prom, &refused);
            api_error(r, API_FORBIDDEN, "forbidden",
                      "an event token posts events of its own user only (event user '%.64s')",
                      b->ev[k].e.user);
            return 0;
        }
    return 1;
}

/* Answers 400 for a batch without one valid event (counted). */
static void refuse_all(api_req *r, batch *b) {
    prom_events(r->env->prom, &b->counts);
    json_t *o = json_pack("{s:{s:s,s:s},s:O}", "error", "code", "bad_events", "message",
                          "no valid event in the batch", "rejected", b->rejected);
    api_respond(r, API_BAD_REQUEST, o ? json_dumps(o, JSON_COMPACT) : NULL);
    json_decref(o);
}

void api_events_post(api_req *r) {
    batch *b = parse_batch(r);
    if (!b || b->accepted == 0 || !token_allows(r, b)) {
        if (b && b->accepted == 0) refuse_all(r, b);
        batch_free(b);
        api_finish(r);
        return;
    }
    sess_client *sc = wk_sessions(r->worker);
    if (!sc) {
        on_stored(b, 0, "no Redis is configured (redis.url)", NULL);
        return;
    }
    evlog_event *ev = malloc(b->accepted * sizeof(*ev));
    if (!ev) {
        on_stored(b, 0, "out of memory", NULL);
        return;
    }
    for (size_t k = 0; k < b->accepted; k++)
        ev[k] = b->ev[k].e;
    evlog_store(sc, r->env->cfg, ev, b->accepted, on_stored, b);
    free(ev);
}

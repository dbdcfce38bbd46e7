/* api_catalog.c - see api_catalog.h. */
#include "api_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

/* Merges a checked change (ARGV[2]) into the item's record: a PUT first
 * drops the description (title, categories, vector); null removes a key;
 * an item the model does not know (ARGV[5] ~= '1') is marked new, with
 * the time it was first added. A PATCH of an item neither the model nor
 * the catalogue knows changes nothing. */
static const char merge_script[] =
    "local cur = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if not cur and ARGV[4] == 'patch' and ARGV[5] ~= '1' then "
    "  return redis.error_reply('NOTFOUND item') end "
    "local o = {} "
    "if cur then local ok, v = pcall(cjson.decode, cur) "
    "  if ok and type(v) == 'table' then o = v end end "
    "if ARGV[4] == 'put' then o.title = nil o.categories = nil o.vector = nil end "
    "for k, v in pairs(cjson.decode(ARGV[2])) do "
    "  if v == cjson.null then o[k] = nil else o[k] = v end end "
    "if ARGV[5] ~= '1' then o.new = true "
    "  if not o.added_at then o.added_at = tonumber(ARGV[3]) end "
    "else o.new = nil end "
    "o.updated_at = tonumber(ARGV[3]) "
    "local s = cjson.encode(o) "
    "redis.call('HSET', KEYS[1], ARGV[1], s) "
    "redis.call('PUBLISH', KEYS[2], ARGV[1]) "
    "return s";

/* The item as the service sees it: model fields, then the record's. rec
 * may be NULL (no overrides). New reference. */
static json_t *item_json(const mx_model *m, const char *id, const cat_item *rec, int64_t now) {
    int64_t idx = model_item(m, id);
    json_t *o =
        json_pack("{s:s,s:s,s:b}", "item", id, "model_version", m->version, "in_model", idx >= 0);
    json_t *cats = json_array();
    const char *title = NULL;
    if (idx >= 0) {
        title = m->titles ? m->titles[idx] : NULL;
        for (uint32_t j = m->cat_ptr[idx]; j < m->cat_ptr[idx + 1]; j++)
            json_array_append_new(cats, json_string(m->cat_names[m->cat_ids[j]]));
        if (m->item_interest[idx] < m->n_clusters)
            json_object_set_new(o, "interest", json_integer(m->item_interest[idx]));
    }
    if (rec && (rec->flags & CAT_HAS_TITLE)) title = rec->title;
    if (rec && (rec->flags & CAT_HAS_CATEGORIES)) {
        json_array_clear(cats);
        for (size_t j = 0; j < rec->n_categories; j++)
            json_array_append_new(cats, json_string(rec->categories[j]));
    }
    json_object_set_new(o, "title", title ? json_string(title) : json_null());
    json_object_set_new(o, "categories", cats);
    int hidden = rec && (rec->flags & CAT_HIDDEN);
    int expired = rec && rec->expires_at && rec->expires_at <= now;
    json_object_set_new(o, "hidden", json_boolean(hidden));
    json_object_set_new(o, "expires_at",
                        rec && rec->expires_at ? json_integer(rec->expires_at) : json_null());
    json_object_set_new(o, "expired", json_boolean(expired));
    json_object_set_new(o, "visible", json_boolean(!hidden && !expired));
    json_object_set_new(o, "new", json_boolean(idx < 0 && rec && (rec->flags & CAT_NEW)));
    if (rec && rec->added_at) json_object_set_new(o, "added_at", json_integer(rec->added_at));
    if (rec && rec->updated_at) json_object_set_new(o, "updated_at", json_integer(rec->updated_at));
    json_object_set_new(o, "overrides", rec ? cat_item_json(rec) : json_object());
    return o;
}

/* Answers the item from a stored record's text (NULL: none); 404 when
 * neither the model nor the record knows it. */
static void answer_record(api_req *r, const char *text, size_t len, const char *source) {
    const mx_model *m = wk_lease_model(r->lease);
    cat_snapshot *one = cat_snapshot_new(0);
    if (!one || (text && cat_snapshot_add(one, r->param, strlen(r->param), text, len))) {
        cat_snapshot_release(one);
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        return;
    }
    const cat_item *rec = cat_snapshot_find(one, r->param);
    if (!rec && model_item(m, r->param) < 0)
        api_error(r, API_NOT_FOUND, "unknown_item",
                  "item '%s' is neither in the model nor in the catalogue", r->param);
    else {
        json_t *o = item_json(m, r->param, rec, (int64_t)time(NULL));
        json_object_set_new(o, "catalogue", json_string(source));
        api_respond_json(r, o);
    }
    cat_snapshot_release(one);
}

static void on_get(void *arg, int ok, const struct redisReply *reply, const char *error) {
    (void)error;
    api_req *r = arg;
    if (ok && reply->type == REDIS_REPLY_STRING)
        answer_record(r, reply->str, (size_t)reply->len, "redis");
    else if (ok && reply->type == REDIS_REPLY_NIL)
        answer_record(r, NULL, 0, "redis");
    else { /* Redis away: this replica's copy, which may be behind */
        mx_err err = {0};
        catview *v = wk_catview(r->worker, wk_lease_model(r->lease), &err);
        const cat_item *rec = v ? cat_snapshot_find(catview_snapshot(v), r->param) : NULL;
        json_t *text = rec ? cat_item_json(rec) : NULL;
        char *s = text ? json_dumps(text, JSON_COMPACT) : NULL;
        answer_record(r, s, s ? strlen(s) : 0, "cached");
        free(s);
        json_decref(text);
    }
    api_finish(r);
}

void api_catalog_get(api_req *r) {
    char key[CATSTORE_KEY_MAX];
    const char *argv[] = {"HGET", catstore_key(r->env->cfg, CATSTORE_ITEMS, key), r->param};
    size_t len[] = {4, strlen(key), strlen(r->param)};
    sess_command(wk_sessions(r->worker), 3, argv, len, on_get, r);
}

static void on_changed(void *arg, int ok, const struct redisReply *reply, const char *error) {
    api_req *r = arg;
    if (ok && reply->type == REDIS_REPLY_STRING)
        answer_record(r, reply->str, (size_t)reply->len, "redis");
    else if (error && strstr(error, "NOTFOUND"))
        api_error(r, API_NOT_FOUND, "unknown_item",
                  "item '%s' is neither in the model nor in the catalogue", r->param);
    else
        api_error(r, API_UNAVAILABLE, "catalogue_unavailable", "the change was not stored: %s",
                  error ? error : "unexpected reply from redis");
    api_finish(r);
}

static void change(api_req *r, int mode) {
    const mx_model *m = wk_lease_model(r->lease);
    json_t *body = api_body_object(r, mode == CAT_PUT ? "title,categories,vector,hidden,expires_at"
                                                      : "hidden,expires_at,title,categories");
    if (!body) {
        api_finish(r);
        return;
    }
    json_t *patch = NULL;
    int status = 0;
    char field[64];
    mx_err err = {0};
    int rc = cat_change_of(body, mode, m->dim, &patch, &status, field, sizeof(field), &err);
    json_decref(body);
    if (rc) {
        json_t *o = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", "invalid_item", "message",
                              err.msg, "field", field);
        api_respond(r, status, json_dumps(o, JSON_COMPACT));
        json_decref(o);
        api_finish(r);
        return;
    }
    char *text = json_dumps(patch, JSON_COMPACT);
    json_decref(patch);
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
    char items[CATSTORE_KEY_MAX], channel[CATSTORE_KEY_MAX];
    const char *argv[] = {"EVAL",
                          merge_script,
                          "2",
                          catstore_key(r->env->cfg, CATSTORE_ITEMS, items),
                          catstore_key(r->env->cfg, CATSTORE_CHANNEL, channel),
                          r->param,
                          text ? text : "{}",
                          now,
                          mode == CAT_PUT ? "put" : "patch",
                          model_item(m, r->param) >= 0 ? "1" : "0"};
    size_t len[10];
    for (int i = 0; i < 10; i++)
        len[i] = strlen(argv[i]);
    sess_command_within(wk_sessions(r->worker), api_admin_deadline_ms(r->env->cfg), 10, argv, len,
                        on_changed, r);
    free(text);
}

void api_catalog_patch(api_req *r) {
    change(r, CAT_PATCH);
}

void api_catalog_put(api_req *r) {
    change(r, CAT_PUT);
}

/* Whether record it is in the list `state` asks for. */
static int in_state(const cat_item *it, const char *state, int in_model, int64_t now) {
    if (!strcmp(state, "all")) return 1;
    if (!strcmp(state, "hidden")) return (it->flags & CAT_HIDDEN) != 0;
    if (!strcmp(state, "expired")) return it->expires_at && it->expires_at <= now;
    if (!strcmp(state, "expiring")) return it->expires_at > now;
    if (!strcmp(state, "new")) return !in_model && (it->flags & CAT_NEW);
    return 0;
}

void api_catalog_list(api_req *r) {
    const mx_model *m = wk_lease_model(r->lease);
    const char *state = api_query(r, "state");
    const char *lim = api_query(r, "limit");
    if (!state) state = "all";
    if (strcmp(state, "all") && strcmp(state, "hidden") && strcmp(state, "expired") &&
        strcmp(state, "expiring") && strcmp(state, "new")) {
        api_error(r, API_BAD_REQUEST, "invalid_parameter",
                  "state: one of all, hidden, expired, expiring, new");
        api_finish(r);
        return;
    }
    char *end = NULL;
    long limit = lim ? strtol(lim, &end, 10) : 100;
    if (lim && (*end || end == lim || limit < 1 || limit > 1000)) {
        api_error(r, API_BAD_REQUEST, "invalid_parameter", "limit: an integer from 1 to 1000");
        api_finish(r);
        return;
    }
    mx_err err = {0};
    catview *v = wk_catview(r->worker, m, &err);
    if (!v) {
        api_error(r, API_INTERNAL_ERROR, "internal", "%s", err.msg);
        api_finish(r);
        return;
    }
    const cat_snapshot *snap = catview_snapshot(v);
    int64_t now = (int64_t)time(NULL);
    json_t *arr = json_array();
    size_t total = 0;
    for (size_t i = 0; i < cat_snapshot_count(snap); i++) {
        const cat_item *it = cat_snapshot_at(snap, i);
        if (!in_state(it, state, model_item(m, it->id) >= 0, now)) continue;
        if (total++ < (size_t)limit) json_array_append_new(arr, item_json(m, it->id, it, now));
    }
    catstore *store = wk_catalog(r->env->pool);
    json_t *o =
        json_pack("{s:s,s:I,s:o}", "state", state, "total", (json_int_t)total, "items", arr);
    json_object_set_new(o, "read_at",
                        store && catstore_last_read(store) ? json_integer(catstore_last_read(store))
                                                           : json_null());
    api_respond_json(r, o);
    api_finish(r);
}

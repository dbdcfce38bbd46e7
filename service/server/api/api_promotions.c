/* api_promotions.c - see api_promotions.h. */
#include "api_promotions.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "catstore.h"
#include "promo.h"

/* A request waiting for Redis. */
typedef struct promo_op {
    api_req *r;
    promo_list *settings; /* catalog.promotions, parsed for this request */
    promo_list *admin;    /* PUT: the list being stored */
    char *text;           /* PUT: its JSON text */
} promo_op;

static void op_free(promo_op *op) {
    if (!op) return;
    promo_list_free(op->settings);
    promo_list_free(op->admin);
    free(op->text);
    free(op);
}

/* Answers 422 with the field that is wrong. */
static void refuse(api_req *r, const char *field, const mx_err *err) {
    json_t *o = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", "invalid_promotions", "message",
                          err->msg, "field", field);
    api_respond(r, API_UNPROCESSABLE_CONTENT, o ? json_dumps(o, JSON_COMPACT) : NULL);
    json_decref(o);
}

static void add_all(json_t *arr, const promo_list *l, const char *source, int64_t now) {
    for (size_t i = 0; i < promo_count(l); i++) {
        json_t *o = promo_json(l, i);
        json_object_set_new(o, "source", json_string(source));
        json_object_set_new(o, "active", json_boolean(promo_active(promo_at(l, i), now)));
        json_array_append_new(arr, o);
    }
}

/* {"promotions": [the settings', then the admin list]} */
static void answer(api_req *r, const promo_list *settings, const promo_list *admin) {
    int64_t now = (int64_t)time(NULL);
    json_t *arr = json_array();
    add_all(arr, settings, "settings", now);
    add_all(arr, admin, "admin", now);
    api_respond_json(r, json_pack("{s:o}", "promotions", arr));
}

/* A new op with the settings' list parsed, or NULL with the answer set. */
static promo_op *op_new(api_req *r) {
    promo_op *op = calloc(1, sizeof(*op));
    mx_err err = {0};
    if (!op) {
        api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        return NULL;
    }
    op->r = r;
    if (promo_parse_text(r->env->cfg->catalog_promotions, "catalog.promotions", r->env->cfg->max_k,
                         &op->settings, NULL, 0, &err)) {
        /* checked at start-up: only OOM gets here */
        api_error(r, API_INTERNAL_ERROR, "internal", "%s", err.msg);
        op_free(op);
        return NULL;
    }
    return op;
}

static void on_get(void *arg, int ok, const struct redisReply *reply, const char *error) {
    promo_op *op = arg;
    api_req *r = op->r;
    promo_list *admin = NULL;
    mx_err err = {0};
    if (!ok || !reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
        api_error(r, API_UNAVAILABLE, "redis_unavailable", "promotions were not read: %s",
                  error ? error : "unexpected reply");
    } else if (promo_parse_text(reply->type == REDIS_REPLY_STRING ? reply->str : "", "stored",
                                r->env->cfg->max_k, &admin, NULL, 0, &err)) {
        /* written by something other than this route */
        api_error(r, API_INTERNAL_ERROR, "internal",
                  "the promotions stored at %s" CATSTORE_PROMOTIONS " are invalid (%s); PUT a "
                  "list to replace them",
                  r->env->cfg->redis_prefix, err.msg);
    } else {
        answer(r, op->settings, admin);
    }
    promo_list_free(admin);
    op_free(op);
    api_finish(r);
}

void api_promotions_get(api_req *r) {
    promo_op *op = op_new(r);
    sess_client *sc = op ? api_redis(r, "promotions were not read") : NULL;
    if (!sc) {
        op_free(op);
        api_finish(r);
        return;
    }
    char key[CATSTORE_KEY_MAX];
    const char *argv[] = {"GET", catstore_key(r->env->cfg, CATSTORE_PROMOTIONS, key)};
    sess_command_within(sc, api_admin_deadline_ms(r->env->cfg), 2, argv, NULL, on_get, op);
}

static void on_put(void *arg, int ok, const struct redisReply *reply, const char *error) {
    promo_op *op = arg;
    api_req *r = op->r;
    if (!ok || !reply)
        api_error(r, API_UNAVAILABLE, "redis_unavailable",
                  "promotions were not stored (or not confirmed; a PUT may be repeated): %s",
                  error ? error : "redis is unavailable");
    else
        answer(r, op->settings, op->admin);
    op_free(op);
    api_finish(r);
}

/* The key and the change notice together: a replica that hears the notice
 * reads the new list, never the old one. */
static const char set_and_publish[] =
    "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('PUBLISH', ARGV[2], ARGV[3])";

void api_promotions_put(api_req *r) {
    json_t *body = api_body_object(r, "promotions");
    promo_op *op = body ? op_new(r) : NULL;
    const json_t *arr = json_object_get(body, "promotions");
    char field[PROMO_FIELD_MAX];
    mx_err err = {0};
    sess_client *sc = NULL;
    if (!op) {
        /* answered */
    } else if (!arr) {
        api_error(r, API_BAD_REQUEST, "bad_parameter",
                  "the body is {\"promotions\": [...]} (an empty array removes them all)");
    } else if (promo_parse(arr, "promotions", r->env->cfg->max_k, &op->admin, field, sizeof(field),
                           &err) ||
               promo_check_union(op->settings, op->admin, "promotions", field, sizeof(field),
                                 &err)) {
        if (err.code == MX_ENOMEM)
            api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        else
            refuse(r, field, &err);
    } else {
        json_t *stored = promo_list_json(op->admin);
        op->text = stored ? json_dumps(stored, JSON_COMPACT) : NULL;
        json_decref(stored);
        if (!op->text)
            api_error(r, API_INTERNAL_ERROR, "internal", "out of memory");
        else
            sc = api_redis(r, "promotions were not stored");
    }
    json_decref(body);
    if (!sc) {
        op_free(op);
        api_finish(r);
        return;
    }
    char key[CATSTORE_KEY_MAX], channel[CATSTORE_KEY_MAX];
    const char *argv[] = {"EVAL",       set_and_publish,
                          "1",          catstore_key(r->env->cfg, CATSTORE_PROMOTIONS, key),
                          op->text,     catstore_key(r->env->cfg, CATSTORE_CHANNEL, channel),
                          PROMO_MESSAGE};
    sess_command_within(sc, api_admin_deadline_ms(r->env->cfg), 7, argv, NULL, on_put, op);
}

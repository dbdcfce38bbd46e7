/* tenants.c - see tenants.h. */
#include "tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

typedef struct tn_tenant {
    char name[TN_MAX_NAME + 1];
    srv_config *cfg;
} tn_tenant;

struct tn_list {
    tn_tenant t[TN_MAX];
    size_t n;
};

/* Settings of the whole server: the HTTP transport, the log and the
 * proxies are one for every tenant. */
static const char *const server_wide[] = {"server.listen",
                                          "server.ui_dir",
                                          "server.trusted_proxies",
                                          "limits.max_body_bytes",
                                          "limits.max_header_bytes",
                                          "limits.request_timeout_s",
                                          "limits.max_connections",
                                          "limits.rate_clients",
                                          "cors.origins",
                                          "log.level",
                                          "tenants.list",
                                          NULL};

int tn_name_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > TN_MAX_NAME || name[0] == '_' || name[0] == '-') return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* A JSON value as the text --set takes (lists and objects as JSON). */
static char *value_text(const json_t *v) {
    char buf[64];
    if (json_is_string(v)) return strdup(json_string_value(v));
    if (json_is_boolean(v)) return strdup(json_is_true(v) ? "true" : "false");
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        return strdup(buf);
    }
    if (json_is_array(v) || json_is_object(v)) return json_dumps(v, JSON_COMPACT);
    return strdup(""); /* null: the empty value */
}

static int set_one(srv_config *c, const char *at, const char *name, const json_t *v, mx_err *err) {
    for (int i = 0; server_wide[i]; i++)
        if (!strcmp(name, server_wide[i]))
            return mx_err_set(err, MX_EINVAL,
                              "%s: %s belongs to the whole server: set it at the top level", at,
                              name);
    char *text = value_text(v);
    if (!text) return mx_err_set(err, MX_ENOMEM, "out of memory");
    mx_err e = {0};
    int rc = srv_config_set(c, name, text, &e);
    free(text);
    return rc ? mx_err_set(err, MX_EINVAL, "%s: %s", at, e.msg) : 0;
}

/* The settings of one tenant (o) on top of base's. */
static int tenant_config(const srv_config *base, const json_t *o, const char *at, tn_tenant *t,
                         mx_err *err) {
    static const char *const fields[] = {"name", "model_dir", "keys", "settings", NULL};
    const char *f;
    json_t *v;
    json_object_foreach((json_t *)o, f, v) {
        int known = 0;
        for (int i = 0; fields[i]; i++)
            known |= !strcmp(f, fields[i]);
        if (!known)
            return mx_err_set(err, MX_EINVAL,
                              "%s: unknown field '%s' (name, model_dir, keys, settings)", at, f);
    }
    srv_config *c = t->cfg;
    *c = *base;
    c->tenants_list[0] = 0;
    c->n_api_keys = 0;
    c->auth_keys[0] = 0;
    c->model_dir[0] = 0;
    c->catalog_promotions[0] = 0; /* they name the default tenant's items and users */
    c->experiments_list[0] = 0;
    snprintf(c->redis_prefix, sizeof(c->redis_prefix), "mixrec@%s:", t->name);
    snprintf(c->log_events_stream, sizeof(c->log_events_stream), "%sevents", c->redis_prefix);
    snprintf(c->log_impressions_stream, sizeof(c->log_impressions_stream), "%simpressions",
             c->redis_prefix);
    const json_t *md = json_object_get(o, "model_dir"), *keys = json_object_get(o, "keys"),
                 *set = json_object_get(o, "settings");
    if (md && set_one(c, at, "server.model_dir", md, err)) return MX_EINVAL;
    if (keys && set_one(c, at, "auth.keys", keys, err)) return MX_EINVAL;
    if (set && !json_is_object(set))
        return mx_err_set(err, MX_EINVAL, "%s.settings: expected an object of settings", at);
    const char *name;
    json_t *val;
    json_object_foreach((json_t *)set, name, val) {
        if (set_one(c, at, name, val, err)) return MX_EINVAL;
    }
    mx_err e = {0};
    if (srv_config_validate(c, &e)) return mx_err_set(err, MX_EINVAL, "%s: %s", at, e.msg);
    return 0;
}

static int parse_tenant(const srv_config *base, const json_t *o, size_t i, tn_list *l,
                        mx_err *err) {
    char at[64];
    snprintf(at, sizeof(at), "tenants.list[%zu]", i);
    if (!json_is_object(o)) return mx_err_set(err, MX_EINVAL, "%s: expected an object", at);
    const char *name = json_string_value(json_object_get(o, "name"));
    if (!name || !tn_name_valid(name) || !strcmp(name, TN_DEFAULT))
        return mx_err_set(err, MX_EINVAL,
                          "%s.name: expected 1..%d of a-z, 0-9, '_', '-' (not \"default\", the "
                          "top level's)",
                          at, TN_MAX_NAME);
    for (size_t j = 0; j < l->n; j++)
        if (!strcmp(l->t[j].name, name))
            return mx_err_set(err, MX_EINVAL, "%s: the tenant '%s' again", at, name);
    tn_tenant *t = &l->t[l->n];
    snprintf(t->name, sizeof(t->name), "%s", name);
    if (!(t->cfg = malloc(sizeof(*t->cfg)))) return mx_err_set(err, MX_ENOMEM, "out of memory");
    l->n++; /* freed with the list from here on */
    snprintf(at + strlen(at), sizeof(at) - strlen(at), " (%s)", name);
    return tenant_config(base, o, at, t, err);
}

int tn_parse(const srv_config *base, tn_list **out, mx_err *err) {
    *out = NULL;
    tn_list *l = calloc(1, sizeof(*l));
    if (!l) return mx_err_set(err, MX_ENOMEM, "out of memory");
    json_t *arr = NULL;
    int rc = 0;
    if (base->tenants_list[0]) {
        json_error_t je;
        arr = json_loads(base->tenants_list, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_array(arr))
            rc = mx_err_set(err, MX_EINVAL, "tenants.list: expected a JSON array of tenants (%s)",
                            arr ? "not an array" : je.text);
        else if (json_array_size(arr) > TN_MAX)
            rc = mx_err_set(err, MX_EINVAL, "tenants.list: at most %d tenants", TN_MAX);
    }
    for (size_t i = 0; !rc && i < json_array_size(arr); i++)
        rc = parse_tenant(base, json_array_get(arr, i), i, l, err);
    json_decref(arr);
    if (rc) {
        tn_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void tn_list_free(tn_list *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++)
        free(l->t[i].cfg);
    free(l);
}

size_t tn_count(const tn_list *l) {
    return l->n;
}

const char *tn_name(const tn_list *l, size_t i) {
    return l->t[i].name;
}

const srv_config *tn_config(const tn_list *l, size_t i) {
    return l->t[i].cfg;
}

/* experiment.c - parsing experiments and assigning ids; see experiment.h. */
#include "experiment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "jfield.h"

/* Shares are decimal text: 0.7 + 0.2 + 0.1 is 1.0000000000000002 in
 * binary, and must pass. */
#define SHARE_EPS 1e-9

struct experiment_list {
    json_t *json; /* a private deep copy: the strings below point into it */
    size_t n;
    experiment *e;
    experiment_variant *v; /* every experiment's variants, back to back */
    srv_config *cfg;       /* one per variant */
};

/* The settings a request's answer depends on and nothing else does: the
 * ones api_rec_params and the catalogue read per request. */
static const char *const per_request[] = {"ranking.enabled",       "ranking.per_interest_cap",
                                          "ranking.session_quota", "ranking.mmr_lambda",
                                          "session.half_life_s",   "session.strength",
                                          "catalog.fresh_share",   "explore.share",
                                          "explore.depth",         NULL};

const char *const *experiment_per_request(void) {
    return per_request;
}

static int is_per_request(const char *name) {
    for (size_t i = 0; per_request[i]; i++)
        if (!strcmp(per_request[i], name)) return 1;
    return 0;
}

/* A JSON scalar as the text `--set` takes. */
static int setting_text(const json_t *v, char *buf, size_t n) {
    if (json_is_boolean(v)) return snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false"), 0;
    if (json_is_integer(v)) return snprintf(buf, n, "%lld", (long long)json_integer_value(v)), 0;
    if (json_is_real(v)) return snprintf(buf, n, "%.17g", json_real_value(v)), 0;
    if (json_is_string(v) && json_string_length(v) < n)
        return snprintf(buf, n, "%s", json_string_value(v)), 0;
    return -1;
}

static int unknown_keys(const json_t *o, const char *at, const char *const *keys, const char *what,
                        char *field, size_t fsz, mx_err *err) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int known = 0;
        for (size_t i = 0; keys[i]; i++)
            known |= !strcmp(key, keys[i]);
        if (!known) {
            char f[JFIELD_MAX];
            jfield_at(f, at, ".%.32s", key);
            return jfield_fail(field, fsz, f, err, "unknown field; %s", what);
        }
    }
    return 0;
}

/* The variant's settings object applied to its copy of the base. */
static int apply_settings(const json_t *set, const char *at, experiment_variant *v, srv_config *cfg,
                          char *field, size_t fsz, mx_err *err) {
    char f[JFIELD_MAX];
    jfield_at(f, at, ".settings");
    if (!set) return 0;
    if (!json_is_object(set))
        return jfield_fail(field, fsz, f, err, "settings are an object of setting: value");
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)set, key, val) {
        jfield_at(f, at, ".settings.%.48s", key);
        if (!is_per_request(key))
            return jfield_fail(field, fsz, f, err,
                               "not a setting a variant may change; those are ranking.enabled, "
                               "ranking.per_interest_cap, ranking.session_quota, "
                               "ranking.mmr_lambda, session.half_life_s, session.strength");
        char text[128];
        if (setting_text(val, text, sizeof(text)))
            return jfield_fail(field, fsz, f, err, "a value is a boolean, a number or a string");
        mx_err e = {0};
        if (srv_config_set(cfg, key, text, &e)) return jfield_fail(field, fsz, f, err, "%s", e.msg);
        v->n_overrides++;
    }
    return 0;
}

static int parse_variant(const json_t *o, const char *at, experiment_variant *v, srv_config *cfg,
                         char *field, size_t fsz, mx_err *err) {
    static const char *const keys[] = {"name", "share", "settings", NULL};
    char f[JFIELD_MAX];
    if (!json_is_object(o)) return jfield_fail(field, fsz, at, err, "a variant is an object");
    int rc = unknown_keys(o, at, keys, "a variant takes name, share, settings", field, fsz, err);
    if (rc) return rc;
    if ((rc = jfield_name(o, at, EXPERIMENT_MAX_NAME, &v->name, field, fsz, err))) return rc;
    const json_t *share = json_object_get(o, "share");
    jfield_at(f, at, ".share");
    double s = json_is_number(share) ? json_number_value(share) : -1;
    if (!(s > 0 && s <= 1)) return jfield_fail(field, fsz, f, err, "share must be in (0, 1]");
    v->share = s;
    v->cfg = cfg;
    return apply_settings(json_object_get(o, "settings"), at, v, cfg, field, fsz, err);
}

static int parse_head(const json_t *o, const char *at, experiment *e, char *field, size_t fsz,
                      mx_err *err) {
    static const char *const keys[] = {"name", "salt", "audience", "mode", "variants", NULL};
    char f[JFIELD_MAX];
    if (!json_is_object(o)) return jfield_fail(field, fsz, at, err, "an experiment is an object");
    int rc = unknown_keys(o, at, keys, "an experiment takes name, salt, audience, mode, variants",
                          field, fsz, err);
    if (rc) return rc;
    if ((rc = jfield_name(o, at, EXPERIMENT_MAX_NAME, &e->name, field, fsz, err))) return rc;
    e->salt = e->name;
    const json_t *salt = json_object_get(o, "salt");
    const json_t *aud = json_object_get(o, "audience"), *mode = json_object_get(o, "mode");
    jfield_at(f, at, ".salt");
    if (salt && (!json_is_string(salt) || json_string_length(salt) < 1 ||
                 json_string_length(salt) > EXPERIMENT_MAX_NAME ||
                 strlen(json_string_value(salt)) != json_string_length(salt)))
        return jfield_fail(field, fsz, f, err, "a salt is a string of 1..%d bytes",
                           EXPERIMENT_MAX_NAME);
    if (salt) e->salt = json_string_value(salt);
    jfield_at(f, at, ".audience");
    e->audience = aud && json_is_number(aud) ? json_number_value(aud) : aud ? -1 : 1;
    if (!(e->audience > 0 && e->audience <= 1))
        return jfield_fail(field, fsz, f, err, "audience must be in (0, 1]");
    jfield_at(f, at, ".mode");
    const char *m = mode ? json_string_value(mode) : "ab";
    if (!m || (strcmp(m, "ab") && strcmp(m, "interleave")))
        return jfield_fail(field, fsz, f, err, "mode is \"ab\" or \"interleave\"");
    e->mode = !strcmp(m, "ab") ? EXPERIMENT_AB : EXPERIMENT_INTERLEAVE;
    return 0;
}

/* Checks and fills experiment e from o (named at, "experiments[1]"); its
 * variants go to v, their configurations (copies of base) to cfg. */
static int parse_one(const json_t *o, const char *at, const srv_config *base, experiment *e,
                     experiment_variant *v, srv_config *cfg, char *field, size_t fsz, mx_err *err) {
    int rc = parse_head(o, at, e, field, fsz, err);
    if (rc) return rc;
    char f[JFIELD_MAX];
    const json_t *vars = json_object_get(o, "variants");
    jfield_at(f, at, ".variants");
    size_t nv = json_array_size(vars);
    if (!json_is_array(vars) || nv < 2 || nv > EXPERIMENT_MAX_VARIANTS)
        return jfield_fail(field, fsz, f, err, "variants are an array of 2..%d objects",
                           EXPERIMENT_MAX_VARIANTS);
    if (e->mode == EXPERIMENT_INTERLEAVE && nv != 2)
        return jfield_fail(field, fsz, f, err, "interleaving compares exactly two variants");
    double sum = 0;
    for (size_t i = 0; i < nv; i++) {
        char vat[JFIELD_MAX];
        jfield_at(vat, at, ".variants[%zu]", i);
        memcpy(&cfg[i], base, sizeof(srv_config));
        if ((rc = parse_variant(json_array_get(vars, i), vat, &v[i], &cfg[i], field, fsz, err)))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(v[i].name, v[j].name)) {
                jfield_at(f, vat, ".name");
                return jfield_fail(field, fsz, f, err, "duplicate variant name '%s'", v[i].name);
            }
        sum += v[i].share;
    }
    if (sum < 1 - SHARE_EPS || sum > 1 + SHARE_EPS) {
        jfield_at(f, at, ".variants");
        return jfield_fail(field, fsz, f, err, "the variants' shares sum to %g, not 1", sum);
    }
    e->variants = v;
    e->n_variants = nv;
    return 0;
}

/* 13 bits of a hash of name and salt, 1..8191, shifted over the variant's
 * 3 bits. */
static unsigned tag_of(const experiment *e) {
    uint64_t h = hash_fnv1a(HASH_FNV_BASIS, e->name, strlen(e->name) + 1);
    h = hash_fnv1a(h, e->salt, strlen(e->salt));
    return (unsigned)(h % 8191 + 1) << 3;
}

void experiment_list_free(experiment_list *l) {
    if (!l) return;
    json_decref(l->json);
    free(l->e);
    free(l->v);
    free(l->cfg);
    free(l);
}

int experiment_parse(const json_t *arr, const char *what, const srv_config *base,
                     experiment_list **out, char *field, size_t field_size, mx_err *err) {
    *out = NULL;
    if (field && field_size) field[0] = 0;
    if (!json_is_array(arr))
        return jfield_fail(field, field_size, what, err, "experiments are a JSON array of objects");
    if (json_array_size(arr) > EXPERIMENT_MAX)
        return jfield_fail(field, field_size, what, err, "at most %d experiments", EXPERIMENT_MAX);
    experiment_list *l = calloc(1, sizeof(*l));
    if (!l) return mx_err_set(err, MX_ENOMEM, "out of memory for experiments");
    l->json = json_deep_copy(arr);
    l->n = json_array_size(arr);
    /* a configuration per variant (one is tens of kB): as many as given */
    size_t slots = 0;
    for (size_t i = 0; i < l->n; i++) {
        size_t nv = json_array_size(json_object_get(json_array_get(arr, i), "variants"));
        slots += nv < EXPERIMENT_MAX_VARIANTS ? nv : EXPERIMENT_MAX_VARIANTS;
    }
    if (!slots) slots = 1;
    l->e = calloc(l->n ? l->n : 1, sizeof(experiment));
    l->v = calloc(slots, sizeof(experiment_variant));
    l->cfg = calloc(slots, sizeof(srv_config));
    if (!l->json || !l->e || !l->v || !l->cfg) {
        experiment_list_free(l);
        return mx_err_set(err, MX_ENOMEM, "out of memory for experiments");
    }
    for (size_t i = 0, first = 0; i < l->n; i++) {
        char at[JFIELD_MAX];
        snprintf(at, sizeof(at), "%s[%zu]", what, i);
        int rc = parse_one(json_array_get(l->json, i), at, base, &l->e[i], l->v + first,
                           l->cfg + first, field, field_size, err);
        if (!rc) l->e[i].tag = tag_of(&l->e[i]);
        for (size_t j = 0; j < i && !rc; j++) {
            char f[JFIELD_MAX];
            jfield_at(f, at, ".name");
            if (!strcmp(l->e[i].name, l->e[j].name))
                rc = jfield_fail(field, field_size, f, err, "duplicate experiment name '%s'",
                                 l->e[i].name);
            else if (l->e[i].tag == l->e[j].tag)
                rc = jfield_fail(field, field_size, f, err,
                                 "'%s' and '%s' hash to the same tag: change one's salt",
                                 l->e[i].name, l->e[j].name);
        }
        if (rc) {
            experiment_list_free(l);
            return rc;
        }
        first += l->e[i].n_variants;
    }
    *out = l;
    return 0;
}

int experiment_parse_text(const char *text, const char *what, const srv_config *base,
                          experiment_list **out, char *field, size_t field_size, mx_err *err) {
    *out = NULL;
    json_t *arr;
    int rc = jfield_load_list(text, what, &arr, field, field_size, err);
    if (rc) return rc;
    rc = experiment_parse(arr, what, base, out, field, field_size, err);
    json_decref(arr);
    return rc;
}

size_t experiment_count(const experiment_list *l) {
    return l ? l->n : 0;
}

const experiment *experiment_at(const experiment_list *l, size_t i) {
    return &l->e[i];
}

/* A 64-bit finaliser (splitmix64's): FNV-1a's low bits follow the last
 * bytes of the id too closely for a split by share. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

int experiment_assign(const experiment *e, const char *id) {
    uint64_t h = hash_fnv1a(HASH_FNV_BASIS, e->salt, strlen(e->salt));
    h = hash_fnv1a(h, "\x1f", 1); /* "ab" + "c" and "a" + "bc" differ */
    h = hash_fnv1a(h, id, strlen(id));
    double u = (double)(mix64(h) >> 11) * 0x1.0p-53; /* [0, 1) */
    if (u >= e->audience) return -1;
    double x = u / e->audience, cum = 0;
    for (size_t i = 0; i < e->n_variants; i++) {
        cum += e->variants[i].share;
        if (x < cum) return (int)i;
    }
    return (int)e->n_variants - 1; /* shares summing to 1 - 1e-9 */
}

const experiment_variant *experiment_pick(const experiment_list *l, const char *id,
                                          const experiment **e) {
    *e = NULL;
    for (size_t i = 0; id && i < experiment_count(l); i++) {
        int v = experiment_assign(&l->e[i], id);
        if (v >= 0) {
            *e = &l->e[i];
            return &l->e[i].variants[v];
        }
    }
    return NULL;
}

unsigned experiment_variant_tag(const experiment *e, size_t v) {
    return e->tag | (unsigned)v;
}

int experiment_of_tag(const experiment_list *l, unsigned tag, size_t *index) {
    for (size_t i = 0; tag && i < experiment_count(l); i++)
        if (l->e[i].tag == (tag & ~7u) &&
            ((tag & 7u) < l->e[i].n_variants ||
             ((tag & 7u) == EXPERIMENT_TEAMS && l->e[i].mode == EXPERIMENT_INTERLEAVE))) {
            *index = i;
            return (int)(tag & 7u);
        }
    return -1;
}

json_t *experiment_json(const experiment_list *l, size_t i) {
    const experiment *e = &l->e[i];
    json_t *o = json_deep_copy(json_array_get(l->json, i));
    json_object_set_new(o, "salt", json_string(e->salt));
    json_object_set_new(o, "audience", json_real(e->audience));
    json_object_set_new(o, "mode", json_string(e->mode == EXPERIMENT_AB ? "ab" : "interleave"));
    char tag[12];
    snprintf(tag, sizeof(tag), "%04x", (e->tag >> 3) & 0xffffu);
    json_object_set_new(o, "tag", json_string(tag));
    return o;
}

const experiment *experiment_named(const experiment_list *l, const char *name) {
    for (size_t i = 0; name && i < experiment_count(l); i++)
        if (!strcmp(l->e[i].name, name)) return &l->e[i];
    return NULL;
}

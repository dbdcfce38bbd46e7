/* fuzz_config.c - the settings engine (settings.h) through its two tables,
 * the service's and the build's: the JSON config file
 * (srv_config_load_file, bcfg_load_file, and the lenient reader of model
 * manifests, bcfg_restore_json), MIXREC_ environment variables
 * (srv_config_load_env) and name=value settings (--set). Input: one
 * selector byte (0: file, 1: environment, 2: settings) then the file, or
 * lines NAME=VALUE. */
#include <jansson.h>

#include "fuzz_common.h"
#include "srv_config.h"

/* What the build trusts: every enum names a value, and the settings as
 * JSON read back to the same text. */
static void check_build(const bcfg *b) {
    size_t n = 0;
    const bcfg_entry *e = bcfg_entries(&n);
    json_t *j = bcfg_to_json(b);
    bcfg back;
    bcfg_init(&back);
    bcfg_restore_json(&back, j);
    json_decref(j);
    for (size_t i = 0; i < n; i++) {
        char v1[64], v2[64];
        bcfg_format_value(b, &e[i], v1, sizeof(v1));
        bcfg_format_value(&back, &e[i], v2, sizeof(v2));
        if (!strcmp(v1, "?")) FZ_DIE("%s: an enum out of range", e[i].name);
        if (strcmp(v1, v2)) FZ_DIE("%s: %s written, %s read back", e[i].name, v1, v2);
    }
}

static void check_limits(const srv_config *c) {
    /* What the server trusts once the configuration is accepted. */
    if (c->n_api_keys < 0 || c->n_api_keys > SRV_MAX_LIST || c->n_cors_origins < 0 ||
        c->n_cors_origins > SRV_MAX_LIST)
        FZ_DIE("list count out of range");
    if (!memchr(c->listen_host, 0, sizeof(c->listen_host)) ||
        !memchr(c->model_dir, 0, sizeof(c->model_dir)) ||
        !memchr(c->redis_url, 0, sizeof(c->redis_url)))
        FZ_DIE("unterminated string");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0] % 3;
    srv_config c;
    srv_config_init(&c);
    bcfg b;
    bcfg_init(&b);
    mx_err err = {0};
    int rc = 0;
    if (mode == 0) {
        char p[600];
        if (snprintf(p, sizeof(p), "%s/config.json", fz_dir()) >= (int)sizeof(p))
            FZ_DIE("path too long");
        fz_write(p, data + 1, size - 1);
        rc = srv_config_load_file(&c, p, &err);
        mx_err err2 = {0};
        if (bcfg_load_file(&b, p, &err2) == 0)
            bcfg_finish(&b);
        else if (!err2.msg[0])
            FZ_DIE("a build config error without a message");
        json_t *root = json_load_file(p, 0, NULL);
        if (root) { /* as a model manifest's parameters: never fails */
            bcfg m;
            bcfg_init(&m);
            bcfg_restore_json(&m, root);
            check_build(&m);
            json_decref(root);
        }
    } else {
        /* Lines, at most 64 of them. */
        char *text = malloc(size);
        if (!text) return 0;
        memcpy(text, data + 1, size - 1);
        text[size - 1] = 0;
        char *lines[65];
        int n = 0;
        for (char *s = text, *save = NULL; n < 64 && (s = strtok_r(s, "\n", &save)); s = NULL)
            lines[n++] = s;
        lines[n] = NULL;
        if (mode == 1) {
            rc = srv_config_load_env(&c, lines, &err);
        } else {
            for (int i = 0; i < n && rc == 0; i++) {
                char *eq = strchr(lines[i], '=');
                if (!eq) continue;
                *eq = 0;
                rc = srv_config_set(&c, lines[i], eq + 1, &err);
                mx_err err2 = {0};
                if (bcfg_set(&b, lines[i], eq + 1, &err2) && !err2.msg[0])
                    FZ_DIE("a build setting error without a message");
            }
        }
        free(text);
    }
    if (rc && !err.msg[0]) FZ_DIE("a config error without a message");
    check_build(&b);
    if (rc == 0 && srv_config_validate(&c, &err) == 0) check_limits(&c);
    return 0;
}

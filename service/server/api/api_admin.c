/* api_admin.c - see api_admin.h. */
#include "api_admin.h"

int api_admin_reload_model(const api_env *env, char *version_out, size_t size, mx_err *err) {
    int rc = mh_reload(env->holder, env->cfg->model_dir, version_out, size, err);
    prom_reload(env->prom, rc == 0);
    return rc;
}

void api_admin_reload(api_req *r) {
    char version[64];
    mx_err err = {0};
    if (api_admin_reload_model(r->env, version, sizeof(version), &err) == 0)
        api_respond_json(r, json_pack("{s:s,s:s}", "status", "reloaded", "model_version", version));
    else
        api_error(r, API_UNPROCESSABLE_CONTENT, "model_rejected",
                  "the model was rejected, the previous one keeps serving: %s", err.msg);
    api_finish(r);
}

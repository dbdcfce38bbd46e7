/* api_admin.h - POST /v1/admin/reload: loads the model directory's
 * current version and swaps it in (model_holder.h); a broken model is
 * rejected with 422 and the old one keeps serving. Runs on a thread of its
 * own (loading blocks). */
#ifndef API_ADMIN_H
#define API_ADMIN_H

#include "api.h"

void api_admin_reload(api_req *r);

/* The reload itself, counted in the metrics; also what SIGHUP runs.
 * version_out receives the new version. Blocking; any thread. */
int api_admin_reload_model(const api_env *env, char *version_out, size_t size, mx_err *err);

#endif

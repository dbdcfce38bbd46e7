/* api_items.c - see api_items.h. */
#include "api_items.h"

static void similar(api_req *r) {
    const mx_model *m = wk_lease_model(r->lease);
    size_t k;
    if (api_param_k(r, api_query(r, "k"), NULL, &k)) return;
    int64_t it = model_item(m, r->param);
    if (it < 0) {
        api_error(r, API_NOT_FOUND, "unknown_item", "item '%s' is not in the model", r->param);
        return;
    }
    rec_item items[1000];
    size_t n = 0;
    mx_err err = {0};
    if (rec_similar(wk_lease_rec(r->lease), (uint32_t)it, k, NULL, 0, items, &n, &err)) {
        api_error(r, API_INTERNAL_ERROR, "internal", "%s", err.msg);
        return;
    }
    api_respond_json(r, json_pack("{s:s,s:s,s:o}", "item", r->param, "model_version", m->version,
                                  "items", api_items_json(m, items, n, 0)));
}

void api_items_similar(api_req *r) {
    similar(r);
    api_finish(r);
}

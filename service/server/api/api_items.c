/* api_items.c - see api_items.h. */
#include "api_items.h"

#include <time.h>

#include "rid.h"

static void similar(api_req *r) {
    const mx_model *m = wk_lease_model(r->lease);
    api_args args = {r, NULL};
    rec_query q = {0};
    api_ids exclude;
    api_filters filters;
    int explain;
    json_t *unknown = json_array();
    if (api_param_k(&args, &q.k) || api_param_flag(&args, "explain", 0, &explain) ||
        api_param_filters(&args, m, &filters) ||
        api_param_items(&args, m, "exclude", &exclude, unknown)) {
        json_decref(unknown);
        return;
    }
    q.exclude = exclude.ids;
    q.n_exclude = exclude.n;
    q.categories = filters.cats;
    q.n_categories = filters.n_cats;
    q.not_categories = filters.not_cats;
    q.n_not_categories = filters.n_not_cats;
    q.min_age_s = filters.min_age_s;
    q.max_age_s = filters.max_age_s;
    q.now = (int64_t)time(NULL);
    int64_t it = model_item(m, r->param);
    if (it < 0) { /* the resource itself: 404 (ids in parameters are listed instead) */
        api_error(r, API_NOT_FOUND, "unknown_item", "item '%s' is not in the model", r->param);
        json_decref(unknown);
        return;
    }
    mx_err err = {0};
    catview *cv = wk_catview(r->worker, m, &err);
    if (!cv) {
        api_error(r, API_INTERNAL_ERROR, "internal", "%s", err.msg);
        json_decref(unknown);
        return;
    }
    q.blocked = catview_blocked(cv, (int64_t)time(NULL), &q.n_blocked); /* hidden, expired */
    q.categories_of = catview_categories_of; /* the operators' categories */
    q.categories_arg = cv;
    rec_item items[1000];
    size_t n = 0;
    if (rec_similar(wk_lease_rec(r->lease), (uint32_t)it, &q, items, &n, &err)) {
        api_error(r, API_INTERNAL_ERROR, "internal", "%s", err.msg);
        json_decref(unknown);
        return;
    }
    json_t *o = json_pack("{s:s,s:s,s:o}", "item", r->param, "model_version", m->version, "items",
                          api_items_json(m, cv, items, n, explain));
    if (json_array_size(unknown)) json_object_set(o, "unknown_items", unknown);
    json_decref(unknown);
    implog_record rec = {.order = RID_ORDER_RETRIEVAL, /* nearest neighbours, never ranked */
                         .model = m,
                         .items = items,
                         .n_items = n,
                         .item = r->param,
                         .session = "none"};
    api_record_query(&rec, &q);
    api_impression(r, o, &rec);
    api_respond_json(r, o);
}

void api_items_similar(api_req *r) {
    similar(r);
    api_finish(r);
}

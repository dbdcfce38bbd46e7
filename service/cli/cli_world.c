/* cli_world.c - see cli_world.h. */
#include "cli_world.h"

#include <stdio.h>

#include <jansson.h>

int cli_world_save(const char *dir, const syn_params *p, mx_err *err) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/world.json", dir);
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:I,s:f,s:I,s:b}", "items",
        (json_int_t)p->n_items, "users", (json_int_t)p->n_users, "interests",
        (json_int_t)p->n_interests, "dim", (json_int_t)p->dim, "seed", (json_int_t)p->seed,
        "min_events", (json_int_t)p->min_events, "max_events", (json_int_t)p->max_events,
        "max_user_interests", (json_int_t)p->max_user_interests, "min_user_interests",
        (json_int_t)p->min_user_interests, "dominant", p->dominant, "item_noise",
        (double)p->item_noise, "zipf", p->zipf_s, "trend_items", (json_int_t)p->trend_items,
        "trend_share", p->trend_share, "t0", (json_int_t)p->t0, "cover_items", p->cover_items);
    int rc = o ? json_dump_file(o, path, JSON_INDENT(2)) : -1;
    json_decref(o);
    return rc ? mx_err_set(err, MX_EIO, "cannot write %s", path) : 0;
}

int cli_world_load(const char *dir, syn_params *p, mx_err *err) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/world.json", dir);
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        return mx_err_set(err, MX_EIO, "%s: %s (made by `mixrec synth --out %s`)", path, je.text,
                          dir);
    syn_params_init(p);
    json_int_t items = 0, users = 0, interests = 0, dim = 0, seed = 0, mn = 0, mx = 0, mui = 0,
               t0 = 0, minui = 1, trend_items = (json_int_t)p->trend_items;
    double noise = 0, zipf = 0, dominant = 0, trend_share = 0;
    int cover = 0;
    /* the options added with the worlds of tuning are optional: older
     * world.json files describe worlds drawn without them */
    int rc = json_unpack_ex(
        o, &je, JSON_STRICT, "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s?I,s?F,s:F,s:F,s?I,s?F,s:I,s:b}",
        "items", &items, "users", &users, "interests", &interests, "dim", &dim, "seed", &seed,
        "min_events", &mn, "max_events", &mx, "max_user_interests", &mui, "min_user_interests",
        &minui, "dominant", &dominant, "item_noise", &noise, "zipf", &zipf, "trend_items",
        &trend_items, "trend_share", &trend_share, "t0", &t0, "cover_items", &cover);
    json_decref(o);
    if (rc || items < 1 || users < 1 || interests < 1 || dim < 1 || mn < 1 || mx < mn || mui < 1 ||
        minui < 1 || minui > mui || trend_items < 1)
        return mx_err_set(err, MX_EFORMAT, "%s: not a world description%s%s", path, rc ? ": " : "",
                          rc ? je.text : "");
    p->n_items = (size_t)items, p->n_users = (size_t)users, p->n_interests = (size_t)interests;
    p->dim = (size_t)dim, p->seed = (uint64_t)seed, p->min_events = (size_t)mn;
    p->max_events = (size_t)mx, p->max_user_interests = (size_t)mui;
    p->item_noise = (float)noise, p->zipf_s = zipf, p->t0 = t0, p->cover_items = cover;
    p->min_user_interests = (size_t)minui, p->dominant = dominant;
    p->trend_items = (size_t)trend_items, p->trend_share = trend_share;
    return 0;
}

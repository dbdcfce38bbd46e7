/* api_params.h - the parameters every route shares: each parsed and
 * checked here, once, with one name, one meaning and one default, from
 * the query string of a GET or the JSON body of a POST (api.h's requests;
 * api.h includes this header).
 *
 * Threading: as the request (api.h). */
#ifndef API_PARAMS_H
#define API_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model.h"
#include "rec_filter.h"

typedef struct api_req api_req;

/* Every parameter has one name and one meaning on every route, read from
 * the query string of a GET or the JSON body of a POST/PUT/PATCH: an api_args says
 * which. */
typedef struct api_args {
    api_req *r;
    const json_t *body; /* NULL: the query string */
} api_args;

/* k: default 20, bounds 1..limits.max_k. 0, or -1 with a 400 answer. */
int api_param_k(const api_args *a, size_t *k);
/* A boolean: true/false/1/0 or JSON true/false; absent gives def. 0, or
 * -1 with a 400 answer. */
int api_param_flag(const api_args *a, const char *name, int def, int *out);
/* An id (user): a non-empty string of at most API_MAX_ID bytes, or absent
 * (*out NULL). 0, or -1 with a 400 answer. */
int api_param_id(const api_args *a, const char *name, const char **out);

#define API_MAX_IDS 256
#define API_MAX_CATEGORIES 16

/* Item ids resolved on a model: comma-separated in a query, an array of
 * strings in a body; at most API_MAX_IDS. Ids the model does not know are
 * not an error: they go to unknown (a JSON array, when not NULL), once.
 * 0, or -1 with a 400 answer naming the parameter. */
typedef struct api_ids {
    uint32_t ids[API_MAX_IDS];
    size_t n;
} api_ids;
int api_param_items(const api_args *a, const mx_model *m, const char *name, api_ids *out,
                    json_t *unknown);
/* `categories`: names resolved on a model, the same two forms, at most
 * API_MAX_CATEGORIES; an unknown name answers 400 unknown_category. */
int api_param_categories(const api_args *a, const mx_model *m, uint16_t *cats, size_t *n);

/* Longest duration a parameter takes: 100 years (longer is a mistake). */
#define API_MAX_DURATION_S 3155760000LL
/* A duration: in a query an integer with a unit s, m, h, d or w ("90m",
 * "7d") or plain seconds ("3600"); in a body that string or a number of
 * seconds. Not negative, at most API_MAX_DURATION_S. *s is -1 when the
 * parameter is absent. 0, or -1 with a 400 bad_parameter answer naming
 * it. */
int api_param_duration(const api_args *a, const char *name, int64_t *s);

/* The filters on item metadata every route answering items takes, the
 * same on each (recommend.h: rec_filter_admits):
 *   categories=a,b          keep items having any of them
 *   exclude_categories=c,d  drop items having any of them (wins)
 *   max_age=7d              only items first seen at most this long ago
 *   min_age=1h              only items first seen at least this long ago
 * Errors (400, naming the parameter): an unknown category
 * (unknown_category), a category both kept and dropped, a bad duration,
 * max_age 0, min_age above max_age (bad_parameter). */
#define API_FILTER_PARAMS "categories,exclude_categories,min_age,max_age"
typedef struct api_filters {
    uint16_t cats[API_MAX_CATEGORIES], not_cats[API_MAX_CATEGORIES];
    size_t n_cats, n_not_cats;
    int64_t min_age_s, max_age_s; /* 0: no bound */
} api_filters;
/* Reads f from a, names resolved on m. 0, or -1 with a 400 answer. */
int api_param_filters(const api_args *a, const mx_model *m, api_filters *f);

#endif

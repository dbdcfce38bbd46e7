/* api_recommendations.h - recommendations for a user or a visitor, on
 * three routes that take one vocabulary (API_RECOMMENDATIONS_PARAMS, plus
 * user where the path has none)
 * with one set of defaults and answer the same way:
 *   GET  /v1/users/{user}/recommendations   parameters in the query
 *   GET  /v1/recommendations?user=...       user optional (anonymous)
 *   POST /v1/recommendations {"user": ...}  parameters in the body
 * With a user (a model user or any visitor id events were posted for),
 * their session is read from Redis on every route. All on a worker, with
 * a model lease (api.h). `after` continues a chain of pages (api_pages.h). */
#ifndef API_RECOMMENDATIONS_H
#define API_RECOMMENDATIONS_H

#include "api.h"

/* The parameters of a recommendation, on every route that gives one (GET:
 * query, POST: body, which also takes "user"). */
#define API_RECOMMENDATIONS_PARAMS "k,exclude," API_FILTER_PARAMS ",recent_items,explain,after"

void api_recommendations_for_user(api_req *r);
void api_recommendations_get(api_req *r);
void api_recommendations_post(api_req *r);

#endif

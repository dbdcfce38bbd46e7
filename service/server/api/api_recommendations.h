/* api_recommendations.h - GET /v1/users/{user}/recommendations (the user's
 * long-term profile and their session in Redis) and POST
 * /v1/recommendations (anonymous or known user, items given in the body).
 * Both on a worker, with a model lease (api.h). */
#ifndef API_RECOMMENDATIONS_H
#define API_RECOMMENDATIONS_H

#include "api.h"

void api_recommendations_for_user(api_req *r);
void api_recommendations_post(api_req *r);

#endif

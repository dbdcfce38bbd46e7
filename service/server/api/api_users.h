/* api_users.h - GET /v1/users/{user}/interests: the user's interests, long
 * term, in the session and blended, as the recommender weighs them. On a
 * worker, with a model lease (api.h). */
#ifndef API_USERS_H
#define API_USERS_H

#include "api.h"

void api_users_interests(api_req *r);

#endif

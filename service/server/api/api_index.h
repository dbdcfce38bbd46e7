/* api_index.h - GET / (where things are: the API document, the inspector
 * page, health) and GET /openapi.json (proto/openapi.json, built into the
 * binary so it always describes the routes this binary serves). Cheap:
 * answered at once, on the lane that took the request. */
#ifndef API_INDEX_H
#define API_INDEX_H

#include "api.h"

void api_index_root(api_req *r);
void api_index_openapi(api_req *r);

#endif

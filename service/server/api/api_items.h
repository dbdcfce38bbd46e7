/* api_items.h - GET /v1/items/{item}/similar: the nearest items by
 * embedding. On a worker, with a model lease (api.h). */
#ifndef API_ITEMS_H
#define API_ITEMS_H

#include "api.h"

void api_items_similar(api_req *r);

#endif

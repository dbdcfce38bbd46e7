/* api_promotions.h - the promotions in force (promo.h), read and replaced:
 *   GET /v1/admin/promotions   {"promotions": [{...as given, "source":
 *                              "settings"|"admin", "active": bool now}]}
 *   PUT /v1/admin/promotions   {"promotions": [...]}: the admin list,
 *                              replaced as a whole
 * The settings' list (catalog.promotions) is fixed at start-up; the admin
 * list lives in Redis (catstore.h's CATSTORE_PROMOTIONS, a JSON array), so every replica shares
 * it: a PUT checks the list and the settings' and the new list together
 * (422 naming the field, nothing stored), then sets the key and publishes
 * "*promotions" on CATSTORE_CHANNEL in one EVAL, and answers as the GET does.
 * Both read Redis on the worker's connection: without Redis, 503.
 * Admin routes (API_ADMIN: the admin scope), on a worker. */
#ifndef API_PROMOTIONS_H
#define API_PROMOTIONS_H

#include "api.h"

#define PROMO_MESSAGE "*promotions" /* on catstore.h's channel */

void api_promotions_get(api_req *r);
void api_promotions_put(api_req *r);

#endif

/* api_catalog.h - the live catalogue's routes (catalog.h, catstore.h):
 *
 *   GET   /v1/items         the records, filtered by state (the inspector)
 *   GET   /v1/items/{item}  the item as the service sees it now: the
 *                           model's fields with the operator's overrides
 *   PATCH /v1/items/{item}  hidden, expires_at, title, categories (admin);
 *                           404 for an item neither the model nor the
 *                           catalogue knows
 *   PUT   /v1/items/{item}  describes an item (title, categories, vector),
 *                           adding it when the model has never seen it;
 *                           replaces the description, keeps hidden and
 *                           expires_at unless given (admin)
 *
 * A change is checked whole before anything is stored (cat_change_of),
 * then merged into the item's record, stored and announced to every
 * replica in one Redis script (HSET + PUBLISH): nothing is half-applied.
 * The answer is the item after the change. Redis away: 503 for changes;
 * GET answers from this replica's copy and says so ("catalogue":
 * "cached"). */
#ifndef API_CATALOG_H
#define API_CATALOG_H

#include "api.h"

/* GET /v1/items?state=all|hidden|expired|expiring|new&limit=N: the
 * catalogue's records (this replica's copy), each as GET shows it. */
void api_catalog_list(api_req *r);
void api_catalog_get(api_req *r);
void api_catalog_patch(api_req *r);
void api_catalog_put(api_req *r);

#endif

/* tenants.h - several catalogues in one service: tenants.list names them,
 * each with its own model root, keys and limits, and gets the settings of
 * its own (srv_config) that the rest of the server already runs on.
 *
 * tenants.list is a JSON array (in a config file, the array itself) of
 *   {"name": "shop", "model_dir": "/models/shop",
 *    "keys": [{"id": "shop-web", "key": "...", "scopes": ["read"]}],
 *    "settings": {"auth.anonymous": "", "limits.read_rate": 50,
 *                 "ranking.enabled": false}}
 * A tenant starts from the top-level settings (those of the default
 * tenant, served at the plain /v1/... routes) with these exceptions: it
 * has no key of the default tenant's (auth.api_keys and auth.keys are its
 * own `keys`, none when absent), no promotion or experiment of the default
 * tenant's (they name its items and audience: catalog.promotions and
 * experiments.list are its own `settings`), its Redis keys start with
 * "mixrec@<name>:" (redis.prefix; sessions, pages, event ids, the
 * catalogue's overrides, experiments, exploration counts) and its streams
 * are "mixrec@<name>:events" and "mixrec@<name>:impressions". `settings`
 * then overrides any setting but the ones that belong to the whole server
 * (listen address, connection and body limits, CORS, the inspector page,
 * the log level, trusted proxies: an error says so). Names: 1..32 of
 * a-z, 0-9, '_', '-', starting with a letter or digit; "default" is the
 * top level's.
 *
 * Threading: a tn_list is immutable once parsed. */
#ifndef TENANTS_TENANTS_H
#define TENANTS_TENANTS_H

#include <stddef.h>

#include "mx_err.h"
#include "srv_config.h"

#define TN_MAX 32
#define TN_MAX_NAME 32
#define TN_DEFAULT "default"

typedef struct tn_list tn_list;

/* The tenants of base's tenants.list (an empty list when it is empty),
 * each one's settings checked as srv_config_validate checks the top
 * level's. Errors name the tenant and the setting ("tenants.list[1]
 * (blog): server.model_dir: ..."). */
int tn_parse(const srv_config *base, tn_list **out, mx_err *err);
void tn_list_free(tn_list *l);

size_t tn_count(const tn_list *l);
const char *tn_name(const tn_list *l, size_t i);
/* Tenant i's settings (owned by the list). */
const srv_config *tn_config(const tn_list *l, size_t i);

/* Whether name is a valid tenant name. */
int tn_name_valid(const char *name);

#endif

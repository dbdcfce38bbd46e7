/* api_health.h - GET /healthz (the process answers), GET /readyz (a model
 * is loaded; Redis and the ranker's state) and GET /metrics (Prometheus
 * text). Cheap: they run on the HTTP lane that took the request and hold the model only while
 * they write their answer. */
#ifndef API_HEALTH_H
#define API_HEALTH_H

#include "api.h"

void api_health_live(api_req *r);
void api_health_ready(api_req *r);
void api_health_metrics(api_req *r);
/* GET /v1/tenants: the catalogues this service answers for, with the path
 * each one's routes start with (tenants.h); public, like /readyz. */
void api_health_tenants(api_req *r);

#endif

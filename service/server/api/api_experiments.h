/* api_experiments.h - GET /v1/admin/experiments (the experiments this
 * replica serves, from experiments.list) and GET
 * /v1/admin/experiments/{name}/report (per variant users, impressions,
 * attributed events, click-through with its interval, the comparison with
 * the control and the sample-ratio check: expstats.h, from the counts all
 * replicas keep in Redis). The report reads Redis on the worker's
 * connection: without Redis, 503.
 * Admin routes (API_ADMIN | API_NEEDS_KEY), on a worker. */
#ifndef API_EXPERIMENTS_H
#define API_EXPERIMENTS_H

#include "api.h"

void api_experiments_list(api_req *r);
void api_experiments_report(api_req *r);

#endif

/* api_experiments.h - the experiments this replica serves (expset.h):
 * GET /v1/admin/experiments lists the list in force; PUT replaces it with
 * the body's {"experiments": [...]} (experiment.h's format; a bad list is
 * 400 invalid_experiments naming the field, and nothing changes), and
 * DELETE (or a PUT of null) returns to the settings file's
 * experiments.list. A change is stored in Redis first (expsync.h: every
 * replica polls it and follows within a couple of seconds), then put in
 * force here and answered as GET answers; without Redis it is 503
 * redis_unavailable and the list in force stays. GET
 * /v1/admin/experiments/{name}/report reports one experiment of the list
 * in force (per variant users, impressions, attributed events,
 * click-through with its interval, the comparison with the control and
 * the sample-ratio check: expstats.h, from the counts all replicas keep in
 * Redis); the report reads Redis on the worker's connection: without
 * Redis, 503. Every handler reads the list its request started with
 * (wk_lease_experiments), which a replacement never frees under it.
 * Admin routes (API_ADMIN: the admin scope), on a worker. */
#ifndef API_EXPERIMENTS_H
#define API_EXPERIMENTS_H

#include "api.h"

void api_experiments_list(api_req *r);
void api_experiments_put(api_req *r);
void api_experiments_delete(api_req *r);
void api_experiments_report(api_req *r);

#endif

/* api_events.h - POST /v1/events: a batch of {"user","item","type","ts"}.
 * Bad events are rejected one by one (with their index), the rest stored
 * in one pipelined round trip to Redis; an event is acknowledged only once
 * Redis stored it (Redis unavailable: 503, nothing stored). Ids are stored
 * as sent: no model memory is read. On a worker (its Redis connection). */
#ifndef API_EVENTS_H
#define API_EVENTS_H

#include "api.h"

void api_events_post(api_req *r);

#endif

/* api_session.h - a request's wait for the user's session in Redis, and
 * the session's events as the recommender's events.
 *
 * The request keeps its model lease (api.h) while it waits, so everything
 * it resolved before the wait is still valid when done runs. With the
 * test-only setting testing.session_delay_ms the read starts that much
 * later (a slow Redis, made deterministic). Runs on the request's worker. */
#ifndef API_SESSION_H
#define API_SESSION_H

#include "api.h"
#include "sessions.h"

/* Called once on the worker with the session (ok = 0: Redis unavailable,
 * slow or not configured; answer from the long-term profile). */
typedef void (*api_session_fn)(api_req *r, void *arg, int ok, const sess_event *ev, size_t n);

/* Reads the session of user (borrowed until done runs; the path's {user}
 * or a parameter), then calls done(r, arg, ...), which answers and calls
 * api_finish. */
void api_session_read(api_req *r, const char *user, api_session_fn done, void *arg);

/* The session's events that the model knows, weighted by type, into out
 * (at most cap); returns how many. */
size_t api_session_events(const srv_config *cfg, const mx_model *m, const sess_event *ev, size_t n,
                          rec_event *out, size_t cap);

#endif

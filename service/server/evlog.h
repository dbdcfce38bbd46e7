/* evlog.h - stores a batch of accepted events: each event goes to its
 * user's session list (sessions.h) and to the events stream, the log the
 * next model is built from (docs/streams.md), in one atomic Redis script
 * per batch: one round trip, and an event is either in both or in
 * neither. An event with a client event_id is stored once within
 * log.event_id_window_s: a retry of a batch whose first write landed
 * after the client gave up (a timeout, a 503) stores nothing new and says
 * which events were duplicates.
 *
 * Storage, per event with an event_id: a key "mixrec:event_id:<user>:<id>"
 * that expires after the window (ids are scoped by user, so two clients'
 * counters cannot collide).
 *
 * Used from one worker's loop thread, like the sess_client it writes
 * through. */
#ifndef EVLOG_H
#define EVLOG_H

#include <stddef.h>
#include <stdint.h>

#include "experiment.h"
#include "sessions.h"
#include "srv_config.h"

typedef struct evlog_event {
    const char *user, *item;       /* borrowed for the call */
    int type;                      /* SESS_* */
    int64_t ts;                    /* unix seconds */
    const char *event_id;          /* the client's, or NULL */
    const char *recommendation_id; /* attribution, or NULL */
    int position;                  /* in that answer, 0-based; -1: not given */
    /* the experiment and variant that answer came from (its id's tag):
     * the event is counted in its report (expstats.h); NULL: none */
    const experiment *experiment;
    int variant;
} evlog_event;

/* ok = 1: every event is stored or was a duplicate; duplicate[i] (n
 * entries, valid during the call) says which. ok = 0: error says why;
 * nothing is acknowledged (a late write is caught by the event_id on
 * retry). */
typedef void (*evlog_cb)(void *arg, int ok, const char *error, const unsigned char *duplicate);

/* Copies what it needs from ev before returning; cb runs exactly once. */
void evlog_store(sess_client *c, const srv_config *cfg, const evlog_event *ev, size_t n,
                 evlog_cb cb, void *arg);

#endif

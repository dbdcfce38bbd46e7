/* sessions.h - per-user session events in Redis, asynchronously.
 *
 * Storage: one list per user, key "mixrec:session:<user>", each element
 * "<ts>\t<type>\t<item>" (newest last), capped at session.max_events with
 * LTRIM and expiring session.ttl_s after the last write. Events are
 * written by evlog.h (with the events stream, atomically).
 *
 * A sess_client is one hiredis async connection attached (hiredis' libuv
 * adapter) to one worker's loop: it is used only from that loop's thread.
 * It reconnects by itself (backoff 100 ms .. 2 s) after Redis goes away.
 * Every read and append calls its callback exactly once: with the data,
 * or with ok = 0 when Redis is down, slow (redis.command_timeout_ms) or
 * answered an error, so callers degrade instead of waiting. */
#ifndef SESS_SESSIONS_H
#define SESS_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "evtype.h"
#include "srv_config.h"

/* The event types are core's (evtype.h); these names are the server's. */
enum {
    SESS_VIEW = EVTYPE_VIEW,
    SESS_CLICK = EVTYPE_CLICK,
    SESS_LIKE = EVTYPE_LIKE,
    SESS_PURCHASE = EVTYPE_PURCHASE,
    SESS_DISLIKE = EVTYPE_DISLIKE,
    SESS_N_TYPES = EVTYPE_N
};

const char *sess_type_name(int type);
int sess_type_of(const char *name); /* -1 when unknown */
double sess_type_weight(const srv_config *cfg, int type);

/* The longest user or item id (bytes): the API's one id limit (api.h). */
#define SESS_MAX_ID 256

typedef struct sess_event {
    char item[SESS_MAX_ID + 1];
    int64_t ts;
    int type;
} sess_event;

typedef struct sess_client sess_client;

/* Starts connecting; cfg and loop outlive the client. counter (may be
 * NULL) is incremented while connected and decremented on disconnect, so
 * the server can report how many workers reach Redis. */
sess_client *sess_new(uv_loop_t *loop, const srv_config *cfg, int *connected_counter);

/* Closes the connection and stops reconnecting; pending callbacks run
 * with ok = 0. On the loop thread; the loop must run until it is done. */
void sess_free(sess_client *c);

typedef void (*sess_read_cb)(void *arg, int ok, const sess_event *ev, size_t n);

/* The user's events, oldest first. */
void sess_read(sess_client *c, const char *user, sess_read_cb cb, void *arg);

/* The session list key of user ("<redis.prefix>session:<user>") into
 * buf: its length, or -1 when it does not fit. */
int sess_key(const srv_config *cfg, const char *user, char *buf, size_t size);
/* The settings the client was made with (redis.prefix names the keys). */
const srv_config *sess_config(const sess_client *c);

/* One command (argv, lengths) on this connection, with the same deadline
 * and exactly-once callback as the calls above: reply is the hiredis
 * reply (valid only during the callback) when ok, NULL otherwise, and
 * error says why (an error reply also gives ok = 0). Commands sent on one
 * client keep their order. The other modules that write to Redis (the
 * event log, impressions) build on this. cb may be NULL (fire and forget;
 * the command still times out). */
struct redisReply;
typedef void (*sess_reply_cb)(void *arg, int ok, const struct redisReply *reply, const char *error);
void sess_command(sess_client *c, int argc, const char **argv, const size_t *argvlen,
                  sess_reply_cb cb, void *arg);

/* sess_command with its own deadline (ms) instead of
 * redis.command_timeout_ms: for writes an operator waits for (the
 * catalogue's), where a slow answer is better than a false failure. */
void sess_command_within(sess_client *c, int timeout_ms, int argc, const char **argv,
                         const size_t *argvlen, sess_reply_cb cb, void *arg);
/* Turns c into a subscriber of channel (Redis pub/sub), for good: from
 * then on c carries no other command. cb(arg, message, len) runs for each
 * message, and with message NULL each time the subscription is (re)made,
 * first and after every reconnect: messages sent while the connection was
 * down are lost (pub/sub keeps none), so the owner re-reads what it
 * follows. 0, or -1 (channel too long, or already subscribed). */
typedef void (*sess_message_cb)(void *arg, const char *message, size_t len);
int sess_subscribe(sess_client *c, const char *channel, sess_message_cb cb, void *arg);
/* Writes the commands queued on c now, as far as the socket takes them
 * without blocking (hiredis otherwise writes on the loop's next turn): for
 * a command that must reach Redis before the answer that caused it leaves,
 * because the client's next request may act on it through another
 * connection. */
void sess_flush(sess_client *c);
/* Whether the client is connected now (a command may still fail). */
int sess_connected(const sess_client *c);

#endif

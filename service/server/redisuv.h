/* redisuv.h - a hiredis async context on a libuv loop, with each loop
 * turn's commands written at the start of the next turn.
 *
 * hiredis 0.14's own adapter (hiredis/adapters/libuv.h) arms its uv_poll
 * for writing on every command and disarms it once the buffer is out, and
 * libuv's uv_poll_start is an epoll_ctl DEL and an ADD each time: about
 * seven system calls per round trip to Redis, for a socket that is nearly
 * always writable. Here the poll handle watches reads only; a command
 * schedules a uv_idle handle, and at the start of the next loop turn (the
 * loop does not block while it is pending) the idle callback writes every
 * command queued meanwhile. The poll watches for writing only while a
 * connect is in progress or the socket did not take a whole write.
 *
 * An error on the socket (POLLERR: libuv stops the poll handle) runs both
 * the read and the write handlers, which see the error and disconnect, as
 * hiredis 1.x does; 0.14's adapter returned and left the connection
 * attached but never polled again.
 *
 * Threading: a context and its adapter belong to the loop's thread. */
#ifndef REDISUV_H
#define REDISUV_H

#include <hiredis/async.h>
#include <uv.h>

/* Attaches ac (not attached to any loop yet) to loop. The adapter lives
 * until hiredis frees ac (its cleanup closes the handles). REDIS_OK, or
 * REDIS_ERR (out of memory, or libuv refused the socket). */
int redisuv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif

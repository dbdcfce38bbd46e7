/* srv_signals.h - SIGHUP, SIGTERM and SIGINT for `mixrec serve`, handled
 * the same whichever thread the kernel delivers them to.
 *
 * Why not sigwait: a process-directed signal goes to any thread that does
 * not block it, and threads started before main (OpenBLAS's pool starts in
 * a library constructor) never blocked anything: a SIGHUP arriving while
 * the main thread was busy reloading took the default action there and
 * ended the process. Here a handler, installed with sigaction for the whole
 * process, only records the request in an atomic flag and writes one byte
 * to a self-pipe; the main thread waits on the pipe and acts.
 *
 * Reloads are coalesced, never lost: however many SIGHUPs arrive while a
 * reload runs, exactly one more reload follows it, and it reads the model
 * directory after the last of them. A stop request wins over a pending
 * reload, and one that arrives during a reload is acted on when it ends.
 *
 * A crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) writes its signal and
 * a backtrace to stderr before the process ends as the signal would end it
 * (not under a sanitizer, whose report says more).
 *
 * Threading: install and wait from the main thread only; the handler runs
 * on any thread and is async-signal-safe. */
#ifndef SRV_SIGNALS_H
#define SRV_SIGNALS_H

#include "mx_err.h"

typedef enum {
    SRV_SIGNALS_RELOAD = 1,
    SRV_SIGNALS_STOP = 2,
    SRV_SIGNALS_TIMEOUT = 3
} srv_signals_event;

/* Creates the self-pipe and installs the handlers (SIGPIPE is ignored).
 * Call it first thing in `serve`, before model loading. */
int srv_signals_install(mx_err *err);

/* Blocks until a signal asks for something: SRV_SIGNALS_STOP (SIGTERM,
 * SIGINT), else SRV_SIGNALS_RELOAD (SIGHUP, the request consumed); or
 * until timeout_ms passed (SRV_SIGNALS_TIMEOUT; < 0: no timeout). The
 * timeout is what lets the main thread own the model watcher's timer
 * (model_watch.h) without a thread of its own. */
srv_signals_event srv_signals_wait(int timeout_ms);

/* Blocks or unblocks the three signals in the calling thread: blocked
 * while starting the threads of our own (they inherit the mask, so their
 * event loops are not interrupted), unblocked again in the main thread. */
void srv_signals_block(int block);

#endif

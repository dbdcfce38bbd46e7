/* test_srv_signals.c - signals as events of the main thread, and the wait's
 * timeout that drives the model watcher's poll (model_watch.h): a timeout
 * ends the wait no sooner than asked, a SIGHUP ends it at once, SIGHUPs
 * coalesce into one reload, a stop wins over a pending reload. */
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "srv_signals.h"
#include "tap.h"

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(void) {
    mx_err err = {0};
    ASSERT_EQ(srv_signals_install(&err), 0);

    int64_t t0 = now_ms();
    ASSERT_EQ(srv_signals_wait(150), SRV_SIGNALS_TIMEOUT);
    int64_t took = now_ms() - t0;
    ASSERT(took >= 150 && took < 2000);
    t0 = now_ms();
    ASSERT_EQ(srv_signals_wait(0), SRV_SIGNALS_TIMEOUT);
    ASSERT(now_ms() - t0 < 500);
    /* longer than the internal 1 s poll slice: still one timeout at the end */
    t0 = now_ms();
    ASSERT_EQ(srv_signals_wait(1300), SRV_SIGNALS_TIMEOUT);
    took = now_ms() - t0;
    ASSERT(took >= 1300 && took < 3000);
    TEST_OK("a wait with a timeout ends with SRV_SIGNALS_TIMEOUT, no sooner than asked");

    raise(SIGHUP);
    raise(SIGHUP);
    t0 = now_ms();
    ASSERT_EQ(srv_signals_wait(10000), SRV_SIGNALS_RELOAD);
    ASSERT(now_ms() - t0 < 1000);
    ASSERT_EQ(srv_signals_wait(100), SRV_SIGNALS_TIMEOUT); /* the two were one */
    TEST_OK("SIGHUP ends a wait at once; SIGHUPs before it coalesce into one reload");

    raise(SIGHUP);
    raise(SIGTERM);
    ASSERT_EQ(srv_signals_wait(-1), SRV_SIGNALS_STOP);
    ASSERT_EQ(srv_signals_wait(100), SRV_SIGNALS_STOP);
    TEST_OK("a stop wins over a pending reload and stays");
    return 0;
}

/* stopwatch.c - see stopwatch.h. */
#include "stopwatch.h"

#include <time.h>

uint64_t stopwatch_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void stopwatch_lap(uint64_t *mark, uint64_t *total) {
    uint64_t now = stopwatch_now_ns();
    *total += now - *mark;
    *mark = now;
}

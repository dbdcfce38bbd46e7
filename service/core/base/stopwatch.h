/* stopwatch.h - time spent per stage of a request, on the monotonic clock.
 *
 * A path reads the clock once per stage boundary: stopwatch_lap adds the
 * time since the last lap to a stage's total and moves the mark, so
 * consecutive stages cost one clock read each (about 20 ns: the vDSO).
 * The totals are plain counters of their owner (per-thread scratch). */
#ifndef STOPWATCH_H
#define STOPWATCH_H

#include <stdint.h>

/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t stopwatch_now_ns(void);

/* *total += now - *mark; *mark = now. */
void stopwatch_lap(uint64_t *mark, uint64_t *total);

#endif

/* ratelimit.h - token buckets per client (an API key's id, or an address)
 * and per budget (reads, writes), and the counts /metrics shows.
 *
 * A bucket holds up to `burst` tokens and gains `rate` tokens a second; a
 * request takes one, or is refused with the seconds until one is there
 * (429 with Retry-After, api_auth.c). The rate and burst come with each
 * take (a key's own, or the settings' defaults: access.h), so a settings
 * reload that changes them applies at the next request, and the buckets
 * survive it. A bucket that has refilled to its burst is the same as no
 * bucket: the table drops those when it fills up, grows (up to max) when
 * too few are full, and as a last resort starts every client afresh
 * (counted: mixrec_rate_limit_resets_total). Memory: ~128 bytes a client.
 *
 * Counts are by label: a key's id, "anonymous" for clients without a key
 * (addresses are never labels: they are unbounded), the first
 * RL_MAX_LABELS labels then "other". Never the key itself.
 *
 * Threading: none. One thread at a time uses a limiter: the one holding
 * its access gate's lock (access.h), to admit a request or to answer
 * /metrics. */
#ifndef RATELIMIT_RATELIMIT_H
#define RATELIMIT_RATELIMIT_H

#include <stddef.h>

#include "tbuf.h"

enum { RL_READ, RL_WRITE, RL_BUDGETS };
#define RL_MAX_WHO 80     /* a client's name, e.g. "k:shop-web" or "a:2001:db8::1" */
#define RL_MAX_LABELS 256 /* labelled counters; more count as "other" */

typedef struct rl_limiter rl_limiter;

/* A limiter that holds at most max_clients buckets (rounded up to a power
 * of two, at least 64). NULL on OOM. */
rl_limiter *rl_new(size_t max_clients);
void rl_free(rl_limiter *l);

/* One request of who (at most RL_MAX_WHO - 1 bytes; longer is cut) on
 * budget at time now (seconds, monotonic): 1 admitted, or 0 refused with
 * *retry_s the whole seconds (>= 1) until a token is back. rate <= 0
 * admits without a bucket. burst < 1 counts as 1. label (a key id or
 * "anonymous") is what the counts name. */
int rl_take(rl_limiter *l, const char *who, const char *label, int budget, double rate,
            double burst, double now, int *retry_s);

/* Buckets held now. */
size_t rl_clients(const rl_limiter *l);

/* Appends the counters in the Prometheus text format to out, every series
 * labelled tenant. 0, or -1 when out ran out of memory. */
int rl_render(const rl_limiter *l, const char *tenant, tbuf *out);

#endif

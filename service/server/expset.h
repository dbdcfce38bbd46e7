/* expset.h - the experiment list in force (experiment.h), replaced at
 * runtime: by PUT/DELETE /v1/admin/experiments on this replica, and by
 * the poll of Redis (expsync.h) when another replica stored a new one.
 *
 * A list in force is an xs_ref: the parsed list (immutable), where it came
 * from (the settings file's experiments.list, or an operator's list stored
 * in Redis) and the version of mixrec:experiments it was read or stored at
 * (0: none yet). Replacing it swaps the holder's pointer under a short
 * mutex and bumps one atomic generation. Readers follow the model
 * holder's pattern (model_holder.h): a worker keeps its own reference in
 * its lease (workers.h) and compares the generation (one atomic load) when
 * a request starts; only after a swap does it take the mutex once
 * (xs_acquire). A list is freed when the holder and every reference have
 * let go, so a request, a report or a metrics scrape that started on a
 * list finishes on it: pointers into it (experiment, variant) stay valid
 * across the swap.
 *
 * Thread-safety: every function may be called from any thread; an xs_ref
 * may be released by another thread than the one that took it. */
#ifndef EXPSET_EXPSET_H
#define EXPSET_EXPSET_H

#include <stdint.h>

#include "experiment.h"
#include "mx_err.h"

typedef struct xs_holder xs_holder;
typedef struct xs_ref xs_ref;

/* Where the list in force came from. */
typedef enum { XS_SETTINGS, XS_REDIS } xs_source;

/* A holder with l in force (ownership passes; the settings file's list,
 * version 0). NULL on OOM (l is then freed). */
xs_holder *xs_new(experiment_list *l);
/* Releases the holder's reference; lists still referenced go with their
 * last reference. NULL is a no-op. */
void xs_free(xs_holder *h);

/* Changes on every swap: one atomic load. */
uint64_t xs_generation(const xs_holder *h);
/* A new reference to the list in force and its generation (may be NULL).
 * Takes the mutex: call it when the generation changed. NULL for h NULL. */
xs_ref *xs_acquire(xs_holder *h, uint64_t *generation);
/* One more reference to r; returns r. */
xs_ref *xs_retain(xs_ref *r);
void xs_release(xs_ref *r); /* NULL is a no-op */

/* The list (NULL for r NULL: no experiments), borrowed from r. */
const experiment_list *xs_list(const xs_ref *r);
xs_source xs_source_of(const xs_ref *r);
int64_t xs_version(const xs_ref *r);

/* Puts l in force (ownership passes; freed when it is not), from source
 * at version:
 * - xs_offer: when version is above the version in force (a PUT or DELETE
 *   this replica stored: a slower answer to an older write never undoes a
 *   newer one);
 * - xs_sync: when version differs from the one in force and nothing was
 *   put in force since generation seen (the poll of Redis: Redis is the
 *   truth, but a read sent before a local swap may be older than it).
 * 1 when l is now in force, 0 when not, MX_ENOMEM. */
int xs_offer(xs_holder *h, experiment_list *l, xs_source source, int64_t version);
int xs_sync(xs_holder *h, experiment_list *l, xs_source source, int64_t version, uint64_t seen);

#endif

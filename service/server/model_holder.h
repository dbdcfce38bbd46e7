/* model_holder.h - the model being served, swapped atomically on reload.
 *
 * Workers read the current model through a generation counter: a worker
 * keeps its own reference and, at the start of a request, compares one
 * atomic generation with the one it holds (no lock on the request path);
 * only after a reload does it take the holder's mutex once to move to the
 * new model. A model is freed when the holder and every worker have let
 * go of it, so requests in flight finish on the model they started with.
 *
 * Thread-safety: every function may be called from any thread. */
#ifndef MH_MODEL_HOLDER_H
#define MH_MODEL_HOLDER_H

#include <stdint.h>

#include "model.h"

typedef struct mh_holder mh_holder;

/* An owned reference to a model. */
typedef struct mh_ref mh_ref;

mh_holder *mh_new(void);
void mh_free(mh_holder *h); /* releases the holder's reference */

/* Makes m (ownership passes to the holder) the served model; the previous
 * one is freed once its last reference goes. m may be NULL (no model). */
void mh_set(mh_holder *h, mx_model *m);

/* Loads dir's current version (model.h) and makes it the served model;
 * a model that fails to load is rejected (err says why) and the old one
 * keeps serving. Reloads are serialised. version_out (size bytes, may be
 * NULL) receives the new version. Blocking: call it off the request path. */
int mh_reload(mh_holder *h, const char *dir, char *version_out, size_t size, mx_err *err);

/* Current generation (changes on every mh_set): one atomic load. */
uint64_t mh_generation(const mh_holder *h);

/* A new reference to the current model (NULL when none) and its
 * generation. Takes the mutex: call it when the generation changed. */
mh_ref *mh_acquire(mh_holder *h, uint64_t *generation);
void mh_release(mh_ref *r); /* NULL is a no-op */
/* One more reference to r (e.g. a request spanning callbacks). */
mh_ref *mh_retain(mh_ref *r);
const mx_model *mh_model(const mh_ref *r);

#endif

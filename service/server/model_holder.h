/* model_holder.h - the model being served, swapped atomically on reload,
 * and the version CURRENT names that was refused, if any.
 *
 * Workers read the current model through a generation counter: a worker
 * keeps its own reference and, at the start of a request, compares one
 * atomic generation with the one it holds (no lock on the request path);
 * only after a reload does it take the holder's mutex once to move to the
 * new model. A model is freed when the holder and every worker have let
 * go of it, so requests in flight finish on the model they started with.
 *
 * Every reload (SIGHUP, POST /v1/admin/reload, the watcher of CURRENT,
 * model_watch.h) goes through mh_reload: they are serialised by one reload
 * mutex, and each records its outcome here. A version that fails to load
 * is "refused": the previous model keeps serving and the refusal (version,
 * reason, time) stands until a reload succeeds or the watcher sees CURRENT
 * name the served version again; /readyz and /metrics show it.
 *
 * Thread-safety: every function may be called from any thread. The
 * refusal and the served name are guarded by the same short mutex as the
 * current model (never held while loading). */
#ifndef MH_MODEL_HOLDER_H
#define MH_MODEL_HOLDER_H

#include <stdint.h>

#include "model.h"

typedef struct mh_holder mh_holder;

/* An owned reference to a model. */
typedef struct mh_ref mh_ref;

/* The longest version name CURRENT may hold (longer is refused). */
#define MH_MAX_NAME 256

/* A version that failed to load. */
typedef struct mh_refusal {
    char version[MH_MAX_NAME]; /* as CURRENT named it; "" when CURRENT was empty or absent */
    char error[512];           /* why (model_load's message) */
    int64_t at;                /* when, unix seconds */
    /* ROOT/VERSION/manifest.json's mtime in ns, taken before the load (-1:
     * no manifest): the watcher retries a refused version when it changes */
    int64_t manifest_mtime_ns;
    /* CURRENT's inode and mtime in ns when it was read for the load (0:
     * absent): the watcher also retries when CURRENT is written again */
    uint64_t current_ino;
    int64_t current_mtime_ns;
} mh_refusal;

mh_holder *mh_new(void);
void mh_free(mh_holder *h); /* releases the holder's reference */

/* Makes m (ownership passes to the holder) the served model; the previous
 * one is freed once its last reference goes. m may be NULL (no model).
 * The served name becomes "" (unknown): mh_reload sets it. */
void mh_set(mh_holder *h, mx_model *m);

/* Loads dir's current version (model.h) and makes it the served model;
 * a model that fails to load is refused (err says why, mh_refused reports
 * it) and the old one keeps serving. dir is a root (ROOT/CURRENT names the
 * version) or a version directory. Reloads are serialised. version_out
 * (size bytes, may be NULL) receives the new model's version. Blocking:
 * call it off the request path. */
int mh_reload(mh_holder *h, const char *dir, char *version_out, size_t size, mx_err *err);

/* ROOT/CURRENT's first line (as model_load reads it) into name (size bytes). 0; MX_ENOTFOUND
 * when dir has no CURRENT (a version directory, or nothing yet); MX_EIO
 * when it cannot be read; MX_EFORMAT when it is longer than a name. */
int mh_read_current(const char *dir, char *name, size_t size, mx_err *err);

/* mtime in ns of ROOT/name/manifest.json; -1 when absent or name is not a
 * plain name. */
int64_t mh_manifest_mtime(const char *dir, const char *name);

/* The name CURRENT gave for the served model at its last successful
 * mh_reload ("" after mh_set, or for a version directory). */
void mh_served_name(mh_holder *h, char *name, size_t size);

/* 1 and a copy in *out (may be NULL) while a refusal stands, else 0. */
int mh_refused(mh_holder *h, mh_refusal *out);

/* Withdraws the standing refusal (CURRENT no longer names it). */
void mh_refusal_clear(mh_holder *h);

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

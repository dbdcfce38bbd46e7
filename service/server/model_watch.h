/* model_watch.h - the watcher of a model root's CURRENT: tells when it
 * names a version to load, so that a replica rolls out what `mixrec build`
 * (or `mixrec retrain`) writes without a signal.
 *
 * A check is cheap: one stat of ROOT/CURRENT, and a read of its few bytes
 * only when the stat changed (inode, size, mtime, ctime) or the file is
 * under 2 s old (a rewrite within one timestamp tick). It answers "load
 * now" when CURRENT names a version other than the one served (the name
 * mh_reload recorded) and other than a refused one, unless CURRENT was
 * written again (inode, mtime) or that version's manifest changed (mtime)
 * since the refusal. When CURRENT names the served version again, a
 * standing refusal is withdrawn. An empty CURRENT is taken as being
 * written (a writer that does not rename) and left for the next check; a
 * root without CURRENT (a version directory given as the model directory)
 * is never acted on.
 *
 * The watcher does not load anything itself: the caller runs the same
 * reload as SIGHUP (model_holder.h's mh_reload, serialised with the admin
 * route), off the request path. In `mixrec serve` the main thread owns the
 * timer and both: it waits for signals with the poll interval as timeout
 * (srv_signals.h), so no thread is added for it.
 *
 * Threading: an mw_watch belongs to one thread (the main thread); the
 * holder it reads is thread-safe. */
#ifndef MW_MODEL_WATCH_H
#define MW_MODEL_WATCH_H

#include <stddef.h>

#include "model_holder.h"
#include "mx_err.h"

typedef struct mw_watch mw_watch;

typedef enum {
    MW_IDLE = 0,    /* nothing to do */
    MW_LOAD = 1,    /* CURRENT names a version to load: reload now */
    MW_CLEARED = 2, /* CURRENT names the served version again: a refusal was withdrawn */
    MW_ERROR = 3    /* CURRENT cannot be read (err says why; reported once per reason) */
} mw_result;

/* Watches dir (a model root; copied). NULL when out of memory. */
mw_watch *mw_new(const char *dir);
void mw_free(mw_watch *w); /* NULL is a no-op */

/* One check against h. name (size bytes) receives what CURRENT names
 * (for MW_LOAD and MW_CLEARED: the version to load, or the one served). */
mw_result mw_check(mw_watch *w, mh_holder *h, char *name, size_t size, mx_err *err);

#endif

/* model_watch.c - see model_watch.h. */
#include "model_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct mw_watch {
    char dir[4096];
    int have;               /* stamp and name below are from a read */
    struct stat stamp;      /* CURRENT's at the last read */
    char name[MH_MAX_NAME]; /* what it named then */
    char last_error[512];   /* the error last reported ("" after a good read) */
};

mw_watch *mw_new(const char *dir) {
    mw_watch *w = calloc(1, sizeof(*w));
    if (w) snprintf(w->dir, sizeof(w->dir), "%s", dir);
    return w;
}

void mw_free(mw_watch *w) {
    free(w);
}

static int same_stat(const struct stat *a, const struct stat *b) {
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* An error once per distinct reason: a poll every second must not log a
 * line a second while CURRENT stays unreadable. */
static mw_result report(mw_watch *w, mx_err *err, const char *msg) {
    w->have = 0;
    if (!strcmp(w->last_error, msg)) return MW_IDLE;
    snprintf(w->last_error, sizeof(w->last_error), "%s", msg);
    mx_err_set(err, MX_EIO, "%s", msg);
    return MW_ERROR;
}

/* CURRENT's name, re-read only when its stat changed. 0 (w->name set),
 * 1 (nothing to act on), or an MW_ERROR report. */
static int current_name(mw_watch *w, mx_err *err, mw_result *res) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/CURRENT", w->dir);
    struct stat st;
    if (stat(path, &st) != 0) {
        w->have = 0;
        if (errno == ENOENT) return 1; /* a version directory, or a root being made */
        mx_err e = {0};
        mx_err_set(&e, MX_EIO, "%s: %s", path, strerror(errno)); /* truncates quietly */
        *res = report(w, err, e.msg);
        return 1;
    }
    if (!w->have || !same_stat(&st, &w->stamp)) {
        mx_err e = {0};
        int rc = mh_read_current(w->dir, w->name, sizeof(w->name), &e);
        if (rc == MX_ENOTFOUND) { /* renamed away between stat and open */
            w->have = 0;
            return 1;
        }
        if (rc) {
            *res = report(w, err, e.msg);
            return 1;
        }
        w->stamp = st;
        /* A rewrite in place within the file system's timestamp tick (a
         * few ms) after this read would leave the stat as it is: while
         * the mtime is that recent, read again next time (git's "racy
         * clean" rule). */
        w->have = time(NULL) - st.st_mtim.tv_sec >= 2;
        w->last_error[0] = 0;
    }
    return w->name[0] ? 0 : 1; /* empty: being written, look again next time */
}

mw_result mw_check(mw_watch *w, mh_holder *h, char *name, size_t size, mx_err *err) {
    mw_result res = MW_IDLE;
    if (current_name(w, err, &res)) return res;
    snprintf(name, size, "%s", w->name);
    char served[MH_MAX_NAME];
    mh_served_name(h, served, sizeof(served));
    mh_refusal r;
    int refused = mh_refused(h, &r);
    if (refused && strcmp(w->name, r.version) && !strcmp(w->name, served)) {
        mh_refusal_clear(h); /* CURRENT no longer names the refused version */
        return MW_CLEARED;
    }
    if (!strcmp(w->name, served)) return MW_IDLE;
    /* Refused already: not again until CURRENT is written again or the
     * version's manifest changes (e.g. rewritten in place); SIGHUP and the
     * admin route retry at any time. */
    if (refused && !strcmp(w->name, r.version) && (uint64_t)w->stamp.st_ino == r.current_ino &&
        (int64_t)w->stamp.st_mtim.tv_sec * 1000000000 + w->stamp.st_mtim.tv_nsec ==
            r.current_mtime_ns &&
        mh_manifest_mtime(w->dir, w->name) == r.manifest_mtime_ns)
        return MW_IDLE;
    return MW_LOAD;
}

/* model_holder.c - see model_holder.h. */
#include "model_holder.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct mh_ref {
    mx_model *m;
    atomic_int refs;
};

struct mh_holder {
    pthread_mutex_t reload_lock; /* one reload at a time */
    pthread_mutex_t lock;
    mh_ref *cur; /* guarded by lock; the holder's own reference */
    atomic_uint_least64_t gen;
    char served_name[MH_MAX_NAME]; /* guarded by lock */
    mh_refusal refusal;            /* guarded by lock; valid when refused */
    int refused;
};

mh_holder *mh_new(void) {
    mh_holder *h = calloc(1, sizeof(*h));
    if (!h) return NULL;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->reload_lock, NULL);
    atomic_init(&h->gen, 0);
    return h;
}

void mh_release(mh_ref *r) {
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
        model_free(r->m);
        free(r);
    }
}

void mh_free(mh_holder *h) {
    if (!h) return;
    mh_release(h->cur);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->reload_lock);
    free(h);
}

/* Swaps in m under its served name; 0, or -1 when out of memory (m freed,
 * the old model kept). */
static int set_named(mh_holder *h, mx_model *m, const char *name) {
    mh_ref *r = NULL;
    if (m) {
        r = malloc(sizeof(*r));
        if (!r) { /* keep serving the old model rather than none */
            model_free(m);
            return -1;
        }
        r->m = m;
        atomic_init(&r->refs, 1);
    }
    pthread_mutex_lock(&h->lock);
    mh_ref *old = h->cur;
    h->cur = r;
    snprintf(h->served_name, sizeof(h->served_name), "%s", name);
    atomic_fetch_add(&h->gen, 1);
    pthread_mutex_unlock(&h->lock);
    mh_release(old);
    return 0;
}

void mh_set(mh_holder *h, mx_model *m) {
    set_named(h, m, "");
}

int mh_read_current(const char *dir, char *name, size_t size, mx_err *err) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/CURRENT", dir);
    name[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return mx_err_set(err, errno == ENOENT ? MX_ENOTFOUND : MX_EIO, "%s: %s", path,
                          strerror(errno));
    char line[MH_MAX_NAME + 2];
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) return mx_err_set(err, MX_EIO, "%s: cannot be read", path);
    line[n] = 0;
    line[strcspn(line, "\r\n")] = 0; /* as model_load reads it: nothing else trimmed */
    size_t len = strlen(line);
    if (len >= size || len > MH_MAX_NAME - 1)
        return mx_err_set(err, MX_EFORMAT, "%s: longer than a version name", path);
    memcpy(name, line, len + 1);
    return 0;
}

int64_t mh_manifest_mtime(const char *dir, const char *name) {
    if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) return -1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/manifest.json", dir, name);
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

int mh_reload(mh_holder *h, const char *dir, char *version_out, size_t size, mx_err *err) {
    pthread_mutex_lock(&h->reload_lock);
    /* The name and the manifest's stamp before the load: model_load reads
     * CURRENT again, and if it changed meanwhile the watcher sees a name
     * other than the one recorded and loads once more. */
    char name[MH_MAX_NAME], path[4200];
    snprintf(path, sizeof(path), "%s/CURRENT", dir);
    struct stat cur;
    if (stat(path, &cur) != 0) memset(&cur, 0, sizeof(cur));
    if (mh_read_current(dir, name, sizeof(name), NULL)) name[0] = 0;
    int64_t stamp = mh_manifest_mtime(dir, name);
    mx_model *m = NULL;
    mx_err local = {0};
    if (!err) err = &local;
    int rc = model_load(dir, &m, err);
    if (rc == 0) {
        if (version_out) snprintf(version_out, size, "%s", m->version);
        /* requests in flight finish on the old one */
        if (set_named(h, m, name))
            rc = mx_err_set(err, MX_ENOMEM, "out of memory swapping the model in");
    }
    pthread_mutex_lock(&h->lock);
    if (rc == 0) {
        h->refused = 0;
    } else {
        h->refused = 1;
        mh_refusal *r = &h->refusal;
        snprintf(r->version, sizeof(r->version), "%s", name);
        snprintf(r->error, sizeof(r->error), "%s", err->msg);
        r->at = (int64_t)time(NULL);
        r->manifest_mtime_ns = stamp;
        r->current_ino = (uint64_t)cur.st_ino;
        r->current_mtime_ns = (int64_t)cur.st_mtim.tv_sec * 1000000000 + cur.st_mtim.tv_nsec;
    }
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_unlock(&h->reload_lock);
    return rc;
}

void mh_served_name(mh_holder *h, char *name, size_t size) {
    pthread_mutex_lock(&h->lock);
    snprintf(name, size, "%s", h->served_name);
    pthread_mutex_unlock(&h->lock);
}

int mh_refused(mh_holder *h, mh_refusal *out) {
    pthread_mutex_lock(&h->lock);
    int refused = h->refused;
    if (refused && out) *out = h->refusal;
    pthread_mutex_unlock(&h->lock);
    return refused;
}

void mh_refusal_clear(mh_holder *h) {
    pthread_mutex_lock(&h->lock);
    h->refused = 0;
    pthread_mutex_unlock(&h->lock);
}

uint64_t mh_generation(const mh_holder *h) {
    return atomic_load(&((mh_holder *)h)->gen);
}

mh_ref *mh_acquire(mh_holder *h, uint64_t *generation) {
    pthread_mutex_lock(&h->lock);
    mh_ref *r = h->cur;
    if (r) atomic_fetch_add(&r->refs, 1);
    if (generation) *generation = atomic_load(&h->gen);
    pthread_mutex_unlock(&h->lock);
    return r;
}

mh_ref *mh_retain(mh_ref *r) {
    if (r) atomic_fetch_add(&r->refs, 1);
    return r;
}

const mx_model *mh_model(const mh_ref *r) {
    return r ? r->m : NULL;
}

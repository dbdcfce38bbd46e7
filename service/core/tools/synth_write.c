/* synth_write.c - a synthetic world (synth.c) written out: as the files
 * of `mixrec synth` (syn_write) and as an in-memory dataset
 * (syn_to_dataset). Part of the synth module (synth.h). */
#include "synth.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "path.h"
#include "vecio.h"
#include "wbuf.h"

/* ---- writing --------------------------------------------------------- */

static int join(char *dst, size_t cap, const char *dir, const char *name, mx_err *err) {
    if (path_join(dst, cap, dir, name)) return mx_err_set(err, MX_EINVAL, "%s: path too long", dir);
    return 0;
}

static int write_interactions(const syn_world *w, const char *path, mx_err *err) {
    wbuf b;
    int rc = wbuf_open(&b, path, err);
    if (rc) return rc;
    wbuf_str(&b, "user,item,timestamp,weight\n");
    for (size_t e = 0; e < w->n_events; e++) {
        const ds_event *ev = &w->events[e];
        wbuf_char(&b, 'u');
        wbuf_u64(&b, ev->user);
        wbuf_str(&b, ",i");
        wbuf_u64(&b, ev->item);
        wbuf_char(&b, ',');
        wbuf_i64(&b, ev->ts);
        wbuf_char(&b, ',');
        wbuf_float(&b, ev->value);
        wbuf_char(&b, '\n');
    }
    return wbuf_close(&b, path, err);
}

static int write_items(const syn_world *w, const char *path, mx_err *err) {
    wbuf b;
    int rc = wbuf_open(&b, path, err);
    if (rc) return rc;
    wbuf_str(&b, "item,title,categories\n");
    for (size_t i = 0; i < w->n_items; i++) {
        uint32_t c = w->item_interest[i];
        wbuf_char(&b, 'i');
        wbuf_u64(&b, i);
        wbuf_str(&b, ",Item ");
        wbuf_u64(&b, i);
        wbuf_str(&b, " (interest ");
        wbuf_u64(&b, c);
        wbuf_str(&b, "),interest-");
        wbuf_u64(&b, c);
        wbuf_char(&b, '\n');
    }
    return wbuf_close(&b, path, err);
}

static int write_truth(const syn_world *w, const char *path, mx_err *err) {
    wbuf b;
    int rc = wbuf_open(&b, path, err);
    if (rc) return rc;
    wbuf_str(&b, "user,interest,weight\n");
    for (size_t u = 0; u < w->n_users; u++) {
        const float *row = w->user_weights + u * w->n_interests;
        for (size_t c = 0; c < w->n_interests; c++) {
            if (row[c] == 0) continue;
            wbuf_char(&b, 'u');
            wbuf_u64(&b, u);
            wbuf_char(&b, ',');
            wbuf_u64(&b, c);
            wbuf_char(&b, ',');
            char *p = wbuf_room(&b, 32);
            b.len += (size_t)snprintf(p, 32, "%.9g\n", (double)row[c]);
        }
    }
    return wbuf_close(&b, path, err);
}

static int write_ids(const syn_world *w, const char *path, mx_err *err) {
    wbuf b;
    int rc = wbuf_open(&b, path, err);
    if (rc) return rc;
    for (size_t i = 0; i < w->n_items; i++) {
        wbuf_char(&b, 'i');
        wbuf_u64(&b, i);
        wbuf_char(&b, '\n');
    }
    return wbuf_close(&b, path, err);
}

int syn_write(const syn_world *w, const char *dir, mx_err *err) {
    if (!w || !dir) return mx_err_set(err, MX_EINVAL, "syn_write: NULL argument");
    if (mkdir(dir, 0777) != 0) {
        struct stat st;
        if (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return mx_err_set(err, MX_EIO, "%s: cannot create directory: %s", dir,
                              strerror(errno == EEXIST ? ENOTDIR : errno));
    }
    char path[PATH_MAX];
    int rc;
    if ((rc = join(path, sizeof(path), dir, "interactions.csv", err)) ||
        (rc = write_interactions(w, path, err)))
        return rc;
    if ((rc = join(path, sizeof(path), dir, "items.csv", err)) || (rc = write_items(w, path, err)))
        return rc;
    if ((rc = join(path, sizeof(path), dir, "truth.csv", err)) || (rc = write_truth(w, path, err)))
        return rc;
    if ((rc = join(path, sizeof(path), dir, "item_vectors.fvecs", err)) ||
        (rc = vec_write(path, w->item_vecs, w->n_items, w->dim, err)))
        return rc;
    if ((rc = join(path, sizeof(path), dir, "item_vectors.ids", err)) ||
        (rc = write_ids(w, path, err)))
        return rc;
    return 0;
}

/* ---- dataset --------------------------------------------------------- */

static void fmt_id(char *dst, char prefix, uint64_t v) {
    dst[0] = prefix;
    dst[1 + wbuf_fmt_u64(dst + 1, v)] = '\0';
}

int syn_to_dataset(const syn_world *w, ds_dataset **out, mx_err *err) {
    if (!w || !out) return mx_err_set(err, MX_EINVAL, "syn_to_dataset: NULL argument");
    unsigned char *seen = calloc(w->n_items ? w->n_items : 1, 1);
    ds_dataset *ds = ds_new();
    int rc = 0;
    if (!seen || !ds) {
        rc = mx_err_set(err, MX_ENOMEM, "syn_to_dataset: out of memory");
        goto fail;
    }
    char uid[24], iid[24], title[64], cat[32];
    /* Events first, in log order, so dense ids match what ds_load assigns
     * to the files syn_write produces. */
    for (size_t e = 0; e < w->n_events; e++) {
        const ds_event *ev = &w->events[e];
        fmt_id(uid, 'u', ev->user);
        fmt_id(iid, 'i', ev->item);
        if ((rc = ds_add_event(ds, uid, iid, ev->ts, ev->value, err))) goto fail;
        seen[ev->item] = 1;
    }
    /* Metadata only for items with events: ds_load skips metadata lines of
     * items absent from the log, and ds_set_item_meta would intern them. */
    for (size_t i = 0; i < w->n_items; i++) {
        if (!seen[i]) continue;
        fmt_id(iid, 'i', i);
        snprintf(title, sizeof(title), "Item %zu (interest %" PRIu32 ")", i, w->item_interest[i]);
        snprintf(cat, sizeof(cat), "interest-%" PRIu32, w->item_interest[i]);
        if ((rc = ds_set_item_meta(ds, iid, title, cat, '|', err))) goto fail;
    }
    if ((rc = ds_finish(ds, err))) goto fail;
    free(seen);
    *out = ds;
    return 0;
fail:
    free(seen);
    ds_free(ds);
    return rc;
}

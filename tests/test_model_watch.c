/* test_model_watch.c - the watcher of a model root's CURRENT and the
 * refusals model_holder records: what a check answers for a new version, a
 * copy under another name, an empty or unreadable CURRENT, a broken
 * version (refused once, retried when its manifest changes), a rollback to
 * the served version (refusal withdrawn), and a version directory given as
 * the model directory (never watched). Real models saved to a temporary
 * root; no server. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

#include "fixture.h"
#include "model_holder.h"
#include "model_watch.h"

static char root[64];

static void copy_version(const char *from, const char *to) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cp -a '%s/%s' '%s/%s'", root, from, root, to);
    ASSERT_EQ(system(cmd), 0);
}

/* CURRENT renamed onto text, as `mixrec build` writes it. */
static void point_at(const char *text) {
    char tmp[128], path[128];
    snprintf(tmp, sizeof(tmp), "%s/CURRENT.tmp", root);
    snprintf(path, sizeof(path), "%s/CURRENT", root);
    FILE *f = fopen(tmp, "w");
    ASSERT(f && fputs(text, f) >= 0 && fclose(f) == 0);
    ASSERT_EQ(rename(tmp, path), 0);
}

static mw_result check(mw_watch *w, mh_holder *h, char *name) {
    mx_err err = {0};
    return mw_check(w, h, name, MH_MAX_NAME, &err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(void) {
    ds_dataset *ds = fixture_dataset(600, 150, 4, 8, 5);
    const char *settings[] = {"embed.dim=8", "interests.count=4", NULL};
    mx_model *m = fixture_model(ds, NULL, 0, settings);
    snprintf(root, sizeof(root), "/tmp/mixrec-test-watch-XXXXXX");
    ASSERT(mkdtemp(root) != NULL);
    char v1[64], name[MH_MAX_NAME], served[MH_MAX_NAME];
    mx_err err = {0};
    ASSERT_EQ(model_save(m, root, v1, &err), 0);
    model_free(m);
    ds_free(ds);

    mh_holder *h = mh_new();
    ASSERT_EQ(mh_reload(h, root, NULL, 0, &err), 0);
    mh_served_name(h, served, sizeof(served));
    ASSERT_STR_EQ(served, v1);
    ASSERT_EQ(mh_refused(h, NULL), 0);
    mw_watch *w = mw_new(root);
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    TEST_OK("CURRENT names the served version: nothing to do");

    /* A copy under another name: its manifest still says v1, but what
     * counts is the name CURRENT gave, so it loads once and no more. */
    copy_version(v1, "copy");
    point_at("copy\n");
    ASSERT_EQ(check(w, h, name), MW_LOAD);
    ASSERT_STR_EQ(name, "copy");
    ASSERT_EQ(mh_reload(h, root, NULL, 0, &err), 0);
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    TEST_OK("a new name in CURRENT: load, once (even with the same manifest version)");

    point_at("");
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    point_at("copy\r\n");
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    TEST_OK("an empty CURRENT is left for the next check; CRLF read as model_load reads it");

    /* A broken version: refused with the reason, not retried, retried
     * when its manifest changes. */
    copy_version(v1, "broken");
    char path[128];
    snprintf(path, sizeof(path), "%s/broken/item_vectors.f32", root);
    int fd = open(path, O_WRONLY);
    ASSERT(fd >= 0 && pwrite(fd, "ZZZZ", 4, 16) == 4 && close(fd) == 0);
    point_at("broken\n");
    ASSERT_EQ(check(w, h, name), MW_LOAD);
    ASSERT(mh_reload(h, root, NULL, 0, &err) != 0);
    mh_refusal r;
    ASSERT_EQ(mh_refused(h, &r), 1);
    ASSERT_STR_EQ(r.version, "broken");
    ASSERT_CONTAINS(r.error, "item_vectors.f32");
    ASSERT(r.at > 1600000000 && r.manifest_mtime_ns > 0);
    mh_served_name(h, served, sizeof(served));
    ASSERT_STR_EQ(served, "copy"); /* the old one keeps serving */
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    snprintf(path, sizeof(path), "%s/broken/manifest.json", root);
    struct timespec later[2] = {{.tv_sec = r.manifest_mtime_ns / 1000000000 + 5},
                                {.tv_sec = r.manifest_mtime_ns / 1000000000 + 5}};
    ASSERT_EQ(utimensat(AT_FDCWD, path, later, 0), 0);
    ASSERT_EQ(check(w, h, name), MW_LOAD);
    ASSERT(mh_reload(h, root, NULL, 0, &err) != 0);
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    point_at("broken\n"); /* CURRENT written again (a new inode), same name */
    ASSERT_EQ(check(w, h, name), MW_LOAD);
    ASSERT(mh_reload(h, root, NULL, 0, &err) != 0);
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    TEST_OK("a broken version: refused with its reason, not retried until its manifest or CURRENT "
            "is written again");

    /* Back at the served version: the refusal goes without a reload. */
    point_at("copy\n");
    ASSERT_EQ(check(w, h, name), MW_CLEARED);
    ASSERT_STR_EQ(name, "copy");
    ASSERT_EQ(mh_refused(h, NULL), 0);
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    TEST_OK("CURRENT back at the served version: the refusal is withdrawn");

    /* A name with no directory; then a good version clears the refusal. */
    point_at("no-such-version\n");
    ASSERT_EQ(check(w, h, name), MW_LOAD);
    ASSERT(mh_reload(h, root, NULL, 0, &err) != 0);
    ASSERT_EQ(mh_refused(h, &r), 1);
    ASSERT_STR_EQ(r.version, "no-such-version");
    ASSERT_EQ(r.manifest_mtime_ns, -1);
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    point_at(v1);
    ASSERT_EQ(check(w, h, name), MW_LOAD);
    ASSERT_EQ(mh_reload(h, root, NULL, 0, &err), 0);
    ASSERT_EQ(mh_refused(h, NULL), 0);
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    TEST_OK("a missing version refused; a good one loaded clears the refusal");

    /* CURRENT unreadable (a directory), then too long: each reported once. */
    snprintf(path, sizeof(path), "%s/CURRENT", root);
    ASSERT_EQ(remove(path), 0);
    ASSERT_EQ(mkdir(path, 0755), 0);
    ASSERT_EQ(mw_check(w, h, name, sizeof(name), &err), MW_ERROR);
    ASSERT_CONTAINS(err.msg, "CURRENT");
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    ASSERT_EQ(rmdir(path), 0);
    char longname[400];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    point_at(longname);
    ASSERT_EQ(mw_check(w, h, name, sizeof(name), &err), MW_ERROR);
    ASSERT_CONTAINS(err.msg, "longer than a version name");
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    point_at(v1);
    ASSERT_EQ(check(w, h, name), MW_IDLE);
    TEST_OK("an unreadable or overlong CURRENT: an error reported once, then quiet");

    /* A version directory as the model directory: no CURRENT, never acted on. */
    char vdir[128];
    snprintf(vdir, sizeof(vdir), "%s/%s", root, v1);
    mh_holder *hv = mh_new();
    ASSERT_EQ(mh_reload(hv, vdir, NULL, 0, &err), 0);
    mh_served_name(hv, served, sizeof(served));
    ASSERT_STR_EQ(served, "");
    mw_watch *wv = mw_new(vdir);
    ASSERT_EQ(check(wv, hv, name), MW_IDLE);
    mw_free(wv);
    mh_free(hv);
    TEST_OK("a version directory as the model directory is never watched");

    mw_free(w);
    mw_free(NULL);
    mh_free(h);
    ASSERT_EQ(nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    return 0;
}

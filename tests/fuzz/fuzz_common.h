/* fuzz_common.h - shared by the libFuzzer harnesses in tests/fuzz/: scratch
 * files, and one small model built once per process (for the model loader
 * and the HTTP harness). Header-only: each harness is one program.
 *
 * A harness defines LLVMFuzzerTestOneInput (and LLVMFuzzerInitialize when
 * it needs set-up). In the fuzz build (meson -Dfuzz=true, clang) libFuzzer
 * provides main; in every other build tests/fuzz/replay.c does, replaying
 * the seed corpus and the regression inputs as a normal test. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bconfig.h"
#include "dataset.h"
#include "model.h"
#include "pipeline.h"
#include "synth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_DIE(...)                                                                                \
    do {                                                                                           \
        fprintf(stderr, "fuzz: " __VA_ARGS__);                                                     \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

static char fz_dir_buf[256];

static inline void fz_rm_rf(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char p[1024];
            if (snprintf(p, sizeof(p), "%s/%s", path, e->d_name) >= (int)sizeof(p))
                FZ_DIE("path too long");
            fz_rm_rf(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static inline void fz_cleanup(void) {
    if (fz_dir_buf[0]) fz_rm_rf(fz_dir_buf);
}

/* A private scratch directory (tmpfs when there is one), removed at exit. */
static inline const char *fz_dir(void) {
    if (fz_dir_buf[0]) return fz_dir_buf;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    if (snprintf(fz_dir_buf, sizeof(fz_dir_buf), "%s/mixrec-fuzz-XXXXXX", base) >=
        (int)sizeof(fz_dir_buf))
        FZ_DIE("path too long");
    if (!mkdtemp(fz_dir_buf)) FZ_DIE("mkdtemp: %s", strerror(errno));
    atexit(fz_cleanup);
    return fz_dir_buf;
}

static inline void fz_write(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        FZ_DIE("cannot write %s: %s", path, strerror(errno));
}

/* A small model (planted world: users "u<k>", items "i<k>", categories
 * "interest-<c>"), saved once under fz_dir()/model; returns the root. */
static inline const char *fz_model(void) {
    static char root[512];
    if (root[0]) return root;
    if (snprintf(root, sizeof(root), "%s/model", fz_dir()) >= (int)sizeof(root))
        FZ_DIE("path too long");
    syn_params sp;
    syn_params_init(&sp);
    sp.n_items = 300;
    sp.n_users = 80;
    sp.n_interests = 4;
    sp.dim = 8;
    sp.seed = 3;
    syn_world w;
    mx_err err = {0};
    ds_dataset *ds = NULL;
    if (syn_make(&sp, &w, &err) || syn_to_dataset(&w, &ds, &err)) FZ_DIE("synth: %s", err.msg);
    syn_world_free(&w);
    bcfg cfg;
    bcfg_init(&cfg);
    if (bcfg_set(&cfg, "embed.dim", "8", &err) || bcfg_set(&cfg, "interests.count", "4", &err))
        FZ_DIE("config: %s", err.msg);
    size_t n;
    const ds_event *ev = ds_events(ds, &n);
    mx_model *m = NULL;
    char version[64];
    if (pipe_build(ds, ev, n, &cfg, NULL, &m, NULL, &err) || model_save(m, root, version, &err))
        FZ_DIE("model: %s", err.msg);
    model_free(m);
    ds_free(ds);
    return root;
}

#endif

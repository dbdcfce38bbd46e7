/* fuzz_model.c - the model loader (model_load) on corrupt, truncated and
 * inconsistent model directories, and a loaded model's first requests.
 *
 * Every input starts from the same valid model (fz_model) and applies up
 * to 8 patches, each: file selector byte, op byte, flags byte, offset
 * (u32 LE, taken modulo the file size + 1), length (u16 LE), then length
 * bytes. Ops: 0 truncate at offset, 1 overwrite at offset, 2 replace the
 * whole file, 3 insert at offset, 4 delete the file. Flag bit 0 rewrites
 * the file's size and checksum in manifest.json after the patch, so the
 * corruption gets past the checksums to the parsers and the cross-checks
 * behind them (as from a buggy builder, not a bad disk; except for
 * index.faiss, see below). A model that
 * loads must then serve: a recommendation for a known user, one for a
 * session of items, and similar items. */
#include "hash.h"
#include "fuzz_common.h"
#include "recommend.h"

#include <inttypes.h>

#include <jansson.h>

#define MAX_FILES 48

typedef struct {
    char name[256];
    uint8_t *data;
    size_t len;
} mfile;

static mfile orig[MAX_FILES];
static int n_orig;
static char version[256];

static void read_all(const char *path, uint8_t **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) FZ_DIE("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc(n > 0 ? (size_t)n : 1);
    if (!*out || (n > 0 && fread(*out, 1, (size_t)n, f) != (size_t)n)) FZ_DIE("read %s", path);
    fclose(f);
    *len = (size_t)n;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const mfile *)a)->name, ((const mfile *)b)->name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *root = fz_model();
    char p[1024];
    if (snprintf(p, sizeof(p), "%s/CURRENT", root) >= (int)sizeof(p)) FZ_DIE("path too long");
    uint8_t *cur;
    size_t n;
    read_all(p, &cur, &n);
    snprintf(version, sizeof(version), "%.*s", (int)strcspn((char *)cur, "\n"), (char *)cur);
    free(cur);
    if (snprintf(p, sizeof(p), "%s/%s", root, version) >= (int)sizeof(p)) FZ_DIE("path too long");
    DIR *d = opendir(p);
    struct dirent *e;
    while (d && (e = readdir(d)) && n_orig < MAX_FILES) {
        if (e->d_name[0] == '.') continue;
        char fp[1400];
        if (snprintf(fp, sizeof(fp), "%s/%s", p, e->d_name) >= (int)sizeof(fp))
            FZ_DIE("path too long");
        snprintf(orig[n_orig].name, sizeof(orig[n_orig].name), "%s", e->d_name);
        read_all(fp, &orig[n_orig].data, &orig[n_orig].len);
        n_orig++;
    }
    if (d) closedir(d);
    qsort(orig, (size_t)n_orig, sizeof(mfile), by_name);
    return 0;
}

/* Sets files.<name> = {bytes, fnv1a} of the patched content in the
 * manifest (itself one of the files). */
static void fix_manifest(mfile *files, int manifest, const mfile *f) {
    json_error_t je;
    json_t *man = json_loadb((const char *)files[manifest].data, files[manifest].len, 0, &je);
    json_t *list = json_object_get(man, "files");
    if (json_is_object(list)) {
        char hex[17];
        snprintf(hex, sizeof(hex), "%016" PRIx64, hash_fnv1a(HASH_FNV_BASIS, f->data, f->len));
        json_t *e = json_object_get(list, f->name);
        if (json_is_object(e) && json_object_get(e, "fnv1a"))
            json_object_set_new(e, "fnv1a", json_string(hex));
        if (json_is_object(e)) json_object_set_new(e, "bytes", json_integer((json_int_t)f->len));
        char *txt = json_dumps(man, JSON_COMPACT);
        if (txt) {
            free(files[manifest].data);
            files[manifest].data = (uint8_t *)txt;
            files[manifest].len = strlen(txt);
        }
    }
    json_decref(man);
}

static void serve_a_little(const mx_model *m) {
    rec_ctx *ctx = rec_ctx_new(m, 50);
    if (!ctx) return;
    rec_params p;
    rec_params_init(&p);
    rec_item items[50];
    size_t n = 0;
    mx_err err = {0};
    rec_event ev[2] = {{0, 1600000000, 2.0f}, {1, 1600000100, -1.0f}};
    rec_query q = {.user = m->n_users ? 0 : -1, .k = 20, .now = 1600000200};
    if (m->n_items >= 2) {
        q.events = ev;
        q.n_events = 2;
    }
    rec_recommend(ctx, &p, &q, items, &n, &err);
    for (size_t i = 0; i < n; i++)
        if (items[i].item >= m->n_items) FZ_DIE("recommended item out of range");
    q.user = -1;
    rec_recommend(ctx, &p, &q, items, &n, &err);
    if (m->n_items) rec_similar(ctx, 0, &(rec_query){.k = 10}, items, &n, &err);
    rec_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mfile files[MAX_FILES];
    int manifest = -1;
    for (int i = 0; i < n_orig; i++) {
        files[i] = orig[i];
        files[i].data = malloc(orig[i].len ? orig[i].len : 1);
        memcpy(files[i].data, orig[i].data, orig[i].len);
        if (!strcmp(files[i].name, "manifest.json")) manifest = i;
    }
    int deleted[MAX_FILES] = {0};
    for (int patch = 0; patch < 8 && size >= 9; patch++) {
        mfile *f = &files[data[0] % n_orig];
        int op = data[1] % 5, fix = data[2] & 1;
        uint32_t off32 = (uint32_t)data[3] | (uint32_t)data[4] << 8 | (uint32_t)data[5] << 16 |
                         (uint32_t)data[6] << 24;
        size_t len = (size_t)data[7] | (size_t)data[8] << 8, off = off32 % (f->len + 1);
        data += 9;
        size -= 9;
        if (len > size) len = size;
        const uint8_t *payload = data;
        data += len;
        size -= len;
        if (op == 0) {
            f->len = off;
        } else if (op == 1 || op == 3 || op == 2) {
            size_t keep_tail = op == 3                         ? f->len - off
                               : op == 1 && off + len < f->len ? f->len - off - len
                                                               : 0;
            if (op == 2) off = 0;
            uint8_t *nd = malloc(off + len + keep_tail + 1);
            memcpy(nd, f->data, off);
            memcpy(nd + off, payload, len);
            if (keep_tail) memcpy(nd + off + len, f->data + f->len - keep_tail, keep_tail);
            free(f->data);
            f->data = nd;
            f->len = off + len + keep_tail;
        } else {
            deleted[f - files] = 1;
        }
        /* Not index.faiss: FAISS's reader is not hardened against crafted
         * files (a forged checksum means a compromised builder, which the
         * service trusts); its checksum is the defence against corruption. */
        if (fix && manifest >= 0 && f != &files[manifest] && strcmp(f->name, "index.faiss"))
            fix_manifest(files, manifest, f);
    }
    /* A fresh version directory each time: the loader maps the files. */
    char vdir[1024];
    if (snprintf(vdir, sizeof(vdir), "%s/case", fz_dir()) >= (int)sizeof(vdir))
        FZ_DIE("path too long");
    fz_rm_rf(vdir);
    mkdir(vdir, 0700);
    for (int i = 0; i < n_orig; i++) {
        if (!deleted[i]) {
            char p[1400];
            if (snprintf(p, sizeof(p), "%s/%s", vdir, files[i].name) >= (int)sizeof(p))
                FZ_DIE("path too long");
            fz_write(p, files[i].data, files[i].len);
        }
        free(files[i].data);
    }
    mx_model *m = NULL;
    mx_err err = {0};
    if (model_load(vdir, &m, &err) == 0) {
        serve_a_little(m);
        model_free(m);
    } else if (!err.msg[0]) {
        FZ_DIE("a load error without a message");
    }
    return 0;
}

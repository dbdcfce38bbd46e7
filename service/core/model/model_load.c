/* model_load.c - reads and checks a version directory written by
 * model_save.c: manifest, sizes and checksums of every file, then maps the
 * arrays and attaches the ranker. */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "hash.h"
#include "path.h"

/* ---- loading ---------------------------------------------------------- */

typedef struct {
    const char *dir;
    json_t *files;
    mx_model *m;
    mx_err *err;
} loader;

/* Maps a file listed in the manifest, checking its size (expect, unless
 * SIZE_MAX) and checksum. Empty files give a valid non-NULL pointer. */
static int load_array(loader *L, const char *name, size_t expect, const void **out) {
    static const uint64_t empty = 0;
    char path[4096];
    path_join(path, sizeof(path), L->dir, name);
    json_t *fe = json_object_get(L->files, name);
    if (!fe) return mx_err_set(L->err, MX_EFORMAT, "%s: not listed in the manifest", path);
    size_t bytes = (size_t)json_integer_value(json_object_get(fe, "bytes"));
    const char *hex = json_string_value(json_object_get(fe, "fnv1a"));
    if (expect != SIZE_MAX && bytes != expect)
        return mx_err_set(L->err, MX_EFORMAT, "%s: manifest says %zu bytes, the counts need %zu",
                          path, bytes, expect);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mx_err_set(L->err, MX_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size != bytes) {
        close(fd);
        return mx_err_set(L->err, MX_EFORMAT, "%s: %lld bytes on disk, expected %zu (truncated?)",
                          path, (long long)st.st_size, bytes);
    }
    if (bytes == 0) {
        close(fd);
        *out = &empty;
        return 0;
    }
    void *p = mmap(NULL, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return mx_err_set(L->err, MX_EIO, "%s: mmap: %s", path, strerror(errno));
    if (!model_keep(L->m, p, bytes, 1))
        return mx_err_set(L->err, MX_ENOMEM, "out of memory loading %s", path);
    if (hex) {
        char got[17];
        snprintf(got, sizeof(got), "%016" PRIx64, hash_fnv1a(HASH_FNV_BASIS, p, bytes));
        if (strcmp(got, hex) != 0)
            return mx_err_set(L->err, MX_EFORMAT,
                              "%s: checksum %s does not match the manifest (%s)", path, got, hex);
    }
    *out = p;
    return 0;
}

/* Checks the index file's size and checksum (when the manifest has one:
 * older models list its size only) without keeping it mapped: FAISS reads
 * the file itself, and trusts what it reads. */
static int check_index_file(loader *L, const char *path) {
    json_t *fe = json_object_get(L->files, "index.faiss");
    if (!fe) return mx_err_set(L->err, MX_EFORMAT, "%s: not listed in the manifest", path);
    json_t *jb = json_object_get(fe, "bytes");
    const char *hex = json_string_value(json_object_get(fe, "fnv1a"));
    struct stat st;
    if (stat(path, &st) != 0) return mx_err_set(L->err, MX_EIO, "%s: %s", path, strerror(errno));
    if (!json_is_integer(jb) || st.st_size != json_integer_value(jb))
        return mx_err_set(L->err, MX_EFORMAT, "%s: %lld bytes on disk, the manifest says %lld",
                          path, (long long)st.st_size, (long long)json_integer_value(jb));
    if (!hex) return 0;
    uint64_t h;
    int rc = hash_file(path, &h, NULL, L->err);
    if (rc) return rc;
    char got[17];
    snprintf(got, sizeof(got), "%016" PRIx64, h);
    if (strcmp(got, hex) != 0)
        return mx_err_set(L->err, MX_EFORMAT, "%s: checksum %s does not match the manifest (%s)",
                          path, got, hex);
    return 0;
}

/* Splits a mapped text file into n lines (strings copied into one block). */
static int load_lines(loader *L, const char *name, size_t n, const char ***out) {
    const char *data;
    int rc = load_array(L, name, SIZE_MAX, (const void **)&data);
    if (rc) return rc;
    json_t *fe = json_object_get(L->files, name);
    size_t bytes = (size_t)json_integer_value(json_object_get(fe, "bytes"));
    char *buf = model_keep(L->m, malloc(bytes + 1), bytes + 1, 0);
    const char **lines = model_keep(L->m, malloc((n ? n : 1) * sizeof(char *)), 0, 0);
    if (!buf || !lines) return mx_err_set(L->err, MX_ENOMEM, "out of memory loading %s", name);
    if (bytes) memcpy(buf, data, bytes);
    size_t got = 0, start = 0;
    for (size_t i = 0; i < bytes; i++) {
        if (buf[i] != '\n') continue;
        buf[i] = 0;
        if (got < n) lines[got] = buf + start;
        got++;
        start = i + 1;
    }
    if (got != n || start != bytes)
        return mx_err_set(L->err, MX_EFORMAT, "%s/%s: %zu lines, the manifest counts %zu", L->dir,
                          name, got, n);
    *out = lines;
    return 0;
}

static int build_map(mx_model *m, const char **ids, size_t n, smap **out, const char *what,
                     mx_err *err) {
    *out = smap_new(n);
    if (!*out) return mx_err_set(err, MX_ENOMEM, "out of memory indexing %s ids", what);
    for (size_t i = 0; i < n; i++) {
        int r = smap_put(*out, ids[i], strlen(ids[i]), (uint32_t)i, NULL, NULL);
        if (r < 0) return mx_err_set(err, MX_ENOMEM, "out of memory indexing %s ids", what);
        if (r == 0) return mx_err_set(err, MX_EFORMAT, "duplicate %s id '%s'", what, ids[i]);
    }
    (void)m;
    return 0;
}

static int load_labels(loader *L, mx_model *m) {
    char path[4096];
    path_join(path, sizeof(path), L->dir, "interests.json");
    json_error_t je;
    json_t *arr = json_load_file(path, 0, &je);
    if (!arr || !json_is_array(arr) || json_array_size(arr) != m->n_clusters) {
        json_decref(arr);
        return mx_err_set(L->err, MX_EFORMAT, "%s: expected an array of %zu interests", path,
                          m->n_clusters);
    }
    m->labels = calloc(m->n_clusters ? m->n_clusters : 1, sizeof(lbl_label));
    if (!m->labels) {
        json_decref(arr);
        return mx_err_set(L->err, MX_ENOMEM, "out of memory for labels");
    }
    for (size_t c = 0; c < m->n_clusters; c++) {
        json_t *e = json_array_get(arr, c);
        lbl_label *l = &m->labels[c];
        snprintf(l->name, sizeof(l->name), "%s",
                 json_string_value(json_object_get(e, "label")) ?: "");
        l->size = (uint32_t)json_integer_value(json_object_get(e, "size"));
        /* absent in models saved before labels had them: unknown */
        json_t *cov = json_object_get(e, "coverage");
        l->kind = (uint8_t)lbl_kind_parse(json_string_value(json_object_get(e, "kind")));
        l->coverage = json_is_number(cov) && json_number_value(cov) >= 0 &&
                              json_number_value(cov) <= 1 && l->kind != LBL_UNKNOWN
                          ? (float)json_number_value(cov)
                          : -1;
        json_t *top = json_object_get(e, "top_items");
        for (int t = 0; t < 3; t++) {
            const char *id = json_string_value(json_array_get(top, (size_t)t));
            int64_t it = id ? model_item(m, id) : -1;
            l->top_items[t] = it >= 0 ? (uint32_t)it : INTR_NONE;
        }
    }
    json_decref(arr);
    return 0;
}

static int load_titles(loader *L, mx_model *m) {
    const char **lines;
    int rc = load_lines(L, "items.tsv", m->n_items, &lines);
    if (rc) return rc;
    /* The lines are our own copies: cut each at its tab. */
    for (size_t i = 0; i < m->n_items; i++) {
        char *tab = strchr(lines[i], '\t');
        if (tab) *tab = 0;
        if (!lines[i][0]) lines[i] = NULL;
    }
    m->titles = lines;
    return 0;
}

static size_t get_count(json_t *man, const char *key) {
    json_t *v = json_object_get(json_object_get(man, "counts"), key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (size_t)json_integer_value(v)
                                                            : SIZE_MAX;
}

/* The build parameters recorded by model_save (bcfg_to_json's layout) back
 * into c. Absent entries, nulls (an infinite value) and values this build
 * rejects keep their defaults: they must not stop a model from loading. */
static void restore_params(json_t *params, bcfg *c) {
    /* models from before retrieval.pool_union trained their ranker on the
     * fused top K: they keep serving that pool */
    json_t *ret = json_object_get(params, "retrieval");
    if (json_is_object(ret) && !json_object_get(ret, "pool_union")) c->retrieval.pool_union = 0;
    bcfg_restore_json(c, params);
    bcfg_finish(c);
}

static uint64_t parse_fnv(json_t *hex) {
    const char *s = json_string_value(hex);
    return s ? strtoull(s, NULL, 16) : 0;
}

/* The version directory to read: dir itself when it holds manifest.json,
 * else the version ROOT/CURRENT names. vdir and path (the manifest's) are
 * PATH_MAX-sized buffers. */
static int resolve_version(const char *dir, char *vdir, size_t n, char *path, mx_err *err) {
    path_join(path, n, dir, "manifest.json");
    if (access(path, F_OK) == 0) {
        snprintf(vdir, n, "%s", dir);
        return 0;
    }
    path_join(path, n, dir, "CURRENT");
    FILE *f = fopen(path, "r");
    if (!f)
        return mx_err_set(err, MX_EIO, "%s: no model here (neither manifest.json nor CURRENT: %s)",
                          dir, strerror(errno));
    char ver[256] = {0};
    if (!fgets(ver, sizeof(ver), f)) ver[0] = 0;
    fclose(f);
    ver[strcspn(ver, "\r\n")] = 0;
    if (!ver[0] || strchr(ver, '/'))
        return mx_err_set(err, MX_EFORMAT, "%s: does not name a model version", path);
    path_join(vdir, n, dir, ver);
    path_join(path, n, vdir, "manifest.json");
    return 0;
}

/* Format, counts, dims, names and parameters from the manifest; *slots
 * gets the mixture slots per user. */
static int read_header(loader *L, json_t *man, const char *path, size_t *slots_out) {
    mx_model *m = L->m;
    const char *fmt = json_string_value(json_object_get(man, "format"));
    json_int_t fv = json_integer_value(json_object_get(man, "format_version"));
    if (!fmt || strcmp(fmt, "mixrec-model") != 0)
        return mx_err_set(L->err, MX_EFORMAT, "%s: not a mixrec model manifest", path);
    if (fv != MODEL_FORMAT_VERSION)
        return mx_err_set(L->err, MX_EFORMAT, "%s: format version %lld, this build reads %d", path,
                          (long long)fv, MODEL_FORMAT_VERSION);
    m->n_users = get_count(man, "users");
    m->n_items = get_count(man, "items");
    m->n_clusters = get_count(man, "interests");
    m->n_categories = get_count(man, "categories");
    m->n_events = get_count(man, "events");
    json_int_t dim = json_integer_value(json_object_get(man, "dim"));
    json_int_t slots = json_integer_value(json_object_get(man, "mixture_slots"));
    /* Dense ids are uint32 (categories uint16): larger counts would also
     * overflow the size arithmetic below. */
    if (m->n_users > UINT32_MAX || m->n_items > UINT32_MAX || m->n_clusters > UINT32_MAX ||
        m->n_categories > UINT16_MAX + 1 || dim <= 0 || dim > 4096 || slots <= 0 || slots > 255 ||
        !json_is_object(L->files))
        return mx_err_set(L->err, MX_EFORMAT, "%s: missing or invalid counts, dim or files", path);
    m->dim = (size_t)dim;
    *slots_out = (size_t)slots;
    snprintf(m->version, sizeof(m->version), "%s",
             json_string_value(json_object_get(man, "model_version")) ?: "");
    snprintf(m->created, sizeof(m->created), "%s",
             json_string_value(json_object_get(man, "created")) ?: "");
    snprintf(m->embeddings, sizeof(m->embeddings), "%s",
             json_string_value(json_object_get(man, "embeddings")) ?: "");
    m->t_ref = json_integer_value(json_object_get(man, "t_ref"));
    bcfg_init(&m->cfg);
    restore_params(json_object_get(man, "parameters"), &m->cfg);
    m->cfg.embed.t_ref = m->t_ref; /* as pipe_build sets it */
    json_t *rep = json_object_get(man, "build_report"), *w = json_object_get(rep, "warnings");
    snprintf(m->interests_note, sizeof(m->interests_note), "%s",
             json_string_value(json_object_get(rep, "interests")) ?: "");
    for (size_t i = 0; i < json_array_size(w) && i < MODEL_MAX_WARNINGS; i++)
        model_warn(m, "%s", json_string_value(json_array_get(w, i)) ?: "");
    json_t *data = json_object_get(man, "data");
    m->data_fnv[0] = parse_fnv(json_object_get(data, "interactions_fnv1a"));
    m->data_fnv[1] = parse_fnv(json_object_get(data, "items_fnv1a"));
    return 0;
}

/* Maps every fixed-layout array, each checked against the counts. */
static int load_arrays(loader *L, size_t mm) {
    mx_model *m = L->m;
    size_t nu = m->n_users, ni = m->n_items, d = m->dim;
    int rc;
#define A(name, field, bytes)                                                                      \
    if ((rc = load_array(L, name, bytes, (const void **)&m->field))) return rc
    A("item_vectors.f32", item_vecs, ni * d * sizeof(float));
    A("user_vectors.f32", user_vecs, nu * d * sizeof(float));
    A("item_gram.f32", item_gram, d * d * sizeof(float));
    A("item_interest.u32", item_interest, ni * sizeof(uint32_t));
    A("mixture_ids.u32", mix.cid, nu * mm * sizeof(uint32_t));
    A("mixture_weights.f32", mix.w, nu * mm * sizeof(float));
    A("mixture_len.u8", mix.len, nu);
    A("mixture_raw_ids.u32", mix_raw.cid, nu * mm * sizeof(uint32_t));
    A("mixture_raw_weights.f32", mix_raw.w, nu * mm * sizeof(float));
    A("mixture_raw_len.u8", mix_raw.len, nu);
    A("seen_ptr.u64", seen_ptr, (nu + 1) * sizeof(uint64_t));
    if (m->seen_ptr[nu] > (uint64_t)nu * ni)
        return mx_err_set(L->err, MX_EFORMAT, "%s: more seen items than users x items", L->dir);
    A("seen_items.u32", seen_items, m->seen_ptr[nu] * sizeof(uint32_t));
    A("category_ptr.u32", cat_ptr, (ni + 1) * sizeof(uint32_t));
    A("category_ids.u16", cat_ids, m->cat_ptr[ni] * sizeof(uint16_t));
    A("item_stats.f32", item_stats, ni * MODEL_ITEM_STATS * sizeof(float));
    A("user_stats.f32", user_stats, nu * MODEL_USER_STATS * sizeof(float));
    A("user_recent.u32", user_recent, nu * MODEL_RECENT * sizeof(uint32_t));
#undef A
    m->mix.n_users = m->mix_raw.n_users = (uint32_t)nu;
    m->mix.m = m->mix_raw.m = (uint32_t)mm;
    return 0;
}

/* Cross-checks the arrays' sizes cannot catch: every id in range. */
static int check_arrays(loader *L, size_t mm) {
    const mx_model *m = L->m;
    size_t nu = m->n_users, ni = m->n_items;
    const char *vdir = L->dir;
    for (size_t u = 0; u < nu; u++) {
        if (m->seen_ptr[u] > m->seen_ptr[u + 1] || m->mix.len[u] > mm || m->mix_raw.len[u] > mm)
            return mx_err_set(L->err, MX_EFORMAT, "%s: user %zu has inconsistent seen/mixture data",
                              vdir, u);
        for (size_t s = 0; s < mm; s++)
            if ((s < m->mix.len[u] && m->mix.cid[u * mm + s] >= m->n_clusters) ||
                (s < m->mix_raw.len[u] && m->mix_raw.cid[u * mm + s] >= m->n_clusters))
                return mx_err_set(L->err, MX_EFORMAT,
                                  "%s: user %zu's mixture names interest out of range", vdir, u);
    }
    for (size_t i = 0; i < ni; i++)
        if ((m->item_interest[i] != INTR_NONE && m->item_interest[i] >= m->n_clusters) ||
            m->cat_ptr[i] > m->cat_ptr[i + 1])
            return mx_err_set(L->err, MX_EFORMAT,
                              "%s: item %zu has an invalid interest or categories", vdir, i);
    for (size_t j = 0; j < m->cat_ptr[ni]; j++)
        if (m->cat_ids[j] >= m->n_categories)
            return mx_err_set(L->err, MX_EFORMAT, "%s: category id out of range", vdir);
    for (size_t j = 0; j < nu * MODEL_RECENT; j++)
        if (m->user_recent[j] != UINT32_MAX && m->user_recent[j] >= ni)
            return mx_err_set(L->err, MX_EFORMAT, "%s: recent item out of range", vdir);
    for (size_t j = 0; j < m->seen_ptr[nu]; j++)
        if (m->seen_items[j] >= ni)
            return mx_err_set(L->err, MX_EFORMAT, "%s: seen item out of range", vdir);
    return 0;
}

/* Popularity is copied: pop_table owns its arrays. */
static int load_popularity(loader *L) {
    mx_model *m = L->m;
    size_t ni = m->n_items;
    const float *ps, *pc;
    int rc;
    if ((rc = load_array(L, "popularity.f32", ni * sizeof(float), (const void **)&ps)) ||
        (rc = load_array(L, "popularity_count.f32", ni * sizeof(float), (const void **)&pc)))
        return rc;
    m->pop.n_items = ni;
    m->pop.score = malloc((ni ? ni : 1) * sizeof(float));
    m->pop.count = malloc((ni ? ni : 1) * sizeof(float));
    if (!m->pop.score || !m->pop.count)
        return mx_err_set(L->err, MX_ENOMEM, "out of memory for popularity");
    memcpy(m->pop.score, ps, ni * sizeof(float));
    memcpy(m->pop.count, pc, ni * sizeof(float));
    return pop_rank(&m->pop, L->err);
}

/* Ids, titles, labels and the id maps. */
static int load_names(loader *L) {
    mx_model *m = L->m;
    int rc;
    if ((rc = load_lines(L, "users.txt", m->n_users, &m->user_ids)) ||
        (rc = load_lines(L, "items.txt", m->n_items, &m->item_ids)) ||
        (rc = load_lines(L, "categories.txt", m->n_categories, &m->cat_names)) ||
        (rc = build_map(m, m->user_ids, m->n_users, &m->user_map, "user", L->err)) ||
        (rc = build_map(m, m->item_ids, m->n_items, &m->item_map, "item", L->err)) ||
        (rc = load_titles(L, m)) || (rc = load_labels(L, m)))
        return rc;
    return 0;
}

/* The FAISS index, checked against the manifest. */
static int load_index(loader *L, json_t *man) {
    mx_model *m = L->m;
    char path[4096];
    path_join(path, sizeof(path), L->dir, "index.faiss");
    int rc;
    if ((rc = check_index_file(L, path)) || (rc = ann_load(path, &m->index, L->err))) return rc;
    if (ann_dim(m->index) != m->dim || ann_n_lists(m->index) != m->n_clusters ||
        ann_ntotal(m->index) != get_count(man, "indexed_items"))
        return mx_err_set(
            L->err, MX_EFORMAT,
            "%s: index has dim %zu, %zu lists, %zu items; the manifest says %zu, %zu, %zu", path,
            ann_dim(m->index), ann_n_lists(m->index), ann_ntotal(m->index), m->dim, m->n_clusters,
            get_count(man, "indexed_items"));
    /* the searches read their own copy, from the item vectors (ann.h) */
    if ((rc = ann_own_vectors(m->index, m->item_vecs, m->n_items, 1, L->err))) {
        mx_err_prefix(L->err, "%s", path);
        return rc;
    }
    size_t n_rows;
    m->vec_rows = ann_vector_rows(m->index, &m->vec_row, &n_rows);
    if (n_rows != m->n_items) m->vec_rows = NULL, m->vec_row = NULL; /* cannot happen: own copy */
    return 0;
}

/* The ranker is optional: absent, the model serves in retrieval order. */
static int load_ranker(loader *L, json_t *man) {
    mx_model *m = L->m;
    snprintf(m->ranker_status, sizeof(m->ranker_status), "absent");
    json_t *rinfo = json_object_get(man, "ranker");
    json_t *fe = json_object_get(L->files, "ranker.json");
    if (!rinfo || !fe) return 0;
    const char *txt;
    size_t rlen = (size_t)json_integer_value(json_object_get(fe, "bytes"));
    int rc = load_array(L, "ranker.json", SIZE_MAX, (const void **)&txt);
    return rc ? rc : model_set_ranker(m, txt, rlen, json_incref(rinfo), L->err);
}

int model_load(const char *dir, mx_model **out, mx_err *err) {
    *out = NULL;
    char vdir[4096], path[4096];
    int rc = resolve_version(dir, vdir, sizeof(vdir), path, err);
    if (rc) return rc;
    json_error_t je;
    json_t *man = json_load_file(path, 0, &je);
    if (!man) return mx_err_set(err, MX_EFORMAT, "%s:%d: %s", path, je.line, je.text);
    mx_model *m = calloc(1, sizeof(*m));
    if (!m) {
        json_decref(man);
        return mx_err_set(err, MX_ENOMEM, "out of memory loading a model");
    }
    loader L = {vdir, json_object_get(man, "files"), m, err};
    size_t slots = 0;
    if ((rc = read_header(&L, man, path, &slots)) || (rc = load_arrays(&L, slots)) ||
        (rc = check_arrays(&L, slots)) || (rc = load_popularity(&L)) || (rc = load_names(&L)) ||
        /* derived arrays before the index: its copy of the item vectors then
         * reads them last and gives their pages back (ann_own_vectors) */
        (rc = model_derive(m, err)) || (rc = load_index(&L, man)) || (rc = load_ranker(&L, man)) ||
        (rc = model_derive_hot(m, err))) {
        mx_err_prefix(err, "loading model %s", vdir);
        json_decref(man);
        model_free(m);
        return rc;
    }
    json_decref(man);
    *out = m;
    return 0;
}

/* model.c - saving and loading model directories. See model.h. */
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
#include <pthread.h>

#include "rank_features.h"
#include "ranker.h"
#include "ranker_xgb.h"

/* dir + "/" + name into out; 0, or -1 when it does not fit. */
static int path_join(char *out, size_t n, const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    if (a + b + 2 > n) {
        if (n) out[0] = 0;
        return -1;
    }
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return 0;
}

struct model_region {
    void *p;
    size_t len;
    int is_map;
    struct model_region *next;
};

void *model_keep(mx_model *m, void *p, size_t len, int is_map) {
    if (!p) return NULL;
    struct model_region *r = malloc(sizeof(*r));
    if (!r) {
        if (is_map)
            munmap(p, len);
        else
            free(p);
        return NULL;
    }
    r->p = p;
    r->len = len;
    r->is_map = is_map;
    r->next = m->regions;
    m->regions = r;
    return p;
}

void model_free(mx_model *m) {
    if (!m) return;
    ann_free(m->index);
    smap_free(m->user_map);
    smap_free(m->item_map);
    pop_free(&m->pop);
    free(m->labels);
    rk_forest_free(m->ranker);
    rkx_free(m->ranker_xgb);
    if (m->ranker_xgb_lock) pthread_mutex_destroy(m->ranker_xgb_lock);
    free(m->ranker_xgb_lock);
    free(m->ranker_json);
    json_decref(m->ranker_info);
    /* mixture arrays and id tables live in regions */
    for (struct model_region *r = m->regions, *next; r; r = next) {
        next = r->next;
        if (r->is_map)
            munmap(r->p, r->len);
        else
            free(r->p);
        free(r);
    }
    free(m);
}

int64_t model_user(const mx_model *m, const char *id) {
    uint32_t v;
    return smap_get(m->user_map, id, strlen(id), &v) == 0 ? (int64_t)v : -1;
}

int64_t model_item(const mx_model *m, const char *id) {
    uint32_t v;
    return smap_get(m->item_map, id, strlen(id), &v) == 0 ? (int64_t)v : -1;
}

int64_t model_category(const mx_model *m, const char *name) {
    for (size_t c = 0; c < m->n_categories; c++)
        if (strcmp(m->cat_names[c], name) == 0) return (int64_t)c;
    return -1;
}

int model_derive(mx_model *m, mx_err *err) {
    float *inv = model_keep(m, malloc((m->n_items ? m->n_items : 1) * sizeof(float)), 0, 0);
    if (!inv) return mx_err_set(err, MX_ENOMEM, "out of memory for item norms");
    for (size_t i = 0; i < m->n_items; i++) {
        const float *v = m->item_vecs + i * m->dim;
        double s = 0;
        for (size_t j = 0; j < m->dim; j++)
            s += (double)v[j] * v[j];
        inv[i] = s > 0 ? (float)(1.0 / sqrt(s)) : 0;
    }
    m->item_inv_norm = inv;
    return 0;
}

int model_has_ranker(const mx_model *m) {
    return m->ranker != NULL || m->ranker_xgb != NULL;
}

int model_rank(const mx_model *m, const float *x, size_t n, int use_xgboost, float *out,
               mx_err *err) {
    if (m->ranker && !(use_xgboost && m->ranker_xgb)) {
        rk_forest_predict(m->ranker, x, n, FEAT_N, out);
        return 0;
    }
    if (!m->ranker_xgb) return mx_err_set(err, MX_EINVAL, "the model has no usable ranker");
    pthread_mutex_lock(m->ranker_xgb_lock);
    int rc = rkx_predict(m->ranker_xgb, x, n, FEAT_N, out, err);
    pthread_mutex_unlock(m->ranker_xgb_lock);
    return rc;
}

int model_set_ranker(mx_model *m, const char *json_text, size_t len, void *info, mx_err *err) {
    rk_forest_free(m->ranker);
    rkx_free(m->ranker_xgb);
    free(m->ranker_json);
    json_decref(m->ranker_info);
    m->ranker = NULL;
    m->ranker_xgb = NULL;
    if (!m->ranker_xgb_lock) {
        m->ranker_xgb_lock = malloc(sizeof(pthread_mutex_t));
        if (!m->ranker_xgb_lock) return mx_err_set(err, MX_ENOMEM, "out of memory for the ranker");
        pthread_mutex_init(m->ranker_xgb_lock, NULL);
    }
    m->ranker_json = malloc(len + 1);
    m->ranker_json_len = len;
    m->ranker_info = info;
    if (!m->ranker_json) return mx_err_set(err, MX_ENOMEM, "out of memory for the ranker");
    memcpy(m->ranker_json, json_text, len);
    m->ranker_json[len] = '\0';
    /* The feature list must be this build's, name for name, in order. */
    json_t *names = json_object_get(info, "features");
    size_t n = json_array_size(names);
    for (size_t f = 0; f < FEAT_N || f < n; f++) {
        const char *have = json_string_value(json_array_get(names, f));
        if (f >= n || f >= FEAT_N || !have || strcmp(have, feat_name((int)f)) != 0) {
            snprintf(m->ranker_status, sizeof(m->ranker_status),
                     "rejected: its feature %zu is '%s', this build computes '%s' (%zu features "
                     "vs %d): retrain the model",
                     f, f < n && have ? have : "(none)", f < FEAT_N ? feat_name((int)f) : "(none)",
                     n, FEAT_N);
            return 0;
        }
    }
    /* XGBoost's predictor: the reference and the fallback. */
    mx_err xerr = {0};
    if (rkx_load(json_text, len, &m->ranker_xgb, &xerr)) m->ranker_xgb = NULL;
    mx_err perr = {0};
    rk_forest *fo = NULL;
    char why[300] = "";
    if (rk_forest_parse(json_text, len, &fo, &perr)) {
        if (perr.code == MX_ENOMEM) return mx_err_set(err, MX_ENOMEM, "%s", perr.msg);
        snprintf(why, sizeof(why), "%.200s", perr.msg);
    } else if (rk_forest_n_features(fo) != FEAT_N) {
        snprintf(why, sizeof(why), "the trees use %zu features, this build computes %d",
                 rk_forest_n_features(fo), FEAT_N);
    } else {
        for (size_t f = 0; f < FEAT_N && !why[0]; f++) {
            const char *nm = rk_forest_feature_name(fo, f);
            if (nm && strcmp(nm, feat_name((int)f)) != 0)
                snprintf(why, sizeof(why),
                         "the trees' feature %zu is '%.60s', this build computes '%s'", f, nm,
                         feat_name((int)f));
        }
        if (why[0]) { /* a feature mismatch: XGBoost would be as wrong */
            rk_forest_free(fo);
            rkx_free(m->ranker_xgb);
            m->ranker_xgb = NULL;
            snprintf(m->ranker_status, sizeof(m->ranker_status), "rejected: %s", why);
            return 0;
        }
    }
    if (why[0]) {
        rk_forest_free(fo);
        fo = NULL;
        if (m->ranker_xgb && !strstr(why, "features")) {
            snprintf(m->ranker_status, sizeof(m->ranker_status),
                     "ok: XGBoost's predictor (the compact evaluator: %.180s)", why);
        } else {
            rkx_free(m->ranker_xgb);
            m->ranker_xgb = NULL;
            snprintf(m->ranker_status, sizeof(m->ranker_status), "rejected: %.200s", why);
        }
        return 0;
    }
    m->ranker = fo;
    snprintf(m->ranker_status, sizeof(m->ranker_status), "ok");
    return 0;
}

/* ---- writing ---------------------------------------------------------- */

static int write_file(const char *dir, const char *name, const void *data, size_t len,
                      json_t *files, mx_err *err) {
    char path[4096];
    path_join(path, sizeof(path), dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return mx_err_set(err, MX_EIO, "%s: %s", path, strerror(errno));
    int ok = len == 0 || fwrite(data, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok) return mx_err_set(err, MX_EIO, "%s: write failed: %s", path, strerror(errno));
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, smap_fnv1a(SMAP_FNV_BASIS, data, len));
    json_object_set_new(files, name,
                        json_pack("{s:I,s:s}", "bytes", (json_int_t)len, "fnv1a", hex));
    return 0;
}

/* Strings joined by '\n' (ids never contain newlines: the importers split
 * lines on them). */
static char *join_lines(const char **s, size_t n, size_t *len) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(s[i] ? s[i] : "") + 1;
    char *buf = malloc(total + 1), *p = buf;
    if (!buf) return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(s[i] ? s[i] : "");
        memcpy(p, s[i] ? s[i] : "", l);
        p += l;
        *p++ = '\n';
    }
    *len = total;
    return buf;
}

static int write_lines(const char *dir, const char *name, const char **s, size_t n, json_t *files,
                       mx_err *err) {
    size_t len = 0;
    char *buf = join_lines(s, n, &len);
    if (!buf) return mx_err_set(err, MX_ENOMEM, "out of memory writing %s", name);
    int rc = write_file(dir, name, buf, len, files, err);
    free(buf);
    return rc;
}

/* items.tsv: title TAB categories ('|'-joined), one line per item. Tabs
 * and newlines inside titles become spaces. */
static int write_meta(const mx_model *m, const char *dir, json_t *files, mx_err *err) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) return mx_err_set(err, MX_ENOMEM, "out of memory writing items.tsv");
    for (size_t i = 0; i < m->n_items; i++) {
        const char *t = m->titles && m->titles[i] ? m->titles[i] : "";
        size_t need = strlen(t) + 2;
        for (uint32_t j = m->cat_ptr[i]; j < m->cat_ptr[i + 1]; j++)
            need += strlen(m->cat_names[m->cat_ids[j]]) + 1;
        if (len + need + 1 > cap) {
            while (len + need + 1 > cap)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return mx_err_set(err, MX_ENOMEM, "out of memory writing items.tsv");
            }
            buf = nb;
        }
        for (const char *c = t; *c; c++)
            buf[len++] = (*c == '\t' || *c == '\n' || *c == '\r') ? ' ' : *c;
        buf[len++] = '\t';
        for (uint32_t j = m->cat_ptr[i]; j < m->cat_ptr[i + 1]; j++) {
            if (j > m->cat_ptr[i]) buf[len++] = '|';
            const char *cn = m->cat_names[m->cat_ids[j]];
            size_t l = strlen(cn);
            memcpy(buf + len, cn, l);
            len += l;
        }
        buf[len++] = '\n';
    }
    int rc = write_file(dir, "items.tsv", buf, len, files, err);
    free(buf);
    return rc;
}

/* files["index.faiss"] = {bytes, fnv1a} of the file FAISS wrote. */
static int index_entry(const char *path, json_t *files, mx_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        return mx_err_set(err, MX_EIO, "%s: %s", path, strerror(errno));
    }
    uint64_t h = SMAP_FNV_BASIS;
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return mx_err_set(err, MX_EIO, "%s: mmap: %s", path, strerror(errno));
        }
        h = smap_fnv1a(h, p, (size_t)st.st_size);
        munmap(p, (size_t)st.st_size);
    }
    close(fd);
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, h);
    json_object_set_new(files, "index.faiss",
                        json_pack("{s:I,s:s}", "bytes", (json_int_t)st.st_size, "fnv1a", hex));
    return 0;
}

static json_t *labels_json(const mx_model *m) {
    json_t *arr = json_array();
    for (size_t c = 0; c < m->n_clusters; c++) {
        const intr_label *l = &m->labels[c];
        json_t *top = json_array();
        for (int t = 0; t < 3; t++)
            if (l->top_items[t] != INTR_NONE)
                json_array_append_new(top, json_string(m->item_ids[l->top_items[t]]));
        json_array_append_new(arr,
                              json_pack("{s:I,s:s,s:I,s:o}", "id", (json_int_t)c, "label", l->name,
                                        "size", (json_int_t)l->size, "top_items", top));
    }
    return arr;
}

static void make_version(char *out, size_t len, const char *root) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 0;; i++) {
        char path[4096];
        if (i == 0)
            snprintf(out, len, "%s", base);
        else
            snprintf(out, len, "%s-%d", base, i);
        path_join(path, sizeof(path), root, out);
        if (access(path, F_OK) != 0) return;
    }
}

int model_save(const mx_model *m, const char *root, char *version_out, mx_err *err) {
    if (mkdir(root, 0755) != 0 && errno != EEXIST)
        return mx_err_set(err, MX_EIO, "%s: %s", root, strerror(errno));
    char version[48], dir[4096], path[4096];
    make_version(version, sizeof(version), root);
    path_join(dir, sizeof(dir), root, version);
    if (mkdir(dir, 0755) != 0) return mx_err_set(err, MX_EIO, "%s: %s", dir, strerror(errno));

    json_t *files = json_object();
    int rc = 0;
    size_t nu = m->n_users, ni = m->n_items, d = m->dim, mm = m->mix.m;
#define W(name, ptr, bytes)                                                                        \
    if (!rc) rc = write_file(dir, name, ptr, bytes, files, err)
    W("item_vectors.f32", m->item_vecs, ni * d * sizeof(float));
    W("user_vectors.f32", m->user_vecs, nu * d * sizeof(float));
    W("item_gram.f32", m->item_gram, d * d * sizeof(float));
    W("item_interest.u32", m->item_interest, ni * sizeof(uint32_t));
    W("mixture_ids.u32", m->mix.cid, nu * mm * sizeof(uint32_t));
    W("mixture_weights.f32", m->mix.w, nu * mm * sizeof(float));
    W("mixture_len.u8", m->mix.len, nu);
    W("mixture_raw_ids.u32", m->mix_raw.cid, nu * mm * sizeof(uint32_t));
    W("mixture_raw_weights.f32", m->mix_raw.w, nu * mm * sizeof(float));
    W("mixture_raw_len.u8", m->mix_raw.len, nu);
    W("popularity.f32", m->pop.score, ni * sizeof(float));
    W("popularity_count.f32", m->pop.count, ni * sizeof(float));
    W("seen_ptr.u64", m->seen_ptr, (nu + 1) * sizeof(uint64_t));
    W("seen_items.u32", m->seen_items, m->seen_ptr[nu] * sizeof(uint32_t));
    W("category_ptr.u32", m->cat_ptr, (ni + 1) * sizeof(uint32_t));
    W("category_ids.u16", m->cat_ids, m->cat_ptr[ni] * sizeof(uint16_t));
    W("item_stats.f32", m->item_stats, ni * MODEL_ITEM_STATS * sizeof(float));
    W("user_stats.f32", m->user_stats, nu * MODEL_USER_STATS * sizeof(float));
    W("user_recent.u32", m->user_recent, nu * MODEL_RECENT * sizeof(uint32_t));
    if (m->ranker_json) W("ranker.json", m->ranker_json, m->ranker_json_len);
#undef W
    if (!rc) rc = write_lines(dir, "users.txt", m->user_ids, nu, files, err);
    if (!rc) rc = write_lines(dir, "items.txt", m->item_ids, ni, files, err);
    if (!rc) rc = write_lines(dir, "categories.txt", m->cat_names, m->n_categories, files, err);
    if (!rc) rc = write_meta(m, dir, files, err);
    if (!rc) {
        json_t *labels = labels_json(m);
        char *txt = json_dumps(labels, JSON_INDENT(1));
        json_decref(labels);
        rc = txt ? write_file(dir, "interests.json", txt, strlen(txt), files, err)
                 : mx_err_set(err, MX_ENOMEM, "out of memory writing interests.json");
        free(txt);
    }
    if (!rc) {
        path_join(path, sizeof(path), dir, "index.faiss");
        rc = ann_save(m->index, path, err);
        /* FAISS's reader trusts its input (a flipped byte can make it
         * allocate gigabytes): the index gets a size and checksum too. */
        if (!rc) rc = index_entry(path, files, err);
    }
    if (!rc) {
        char hex0[17], hex1[17];
        snprintf(hex0, sizeof(hex0), "%016" PRIx64, m->data_fnv[0]);
        snprintf(hex1, sizeof(hex1), "%016" PRIx64, m->data_fnv[1]);
        json_t *man = json_pack(
            "{s:s,s:i,s:s,s:s,s:{s:I,s:I,s:I,s:I,s:I,s:I},s:I,s:I,s:s,s:o,s:{s:s,s:s},s:o}",
            "format", "mixrec-model", "format_version", MODEL_FORMAT_VERSION, "model_version",
            version, "created", m->created, "counts", "users", (json_int_t)nu, "items",
            (json_int_t)ni, "interests", (json_int_t)m->n_clusters, "categories",
            (json_int_t)m->n_categories, "events", (json_int_t)m->n_events, "indexed_items",
            (json_int_t)ann_ntotal(m->index), "dim", (json_int_t)d, "mixture_slots", (json_int_t)mm,
            "embeddings", m->embeddings, "parameters", (json_t *)bcfg_to_json(&m->cfg), "data",
            "interactions_fnv1a", hex0, "items_fnv1a", hex1, "files", files);
        json_object_set_new(man, "t_ref", json_integer(m->t_ref));
        if (m->ranker_json && m->ranker_info)
            json_object_set(man, "ranker", (json_t *)m->ranker_info);
        files = NULL; /* stolen by the manifest */
        path_join(path, sizeof(path), dir, "manifest.json");
        if (!man || json_dump_file(man, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
            rc = mx_err_set(err, MX_EIO, "%s: could not write the manifest", path);
        json_decref(man);
    }
    json_decref(files);
    if (rc) return rc;
    /* Point CURRENT at the new version atomically. */
    char tmp[4096];
    path_join(tmp, sizeof(tmp), root, "CURRENT.tmp");
    path_join(path, sizeof(path), root, "CURRENT");
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", version) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        return mx_err_set(err, MX_EIO, "%s: could not update: %s", path, strerror(errno));
    if (version_out) snprintf(version_out, 48, "%s", version);
    return 0;
}

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
        snprintf(got, sizeof(got), "%016" PRIx64, smap_fnv1a(SMAP_FNV_BASIS, p, bytes));
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
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mx_err_set(L->err, MX_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !json_is_integer(jb) || st.st_size != json_integer_value(jb)) {
        close(fd);
        return mx_err_set(L->err, MX_EFORMAT, "%s: %lld bytes on disk, the manifest says %lld",
                          path, (long long)st.st_size, (long long)json_integer_value(jb));
    }
    uint64_t h = SMAP_FNV_BASIS;
    if (hex && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return mx_err_set(L->err, MX_EIO, "%s: mmap: %s", path, strerror(errno));
        }
        h = smap_fnv1a(h, p, (size_t)st.st_size);
        munmap(p, (size_t)st.st_size);
    }
    close(fd);
    char got[17];
    snprintf(got, sizeof(got), "%016" PRIx64, h);
    if (hex && strcmp(got, hex) != 0)
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
    m->labels = calloc(m->n_clusters ? m->n_clusters : 1, sizeof(intr_label));
    if (!m->labels) {
        json_decref(arr);
        return mx_err_set(L->err, MX_ENOMEM, "out of memory for labels");
    }
    for (size_t c = 0; c < m->n_clusters; c++) {
        json_t *e = json_array_get(arr, c);
        intr_label *l = &m->labels[c];
        snprintf(l->name, sizeof(l->name), "%s",
                 json_string_value(json_object_get(e, "label")) ?: "");
        l->size = (uint32_t)json_integer_value(json_object_get(e, "size"));
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
    size_t n = 0;
    const bcfg_entry *e = bcfg_entries(&n);
    for (size_t i = 0; json_is_object(params) && i < n; i++) {
        const char *dot = strchr(e[i].name, '.');
        char sec[64], buf[64];
        if (!dot) continue;
        snprintf(sec, sizeof(sec), "%.*s", (int)(dot - e[i].name), e[i].name);
        json_t *v = json_object_get(json_object_get(params, sec), dot + 1);
        if (json_is_boolean(v))
            snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
        else if (json_is_integer(v))
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
            snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        else
            continue;
        bcfg_set(c, e[i].name, buf, NULL);
    }
    bcfg_finish(c);
}

static uint64_t parse_fnv(json_t *hex) {
    const char *s = json_string_value(hex);
    return s ? strtoull(s, NULL, 16) : 0;
}

int model_load(const char *dir, mx_model **out, mx_err *err) {
    *out = NULL;
    char vdir[4096], path[4096];
    path_join(path, sizeof(path), dir, "manifest.json");
    if (access(path, F_OK) == 0) {
        snprintf(vdir, sizeof(vdir), "%s", dir);
    } else {
        path_join(path, sizeof(path), dir, "CURRENT");
        FILE *f = fopen(path, "r");
        if (!f)
            return mx_err_set(err, MX_EIO,
                              "%s: no model here (neither manifest.json nor CURRENT: %s)", dir,
                              strerror(errno));
        char ver[256] = {0};
        if (!fgets(ver, sizeof(ver), f)) ver[0] = 0;
        fclose(f);
        ver[strcspn(ver, "\r\n")] = 0;
        if (!ver[0] || strchr(ver, '/'))
            return mx_err_set(err, MX_EFORMAT, "%s: does not name a model version", path);
        path_join(vdir, sizeof(vdir), dir, ver);
        path_join(path, sizeof(path), vdir, "manifest.json");
    }
    json_error_t je;
    json_t *man = json_load_file(path, 0, &je);
    if (!man) return mx_err_set(err, MX_EFORMAT, "%s:%d: %s", path, je.line, je.text);
    mx_model *m = calloc(1, sizeof(*m));
    int rc = 0;
    if (!m) {
        json_decref(man);
        return mx_err_set(err, MX_ENOMEM, "out of memory loading a model");
    }
    loader L = {vdir, json_object_get(man, "files"), m, err};
    const char *fmt = json_string_value(json_object_get(man, "format"));
    json_int_t fv = json_integer_value(json_object_get(man, "format_version"));
    if (!fmt || strcmp(fmt, "mixrec-model") != 0) {
        rc = mx_err_set(err, MX_EFORMAT, "%s: not a mixrec model manifest", path);
        goto fail;
    }
    if (fv != MODEL_FORMAT_VERSION) {
        rc = mx_err_set(err, MX_EFORMAT, "%s: format version %lld, this build reads %d", path,
                        (long long)fv, MODEL_FORMAT_VERSION);
        goto fail;
    }
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
        !json_is_object(L.files)) {
        rc = mx_err_set(err, MX_EFORMAT, "%s: missing or invalid counts, dim or files", path);
        goto fail;
    }
    m->dim = (size_t)dim;
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
    json_t *data = json_object_get(man, "data");
    m->data_fnv[0] = parse_fnv(json_object_get(data, "interactions_fnv1a"));
    m->data_fnv[1] = parse_fnv(json_object_get(data, "items_fnv1a"));
    size_t nu = m->n_users, ni = m->n_items, d = m->dim, mm = (size_t)slots;
#define A(name, field, bytes)                                                                      \
    if ((rc = load_array(&L, name, bytes, (const void **)&m->field))) goto fail
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
    if (m->seen_ptr[nu] > (uint64_t)nu * ni) {
        rc = mx_err_set(err, MX_EFORMAT, "%s: more seen items than users x items", vdir);
        goto fail;
    }
    A("seen_items.u32", seen_items, m->seen_ptr[nu] * sizeof(uint32_t));
    A("category_ptr.u32", cat_ptr, (ni + 1) * sizeof(uint32_t));
    A("category_ids.u16", cat_ids, m->cat_ptr[ni] * sizeof(uint16_t));
    A("item_stats.f32", item_stats, ni * MODEL_ITEM_STATS * sizeof(float));
    A("user_stats.f32", user_stats, nu * MODEL_USER_STATS * sizeof(float));
    A("user_recent.u32", user_recent, nu * MODEL_RECENT * sizeof(uint32_t));
#undef A
    m->mix.n_users = m->mix_raw.n_users = (uint32_t)nu;
    m->mix.m = m->mix_raw.m = (uint32_t)mm;
    /* Cross-checks the arrays' sizes cannot catch. */
    for (size_t u = 0; u < nu; u++) {
        if (m->seen_ptr[u] > m->seen_ptr[u + 1] || m->mix.len[u] > mm || m->mix_raw.len[u] > mm) {
            rc = mx_err_set(err, MX_EFORMAT, "%s: user %zu has inconsistent seen/mixture data",
                            vdir, u);
            goto fail;
        }
        for (size_t s = 0; s < mm; s++)
            if ((s < m->mix.len[u] && m->mix.cid[u * mm + s] >= m->n_clusters) ||
                (s < m->mix_raw.len[u] && m->mix_raw.cid[u * mm + s] >= m->n_clusters)) {
                rc = mx_err_set(err, MX_EFORMAT,
                                "%s: user %zu's mixture names interest out of range", vdir, u);
                goto fail;
            }
    }
    for (size_t i = 0; i < ni; i++)
        if ((m->item_interest[i] != INTR_NONE && m->item_interest[i] >= m->n_clusters) ||
            m->cat_ptr[i] > m->cat_ptr[i + 1]) {
            rc = mx_err_set(err, MX_EFORMAT, "%s: item %zu has an invalid interest or categories",
                            vdir, i);
            goto fail;
        }
    for (size_t j = 0; j < m->cat_ptr[ni]; j++)
        if (m->cat_ids[j] >= m->n_categories) {
            rc = mx_err_set(err, MX_EFORMAT, "%s: category id out of range", vdir);
            goto fail;
        }
    for (size_t j = 0; j < nu * MODEL_RECENT; j++)
        if (m->user_recent[j] != UINT32_MAX && m->user_recent[j] >= ni) {
            rc = mx_err_set(err, MX_EFORMAT, "%s: recent item out of range", vdir);
            goto fail;
        }
    for (size_t j = 0; j < m->seen_ptr[nu]; j++)
        if (m->seen_items[j] >= ni) {
            rc = mx_err_set(err, MX_EFORMAT, "%s: seen item out of range", vdir);
            goto fail;
        }
    /* Popularity is copied: pop_table owns its arrays. */
    const float *ps, *pc;
    if ((rc = load_array(&L, "popularity.f32", ni * sizeof(float), (const void **)&ps)) ||
        (rc = load_array(&L, "popularity_count.f32", ni * sizeof(float), (const void **)&pc)))
        goto fail;
    m->pop.n_items = ni;
    m->pop.score = malloc((ni ? ni : 1) * sizeof(float));
    m->pop.count = malloc((ni ? ni : 1) * sizeof(float));
    if (!m->pop.score || !m->pop.count) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for popularity");
        goto fail;
    }
    memcpy(m->pop.score, ps, ni * sizeof(float));
    memcpy(m->pop.count, pc, ni * sizeof(float));
    if ((rc = pop_rank(&m->pop, err))) goto fail;
    if ((rc = load_lines(&L, "users.txt", nu, &m->user_ids)) ||
        (rc = load_lines(&L, "items.txt", ni, &m->item_ids)) ||
        (rc = load_lines(&L, "categories.txt", m->n_categories, &m->cat_names)) ||
        (rc = build_map(m, m->user_ids, nu, &m->user_map, "user", err)) ||
        (rc = build_map(m, m->item_ids, ni, &m->item_map, "item", err)) ||
        (rc = load_titles(&L, m)) || (rc = load_labels(&L, m)))
        goto fail;
    path_join(path, sizeof(path), vdir, "index.faiss");
    if ((rc = check_index_file(&L, path)) || (rc = ann_load(path, &m->index, err))) goto fail;
    if (ann_dim(m->index) != d || ann_n_lists(m->index) != m->n_clusters ||
        ann_ntotal(m->index) != get_count(man, "indexed_items")) {
        rc = mx_err_set(
            err, MX_EFORMAT,
            "%s: index has dim %zu, %zu lists, %zu items; the manifest says %zu, %zu, %zu", path,
            ann_dim(m->index), ann_n_lists(m->index), ann_ntotal(m->index), d, m->n_clusters,
            get_count(man, "indexed_items"));
        goto fail;
    }
    if ((rc = model_derive(m, err))) goto fail;
    /* The ranker is optional: absent, the model serves in retrieval order. */
    snprintf(m->ranker_status, sizeof(m->ranker_status), "absent");
    json_t *rinfo = json_object_get(man, "ranker");
    if (rinfo && json_object_get(L.files, "ranker.json")) {
        const char *txt;
        json_t *fe = json_object_get(L.files, "ranker.json");
        size_t rlen = (size_t)json_integer_value(json_object_get(fe, "bytes"));
        if ((rc = load_array(&L, "ranker.json", SIZE_MAX, (const void **)&txt)) ||
            (rc = model_set_ranker(m, txt, rlen, json_incref(rinfo), err)))
            goto fail;
    }
    json_decref(man);
    *out = m;
    return 0;
fail:
    mx_err_prefix(err, "loading model %s", vdir);
    json_decref(man);
    model_free(m);
    return rc;
}

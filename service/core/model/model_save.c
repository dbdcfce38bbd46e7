/* model_save.c - writes a model as a new version directory (model.h has
 * the layout) and points CURRENT at it. */
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
    snprintf(hex, sizeof(hex), "%016" PRIx64, hash_fnv1a(HASH_FNV_BASIS, data, len));
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
    uint64_t h, size;
    int rc = hash_file(path, &h, &size, err);
    if (rc) return rc;
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, h);
    json_object_set_new(files, "index.faiss",
                        json_pack("{s:I,s:s}", "bytes", (json_int_t)size, "fnv1a", hex));
    return 0;
}

/* interests.json: one object per interest. "coverage" and "kind" came
 * with labels.h's labels; readers of older files default them (unknown). */
static json_t *labels_json(const mx_model *m) {
    json_t *arr = json_array();
    for (size_t c = 0; c < m->n_clusters; c++) {
        const lbl_label *l = &m->labels[c];
        json_t *top = json_array();
        for (int t = 0; t < 3; t++)
            if (l->top_items[t] != INTR_NONE)
                json_array_append_new(top, json_string(m->item_ids[l->top_items[t]]));
        json_t *o =
            json_pack("{s:I,s:s,s:I,s:o,s:s}", "id", (json_int_t)c, "label", l->name, "size",
                      (json_int_t)l->size, "top_items", top, "kind", lbl_kind_name(l->kind));
        /* rounded: 0.6 reads better than 0.60000002384185791 */
        if (o && l->coverage >= 0)
            json_object_set_new(o, "coverage", json_real(round(l->coverage * 1e4) / 1e4));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* The manifest's "build_report" (model.h). */
static json_t *report_json(const mx_model *m) {
    json_t *w = json_array();
    for (size_t i = 0; i < m->n_warnings && i < MODEL_MAX_WARNINGS; i++)
        json_array_append_new(w, json_string(m->warnings[i]));
    return json_pack("{s:s,s:o,s:I}", "interests", m->interests_note, "warnings", w,
                     "warnings_total", (json_int_t)m->n_warnings);
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

int model_promote(const char *root, const char *version, mx_err *err) {
    char tmp[4096], path[4096];
    path_join(path, sizeof(path), root, version);
    path_join(tmp, sizeof(tmp), path, "manifest.json");
    if (!version[0] || strchr(version, '/') || access(tmp, R_OK) != 0)
        return mx_err_set(err, MX_EINVAL, "%s: no model version '%s' to promote", root, version);
    path_join(tmp, sizeof(tmp), root, "CURRENT.tmp");
    path_join(path, sizeof(path), root, "CURRENT");
    FILE *f = fopen(tmp, "w");
    int ok = f && fprintf(f, "%s\n", version) >= 0;
    ok = (f && fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0)
        return mx_err_set(err, MX_EIO, "%s: could not update: %s", path, strerror(errno));
    return 0;
}

int model_current(const char *root, char *out, size_t len, mx_err *err) {
    char path[4096];
    path_join(path, sizeof(path), root, "CURRENT");
    FILE *f = fopen(path, "r");
    if (!f) return mx_err_set(err, MX_EIO, "%s: %s", path, strerror(errno));
    char line[256] = "";
    int ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n")] = 0;
    if (!ok || !line[0] || strlen(line) >= len)
        return mx_err_set(err, MX_EIO, "%s: no version name in it", path);
    snprintf(out, len, "%s", line);
    return 0;
}

int model_save(const mx_model *m, const char *root, char *version_out, mx_err *err) {
    return model_save_opts(m, root, NULL, version_out, err);
}

int model_save_opts(const mx_model *m, const char *root, const model_save_options *o,
                    char *version_out, mx_err *err) {
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
        json_object_set_new(man, "build_report", report_json(m));
        if (m->ranker_json && m->ranker_info)
            json_object_set(man, "ranker", (json_t *)m->ranker_info);
        if (man && o && o->manifest_extra)
            json_object_update_missing(man, (json_t *)o->manifest_extra);
        files = NULL; /* stolen by the manifest */
        path_join(path, sizeof(path), dir, "manifest.json");
        if (!man || json_dump_file(man, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
            rc = mx_err_set(err, MX_EIO, "%s: could not write the manifest", path);
        json_decref(man);
    }
    json_decref(files);
    if (rc) return rc;
    /* Point CURRENT at the new version atomically. */
    if (!(o && o->no_current) && (rc = model_promote(root, version, err))) return rc;
    if (version_out) snprintf(version_out, 48, "%s", version);
    return 0;
}

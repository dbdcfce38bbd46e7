/* test_model.c - a model built by pipe_build survives model_save and
 * model_load field by field (ids, vectors, mixtures, popularity, labels,
 * metadata, parameters, index answers); versions and CURRENT behave; and
 * every kind of damage to a model directory is an error naming the file. */
#include "model.h"
#include "pipeline.h"
#include "retrieve.h"
#include "synth.h"
#include "tap.h"
#include "fixture.h"

#include <ftw.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[64];

static mx_model *build_model(ds_dataset **ds_out) {
    ds_dataset *ds = fixture_dataset(800, 200, 6, 8, 5);
    /* non-default values everywhere they can be seen after a load */
    static const char *const settings[] = {"embed.dim=8",
                                           "embed.iters=4",
                                           "embed.seed=7",
                                           "embed.reg=0.3",
                                           "interests.count=6",
                                           "mixture.top_m=4",
                                           "mixture.half_life_days=30",
                                           "retrieval.nprobe=3",
                                           "retrieval.overfetch=3.5",
                                           "retrieval.share_single=0.35",
                                           "popularity.half_life_days=7.25",
                                           "data.min_value=0.5",
                                           "eval.per_user_split=true",
                                           NULL};
    mx_model *m = fixture_model(ds, NULL, 0, settings);
    ASSERT_EQ(m->n_clusters, 6);
    ASSERT_EQ(m->dim, 8);
    ASSERT(m->titles != NULL && m->n_categories > 0);
    /* pretend the data came from files, so the checksums have values */
    m->data_fnv[0] = 0x0123456789abcdefULL;
    m->data_fnv[1] = 0xfedcba9876543210ULL;
    *ds_out = ds;
    return m;
}

static void same_strings(const char **a, const char **b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const char *x = a[i] && a[i][0] ? a[i] : NULL, *y = b[i] && b[i][0] ? b[i] : NULL;
        ASSERT((x == NULL) == (y == NULL));
        if (x) ASSERT_STR_EQ(x, y);
    }
}

static void same_mix(const mix_table *a, const mix_table *b) {
    ASSERT_EQ(a->n_users, b->n_users);
    ASSERT_EQ(a->m, b->m);
    size_t n = (size_t)a->n_users * a->m;
    ASSERT(memcmp(a->len, b->len, a->n_users) == 0);
    ASSERT(memcmp(a->cid, b->cid, n * sizeof(uint32_t)) == 0);
    ASSERT(memcmp(a->w, b->w, n * sizeof(float)) == 0);
}

static void same_cfg(const bcfg *a, const bcfg *b) {
    size_t n = 0;
    const bcfg_entry *e = bcfg_entries(&n);
    for (size_t i = 0; i < n; i++) {
        char va[64], vb[64];
        bcfg_format_value(a, &e[i], va, sizeof(va));
        bcfg_format_value(b, &e[i], vb, sizeof(vb));
        if (strcmp(va, vb) != 0) FAIL("parameter %s: built %s, loaded %s", e[i].name, va, vb);
    }
    ASSERT(a->mixture.half_life == b->mixture.half_life); /* derived values too */
    ASSERT(a->embed.half_life == b->embed.half_life);
    ASSERT_EQ(a->embed.t_ref, b->embed.t_ref);
}

/* Index answers: exact global search and per-list search, for user vectors. */
static void same_index(const mx_model *a, const mx_model *b) {
    ASSERT_EQ(ann_dim(b->index), a->dim);
    ASSERT_EQ(ann_n_lists(b->index), ann_n_lists(a->index));
    ASSERT_EQ(ann_ntotal(b->index), ann_ntotal(a->index));
    for (size_t c = 0; c < a->n_clusters; c++)
        ASSERT_EQ(ann_list_size(b->index, c), ann_list_size(a->index, c));
    ASSERT(memcmp(ann_centroids(a->index), ann_centroids(b->index),
                  a->n_clusters * a->dim * sizeof(float)) == 0);
    ann_scratch *sa = ann_scratch_new(a->index, a->n_clusters, 20);
    ann_scratch *sb = ann_scratch_new(b->index, b->n_clusters, 20);
    mx_err err = {0};
    for (size_t u = 0; u < a->n_users; u += 17) {
        const float *q = a->user_vecs + u * a->dim;
        float s1[20], s2[20];
        int64_t i1[20], i2[20];
        size_t n1, n2;
        ASSERT_EQ(ann_search_global(a->index, sa, q, 20, 0, s1, i1, &n1, &err), 0);
        ASSERT_EQ(ann_search_global(b->index, sb, q, 20, 0, s2, i2, &n2, &err), 0);
        ASSERT_EQ(n1, n2);
        ASSERT(n1 > 0);
        ASSERT(memcmp(i1, i2, n1 * sizeof(int64_t)) == 0);
        ASSERT(memcmp(s1, s2, n1 * sizeof(float)) == 0);
        uint32_t lists[2] = {0, (uint32_t)(a->n_clusters - 1)};
        const float *ls1, *ls2;
        const int64_t *li1, *li2;
        ASSERT_EQ(ann_search_lists(a->index, sa, q, lists, 2, 10, NULL, &ls1, &li1, &err), 0);
        ASSERT_EQ(ann_search_lists(b->index, sb, q, lists, 2, 10, NULL, &ls2, &li2, &err), 0);
        ASSERT(memcmp(li1, li2, 20 * sizeof(int64_t)) == 0);
        ASSERT(memcmp(ls1, ls2, 20 * sizeof(float)) == 0);
    }
    ann_scratch_free(sa);
    ann_scratch_free(sb);
}

/* The blended pool for a few users: the loaded model answers the same. */
static void same_pools(const mx_model *a, const mx_model *b) {
    ret_ctx *ca = ret_ctx_new(a->index, a->item_interest, a->n_items, 30, a->mix.m);
    ret_ctx *cb = ret_ctx_new(b->index, b->item_interest, b->n_items, 30, b->mix.m);
    ret_cand pa[3 * 30], pb[3 * 30]; /* the union pool: up to 3 x 30 */
    mx_err err = {0};
    for (uint32_t u = 0; u < a->n_users; u += 23) {
        size_t na, nb;
        const mx_model *ms[2] = {a, b};
        ret_ctx *cs[2] = {ca, cb};
        ret_cand *ps[2] = {pa, pb};
        size_t *ns[2] = {&na, &nb};
        for (int k = 0; k < 2; k++) {
            const mx_model *m = ms[k];
            ret_begin(cs[k], m->seen_items + m->seen_ptr[u], m->seen_ptr[u + 1] - m->seen_ptr[u],
                      0);
            ASSERT_EQ(ret_blend(cs[k], m->index, &m->pop, m->user_vecs + (size_t)u * m->dim,
                                m->mix.cid + (size_t)u * m->mix.m, m->mix.w + (size_t)u * m->mix.m,
                                m->mix.len[u], 30, &m->cfg.retrieval, ps[k], ns[k], &err),
                      0);
        }
        ASSERT_EQ(na, nb);
        for (size_t t = 0; t < na; t++) {
            ASSERT_EQ(pa[t].item, pb[t].item);
            ASSERT_EQ(pa[t].source, pb[t].source);
        }
    }
    ret_ctx_free(ca);
    ret_ctx_free(cb);
}

static void same_model(const mx_model *a, const mx_model *b) {
    ASSERT_STR_EQ(a->created, b->created);
    ASSERT_EQ(a->n_users, b->n_users);
    ASSERT_EQ(a->n_items, b->n_items);
    ASSERT_EQ(a->dim, b->dim);
    ASSERT_EQ(a->n_clusters, b->n_clusters);
    ASSERT_EQ(a->t_ref, b->t_ref);
    ASSERT_EQ(a->n_events, b->n_events);
    ASSERT_STR_EQ(a->embeddings, b->embeddings);
    ASSERT(a->data_fnv[0] == b->data_fnv[0] && a->data_fnv[1] == b->data_fnv[1]);
    same_cfg(&a->cfg, &b->cfg);
    size_t nu = a->n_users, ni = a->n_items, d = a->dim;
    same_strings(a->user_ids, b->user_ids, nu);
    same_strings(a->item_ids, b->item_ids, ni);
    for (size_t u = 0; u < nu; u++)
        ASSERT_EQ(model_user(b, a->user_ids[u]), u);
    for (size_t i = 0; i < ni; i++)
        ASSERT_EQ(model_item(b, a->item_ids[i]), i);
    ASSERT_EQ(model_user(b, "nobody"), -1);
    ASSERT_EQ(model_item(b, "nothing"), -1);
    ASSERT(memcmp(a->user_vecs, b->user_vecs, nu * d * sizeof(float)) == 0);
    ASSERT(memcmp(a->item_vecs, b->item_vecs, ni * d * sizeof(float)) == 0);
    ASSERT(memcmp(a->item_gram, b->item_gram, d * d * sizeof(float)) == 0);
    ASSERT(memcmp(a->item_interest, b->item_interest, ni * sizeof(uint32_t)) == 0);
    same_mix(&a->mix, &b->mix);
    same_mix(&a->mix_raw, &b->mix_raw);
    ASSERT_EQ(b->pop.n_items, ni);
    ASSERT(memcmp(a->pop.score, b->pop.score, ni * sizeof(float)) == 0);
    ASSERT(memcmp(a->pop.count, b->pop.count, ni * sizeof(float)) == 0);
    ASSERT_EQ(a->pop.n_ranked, b->pop.n_ranked);
    ASSERT(memcmp(a->pop.ranked, b->pop.ranked, a->pop.n_ranked * sizeof(uint32_t)) == 0);
    ASSERT(memcmp(a->seen_ptr, b->seen_ptr, (nu + 1) * sizeof(uint64_t)) == 0);
    ASSERT(memcmp(a->seen_items, b->seen_items, a->seen_ptr[nu] * sizeof(uint32_t)) == 0);
    for (size_t c = 0; c < a->n_clusters; c++) {
        ASSERT_STR_EQ(a->labels[c].name, b->labels[c].name);
        ASSERT_EQ(a->labels[c].size, b->labels[c].size);
        for (int t = 0; t < 3; t++)
            ASSERT_EQ(a->labels[c].top_items[t], b->labels[c].top_items[t]);
    }
    same_strings(a->titles, b->titles, ni);
    ASSERT_EQ(a->n_categories, b->n_categories);
    same_strings(a->cat_names, b->cat_names, a->n_categories);
    ASSERT(memcmp(a->cat_ptr, b->cat_ptr, (ni + 1) * sizeof(uint32_t)) == 0);
    ASSERT(memcmp(a->cat_ids, b->cat_ids, a->cat_ptr[ni] * sizeof(uint16_t)) == 0);
    same_index(a, b);
    same_pools(a, b);
}

static void read_current(const char *root, char *out, size_t n) {
    char path[256];
    snprintf(path, sizeof(path), "%s/CURRENT", root);
    FILE *f = fopen(path, "r");
    ASSERT(f);
    ASSERT(fgets(out, (int)n, f) != NULL);
    fclose(f);
    out[strcspn(out, "\n")] = 0;
}

/* Every item's mx_item_hot line holds what the arrays it copies hold, to
 * the bit (the ranker's features read the line). */
static void same_item_hot(const mx_model *m) {
    ASSERT(m->item_hot && ((uintptr_t)m->item_hot & 63) == 0);
    size_t with_cats = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        const mx_item_hot *h = m->item_hot + i;
        ASSERT_EQ(h->interest, m->item_interest[i]);
        ASSERT_EQ(h->cat_lo, m->cat_ptr[i]);
        ASSERT_EQ(h->cat_hi, m->cat_ptr[i + 1]);
        with_cats += h->cat_hi > h->cat_lo;
        ASSERT(memcmp(&h->inv_norm, m->item_inv_norm + i, sizeof(float)) == 0);
        ASSERT(memcmp(h->stats, m->item_stats + i * MODEL_ITEM_STATS, sizeof(h->stats)) == 0);
        ASSERT(memcmp(h->log_pop, m->item_log_pop + i * MODEL_LOG_POP, sizeof(h->log_pop)) == 0);
    }
    ASSERT(with_cats > 0); /* the fixture's items have categories */
}

static void test_round_trip(const mx_model *m) {
    char root[128], ver[48], ver2[48], cur[64], path[256];
    snprintf(root, sizeof(root), "%s/models", tmpdir);
    mx_err err = {0};
    ASSERT_EQ(model_save(m, root, ver, &err), 0);
    ASSERT(ver[0]);
    read_current(root, cur, sizeof(cur));
    ASSERT_STR_EQ(cur, ver);
    mx_model *back = NULL;
    ASSERT_EQ(model_load(root, &back, &err), 0);
    ASSERT_STR_EQ(back->version, ver);
    same_model(m, back);
    same_item_hot(m);
    same_item_hot(back);
    model_free(back);

    /* a second save is a new version; CURRENT follows it */
    ASSERT_EQ(model_save(m, root, ver2, &err), 0);
    ASSERT(strcmp(ver, ver2) != 0);
    read_current(root, cur, sizeof(cur));
    ASSERT_STR_EQ(cur, ver2);
    ASSERT_EQ(model_load(root, &back, &err), 0);
    ASSERT_STR_EQ(back->version, ver2);
    model_free(back);
    /* the first version is still there and loads by its directory */
    snprintf(path, sizeof(path), "%s/%s", root, ver);
    ASSERT_EQ(model_load(path, &back, &err), 0);
    ASSERT_STR_EQ(back->version, ver);
    same_model(m, back);
    model_free(back);
    snprintf(path, sizeof(path), "%s/CURRENT.tmp", root);
    ASSERT(access(path, F_OK) != 0); /* renamed, not left behind */
    model_free(NULL);
    TEST_OK("save/load round trip: every field, the index and the pools are identical");
    TEST_OK("built and loaded: every item's mx_item_hot line equals the arrays it copies");
    TEST_OK("a second save makes a new version and CURRENT follows");

    /* a candidate: saved without touching CURRENT, an extra manifest key,
     * then promoted */
    char ver3[48];
    json_t *extra = json_pack("{s:{s:s}}", "retrain", "decision", "promote");
    model_save_options so = {.no_current = 1, .manifest_extra = extra};
    ASSERT_EQ(model_save_opts(m, root, &so, ver3, &err), 0);
    json_decref(extra);
    read_current(root, cur, sizeof(cur));
    ASSERT_STR_EQ(cur, ver2);
    snprintf(path, sizeof(path), "%s/%s/manifest.json", root, ver3);
    json_t *man = json_load_file(path, 0, NULL);
    ASSERT(man);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(man, "retrain"), "decision")),
                  "promote");
    ASSERT_STR_EQ(json_string_value(json_object_get(man, "format")), "mixrec-model");
    json_decref(man);
    snprintf(path, sizeof(path), "%s/%s", root, ver3);
    ASSERT_EQ(model_load(path, &back, &err), 0);
    model_free(back);
    ASSERT_EQ(model_promote(root, ver3, &err), 0);
    ASSERT_EQ(model_current(root, cur, sizeof(cur), &err), 0);
    ASSERT_STR_EQ(cur, ver3);
    ASSERT(model_promote(root, "no-such-version", &err) < 0);
    ASSERT_EQ(model_current(root, cur, sizeof(cur), &err), 0);
    ASSERT_STR_EQ(cur, ver3);
    TEST_OK("model_save_opts: a candidate leaves CURRENT alone, carries extra manifest keys, "
            "model_promote points CURRENT at it");

    /* a model saved before retrieval.pool_union keeps the fused pool its
     * ranker was trained on; a model that says true is read as true */
    ASSERT_EQ(model_load(path, &back, &err), 0);
    ASSERT_EQ(back->cfg.retrieval.pool_union, 1);
    model_free(back);
    snprintf(path, sizeof(path), "%s/%s/manifest.json", root, ver3);
    man = json_load_file(path, 0, NULL);
    ASSERT(man);
    json_object_del(json_object_get(json_object_get(man, "parameters"), "retrieval"), "pool_union");
    ASSERT_EQ(json_dump_file(man, path, JSON_INDENT(2)), 0);
    json_decref(man);
    snprintf(path, sizeof(path), "%s/%s", root, ver3);
    ASSERT_EQ(model_load(path, &back, &err), 0);
    ASSERT_EQ(back->cfg.retrieval.pool_union, 0);
    model_free(back);
    TEST_OK("a manifest without retrieval.pool_union (an older model) loads with the fused pool");
}

/* Saves m into a fresh root named `name`; the version directory in vdir. */
static void fresh_copy(const mx_model *m, const char *name, char *root, char *vdir) {
    char ver[48];
    mx_err err = {0};
    snprintf(root, 128, "%s/%s", tmpdir, name);
    ASSERT_EQ(model_save(m, root, ver, &err), 0);
    snprintf(vdir, 200, "%s/%s", root, ver);
}

static void expect_load_error(const char *dir, const char *needle1, const char *needle2) {
    mx_model *back = (mx_model *)1;
    mx_err err = {0};
    int rc = model_load(dir, &back, &err);
    if (rc == 0) FAIL("model_load(%s) succeeded; expected an error about %s", dir, needle1);
    ASSERT(rc < 0);
    ASSERT(back == NULL);
    ASSERT_EQ(err.code, rc);
    ASSERT_CONTAINS(err.msg, needle1);
    if (needle2) ASSERT_CONTAINS(err.msg, needle2);
}

/* expect_load_error in a child that leaves with _exit: FAISS 1.7.3's
 * read_index leaks the half-built index when the file ends early, and a
 * child skips LeakSanitizer's check at exit, where a suppression of
 * read_index in lsan.supp would also hide a real leak of a loaded index. */
static void expect_load_error_in_child(const char *dir, const char *needle1, const char *needle2) {
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        expect_load_error(dir, needle1, needle2); /* exit(1) when it fails */
        fflush(NULL);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ASSERT(f);
    fputs(text, f);
    fclose(f);
}

static void test_corruption(const mx_model *m) {
    char root[128], vdir[200], path[300];

    /* truncated vectors */
    fresh_copy(m, "trunc", root, vdir);
    snprintf(path, sizeof(path), "%s/item_vectors.f32", vdir);
    ASSERT_EQ(truncate(path, (off_t)(m->n_items * m->dim * sizeof(float) / 2)), 0);
    expect_load_error(root, path, "truncated");

    /* one flipped byte: same size, wrong checksum */
    fresh_copy(m, "flip", root, vdir);
    snprintf(path, sizeof(path), "%s/user_vectors.f32", vdir);
    FILE *f = fopen(path, "r+b");
    ASSERT(f);
    ASSERT_EQ(fseek(f, 101, SEEK_SET), 0);
    int ch = fgetc(f);
    ASSERT_EQ(fseek(f, 101, SEEK_SET), 0);
    fputc(ch ^ 0x10, f);
    fclose(f);
    expect_load_error(root, path, "checksum");
    /* a flipped byte in a text file too */
    fresh_copy(m, "flip2", root, vdir);
    snprintf(path, sizeof(path), "%s/items.txt", vdir);
    f = fopen(path, "r+b");
    ASSERT(f);
    fputc('#', f);
    fclose(f);
    expect_load_error(root, path, "checksum");

    /* missing manifest: through CURRENT, and given the version directory */
    fresh_copy(m, "noman", root, vdir);
    snprintf(path, sizeof(path), "%s/manifest.json", vdir);
    ASSERT_EQ(unlink(path), 0);
    expect_load_error(root, path, NULL);
    expect_load_error(vdir, vdir, "no model here");

    /* a manifest from another format version */
    fresh_copy(m, "fmt", root, vdir);
    snprintf(path, sizeof(path), "%s/manifest.json", vdir);
    f = fopen(path, "rb");
    ASSERT(f);
    static char man[1 << 20];
    size_t len = fread(man, 1, sizeof(man) - 1, f);
    fclose(f);
    man[len] = 0;
    char *fv = strstr(man, "\"format_version\": 2");
    ASSERT(fv != NULL);
    fv[strlen("\"format_version\": ")] = '9';
    write_text(path, man);
    expect_load_error(root, path, "format version 9");

    /* not a manifest at all */
    write_text(path, "{\"format\": \"something-else\"}\n");
    expect_load_error(root, path, "not a mixrec model manifest");
    write_text(path, "{ this is not json");
    expect_load_error(root, path, NULL);

    /* CURRENT naming a version that does not exist, or nothing usable */
    fresh_copy(m, "cur", root, vdir);
    snprintf(path, sizeof(path), "%s/CURRENT", root);
    write_text(path, "20000101T000000Z\n");
    expect_load_error(root, "20000101T000000Z", "manifest.json");
    write_text(path, "../elsewhere\n");
    expect_load_error(root, path, "does not name a model version");
    write_text(path, "");
    expect_load_error(root, path, "does not name a model version");
    ASSERT_EQ(unlink(path), 0);
    expect_load_error(root, root, "no model here");

    /* the index replaced by garbage: its size and checksum are in the
     * manifest, so FAISS never reads it */
    fresh_copy(m, "index", root, vdir);
    snprintf(path, sizeof(path), "%s/index.faiss", vdir);
    write_text(path, "garbage garbage garbage garbage garbage garbage\n");
    expect_load_error(root, path, "the manifest says");
    /* ... by a truncated copy of itself */
    fresh_copy(m, "index2", root, vdir);
    snprintf(path, sizeof(path), "%s/index.faiss", vdir);
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(truncate(path, st.st_size / 2), 0);
    expect_load_error_in_child(root, path, "the manifest says");
    /* ... and with one byte changed in place */
    fresh_copy(m, "index3", root, vdir);
    snprintf(path, sizeof(path), "%s/index.faiss", vdir);
    {
        FILE *f = fopen(path, "r+b");
        ASSERT(f != NULL);
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(fseek(f, st.st_size / 2, SEEK_SET), 0);
        int ch = fgetc(f);
        ASSERT_EQ(fseek(f, st.st_size / 2, SEEK_SET), 0);
        fputc(ch ^ 0x5a, f);
        fclose(f);
    }
    expect_load_error(root, path, "checksum");

    /* a data file missing */
    fresh_copy(m, "gone", root, vdir);
    snprintf(path, sizeof(path), "%s/mixture_weights.f32", vdir);
    ASSERT_EQ(unlink(path), 0);
    expect_load_error(root, path, NULL);

    /* nothing there at all */
    snprintf(path, sizeof(path), "%s/does-not-exist", tmpdir);
    expect_load_error(path, path, "no model here");
    TEST_OK("truncated, flipped, missing manifest, wrong format, bad CURRENT, garbage index: "
            "errors naming the file");
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mixrec-test-model-XXXXXX");
    ASSERT(mkdtemp(tmpdir) != NULL);
    ds_dataset *ds = NULL;
    mx_model *m = build_model(&ds);
    test_round_trip(m);
    test_corruption(m);
    model_free(m);
    ds_free(ds);
    ASSERT_EQ(nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    ASSERT(access(tmpdir, F_OK) != 0);
    return 0;
}

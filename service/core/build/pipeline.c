/* pipeline.c - see pipeline.h. */
#include "pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embcache.h"
#include "embed.h"
#include "interests.h"
#include "labels.h"
#include "vecio.h"

double pipe_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Reads brought item vectors and places them at ds's item ids. Items the
 * file does not cover keep a zero vector (not indexed); ids the dataset
 * does not know are counted and skipped. */
static int load_item_vectors(const ds_dataset *ds, const pipe_inputs *in, float **vecs, size_t *dim,
                             mx_err *err) {
    float *raw = NULL;
    size_t rows = 0, d = 0, n_ids = 0, ni = ds_n_items(ds), matched = 0;
    char **ids = NULL;
    int64_t *dest = NULL;
    uint8_t *taken = NULL;
    int rc = 0;
    if (!in->item_vector_ids)
        return mx_err_set(err, MX_EINVAL,
                          "--item-vectors needs --item-vector-ids (one item id per row)");
    if ((rc = vec_read_ids(in->item_vector_ids, &ids, &n_ids, err))) return rc;
    /* Where every row goes (-1: not an item of the log); an item twice is
     * an error rather than a silent overwrite. */
    dest = malloc((n_ids ? n_ids : 1) * sizeof(int64_t));
    taken = calloc(ni ? ni : 1, 1);
    if (!dest || !taken) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for item vector ids");
        goto done;
    }
    for (size_t r = 0; r < n_ids; r++) {
        dest[r] = ds_find_item(ds, ids[r]);
        if (dest[r] < 0) continue;
        if (taken[dest[r]]) {
            rc = mx_err_set(err, MX_EINVAL, "%s:%zu: item id '%s' appears twice",
                            in->item_vector_ids, r + 1, ids[r]);
            goto done;
        }
        taken[dest[r]] = 1;
        matched++;
    }
    if (matched == 0) {
        rc = mx_err_set(err, MX_EINVAL,
                        "none of the %zu ids in %s is an item of the interaction log", n_ids,
                        in->item_vector_ids);
        goto done;
    }
    if ((rc = vec_read(in->item_vectors, &raw, &rows, &d, err))) goto done;
    if (n_ids != rows) {
        rc = mx_err_set(err, MX_EINVAL, "%s has %zu rows but %s has %zu ids", in->item_vectors,
                        rows, in->item_vector_ids, n_ids);
        goto done;
    }
    if (rows == ni && matched == ni) {
        /* A permutation of the catalogue (the usual case): reorder in
         * place, following cycles, instead of holding two copies. */
        float tmp[4096];
        for (size_t r = 0; r < rows && d <= 4096; r++) {
            while ((size_t)dest[r] != r) {
                size_t t = (size_t)dest[r];
                memcpy(tmp, raw + t * d, d * sizeof(float));
                memcpy(raw + t * d, raw + r * d, d * sizeof(float));
                memcpy(raw + r * d, tmp, d * sizeof(float));
                dest[r] = dest[t];
                dest[t] = (int64_t)t;
            }
        }
        if (d <= 4096) {
            *vecs = raw;
            raw = NULL;
            *dim = d;
            goto done;
        }
    }
    *vecs = calloc((ni ? ni : 1) * d, sizeof(float));
    if (!*vecs) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory for item vectors");
        goto done;
    }
    for (size_t r = 0; r < rows; r++)
        if (dest[r] >= 0) memcpy(*vecs + (size_t)dest[r] * d, raw + r * d, d * sizeof(float));
    *dim = d;
done:
    free(raw);
    free(dest);
    free(taken);
    vec_free_ids(ids, n_ids);
    return rc;
}

/* Copies n strings into one block owned by the model. */
static const char **copy_strings(mx_model *m, size_t n,
                                 const char *(*get)(const ds_dataset *, uint32_t),
                                 const ds_dataset *ds) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = get(ds, (uint32_t)i);
        total += (s ? strlen(s) : 0) + 1;
    }
    char *buf = model_keep(m, malloc(total + 1), 0, 0);
    const char **out = model_keep(m, malloc((n ? n : 1) * sizeof(char *)), 0, 0);
    if (!buf || !out) return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *s = get(ds, (uint32_t)i);
        if (!s) {
            out[i] = NULL;
            continue;
        }
        size_t l = strlen(s) + 1;
        memcpy(buf, s, l);
        out[i] = buf;
        buf += l;
    }
    return out;
}

static const char *cat_name(const ds_dataset *ds, uint32_t c) {
    return ds_category_name(ds, (uint16_t)c);
}

static int copy_metadata(mx_model *m, const ds_dataset *ds, mx_err *err) {
    size_t ni = m->n_items;
    m->n_categories = ds_n_categories(ds);
    m->titles = copy_strings(m, ni, ds_item_title, ds);
    m->cat_names = copy_strings(m, m->n_categories, cat_name, ds);
    uint32_t *ptr = model_keep(m, malloc((ni + 1) * sizeof(uint32_t)), 0, 0);
    if (!m->titles || !m->cat_names || !ptr)
        return mx_err_set(err, MX_ENOMEM, "out of memory for metadata");
    size_t total = 0;
    for (size_t i = 0; i < ni; i++) {
        size_t n = 0;
        ds_item_categories(ds, (uint32_t)i, &n);
        ptr[i] = (uint32_t)total;
        total += n;
    }
    ptr[ni] = (uint32_t)total;
    uint16_t *ids = model_keep(m, malloc((total ? total : 1) * sizeof(uint16_t)), 0, 0);
    if (!ids) return mx_err_set(err, MX_ENOMEM, "out of memory for categories");
    for (size_t i = 0; i < ni; i++) {
        size_t n = 0;
        const uint16_t *c = ds_item_categories(ds, (uint32_t)i, &n);
        if (n) memcpy(ids + ptr[i], c, n * sizeof(uint16_t));
    }
    m->cat_ptr = ptr;
    m->cat_ids = ids;
    return 0;
}

static int build_maps(mx_model *m, mx_err *err) {
    smap **maps[2] = {&m->user_map, &m->item_map};
    const char **ids[2] = {m->user_ids, m->item_ids};
    size_t n[2] = {m->n_users, m->n_items};
    for (int k = 0; k < 2; k++) {
        *maps[k] = smap_new(n[k]);
        if (!*maps[k]) return mx_err_set(err, MX_ENOMEM, "out of memory for id maps");
        for (size_t i = 0; i < n[k]; i++)
            if (smap_put(*maps[k], ids[k][i], strlen(ids[k][i]), (uint32_t)i, NULL, NULL) < 0)
                return mx_err_set(err, MX_ENOMEM, "out of memory for id maps");
    }
    return 0;
}

/* Activity statistics for the ranker's features (model.h MODEL_*). */
static int compute_activity(mx_model *m, const ds_event *ev, size_t n, mx_err *err) {
    size_t nu = m->n_users, ni = m->n_items;
    float *is = model_keep(m, calloc((ni ? ni : 1) * MODEL_ITEM_STATS, sizeof(float)), 0, 0);
    float *us = model_keep(m, calloc((nu ? nu : 1) * MODEL_USER_STATS, sizeof(float)), 0, 0);
    uint32_t *rec = model_keep(m, malloc((nu ? nu : 1) * MODEL_RECENT * sizeof(uint32_t)), 0, 0);
    int64_t *first = malloc((ni ? ni : 1) * sizeof(int64_t));
    int64_t *last = malloc((ni ? ni : 1) * sizeof(int64_t));
    int64_t *ulast = malloc((nu ? nu : 1) * sizeof(int64_t));
    int64_t *rts = malloc((nu ? nu : 1) * MODEL_RECENT * sizeof(int64_t));
    if (!is || !us || !rec || !first || !last || !ulast || !rts) {
        free(first);
        free(last);
        free(ulast);
        free(rts);
        return mx_err_set(err, MX_ENOMEM, "out of memory for activity statistics");
    }
    for (size_t i = 0; i < ni; i++) {
        first[i] = INT64_MAX;
        last[i] = INT64_MIN;
    }
    for (size_t u = 0; u < nu; u++)
        ulast[u] = INT64_MIN;
    for (size_t j = 0; j < nu * MODEL_RECENT; j++) {
        rec[j] = UINT32_MAX;
        rts[j] = INT64_MIN;
    }
    for (size_t e = 0; e < n; e++) {
        uint32_t u = ev[e].user, i = ev[e].item;
        int64_t ts = ev[e].ts;
        if (ts < first[i]) first[i] = ts;
        if (ts > last[i]) last[i] = ts;
        if (ts > ulast[u]) ulast[u] = ts;
        is[(size_t)i * MODEL_ITEM_STATS + MODEL_ITEM_POP_DAY] +=
            (float)exp2(-(double)(m->t_ref - ts) / 86400.0);
        /* newest-first list of distinct items; ties keep the earlier event */
        uint32_t *r = rec + (size_t)u * MODEL_RECENT;
        int64_t *rt = rts + (size_t)u * MODEL_RECENT;
        size_t k = 0;
        while (k < MODEL_RECENT && r[k] != i && r[k] != UINT32_MAX)
            k++;
        if (k < MODEL_RECENT && r[k] == i) {
            if (ts <= rt[k]) continue;
            for (; k + 1 < MODEL_RECENT && r[k + 1] != UINT32_MAX; k++) { /* remove, re-insert */
                r[k] = r[k + 1];
                rt[k] = rt[k + 1];
            }
            r[k] = UINT32_MAX;
            rt[k] = INT64_MIN;
        }
        size_t pos = 0;
        while (pos < MODEL_RECENT && r[pos] != UINT32_MAX && rt[pos] >= ts)
            pos++;
        if (pos == MODEL_RECENT) continue;
        for (size_t j = MODEL_RECENT - 1; j > pos; j--) {
            r[j] = r[j - 1];
            rt[j] = rt[j - 1];
        }
        r[pos] = i;
        rt[pos] = ts;
    }
    for (size_t i = 0; i < ni; i++) {
        float *s = is + i * MODEL_ITEM_STATS;
        s[MODEL_ITEM_AGE] = first[i] == INT64_MAX ? 0 : (float)((m->t_ref - first[i]) / 86400.0);
        s[MODEL_ITEM_IDLE] = last[i] == INT64_MIN ? 0 : (float)((m->t_ref - last[i]) / 86400.0);
    }
    for (size_t u = 0; u < nu; u++) {
        float *s = us + u * MODEL_USER_STATS;
        s[MODEL_USER_IDLE] = ulast[u] == INT64_MIN ? 0 : (float)((m->t_ref - ulast[u]) / 86400.0);
        double sum = 0;
        size_t cnt = m->seen_ptr[u + 1] - m->seen_ptr[u];
        for (size_t j = m->seen_ptr[u]; j < m->seen_ptr[u + 1]; j++)
            sum += log1p(m->pop.count[m->seen_items[j]]);
        s[MODEL_USER_POP_AFFINITY] = cnt ? (float)(sum / (double)cnt) : 0;
    }
    free(first);
    free(last);
    free(ulast);
    free(rts);
    m->item_stats = is;
    m->user_stats = us;
    m->user_recent = rec;
    return 0;
}

/* A new model's header: counts, checksums, t_ref, creation time, cfg
 * (finished). */
static mx_model *new_model(const ds_dataset *ds, const ds_event *train, size_t n_train,
                           const bcfg *cfg_in) {
    mx_model *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->cfg = *cfg_in;
    bcfg_finish(&m->cfg);
    m->n_users = ds_n_users(ds);
    m->n_items = ds_n_items(ds);
    m->n_events = n_train;
    const ds_stats *st = ds_get_stats(ds);
    m->data_fnv[0] = st ? st->interactions_fnv : 0;
    m->data_fnv[1] = st ? st->items_fnv : 0;
    for (size_t e = 0; e < n_train; e++)
        if (train[e].ts > m->t_ref) m->t_ref = train[e].ts;
    m->cfg.embed.t_ref = m->t_ref;
    time_t now = time(NULL);
    struct tm g;
    gmtime_r(&now, &g);
    strftime(m->created, sizeof(m->created), "%Y-%m-%dT%H:%M:%SZ", &g);
    return m;
}

/* 1. Embeddings: ALS, or the brought item vectors with users folded in;
 * then the Gram matrix for fold-in at serving time. */
static int build_embeddings(mx_model *m, const ds_dataset *ds, const ds_event *train,
                            const pipe_inputs *in, const ds_csr *by_user, const ds_csr *by_item,
                            mx_err *err) {
    size_t nu = m->n_users, ni = m->n_items;
    float *item_vecs = NULL, *user_vecs = NULL;
    int rc;
    if (in && in->item_vectors) {
        size_t d = 0;
        if ((rc = load_item_vectors(ds, in, &item_vecs, &d, err))) return rc;
        model_keep(m, item_vecs, 0, 0);
        m->cfg.embed.dim = d;
        snprintf(m->embeddings, sizeof(m->embeddings), "provided:%s", in->item_vectors);
    } else {
        item_vecs = model_keep(m, calloc((ni ? ni : 1) * m->cfg.embed.dim, sizeof(float)), 0, 0);
        snprintf(m->embeddings, sizeof(m->embeddings), "als");
    }
    size_t d = m->cfg.embed.dim;
    m->dim = d;
    user_vecs = model_keep(m, calloc((nu ? nu : 1) * d, sizeof(float)), 0, 0);
    float *gram = model_keep(m, malloc(d * d * sizeof(float)), 0, 0);
    if (!item_vecs || !user_vecs || !gram)
        return mx_err_set(err, MX_ENOMEM, "out of memory for embeddings");
    embc_cache *cache = in ? in->emb_cache : NULL;
    if (in && in->item_vectors) {
        rc = emb_fold_in_users(by_user, item_vecs, ni, &m->cfg.embed, user_vecs, err);
    } else if (embc_get(cache, train, m->n_events, &m->cfg.embed, nu, ni, user_vecs, item_vecs)) {
        rc = 0;
    } else {
        rc = emb_train_als(by_user, by_item, &m->cfg.embed, user_vecs, item_vecs, err);
        if (!rc)
            rc = embc_put(cache, train, m->n_events, &m->cfg.embed, nu, ni, user_vecs, item_vecs,
                          err);
    }
    if (rc) return rc;
    fold_gram(item_vecs, ni, d, m->cfg.embed.reg, gram);
    m->item_vecs = item_vecs;
    m->user_vecs = user_vecs;
    m->item_gram = gram;
    return 0;
}

/* The interest count into m's build report: how it was chosen, and a
 * warning when the data was too small for the count it would have had. */
static void report_interests(mx_model *m, const intr_report *r) {
    size_t n = r->n_vectors;
    if (r->requested && r->requested > n)
        model_warn(m, "interests.count=%zu but %zu item%s an embedding: %zu interests",
                   r->requested, n, n == 1 ? " has" : "s have", r->chosen);
    else if (!r->requested && r->hi < r->unbounded)
        model_warn(m,
                   "%zu item%s with an embedding: %zu interest%s instead of %zu (at most one per "
                   "%d items)",
                   n, n == 1 ? "" : "s", r->chosen, r->chosen == 1 ? "" : "s", r->unbounded,
                   INTR_MIN_ITEMS);
    if (r->requested)
        snprintf(m->interests_note, sizeof(m->interests_note), "%zu: set by interests.count",
                 r->chosen);
    else if (r->lo == r->hi && r->hi < r->unbounded)
        snprintf(m->interests_note, sizeof(m->interests_note),
                 "%zu: at most one per %d of the %zu items with an embedding", r->chosen,
                 INTR_MIN_ITEMS, n);
    else if (r->lo == r->hi)
        snprintf(m->interests_note, sizeof(m->interests_note),
                 "%zu: one per 1,000 of the %zu items with an embedding (index list size)",
                 r->chosen, n);
    else if (r->stop == INTR_STOP_ELBOW)
        snprintf(m->interests_note, sizeof(m->interests_note),
                 "%zu: chosen from the data in %zu..%zu: one merge more would cost %.1fx the "
                 "average merge from %zu (objective %.1f%% of %zu interests')",
                 r->chosen, r->lo, r->hi, r->elbow, r->hi, 100.0 * r->ratio, r->hi);
    else
        snprintf(m->interests_note, sizeof(m->interests_note),
                 "%zu: chosen from the data in %zu..%zu (objective %.1f%% of %zu interests'%s)",
                 r->chosen, r->lo, r->hi, 100.0 * r->ratio, r->hi,
                 r->stop == INTR_STOP_TOL ? "; one merge more would lose more than "
                                            "interests.auto_tol"
                                          : "");
}

/* 2. Interests: clusters of the item vectors; *centroids kept by m. */
static int build_interests(mx_model *m, float **centroids, mx_err *err) {
    size_t ni = m->n_items;
    uint32_t *interest = model_keep(m, malloc((ni ? ni : 1) * sizeof(uint32_t)), 0, 0);
    *centroids = NULL;
    if (!interest) return mx_err_set(err, MX_ENOMEM, "out of memory for interests");
    intr_report rep;
    int rc = intr_train(m->item_vecs, ni, m->dim, &m->cfg.interests, centroids, &m->n_clusters,
                        interest, &rep, err);
    if (rc) return rc;
    model_keep(m, *centroids, 0, 0);
    m->item_interest = interest;
    report_interests(m, &rep);
    return 0;
}

/* Smoothing borrows from the mixture.knn nearest users: say so when there
 * are not that many. */
static void report_smoothing(mx_model *m, const ds_csr *by_user) {
    size_t k = m->cfg.mixture.knn_k, n = 0;
    for (size_t u = 0; u < m->n_users; u++)
        n += by_user->ptr[u + 1] > by_user->ptr[u];
    if (k == 0 || n > k) return;
    if (n <= 1)
        model_warn(m,
                   "%zu user%s with events: no neighbours to smooth mixtures with "
                   "(mixture.knn=%zu); the mixtures are the users' own",
                   n, n == 1 ? "" : "s", k);
    else
        model_warn(m,
                   "%zu users with events: mixtures are smoothed over their %zu other users "
                   "(everyone), not mixture.knn=%zu neighbours",
                   n, n - 1, k);
}

/* 3. Mixtures, raw and smoothed, and the seen lists (sorted by item, for
 * exclusion). */
static int build_mixtures(mx_model *m, const ds_csr *by_user, mx_err *err) {
    size_t nu = m->n_users;
    int rc = mix_compute(by_user, m->item_interest, m->n_clusters, m->user_vecs, m->dim,
                         &m->cfg.mixture, m->t_ref, &m->mix_raw, &m->mix, err);
    if (rc) return rc;
    report_smoothing(m, by_user);
    model_keep(m, m->mix.cid, 0, 0);
    model_keep(m, m->mix.w, 0, 0);
    model_keep(m, m->mix.len, 0, 0);
    model_keep(m, m->mix_raw.cid, 0, 0);
    model_keep(m, m->mix_raw.w, 0, 0);
    model_keep(m, m->mix_raw.len, 0, 0);
    uint64_t *seen_ptr = model_keep(m, malloc((nu + 1) * sizeof(uint64_t)), 0, 0);
    uint32_t *seen =
        model_keep(m, malloc((by_user->ptr[nu] ? by_user->ptr[nu] : 1) * sizeof(uint32_t)), 0, 0);
    if (!seen_ptr || !seen) return mx_err_set(err, MX_ENOMEM, "out of memory for seen lists");
    memcpy(seen_ptr, by_user->ptr, (nu + 1) * sizeof(uint64_t));
    memcpy(seen, by_user->col, by_user->ptr[nu] * sizeof(uint32_t));
    for (size_t u = 0; u < nu; u++)
        qsort(seen + seen_ptr[u], seen_ptr[u + 1] - seen_ptr[u], sizeof(uint32_t), cmp_u32);
    m->seen_ptr = seen_ptr;
    m->seen_items = seen;
    return 0;
}

/* 4. Popularity, activity statistics, the index, labels, ids and
 * metadata. */
/* Items the live catalogue hides or has expired get no popularity: the
 * popular source and the ranker's popularity features must not push what
 * an operator took down (the service filters them anyway; this keeps the
 * next model from spending its popular slots and features on them). They
 * keep their vectors, so an unhidden item serves as before. */
static int demote_blocked(mx_model *m, const ds_dataset *ds, const pipe_inputs *in, mx_err *err) {
    if (!in || !in->catalog) return 0;
    size_t n = 0;
    for (size_t i = 0; i < cat_snapshot_count(in->catalog); i++) {
        const cat_item *it = cat_snapshot_at(in->catalog, i);
        int64_t idx = ds_find_item(ds, it->id);
        if (idx < 0 || (size_t)idx >= m->n_items || !cat_item_blocked(it, in->catalog_now))
            continue;
        m->pop.score[idx] = 0;
        n++;
    }
    return n ? pop_rank(&m->pop, err) : 0;
}

static int build_serving(mx_model *m, const ds_dataset *ds, const ds_event *train, size_t n_train,
                         const pipe_inputs *in, const float *centroids, mx_err *err) {
    size_t nu = m->n_users, ni = m->n_items;
    int rc;
    if ((rc = pop_compute(train, n_train, ni, m->cfg.pop_half_life_days * 86400.0, m->t_ref,
                          &m->pop, err)) ||
        (rc = demote_blocked(m, ds, in, err)))
        return rc;
    if ((rc = compute_activity(m, train, n_train, err)) || (rc = model_derive(m, err))) return rc;
    if ((rc = ann_build(m->item_vecs, ni, m->dim, centroids, m->n_clusters, m->item_interest,
                        &m->index, err)))
        return rc;
    m->labels = calloc(m->n_clusters ? m->n_clusters : 1, sizeof(lbl_label));
    if (!m->labels) return mx_err_set(err, MX_ENOMEM, "out of memory for labels");
    lbl_input li = {.item_interest = m->item_interest,
                    .n_items = ni,
                    .n_clusters = m->n_clusters,
                    .events = m->pop.count,
                    .item_vecs = m->item_vecs,
                    .centroids = centroids,
                    .dim = m->dim,
                    .ds = ds,
                    .min_coverage = m->cfg.interests.label_min_cov};
    if ((rc = lbl_label_all(&li, m->labels, err))) return rc;
    m->user_ids = copy_strings(m, nu, ds_user_id, ds);
    m->item_ids = copy_strings(m, ni, ds_item_id, ds);
    if (!m->user_ids || !m->item_ids) return mx_err_set(err, MX_ENOMEM, "out of memory for ids");
    if ((rc = copy_metadata(m, ds, err)) || (rc = build_maps(m, err)) ||
        (rc = model_derive_hot(m, err)))
        return rc;
    return 0;
}

int pipe_build(const ds_dataset *ds, const ds_event *train, size_t n_train, const bcfg *cfg_in,
               const pipe_inputs *in, mx_model **out, pipe_timings *t, mx_err *err) {
    *out = NULL;
    pipe_timings tm = {0};
    double t0 = pipe_now(), ts = t0;
    ds_csr by_user = {0}, by_item = {0};
    float *centroids = NULL;
    int rc = 0;
    mx_model *m = new_model(ds, train, n_train, cfg_in);
    if (!m) return mx_err_set(err, MX_ENOMEM, "out of memory for the model");
    if (n_train == 0) {
        rc = mx_err_set(err, MX_EINVAL, "no training events");
        goto fail;
    }
    /* by_item only serves the ALS item half-steps */
    if ((rc = ds_csr_build(&by_user, train, n_train, (uint32_t)m->n_users, 0, err)) ||
        (!(in && in->item_vectors) &&
         (rc = ds_csr_build(&by_item, train, n_train, (uint32_t)m->n_items, 1, err))))
        goto fail;
    if ((rc = build_embeddings(m, ds, train, in, &by_user, &by_item, err))) goto fail;
    tm.embed = pipe_now() - ts;
    ts = pipe_now();
    if ((rc = build_interests(m, &centroids, err))) goto fail;
    tm.interests = pipe_now() - ts;
    ts = pipe_now();
    if ((rc = build_mixtures(m, &by_user, err))) goto fail;
    /* The events by user are no longer needed: free them before the index
     * copies the vectors. */
    ds_csr_free(&by_user);
    ds_csr_free(&by_item);
    tm.mixtures = pipe_now() - ts;
    ts = pipe_now();
    if ((rc = build_serving(m, ds, train, n_train, in, centroids, err))) goto fail;
    tm.index = pipe_now() - ts;
    tm.total = pipe_now() - t0;
    if (t) *t = tm;
    *out = m;
    return 0;
fail:
    ds_csr_free(&by_user);
    ds_csr_free(&by_item);
    model_free(m);
    return rc;
}

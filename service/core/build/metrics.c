/* metrics.c - offline ranking metrics (see metrics.h).
 *
 * `mixrec eval` feeds thousands of users per method against catalogues of
 * up to a million items, so met_add never touches O(n_items) memory: the
 * user's relevant set is sorted once and probed by binary search, distinct
 * clusters and genres use generation-stamped arrays (one stamp per cluster
 * or category, "cleared" by bumping the generation), and coverage sets bits
 * in one n_items-bit map per cut-off while counting newly set bits, so the
 * summary needs no scan either. One pass over the top max(K, 100) ranks
 * yields every cut-off at once. */
#include "metrics.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* The activity buckets for recall@100 use this fixed cut-off. */
#define MET_BUCKET_K 100

struct met_acc {
    size_t n_ks;
    size_t ks[MET_MAX_KS];
    size_t k_max;
    size_t n_items;

    const uint32_t *item_cluster; /* borrowed, may be NULL */
    uint32_t *cluster_stamp;      /* n_clusters generation stamps */
    size_t n_clusters;

    const ds_dataset *ds; /* borrowed; NULL or no metadata = no genres */
    int has_genres;
    size_t ds_items; /* items the dataset knows categories for */
    uint32_t *cat_stamp;
    size_t n_cats;

    uint32_t gen; /* current user's stamp; 0 is never a live stamp */

    uint64_t *cover[MET_MAX_KS]; /* one n_items-bit map per K */
    size_t covered[MET_MAX_KS];  /* set bits in cover[j] */

    /* The last user met_add scored, at the first cut-off (met_last). */
    double last_recall, last_ndcg;
    int last_scored;

    /* Sums over users; divided by n_users in met_summarize. */
    size_t n_users;
    double recall[MET_MAX_KS];
    double ndcg[MET_MAX_KS];
    double clusters[MET_MAX_KS];
    double genres[MET_MAX_KS];
    double bucket_recall[MET_N_BUCKETS];
    size_t bucket_users[MET_N_BUCKETS];

    /* Per-user scratch, grown on demand: the deduplicated relevant items
     * and whether each has been hit (so a repeated ranked item scores once). */
    uint32_t *rel;
    unsigned char *rel_hit;
    size_t rel_cap;
};

met_acc *met_new(const size_t *ks, size_t n_ks, size_t n_items, const uint32_t *item_cluster,
                 const ds_dataset *ds) {
    if (!ks || n_ks == 0 || n_ks > MET_MAX_KS) return NULL;
    for (size_t j = 0; j < n_ks; j++)
        if (ks[j] == 0 || (j > 0 && ks[j] <= ks[j - 1])) return NULL;

    met_acc *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->n_ks = n_ks;
    memcpy(a->ks, ks, n_ks * sizeof(*ks));
    a->k_max = ks[n_ks - 1];
    a->n_items = n_items;

    size_t words = (n_items + 63) / 64;
    for (size_t j = 0; j < n_ks; j++) {
        a->cover[j] = calloc(words ? words : 1, sizeof(uint64_t));
        if (!a->cover[j]) goto err;
    }

    if (item_cluster && n_items > 0) {
        /* Cluster ids are dense k-means labels; the largest one sizes the
         * stamp array. One scan here saves every met_add from hashing.
         * UINT32_MAX marks an item in no cluster: it counts for none. */
        uint32_t max = 0;
        for (size_t i = 0; i < n_items; i++)
            if (item_cluster[i] != UINT32_MAX && item_cluster[i] > max) max = item_cluster[i];
        a->item_cluster = item_cluster;
        a->n_clusters = (size_t)max + 1;
        a->cluster_stamp = calloc(a->n_clusters, sizeof(uint32_t));
        if (!a->cluster_stamp) goto err;
    }

    if (ds && ds_has_metadata(ds)) {
        a->ds = ds;
        a->has_genres = 1;
        a->ds_items = ds_n_items(ds);
        a->n_cats = ds_n_categories(ds);
        a->cat_stamp = calloc(a->n_cats ? a->n_cats : 1, sizeof(uint32_t));
        if (!a->cat_stamp) goto err;
    }
    return a;

err:
    met_free(a);
    return NULL;
}

void met_free(met_acc *a) {
    if (!a) return;
    for (size_t j = 0; j < MET_MAX_KS; j++)
        free(a->cover[j]);
    free(a->cluster_stamp);
    free(a->cat_stamp);
    free(a->rel);
    free(a->rel_hit);
    free(a);
}

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Index of x in the sorted array v, or -1. */
static ptrdiff_t find_u32(const uint32_t *v, size_t n, uint32_t x) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < n && v[lo] == x) ? (ptrdiff_t)lo : -1;
}

static int grow_scratch(met_acc *a, size_t n) {
    /* Both arrays share rel_cap: it moves only once both have grown. */
    size_t cap_rel = a->rel_cap, cap_hit = a->rel_cap;
    if (buf_reserve((void **)&a->rel, &cap_rel, n, sizeof(*a->rel)) ||
        buf_reserve((void **)&a->rel_hit, &cap_hit, n, 1))
        return MX_ENOMEM;
    a->rel_cap = cap_rel;
    return 0;
}

/* Starts a new user's stamp generation. On wrap-around the arrays are
 * really cleared, so a stale stamp can never equal the new generation. */
static void next_generation(met_acc *a) {
    if (++a->gen != 0) return;
    if (a->cluster_stamp) memset(a->cluster_stamp, 0, a->n_clusters * sizeof(uint32_t));
    if (a->cat_stamp) memset(a->cat_stamp, 0, a->n_cats * sizeof(uint32_t));
    a->gen = 1;
}

static int bucket_of(size_t n_train_events) {
    if (n_train_events >= 20) return 2;
    if (n_train_events >= 10) return 1;
    if (n_train_events >= 5) return 0;
    return -1;
}

int met_add(met_acc *a, const uint32_t *ranked, size_t n_ranked, const uint32_t *relevant,
            size_t n_relevant, size_t n_train_events) {
    if (!a || (n_ranked && !ranked) || (n_relevant && !relevant)) return MX_EINVAL;
    /* Validate before touching any sum, so a rejected user leaves no trace.
     * Relevant items need no check: one outside the catalogue simply can
     * never be hit. */
    for (size_t r = 0; r < n_ranked; r++)
        if (ranked[r] >= a->n_items) return MX_EINVAL;
    a->last_scored = 0;
    if (n_relevant == 0) return 0;

    int rc = grow_scratch(a, n_relevant);
    if (rc < 0) return rc;
    memcpy(a->rel, relevant, n_relevant * sizeof(*relevant));
    qsort(a->rel, n_relevant, sizeof(*a->rel), cmp_u32);
    size_t n_rel = 1;
    for (size_t i = 1; i < n_relevant; i++)
        if (a->rel[i] != a->rel[n_rel - 1]) a->rel[n_rel++] = a->rel[i];
    memset(a->rel_hit, 0, n_rel);

    next_generation(a);

    size_t scan = a->k_max > MET_BUCKET_K ? a->k_max : MET_BUCKET_K;
    if (scan > n_ranked) scan = n_ranked;

    size_t hits = 0, hits100 = 0, n_cl = 0, n_gen = 0;
    double dcg = 0.0;
    size_t j = 0; /* first cut-off not yet recorded */
    double rec_at[MET_MAX_KS] = {0}, dcg_at[MET_MAX_KS] = {0};
    size_t cl_at[MET_MAX_KS], gen_at[MET_MAX_KS];

    for (size_t r = 0; r < scan; r++) {
        uint32_t item = ranked[r];
        ptrdiff_t at = find_u32(a->rel, n_rel, item);
        if (at >= 0 && !a->rel_hit[at]) {
            a->rel_hit[at] = 1;
            hits++;
            dcg += 1.0 / log2((double)r + 2.0);
        }
        if (r + 1 == MET_BUCKET_K) hits100 = hits;
        if (r >= a->k_max) continue; /* only scanning on for recall@100 */

        if (a->cluster_stamp) {
            uint32_t c = a->item_cluster[item];
            if (c != UINT32_MAX && a->cluster_stamp[c] != a->gen) {
                a->cluster_stamp[c] = a->gen;
                n_cl++;
            }
        }
        if (a->has_genres && item < a->ds_items) {
            size_t nc = 0;
            const uint16_t *cats = ds_item_categories(a->ds, item, &nc);
            for (size_t i = 0; i < nc; i++) {
                if (cats[i] >= a->n_cats || a->cat_stamp[cats[i]] == a->gen) continue;
                a->cat_stamp[cats[i]] = a->gen;
                n_gen++;
            }
        }
        /* Rank r is inside the top K of every cut-off not yet recorded. */
        uint64_t bit = (uint64_t)1 << (item % 64);
        for (size_t jj = j; jj < a->n_ks; jj++) {
            uint64_t *w = &a->cover[jj][item / 64];
            if (!(*w & bit)) {
                *w |= bit;
                a->covered[jj]++;
            }
        }
        if (r + 1 == a->ks[j]) {
            rec_at[j] = (double)hits;
            dcg_at[j] = dcg;
            cl_at[j] = n_cl;
            gen_at[j] = n_gen;
            j++;
        }
    }
    /* A list shorter than K keeps what it had: missing ranks are misses. */
    for (; j < a->n_ks; j++) {
        rec_at[j] = (double)hits;
        dcg_at[j] = dcg;
        cl_at[j] = n_cl;
        gen_at[j] = n_gen;
    }
    if (scan < MET_BUCKET_K) hits100 = hits;

    /* IDCG@K: min(|R|, K) hits at the top, as running prefix sums. */
    double idcg = 0.0;
    size_t ideal = 0;
    for (size_t k = 0; k < a->n_ks; k++) {
        size_t lim = n_rel < a->ks[k] ? n_rel : a->ks[k];
        for (; ideal < lim; ideal++)
            idcg += 1.0 / log2((double)ideal + 2.0);
        a->ndcg[k] += dcg_at[k] / idcg; /* idcg > 0: n_rel >= 1, K >= 1 */
    }

    double idcg0 = 0.0; /* the first cut-off's, for met_last */
    for (size_t r = 0; r < n_rel && r < a->ks[0]; r++)
        idcg0 += 1.0 / log2((double)r + 2.0);
    a->last_recall = rec_at[0] / (double)n_rel;
    a->last_ndcg = dcg_at[0] / idcg0;
    a->last_scored = 1;
    for (size_t k = 0; k < a->n_ks; k++) {
        a->recall[k] += rec_at[k] / (double)n_rel;
        a->clusters[k] += (double)cl_at[k];
        a->genres[k] += (double)gen_at[k];
    }
    int b = bucket_of(n_train_events);
    if (b >= 0) {
        a->bucket_recall[b] += (double)hits100 / (double)n_rel;
        a->bucket_users[b]++;
    }
    a->n_users++;
    return 0;
}

void met_summarize(const met_acc *a, met_summary *out) {
    if (!out) return;
    memset(out, 0, sizeof(*out));
    if (!a) return;
    out->n_users = a->n_users;
    out->n_ks = a->n_ks;
    out->has_genres = a->has_genres;
    double nu = a->n_users ? (double)a->n_users : 1.0;
    for (size_t j = 0; j < a->n_ks; j++) {
        out->ks[j] = a->ks[j];
        out->recall[j] = a->recall[j] / nu;
        out->ndcg[j] = a->ndcg[j] / nu;
        out->clusters[j] = a->clusters[j] / nu;
        out->genres[j] = a->has_genres ? a->genres[j] / nu : 0.0;
        out->coverage[j] = a->n_items ? (double)a->covered[j] / (double)a->n_items : 0.0;
    }
    for (int b = 0; b < MET_N_BUCKETS; b++) {
        out->bucket_users[b] = a->bucket_users[b];
        out->bucket_recall100[b] =
            a->bucket_users[b] ? a->bucket_recall[b] / (double)a->bucket_users[b] : 0.0;
    }
}

static int set_real(json_t *obj, const char *key, double v) {
    return json_object_set_new(obj, key, json_real(v)) == 0 ? 0 : MX_ENOMEM;
}

int met_summary_to_json(const met_summary *s, void *obj) {
    json_t *o = obj;
    if (!s || !json_is_object(o) || s->n_ks > MET_MAX_KS) return MX_EINVAL;
    static const char *const bucket_keys[MET_N_BUCKETS] = {"recall@100[5-9]", "recall@100[10-19]",
                                                           "recall@100[20+]"};
    char key[48];
    int rc = 0;
    for (size_t j = 0; j < s->n_ks && rc == 0; j++) {
        size_t k = s->ks[j];
        snprintf(key, sizeof(key), "recall@%zu", k);
        rc = set_real(o, key, s->recall[j]);
        snprintf(key, sizeof(key), "ndcg@%zu", k);
        if (rc == 0) rc = set_real(o, key, s->ndcg[j]);
        snprintf(key, sizeof(key), "clusters@%zu", k);
        if (rc == 0) rc = set_real(o, key, s->clusters[j]);
        if (s->has_genres) {
            snprintf(key, sizeof(key), "genres@%zu", k);
            if (rc == 0) rc = set_real(o, key, s->genres[j]);
        }
        snprintf(key, sizeof(key), "coverage@%zu", k);
        if (rc == 0) rc = set_real(o, key, s->coverage[j]);
    }
    for (int b = 0; b < MET_N_BUCKETS && rc == 0; b++)
        rc = set_real(o, bucket_keys[b], s->bucket_recall100[b]);
    if (rc == 0 && json_object_set_new(o, "users", json_integer((json_int_t)s->n_users)) != 0)
        rc = MX_ENOMEM;
    return rc;
}

int met_last(const met_acc *a, double *recall, double *ndcg) {
    if (!a || !a->last_scored) return 0;
    *recall = a->last_recall;
    *ndcg = a->last_ndcg;
    return 1;
}

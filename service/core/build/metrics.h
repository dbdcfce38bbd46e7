/* metrics.h - offline ranking metrics for `mixrec eval`.
 *
 * Feed one ranked list per test user; read averages at the cut-offs.
 * Definitions (binary relevance; R = the user's relevant test items):
 *   recall@K   = |top K ∩ R| / |R|
 *   ndcg@K     = DCG@K / IDCG@K, DCG = sum over hits at rank r (0-based) of
 *                1/log2(r+2), IDCG the same for min(|R|, K) hits at the top
 *   clusters@K = distinct interests (item_cluster) among the top K
 *   genres@K   = distinct categories of the top K items (metadata needed)
 *   coverage@K = distinct items in anyone's top K / catalogue size
 *   recall@100 per activity bucket: users with 5-9, 10-19, 20+ train events
 * Lists shorter than K count as they are (missing ranks are misses).
 * item_cluster may hold UINT32_MAX for items in no cluster (not indexed).
 * An accumulator belongs to one thread. */
#ifndef MET_METRICS_H
#define MET_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "mx_err.h"

#define MET_MAX_KS 8
#define MET_N_BUCKETS 3

typedef struct met_summary {
    size_t n_users;
    size_t n_ks;
    size_t ks[MET_MAX_KS];
    double recall[MET_MAX_KS];
    double ndcg[MET_MAX_KS];
    double clusters[MET_MAX_KS];
    double genres[MET_MAX_KS]; /* 0 without metadata */
    double coverage[MET_MAX_KS];
    double bucket_recall100[MET_N_BUCKETS]; /* 5-9, 10-19, 20+ train events */
    size_t bucket_users[MET_N_BUCKETS];
    int has_genres;
} met_summary;

typedef struct met_acc met_acc;

/* ks: increasing cut-offs (at most MET_MAX_KS). item_cluster (n_items
 * entries, may be NULL) and ds (for categories, may be NULL) are borrowed
 * and must outlive the accumulator. Returns NULL on OOM or bad ks. */
met_acc *met_new(const size_t *ks, size_t n_ks, size_t n_items, const uint32_t *item_cluster,
                 const ds_dataset *ds);
void met_free(met_acc *a);

/* One user: ranked (best first, no duplicates expected), the relevant
 * items (any order, duplicates ignored) and the user's train event count
 * (for the buckets). Users with no relevant items are skipped. */
int met_add(met_acc *a, const uint32_t *ranked, size_t n_ranked, const uint32_t *relevant,
            size_t n_relevant, size_t n_train_events);

/* The user of the last met_add at the first cut-off: 1 with *recall and
 * *ndcg set, 0 when that user was not scored (no relevant items, rejected). */
int met_last(const met_acc *a, double *recall, double *ndcg);

/* Averages over the users added so far. */
void met_summarize(const met_acc *a, met_summary *out);

/* Adds the summary to a jansson object under the keys "recall@10",
 * "ndcg@10", "clusters@10", "genres@10" (only with metadata), "coverage@10"
 * for every K, "recall@100[5-9]", "recall@100[10-19]", "recall@100[20+]" and
 * "users". obj is a json_t* (void* here so the header needs no jansson). */
int met_summary_to_json(const met_summary *s, void *obj);

#endif

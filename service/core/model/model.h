/* model.h - the trained model: in memory, and as a versioned directory.
 *
 * Layout on disk:
 *   ROOT/CURRENT                   name of the version to serve (one line)
 *   ROOT/<version>/manifest.json   format and model version, counts, dims,
 *                                  parameters, data checksums, build time,
 *                                  and every file's size and FNV-1a 64
 *   ROOT/<version>/index.faiss     FAISS IVF index (FAISS's own I/O)
 *   ROOT/<version>/NAME.f32|u32|u64|u8  little-endian arrays, memory-mapped
 *   ROOT/<version>/users.txt, items.txt, items.tsv, interests.json
 * A model is immutable once built or loaded: every field below is
 * read-only and the whole struct may be shared by any number of threads.
 * (The service adds reference counting on top for hot swaps.) */
#ifndef MODEL_MODEL_H
#define MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ann.h"
#include "bconfig.h"
#include "interests.h"
#include "labels.h"
#include "mixture.h"
#include "mx_err.h"
#include "popular.h"
#include "strmap.h"

#define MODEL_FORMAT_VERSION 2

/* Activity statistics the ranker's features read (rank_features.h), computed
 * from the training events at build time; days count back from t_ref. */
enum { MODEL_ITEM_AGE, MODEL_ITEM_IDLE, MODEL_ITEM_POP_DAY, MODEL_ITEM_STATS };
enum { MODEL_USER_IDLE, MODEL_USER_POP_AFFINITY, MODEL_USER_STATS };
enum { MODEL_LOG_POP_COUNT, MODEL_LOG_POP_RECENT, MODEL_LOG_POP_DAY, MODEL_LOG_POP };

/* What the ranker's features read of a candidate item, copied into one
 * cache line per item (model_derive_hot), on huge pages: at 1M items each of
 * the arrays it copies from was a cache miss and a TLB miss of its own per
 * candidate. The same values as those arrays, bit for bit. */
typedef struct {
    uint32_t interest;             /* item_interest[i] (INTR_NONE: none) */
    uint32_t cat_lo, cat_hi;       /* cat_ptr[i], cat_ptr[i + 1] */
    float inv_norm;                /* item_inv_norm[i] */
    float stats[MODEL_ITEM_STATS]; /* item_stats[i * MODEL_ITEM_STATS ..] */
    float log_pop[MODEL_LOG_POP];  /* item_log_pop[i * MODEL_LOG_POP ..] */
    float pad[16 - 4 - MODEL_ITEM_STATS - MODEL_LOG_POP];
} mx_item_hot;
_Static_assert(sizeof(mx_item_hot) == 64, "mx_item_hot is one cache line");
#define MODEL_RECENT 8 /* most recent items kept per user */
#define MODEL_MAX_WARNINGS 8

struct rk_forest;
struct rkx_booster;

typedef struct mx_model {
    char version[48]; /* model version (directory name) */
    char created[32]; /* ISO-8601 UTC build time */
    size_t n_users, n_items, dim, n_clusters;
    int64_t t_ref;        /* last training timestamp */
    size_t n_events;      /* training events */
    char embeddings[300]; /* "als" or "provided:<file>" */
    bcfg cfg;             /* parameters used */
    uint64_t data_fnv[2]; /* interactions, items file checksums (0 = none) */

    const char **user_ids, **item_ids; /* n_users / n_items strings */
    smap *user_map, *item_map;         /* id string -> dense id */
    const float *user_vecs;            /* n_users x dim */
    const float *item_vecs;            /* n_items x dim (unnormalised) */
    const float *item_gram;            /* dim x dim: Y^T Y + reg I, for fold-in */
    const uint32_t *item_interest;     /* n_items, INTR_NONE = not indexed */
    lbl_label *labels;                 /* n_clusters */
    mix_table mix;                     /* smoothed (kNN-Embed) mixtures */
    mix_table mix_raw;                 /* unsmoothed */
    pop_table pop;                     /* recent popularity */
    ann_index *index;
    /* Where the request path reads item vectors (mx_item_vec): the index's
     * own copy, row vec_row[i] of vec_rows, when loaded with one; NULL: from
     * item_vecs. Set by model_load. */
    const float *vec_rows;
    const uint32_t *vec_row;
    const uint64_t *seen_ptr;   /* n_users + 1 */
    const uint32_t *seen_items; /* per user, sorted by item id */
    /* metadata (titles NULL and no categories without a metadata file) */
    const char **titles;     /* n_items, may hold NULLs */
    const uint32_t *cat_ptr; /* n_items + 1 */
    const uint16_t *cat_ids;
    const char **cat_names;
    size_t n_categories;
    /* activity statistics (MODEL_* above) */
    const float *item_stats;     /* n_items x MODEL_ITEM_STATS */
    const float *user_stats;     /* n_users x MODEL_USER_STATS */
    const uint32_t *user_recent; /* n_users x MODEL_RECENT, newest first, UINT32_MAX pads */
    const float *item_inv_norm;  /* n_items: 1/|v_i| (0 for a zero vector), derived */
    const float *item_log_pop;   /* n_items x MODEL_LOG_POP: log1p of the popularity
                                    features (count, recent, day), derived: the ranker's
                                    features read them instead of 3 log1pf per candidate */
    const mx_item_hot *item_hot; /* n_items, 64-byte aligned, derived (mx_item_hot above) */
    /* learned ranker (optional): ranker_json is XGBoost's JSON model as
     * saved (ranker.json); ranker its compact evaluator, NULL when absent
     * or unusable, with ranker_status saying why ("absent", or the reason
     * it was rejected). ranker_info: the manifest's "ranker" object
     * (json_t *: features, rounds, validation NDCG, importances). */
    char *ranker_json;
    size_t ranker_json_len;
    struct rk_forest *ranker;
    void *ranker_info;
    char ranker_status[256];
    /* XGBoost's own predictor on the same model: the reference, and the
     * fallback when the compact evaluator cannot represent the trees.
     * Not thread-safe itself: model_rank serialises calls on a mutex. */
    struct rkx_booster *ranker_xgb;
    void *ranker_xgb_lock; /* pthread_mutex_t * */

    /* The build report (the manifest's "build_report"): how the interest
     * count was chosen, and what the data was too small for and what was
     * done instead (model_warn). Empty for models saved before it. */
    char interests_note[240];
    char warnings[MODEL_MAX_WARNINGS][240];
    size_t n_warnings; /* may exceed MODEL_MAX_WARNINGS: the first ones are kept */

    struct model_region *regions; /* allocations and mappings to release */
} mx_model;

/* Writes m as a new version under root (created if needed) and points
 * ROOT/CURRENT at it (atomic rename). version_out (>= 48 bytes) receives
 * the version name. */
int model_save(const mx_model *m, const char *root, char *version_out, mx_err *err);

/* How model_save_opts saves. */
typedef struct model_save_options {
    /* 1: write the version but leave ROOT/CURRENT alone (a candidate that
     * model_promote may point CURRENT at later); 0: as model_save. */
    int no_current;
    /* A json_t * object (borrowed, may be NULL) whose keys are added to the
     * manifest, e.g. {"retrain": {...}}; keys the manifest has are kept. */
    const void *manifest_extra;
} model_save_options;

/* model_save with options (o NULL: model_save's behaviour). */
int model_save_opts(const mx_model *m, const char *root, const model_save_options *o,
                    char *version_out, mx_err *err);

/* Points ROOT/CURRENT at version (a directory under root with a manifest),
 * atomically (write CURRENT.tmp, rename). */
int model_promote(const char *root, const char *version, mx_err *err);

/* The version ROOT/CURRENT names into out (len bytes): 0, or MX_EIO when
 * there is no readable CURRENT (no model yet). */
int model_current(const char *root, char *out, size_t len, mx_err *err);

/* Loads dir: a root with CURRENT, or a version directory with
 * manifest.json. Validates the manifest (format version, counts, dims)
 * and every file's size and checksum; a truncated, corrupt or mismatched
 * file is an error naming it. *out is owned by the caller (model_free). */
int model_load(const char *dir, mx_model **out, mx_err *err);

void model_free(mx_model *m); /* NULL is a no-op */

/* Lookups (-1 when unknown). */
int64_t model_user(const mx_model *m, const char *id);
int64_t model_item(const mx_model *m, const char *id);
int64_t model_category(const mx_model *m, const char *name); /* linear: few categories */

/* Attaches a trained ranker (XGBoost JSON text, copied; info: json_t *
 * with at least "features", stolen) to m, replacing any previous one, and
 * builds its compact evaluator. A ranker whose feature list differs from
 * this build's (rank_features.h) is kept out: m->ranker stays NULL and
 * ranker_status says why; that is not an error (the model serves in
 * retrieval order). Errors: out of memory. */
int model_set_ranker(mx_model *m, const char *json_text, size_t len, void *info, mx_err *err);

/* 1 when m can rank (compact evaluator or XGBoost's predictor). */
int model_has_ranker(const mx_model *m);

/* Scores n feature rows (FEAT_N each) into out with the compact
 * evaluator, or with XGBoost's predictor when use_xgboost is set or the
 * compact evaluator is unavailable. Thread-safe. Errors: no ranker, an
 * XGBoost failure. */
int model_rank(const mx_model *m, const float *x, size_t n, int use_xgboost, float *out,
               mx_err *err);

/* Adds a line to m's build report (warnings beyond MODEL_MAX_WARNINGS are
 * counted, not kept). For the build: a model is immutable once built. */
void model_warn(mx_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Item i's vector (i < n_items) as the request path reads it: from the
 * index's own copy when there is one. That copy is contiguous and on huge
 * pages; item_vecs is a file mapping whose pages were given back at load
 * (ann_own_vectors): at 1M items, reading a pool's vectors from it cost a
 * TLB miss (and, the first time, a page fault) per candidate, and brought
 * the file's pages back into memory. The same floats either way. */
static inline const float *mx_item_vec(const mx_model *m, size_t i) {
    if (m->vec_row && m->vec_row[i] != UINT32_MAX)
        return m->vec_rows + (size_t)m->vec_row[i] * m->dim;
    return m->item_vecs + i * m->dim;
}

/* Derived arrays (item_inv_norm, item_log_pop) after the vectors, the
 * popularity table and the item statistics are set. */
int model_derive(mx_model *m, mx_err *err);
/* m->item_hot, from model_derive's arrays, the item statistics, the
 * interests and the categories: once all are set (any of them changed
 * later makes it stale). */
int model_derive_hot(mx_model *m, mx_err *err);

/* Internal to model.c and pipeline.c: remembers an allocation (is_map = 0:
 * free()) or a mapping (munmap) to release with the model. Returns p, or
 * NULL (and frees p) on OOM. */
void *model_keep(mx_model *m, void *p, size_t len, int is_map);

#endif

/* mixture.h - kNN-Embed: every user as a mixture over interests.
 *
 * Raw mixture: p(c|u) = sum over u's events e on items of interest c of
 * w_e, normalised, with w_e = 2^(-(t_ref - ts_e) / half_life) when a
 * half-life is set (recent engagements count more) and 1 otherwise.
 * Smoothed (the method's contribution, for sparse users):
 *   p~(c|u) = (1 - l_u) p(c|u) + l_u * mean over v in N_k(u) of p(c|v),
 *   l_u = k0 / (k0 + n_u),
 * with N_k(u) the k nearest users by cosine of user embeddings (FAISS
 * search; exact up to 20,000 users, IVF beyond) and n_u u's event count.
 * Both keep their top m interests, renormalised to sum to 1.
 * A mix_table is immutable after mix_compute and safe to share. */
#ifndef MIX_MIXTURE_H
#define MIX_MIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "mx_err.h"

typedef struct mix_params {
    size_t knn_k;     /* neighbours, default 50 */
    float k0;         /* smoothing strength, default 20 */
    size_t top_m;     /* interests kept per user, default 16 */
    double half_life; /* seconds; 0 = no time decay (default) */
    float min_weight; /* smoothed: drop interests below this weight (after top
                         m), renormalise; fewer lists to search. default 0 */
} mix_params;

void mix_params_init(mix_params *p); /* the defaults: bconfig.c's rows */

/* Per-user top-m (interest, weight) lists, weights descending. */
typedef struct mix_table {
    uint32_t n_users;
    uint32_t m;    /* slots per user */
    uint32_t *cid; /* n_users x m */
    float *w;      /* n_users x m */
    uint8_t *len;  /* used slots per user (0 for users without events) */
} mix_table;

/* Computes the raw and the smoothed table (either output may be NULL).
 * by_user: events by user; item_interest: interest per item (INTR_NONE
 * ignored); user_vecs (n_users x dim) for the neighbour search; t_ref: the
 * reference time for the decay (e.g. the last training timestamp). */
int mix_compute(const ds_csr *by_user, const uint32_t *item_interest, size_t n_clusters,
                const float *user_vecs, size_t dim, const mix_params *p, int64_t t_ref,
                mix_table *raw, mix_table *smooth, mx_err *err);

void mix_table_free(mix_table *t); /* frees arrays, not t */

/* k nearest users (cosine) of every user with a non-zero vector; nbr is
 * n_users x k (caller-allocated), -1 where fewer exist. Users are never
 * their own neighbour. */
int mix_user_knn(const float *user_vecs, size_t n_users, size_t dim, size_t k, int64_t *nbr,
                 mx_err *err);

/* Keeps the top m of a dense weight vector (length n_clusters) into one
 * row of a table, renormalised; ties broken by interest id. */
void mix_row_from_dense(const double *dense, size_t n_clusters, uint32_t m, uint32_t *cid, float *w,
                        uint8_t *len);

#endif

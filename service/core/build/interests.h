/* interests.h - item embeddings clustered into interests, with labels.
 *
 * Spherical k-means (FAISS's Clustering with spherical=1 over L2-normalised
 * item vectors, inner-product assignment): centroids are unit vectors and
 * an item belongs to the interest whose centroid has the highest cosine.
 * Items whose vector is zero (no training events) belong to no interest
 * (INTR_NONE). Labels come from metadata: the one or two categories the
 * interest over-represents most against the whole catalogue (by share x
 * log(share / global share), items weighted by popularity), e.g.
 * "Horror / Thriller", and its most popular titles. Stateless; thread-safe on distinct outputs. */
#ifndef INTR_INTERESTS_H
#define INTR_INTERESTS_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "mx_err.h"

#define INTR_NONE UINT32_MAX

typedef struct intr_params {
    size_t n_clusters; /* 0 = intr_default_clusters(items with a vector) */
    size_t niter;      /* k-means iterations, default 25 */
    size_t nredo;      /* restarts (best objective kept), default 1 */
    uint64_t seed;     /* default 42 */
} intr_params;

void intr_params_init(intr_params *p); /* the defaults: bconfig.c's rows */

/* Default number of interests for a catalogue: n/1000 clamped to 16..1024.
 * Small catalogues keep 16 broad interests; large ones get lists of about
 * 1,000 items so that scanning a mixture's lists stays cheap. */
size_t intr_default_clusters(size_t n_items);

/* Clusters the non-zero rows of item_vecs (n_items x dim). centroids
 * (n_clusters x dim) and item_interest (n_items) are caller-allocated
 * outputs; *n_clusters_out is the count used (fewer when there are fewer
 * items than requested clusters). */
int intr_train(const float *item_vecs, size_t n_items, size_t dim, const intr_params *p,
               float **centroids, size_t *n_clusters_out, uint32_t *item_interest, mx_err *err);

/* Assigns vectors to their highest-cosine centroid (INTR_NONE for zero
 * vectors), e.g. items added after the build. */
int intr_assign(const float *vecs, size_t n, size_t dim, const float *centroids, size_t n_clusters,
                uint32_t *out, mx_err *err);

/* A readable label per interest. */
typedef struct intr_label {
    char name[96];         /* "Drama / Romance", or "interest 7" without metadata */
    uint32_t top_items[3]; /* most popular member items (INTR_NONE when fewer) */
    uint32_t size;         /* member items */
} intr_label;

/* popularity (n_items, may be NULL = uniform) weights items; ds may be NULL
 * or lack metadata. labels has n_clusters entries (caller-allocated). */
void intr_label_all(const uint32_t *item_interest, size_t n_items, size_t n_clusters,
                    const float *popularity, const ds_dataset *ds, intr_label *labels);

#endif

/* interests.h - item embeddings clustered into interests.
 *
 * Spherical k-means (FAISS's Clustering with spherical=1 over L2-normalised
 * item vectors, inner-product assignment): centroids are unit vectors and
 * an item belongs to the interest whose centroid has the highest cosine.
 * Items whose vector is zero (no training events) belong to no interest
 * (INTR_NONE). Labels: labels.h. Stateless; thread-safe on distinct
 * outputs.
 *
 * How many interests (interests.count = 0, the default): chosen from the
 * data within intr_auto_range. k-means runs at the top of the range; then
 * the two interests whose merge loses the least k-means objective (the sum
 * of the items' cosines to their centroid) are merged, again and again,
 * down to the bottom of the range unless
 *  - the next merge costs more than INTR_ELBOW times the average merge so
 *    far: merges of pieces of one over-split group cost little and about
 *    the same; a merge of two real groups costs several times more, or
 *  - the objective would fall below (1 - auto_tol) of the top's (default
 *    5%): embeddings without clear groups, whose merges all cost alike,
 *    keep most of their interests.
 * Items in 4 clear groups thus get 4 interests; MovieTweetings' ALS
 * vectors, without such groups, about 13 of 16. The merged centroids are
 * refined by Lloyd iterations. One k-means run as before, plus merges
 * among at most 16 interests: cheap. An explicit count is honoured
 * (clamped to the items with a vector).  */
#ifndef INTR_INTERESTS_H
#define INTR_INTERESTS_H

#include <stddef.h>
#include <stdint.h>

#include "mx_err.h"

#define INTR_NONE UINT32_MAX

/* An interest needs this many items with a vector, so that the automatic
 * count never splits a small catalogue into singletons. */
#define INTR_MIN_ITEMS 5

typedef struct intr_params {
    size_t n_clusters;    /* 0 = chosen from the data (see above) */
    size_t niter;         /* k-means iterations, default 25 */
    size_t nredo;         /* restarts (best objective kept), default 1 */
    uint64_t seed;        /* default 42 */
    double auto_tol;      /* count 0: objective kept within this share of the top's, 0.05 */
    double label_min_cov; /* labels.h: share a category label must cover, default 0.5 */
} intr_params;

void intr_params_init(intr_params *p); /* the defaults: bconfig.c's rows */

/* The range the automatic count is chosen in, for n items with a vector:
 *   lo = max(2, n/1000): an interest is also an inverted list of the
 *        index, and lists beyond ~1,000 items make the mixture's scans
 *        slow; from 16,000 items on this alone sets the count (lo = hi);
 *   hi = n/1000 clamped to 16..1024 (the earlier fixed default), and at
 *        most n / INTR_MIN_ITEMS (never below 1).
 * *unbounded receives the top before the INTR_MIN_ITEMS cap, so callers can
 * say when the data was too small for it. */
void intr_auto_range(size_t n, size_t *lo, size_t *hi, size_t *unbounded);

#define INTR_ELBOW 3.0 /* see above */

/* Why the automatic count stopped merging (intr_report.stop). */
enum { INTR_STOP_NONE, INTR_STOP_LO, INTR_STOP_ELBOW, INTR_STOP_TOL };

/* What intr_train decided, for the build report. */
typedef struct intr_report {
    size_t n_vectors; /* items with a non-zero vector */
    size_t requested; /* interests.count (0 = automatic) */
    size_t lo, hi;    /* automatic: the range searched */
    size_t unbounded; /* automatic: hi before the INTR_MIN_ITEMS cap */
    size_t chosen;    /* the count used */
    size_t runs;      /* k-means runs */
    double ratio;     /* automatic: the chosen count's objective over hi's */
    int stop;         /* automatic: INTR_STOP_* (NONE: nothing to choose, lo == hi) */
    double elbow;     /* INTR_STOP_ELBOW: the next merge's cost over the average */
} intr_report;

/* Clusters the non-zero rows of item_vecs (n_items x dim). *centroids
 * (n_clusters x dim, malloc'd, owned by the caller) and item_interest
 * (n_items, caller-allocated) are the outputs; *n_clusters_out is the count
 * used. rep may be NULL. Errors: no item has a vector, FAISS, OOM. */
int intr_train(const float *item_vecs, size_t n_items, size_t dim, const intr_params *p,
               float **centroids, size_t *n_clusters_out, uint32_t *item_interest, intr_report *rep,
               mx_err *err);

/* Assigns vectors to their highest-cosine centroid (INTR_NONE for zero
 * vectors), e.g. items added after the build. */
int intr_assign(const float *vecs, size_t n, size_t dim, const float *centroids, size_t n_clusters,
                uint32_t *out, mx_err *err);

#endif

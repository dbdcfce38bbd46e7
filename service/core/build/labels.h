/* labels.h - a readable, distinct label per interest, with the share of
 * the interest it describes.
 *
 * Weight: an item counts by its training events (at least 1), so a label
 * describes an interest the way its users meet it, and agrees with the
 * popular items shown as its examples. (Counted by items, a long tail that
 * nobody sees could name an interest whose examples contradict it.)
 *
 *  1. Categories. coverage(S) = the weight share of the interest's items
 *     that carry at least one category of the set S. The label names the
 *     smallest S (one category, else two) whose coverage reaches
 *     min_coverage (default 0.5: a majority); among the sets of that size
 *     that do, the one with the highest coverage x log(lift), lift being
 *     the coverage in the interest over the coverage in the whole catalogue
 *     (the set's term of the KL divergence): "Horror" covering 60% (lift 6)
 *     beats "Drama" covering 80% where Drama covers half of everything.
 *     Pairs are tried among the interest's LBL_PAIR_TOP most covering
 *     categories. Names are in alphabetical order: {Sci-Fi, Action} is
 *     always "Action / Sci-Fi".
 *  2. Titles. When no set of two reaches min_coverage, or there are no
 *     categories: "like A, B", the interest's first two representatives.
 *     Representatives (top_items) are the most popular items of the
 *     interest's core: its members at least as close (cosine) to the
 *     centroid as its median member, since a popular item on the edge of
 *     an interest describes its neighbour as well. Item ids stand in for
 *     missing titles. coverage = the named items' share of the weight.
 *  3. Distinct. Labels that come out equal get ", like <first
 *     representative>" appended, and " #<interest id>" if still equal.
 * An interest without items is "interest N (empty)".
 *
 * The kind and coverage are part of the model (interests.json) and of the
 * API's interest weights. */
#ifndef LBL_LABELS_H
#define LBL_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "interests.h"
#include "mx_err.h"

#define LBL_PAIR_TOP 8 /* categories an interest's pairs are drawn from */

typedef enum lbl_kind {
    LBL_UNKNOWN = 0, /* a model saved before labels had a kind */
    LBL_CATEGORIES,
    LBL_TITLES,
    LBL_EMPTY
} lbl_kind;

typedef struct lbl_label {
    char name[128];        /* "Action / Sci-Fi", "like Titanic (1997), Heat (1995)" */
    uint32_t top_items[3]; /* representatives, most popular first (INTR_NONE pads) */
    uint32_t size;         /* member items */
    float coverage;        /* share of the interest's weight the label describes,
                              0..1; -1 when unknown (LBL_UNKNOWN) */
    uint8_t kind;          /* lbl_kind */
} lbl_label;

/* What the labels are made from. */
typedef struct lbl_input {
    const uint32_t *item_interest; /* n_items: the item's interest, or INTR_NONE */
    size_t n_items, n_clusters;
    const float *events;    /* n_items: training events per item; NULL = 1 each */
    const float *item_vecs; /* n_items x dim and centroids n_clusters x dim, for the */
    const float *centroids; /* representatives' core; NULL: every member is core */
    size_t dim;
    const ds_dataset *ds; /* categories, titles and ids; may be NULL or lack metadata */
    double min_coverage;  /* 0 = 0.5 */
} lbl_input;

/* Fills labels (n_clusters entries, caller-allocated). Errors: OOM. */
int lbl_label_all(const lbl_input *in, lbl_label *labels, mx_err *err);

/* "categories", "titles", "empty", "unknown": the API's label_kind and
 * interests.json's "kind". Inline: the server, which links no build code,
 * prints it. */
static inline const char *lbl_kind_name(int kind) {
    switch (kind) {
    case LBL_CATEGORIES:
        return "categories";
    case LBL_TITLES:
        return "titles";
    case LBL_EMPTY:
        return "empty";
    default:
        return "unknown";
    }
}

/* The inverse, LBL_UNKNOWN for anything else (NULL included): the model
 * reader's, inline for the same reason. */
static inline int lbl_kind_parse(const char *s) {
    for (int k = LBL_CATEGORIES; s && k <= LBL_EMPTY; k++) {
        const char *n = lbl_kind_name(k), *p = s;
        while (*n && *n == *p)
            n++, p++;
        if (!*n && !*p) return k;
    }
    return LBL_UNKNOWN;
}

#endif

/* place.h - puts the items of rules (promotions, the fresh source) into a
 * ranked answer: the last step before an answer is cut to k.
 *
 * A rule asks for slots of the answer, by share or by position, and names
 * its eligible candidates in its order of preference (eligibility -
 * exclusions, hidden, seen, expired - is the caller's job):
 *  - share s in (0, 1]: count = round(s k) slots, planned at positions
 *    floor((j + 1) / s) - 1 for j = 0..count-1, clamped to k - 1
 *    (s = 1/3, k = 10: positions 2, 5, 8, every third slot);
 *  - position p: one slot at p when p < k, none otherwise.
 * Candidates already in the organic answer (and not pushed past k by the
 * slots the rules take) stay where they are, keep their own reason, and
 * count toward their rule's slots; the rule's remaining slots take its
 * next candidates not yet in the answer (neither organic nor placed by an
 * earlier rule), at the planned positions in order. Organic items fill the
 * positions no rule took, in their order; the answer is cut to k, and
 * closes its gaps when there are fewer organic items than free positions.
 * Placed items carry the rule's reason (REC_REASON_PROMOTED or
 * REC_REASON_NEW) and placed_by REC_PLACED_PROMOTION or REC_PLACED_FRESH;
 * every item's score is its final position's, 1 / (1 + position).
 * Rules apply in order (promotions first, then the fresh source): two rules
 * never take one slot; a later rule takes the next free position after its
 * planned one (or, at the end of the page, the last free one before it).
 * A rule with too few candidates takes fewer slots; the organic items keep
 * the rest.
 *
 * Items are the same when both are model items with one id, or both are
 * catalogue items (item UINT32_MAX) with the same extra->id.
 *
 * Pure: no allocation, no global state; thread-safe on distinct outputs. */
#ifndef PLACE_PLACE_H
#define PLACE_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "recommend.h"

typedef struct place_rule {
    /* in */
    uint8_t reason;        /* REC_REASON_PROMOTED or REC_REASON_NEW */
    double share;          /* in (0, 1]; 0: a position rule */
    size_t position;       /* the slot of a position rule (share 0), 0-based */
    const rec_item *cands; /* eligible candidates, best first (borrowed) */
    size_t n_cands;
    /* out, set by place_apply */
    size_t n_planned;  /* slots the rule asked for on this page */
    size_t n_present;  /* its candidates already in the answer, counted toward them */
    size_t n_inserted; /* its candidates placed into the answer (what metrics count) */
} place_rule;

/* The bytes of scratch place_apply needs for pages of k items. */
#define PLACE_SCRATCH_BYTES(k) (2 * (size_t)(k) + 1)

/* The answer of organic[0..n_organic) (ordered, best first) with the rules
 * applied, into out (capacity k; must not overlap organic); *n_out its
 * length (at most k). scratch: PLACE_SCRATCH_BYTES(k) bytes of the caller's.
 * Rules' out fields are filled. A rule with a reason other than the two,
 * a share outside (0, 1] (other than 0), or a candidate that is neither a
 * model item nor a catalogue item with an id, is skipped (it places
 * nothing). */
void place_apply(const rec_item *organic, size_t n_organic, size_t k, place_rule *rules,
                 size_t n_rules, rec_item *out, size_t *n_out, uint8_t *scratch);

/* The planned positions of a share rule on a page of k (before collisions):
 * up to cap of them into pos; returns the count round(share k) (positions
 * past cap are not written). 0 for a share outside (0, 1]. */
size_t place_share_positions(double share, size_t k, size_t *pos, size_t cap);

/* Whether a and b are the same item (see above). */
int place_same_item(const rec_item *a, const rec_item *b);

#endif

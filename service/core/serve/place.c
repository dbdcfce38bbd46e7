/* place.c - rule items into a ranked answer; see place.h. */
#include "place.h"

#include <math.h>
#include <string.h>

/* Slot states in the first k bytes of scratch. */
enum { SLOT_FREE = 0, SLOT_RULE = 1, SLOT_ORGANIC = 2 };

int place_same_item(const rec_item *a, const rec_item *b) {
    if (a->item != UINT32_MAX || b->item != UINT32_MAX) return a->item == b->item;
    if (!a->extra || !b->extra || !a->extra->id || !b->extra->id) return 0;
    return a->extra == b->extra || strcmp(a->extra->id, b->extra->id) == 0;
}

static int usable(const rec_item *it) {
    return it->item != UINT32_MAX || (it->extra && it->extra->id);
}

/* round(s k), computed in double; the epsilon keeps floor((j + 1) / s) from
 * falling one short where (j + 1) / s is an integer in exact arithmetic
 * (s = 0.1: 10 / 0.1 is 99.99999999999999 in binary). */
#define PLACE_EPS 1e-9

/* The j-th planned position of a share rule on a page of k (k > 0). */
static size_t planned_at(double share, size_t j, size_t k) {
    double p = floor((double)(j + 1) / share + PLACE_EPS) - 1;
    return p < 0 ? 0 : p >= (double)k ? k - 1 : (size_t)p;
}

size_t place_share_positions(double share, size_t k, size_t *pos, size_t cap) {
    if (!(share > 0 && share <= 1) || k == 0) return 0;
    size_t count = (size_t)floor(share * (double)k + 0.5);
    if (count > k) count = k;
    for (size_t j = 0; j < count && j < cap; j++)
        pos[j] = planned_at(share, j, k);
    return count;
}

/* The free slot for a rule planned at p: the first free one at or after
 * p, else the last free one before it; k when none is free. */
static size_t free_slot(const uint8_t *slot, size_t k, size_t p) {
    for (size_t i = p; i < k; i++)
        if (slot[i] == SLOT_FREE) return i;
    for (size_t i = p; i-- > 0;)
        if (slot[i] == SLOT_FREE) return i;
    return k;
}

/* Whether cand is already placed by a rule (a taken slot of out). */
static int placed_already(const rec_item *out, const uint8_t *slot, size_t k,
                          const rec_item *cand) {
    for (size_t i = 0; i < k; i++)
        if (slot[i] == SLOT_RULE && place_same_item(&out[i], cand)) return 1;
    return 0;
}

/* How many of organic[0..room) the rule's candidates are (mine[i] marks them). */
static size_t present_in(const uint8_t *mine, size_t room) {
    size_t m = 0;
    for (size_t i = 0; i < room; i++)
        m += mine[i];
    return m;
}

/* One rule: count its present items, take its free planned slots for the
 * rest. *claimed is the number of slots rules took so far. */
static void apply_rule(const rec_item *organic, size_t n_org, size_t k, place_rule *r,
                       rec_item *out, uint8_t *slot, uint8_t *mine, size_t *claimed) {
    r->n_planned = r->n_present = r->n_inserted = 0;
    int share_rule = r->share != 0;
    if ((r->reason != REC_REASON_PROMOTED && r->reason != REC_REASON_NEW) ||
        (share_rule && !(r->share > 0 && r->share <= 1)))
        return;
    size_t count =
        share_rule ? place_share_positions(r->share, k, NULL, 0) : (r->position < k ? 1 : 0);
    r->n_planned = count;
    if (count == 0) return;
    /* mine[i]: organic i is one of the rule's candidates */
    size_t lim = n_org < k ? n_org : k;
    for (size_t i = 0; i < lim; i++) {
        mine[i] = 0;
        for (size_t c = 0; c < r->n_cands && !mine[i]; c++)
            mine[i] = (uint8_t)place_same_item(&organic[i], &r->cands[c]);
    }
    /* u: the distinct usable candidates no earlier rule placed; those not
     * organic on the page are what the rule can insert. */
    size_t u = 0;
    for (size_t c = 0; c < r->n_cands; c++) {
        const rec_item *cd = &r->cands[c];
        int dup = !usable(cd) || placed_already(out, slot, k, cd);
        for (size_t e = 0; e < c && !dup; e++)
            dup = place_same_item(&r->cands[e], cd);
        u += !dup;
    }
    /* The slots to take shrink the room left for organic items, which may
     * push present ones off the page: the fixed point of need =
     * min(count - present, u - present), present = present(room(need)).
     * need only falls (less taken, more room, more present), so this ends
     * within count + 1 rounds. */
    size_t need = count, present = 0;
    for (size_t round = 0; round <= count; round++) {
        size_t taken = *claimed + need, room = taken < k ? k - taken : 0;
        present = present_in(mine, room < lim ? room : lim);
        size_t next = present < count ? count - present : 0;
        size_t avail = present < u ? u - present : 0;
        if (avail < next) next = avail;
        if (next == need) break;
        need = next;
    }
    r->n_present = present;
    size_t taken = *claimed + need, room = taken < k ? k - taken : 0;
    if (room > lim) room = lim;
    size_t c = 0;
    for (size_t j = 0; j < need; j++) {
        size_t planned = share_rule ? planned_at(r->share, j, k) : r->position;
        size_t at = free_slot(slot, k, planned);
        if (at == k) break;
        /* the next candidate neither organic on this page nor placed */
        const rec_item *pick = NULL;
        for (; c < r->n_cands && !pick; c++) {
            const rec_item *cd = &r->cands[c];
            int organic_here = 0;
            for (size_t i = 0; i < room && !organic_here; i++)
                organic_here = place_same_item(&organic[i], cd);
            if (usable(cd) && !organic_here && !placed_already(out, slot, k, cd)) pick = cd;
        }
        if (!pick) break;
        out[at] = *pick;
        out[at].reason = r->reason;
        out[at].placed_by =
            r->reason == REC_REASON_PROMOTED ? REC_PLACED_PROMOTION : REC_PLACED_FRESH;
        slot[at] = SLOT_RULE;
        r->n_inserted++;
        (*claimed)++;
    }
}

void place_apply(const rec_item *organic, size_t n_organic, size_t k, place_rule *rules,
                 size_t n_rules, rec_item *out, size_t *n_out, uint8_t *scratch) {
    uint8_t *slot = scratch, *mine = scratch + k;
    size_t claimed = 0;
    *n_out = 0;
    for (size_t r = 0; r < n_rules; r++)
        rules[r].n_planned = rules[r].n_present = rules[r].n_inserted = 0;
    if (k == 0) return;
    memset(slot, SLOT_FREE, k);
    for (size_t r = 0; r < n_rules; r++)
        apply_rule(organic, n_organic, k, &rules[r], out, slot, mine, &claimed);
    /* organic items into the free slots, in order */
    size_t o = 0;
    for (size_t i = 0; i < k && o < n_organic; i++)
        if (slot[i] == SLOT_FREE) {
            out[i] = organic[o++];
            slot[i] = SLOT_ORGANIC;
        }
    /* close the gaps (fewer organic items than free slots); scores by position */
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        if (slot[i] == SLOT_FREE) continue;
        if (n != i) out[n] = out[i];
        out[n].score = 1.0f / (float)(1 + n);
        n++;
    }
    *n_out = n;
}

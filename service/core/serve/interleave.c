/* interleave.c - see interleave.h. */
#include "interleave.h"

#include <string.h>

int interleave_same_item(const rec_item *x, const rec_item *y) {
    if (x->extra || y->extra)
        return x->extra && y->extra && strcmp(x->extra->id, y->extra->id) == 0;
    return x->item == y->item;
}

static int taken(const rec_item *out, size_t n, const rec_item *it) {
    for (size_t i = 0; i < n; i++)
        if (interleave_same_item(&out[i], it)) return 1;
    return 0;
}

size_t interleave_team_draft(const rec_item *a, size_t na, const rec_item *b, size_t nb, size_t k,
                             uint64_t coins, rec_item *out, uint8_t *team) {
    const rec_item *list[2] = {a, b};
    size_t len[2] = {na, nb}, next[2] = {0, 0}, picks[2] = {0, 0}, n = 0;
    unsigned round = 0;
    while (n < k) {
        /* skip what the other team already placed */
        for (int t = 0; t < 2; t++)
            while (next[t] < len[t] && taken(out, n, &list[t][next[t]]))
                next[t]++;
        int left[2] = {next[0] < len[0], next[1] < len[1]};
        if (!left[0] && !left[1]) break;
        int t;
        if (!left[0] || !left[1])
            t = left[1];
        else if (picks[0] != picks[1])
            t = picks[1] < picks[0];
        else
            t = (int)((coins >> (round++ % 64)) & 1);
        out[n] = list[t][next[t]++];
        team[n++] = (uint8_t)t;
        picks[t]++;
    }
    return n;
}

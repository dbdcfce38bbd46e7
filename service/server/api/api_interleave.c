/* api_interleave.c - see api_interleave.h. */
#include "api_interleave.h"

#include <stdlib.h>
#include <time.h>

#include "interleave.h"
#include "rng.h"

/* Coin flips for the draft: a generator per thread, seeded from the clock
 * and the thread's own address (no lock, no shared state). */
static uint64_t coins(void) {
    static _Thread_local rng_state r;
    static _Thread_local int seeded;
    if (!seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        rng_seed(&r, (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)(uintptr_t)&r);
        seeded = 1;
    }
    return rng_next(&r);
}

int api_interleave_recommend(rec_ctx *ctx, const experiment *e, const rec_query *q, rec_item *out,
                             size_t *n, uint8_t *team, mx_err *err) {
    *n = 0;
    size_t k = q->k ? q->k : 1, nl[2] = {0, 0};
    rec_item *list[2] = {malloc(k * sizeof(rec_item)), malloc(k * sizeof(rec_item))};
    int rc = !list[0] || !list[1] ? mx_err_set(err, MX_ENOMEM, "out of memory") : 0;
    for (int v = 1; v >= 0 && !rc; v--) { /* the control last */
        rec_params p;
        api_rec_params(e->variants[v].cfg, &p);
        rc = rec_recommend(ctx, &p, q, list[v], &nl[v], err);
    }
    if (!rc) *n = interleave_team_draft(list[0], nl[0], list[1], nl[1], q->k, coins(), out, team);
    free(list[0]);
    free(list[1]);
    return rc;
}

void api_interleave_follow(const rec_item *merged, const uint8_t *merged_team, size_t nm,
                           const rec_item *final, size_t nf, uint8_t *team) {
    for (size_t i = 0; i < nf; i++) {
        team[i] = API_NO_TEAM;
        for (size_t j = 0; j < nm && team[i] == API_NO_TEAM; j++)
            if (interleave_same_item(&final[i], &merged[j])) team[i] = merged_team[j];
    }
}

void api_interleave_mark(json_t *items, const experiment *e, const uint8_t *team, size_t n) {
    for (size_t i = 0; i < n && i < json_array_size(items); i++)
        if (team[i] < 2)
            json_object_set_new(json_array_get(items, i), "variant",
                                json_string(e->variants[team[i]].name));
}

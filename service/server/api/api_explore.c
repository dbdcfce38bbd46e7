/* api_explore.c - see api_explore.h. */
#include "api_explore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explore.h"

double api_explore_share(const mx_model *m, const rec_params *p, const rec_query *q,
                         const armstats *a, const srv_config *cfg) {
    rec_mixture mix;
    rec_mixture_of(m, p, q, &mix);
    size_t positive = 0, rare = 0;
    double mean = armstats_mean_shown(a);
    for (size_t i = 0; i < q->n_events; i++) {
        const rec_event *e = &q->events[i];
        if (e->weight <= 0 || e->item >= m->n_items) continue;
        positive++;
        rare += armstats_get(a, m->item_ids[e->item], q->now).shown < mean;
    }
    double new_share = positive ? (double)rare / (double)positive : 0;
    return explore_share(cfg->explore_share, mix.blended, mix.n, new_share);
}

size_t api_explore_slate(armstats *a, const srv_config *cfg, const mx_model *m, double share,
                         rec_item *items, size_t n, size_t k, int64_t now) {
    size_t len = n < k ? n : k;
    size_t explored_n = (size_t)lround(share * (double)len);
    if (len >= EXPLORE_MAX_ARMS / 2) explored_n = 0; /* a slate this long is not explored */
    if (n > len + (size_t)cfg->explore_depth) n = len + (size_t)cfg->explore_depth;
    if (n > EXPLORE_MAX_ARMS) n = EXPLORE_MAX_ARMS;
    explore_arm arms[EXPLORE_MAX_ARMS];
    for (size_t i = 0; i < n; i++)
        arms[i] =
            items[i].extra ? (explore_arm){0, 0} : armstats_get(a, m->item_ids[items[i].item], now);
    uint32_t order[EXPLORE_MAX_ARMS];
    double prop[EXPLORE_MAX_ARMS];
    uint8_t explored[EXPLORE_MAX_ARMS];
    len = explore_slate(arms, n, len, explored_n, armstats_prior(a), (size_t)cfg->explore_draws,
                        armstats_rng(a), order, prop, explored);
    rec_item *slate = malloc((len ? len : 1) * sizeof(*slate));
    if (!slate) return len; /* out of memory: the greedy answer, cut */
    for (size_t pos = 0; pos < len; pos++) {
        slate[pos] = items[order[pos]];
        slate[pos].score = 1.0f / (float)(1 + pos);
        if (explored[pos]) {
            slate[pos].placed_by = REC_PLACED_EXPLORATION;
            slate[pos].explore_p = (float)prop[pos];
        }
    }
    memcpy(items, slate, len * sizeof(*slate));
    free(slate);
    return len;
}

void api_explore_count(api_req *r, const rec_item *items, size_t n) {
    const mx_model *m = wk_lease_model(r->lease);
    const char *stack[64], **ids = n <= 64 ? stack : malloc(n * sizeof(*ids));
    if (!ids) return; /* a count lost costs a little exploration, nothing else */
    for (size_t i = 0; i < n; i++)
        ids[i] = api_item_id(m, &items[i]);
    armstats_shown(wk_armstats(r->worker), ids, n);
    if (ids != stack) free(ids);
}

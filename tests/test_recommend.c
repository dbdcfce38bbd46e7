/* test_recommend.c - request-level recommendations: the session blending
 * rule on hand-computed values (dislikes included), exclusions, category
 * filters, reasons, anonymous and unknown users, similar items; with a
 * learned ranker: dislikes moving the answer away, position scores and
 * what placed each item, the features that explain a ranked item. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "model.h"
#include "pipeline.h"
#include "rank_train.h"
#include "ranker.h"
#include "recommend.h"
#include "retrieve.h"
#include "synth.h"
#include "tap.h"
#include "fixture.h"

static mx_model *build(ds_dataset **ds_out) {
    *ds_out = fixture_dataset(1200, 300, 6, 8, 11);
    static const char *const settings[] = {"embed.dim=8",          "interests.count=6",
                                           "mixture.top_m=6",      "rank_train.pool=60",
                                           "rank_train.rounds=40", NULL};
    return fixture_model(*ds_out, NULL, 0, settings);
}

/* First indexed item of interest c that user u has not seen. */
static uint32_t item_of(const mx_model *m, uint32_t c, uint32_t skip) {
    for (uint32_t i = 0; i < m->n_items; i++)
        if (m->item_interest[i] == c && skip-- == 0) return i;
    FAIL("no item in interest %u", c);
}

static float weight_of(const rec_mixture *x, const float *arr, uint32_t c) {
    for (size_t i = 0; i < x->n; i++)
        if (x->cid[i] == c) return arr[i];
    return 0;
}

static void test_mixture_rule(const mx_model *m) {
    rec_params p;
    rec_params_init(&p);
    p.session_half_life = 100;
    p.session_strength = 3;
    /* user 0: without a session the blend is the long-term mixture */
    rec_query q = {.user = 0, .k = 10, .now = 1000};
    rec_mixture x;
    rec_mixture_of(m, &p, &q, &x);
    ASSERT_EQ(x.n, m->mix.len[0]);
    ASSERT_NEAR(x.session_share, 0, 1e-9);
    for (size_t i = 0; i < x.n; i++)
        ASSERT_NEAR(x.blended[i], x.long_term[i], 1e-6);
    for (size_t i = 1; i < x.n; i++)
        ASSERT(x.blended[i - 1] >= x.blended[i]);

    /* a session: weight 4 now on interest a, weight 4 one half-life ago on
     * interest b: S = 4 + 2 = 6, b = 6 / 9, s(a) = 2/3, s(b) = 1/3 */
    uint32_t a = m->mix.cid[0 * m->mix.m + m->mix.len[0] - 1]; /* the user's weakest */
    uint32_t bi = (a + 1) % (uint32_t)m->n_clusters;
    rec_event ev[2] = {{item_of(m, a, 0), 1000, 4.0f}, {item_of(m, bi, 0), 900, 4.0f}};
    q.events = ev;
    q.n_events = 2;
    rec_mixture_of(m, &p, &q, &x);
    double b = 6.0 / 9.0;
    ASSERT_NEAR(x.session_share, b, 1e-6);
    ASSERT_NEAR(weight_of(&x, x.session, a), 2.0 / 3.0, 1e-6);
    ASSERT_NEAR(weight_of(&x, x.session, bi), 1.0 / 3.0, 1e-6);
    double la = weight_of(&x, x.long_term, a);
    ASSERT_NEAR(weight_of(&x, x.blended, a), (1 - b) * la + b * 2.0 / 3.0, 1e-5);
    double sum = 0;
    for (size_t i = 0; i < x.n; i++)
        sum += x.blended[i];
    ASSERT_NEAR(sum, 1, 1e-5);
    ASSERT(weight_of(&x, x.blended, a) > la); /* the session pulls a up */

    /* a dislike on a, now: it cancels 3 of a's 4 (net r(a) = 1, r(b) = 2,
     * P = 3, b = 3 / 6) and halves a's blended weight */
    rec_event ev3[3] = {ev[0], ev[1], {item_of(m, a, 1), 1000, -3.0f}};
    q.events = ev3;
    q.n_events = 3;
    rec_mixture y;
    rec_mixture_of(m, &p, &q, &y);
    ASSERT_NEAR(y.session_share, 0.5, 1e-6);
    ASSERT_NEAR(weight_of(&y, y.session, a), 1.0 / 3.0, 1e-6);
    ASSERT_NEAR(weight_of(&y, y.session, bi), 2.0 / 3.0, 1e-6);
    double lb = weight_of(&x, x.long_term, bi);
    double ra = weight_of(&y, y.blended, a) / weight_of(&y, y.blended, bi);
    ASSERT_NEAR(ra, 0.5 * (0.5 * la + 0.5 / 3.0) / (0.5 * lb + 0.5 * 2.0 / 3.0), 1e-4);
    ASSERT(weight_of(&y, y.blended, a) < weight_of(&x, x.blended, a));

    /* a click and three dislikes on a (the horror): net 2 - 9 = -7
     * on a against 2 on b: a's session share is -7/9, b's +2/9 (its
     * session mixture weight 1); a falls below its long-term weight */
    rec_event ev5[5] = {{item_of(m, a, 0), 1000, 2.0f},
                        {item_of(m, a, 1), 1000, -3.0f},
                        {item_of(m, a, 2), 1000, -3.0f},
                        {item_of(m, a, 3), 1000, -3.0f},
                        {item_of(m, bi, 0), 900, 4.0f}};
    q.events = ev5;
    q.n_events = 5;
    rec_mixture_of(m, &p, &q, &y);
    ASSERT_NEAR(weight_of(&y, y.session, a), -7.0 / 9.0, 1e-6);
    ASSERT_NEAR(weight_of(&y, y.session, bi), 2.0 / 9.0, 1e-6);
    ASSERT_NEAR(y.session_positive, 2.0 / 9.0, 1e-6);
    for (size_t i = 0; i < y.n; i++)
        if (y.cid[i] == bi) ASSERT_NEAR(rec_session_weight(&y, i), 1, 1e-6);
    ASSERT_NEAR(y.session_share, 2.0 / 5.0, 1e-6);
    ASSERT(weight_of(&y, y.blended, a) < 0.2 * la);
    for (size_t i = 0; i < y.n; i++) /* the long-term view never moves */
        ASSERT_NEAR(y.long_term[i], weight_of(&x, x.long_term, y.cid[i]), 1e-7);
    /* a dislike alone: no positive session (b = 0), a halved, shown at -1 */
    rec_event one[1] = {{item_of(m, a, 1), 1000, -3.0f}};
    q.events = one;
    q.n_events = 1;
    rec_mixture_of(m, &p, &q, &y);
    ASSERT_NEAR(y.session_share, 0, 1e-9);
    ASSERT_NEAR(weight_of(&y, y.session, a), -1, 1e-6);
    double rest = 0;
    for (size_t i = 0; i < y.n; i++)
        if (y.cid[i] != a) rest += y.long_term[i];
    ASSERT_NEAR(weight_of(&y, y.blended, a), 0.5 * la / (rest + 0.5 * la), 1e-5);

    /* an anonymous visitor: the session is everything */
    rec_query anon = {.user = -1, .events = ev, .n_events = 2, .k = 10, .now = 1000};
    rec_mixture_of(m, &p, &anon, &x);
    ASSERT_NEAR(x.session_share, 1, 1e-9);
    ASSERT_EQ(x.n, 2);
    ASSERT_EQ(x.cid[0], a);
    ASSERT_NEAR(x.blended[0], 2.0 / 3.0, 1e-6);
    TEST_OK("session blending rule: decay, b = S/(S+s0), dislikes, anonymous users");
}

static int contains(const uint32_t *xs, size_t n, uint32_t v) {
    for (size_t i = 0; i < n; i++)
        if (xs[i] == v) return 1;
    return 0;
}

static void test_recommend(const mx_model *m) {
    rec_params p;
    rec_params_init(&p);
    rec_ctx *c = rec_ctx_new(m, 200);
    ASSERT(c != NULL);
    rec_item out[200];
    size_t n = 0;
    mx_err err = {0};

    /* known user: k results, no training item, no duplicates, no excluded */
    uint32_t u = 3;
    const uint32_t *seen = m->seen_items + m->seen_ptr[u];
    size_t n_seen = m->seen_ptr[u + 1] - m->seen_ptr[u];
    ASSERT(n_seen > 0);
    rec_query q = {.user = u, .k = 30, .now = m->t_ref};
    ASSERT_EQ(rec_recommend(c, &p, &q, out, &n, &err), 0);
    ASSERT_EQ(n, 30);
    uint32_t ex = out[0].item;
    for (size_t i = 0; i < n; i++) {
        ASSERT(!contains(seen, n_seen, out[i].item));
        for (size_t j = 0; j < i; j++)
            ASSERT(out[i].item != out[j].item);
        /* "popular" exactly when no personal source found the item */
        ASSERT_EQ(out[i].reason == REC_REASON_POPULAR, !(out[i].sources & REC_PERSONAL_SOURCES));
        ASSERT_NEAR(out[i].score, 1.0 / (1.0 + (double)i), 1e-7);
        if (i) ASSERT(out[i].rank_score <= out[i - 1].rank_score); /* fused order */
    }
    ASSERT(!rec_last_excluded(c, ex));
    q.exclude = &ex;
    q.n_exclude = 1;
    ASSERT_EQ(rec_recommend(c, &p, &q, out, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        ASSERT(out[i].item != ex);
    /* rec_last_excluded: the request's exclusions and the training items,
     * nothing the answer holds, nothing out of range */
    ASSERT(rec_last_excluded(c, ex));
    for (size_t i = 0; i < n_seen; i++)
        ASSERT(rec_last_excluded(c, seen[i]));
    for (size_t i = 0; i < n; i++)
        ASSERT(!rec_last_excluded(c, out[i].item));
    ASSERT(!rec_last_excluded(c, (uint32_t)m->n_items));
    ASSERT(!rec_last_excluded(c, UINT32_MAX));

    /* a strong session on one interest moves the list there, as "session" */
    uint32_t target = m->mix.cid[u * m->mix.m + m->mix.len[u] - 1];
    rec_event ev[3];
    for (int e = 0; e < 3; e++)
        ev[e] = (rec_event){item_of(m, target, (uint32_t)e), m->t_ref, 5.0f};
    size_t before = 0, after = 0;
    q.exclude = NULL;
    q.n_exclude = 0;
    ASSERT_EQ(rec_recommend(c, &p, &q, out, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        before += out[i].interest == target;
    q.events = ev;
    q.n_events = 3;
    ASSERT_EQ(rec_recommend(c, &p, &q, out, &n, &err), 0);
    size_t session_reason = 0;
    for (size_t i = 0; i < n; i++) {
        after += out[i].interest == target;
        session_reason += out[i].interest == target && out[i].reason == REC_REASON_SESSION;
        for (int e = 0; e < 3; e++)
            ASSERT(out[i].item != ev[e].item); /* session items are excluded */
    }
    ASSERT(after > before);
    ASSERT(session_reason > 0);
    for (int e = 0; e < 3; e++)
        ASSERT(rec_last_excluded(c, ev[e].item)); /* the session's items */
    ASSERT(!rec_last_excluded(c, ex));            /* the last request did not exclude it */

    /* category filter: every result has the category */
    uint16_t cat = m->cat_ids[m->cat_ptr[item_of(m, 2, 0)]];
    rec_query qc = {.user = u, .k = 20, .now = m->t_ref, .categories = &cat, .n_categories = 1};
    ASSERT_EQ(rec_recommend(c, &p, &qc, out, &n, &err), 0);
    ASSERT(n > 0);
    for (size_t i = 0; i < n; i++) {
        int has = 0;
        for (uint32_t j = m->cat_ptr[out[i].item]; j < m->cat_ptr[out[i].item + 1]; j++)
            has |= m->cat_ids[j] == cat;
        ASSERT(has);
    }

    /* unknown user, no session: popularity, in popularity order */
    rec_query qn = {.user = -1, .k = 10, .now = m->t_ref};
    ASSERT_EQ(rec_recommend(c, &p, &qn, out, &n, &err), 0);
    ASSERT_EQ(n, 10);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(out[i].reason, REC_REASON_POPULAR);
        ASSERT_EQ(out[i].item, m->pop.ranked[i]);
    }
    ASSERT_STR_EQ(rec_last_explanation(c), "unknown user and no session: popular items");

    /* anonymous visitor with a session: personal results from its interest */
    rec_query qa = {.user = -1, .events = ev, .n_events = 3, .k = 20, .now = m->t_ref};
    ASSERT_EQ(rec_recommend(c, &p, &qa, out, &n, &err), 0);
    size_t in_target = 0;
    for (size_t i = 0; i < n; i++)
        in_target += out[i].interest == target;
    ASSERT(in_target >= 4);

    /* k above the context's limit */
    rec_query big = {.user = u, .k = 201, .now = m->t_ref};
    ASSERT(rec_recommend(c, &p, &big, out, &n, &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "limit");
    rec_ctx_free(c);
    TEST_OK("recommend: exclusions, session shift with reasons, category filter, cold users");
}

static void test_similar(const mx_model *m) {
    rec_ctx *c = rec_ctx_new(m, 50);
    rec_item out[50];
    size_t n = 0;
    mx_err err = {0};
    uint32_t it = item_of(m, 1, 0);
    ASSERT_EQ(rec_similar(c, it, &(rec_query){.k = 20}, out, &n, &err), 0);
    ASSERT_EQ(n, 20);
    const float *v = m->item_vecs + (size_t)it * m->dim;
    float prev = INFINITY;
    for (size_t i = 0; i < n; i++) {
        ASSERT(out[i].item != it);
        float s = 0;
        for (size_t d = 0; d < m->dim; d++)
            s += v[d] * m->item_vecs[(size_t)out[i].item * m->dim + d];
        ASSERT_NEAR(s, out[i].score, 1e-4);
        ASSERT(s <= prev + 1e-5f);
        prev = s;
    }
    /* exclusions and a category filter (of a world other than the item's:
     * the neighbours must be looked for deeper) */
    uint32_t first = out[0].item;
    uint16_t cat = m->cat_ids[m->cat_ptr[item_of(m, 2, 0)]];
    rec_query q = {
        .k = 10, .exclude = &first, .n_exclude = 1, .categories = &cat, .n_categories = 1};
    ASSERT_EQ(rec_similar(c, it, &q, out, &n, &err), 0);
    ASSERT_EQ(n, 10);
    for (size_t i = 0; i < n; i++) {
        int has = 0;
        for (uint32_t j = m->cat_ptr[out[i].item]; j < m->cat_ptr[out[i].item + 1]; j++)
            has |= m->cat_ids[j] == cat;
        ASSERT(has && out[i].item != first && out[i].item != it);
        ASSERT(!rec_last_excluded(c, out[i].item));
    }
    ASSERT(rec_last_excluded(c, first) && rec_last_excluded(c, it)); /* and the item itself */
    ASSERT(rec_similar(c, (uint32_t)m->n_items, &(rec_query){.k = 5}, out, &n, &err) ==
           MX_ENOTFOUND);
    rec_ctx_free(c);
    TEST_OK("similar items: by inner product, never the item itself, exclusions, categories, "
            "unknown item");
}

/* Largest cosine of item to any of items[0..n). */
static float nearest(const mx_model *m, uint32_t item, const uint32_t *items, size_t n) {
    float best = -1;
    for (size_t i = 0; i < n; i++) {
        const float *a = m->item_vecs + (size_t)item * m->dim,
                    *b = m->item_vecs + (size_t)items[i] * m->dim;
        float dot = 0;
        for (size_t d = 0; d < m->dim; d++)
            dot += a[d] * b[d];
        dot *= m->item_inv_norm[item] * m->item_inv_norm[items[i]];
        if (dot > best) best = dot;
    }
    return best;
}

/* The case: a click and three dislikes on the user's top interest
 * push that interest down and the answer away from it; a user whose only
 * event is a dislike no longer gets that item's near neighbour near the
 * top. Ranked and in retrieval order. */
static void test_dislikes(const mx_model *m, int use_ranker) {
    rec_params p;
    rec_params_init(&p);
    p.use_ranker = use_ranker;
    rec_ctx *c = rec_ctx_new(m, 50);
    rec_item out[10], base[10];
    size_t n = 0, nb = 0;
    mx_err err = {0};
    uint32_t u = 3;
    rec_query q = {.user = u, .k = 10, .now = m->t_ref};
    rec_mixture before, after;
    rec_mixture_of(m, &p, &q, &before);
    ASSERT_EQ(rec_recommend(c, &p, &q, base, &nb, &err), 0);
    ASSERT_EQ(rec_last_ranked(c), use_ranker);
    /* the interest the answer shows most: the one the user turns against */
    uint32_t top = 0;
    size_t most = 0;
    for (uint32_t ci = 0; ci < m->n_clusters; ci++) {
        size_t k = 0;
        for (size_t i = 0; i < nb; i++)
            k += base[i].interest == ci;
        if (k > most) most = k, top = ci;
    }
    uint32_t disliked[3];
    rec_event ev[4] = {{item_of(m, top, 0), m->t_ref - 60, 2.0f}};
    for (uint32_t e = 0; e < 3; e++) {
        disliked[e] = item_of(m, top, 1 + e);
        ev[1 + e] = (rec_event){disliked[e], m->t_ref, -3.0f};
    }
    q.events = ev;
    q.n_events = 4;
    rec_mixture_of(m, &p, &q, &after);
    ASSERT(weight_of(&after, after.session, top) < 0);
    ASSERT(weight_of(&after, after.blended, top) < 0.5 * weight_of(&before, before.blended, top));
    ASSERT_EQ(rec_recommend(c, &p, &q, out, &n, &err), 0);
    ASSERT_EQ(n, 10);
    size_t in_top_before = 0, in_top_after = 0;
    double near_before = 0, near_after = 0;
    for (size_t i = 0; i < 10; i++) {
        in_top_before += base[i].interest == top;
        in_top_after += out[i].interest == top;
        near_before += nearest(m, base[i].item, disliked, 3);
        near_after += nearest(m, out[i].item, disliked, 3);
        ASSERT(!contains(disliked, 3, out[i].item));
        ASSERT_NEAR(out[i].score, 1.0 / (1.0 + (double)i), 1e-7);
    }
    printf("# %s: top interest #%u in %zu of 10 before, %zu after the dislikes; mean cosine "
           "to the disliked items %.3f -> %.3f\n",
           use_ranker ? "ranked" : "retrieval order", top, in_top_before, in_top_after,
           near_before / 10, near_after / 10);
    ASSERT(in_top_before >= 2);
    ASSERT(in_top_after < in_top_before);
    ASSERT(near_after < near_before);

    /* only a dislike: an anonymous visitor sees popular items, and the
     * popular item nearest to the disliked one leaves the top 3 */
    rec_query qa = {.user = -1, .k = 10, .now = m->t_ref};
    ASSERT_EQ(rec_recommend(c, &p, &qa, base, &nb, &err), 0);
    uint32_t third = base[2].item, d = UINT32_MAX;
    float best = -2;
    for (uint32_t it = 0; it < m->n_items; it++) { /* its nearest item outside the answer */
        int in = 0;
        for (size_t i = 0; i < nb; i++)
            in |= base[i].item == it;
        float cs = nearest(m, it, &third, 1);
        if (!in && cs > best) best = cs, d = it;
    }
    rec_event dis = {d, m->t_ref, -3.0f};
    qa.events = &dis;
    qa.n_events = 1;
    ASSERT_EQ(rec_recommend(c, &p, &qa, out, &n, &err), 0);
    ASSERT_STR_EQ(rec_last_explanation(c),
                  "unknown user and no liked item in the session: popular items");
    for (size_t i = 0; i < n; i++) {
        ASSERT(out[i].item != d);
        if (i < 3) ASSERT(out[i].item != third);
        if (out[i].item == third) ASSERT(out[i].dislike_penalty > 0);
    }
    p.dislike_penalty = 0; /* the penalty is what moved it */
    ASSERT_EQ(rec_recommend(c, &p, &qa, out, &n, &err), 0);
    ASSERT_EQ(out[2].item, third);
    rec_ctx_free(c);
    printf("ok - dislikes (%s): the interest falls in the blend, its session share is negative, "
           "the answer moves away; a lone dislike pushes its neighbour out of the top 3\n",
           use_ranker ? "ranked" : "retrieval order");
}

/* Ranked answers under the session quota and diversity: scores are the
 * positions' (non-increasing), rank_score the ranker's, and placed_by
 * names what moved an item; items the order itself placed keep their key
 * order. */
static void test_scores_and_placement(const mx_model *m) {
    rec_params p;
    rec_params_init(&p);
    rec_ctx *c = rec_ctx_new(m, 50);
    rec_item out[15];
    size_t n = 0;
    mx_err err = {0};
    uint32_t u = 3;
    rec_mixture lm;
    rec_query q = {.user = u, .k = 15, .now = m->t_ref};
    rec_mixture_of(m, &p, &q, &lm);
    uint32_t weak = lm.cid[lm.n - 1];
    rec_event ev[3];
    for (uint32_t e = 0; e < 3; e++)
        ev[e] = (rec_event){item_of(m, weak, e), m->t_ref, 3.0f};
    q.events = ev;
    q.n_events = 3;
    size_t placed[3] = {0};
    for (int pass = 0; pass < 3; pass++) {
        p.per_interest_cap = pass == 1 ? 3 : 0;
        p.mmr_lambda = pass == 2 ? 0.7f : 0;
        ASSERT_EQ(rec_recommend(c, &p, &q, out, &n, &err), 0);
        ASSERT(pass == 1 ? n >= 9 : n == 15); /* the cap may leave the pool short */
        ASSERT(rec_last_ranked(c));
        for (size_t i = 0; i < n; i++) {
            ASSERT_EQ(out[i].ranked, 1);
            ASSERT(out[i].placed_by <= REC_PLACED_DIVERSITY);
            placed[out[i].placed_by]++;
            if (i) ASSERT(out[i].score < out[i - 1].score);
            if (out[i].placed_by != REC_PLACED_ORDER) continue;
            for (size_t j = i + 1; j < n; j++) /* the order's own pick beats what follows */
                ASSERT(out[i].rank_score - out[i].dislike_penalty >=
                       out[j].rank_score - out[j].dislike_penalty);
        }
    }
    printf("# placed by the ranker %zu, the session quota %zu, diversity %zu\n", placed[0],
           placed[1], placed[2]);
    ASSERT(placed[REC_PLACED_SESSION_QUOTA] > 0 && placed[REC_PLACED_DIVERSITY] > 0);
    ASSERT_STR_EQ(rec_placed_name(REC_PLACED_ORDER, 1), "ranker");
    ASSERT_STR_EQ(rec_placed_name(REC_PLACED_ORDER, 0), "retrieval");
    rec_ctx_free(c);
    TEST_OK("scores are the positions' (non-increasing) under quota, cap and MMR; rank_score "
            "keeps the ranker's; placed_by says what moved an item");
}

/* explain: each ranked item's top features are the largest Saabas
 * contributions of its pool row, which add up to its ranker score. */
static void test_explain(const mx_model *m) {
    rec_params p;
    rec_params_init(&p);
    rec_ctx *c = rec_ctx_new(m, 50), *c2 = rec_ctx_new(m, 50);
    rec_item out[15];
    size_t n = 0, np = 0;
    mx_err err = {0};
    rec_event ev[1] = {{item_of(m, 2, 0), m->t_ref, 2.0f}};
    rec_query q = {.user = 7, .events = ev, .n_events = 1, .k = 15, .now = m->t_ref};
    ASSERT_EQ(rec_recommend(c, &p, &q, out, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(out[i].n_why, 0); /* only when asked */
    q.explain = 1;
    ASSERT_EQ(rec_recommend(c, &p, &q, out, &n, &err), 0);
    const ret_cand *cands;
    const float *x;
    ASSERT_EQ(rec_candidates(c2, &p, &q, m->cfg.ranker.pool, &cands, &x, &np, &err), 0);
    float contrib[RK_MAX_FEATURES], bias;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(cands[out[i].pool_rank].item, out[i].item);
        const float *row = x + (size_t)out[i].pool_rank * FEAT_N;
        rk_forest_contrib(m->ranker, row, contrib, &bias);
        double sum = bias;
        for (size_t f = 0; f < FEAT_N; f++)
            sum += contrib[f];
        if (fabs(sum - out[i].rank_score) > worst) worst = fabs(sum - out[i].rank_score);
        ASSERT_EQ(out[i].n_why, REC_WHY_N);
        for (size_t w = 0; w < out[i].n_why; w++) {
            uint8_t f = out[i].why_feature[w];
            ASSERT_NEAR(out[i].why_contrib[w], contrib[f], 1e-7);
            ASSERT_NEAR(out[i].why_value[w], row[f], 1e-7);
            if (w) ASSERT(fabsf(out[i].why_contrib[w]) <= fabsf(out[i].why_contrib[w - 1]));
            for (size_t g = 0; g < FEAT_N; g++) { /* none left out is larger */
                int listed = 0;
                for (size_t v = 0; v < out[i].n_why; v++)
                    listed |= out[i].why_feature[v] == g;
                if (!listed) ASSERT(fabsf(contrib[g]) <= fabsf(out[i].why_contrib[w]));
            }
        }
    }
    printf("# bias + contributions vs the ranker score: largest gap %.2g\n", worst);
    ASSERT(worst < 1e-4);
    rec_ctx_free(c);
    rec_ctx_free(c2);
    TEST_OK("explain: the top 3 features are the largest Saabas contributions of the item's "
            "row; bias + contributions = the ranker's score");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    ds_dataset *ds = NULL;
    mx_model *m = build(&ds);
    test_mixture_rule(m);
    test_recommend(m);
    test_similar(m);
    test_dislikes(m, 0);
    /* the same model with a learned ranker */
    size_t n_ev = 0;
    const ds_event *ev = ds_events(ds, &n_ev);
    rkt_report rep;
    mx_err err = {0};
    if (rkt_train(ds, ev, n_ev, m, &rep, &err) || !m->ranker) FAIL("rkt_train: %s", err.msg);
    test_dislikes(m, 1);
    test_scores_and_placement(m);
    test_explain(m);
    model_free(m);
    ds_free(ds);
    return 0;
}

/* test_recommend.c - request-level recommendations: the session blending
 * rule on hand-computed values, exclusions, category filters, reasons,
 * anonymous and unknown users, similar items. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "model.h"
#include "pipeline.h"
#include "recommend.h"
#include "retrieve.h"
#include "synth.h"
#include "tap.h"
#include "fixture.h"

static mx_model *build(ds_dataset **ds_out) {
    *ds_out = fixture_dataset(1200, 300, 6, 8, 11);
    static const char *const settings[] = {"embed.dim=8", "interests.count=6", "mixture.top_m=6",
                                           NULL};
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

    /* a dislike on a halves its blended weight before renormalising */
    rec_event ev3[3] = {ev[0], ev[1], {item_of(m, a, 1), 1000, -3.0f}};
    q.events = ev3;
    q.n_events = 3;
    rec_mixture y;
    rec_mixture_of(m, &p, &q, &y);
    double ra = weight_of(&y, y.blended, a) / weight_of(&y, y.blended, bi);
    double r0 = weight_of(&x, x.blended, a) / weight_of(&x, x.blended, bi);
    ASSERT_NEAR(ra, 0.5 * r0, 1e-4);

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
        ASSERT(out[i].reason <= REC_REASON_POPULAR);
    }
    q.exclude = &ex;
    q.n_exclude = 1;
    ASSERT_EQ(rec_recommend(c, &p, &q, out, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        ASSERT(out[i].item != ex);

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
    }
    ASSERT(rec_similar(c, (uint32_t)m->n_items, &(rec_query){.k = 5}, out, &n, &err) ==
           MX_ENOTFOUND);
    rec_ctx_free(c);
    TEST_OK("similar items: by inner product, never the item itself, exclusions, categories, "
            "unknown item");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    ds_dataset *ds = NULL;
    mx_model *m = build(&ds);
    test_mixture_rule(m);
    test_recommend(m);
    test_similar(m);
    model_free(m);
    ds_free(ds);
    return 0;
}

/* test_rank_features.c - the ranker's features against values recomputed
 * by hand from the events and the model's arrays: activity statistics,
 * every feature of a pool, the vector features to the bit for sessions of
 * every length. */
#include <omp.h>
#include <stdint.h>

#include "tap.h"

#include "fixture.h"
#include "model.h"
#include "rank_features.h"
#include "rank_train.h"
#include "recommend.h"

static ds_dataset *ds;
static mx_model *model; /* with a ranker */

static float dotf(const float *a, const float *b, size_t d) {
    float s = 0;
    for (size_t j = 0; j < d; j++)
        s += a[j] * b[j];
    return s;
}

static float normf(const float *a, size_t d) {
    return sqrtf(dotf(a, a, d));
}

/* ---- features ---------------------------------------------------------- */

static void test_feature_names(void) {
    ASSERT_STR_EQ(feat_name(0), "ann_score");
    ASSERT_STR_EQ(feat_name(FEAT_SESSION_SHARE), "session_share");
    ASSERT(feat_name(FEAT_N) == NULL && feat_name(-1) == NULL);
    for (int a = 0; a < FEAT_N; a++)
        for (int b = 0; b < a; b++)
            ASSERT(strcmp(feat_name(a), feat_name(b)) != 0);
    TEST_OK("feature names: distinct, in the documented order");
}

/* Activity statistics, recomputed from the events. */
static void test_activity_stats(void) {
    size_t n = 0;
    const ds_event *ev = ds_events(ds, &n);
    const mx_model *m = model;
    size_t ni = m->n_items, nu = m->n_users;
    int64_t *first = malloc(ni * sizeof(int64_t)), *last = malloc(ni * sizeof(int64_t));
    double *day = calloc(ni, sizeof(double));
    for (size_t i = 0; i < ni; i++)
        first[i] = INT64_MAX, last[i] = INT64_MIN;
    for (size_t e = 0; e < n; e++) {
        uint32_t i = ev[e].item;
        if (ev[e].ts < first[i]) first[i] = ev[e].ts;
        if (ev[e].ts > last[i]) last[i] = ev[e].ts;
        day[i] += exp2(-(double)(m->t_ref - ev[e].ts) / 86400.0);
    }
    for (size_t i = 0; i < ni; i += 7) {
        const float *s = m->item_stats + i * MODEL_ITEM_STATS;
        if (first[i] == INT64_MAX) continue;
        ASSERT_NEAR(s[MODEL_ITEM_AGE], (m->t_ref - first[i]) / 86400.0, 1e-3);
        ASSERT_NEAR(s[MODEL_ITEM_IDLE], (m->t_ref - last[i]) / 86400.0, 1e-3);
        ASSERT_NEAR(s[MODEL_ITEM_POP_DAY], day[i], 1e-3 * (1 + day[i]));
    }
    /* recent items of some users: their distinct items, newest first */
    for (size_t u = 0; u < nu; u += 37) {
        uint32_t items[4096];
        int64_t ts[4096];
        size_t k = 0;
        for (size_t e = 0; e < n && k < 4096; e++) {
            if (ev[e].user != u) continue;
            size_t j = 0;
            while (j < k && items[j] != ev[e].item)
                j++;
            if (j == k)
                items[k] = ev[e].item, ts[k++] = ev[e].ts;
            else if (ev[e].ts > ts[j])
                ts[j] = ev[e].ts;
        }
        const uint32_t *rec = m->user_recent + u * MODEL_RECENT;
        size_t filled = 0;
        while (filled < MODEL_RECENT && rec[filled] != UINT32_MAX)
            filled++;
        ASSERT_EQ(filled, k < MODEL_RECENT ? k : MODEL_RECENT);
        for (size_t r = 0; r < filled; r++) {
            size_t j = 0;
            while (j < k && items[j] != rec[r])
                j++;
            ASSERT(j < k);
            /* no distinct item outside the list is newer than this one */
            size_t newer = 0;
            for (size_t x = 0; x < k; x++)
                newer += ts[x] > ts[j];
            ASSERT(newer <= r);
        }
        /* popularity affinity: mean log(1 + count) of the user's items */
        double sum = 0;
        size_t cnt = m->seen_ptr[u + 1] - m->seen_ptr[u];
        for (size_t j = m->seen_ptr[u]; j < m->seen_ptr[u + 1]; j++)
            sum += log1p(m->pop.count[m->seen_items[j]]);
        ASSERT_NEAR(m->user_stats[u * MODEL_USER_STATS + MODEL_USER_POP_AFFINITY],
                    cnt ? sum / cnt : 0, 1e-4);
    }
    free(first);
    free(last);
    free(day);
    TEST_OK("activity statistics: item age, idle days, one-day popularity, recent items");
}

/* Every feature of a pool, recomputed from the model's arrays. */
static void test_features_by_hand(void) {
    const mx_model *m = model;
    size_t d = m->dim;
    rec_ctx *c = rec_ctx_new(m, 50);
    rec_params p;
    rec_params_init(&p);
    uint32_t u = 5;
    /* a session: two positives and a dislike */
    uint32_t s1 = m->seen_items[m->seen_ptr[7]], s2 = m->seen_items[m->seen_ptr[8]];
    rec_event sess[3] = {{s1, m->t_ref - 60, 2}, {s2, m->t_ref - 30, 1}, {s1, m->t_ref, -3}};
    rec_query q = {.user = u, .events = sess, .n_events = 3, .k = 50, .now = m->t_ref};
    const ret_cand *cands;
    const float *x;
    size_t n = 0;
    mx_err err = {0};
    ASSERT_EQ(rec_candidates(c, &p, &q, 50, &cands, &x, &n, &err), 0);
    ASSERT(n >= 50 && n <= 150); /* the union pool: each source's top 50 */
    rec_mixture mix;
    rec_mixture_of(m, &p, &q, &mix);
    /* the query vector of the same query (re-solved with the session
     * items): a whole recommendation on a second context */
    rec_ctx *c2 = rec_ctx_new(m, 50);
    rec_item top[50];
    size_t n_top = 0;
    ASSERT_EQ(rec_recommend(c2, &p, &q, top, &n_top, &err), 0);
    const float *qv = rec_last_query(c2);
    ASSERT(qv);
    /* the query vector the pool used: re-solved with the session items;
     * recover it from a candidate's ann_score is circular, so check the
     * score's definition through the cosine instead */
    size_t nseen = m->seen_ptr[u + 1] - m->seen_ptr[u];
    double cat_share[64] = {0};
    ASSERT(m->n_categories <= 64);
    for (size_t j = m->seen_ptr[u]; j < m->seen_ptr[u + 1]; j++)
        for (uint32_t t = m->cat_ptr[m->seen_items[j]]; t < m->cat_ptr[m->seen_items[j] + 1]; t++)
            cat_share[m->cat_ids[t]] += 1.0 / (double)nseen;
    for (size_t i = 0; i < n; i++) {
        const float *f = x + i * FEAT_N;
        uint32_t it = cands[i].item, ci = m->item_interest[it];
        const float *v = m->item_vecs + (size_t)it * d;
        for (int k = 0; k < FEAT_N; k++)
            ASSERT(isfinite(f[k]));
        ASSERT_EQ(f[FEAT_POOL_RANK], i);
        ASSERT_NEAR(f[FEAT_FUSED], cands[i].fused, 1e-7);
        ASSERT_EQ(f[FEAT_IN_MIXTURE], (cands[i].sources >> RET_MIXTURE) & 1);
        ASSERT_EQ(f[FEAT_IN_SINGLE], (cands[i].sources >> RET_SINGLE) & 1);
        ASSERT_EQ(f[FEAT_IN_POPULAR], (cands[i].sources >> RET_POPULAR) & 1);
        ASSERT_NEAR(f[FEAT_POP_COUNT], log1p(m->pop.count[it]), 1e-5);
        ASSERT_NEAR(f[FEAT_POP_RECENT], log1p(m->pop.score[it]), 1e-5);
        ASSERT_NEAR(f[FEAT_ITEM_NORM], normf(v, d), 1e-4);
        ASSERT_NEAR(f[FEAT_USER_ACTIVITY], log1p((double)nseen), 1e-5);
        ASSERT_NEAR(f[FEAT_POP_VS_USER], f[FEAT_POP_COUNT] - f[FEAT_USER_POP_AFFINITY], 1e-5);
        ASSERT_EQ(f[FEAT_SESSION_EVENTS], 2);
        ASSERT_NEAR(f[FEAT_SESSION_SHARE], mix.session_share, 1e-7);
        float iw = 0, sw = 0;
        for (size_t s = 0; s < mix.n; s++)
            if (mix.cid[s] == ci) iw = mix.blended[s], sw = rec_session_weight(&mix, s);
        ASSERT_NEAR(f[FEAT_INTEREST_WEIGHT], iw, 1e-7);
        ASSERT_NEAR(f[FEAT_SESSION_WEIGHT], sw, 1e-7);
        /* cosine = ann_score / (|q| |v|): the same |q| for every candidate */
        double qn = f[FEAT_ANN_SCORE] / (f[FEAT_COSINE] * normf(v, d));
        const float *f0 = x;
        double qn0 = f0[FEAT_ANN_SCORE] /
                     (f0[FEAT_COSINE] * normf(m->item_vecs + (size_t)cands[0].item * d, d));
        ASSERT_NEAR(qn, qn0, 1e-3 * qn0);
        /* ranks: by ann_score overall and within the interest */
        size_t better = 0, better_in = 0;
        for (size_t j = 0; j < n; j++) {
            const float *g = x + j * FEAT_N;
            int ahead = g[FEAT_ANN_SCORE] > f[FEAT_ANN_SCORE] ||
                        (g[FEAT_ANN_SCORE] == f[FEAT_ANN_SCORE] && j < i);
            better += ahead;
            better_in += ahead && m->item_interest[cands[j].item] == ci;
        }
        ASSERT_EQ(f[FEAT_ANN_RANK], better);
        ASSERT_EQ(f[FEAT_INTEREST_RANK], better_in);
        /* similarity to the recent items (training ones and session positives) */
        float best = -1, best_s = -1, mean[256] = {0};
        ASSERT(d <= 256);
        const uint32_t *rec = m->user_recent + (size_t)u * MODEL_RECENT;
        uint32_t all[MODEL_RECENT + 2];
        size_t na = 0;
        for (size_t r = 0; r < MODEL_RECENT && rec[r] != UINT32_MAX; r++)
            all[na++] = rec[r];
        all[na++] = s2, all[na++] = s1; /* the session positives, newest first */
        for (size_t r = 0; r < na; r++) {
            const float *w = m->item_vecs + (size_t)all[r] * d;
            float cs = dotf(v, w, d) / (normf(v, d) * normf(w, d));
            if (cs > best) best = cs;
            if (r >= na - 2 && cs > best_s) best_s = cs;
            for (size_t j = 0; j < d; j++)
                mean[j] += w[j] / normf(w, d);
        }
        ASSERT_NEAR(f[FEAT_RECENT_SIM_MAX], best, 1e-4);
        ASSERT_NEAR(f[FEAT_SESSION_SIM_MAX], best_s, 1e-4);
        ASSERT_NEAR(f[FEAT_RECENT_SIM_MEAN], dotf(v, mean, d) / (normf(v, d) * normf(mean, d)),
                    1e-4);
        /* and to the bit, by the service's own float operations in its
         * order: unit rows (v / |v| as v * inv_norm), their sum, each dot
         * a sum of products in component order, times 1 / |v| */
        const float *vs = mx_item_vec(m, it);
        float inv = m->item_inv_norm[it], unit[MODEL_RECENT + 2][256], mean_u[256] = {0};
        float bx = -1, bs = -1;
        for (size_t r = 0; r < na; r++) {
            const float *w = mx_item_vec(m, all[r]);
            for (size_t j = 0; j < d; j++) {
                unit[r][j] = w[j] * m->item_inv_norm[all[r]];
                mean_u[j] += unit[r][j];
            }
            float cs = dotf(vs, unit[r], d) * inv;
            if (cs > bx) bx = cs;
            if (r >= na - 2 && cs > bs) bs = cs;
        }
        ASSERT(f[FEAT_RECENT_SIM_MAX] == bx && f[FEAT_SESSION_SIM_MAX] == bs);
        ASSERT(f[FEAT_RECENT_SIM_MEAN] ==
               dotf(vs, mean_u, d) * inv / sqrtf(dotf(mean_u, mean_u, d)));
        ASSERT(f[FEAT_ANN_SCORE] == dotf(qv, vs, d));
        double aff = 0;
        for (uint32_t t = m->cat_ptr[it]; t < m->cat_ptr[it + 1]; t++)
            aff += cat_share[m->cat_ids[t]];
        ASSERT_NEAR(f[FEAT_CATEGORY_AFFINITY], aff, 1e-4);
        ASSERT_NEAR(f[FEAT_ITEM_AGE], m->item_stats[(size_t)it * MODEL_ITEM_STATS + MODEL_ITEM_AGE],
                    1e-6);
        ASSERT_NEAR(f[FEAT_USER_IDLE], m->user_stats[u * MODEL_USER_STATS + MODEL_USER_IDLE], 1e-6);
        ASSERT_EQ(f[FEAT_FRESH], f[FEAT_ITEM_AGE] < FEAT_FRESH_DAYS);
    }
    /* an unknown user without a session: no vector, no user features */
    rec_query anon = {.user = -1, .k = 20, .now = m->t_ref};
    ASSERT_EQ(rec_candidates(c, &p, &anon, 20, &cands, &x, &n, &err), 0);
    ASSERT_EQ(n, 20);
    for (size_t i = 0; i < n; i++) {
        const float *f = x + i * FEAT_N;
        ASSERT(f[FEAT_ANN_SCORE] == 0 && f[FEAT_COSINE] == 0 && f[FEAT_USER_IDLE] == -1);
        ASSERT(f[FEAT_RECENT_SIM_MAX] == 0 && f[FEAT_SESSION_EVENTS] == 0);
        ASSERT_EQ(f[FEAT_IN_POPULAR], 1);
    }
    rec_ctx_free(c2);
    rec_ctx_free(c);
    TEST_OK("features of a pool equal values recomputed by hand (user with a session, anonymous)");
}

/* The vector features of long sessions to the bit: 5 and 9 positives give
 * 20 and 26 rows (the query, recent, mean, session), three and four groups
 * of the transposed block rank_features.c dots a candidate with. */
static void test_features_long_sessions(void) {
    const mx_model *m = model;
    size_t d = m->dim, checked = 0;
    ASSERT(d <= 256);
    rec_params p;
    rec_params_init(&p);
    const size_t lens[] = {5, 9};
    for (size_t li = 0; li < 2; li++) {
        rec_event sess[9];
        for (size_t e = 0; e < lens[li]; e++)
            sess[e] = (rec_event){m->seen_items[m->seen_ptr[10 + e]],
                                  m->t_ref - 60 * (int64_t)(lens[li] - e), 1};
        rec_query q = {.user = 3, .events = sess, .n_events = lens[li], .k = 40, .now = m->t_ref};
        rec_ctx *c = rec_ctx_new(m, 40), *c2 = rec_ctx_new(m, 40);
        const ret_cand *cands;
        const float *x;
        size_t n = 0, n_top = 0;
        mx_err err = {0};
        ASSERT_EQ(rec_candidates(c, &p, &q, 40, &cands, &x, &n, &err), 0);
        rec_item top[40];
        ASSERT_EQ(rec_recommend(c2, &p, &q, top, &n_top, &err), 0);
        const float *qv = rec_last_query(c2);
        /* the rows as user_begin makes them: the recent items, then the
         * newest session positives (at most 8), each also a recent row */
        static float rec[16][256], ses[8][256];
        float mean[256] = {0};
        size_t nr = 0, ns = 0;
        for (size_t r = 0; r < MODEL_RECENT; r++) {
            uint32_t it = m->user_recent[3 * MODEL_RECENT + r];
            if (it == UINT32_MAX) break;
            for (size_t j = 0; j < d; j++)
                rec[nr][j] = mx_item_vec(m, it)[j] * m->item_inv_norm[it];
            nr++;
        }
        for (size_t e = lens[li]; e-- > 0 && ns < 8;) {
            uint32_t it = sess[e].item;
            for (size_t j = 0; j < d; j++)
                ses[ns][j] = rec[nr][j] = mx_item_vec(m, it)[j] * m->item_inv_norm[it];
            ns++, nr++;
        }
        for (size_t r = 0; r < nr; r++)
            for (size_t j = 0; j < d; j++)
                mean[j] += rec[r][j];
        for (size_t i = 0; i < n; i++) {
            const float *f = x + i * FEAT_N;
            uint32_t it = cands[i].item;
            const float *v = mx_item_vec(m, it);
            float inv = m->item_inv_norm[it], bx = -1, bs = -1;
            for (size_t r = 0; r < nr; r++)
                if (dotf(v, rec[r], d) * inv > bx) bx = dotf(v, rec[r], d) * inv;
            for (size_t r = 0; r < ns; r++)
                if (dotf(v, ses[r], d) * inv > bs) bs = dotf(v, ses[r], d) * inv;
            ASSERT(f[FEAT_RECENT_SIM_MAX] == bx && f[FEAT_SESSION_SIM_MAX] == bs);
            ASSERT(f[FEAT_RECENT_SIM_MEAN] == dotf(v, mean, d) * inv / sqrtf(dotf(mean, mean, d)));
            ASSERT(f[FEAT_ANN_SCORE] == dotf(qv, v, d));
            checked++;
        }
        rec_ctx_free(c2);
        rec_ctx_free(c);
    }
    ASSERT(checked >= 80);
    TEST_OK("vector features of sessions of 5 and 9 positives (3 and 4 groups of rows) to the bit");
}

int main(void) {
    omp_set_num_threads(2);
    rkt_report rep;
    model = fixture_ranked_model(&ds, &rep);
    test_feature_names();
    test_activity_stats();
    test_features_by_hand();
    test_features_long_sessions();
    model_free(model);
    ds_free(ds);
    return 0;
}

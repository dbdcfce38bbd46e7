/* test_judge.c - judge.h: the window's cut-off, a candidate as good as the
 * serving model is promoted, a worse one is kept, no serving model
 * promotes, and a serving model with other dense ids (another dataset) is
 * scored on the same users through its string ids. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "judge.h"

static const char *const settings[] = {"embed.dim=8", "interests.count=6", NULL};

/* events before cut */
static size_t n_before(const ds_event *ev, size_t n, int64_t cut) {
    size_t k = 0;
    while (k < n && ev[k].ts < cut)
        k++;
    return k;
}

int main(void) {
    ds_dataset *ds = fixture_dataset(800, 300, 6, 8, 5);
    size_t n = 0;
    const ds_event *ev = ds_events(ds, &n);
    mx_err err = {0};

    int64_t cut = jdg_cutoff(ev, n, 0.2, INT64_MIN);
    ASSERT(cut > ev[0].ts && cut <= ev[n - 1].ts);
    size_t nt = n_before(ev, n, cut);
    ASSERT(nt >= (size_t)(0.75 * (double)n) && nt <= (size_t)(0.85 * (double)n));
    /* with a serving model: a fraction of the events it has not seen */
    int64_t tref = ev[nt].ts;
    size_t fresh = n - n_before(ev, n, tref + 1);
    int64_t cut2 = jdg_cutoff(ev, n, 0.5, tref);
    ASSERT(cut2 > tref);
    size_t win = n - n_before(ev, n, cut2);
    ASSERT(win >= fresh / 2 && win <= fresh / 2 + 50); /* ties at the cut-off join the window */
    ASSERT_EQ(jdg_cutoff(ev, n, 0.2, ev[n - 1].ts), ev[n - 1].ts + 1); /* nothing new */
    TEST_OK("jdg_cutoff: the quantile of all events, or of those the serving model has not seen");

    mx_model *serving = fixture_model(ds, ev, nt, settings);
    mx_model *cand = fixture_model(ds, ev, nt, settings);
    jdg_result r;
    ASSERT_EQ(jdg_compare(ds, cand, serving, cut, 5, 0.02, 1.0, &r, &err), 0);
    ASSERT(r.judged_users > 20);
    ASSERT_EQ(r.train_events, nt);
    ASSERT_EQ(r.window_events, n - nt);
    ASSERT_EQ(r.candidate_only, 0);
    ASSERT_EQ(r.unknown_items, 0);
    ASSERT(r.candidate.main > 0.01);
    ASSERT_NEAR(r.candidate.main, r.serving.main, 1e-9);
    ASSERT_EQ(r.candidate.users, r.serving.users);
    ASSERT(r.promote);
    TEST_OK("the same model on both sides: equal figures, promoted");

    /* a candidate trained on scrambled items is worse: kept */
    ds_event *bad = malloc(nt * sizeof(*bad));
    ASSERT(bad);
    size_t ni = ds_n_items(ds);
    for (size_t e = 0; e < nt; e++) {
        bad[e] = ev[e];
        bad[e].item = (uint32_t)(((uint64_t)ev[e].item * 7919 + 13) % ni);
    }
    mx_model *worse = fixture_model(ds, bad, nt, settings);
    ASSERT_EQ(jdg_compare(ds, worse, serving, cut, 5, 0.02, 1.0, &r, &err), 0);
    ASSERT(r.candidate.main < r.serving.main * 0.98);
    ASSERT(!r.promote);
    ASSERT_CONTAINS(r.reason, "<");
    json_t *j = jdg_to_json(&r);
    ASSERT(j);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "decision")), "keep");
    ASSERT(json_is_number(json_object_get(json_object_get(j, "serving"), "ndcg@10")));
    json_decref(j);
    /* a margin of 100% promotes anything */
    ASSERT_EQ(jdg_compare(ds, worse, serving, cut, 5, 1.0, 1.0, &r, &err), 0);
    ASSERT(r.promote);
    TEST_OK("a worse candidate is kept (and a 100% margin promotes it)");

    ASSERT_EQ(jdg_compare(ds, cand, NULL, cut, 5, 0.02, 1.0, &r, &err), 0);
    ASSERT(r.promote);
    ASSERT_CONTAINS(r.reason, "no serving version");
    j = jdg_to_json(&r);
    ASSERT(json_is_null(json_object_get(j, "serving")));
    json_decref(j);
    TEST_OK("no serving model: promoted");

    /* the serving model from another dataset: the same events, users added
     * in reverse order (other dense ids), one user left out */
    ds_dataset *other = ds_new();
    /* left out: a window user with 5 events before the cut */
    const char *left_out = NULL;
    for (size_t e = n; e-- > nt && !left_out;) {
        size_t before = 0;
        for (size_t k = 0; k < nt; k++)
            before += ev[k].user == ev[e].user;
        if (before >= 5) left_out = ds_user_id(ds, ev[e].user);
    }
    ASSERT(left_out);
    for (size_t k = nt; k-- > 0;) {
        const char *u = ds_user_id(ds, ev[k].user);
        if (!strcmp(u, left_out)) continue;
        ASSERT_EQ(ds_add_event(other, u, ds_item_id(ds, ev[k].item), ev[k].ts, ev[k].value, &err),
                  0);
    }
    ASSERT_EQ(ds_finish(other, &err), 0);
    size_t n2 = 0;
    const ds_event *ev2 = ds_events(other, &n2);
    mx_model *s2 = fixture_model(other, ev2, n2, settings);
    jdg_result r2;
    ASSERT_EQ(jdg_compare(ds, cand, s2, cut, 5, 0.02, 1.0, &r2, &err), 0);
    ASSERT(r2.judged_users > 20);
    ASSERT_EQ(r2.candidate_only, 1);
    ASSERT_EQ(r2.candidate.users, r2.serving.users);
    ASSERT(r2.serving.main > 0.5 * r2.candidate.main);
    TEST_OK("a serving model with other ids: same users through their string ids");

    model_free(s2);
    ds_free(other);
    model_free(worse);
    free(bad);
    model_free(cand);
    model_free(serving);
    ds_free(ds);
    return 0;
}

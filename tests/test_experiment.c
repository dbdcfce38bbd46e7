/* test_experiment.c - experiment.h: lists parse with each variant's
 * settings applied through the settings engine; every way a list can be
 * wrong is refused with the field named; assignment is stable, splits by
 * the shares and the audience, and experiments with different salts split
 * independently. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

#include "experiment.h"

static srv_config base;

static experiment_list *parse_ok(const char *text) {
    experiment_list *l = NULL;
    char field[JFIELD_MAX];
    mx_err err = {0};
    if (experiment_parse_text(text, "experiments", &base, &l, field, sizeof(field), &err))
        FAIL("refused %s: %s", text, err.msg);
    return l;
}

static void test_valid(void) {
    experiment_list *l = parse_ok(
        "[{\"name\": \"ranker-off\", \"variants\": ["
        "   {\"name\": \"control\", \"share\": 0.5},"
        "   {\"name\": \"off\", \"share\": 0.5, \"settings\": {\"ranking.enabled\": false,"
        "     \"ranking.mmr_lambda\": 0.3, \"session.strength\": \"5\"}}]},"
        " {\"name\": \"il\", \"salt\": \"s-2026\", \"audience\": 0.2, \"mode\": \"interleave\","
        "  \"variants\": [{\"name\": \"a\", \"share\": 0.7}, {\"name\": \"b\", \"share\": 0.3}]}]");
    ASSERT_EQ(experiment_count(l), 2);
    const experiment *e = experiment_at(l, 0);
    ASSERT_STR_EQ(e->name, "ranker-off");
    ASSERT_STR_EQ(e->salt, "ranker-off"); /* default: the name */
    ASSERT(e->audience == 1 && e->mode == EXPERIMENT_AB && e->n_variants == 2);
    const experiment_variant *c = &e->variants[0], *off = &e->variants[1];
    ASSERT_STR_EQ(c->name, "control");
    ASSERT_EQ(c->n_overrides, 0);
    ASSERT(c->cfg->ranking_enabled == base.ranking_enabled);
    ASSERT(c->cfg->ranking_mmr_lambda == base.ranking_mmr_lambda);
    ASSERT_EQ(off->n_overrides, 3);
    ASSERT(off->cfg->ranking_enabled == 0 && base.ranking_enabled == 1);
    ASSERT_NEAR(off->cfg->ranking_mmr_lambda, 0.3, 1e-12);
    ASSERT_NEAR(off->cfg->session_strength, 5, 1e-12);
    /* everything else is the base's */
    ASSERT(off->cfg->max_k == base.max_k && !strcmp(off->cfg->redis_url, base.redis_url));
    e = experiment_at(l, 1);
    ASSERT_STR_EQ(e->salt, "s-2026");
    ASSERT(e->mode == EXPERIMENT_INTERLEAVE && e->audience == 0.2);
    experiment_list_free(l);
    l = parse_ok("  ");
    ASSERT_EQ(experiment_count(l), 0);
    experiment_list_free(l);
    /* shares written as decimals that do not sum to exactly 1 in binary */
    l = parse_ok("[{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"share\": 0.7},"
                 " {\"name\": \"b\", \"share\": 0.2}, {\"name\": \"c\", \"share\": 0.1}]}]");
    experiment_list_free(l);
    TEST_OK("valid lists: defaults, salts, interleave, each variant's settings over the base");
}

#define V2 "\"variants\": [{\"name\": \"a\", \"share\": 0.5}, {\"name\": \"b\", \"share\": 0.5}]"

static const struct {
    const char *text, *field, *says;
} bad[] = {
    {"{}", "experiments", "JSON array"},
    {"[1]", "experiments[0]", "an object"},
    {"[{\"name\": \"x\", \"colour\": 1, " V2 "}]", "experiments[0].colour", "unknown field"},
    {"[{" V2 "}]", "experiments[0].name", "a name"},
    {"[{\"name\": \"a b\", " V2 "}]", "experiments[0].name", "a name"},
    {"[{\"name\": \"x\", \"salt\": \"\", " V2 "}]", "experiments[0].salt", "a salt"},
    {"[{\"name\": \"x\", \"audience\": 0, " V2 "}]", "experiments[0].audience", "(0, 1]"},
    {"[{\"name\": \"x\", \"audience\": 1.5, " V2 "}]", "experiments[0].audience", "(0, 1]"},
    {"[{\"name\": \"x\", \"mode\": \"mab\", " V2 "}]", "experiments[0].mode", "interleave"},
    {"[{\"name\": \"x\"}]", "experiments[0].variants", "2..8"},
    {"[{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"share\": 1}]}]",
     "experiments[0].variants", "2..8"},
    {"[{\"name\": \"x\", \"mode\": \"interleave\", \"variants\": [{\"name\": \"a\", \"share\": "
     "0.4}, {\"name\": \"b\", \"share\": 0.3}, {\"name\": \"c\", \"share\": 0.3}]}]",
     "experiments[0].variants", "exactly two"},
    {"[{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"share\": 0.5}, {\"name\": \"b\", "
     "\"share\": 0.6}]}]",
     "experiments[0].variants", "sum to 1.1"},
    {"[{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"share\": 0.5}, {\"name\": \"a\", "
     "\"share\": 0.5}]}]",
     "experiments[0].variants[1].name", "duplicate variant"},
    {"[{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"share\": 0}, {\"name\": \"b\", "
     "\"share\": 1}]}]",
     "experiments[0].variants[0].share", "(0, 1]"},
    {"[{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"share\": 0.5, \"weight\": 1}, "
     "{\"name\": \"b\", \"share\": 0.5}]}]",
     "experiments[0].variants[0].weight", "unknown field"},
    {"[{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"share\": 0.5, \"settings\": "
     "{\"server.workers\": 4}}, {\"name\": \"b\", \"share\": 0.5}]}]",
     "experiments[0].variants[0].settings.server.workers", "not a setting a variant may change"},
    {"[{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"share\": 0.5}, {\"name\": \"b\", "
     "\"share\": 0.5, \"settings\": {\"ranking.mmr_lambda\": 7}}]}]",
     "experiments[0].variants[1].settings.ranking.mmr_lambda", "ranking.mmr_lambda"},
    {"[{\"name\": \"x\", \"variants\": [{\"name\": \"a\", \"share\": 0.5}, {\"name\": \"b\", "
     "\"share\": 0.5, \"settings\": {\"ranking.enabled\": [1]}}]}]",
     "experiments[0].variants[1].settings.ranking.enabled", "a boolean, a number or a string"},
    {"[{\"name\": \"x\", " V2 "}, {\"name\": \"x\", " V2 "}]", "experiments[1].name",
     "duplicate experiment"},
    {"[{\"name\": \"x\", " V2 "", "experiments", "invalid JSON"},
};

static void test_bad(void) {
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        experiment_list *l = (experiment_list *)1;
        char field[JFIELD_MAX];
        mx_err err = {0};
        int rc = experiment_parse_text(bad[i].text, "experiments", &base, &l, field, sizeof(field),
                                       &err);
        if (rc != MX_EINVAL || l != NULL)
            FAIL("accepted or wrong code (%d) for %s", rc, bad[i].text);
        if (strcmp(field, bad[i].field))
            FAIL("%s: field '%s', want '%s' (%s)", bad[i].text, field, bad[i].field, err.msg);
        ASSERT(strncmp(err.msg, bad[i].field, strlen(bad[i].field)) == 0);
        if (!strstr(err.msg, bad[i].says))
            FAIL("%s: message '%s' does not say '%s'", bad[i].text, err.msg, bad[i].says);
    }
    TEST_OK("every way a list can be wrong is refused with the field named");
}

static void test_assignment(void) {
    experiment_list *l =
        parse_ok("[{\"name\": \"e1\", \"variants\": [{\"name\": \"a\", \"share\": 0.5},"
                 "   {\"name\": \"b\", \"share\": 0.3}, {\"name\": \"c\", \"share\": 0.2}]},"
                 " {\"name\": \"e2\", \"audience\": 0.3, " V2 "},"
                 " {\"name\": \"e3\", " V2 "}]");
    experiment_list *again = parse_ok("[{\"name\": \"e1\", \"variants\": [{\"name\": \"a\", "
                                      "\"share\": 0.5}, {\"name\": \"b\", \"share\": 0.3}, "
                                      "{\"name\": \"c\", \"share\": 0.2}]}]");
    const experiment *e1 = experiment_at(l, 0), *e2 = experiment_at(l, 1),
                     *e3 = experiment_at(l, 2);
    enum { N = 200000 };
    size_t count1[3] = {0}, in2 = 0, joint[2][2] = {{0}};
    char id[32];
    for (size_t i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "user-%zu", i);
        int v1 = experiment_assign(e1, id);
        ASSERT(v1 >= 0 && v1 < 3);
        /* the same answer every time, from another parse of the same list */
        ASSERT_EQ(experiment_assign(e1, id), v1);
        ASSERT_EQ(experiment_assign(experiment_at(again, 0), id), v1);
        count1[v1]++;
        int v2 = experiment_assign(e2, id);
        ASSERT(v2 >= -1 && v2 < 2);
        in2 += v2 >= 0;
        int v3 = experiment_assign(e3, id);
        ASSERT(v3 == 0 || v3 == 1);
        joint[v1 == 0][v3]++;
    }
    /* shares: within 4 standard deviations of the binomial */
    const double share[3] = {0.5, 0.3, 0.2};
    for (int v = 0; v < 3; v++) {
        double sd = sqrt(N * share[v] * (1 - share[v]));
        ASSERT(fabs((double)count1[v] - N * share[v]) < 4 * sd);
    }
    ASSERT(fabs((double)in2 - N * 0.3) < 4 * sqrt(N * 0.3 * 0.7));
    /* independence of e1 and e3 (different salts): a 2x2 chi-square test,
     * 1 degree of freedom, under 15.1 (p = 0.0001) */
    double chi = 0;
    size_t row[2] = {joint[0][0] + joint[0][1], joint[1][0] + joint[1][1]};
    size_t col[2] = {joint[0][0] + joint[1][0], joint[0][1] + joint[1][1]};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            double want = (double)row[a] * (double)col[b] / N;
            chi += ((double)joint[a][b] - want) * ((double)joint[a][b] - want) / want;
        }
    printf("# e1 %zu/%zu/%zu of %d; e2 audience %zu; e1 x e3 chi-square %.2f\n", count1[0],
           count1[1], count1[2], N, in2, chi);
    ASSERT(chi < 15.1);
    /* ids that differ in their last character spread over the variants */
    size_t seen[2] = {0};
    for (char ch = 'a'; ch <= 'z'; ch++) {
        snprintf(id, sizeof(id), "visitor-%c", ch);
        seen[experiment_assign(e3, id)]++;
    }
    ASSERT(seen[0] > 3 && seen[1] > 3);
    experiment_list_free(l);
    experiment_list_free(again);
    TEST_OK("assignment: stable, by the shares and the audience, independent across salts");
}

int main(void) {
    srv_config_init(&base);
    test_valid();
    test_bad();
    test_assignment();
    return 0;
}

/* test_ope.c - off-policy evaluation (service/core/build/ope.h): the
 * estimators against hand-computed values, SNIPS equal to IPS when the
 * weights average 1, the refusals, the session window, the propensities
 * the impressions reader gives, and a Monte Carlo case with known
 * propensities and a known truth where the 95% intervals cover the truth
 * in about 95% of runs. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "impressions.h"
#include "ope.h"
#include "rng.h"
#include "tap.h"

static void add(ope_acc *a, const ope_slot *s, size_t k) {
    mx_err err = {0};
    ASSERT_EQ(ope_add_slate(a, s, k, &err), 0);
}

/* Three slates of two slots (propensity, match, clicked, filled). */
static void test_hand(void) {
    ope_acc a;
    ope_acc_init(&a);
    const ope_slot s1[] = {{1, 1, 1, 1}, {0.5f, 1, 0, 1}};  /* S 1, W 3, C 1 */
    const ope_slot s2[] = {{1, 1, 0, 1}, {0.25f, 1, 1, 1}}; /* S 4, W 5, C 1 */
    const ope_slot s3[] = {{1, 0, 1, 1}, {0.5f, 0, 0, 1}};  /* S 0, W 0, C 1; one unsupported */
    add(&a, s1, 2);
    add(&a, s2, 2);
    add(&a, s3, 2);
    ope_limits l;
    ope_limits_init(&l);
    ope_result r;
    ope_estimate(&a, &l, &r);
    ASSERT_EQ(r.slates, 3);
    ASSERT_EQ(r.slots, 6);
    ASSERT_EQ(r.matched, 4);
    ASSERT_EQ(r.matched_clicks, 2);
    ASSERT_EQ(r.clicks, 3);
    ASSERT_EQ(r.unsupported, 1);
    ASSERT_NEAR(r.mean_k, 2, 1e-12);
    ASSERT_NEAR(r.coverage, 4.0 / 6, 1e-12);
    ASSERT_NEAR(r.unsupported_share, 1.0 / 6, 1e-12);
    ASSERT_NEAR(r.sum_w, 8, 1e-12);
    ASSERT_NEAR(r.ess, 64.0 / 22, 1e-12); /* (1+2+1+4)^2 / (1+4+1+16) */
    ASSERT_NEAR(r.logged_ctr, 0.5, 1e-12);
    ASSERT_NEAR(r.ips, 5.0 / 6, 1e-12);
    ASSERT_NEAR(r.snips, 5.0 / 8, 1e-12);
    /* IPS: residuals S - (5/6) 2 = -2/3, 7/3, -5/3; se = sqrt(78/9 / (3 * 2)) / 2 */
    double ips_se = sqrt(78.0 / 9 / 6) / 2;
    ASSERT_NEAR(r.ips_se, ips_se, 1e-12);
    ASSERT_NEAR(r.ips_lo, 0, 1e-12); /* 5/6 - 1.96 se < 0: clamped */
    ASSERT_NEAR(r.ips_hi, 1, 1e-12); /* clamped */
    /* SNIPS: residuals S - 0.625 W = -0.875, 0.875, 0; mean W 8/3 */
    double snips_se = sqrt((0.875 * 0.875 * 2) / 6) / (8.0 / 3);
    ASSERT_NEAR(r.snips_se, snips_se, 1e-12);
    ASSERT_NEAR(r.snips_lo, 0.625 - 1.959963984540054 * snips_se, 1e-9);
    ASSERT_NEAR(r.snips_hi, 0.625 + 1.959963984540054 * snips_se, 1e-9);
    /* logged: clicks per slate 1, 1, 1: no spread */
    ASSERT_NEAR(r.logged_se, 0, 1e-12);
    /* 1 of 6 unsupported is above 5%: refused, and says what to do */
    ASSERT_EQ(r.verdict, OPE_UNSUPPORTED);
    ASSERT_CONTAINS(r.reason, "explore.share");
    ASSERT_STR_EQ(ope_verdict_name(r.verdict), "unsupported");
    l = (ope_limits){.min_matched = 4, .min_ess = 2.9, .min_clicks = 2, .max_unsupported = 0.2};
    ope_estimate(&a, &l, &r);
    ASSERT_EQ(r.verdict, OPE_TRUSTED);
    ASSERT_STR_EQ(r.reason, "");
    l.min_matched = 5;
    ope_estimate(&a, &l, &r);
    ASSERT_EQ(r.verdict, OPE_FEW_MATCHED);
    l.min_matched = 4, l.min_ess = 3;
    ope_estimate(&a, &l, &r);
    ASSERT_EQ(r.verdict, OPE_LOW_ESS);
    ASSERT_CONTAINS(r.reason, "effective sample size is 2.9");
    l.min_ess = 1, l.min_clicks = 3;
    ope_estimate(&a, &l, &r);
    ASSERT_EQ(r.verdict, OPE_FEW_CLICKS);
    TEST_OK("hand-computed estimates, intervals and refusals");
}

static void test_edges(void) {
    ope_acc a;
    ope_acc_init(&a);
    ope_limits l;
    ope_limits_init(&l);
    ope_result r;
    ope_estimate(&a, &l, &r);
    ASSERT_EQ(r.verdict, OPE_NO_SLATES);
    ASSERT(isnan(r.ips) && isnan(r.snips) && isnan(r.ips_lo));
    ASSERT_EQ(r.ess, 0);
    /* bad slates leave the sums alone */
    mx_err err = {0};
    const ope_slot zero[] = {{0, 1, 0, 1}}, big[] = {{1.5f, 0, 0, 1}}, nofill[] = {{1, 1, 0, 0}};
    ASSERT_EQ(ope_add_slate(&a, zero, 1, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "propensity");
    ASSERT_EQ(ope_add_slate(&a, big, 1, &err), MX_EINVAL);
    ASSERT_EQ(ope_add_slate(&a, nofill, 1, &err), MX_EINVAL);
    ASSERT_EQ(ope_add_slate(&a, zero, 0, &err), MX_EINVAL);
    ASSERT_EQ(a.slates, 0);
    /* one slate: estimates, no interval; no match: IPS 0, SNIPS undefined */
    const ope_slot one[] = {{0.5f, 0, 1, 1}, {1, 0, 0, 0}}; /* a shorter target: not unsupported */
    add(&a, one, 2);
    ope_estimate(&a, &l, &r);
    ASSERT_NEAR(r.ips, 0, 1e-12);
    ASSERT(isnan(r.ips_se) && isnan(r.snips));
    ASSERT_EQ(r.unsupported, 0);
    ASSERT_EQ(r.verdict, OPE_FEW_MATCHED);
    TEST_OK("empty log, bad slates, one slate, no match");
}

/* When the weights sum to the number of target slots, SNIPS is IPS. */
static void test_snips_equals_ips(void) {
    ope_acc a;
    ope_acc_init(&a);
    const ope_slot x[] = {{1, 1, 1, 1}, {0.5f, 1, 1, 1}, {1, 1, 0, 1}}; /* w 1, 2, 1 */
    const ope_slot y[] = {{1, 1, 0, 1}, {0.5f, 0, 0, 1}, {1, 1, 0, 1}}; /* w 1, 0, 1 */
    add(&a, x, 3);
    add(&a, y, 3);
    ope_limits l;
    ope_limits_init(&l);
    ope_result r;
    ope_estimate(&a, &l, &r);
    ASSERT_NEAR(r.sum_w, 6, 1e-12);
    ASSERT_NEAR(r.ips, 3.0 / 6, 1e-12);
    ASSERT_NEAR(r.snips, r.ips, 1e-12);
    /* on-policy (every slot matched with propensity 1): both are the logged CTR */
    ope_acc_init(&a);
    const ope_slot z[] = {{1, 1, 1, 1}, {1, 1, 0, 1}, {1, 1, 1, 1}};
    const ope_slot v[] = {{1, 1, 0, 1}, {1, 1, 0, 1}, {1, 1, 1, 1}};
    add(&a, z, 3);
    add(&a, v, 3);
    ope_estimate(&a, &l, &r);
    ASSERT_NEAR(r.ips, r.logged_ctr, 1e-12);
    ASSERT_NEAR(r.snips, r.logged_ctr, 1e-12);
    ASSERT_NEAR(r.ips_se, r.logged_se, 1e-12);
    ASSERT_NEAR(r.ess, 6, 1e-12);
    ASSERT_NEAR(r.coverage, 1, 1e-12);
    TEST_OK("SNIPS equals IPS when the weights average 1; on-policy equals logged");
}

static void test_session_window(void) {
    const int64_t ts[] = {100, 200, 5000, 5100, 5200};
    size_t first;
    ASSERT_EQ(ope_session_window(ts, 5, 5300, 1000, 100, &first), 3);
    ASSERT_EQ(first, 2);
    ASSERT_EQ(ope_session_window(ts, 5, 5300, 1000, 2, &first), 2); /* the last max_events */
    ASSERT_EQ(first, 3);
    ASSERT_EQ(ope_session_window(ts, 5, 5000, 1000, 100, &first), 0); /* expired before 5000 */
    ASSERT_EQ(ope_session_window(ts, 5, 300, 1000, 100, &first), 2);
    ASSERT_EQ(first, 0);
    ASSERT_EQ(ope_session_window(ts, 5, 1200, 1000, 100, &first), 2); /* 1000 after: alive */
    ASSERT_EQ(ope_session_window(ts, 5, 1201, 1000, 100, &first), 0);
    ASSERT_EQ(ope_session_window(ts, 5, 100, 1000, 100, &first), 0); /* strictly before */
    ASSERT_EQ(ope_session_window(ts, 5, 7000, 1000, 100, &first), 0);
    ASSERT_EQ(ope_session_window(ts, 0, 7000, 1000, 100, &first), 0);
    ASSERT_EQ(ope_session_window(ts, 5, 5300, 1e9, 100, &first), 5); /* a long ttl joins all */
    TEST_OK("session window: expiry after ttl, gaps, the cap, strictly before");
}

static void test_reader(void) {
    imp_log *l = imp_log_new();
    ASSERT(l);
    mx_err err = {0};
    const char *lines[] = {
        /* out of answer order: propensities follow the items */
        "{\"ts\":1000,\"user\":\"a\",\"items\":[{\"item\":\"y\",\"position\":1,\"propensity\":0.25}"
        ","
        "{\"item\":\"x\",\"position\":0},{\"item\":\"z\",\"position\":2,\"propensity\":1}]}",
        "{\"ts\":1000,\"user\":\"b\",\"items\":[{\"item\":\"x\",\"propensity\":0}]}",
        "{\"ts\":1000,\"user\":\"b\",\"items\":[{\"item\":\"x\",\"propensity\":1.5}]}",
        "{\"ts\":1000,\"user\":\"b\",\"items\":[{\"item\":\"x\",\"propensity\":\"high\"}]}",
        "{\"ts\":1000,\"user\":\"c\",\"items\":[\"q\",{\"item\":\"r\",\"propensity\":1.0000001}]}",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        ASSERT_EQ(imp_log_add_line(l, lines[i], strlen(lines[i]), &err), 0);
    ASSERT_EQ(imp_log_count(l), 2);
    ASSERT_EQ(imp_log_stats(l)->bad_propensity, 3);
    const imp_slate *s = imp_log_get(l, 0);
    ASSERT_STR_EQ(s->items[0], "x");
    ASSERT_NEAR(s->propensity[0], 1, 0);
    ASSERT_STR_EQ(s->items[1], "y");
    ASSERT_NEAR(s->propensity[1], 0.25, 1e-7);
    ASSERT_NEAR(s->propensity[2], 1, 0);
    s = imp_log_get(l, 1);
    ASSERT_EQ(s->n_items, 2);
    ASSERT_NEAR(s->propensity[0], 1, 0);
    ASSERT_NEAR(s->propensity[1], 1, 0); /* rounding above 1 is 1 */
    imp_log_free(l);
    TEST_OK("impressions reader: propensities, 1 when absent, bad ones skip the slate");
}

/* Synthetic logging with known propensities: 3 positions, examination
 * 1/log2(2+j), item attractions a, users' factors u in [0.5, 1.5]. The
 * logging policy puts item 0 first always, item 1 (0.6) or 3 (0.4) second,
 * item 2 (0.5), 4 (0.3) or 5 (0.2) third; the target shows 0, 3, 4. The
 * truth: (e0 a0 + e1 a3 + e2 a4) / 3. */
static void test_monte_carlo(void) {
    const double a_item[] = {0.5, 0.4, 0.3, 0.25, 0.2, 0.1};
    const double e[] = {1, 1 / log2(3), 0.5};
    const int target[] = {0, 3, 4};
    const int choice[3][3] = {{0, -1, -1}, {1, 3, -1}, {2, 4, 5}};
    const double prob[3][3] = {{1, 0, 0}, {0.6, 0.4, 0}, {0.5, 0.3, 0.2}};
    const double truth = (e[0] * a_item[0] + e[1] * a_item[3] + e[2] * a_item[4]) / 3;
    const int runs = 300, n = 1500;
    int cover_ips = 0, cover_snips = 0;
    double sum_ips = 0, sum_ips2 = 0;
    rng_state rg;
    rng_seed(&rg, 2024);
    ope_limits l;
    ope_limits_init(&l);
    for (int run = 0; run < runs; run++) {
        ope_acc a;
        ope_acc_init(&a);
        for (int s = 0; s < n; s++) {
            double u = 0.5 + rng_uniform(&rg);
            ope_slot slot[3];
            for (int j = 0; j < 3; j++) {
                double x = rng_uniform(&rg), c = 0;
                int pick = 0;
                while (pick < 2 && choice[j][pick + 1] >= 0 && x >= c + prob[j][pick])
                    c += prob[j][pick++];
                int item = choice[j][pick];
                slot[j] = (ope_slot){(float)prob[j][pick], item == target[j],
                                     rng_uniform(&rg) < e[j] * a_item[item] * u, 1};
            }
            add(&a, slot, 3);
        }
        ope_result r;
        ope_estimate(&a, &l, &r);
        ASSERT_EQ(r.verdict, OPE_TRUSTED);
        ASSERT_EQ(r.unsupported, 0);
        cover_ips += r.ips_lo <= truth && truth <= r.ips_hi;
        cover_snips += r.snips_lo <= truth && truth <= r.snips_hi;
        sum_ips += r.ips;
        sum_ips2 += r.ips * r.ips;
    }
    double mean = sum_ips / runs, sd = sqrt(sum_ips2 / runs - mean * mean);
    printf("# truth %.4f, mean IPS %.4f (sd %.4f); 95%% intervals cover the truth: IPS %d, "
           "SNIPS %d of %d runs\n",
           truth, mean, sd, cover_ips, cover_snips, runs);
    ASSERT(fabs(mean - truth) < 4 * sd / sqrt(runs)); /* unbiased */
    ASSERT(cover_ips >= runs * 0.90 && cover_ips <= runs * 0.99);
    ASSERT(cover_snips >= runs * 0.90 && cover_snips <= runs * 0.99);
    TEST_OK("Monte Carlo: unbiased, intervals cover the truth in about 95% of runs");
}

int main(void) {
    test_hand();
    test_edges();
    test_snips_equals_ips();
    test_session_window();
    test_reader();
    test_monte_carlo();
    return 0;
}

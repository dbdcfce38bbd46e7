/* test_prom.c - the metrics of the loop (prom.h): impressions by route and
 * order, events attributed through their recommendation_id (prom_attributed:
 * ids this service did not make are ignored), click-through by route, by
 * order and overall, and counts exact under concurrent updates. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "rid.h"
#include "sessions.h"
#include "tap.h"

static const char *const routes[] = {"unmatched", "user_recommendations"};

/* The value of the sample line "NAME{LABELS} V" in text (-1 if absent). */
static double sample(const char *text, const char *name_labels) {
    size_t n = strlen(name_labels);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name_labels, n) && p[n] == ' ') return atof(p + n + 1);
    return -1;
}

static char *render(prom *p, unsigned long dropped) {
    prom_gauges g = {.workers = 1, .impressions_dropped = dropped};
    char *t = prom_render(p, &g);
    ASSERT(t != NULL);
    return t;
}

static void test_click_through(void) {
    prom *p = prom_new(routes, 2);
    rid_gen *g = rid_gen_new();
    char *t = render(p, 0);
    /* everything present at 0 before any answer */
    ASSERT_EQ(sample(t, "mixrec_click_through{route=\"all\",order=\"all\"}"), 0);
    ASSERT_EQ(sample(t, "mixrec_click_through{route=\"item_similar\",order=\"retrieval\"}"), 0);
    ASSERT_EQ(sample(t, "mixrec_impressions_total{route=\"recommendations\",order=\"ranker\"}"), 0);
    ASSERT_EQ(sample(t, "mixrec_impressions_dropped_total"), 0);
    ASSERT_EQ(sample(t, "mixrec_attributed_events_total{type=\"purchase\",route=\"item_similar\","
                        "order=\"ranker\"}"),
              0);
    free(t);

    char ur[RID_LEN + 1], sim[RID_LEN + 1], post_ret[RID_LEN + 1];
    rid_make(g, RID_ROUTE_USER_RECOMMENDATIONS, RID_ORDER_RANKER, ur);
    rid_make(g, RID_ROUTE_ITEM_SIMILAR, RID_ORDER_RETRIEVAL, sim);
    rid_make(g, RID_ROUTE_RECOMMENDATIONS, RID_ORDER_RETRIEVAL, post_ret);
    for (int i = 0; i < 4; i++)
        prom_impression(p, RID_ROUTE_USER_RECOMMENDATIONS, RID_ORDER_RANKER);
    for (int i = 0; i < 10; i++)
        prom_impression(p, RID_ROUTE_ITEM_SIMILAR, RID_ORDER_RETRIEVAL);
    prom_impression(p, RID_ROUTE_RECOMMENDATIONS, RID_ORDER_RETRIEVAL);
    prom_impression(p, RID_N_ROUTES, 0); /* ignored */
    prom_impression(p, 0, -1);
    prom_attributed(p, SESS_CLICK, ur);
    prom_attributed(p, SESS_LIKE, ur); /* attributed, not a click */
    prom_attributed(p, SESS_CLICK, sim);
    prom_attributed(p, SESS_CLICK, sim);
    prom_attributed(p, SESS_CLICK, sim);
    prom_attributed(p, SESS_PURCHASE, post_ret);
    /* ignored: not ids of this service, a bad type */
    prom_attributed(p, SESS_CLICK, NULL);
    prom_attributed(p, SESS_CLICK, "");
    prom_attributed(p, SESS_CLICK, "AAAAAAAAAAAAAAAAAAAAAAAA");
    prom_attributed(p, SESS_CLICK, "not-a-recommendation-id!");
    prom_attributed(p, PROM_EVENT_TYPES, ur);
    prom_attributed(p, -1, ur);
    t = render(p, 7);
    ASSERT_EQ(
        sample(t, "mixrec_impressions_total{route=\"user_recommendations\",order=\"ranker\"}"), 4);
    ASSERT_EQ(sample(t, "mixrec_impressions_total{route=\"item_similar\",order=\"retrieval\"}"),
              10);
    ASSERT_EQ(sample(t, "mixrec_impressions_dropped_total"), 7);
    ASSERT_EQ(sample(t,
                     "mixrec_attributed_events_total{type=\"click\",route=\"user_recommendations\","
                     "order=\"ranker\"}"),
              1);
    ASSERT_EQ(sample(t,
                     "mixrec_attributed_events_total{type=\"like\",route=\"user_recommendations\","
                     "order=\"ranker\"}"),
              1);
    ASSERT_EQ(sample(t, "mixrec_attributed_events_total{type=\"click\",route=\"item_similar\","
                        "order=\"retrieval\"}"),
              3);
    ASSERT_EQ(sample(t,
                     "mixrec_attributed_events_total{type=\"purchase\",route=\"recommendations\","
                     "order=\"retrieval\"}"),
              1);
    ASSERT_EQ(sample(t, "mixrec_attributed_events_total{type=\"click\",route=\"recommendations\","
                        "order=\"retrieval\"}"),
              0);
    ASSERT_NEAR(sample(t, "mixrec_click_through{route=\"user_recommendations\",order=\"ranker\"}"),
                0.25, 1e-9);
    ASSERT_NEAR(sample(t, "mixrec_click_through{route=\"item_similar\",order=\"retrieval\"}"), 0.3,
                1e-9);
    ASSERT_EQ(sample(t, "mixrec_click_through{route=\"recommendations\",order=\"retrieval\"}"), 0);
    ASSERT_EQ(sample(t, "mixrec_click_through{route=\"recommendations\",order=\"ranker\"}"), 0);
    /* by order: ranker 1/4; retrieval 3/11; by route; overall 4/15 */
    ASSERT_NEAR(sample(t, "mixrec_click_through{route=\"all\",order=\"ranker\"}"), 0.25, 1e-9);
    ASSERT_NEAR(sample(t, "mixrec_click_through{route=\"all\",order=\"retrieval\"}"), 3.0 / 11,
                1e-6);
    ASSERT_NEAR(sample(t, "mixrec_click_through{route=\"item_similar\",order=\"all\"}"), 0.3, 1e-9);
    ASSERT_EQ(sample(t, "mixrec_click_through{route=\"recommendations_get\",order=\"all\"}"), 0);
    ASSERT_NEAR(sample(t, "mixrec_click_through{route=\"all\",order=\"all\"}"), 4.0 / 15, 1e-6);
    free(t);
    rid_gen_free(g);
    prom_free(p);
    TEST_OK("impressions by route and order; prom_attributed by the id's route and order, "
            "foreign ids ignored; click-through by route, by order, overall (0 without "
            "impressions)");
}

typedef struct {
    prom *p;
    char id[RID_LEN + 1];
} worker_arg;

static void *hammer(void *arg) {
    worker_arg *a = arg;
    for (int i = 0; i < 20000; i++) {
        prom_impression(a->p, RID_ROUTE_RECOMMENDATIONS_GET, RID_ORDER_RANKER);
        if (i % 4 == 0) prom_attributed(a->p, SESS_CLICK, a->id);
    }
    return NULL;
}

static void test_threads(void) {
    prom *p = prom_new(routes, 2);
    pthread_t th[4];
    worker_arg args[4];
    for (int i = 0; i < 4; i++) {
        rid_gen *g = rid_gen_new(); /* one generator per worker thread */
        args[i].p = p;
        rid_make(g, RID_ROUTE_RECOMMENDATIONS_GET, RID_ORDER_RANKER, args[i].id);
        rid_gen_free(g);
        ASSERT_EQ(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    char *t = render(p, 0);
    ASSERT_EQ(sample(t, "mixrec_impressions_total{route=\"recommendations_get\",order=\"ranker\"}"),
              80000);
    ASSERT_EQ(sample(t,
                     "mixrec_attributed_events_total{type=\"click\",route=\"recommendations_get\","
                     "order=\"ranker\"}"),
              20000);
    ASSERT_NEAR(sample(t, "mixrec_click_through{route=\"all\",order=\"all\"}"), 0.25, 1e-9);
    free(t);
    prom_free(p);
    TEST_OK("4 threads counting at once: exact totals");
}

/* Promotions by name, bounded: 32 names, then "other"; names outside the
 * alphabet count as "other"; concurrent first uses of one name make one
 * label. */
typedef struct {
    prom *p;
    int id;
} promo_arg;

static void *promote(void *arg) {
    promo_arg *a = arg;
    for (int i = 0; i < 1000; i++) {
        prom_promoted(a->p, "shared", 1);
        prom_fresh(a->p, 2);
    }
    return NULL;
}

static void test_promotions(void) {
    prom *p = prom_new(routes, 2);
    char *t = render(p, 0);
    ASSERT_EQ(sample(t, "mixrec_promoted_total{promotion=\"other\"}"), 0);
    ASSERT_EQ(sample(t, "mixrec_fresh_total"), 0);
    ASSERT_CONTAINS(t, "# TYPE mixrec_promoted_total counter");
    ASSERT_CONTAINS(t, "# TYPE mixrec_fresh_total counter");
    free(t);
    pthread_t th[4];
    promo_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (promo_arg){p, i};
        ASSERT_EQ(pthread_create(&th[i], NULL, promote, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    prom_promoted(p, "spring-sale", 3);
    prom_promoted(p, "spring-sale", 2);
    prom_promoted(p, "spring-sale", 0);
    prom_promoted(p, "bad name\"}", 4); /* not a promotion name: other */
    prom_promoted(p, NULL, 1);
    prom_promoted(p, "other", 1); /* would clash with the bucket */
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%d", i);
        prom_promoted(p, name, 1);
    }
    t = render(p, 0);
    ASSERT_EQ(sample(t, "mixrec_promoted_total{promotion=\"shared\"}"), 4000);
    ASSERT_EQ(sample(t, "mixrec_fresh_total"), 8000);
    ASSERT_EQ(sample(t, "mixrec_promoted_total{promotion=\"spring-sale\"}"), 5);
    ASSERT_EQ(sample(t, "mixrec_promoted_total{promotion=\"p0\"}"), 1);
    ASSERT_EQ(sample(t, "mixrec_promoted_total{promotion=\"p29\"}"), 1);
    ASSERT_EQ(sample(t, "mixrec_promoted_total{promotion=\"p30\"}"), -1); /* 32 labels used */
    /* other: 4 + 1 + 1 + the 10 names past the 32 */
    ASSERT_EQ(sample(t, "mixrec_promoted_total{promotion=\"other\"}"), 16);
    size_t labels = 0;
    for (const char *q = strstr(t, "mixrec_promoted_total{"); q;
         q = strstr(q + 1, "mixrec_promoted_total{"))
        labels++;
    ASSERT_EQ(labels, PROM_MAX_PROMOTIONS + 1);
    ASSERT(!strstr(t, "bad name"));
    free(t);
    prom_free(p);
    TEST_OK("mixrec_promoted_total by promotion (32 labels, then other; names checked; one "
            "label under concurrent first use) and mixrec_fresh_total");
}

int main(void) {
    test_click_through();
    test_threads();
    test_promotions();
    return 0;
}

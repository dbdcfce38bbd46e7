/* test_slates.c - logged slates back in: the impressions reader
 * (impressions.h, both formats of items) and the slate labels (slate_train.h: last touch within
 * the window, the training period, unknown ids). */
#include "impressions.h"
#include "slate_train.h"
#include "tap.h"

#include <unistd.h>

static void add(imp_log *l, const char *line) {
    mx_err err = {0};
    ASSERT_EQ(imp_log_add_line(l, line, strlen(line), &err), 0);
}

static void test_reader(void) {
    imp_log *l = imp_log_new();
    ASSERT(l);
    /* positions out of answer order: the slate follows "position" */
    add(l, "{\"recommendation_id\":\"r1\",\"ts\":1000500,\"user\":\"a\",\"route\":"
           "\"user_recommendations\",\"order\":\"ranker\",\"items\":[{\"item\":\"y\",\"position\":"
           "1},{\"item\":\"x\",\"position\":0},{\"item\":\"z\",\"position\":2}],\"request\":{},"
           "\"stream_id\":\"1000500-0\"}\n");
    add(l, "{\"ts\":2000000,\"user\":7,\"order\":\"retrieval\",\"items\":[{\"item\":42}]}");
    add(l, "   \n");                                                          /* blank */
    add(l, "{not json");                                                      /* bad */
    add(l, "{\"user\":\"a\",\"item\":\"x\",\"type\":\"click\",\"ts\":1000}"); /* an event */
    add(l, "{\"ts\":1,\"user\":\"\",\"items\":[{\"item\":\"x\"}]}");          /* anonymous */
    add(l, "{\"ts\":1,\"items\":[{\"item\":\"x\"}]}");                        /* no user */
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":[{\"position\":0},{\"item\":[]}]}");
    add(l, "[1,2]");
    ASSERT_EQ(imp_log_count(l), 2);
    const imp_stats *st = imp_log_stats(l);
    ASSERT_EQ(st->lines, 8);
    ASSERT_EQ(st->slates, 2);
    ASSERT_EQ(st->bad_json, 2);
    ASSERT_EQ(st->not_slate, 1);
    ASSERT_EQ(st->anonymous, 2);
    ASSERT_EQ(st->empty, 1);
    const imp_slate *s = imp_log_get(l, 0);
    ASSERT_STR_EQ(s->rid, "r1");
    ASSERT_STR_EQ(s->user, "a");
    ASSERT_EQ(s->ts_ms, 1000500);
    ASSERT_EQ(s->ranked, 1);
    ASSERT_EQ(s->n_items, 3);
    ASSERT_STR_EQ(s->items[0], "x");
    ASSERT_STR_EQ(s->items[1], "y");
    ASSERT_STR_EQ(s->items[2], "z");
    s = imp_log_get(l, 1);
    ASSERT_STR_EQ(s->user, "7");
    ASSERT_STR_EQ(s->items[0], "42");
    ASSERT_STR_EQ(s->rid, "");
    ASSERT_EQ(s->ranked, 0);

    /* files: appended to the same log; a missing file is an error */
    char path[] = "/tmp/test_slates.XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    const char *text = "{\"ts\":5000,\"user\":\"b\",\"items\":[{\"item\":\"w\"}]}\n"
                       "{\"ts\":6000,\"user\":\"b\",\"items\":[{\"item\":\"v\"}]}"; /* no '\n' */
    ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    mx_err err = {0};
    ASSERT_EQ(imp_log_read(l, path, &err), 0);
    ASSERT_EQ(imp_log_count(l), 4);
    ASSERT_STR_EQ(imp_log_get(l, 3)->items[0], "v");
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(imp_log_read(l, path, &err), MX_EIO);
    ASSERT_CONTAINS(err.msg, "cannot open");
    imp_log_free(l);
    imp_log_free(NULL);
    TEST_OK("impressions reader");
}

static void ev(ds_dataset *ds, const char *u, const char *i, int64_t ts) {
    mx_err err = {0};
    ASSERT_EQ(ds_add_event(ds, u, i, ts, 1.0f, &err), 0);
}

static float label_of(const slt_labels *L, const ds_dataset *ds, int64_t ts, const char *item) {
    for (size_t s = 0; s < L->n_slates; s++)
        if (L->slates[s].ts == ts)
            for (size_t r = L->slates[s].first; r < L->slates[s].first + L->slates[s].n; r++)
                if (L->items[r] == (uint32_t)ds_find_item(ds, item)) return L->label[r];
    FAIL("no row for %s at %lld", item, (long long)ts);
}

static void test_labels(void) {
    mx_err err = {0};
    ds_dataset *ds = ds_new();
    ASSERT(ds);
    /* history */
    ev(ds, "a", "h", 10);
    ev(ds, "b", "h", 20);
    ev(ds, "a", "w", 30); /* w engaged before any slate: no label from it */
    /* a sees [x y z] at 1000, clicks y; sees [z w v] at 1100, clicks z
     * (last touch: the second slate's z, not the first's) */
    ev(ds, "a", "y", 1005);
    ev(ds, "a", "z", 1110);
    ev(ds, "b", "v", 1000 + 7200); /* two hours after b's slate: outside the window */
    ev(ds, "b", "x", 9000);        /* the end of the training period */
    ASSERT_EQ(ds_finish(ds, &err), 0);
    size_t n = 0;
    const ds_event *e = ds_events(ds, &n);

    imp_log *l = imp_log_new();
    add(l, "{\"ts\":1000000,\"user\":\"a\",\"items\":[{\"item\":\"x\"},{\"item\":\"y\"},{\"item\":"
           "\"z\"}]}");
    add(l, "{\"ts\":1100000,\"user\":\"a\",\"items\":[{\"item\":\"z\"},{\"item\":\"w\"},{\"item\":"
           "\"nope\"},{\"item\":\"v\"}]}");
    add(l, "{\"ts\":1000000,\"user\":\"b\",\"items\":[{\"item\":\"v\"},{\"item\":\"x\"}]}");
    add(l, "{\"ts\":1000000,\"user\":\"ghost\",\"items\":[{\"item\":\"x\"}]}");
    add(l, "{\"ts\":9500000,\"user\":\"b\",\"items\":[{\"item\":\"y\"}]}"); /* after training */
    slt_labels L;
    ASSERT_EQ(slt_assemble(ds, l, e, n, 9001, 3600.0, &L, &err), 0);
    ASSERT_EQ(L.read, 5);
    ASSERT_EQ(L.after_training, 1);
    ASSERT_EQ(L.unknown_users, 1);
    ASSERT_EQ(L.unknown_items, 1);
    ASSERT_EQ(L.n_slates, 3);
    ASSERT_EQ(L.n_rows, 3 + 3 + 2);
    ASSERT_EQ(label_of(&L, ds, 1000, "x"), 0);
    ASSERT_EQ(label_of(&L, ds, 1000, "y"), 1);
    ASSERT_EQ(label_of(&L, ds, 1000, "z"), 0); /* the later slate took the click */
    ASSERT_EQ(label_of(&L, ds, 1100, "z"), 1);
    ASSERT_EQ(label_of(&L, ds, 1100, "w"), 0);
    ASSERT_EQ(label_of(&L, ds, 1100, "v"), 0);
    ASSERT_EQ(L.positives, 2);
    ASSERT_EQ(L.engaged, 2); /* b's slate: v too late, x long after */
    slt_labels_free(&L);

    /* a wider window reaches b's late click on v; until leaves a's second
     * slate out, so its click on z goes to the first */
    ASSERT_EQ(slt_assemble(ds, l, e, n, 1050, 3.0 * 3600.0, &L, &err), 0);
    ASSERT_EQ(L.after_training, 2);
    ASSERT_EQ(L.n_slates, 2);
    ASSERT_EQ(L.engaged, 2);   /* a at 1000 (y, z) and b (v) */
    ASSERT_EQ(L.positives, 4); /* b: v and x (8000 s later) both inside 3 h */
    ASSERT_EQ(label_of(&L, ds, 1000, "z"), 1);
    slt_labels_free(&L);
    slt_labels_free(NULL);

    /* fewer engaged slates than rank_train.min_slates: no data, and why */
    bcfg cfg;
    bcfg_init(&cfg);
    pipe_inputs in = {.impressions = l};
    slt_data d;
    slt_report rep;
    int enough = 1;
    char why[256];
    ASSERT_EQ(slt_examples(ds, e, n, &cfg, &in, 20, &d, &enough, why, sizeof(why), &rep, &err), 0);
    ASSERT_EQ(enough, 0);
    ASSERT_CONTAINS(why, "rank_train.min_slates is 500");
    ASSERT_EQ(rep.read, 5);
    slt_data_free(&d);
    imp_log_free(l);
    ds_free(ds);
    TEST_OK("slate labels");
}

/* Format 2 (items as columns) reads as the same slates as format 1 (an
 * array of objects); a columns object that does not line up is skipped and
 * counted as the array form's faults are, never read with shifted cells. */
static void same_slate(const imp_slate *a, const imp_slate *b) {
    ASSERT_STR_EQ(a->rid, b->rid);
    ASSERT_STR_EQ(a->user, b->user);
    ASSERT_EQ(a->ts_ms, b->ts_ms);
    ASSERT_EQ(a->ranked, b->ranked);
    ASSERT_EQ(a->n_items, b->n_items);
    for (size_t i = 0; i < a->n_items; i++) {
        ASSERT_STR_EQ(a->items[i], b->items[i]);
        ASSERT_EQ(a->propensity[i], b->propensity[i]);
    }
}

static void test_columns(void) {
    /* pairs: format 1, then the same answer as format 2 */
    static const char *const pairs[][2] = {
        {"{\"recommendation_id\":\"r1\",\"ts\":1000500,\"user\":\"a\",\"order\":\"ranker\","
         "\"items\":[{\"item\":\"x\",\"position\":0,\"score\":1,\"sources\":[\"single\","
         "\"popular\"],\"reason\":\"long-term\",\"placed_by\":\"ranker\",\"rank_score\":2.5,"
         "\"propensity\":1},{\"item\":\"y\",\"position\":1,\"score\":0.5,\"sources\":[],\"reason\":"
         "\"popular\",\"placed_by\":\"exploration\",\"rank_score\":null,\"propensity\":0.25}]}",
         "{\"recommendation_id\":\"r1\",\"ts\":1000500,\"user\":\"a\",\"order\":\"ranker\","
         "\"format\":2,\"items\":{\"item\":[\"x\",\"y\"],\"score\":[1,0.5],\"sources\":[\"sp\","
         "\"\"],"
         "\"reason\":[\"long-term\",\"popular\"],\"placed_by\":[\"ranker\",\"exploration\"],"
         "\"rank_score\":[2.5,null],\"propensity\":[1,0.25]}}"},
        /* integer ids, no propensities (1), an unusable id left out */
        {"{\"ts\":7,\"user\":9,\"items\":[{\"item\":42},{\"item\":null},{\"item\":43}]}",
         "{\"ts\":7,\"user\":9,\"items\":{\"item\":[42,null,43]}}"},
        /* an explicit position column orders the slate as positions do */
        {"{\"ts\":8,\"user\":\"b\",\"items\":[{\"item\":\"q\",\"position\":1},{\"item\":\"p\","
         "\"position\":0,\"propensity\":0.5}]}",
         "{\"ts\":8,\"user\":\"b\",\"items\":{\"item\":[\"q\",\"p\"],\"position\":[1,0],"
         "\"propensity\":[1,0.5]}}"},
    };
    size_t n_pairs = sizeof(pairs) / sizeof(pairs[0]);
    imp_log *a = imp_log_new(), *b = imp_log_new();
    ASSERT(a && b);
    for (size_t i = 0; i < n_pairs; i++) {
        add(a, pairs[i][0]);
        add(b, pairs[i][1]);
    }
    ASSERT_EQ(imp_log_count(a), n_pairs);
    ASSERT_EQ(imp_log_count(b), n_pairs);
    for (size_t i = 0; i < n_pairs; i++)
        same_slate(imp_log_get(a, i), imp_log_get(b, i));
    ASSERT_EQ(imp_log_get(b, 0)->n_items, 2);
    ASSERT_NEAR(imp_log_get(b, 0)->propensity[1], 0.25, 0);
    ASSERT_EQ(imp_log_get(b, 1)->n_items, 2);
    ASSERT_STR_EQ(imp_log_get(b, 1)->items[1], "43");
    ASSERT_STR_EQ(imp_log_get(b, 2)->items[0], "p");
    ASSERT_NEAR(imp_log_get(b, 2)->propensity[0], 0.5, 0);
    imp_log_free(a);
    imp_log_free(b);

    /* faults: each line is skipped and counted, the good one kept */
    imp_log *l = imp_log_new();
    ASSERT(l);
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":[\"x\",\"y\"],\"score\":[1]}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":[\"x\"],\"propensity\":[1,1]}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":[\"x\"],\"score\":1}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":[\"x\"],\"propensity\":0.5}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":\"x\"}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"score\":[1]}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":[]}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":[null,{}]}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":[\"x\",\"y\"],\"propensity\":[1,0]}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":[\"x\"],\"propensity\":[\"high\"]}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":[\"x\"],\"propensity\":[null]}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":\"x\"}");
    add(l, "{\"ts\":1,\"user\":\"\",\"items\":{\"item\":[\"x\"]}}");
    add(l, "{\"ts\":1,\"user\":\"a\",\"items\":{\"item\":[\"ok\"],\"propensity\":[1.0000001]}}");
    const imp_stats *st = imp_log_stats(l);
    ASSERT_EQ(st->lines, 15);
    ASSERT_EQ(st->empty, 9);          /* columns that do not line up, or no usable id */
    ASSERT_EQ(st->bad_propensity, 3); /* as in the array form (test_ope.c) */
    ASSERT_EQ(st->not_slate, 1);
    ASSERT_EQ(st->anonymous, 1);
    ASSERT_EQ(imp_log_count(l), 1);
    ASSERT_STR_EQ(imp_log_get(l, 0)->items[0], "ok");
    ASSERT_NEAR(imp_log_get(l, 0)->propensity[0], 1, 0);
    imp_log_free(l);
    TEST_OK("impressions reader: columns (format 2) read as the array form; faults skipped, "
            "counted");
}

int main(void) {
    test_reader();
    test_columns();
    test_labels();
    return 0;
}

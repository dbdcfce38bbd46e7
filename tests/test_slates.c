/* test_slates.c - logged slates back in: the impressions reader
 * (impressions.h) and the slate labels (slate_train.h: last touch within
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

int main(void) {
    test_reader();
    test_labels();
    return 0;
}

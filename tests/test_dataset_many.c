/* test_dataset_many.c - ds_load_many: a CSV history plus JSON-lines
 * exports of the service's events stream (with the keys the importer must
 * ignore: stream_id, event_id, recommendation_id, position), per-source
 * counts, repeats merged across sources, the fingerprint of all sources,
 * and a bad source named in the error. argv[1] is the tests/data
 * directory (unused: the files are written here). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "hash.h"
#include "tap.h"

static char dir[64];

static void write_file(const char *name, const char *text, char *path, size_t len) {
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ASSERT(f);
    fputs(text, f);
    fclose(f);
}

static uint64_t fnv_of(const char *text) {
    return hash_fnv1a(HASH_FNV_BASIS, text, strlen(text));
}

static const char hist[] = "user,item,ts\n"
                           "a,i1,100\n"
                           "a,i2,110\n"
                           "b,i1,120\n"
                           "b,i3,130\n";
/* An export: contract fields plus the extra keys; one repeat of (a, i2),
 * one dislike, one unknown type, one blank line, a new user and item. */
static const char export1[] =
    "{\"user\":\"a\",\"item\":\"i2\",\"type\":\"click\",\"ts\":200,\"stream_id\":\"200000-0\"}\n"
    "{\"user\":\"u_new\",\"item\":\"i1\",\"type\":\"view\",\"ts\":210,\"stream_id\":\"210000-0\","
    "\"event_id\":\"e1\",\"recommendation_id\":\"AAAAAAAAAAAAAAAAAAAAAAAA\",\"position\":0}\n"
    "\n"
    "{\"user\":\"u_new\",\"item\":\"i9\",\"type\":\"purchase\",\"ts\":220,\"stream_id\":"
    "\"220000-0\",\"position\":3}\n"
    "{\"user\":\"u_new\",\"item\":\"i3\",\"type\":\"dislike\",\"ts\":230,\"stream_id\":\"230000-"
    "0\"}\n"
    "{\"user\":\"b\",\"item\":\"i2\",\"type\":\"teleport\",\"ts\":240,\"stream_id\":\"240000-0\"}"
    "\n";
static const char export2[] =
    "{\"user\":\"c\",\"item\":\"i1\",\"type\":\"like\",\"ts\":300,\"stream_id\":\"300000-0\"}\n";

static void test_merge(void) {
    char p0[128], p1[128], p2[128];
    write_file("hist.csv", hist, p0, sizeof(p0));
    write_file("events-1.jsonl", export1, p1, sizeof(p1));
    write_file("events-2.jsonl", export2, p2, sizeof(p2));
    const char *paths[] = {p0, p1, p2};
    ds_source_stats ps[3];
    ds_dataset *ds = NULL;
    mx_err err = {0};
    ASSERT_EQ(ds_load_many(&ds, paths, 3, NULL, NULL, ps, &err), 0);
    /* history */
    ASSERT_EQ(ps[0].lines, 4);
    ASSERT_EQ(ps[0].events, 4);
    ASSERT_EQ(ps[0].users, 2);
    ASSERT_EQ(ps[0].items, 3);
    ASSERT_EQ(ps[0].new_users, 2);
    ASSERT_EQ(ps[0].new_items, 3);
    ASSERT_CONTAINS(ps[0].summary, "CSV");
    /* first export: 5 rows, 3 kept (dislike and unknown type dropped) */
    ASSERT_EQ(ps[1].lines, 5);
    ASSERT_EQ(ps[1].events, 3);
    ASSERT_EQ(ps[1].users, 2);
    ASSERT_EQ(ps[1].new_users, 1);
    ASSERT_EQ(ps[1].items, 3);
    ASSERT_EQ(ps[1].new_items, 1);
    ASSERT_EQ(ps[1].nonpositive_types, 1);
    ASSERT_EQ(ps[1].unknown_types, 1);
    ASSERT_EQ(ps[1].blank_lines, 1);
    ASSERT_CONTAINS(ps[1].summary, "JSON lines");
    ASSERT_CONTAINS(ps[1].summary, "events-1.jsonl");
    ASSERT_EQ(ps[1].fnv, fnv_of(export1));
    ASSERT_EQ(ps[2].events, 1);
    ASSERT_EQ(ps[2].new_users, 1);
    ASSERT_EQ(ps[2].new_items, 0);
    /* merged: 4 + 3 + 1 = 8 events, (a, i2) repeated once */
    const ds_stats *st = ds_get_stats(ds);
    ASSERT_EQ(st->events, 7);
    ASSERT_EQ(st->duplicates, 1);
    ASSERT_EQ(st->lines, 10);
    ASSERT_EQ(st->nonpositive_types, 1);
    ASSERT_EQ(st->unknown_types, 1);
    ASSERT_EQ(ds_n_users(ds), 4);
    ASSERT_EQ(ds_n_items(ds), 4);
    ASSERT(ds_find_user(ds, "u_new") >= 0);
    /* the repeat keeps the latest time */
    size_t n = 0;
    const ds_event *ev = ds_events(ds, &n);
    int64_t a = ds_find_user(ds, "a"), i2 = ds_find_item(ds, "i2");
    int found = 0;
    for (size_t e = 0; e < n; e++)
        if (ev[e].user == (uint32_t)a && ev[e].item == (uint32_t)i2) {
            found = 1;
            ASSERT_EQ(ev[e].ts, 200);
        }
    ASSERT(found);
    /* the fingerprint covers every source, in order */
    uint64_t f[3] = {fnv_of(hist), fnv_of(export1), fnv_of(export2)};
    ASSERT_EQ(st->interactions_fnv, hash_fnv1a(HASH_FNV_BASIS, f, sizeof(f)));
    char line[2048];
    ds_import_summary(ds, 0, line, sizeof(line));
    ASSERT_CONTAINS(line, "3 sources");
    ds_free(ds);

    /* one source: the same as ds_load, fingerprint included */
    ASSERT_EQ(ds_load_many(&ds, paths, 1, NULL, NULL, NULL, &err), 0);
    ASSERT_EQ(ds_get_stats(ds)->interactions_fnv, fnv_of(hist));
    ASSERT_EQ(ds_get_stats(ds)->events, 4);
    ds_free(ds);
    TEST_OK("ds_load_many: CSV history + JSON-lines exports, per-source counts, fingerprint");
}

static void test_bad(void) {
    char p0[128], p1[128], p2[128];
    write_file("hist.csv", hist, p0, sizeof(p0));
    write_file("bad.jsonl", "{\"user\":\"a\",\"item\":\"i1\",\"ts\":1}\n{\"user\":\"a\"", p1,
               sizeof(p1));
    write_file("empty.jsonl", "", p2, sizeof(p2));
    const char *paths[] = {p0, p1};
    ds_dataset *ds = (ds_dataset *)1;
    mx_err err = {0};
    ASSERT(ds_load_many(&ds, paths, 2, NULL, NULL, NULL, &err) < 0);
    ASSERT(ds == NULL);
    ASSERT_CONTAINS(err.msg, "bad.jsonl:2");
    paths[1] = p2;
    ASSERT(ds_load_many(&ds, paths, 2, NULL, NULL, NULL, &err) < 0);
    ASSERT_CONTAINS(err.msg, "empty.jsonl");
    ASSERT(ds_load_many(&ds, paths, 0, NULL, NULL, NULL, &err) < 0);
    unlink(p1);
    unlink(p2);
    TEST_OK("ds_load_many: a bad or empty source is named");
}

int main(void) {
    snprintf(dir, sizeof(dir), "/tmp/test_dataset_many.XXXXXX");
    ASSERT(mkdtemp(dir));
    test_merge();
    test_bad();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
    return 0;
}

/* test_dataset.c - import (every format, the demo data set, every bad-input
 * case under data/bad/), programmatic construction, splits, CSR and the
 * file checksum. argv[1] is the tests/data directory.
 *
 * A bad-input case is a folder data/bad/<case>/ holding the log (a file
 * named ratings.*), optionally metadata (items.* or movies.*), optionally
 * an `opts` file of key=value lines (import options, or log=/items= to name
 * files that need not exist) and `expected`: either one line the error
 * message must contain, or "stats" followed by "<counter> <value>" lines
 * for inputs that load with warnings. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "dataset.h"
#include "evtype.h"
#include "strmap.h"
#include "tap.h"
#include "tsparse.h"

static const char *data_dir;

static char *path_of(char *buf, size_t n, const char *a, const char *b) {
    if ((size_t)snprintf(buf, n, "%s/%s", a, b) >= n) FAIL("path too long: %s/%s", a, b);
    return buf;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void assert_event(const ds_event *e, uint32_t user, uint32_t item, int64_t ts, float v) {
    ASSERT_EQ(e->user, user);
    ASSERT_EQ(e->item, item);
    ASSERT_EQ(e->ts, ts);
    ASSERT_NEAR(e->value, v, 1e-6);
}

static void assert_cats(const ds_dataset *ds, const char *item, const char *want) {
    int64_t id = ds_find_item(ds, item);
    ASSERT(id >= 0);
    size_t n;
    const uint16_t *c = ds_item_categories(ds, (uint32_t)id, &n);
    ASSERT(c != NULL);
    char got[256] = "";
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(got, "|");
        strcat(got, ds_category_name(ds, c[i]));
    }
    ASSERT_STR_EQ(got, want);
}

static void test_strmap(void) {
    smap *m = smap_new(0);
    ASSERT(m != NULL);
    uint32_t v;
    const char *stored;
    ASSERT_EQ(smap_put(m, "abcdef", 3, 7, &v, &stored), 1); /* key "abc" */
    ASSERT_EQ(v, 7);
    ASSERT_STR_EQ(stored, "abc");
    ASSERT_EQ(smap_put(m, "abc", 3, 9, &v, NULL), 0);
    ASSERT_EQ(v, 7);
    ASSERT_EQ(smap_get(m, "abc", 3, &v), 0);
    ASSERT_EQ(smap_get(m, "ab", 2, &v), MX_ENOTFOUND);
    ASSERT_EQ(smap_put(m, "", 0, 1, NULL, NULL), 1); /* the empty key is a key */
    char key[32];
    const char *first = NULL;
    for (uint32_t i = 0; i < 100000; i++) { /* many grows; stored copies must not move */
        snprintf(key, sizeof(key), "k%u", i);
        ASSERT_EQ(smap_put(m, key, strlen(key), i, NULL, i == 0 ? &first : NULL), 1);
    }
    ASSERT_STR_EQ(first, "k0");
    ASSERT_EQ(smap_size(m), 100002);
    for (uint32_t i = 0; i < 100000; i += 997) {
        snprintf(key, sizeof(key), "k%u", i);
        ASSERT_EQ(smap_get(m, key, strlen(key), &v), 0);
        ASSERT_EQ(v, i);
    }
    ASSERT_EQ(hash_fnv1a(HASH_FNV_BASIS, "a", 1), UINT64_C(0xaf63dc4c8601ec8c));
    smap_free(m);
    smap_free(NULL);
    TEST_OK("strmap");
}

static void test_movietweetings_small(void) {
    char rp[1024], mp[1024];
    path_of(rp, sizeof(rp), data_dir, "dataset/mt_ratings.dat");
    path_of(mp, sizeof(mp), data_dir, "dataset/mt_movies.dat");
    ds_import_opts o;
    ds_import_opts_init(&o);
    ds_dataset *ds = NULL;
    mx_err err = {0};
    int rc = ds_load(&ds, rp, mp, &o, &err);
    if (rc) FAIL("%s", err.msg);
    ASSERT_EQ(ds_n_users(ds), 3);
    ASSERT_EQ(ds_n_items(ds), 3);
    ASSERT_STR_EQ(ds_user_id(ds, 0), "u1"); /* first appearance order */
    ASSERT_STR_EQ(ds_user_id(ds, 2), "u3");
    ASSERT_STR_EQ(ds_item_id(ds, 1), "i2");
    ASSERT(ds_user_id(ds, 3) == NULL);
    ASSERT_EQ(ds_find_item(ds, "i3"), 2);
    ASSERT_EQ(ds_find_item(ds, "i9"), -1); /* metadata only: not interned */
    ASSERT_EQ(ds_find_user(ds, "nobody"), -1);
    size_t n;
    const ds_event *ev = ds_events(ds, &n);
    ASSERT_EQ(n, 5);
    assert_event(&ev[0], 1, 1, 50, 5);
    assert_event(&ev[1], 2, 0, 75, 10);
    assert_event(&ev[2], 0, 0, 100, 8);
    assert_event(&ev[3], 0, 2, 100, 7); /* 100.9 truncated */
    assert_event(&ev[4], 1, 0, 100, 6);
    const ds_stats *st = ds_get_stats(ds);
    ASSERT_EQ(st->lines, 5);
    ASSERT_EQ(st->blank_lines, 1);
    ASSERT_EQ(st->events, 5);
    ASSERT_EQ(st->duplicates, 0);
    ASSERT_EQ(st->meta_lines, 4);
    ASSERT_EQ(st->meta_unknown_items, 1);
    ASSERT_EQ(st->items_without_meta, 0);
    uint64_t h;
    ASSERT_EQ(hash_file(rp, &h, NULL, &err), 0);
    ASSERT_EQ(st->interactions_fnv, h);
    ASSERT_EQ(hash_file(mp, &h, NULL, &err), 0);
    ASSERT_EQ(st->items_fnv, h);
    ASSERT(ds_has_metadata(ds));
    ASSERT_EQ(ds_n_categories(ds), 3);
    ASSERT_STR_EQ(ds_category_name(ds, 1), "Children's");
    ASSERT(ds_category_name(ds, 3) == NULL);
    ASSERT_STR_EQ(ds_item_title(ds, 0), "Toy Story (1995)");
    ASSERT_STR_EQ(ds_item_title(ds, 1), "Heat (1995)");
    ASSERT_STR_EQ(ds_item_title(ds, 2), "Casino (1995)");
    assert_cats(ds, "i1", "Animation|Children's|Comedy");
    assert_cats(ds, "i2", ""); /* empty genre field */
    assert_cats(ds, "i3", ""); /* missing genre field */
    ds_free(ds);

    /* Explicit format gives the same; no metadata gives no titles. */
    o.format = DS_FMT_MOVIETWEETINGS;
    ASSERT_EQ(ds_load(&ds, rp, NULL, &o, &err), 0);
    ASSERT_EQ(ds_n_users(ds), 3);
    ASSERT(!ds_has_metadata(ds));
    ASSERT(ds_item_title(ds, 0) == NULL);
    ASSERT_EQ(ds_n_categories(ds), 0);
    ASSERT_EQ(ds_get_stats(ds)->items_without_meta, 0);
    ASSERT_EQ(ds_get_stats(ds)->items_fnv, 0);
    ds_free(ds);
    TEST_OK("movietweetings format (CRLF, no final newline, fractional ts)");
}

static void test_csv_small(void) {
    char rp[1024], mp[1024];
    path_of(rp, sizeof(rp), data_dir, "dataset/csv_ratings.csv");
    path_of(mp, sizeof(mp), data_dir, "dataset/csv_items.csv");
    ds_import_opts o;
    ds_import_opts_init(&o);
    o.value_col = "rating";
    ds_dataset *ds = NULL;
    mx_err err = {0};
    for (int pass = 0; pass < 2; pass++) {
        o.format = pass ? DS_FMT_CSV : DS_FMT_AUTO;
        o.items_format = pass ? DS_FMT_CSV : DS_FMT_AUTO;
        int rc = ds_load(&ds, rp, mp, &o, &err);
        if (rc) FAIL("%s", err.msg);
        ASSERT_EQ(ds_n_users(ds), 4);
        ASSERT_EQ(ds_n_items(ds), 3);
        ASSERT_STR_EQ(ds_user_id(ds, 2), "carol"); /* quotes and padding removed */
        ASSERT_STR_EQ(ds_user_id(ds, 3), "jos\xc3\xa9");
        ASSERT_STR_EQ(ds_item_id(ds, 0), "m,1");
        ASSERT_STR_EQ(ds_item_id(ds, 2), "say \"hi\"");
        size_t n;
        const ds_event *ev = ds_events(ds, &n);
        ASSERT_EQ(n, 5);
        assert_event(&ev[0], 1, 1, 999, 4); /* bob,m2 twice: max value */
        assert_event(&ev[1], 0, 0, 1000, 4.5f);
        assert_event(&ev[2], 2, 0, 1000, 2.5f);
        assert_event(&ev[3], 3, 2, 1001, 5);
        assert_event(&ev[4], 0, 1, 1002, 1);
        const ds_stats *st = ds_get_stats(ds);
        ASSERT_EQ(st->lines, 6);
        ASSERT_EQ(st->duplicates, 1);
        ASSERT_EQ(st->events, 5);
        ASSERT_EQ(st->meta_lines, 3);
        ASSERT_EQ(st->meta_duplicate_items, 1);
        ASSERT_EQ(st->meta_unknown_items, 0);
        ASSERT_EQ(st->items_without_meta, 1);
        ASSERT_STR_EQ(ds_item_title(ds, 0), "Toy Story, The (1995)");
        ASSERT_STR_EQ(ds_item_title(ds, 1), "Say \"Hello\" (2001)");
        ASSERT(ds_item_title(ds, 2) == NULL);
        ASSERT_EQ(ds_n_categories(ds), 3);
        assert_cats(ds, "m,1", "Animation|Comedy");
        assert_cats(ds, "m2", "Drama|Comedy"); /* padding trimmed, repeat dropped */
        assert_cats(ds, "say \"hi\"", "");
        ds_free(ds);
    }
    /* Without options the column "rating" is found by its name; with
     * value_col "-" there is no value column and every value is 1. */
    ASSERT_EQ(ds_load(&ds, rp, NULL, NULL, &err), 0);
    size_t n;
    const ds_event *ev = ds_events(ds, &n);
    assert_event(&ev[1], 0, 0, 1000, 4.5f);
    ds_free(ds);
    ds_import_opts_init(&o);
    o.value_col = "-";
    ASSERT_EQ(ds_load(&ds, rp, NULL, &o, &err), 0);
    ev = ds_events(ds, &n);
    for (size_t i = 0; i < n; i++)
        ASSERT_NEAR(ev[i].value, 1, 0);
    ds_free(ds);
    TEST_OK("csv format (quoted commas, escaped quotes, UTF-8, duplicates)");
}

static void test_tsv_small(void) {
    char rp[1024], mp[1024];
    path_of(rp, sizeof(rp), data_dir, "dataset/tsv_ratings.tsv");
    path_of(mp, sizeof(mp), data_dir, "dataset/tsv_items.tsv");
    ds_import_opts o;
    ds_import_opts_init(&o);
    o.user_col = "uid";
    o.item_col = "iid";
    o.time_col = "when";
    o.value_col = "w";
    o.min_value = 2;
    o.meta_id_col = "iid";
    o.meta_title_col = "name";
    o.meta_cat_col = "genres";
    o.cat_sep = ',';
    ds_dataset *ds = NULL;
    mx_err err = {0};
    int rc = ds_load(&ds, rp, mp, &o, &err);
    if (rc) FAIL("%s", err.msg);
    ASSERT_EQ(ds_n_users(ds), 2);
    ASSERT_EQ(ds_n_items(ds), 2); /* C's only event was dropped: never interned */
    ASSERT_STR_EQ(ds_item_id(ds, 0), "B");
    size_t n;
    const ds_event *ev = ds_events(ds, &n);
    ASSERT_EQ(n, 2);
    assert_event(&ev[0], 0, 0, 3, 2.5f);
    assert_event(&ev[1], 1, 1, 4, 3);
    ASSERT_EQ(ds_get_stats(ds)->below_min_value, 2);
    ASSERT_EQ(ds_get_stats(ds)->lines, 4);
    ASSERT_STR_EQ(ds_item_title(ds, 1), "Alpha, the \"first\""); /* TSV: quotes are text */
    ASSERT_STR_EQ(ds_item_title(ds, 0), "Beta");
    assert_cats(ds, "A", "x|y");
    assert_cats(ds, "B", "");
    ds_free(ds);
    TEST_OK("tsv format (custom columns, min_value, cat_sep)");
}

static void test_demo(void) {
    char dir[1024], rp[1100], mp[1100];
    path_of(dir, sizeof(dir), data_dir, "../../data/movietweetings-100k");
    path_of(rp, sizeof(rp), dir, "ratings.dat");
    path_of(mp, sizeof(mp), dir, "movies.dat");
    ds_dataset *ds = NULL;
    mx_err err = {0};
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        int rc = ds_load(&ds, rp, mp, NULL, &err);
        double dt = now() - t0;
        if (rc) FAIL("%s", err.msg);
        if (dt < best) best = dt;
        if (rep < 2) ds_free(ds);
    }
    printf("# demo load: %.1f ms\n", best * 1e3);
    ASSERT_EQ(ds_n_users(ds), 16554);
    ASSERT_EQ(ds_n_items(ds), 10506);
    ASSERT_EQ(ds_n_categories(ds), 25);
    const ds_stats *st = ds_get_stats(ds);
    ASSERT_EQ(st->lines, 100000);
    ASSERT_EQ(st->duplicates, 0); /* the snapshot has no repeated (user, movie) */
    ASSERT_EQ(st->events, 100000);
    ASSERT_EQ(st->blank_lines, 0);
    ASSERT_EQ(st->meta_lines, 10506);
    ASSERT_EQ(st->meta_unknown_items, 0);
    ASSERT_EQ(st->meta_duplicate_items, 0);
    ASSERT_EQ(st->items_without_meta, 0);
    size_t n;
    const ds_event *ev = ds_events(ds, &n);
    ASSERT_EQ(n, 100000);
    ASSERT_EQ(ev[0].ts, 1362062307); /* 2013-02-28 */
    ASSERT_EQ(ev[n - 1].ts, 1378067265);
    for (size_t i = 1; i < n; i++)
        ASSERT(ev[i - 1].ts < ev[i].ts ||
               (ev[i - 1].ts == ev[i].ts &&
                (ev[i - 1].user < ev[i].user ||
                 (ev[i - 1].user == ev[i].user && ev[i - 1].item < ev[i].item))));
    ASSERT_STR_EQ(ds_user_id(ds, 0), "1");
    ASSERT_STR_EQ(ds_item_id(ds, 0), "1074638");
    int64_t it = ds_find_item(ds, "0002844");
    ASSERT(it >= 0);
    ASSERT_STR_EQ(ds_item_title(ds, (uint32_t)it),
                  "Fant\xc3\xb4mas - \xc3\x80 l'ombre de la guillotine (1913)");
    assert_cats(ds, "0002844", "Crime|Drama");
    uint64_t h;
    ASSERT_EQ(hash_file(rp, &h, NULL, &err), 0);
    ASSERT_EQ(st->interactions_fnv, h);

    /* A global split of the real log: about 20% of events after the cut. */
    ds_split s;
    ASSERT_EQ(ds_split_global(ev, n, 0.2, 1, &s, &err), 0);
    ASSERT(s.n_train <= 80000 && s.n_train > 79000);
    ASSERT(s.n_train + s.n_test <= n);
    for (size_t i = 0; i < s.n_train; i++)
        ASSERT(s.train[i].ts < s.cutoff);
    for (size_t i = 0; i < s.n_test; i++)
        ASSERT(s.test[i].ts >= s.cutoff);
    ds_split_free(&s);
    ds_free(ds);
    TEST_OK("movietweetings-100k demo data");
}

/* Synthetic CSV log: lines events from users/items drawn by an LCG (with
 * repeats), loaded; the load time is printed, not asserted (speed lives in
 * scripts/bench-*). DS_BENCH_LINES=2000000 for the big run. */
static void test_synthetic(void) {
    const char *env = getenv("DS_BENCH_LINES");
    size_t lines = env ? (size_t)strtoull(env, NULL, 10) : 100000;
    char path[] = "/tmp/test_dataset_XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    FILE *f = fdopen(fd, "w");
    ASSERT(f != NULL);
    fprintf(f, "user,item,timestamp,weight\n");
    uint64_t x = 42;
    for (size_t i = 0; i < lines; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        unsigned u = (unsigned)(x >> 33) % (unsigned)(lines / 20 + 1);
        unsigned it = (unsigned)(x >> 13) % 20000u;
        fprintf(f, "u%u,i%u,%zu,%u\n", u, it, 1600000000 + i / 3, (unsigned)(x >> 60) % 5 + 1);
    }
    ASSERT_EQ(fclose(f), 0);
    ds_import_opts o;
    ds_import_opts_init(&o);
    o.value_col = "weight";
    ds_dataset *ds = NULL;
    mx_err err = {0};
    double t0 = now();
    int rc = ds_load(&ds, path, NULL, &o, &err);
    double dt = now() - t0;
    unlink(path);
    if (rc) FAIL("%s", err.msg);
    printf("# synthetic %zu lines: %.1f ms\n", lines, dt * 1e3);
    const ds_stats *st = ds_get_stats(ds);
    ASSERT_EQ(st->lines, lines);
    ASSERT_EQ(st->events + st->duplicates, lines);
    ASSERT(st->duplicates > 0);
    size_t n;
    const ds_event *ev = ds_events(ds, &n);
    ASSERT_EQ(n, st->events);
    for (size_t i = 1; i < n; i++)
        ASSERT(ev[i - 1].ts <= ev[i].ts);
    ds_free(ds);
    TEST_OK("synthetic log");
}

static void test_programmatic(void) {
    mx_err err = {0};
    ds_dataset *ds = ds_new();
    ASSERT(ds != NULL);
    ASSERT_EQ(ds_set_item_meta(ds, "late", "Late", "B|A", 0, &err), 0); /* interns "late" */
    ASSERT_EQ(ds_add_event(ds, "x", "a", 5, 2, &err), 0);
    ASSERT_EQ(ds_add_event(ds, "x", "a", 9, 1, &err), 0);
    ASSERT_EQ(ds_add_event(ds, "y", "late", 3, 1, &err), 0);
    ASSERT_EQ(ds_add_event(ds, "x", "a", 7, 4, &err), 0);
    ASSERT_EQ(ds_add_event(ds, "", "a", 7, 4, &err), MX_EINVAL);
    ASSERT_EQ(ds_add_event(ds, "x", "a", -1, 4, &err), MX_EINVAL);
    ASSERT_EQ(ds_add_event(ds, "x", "a", 1, NAN, &err), MX_EINVAL);
    ASSERT_EQ(ds_finish(ds, &err), 0);
    size_t n;
    const ds_event *ev = ds_events(ds, &n);
    ASSERT_EQ(n, 2);
    assert_event(&ev[0], 1, 0, 3, 1); /* y, late */
    assert_event(&ev[1], 0, 1, 9, 4); /* x, a: latest ts, max value */
    ASSERT_EQ(ds_get_stats(ds)->duplicates, 2);
    ASSERT_EQ(ds_get_stats(ds)->items_without_meta, 1); /* "a" */
    ASSERT_EQ(ds_set_item_meta(ds, "a", NULL, NULL, '|', &err), 0);
    ASSERT_EQ(ds_get_stats(ds)->items_without_meta, 0);
    ASSERT_STR_EQ(ds_item_title(ds, 1), "");
    ASSERT_EQ(ds_set_item_meta(ds, "a", "again", "C", '|', &err), 0);
    ASSERT_EQ(ds_get_stats(ds)->meta_duplicate_items, 1);
    assert_cats(ds, "late", "B|A");
    ASSERT_EQ(ds_finish(ds, &err), 0); /* idempotent */
    ASSERT_EQ(ds_events(ds, &n)[1].ts, 9);
    ASSERT_EQ(n, 2);
    ds_free(ds);
    ds_free(NULL);

    /* Category ids are uint16: the 65536th distinct category is an error. */
    ds = ds_new();
    char item[32], cat[32];
    for (int i = 0; i < 65535; i++) {
        snprintf(item, sizeof(item), "i%d", i);
        snprintf(cat, sizeof(cat), "c%d", i);
        ASSERT_EQ(ds_set_item_meta(ds, item, "t", cat, '|', &err), 0);
    }
    ASSERT_EQ(ds_n_categories(ds), 65535);
    ASSERT_EQ(ds_set_item_meta(ds, "one more", "t", "c1|c-new", '|', &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "more than 65535 categories");
    ds_free(ds);
    TEST_OK("programmatic construction");
}

/* Users 0..3 over items 0..3 (ts unique 1..10), shuffled on purpose. */
static const ds_event split_ev[] = {
    {2, 0, 7, 1},  {0, 0, 1, 1}, {1, 3, 9, 1}, {0, 2, 8, 1}, {2, 1, 4, 1},
    {3, 2, 10, 1}, {1, 0, 3, 1}, {2, 3, 6, 1}, {0, 1, 2, 1}, {2, 2, 5, 1},
};

static void assert_uit(const ds_event *e, uint32_t u, uint32_t i, int64_t ts) {
    assert_event(e, u, i, ts, 1);
}

static void test_split_global(void) {
    ds_split s;
    mx_err err = {0};
    /* 10 events, 30% test: T = 3rd-last timestamp = 8. */
    ASSERT_EQ(ds_split_global(split_ev, 10, 0.3, 2, &s, &err), 0);
    ASSERT_EQ(s.cutoff, 8);
    ASSERT_EQ(s.n_train, 7);
    for (size_t i = 0; i < 7; i++)
        ASSERT_EQ(s.train[i].ts, (int64_t)i + 1);
    /* After T: u0@8 (2 train events), u1@9 (1), u3@10 (0): min_train 2 keeps u0. */
    ASSERT_EQ(s.n_test, 1);
    ASSERT_EQ(s.n_test_users, 1);
    assert_uit(&s.test[0], 0, 2, 8);
    ds_split_free(&s);

    ASSERT_EQ(ds_split_global(split_ev, 10, 0.3, 1, &s, &err), 0);
    ASSERT_EQ(s.n_test, 2);
    ASSERT_EQ(s.n_test_users, 2);
    assert_uit(&s.test[0], 0, 2, 8);
    assert_uit(&s.test[1], 1, 3, 9);
    ds_split_free(&s);

    /* min_train 0 also keeps u3; test sorted by (user, ts). */
    ASSERT_EQ(ds_split_global(split_ev, 10, 0.3, 0, &s, &err), 0);
    ASSERT_EQ(s.n_test, 3);
    ASSERT_EQ(s.n_test_users, 3);
    assert_uit(&s.test[2], 3, 2, 10);
    ds_split_free(&s);

    /* Ties at the cut go to test: ts 1 1 2 2 2 2, 50% -> T = 2. */
    const ds_event tie[] = {{0, 0, 2, 1}, {1, 0, 1, 1}, {0, 1, 1, 1},
                            {1, 1, 2, 1}, {0, 2, 2, 1}, {1, 2, 2, 1}};
    ASSERT_EQ(ds_split_global(tie, 6, 0.5, 1, &s, &err), 0);
    ASSERT_EQ(s.cutoff, 2);
    ASSERT_EQ(s.n_train, 2);
    assert_uit(&s.train[0], 0, 1, 1);
    assert_uit(&s.train[1], 1, 0, 1);
    ASSERT_EQ(s.n_test, 4);
    assert_uit(&s.test[0], 0, 0, 2);
    assert_uit(&s.test[1], 0, 2, 2);
    assert_uit(&s.test[2], 1, 1, 2);
    assert_uit(&s.test[3], 1, 2, 2);
    ASSERT_EQ(s.n_test_users, 2);
    ds_split_free(&s);

    /* 0.1 * 30 is 3 despite floating point: 3 test events of 30. */
    ds_event many[30];
    for (int i = 0; i < 30; i++)
        many[i] = (ds_event){0, (uint32_t)i, i, 1};
    ASSERT_EQ(ds_split_global(many, 30, 0.1, 0, &s, &err), 0);
    ASSERT_EQ(s.n_train, 27);
    ASSERT_EQ(s.cutoff, 27);
    ds_split_free(&s);

    ASSERT_EQ(ds_split_global(split_ev, 10, 0, 1, &s, &err), MX_EINVAL);
    ASSERT_EQ(ds_split_global(split_ev, 10, 1, 1, &s, &err), MX_EINVAL);
    ASSERT_EQ(ds_split_global(split_ev, 0, 0.5, 1, &s, &err), MX_EINVAL);
    ASSERT(s.train == NULL && s.test == NULL);
    ds_split_free(&s);
    TEST_OK("global split");
}

static void test_split_per_user(void) {
    ds_split s;
    mx_err err = {0};
    /* 50%, min_train 1: u0 (3 events) -> 2 test, u1 (2) -> 1, u2 (4) -> 2,
     * u3 (1 event) stays in train. */
    ASSERT_EQ(ds_split_per_user(split_ev, 10, 0.5, 1, &s, &err), 0);
    ASSERT_EQ(s.cutoff, 0);
    ASSERT_EQ(s.n_test, 5);
    ASSERT_EQ(s.n_test_users, 3);
    assert_uit(&s.test[0], 0, 1, 2);
    assert_uit(&s.test[1], 0, 2, 8);
    assert_uit(&s.test[2], 1, 3, 9);
    assert_uit(&s.test[3], 2, 3, 6);
    assert_uit(&s.test[4], 2, 0, 7);
    ASSERT_EQ(s.n_train, 5);
    assert_uit(&s.train[0], 0, 0, 1); /* sorted by time */
    assert_uit(&s.train[1], 1, 0, 3);
    assert_uit(&s.train[2], 2, 1, 4);
    assert_uit(&s.train[3], 2, 2, 5);
    assert_uit(&s.train[4], 3, 2, 10);
    ds_split_free(&s);

    /* min_train 2: u0 has 3 events, ceil(1.5) = 2 would leave 1 in train,
     * so only 1 goes to test; u1 (2 events) is too short; u2 gives 2. */
    ASSERT_EQ(ds_split_per_user(split_ev, 10, 0.5, 2, &s, &err), 0);
    ASSERT_EQ(s.n_test, 3);
    ASSERT_EQ(s.n_test_users, 2);
    assert_uit(&s.test[0], 0, 2, 8);
    assert_uit(&s.test[1], 2, 3, 6);
    assert_uit(&s.test[2], 2, 0, 7);
    ASSERT_EQ(s.n_train, 7);
    ds_split_free(&s);

    /* A tiny fraction still gives 1 event; ties in ts broken by item id. */
    const ds_event tie[] = {{4, 3, 20, 1}, {4, 1, 20, 1}, {4, 2, 5, 1}};
    ASSERT_EQ(ds_split_per_user(tie, 3, 0.01, 1, &s, &err), 0);
    ASSERT_EQ(s.n_test, 1);
    assert_uit(&s.test[0], 4, 3, 20);
    ASSERT_EQ(s.n_train, 2);
    assert_uit(&s.train[0], 4, 2, 5);
    assert_uit(&s.train[1], 4, 1, 20);
    ds_split_free(&s);

    /* Deterministic: the same input in another order splits the same. */
    ds_event rev[10];
    for (int i = 0; i < 10; i++)
        rev[i] = split_ev[9 - i];
    ds_split a, b;
    ASSERT_EQ(ds_split_per_user(split_ev, 10, 0.3, 1, &a, &err), 0);
    ASSERT_EQ(ds_split_per_user(rev, 10, 0.3, 1, &b, &err), 0);
    ASSERT_EQ(a.n_test, b.n_test);
    ASSERT(memcmp(a.test, b.test, a.n_test * sizeof(ds_event)) == 0);
    ASSERT(memcmp(a.train, b.train, a.n_train * sizeof(ds_event)) == 0);
    ds_split_free(&a);
    ds_split_free(&b);
    ASSERT_EQ(ds_split_per_user(split_ev, 10, 1.5, 1, &s, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "test_frac");
    TEST_OK("per-user split");
}

static void test_csr(void) {
    const ds_event ev[] = {
        {1, 2, 30, 0.5f}, {0, 1, 20, 1}, {1, 0, 10, 2}, {0, 2, 20, 3}, {1, 1, 30, 4}};
    ds_csr c;
    mx_err err = {0};
    ASSERT_EQ(ds_csr_build(&c, ev, 5, 3, 0, &err), 0); /* 3 user rows, row 2 empty */
    ASSERT_EQ(c.n_rows, 3);
    const uint64_t ptr[] = {0, 2, 5, 5};
    const uint32_t col[] = {1, 2, 0, 1, 2};
    const int64_t ts[] = {20, 20, 10, 30, 30};
    const float val[] = {1, 3, 2, 4, 0.5f};
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(c.ptr[i], ptr[i]);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(c.col[i], col[i]);
        ASSERT_EQ(c.ts[i], ts[i]);
        ASSERT_NEAR(c.value[i], val[i], 0);
    }
    ds_csr_free(&c);

    ASSERT_EQ(ds_csr_build(&c, ev, 5, 3, 1, &err), 0); /* rows are items */
    const uint64_t iptr[] = {0, 1, 3, 5};
    const uint32_t icol[] = {1, 0, 1, 0, 1};
    const int64_t its[] = {10, 20, 30, 20, 30};
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(c.ptr[i], iptr[i]);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(c.col[i], icol[i]);
        ASSERT_EQ(c.ts[i], its[i]);
    }
    ds_csr_free(&c);
    ds_csr_free(NULL);

    ASSERT_EQ(ds_csr_build(&c, ev, 5, 2, 1, &err), MX_EINVAL); /* item 2 >= 2 rows */
    ASSERT_CONTAINS(err.msg, "n_rows");
    ASSERT_EQ(ds_csr_build(&c, NULL, 0, 0, 0, &err), 0);
    ASSERT_EQ(c.ptr[0], 0);
    ds_csr_free(&c);
    TEST_OK("csr");
}

/* ---- exports: JSON lines, detected separators, header-less, types ---- */

static char tmp_dir[64];

/* Writes text to tmp_dir/name and returns its path (static buffer). */
static const char *tmp_file(const char *name, const char *text) {
    static char p[2][256];
    static int k;
    char *path = p[k++ & 1];
    snprintf(path, 256, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs(text, f);
    ASSERT_EQ(fclose(f), 0);
    return path;
}

/* Loads a log (and items) written from text; fails the test on an error. */
static ds_dataset *load_text(const char *log, const char *items, const ds_import_opts *o) {
    const char *lp = tmp_file("log", log), *mp = items ? tmp_file("items", items) : NULL;
    ds_dataset *ds = NULL;
    mx_err err = {0};
    if (ds_load(&ds, lp, mp, o, &err)) FAIL("%s", err.msg);
    return ds;
}

/* The error of loading text as file name (in tmp_dir), without the dir. */
static const char *load_error(const char *name, const char *log, const ds_import_opts *o) {
    static mx_err err;
    ds_dataset *ds = NULL;
    memset(&err, 0, sizeof(err));
    if (ds_load(&ds, tmp_file(name, log), NULL, o, &err) == 0) FAIL("%s loaded", name);
    ASSERT(ds == NULL && err.code < 0);
    return err.msg + strlen(tmp_dir) + 1;
}

static void test_timestamps(void) {
    int64_t t;
    tsparse_kind k;
    ASSERT_EQ(tsparse("1636020000", &t, &k), 0);
    ASSERT_EQ(t, 1636020000);
    ASSERT_EQ(k, TSPARSE_SECONDS);
    ASSERT_EQ(tsparse("1636020000.9", &t, &k), 0); /* truncated */
    ASSERT_EQ(t, 1636020000);
    ASSERT_EQ(tsparse("100000000000", &t, &k), TSPARSE_ERANGE); /* 1e11 itself: seconds */
    ASSERT_EQ(tsparse("32503680001", &t, &k), TSPARSE_ERANGE);
    ASSERT_EQ(tsparse("100000000001", &t, &k), 0); /* above 1e11: milliseconds */
    ASSERT_EQ(k, TSPARSE_MILLIS);
    ASSERT_EQ(t, 100000000);
    ASSERT_EQ(tsparse("1636020000999", &t, &k), 0);
    ASSERT_EQ(t, 1636020000);
    ASSERT_EQ(tsparse("2021-11-04T10:00:00Z", &t, &k), 0);
    ASSERT_EQ(k, TSPARSE_ISO8601);
    ASSERT_EQ(t, 1636020000);
    const char *same[] = {"2021-11-04T12:00:00+02:00", "2021-11-04T12:00+0200",
                          "2021-11-04 10:00:00",       "2021-11-04T05:30:00.75-04:30",
                          "2021-11-04t10:00:00z",      "2021-11-04 10:00:00 UTC"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        if (tsparse(same[i], &t, &k)) FAIL("%s does not parse", same[i]);
        ASSERT_EQ(t, 1636020000);
    }
    ASSERT_EQ(tsparse("2021-11-04", &t, &k), 0); /* its midnight, UTC */
    ASSERT_EQ(t, 1635984000);
    ASSERT_EQ(tsparse("2024-02-29T00:00:00Z", &t, &k), 0);
    ASSERT_EQ(t, 1709164800);
    ASSERT_EQ(tsparse("1970-01-01T00:00:00Z", &t, &k), 0);
    ASSERT_EQ(t, 0);
    const char *bad[] = {"",
                         "yesterday",
                         "2021-13-01",
                         "2023-02-29",
                         "2021-11-04T25:00",
                         "2021-11-04T10",
                         "2021-11-04T10:00:00+2",
                         "2021-11-04X",
                         "1e9",
                         "12:00",
                         "2021-11-04T10:00:00.",
                         "0x10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tsparse(bad[i], &t, &k) != TSPARSE_EBAD) FAIL("'%s' parsed", bad[i]);
    ASSERT_EQ(tsparse("1969-12-31T23:59:59Z", &t, &k), TSPARSE_ERANGE);
    ASSERT_EQ(tsparse("1970-01-01T00:30:00+01:00", &t, &k), TSPARSE_ERANGE);
    ASSERT_EQ(tsparse("3000-01-01T00:00:01Z", &t, &k), TSPARSE_ERANGE);
    ASSERT_EQ(tsparse("-5", &t, &k), TSPARSE_ERANGE);
    TEST_OK("timestamps: unix seconds, milliseconds above 1e11, ISO 8601 with offsets and dates");
}

static void test_jsonl(void) {
    ds_dataset *ds = load_text(
        "{\"user_id\": \"u1\", \"item\": \"a\", \"rating\": 4, \"timestamp\": 1636020060000}\n"
        "\n"
        "  {\"user_id\": 7, \"item\": \"b\", \"rating\": 2.5, \"timestamp\": 1636020000000,"
        " \"extra\": {\"nested\": [1]}}\n"
        "{\"timestamp\": \"2021-11-04T10:02:00Z\", \"item\": \"b\", \"user_id\": \"u1\"}\n",
        "{\"id\": \"a\", \"name\": \"Alpha\", \"genres\": [\"X\", \"Y\"]}\n"
        "{\"id\": \"b\", \"name\": \"Beta, \\\"the\\\"\", \"genres\": \"Y|Z\"}\n"
        "{\"id\": \"zz\", \"name\": \"Not in the log\"}\n",
        NULL);
    size_t n;
    const ds_event *ev = ds_events(ds, &n);
    ASSERT_EQ(n, 3);
    ASSERT_STR_EQ(ds_user_id(ds, 1), "7"); /* numbers are ids too */
    assert_event(&ev[0], 1, 1, 1636020000, 2.5f);
    assert_event(&ev[1], 0, 0, 1636020060, 4);
    assert_event(&ev[2], 0, 1, 1636020120, 1); /* no rating: 1 */
    const ds_stats *st = ds_get_stats(ds);
    ASSERT_EQ(st->lines, 3);
    ASSERT_EQ(st->ts_kinds[TSPARSE_MILLIS], 2);
    ASSERT_EQ(st->ts_kinds[TSPARSE_ISO8601], 1);
    ASSERT_STR_EQ(ds_item_title(ds, 1), "Beta, \"the\"");
    assert_cats(ds, "a", "X|Y");
    assert_cats(ds, "b", "Y|Z");
    ASSERT_EQ(st->meta_unknown_items, 1);
    char line[1024];
    ds_import_summary(ds, 0, line, sizeof(line));
    ASSERT_CONTAINS(line, "/log: JSON lines; user = field 'user_id', item = field 'item', "
                          "rating = field 'rating', ts = field 'timestamp'");
    ASSERT_CONTAINS(line, "timestamps: 2 milliseconds, 1 ISO 8601; 3 rows, 3 events");
    ASSERT_CONTAINS(line, "skipped 1 blank lines");
    ds_import_summary(ds, 1, line, sizeof(line));
    ASSERT_CONTAINS(line, "JSON lines; item = field 'id', title = field 'name', categories = "
                          "field 'genres'; 3 rows; skipped 1 for items not in the log");
    ds_free(ds);
    TEST_OK("JSON lines: fields by name, numbers as ids, ms and ISO timestamps, category lists");
}

static void test_semicolon_types(void) {
    ds_import_opts o;
    ds_import_opts_init(&o);
    o.type_weights[EVTYPE_LIKE] = 4; /* events.like=4 */
    ds_dataset *ds = load_text("User ID;Item-Id;Event;qty;Event Time\n"
                               "u1;\"a;1\";View;1;2021-11-04T10:00:00Z\n"
                               "u1;b;purchase;2;2021-11-04T12:00:00+02:00\n"
                               "u2;b;Add to cart;1;2021-11-05\n"
                               "u2;c;dislike;1;2021-11-05\n"
                               "u2;d;search;1;2021-11-05\n"
                               "u3;d;;1;2021-11-06\n",
                               NULL, &o);
    size_t n;
    const ds_event *ev = ds_events(ds, &n);
    ASSERT_EQ(n, 3);
    ASSERT_STR_EQ(ds_item_id(ds, 0), "a;1"); /* quoted: the separator is text */
    assert_event(&ev[0], 0, 0, 1636020000, 1);
    assert_event(&ev[1], 0, 1, 1636020000, 5); /* no value column ("qty" is no usual name) */
    assert_event(&ev[2], 1, 1, 1636070400, 4); /* addtocart = like, weighing 4 */
    const ds_stats *st = ds_get_stats(ds);
    ASSERT_EQ(st->unknown_types, 2); /* search, and an empty type */
    ASSERT_EQ(st->nonpositive_types, 1);
    ASSERT_EQ(ds_find_item(ds, "c"), -1); /* a dislike alone interns nothing */
    char line[1024];
    ds_import_summary(ds, 0, line, sizeof(line));
    ASSERT_CONTAINS(line,
                    "CSV, separator ';', header line; user = column 1 'User ID', item = "
                    "column 2 'Item-Id', type = column 3 'Event', ts = column 5 'Event Time'; "
                    "event weights view 1, click 2, like 4, purchase 5, dislike -3; "
                    "timestamps: ISO 8601; 6 rows, 3 events; skipped 2 of an unknown event "
                    "type (first \"search\" at line 6); skipped 1 weighing <= 0");
    ds_free(ds);
    /* A value column is multiplied by the type's weight. */
    o.value_col = "qty";
    ds = load_text("user,item,type,qty\nu1,a,purchase,2\nu1,b,click,1.5\n", NULL, &o);
    ev = ds_events(ds, &n);
    ASSERT_EQ(n, 2);
    assert_event(&ev[0], 0, 0, 1, 10); /* no time column: line n at second n */
    assert_event(&ev[1], 0, 1, 2, 3);
    ds_import_summary(ds, 0, line, sizeof(line));
    ASSERT_CONTAINS(line, "timestamps: none (the order of the lines is time)");
    ds_free(ds);
    /* Only unknown types: the error says why nothing is left. */
    ds_import_opts_init(&o);
    ASSERT_STR_EQ(load_error("types.csv", "user,item,event\nu1,a,impression\nu1,b,dislike\n", &o),
                  "types.csv:3: no events: 2 rows skipped (1 of an unknown event type, first "
                  "\"impression\" at line 2; 1 weighing <= 0; 0 below min_value)");
    TEST_OK("event types: text weights, aliases, dislikes and unknown types skipped and counted");
}

static void test_headerless(void) {
    ds_import_opts o;
    ds_import_opts_init(&o);
    o.columns = "user, -, item, ts, _";
    ds_dataset *ds = load_text("u1\tx\ta\t100\tz\nu2\ty\tb\t50\n", NULL, &o);
    size_t n;
    const ds_event *ev = ds_events(ds, &n);
    ASSERT_EQ(n, 2);
    assert_event(&ev[0], 1, 1, 50, 1);
    assert_event(&ev[1], 0, 0, 100, 1);
    char line[1024];
    ds_import_summary(ds, 0, line, sizeof(line));
    ASSERT_CONTAINS(line, "TSV, no header line; user = column 1 'user', item = column 3 'item', "
                          "ts = column 4 'ts'; timestamps: unix seconds; 2 rows, 2 events");
    ds_free(ds);
    /* A "::" file with its columns in another order; items header-less too. */
    o.columns = "item,user,timestamp,rating";
    o.items_columns = "title,item";
    ds = load_text("a::u1::100::8\n", "Alpha::a\n", &o);
    ev = ds_events(ds, &n);
    assert_event(&ev[0], 0, 0, 100, 8);
    ASSERT_STR_EQ(ds_item_title(ds, 0), "Alpha");
    ds_free(ds);
    /* A comma file whose separator is given. */
    ds_import_opts_init(&o);
    o.sep = '|';
    ds = load_text("user|item|ts\nu1|\"a|b\"|5\n", NULL, &o);
    ASSERT_STR_EQ(ds_item_id(ds, 0), "a|b");
    ds_free(ds);
    /* Columns lists that cannot work. */
    mx_err err = {0};
    const char *p = tmp_file("cols.csv", "u1,a,5\n");
    o.columns = "user,thing,ts";
    ASSERT_EQ(ds_load(&ds, p, NULL, &o, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "cols.csv: columns 'user,thing,ts': unknown name 'thing' (expected "
                             "user, item, rating, type, ts, or - to skip a column)");
    o.columns = "user,item,user";
    ASSERT_EQ(ds_load(&ds, p, NULL, &o, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "named twice: 'user'");
    o.columns = "-,item,ts";
    ASSERT_EQ(ds_load(&ds, p, NULL, &o, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "columns '-,item,ts' name no user column");
    o.columns = "user,item,-,ts";
    o.sep = 0;
    ASSERT_STR_EQ(load_error("short.csv", "u1,a,x,5\nu1,b,6\n", &o),
                  "short.csv:2: too few fields: need 4 for column 4 'ts', got 3 (separator ',')");
    TEST_OK("header-less files: columns named in order, '-' skips, separators given");
}

/* Every refusal names file, line, column (or JSON field) and what was
 * expected. */
static void test_refusals(void) {
    ds_import_opts o;
    ds_import_opts_init(&o);
    static const struct {
        const char *name, *text, *want;
    } cases[] = {
        {"ratings.csv", "user,item,rating,ts\nu1,a,5,100\nu1,b,5,200\nu2,a,4,yesterday\n",
         "ratings.csv:4: column 4 'ts': expected unix seconds, milliseconds or ISO 8601, got "
         "\"yesterday\""},
        {"iso.csv", "user;item;ts\nu1;a;2021-02-30T10:00:00Z\n",
         "iso.csv:2: column 3 'ts': expected unix seconds, milliseconds or ISO 8601, got "
         "\"2021-02-30T10:00:00Z\""},
        {"old.csv", "user,item,ts\nu1,a,1969-07-20T20:17:00Z\n",
         "old.csv:2: column 3 'ts': expected a time from 1970 to the year 3000, got "
         "\"1969-07-20T20:17:00Z\""},
        {"value.tsv", "user\titem\tweight\nu1\ta\tlots\n",
         "value.tsv:2: column 3 'weight': expected a number, got \"lots\""},
        {"quote.csv", "user,item\nu1,\"a\"b\n",
         "quote.csv:2: column 2 'item': text after a closing quote (expected the separator)"},
        {"nouser.csv", "who,item\nu1,a\n",
         "nouser.csv:1: missing column 'user': expected a header name user, user_id, visitor_id "
         "or customer_id (header: who,item)"},
        {"ev.jsonl",
         "{\"user\": \"u1\", \"item\": \"a\", \"ts\": 5}\n{\"user\": \"u1\", \"item\": "
         "\"b\", \"ts\": \"soon\"}\n",
         "ev.jsonl:2: field 'ts': expected unix seconds, milliseconds or ISO 8601, got \"soon\""},
        {"syntax.jsonl", "{\"user\": \"u1\", \"item\": \"a\"}\n{\"user\": \"u1\" \"item\": 3}\n",
         "syntax.jsonl:2: column 20: expected a JSON object: "},
        {"array.jsonl", "[\"u1\", \"a\"]\n",
         "array.jsonl:1: column 1: expected a JSON object {...}, got an array"},
        {"nofield.jsonl", "{\"customer\": \"u1\", \"item\": \"a\"}\n",
         "nofield.jsonl:1: no user field: expected a key user, user_id, visitor_id or "
         "customer_id (keys: customer, item)"},
        {"later.jsonl", "{\"user\": \"u1\", \"item\": \"a\"}\n{\"item\": \"b\"}\n",
         "later.jsonl:2: field 'user': expected a user id, got no value"},
        {"object.jsonl", "{\"user\": {\"id\": 1}, \"item\": \"a\"}\n",
         "object.jsonl:1: field 'user': expected a string or number, got an object"},
        {"rating.jsonl", "{\"user\": \"u\", \"item\": \"a\", \"rating\": true}\n",
         "rating.jsonl:1: field 'rating': expected a string or number, got true"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ASSERT_CONTAINS(load_error(cases[i].name, cases[i].text, &o), cases[i].want);
    o.time_col = "when";
    ASSERT_STR_EQ(load_error("named.csv", "user,item,ts\nu1,a,5\n", &o),
                  "named.csv:1: missing column 'when' (header: user,item,ts)");
    ds_import_opts_init(&o);
    o.user_col = "-"; /* only optional columns can be turned off */
    ASSERT_STR_EQ(load_error("off.csv", "user,item\nu1,a\n", &o),
                  "off.csv:1: missing column '-' (header: user,item)");
    TEST_OK("refusals name file, line, column or field, and what was expected");
}

static void test_fnv(void) {
    char p[1024];
    uint64_t h = 0;
    mx_err err = {0};
    ASSERT_EQ(hash_file(path_of(p, sizeof(p), data_dir, "dataset/fnv_a.txt"), &h, NULL, &err), 0);
    ASSERT_EQ(h, UINT64_C(0xaf63dc4c8601ec8c));
    ASSERT_EQ(
        hash_file(path_of(p, sizeof(p), data_dir, "bad/empty_file/ratings.csv"), &h, NULL, &err),
        0);
    ASSERT_EQ(h, UINT64_C(0xcbf29ce484222325));
    ASSERT_EQ(hash_file(path_of(p, sizeof(p), data_dir, "no/such/file"), &h, NULL, &err), MX_EIO);
    ASSERT_CONTAINS(err.msg, "no/such/file: cannot open");
    TEST_OK("file fnv1a");
}

/* ---- data-driven cases ------------------------------------------------ */

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static ds_format parse_format(const char *s) {
    if (!strcmp(s, "mt")) return DS_FMT_MOVIETWEETINGS;
    if (!strcmp(s, "csv")) return DS_FMT_CSV;
    if (!strcmp(s, "tsv")) return DS_FMT_TSV;
    if (!strcmp(s, "auto")) return DS_FMT_AUTO;
    FAIL("unknown format '%s'", s);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t stat_value(const ds_dataset *ds, const char *key) {
    const ds_stats *st = ds_get_stats(ds);
    if (!strcmp(key, "lines")) return st->lines;
    if (!strcmp(key, "events")) return st->events;
    if (!strcmp(key, "below_min_value")) return st->below_min_value;
    if (!strcmp(key, "duplicates")) return st->duplicates;
    if (!strcmp(key, "blank_lines")) return st->blank_lines;
    if (!strcmp(key, "meta_lines")) return st->meta_lines;
    if (!strcmp(key, "meta_unknown_items")) return st->meta_unknown_items;
    if (!strcmp(key, "meta_duplicate_items")) return st->meta_duplicate_items;
    if (!strcmp(key, "items_without_meta")) return st->items_without_meta;
    if (!strcmp(key, "users")) return ds_n_users(ds);
    if (!strcmp(key, "items")) return ds_n_items(ds);
    if (!strcmp(key, "categories")) return ds_n_categories(ds);
    FAIL("unknown counter '%s'", key);
}

static void run_case(const char *dir, const char *name) {
    char cdir[1024], p[1200], log[1400] = "", items[1400] = "";
    path_of(cdir, sizeof(cdir), dir, name);
    /* Options: strings live in opt_store, which outlives the load. */
    static char opt_store[16][256];
    int n_opt = 0;
    ds_import_opts o;
    ds_import_opts_init(&o);
    char *text = read_text(path_of(p, sizeof(p), cdir, "opts"));
    for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (!eq || n_opt == 16) FAIL("%s: bad opts line '%s'", name, line);
        *eq = '\0';
        char *v = strcpy(opt_store[n_opt++], eq + 1);
        if (!strcmp(line, "format"))
            o.format = parse_format(v);
        else if (!strcmp(line, "items_format"))
            o.items_format = parse_format(v);
        else if (!strcmp(line, "user_col"))
            o.user_col = v;
        else if (!strcmp(line, "item_col"))
            o.item_col = v;
        else if (!strcmp(line, "time_col"))
            o.time_col = v;
        else if (!strcmp(line, "value_col"))
            o.value_col = v;
        else if (!strcmp(line, "min_value"))
            o.min_value = strtof(v, NULL);
        else if (!strcmp(line, "cat_sep"))
            o.cat_sep = v[0];
        else if (!strcmp(line, "log"))
            path_of(log, sizeof(log), cdir, v);
        else if (!strcmp(line, "items"))
            path_of(items, sizeof(items), cdir, v);
        else
            FAIL("%s: unknown option '%s'", name, line);
    }
    DIR *d = opendir(cdir);
    ASSERT(d != NULL);
    for (struct dirent *e; (e = readdir(d));) {
        if (!log[0] && !strncmp(e->d_name, "ratings", 7))
            path_of(log, sizeof(log), cdir, e->d_name);
        if (!items[0] && (!strncmp(e->d_name, "items", 5) || !strncmp(e->d_name, "movies", 6)))
            path_of(items, sizeof(items), cdir, e->d_name);
    }
    closedir(d);
    if (!log[0]) FAIL("%s: no ratings.* file and no log= option", name);

    char *expected = read_text(path_of(p, sizeof(p), cdir, "expected"));
    if (!expected) FAIL("%s: no expected file", name);
    expected[strcspn(expected, "\n")] = '\0';
    int want_stats = !strcmp(expected, "stats");
    ds_dataset *ds = NULL;
    mx_err err = {0};
    int rc = ds_load(&ds, log, items[0] ? items : NULL, &o, &err);
    if (!want_stats) {
        if (rc == 0) FAIL("%s: loaded, expected error '%s'", name, expected);
        ASSERT(ds == NULL);
        ASSERT_EQ(err.code, rc);
        ASSERT_EQ(rc, strstr(err.msg, ": cannot ") ? MX_EIO : MX_EFORMAT);
        if (!strstr(err.msg, expected))
            FAIL("%s: error \"%s\" does not contain \"%s\"", name, err.msg, expected);
        printf("ok - bad/%s: %s\n", name,
               strrchr(err.msg, '/') ? strrchr(err.msg, '/') + 1 : err.msg);
        return;
    }
    if (rc) FAIL("%s: %s", name, err.msg);
    text = read_text(path_of(p, sizeof(p), cdir, "expected"));
    strtok(text, "\n");
    for (char *line; (line = strtok(NULL, "\n"));) {
        char key[64];
        unsigned long long want;
        if (sscanf(line, "%63s %llu", key, &want) != 2) FAIL("%s: bad expected line", name);
        size_t got = stat_value(ds, key);
        if (got != want) FAIL("%s: %s is %zu, expected %llu", name, key, got, want);
    }
    ds_free(ds);
    printf("ok - bad/%s (warnings counted)\n", name);
}

static void test_bad_cases(void) {
    char dir[1024];
    path_of(dir, sizeof(dir), data_dir, "bad");
    DIR *d = opendir(dir);
    ASSERT(d != NULL);
    char *names[256];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && n < 256) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    ASSERT(n >= 30);
    for (size_t i = 0; i < n; i++) {
        run_case(dir, names[i]);
        free(names[i]);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s TESTS_DATA_DIR\n", argv[0]);
        return 2;
    }
    data_dir = argv[1];
    test_strmap();
    test_movietweetings_small();
    test_csv_small();
    test_tsv_small();
    test_programmatic();
    test_split_global();
    test_split_per_user();
    test_csr();
    test_fnv();
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_dataset.XXXXXX");
    ASSERT(mkdtemp(tmp_dir) != NULL);
    test_timestamps();
    test_jsonl();
    test_semicolon_types();
    test_headerless();
    test_refusals();
    DIR *d = opendir(tmp_dir); /* only files the tests wrote */
    ASSERT(d != NULL);
    for (struct dirent *e; (e = readdir(d));) {
        char p[512];
        if (e->d_name[0] != '.') unlink(path_of(p, sizeof(p), tmp_dir, e->d_name));
    }
    closedir(d);
    ASSERT_EQ(rmdir(tmp_dir), 0);
    test_bad_cases();
    test_synthetic();
    test_demo();
    return 0;
}

/* test_synth.c - the synthetic world keeps the promises of synth.h:
 * deterministic, within the requested bounds, planted interests separable,
 * and the written files / dataset agree with the world in memory. */
#include "synth.h"
#include "tap.h"
#include "vecio.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static void small_params(syn_params *p, uint64_t seed) {
    syn_params_init(p);
    p->n_items = 3000;
    p->n_users = 400;
    p->seed = seed;
}

static double cosine(const float *a, const float *b, size_t d) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t j = 0; j < d; j++) {
        ab += (double)a[j] * b[j];
        aa += (double)a[j] * a[j];
        bb += (double)b[j] * b[j];
    }
    return ab / sqrt(aa * bb);
}

/* Events field by field: ds_event has padding that malloc leaves as it is. */
static int same_events(const syn_world *a, const syn_world *b) {
    for (size_t e = 0; e < a->n_events; e++)
        if (a->events[e].user != b->events[e].user || a->events[e].item != b->events[e].item ||
            a->events[e].ts != b->events[e].ts || a->events[e].value != b->events[e].value)
            return 0;
    return 1;
}

static int same_world(const syn_world *a, const syn_world *b) {
    return a->n_events == b->n_events && a->n_items == b->n_items && a->dim == b->dim &&
           same_events(a, b) &&
           memcmp(a->item_vecs, b->item_vecs, a->n_items * a->dim * sizeof(float)) == 0 &&
           memcmp(a->centres, b->centres, a->n_interests * a->dim * sizeof(float)) == 0 &&
           memcmp(a->item_interest, b->item_interest, a->n_items * sizeof(uint32_t)) == 0 &&
           memcmp(a->user_weights, b->user_weights, a->n_users * a->n_interests * sizeof(float)) ==
               0;
}

static void test_determinism(void) {
    syn_params p;
    syn_world a, b, c;
    mx_err err = {0};
    small_params(&p, 7);
    ASSERT_EQ(syn_make(&p, &a, &err), 0);
    ASSERT_EQ(syn_make(&p, &b, &err), 0);
    ASSERT(same_world(&a, &b));
    syn_world_free(&b);

    p.seed = 8;
    ASSERT_EQ(syn_make(&p, &c, &err), 0);
    ASSERT(memcmp(a.item_vecs, c.item_vecs, 64 * sizeof(float)) != 0);
    ASSERT(memcmp(a.centres, c.centres, a.dim * sizeof(float)) != 0);
    size_t n = a.n_events < c.n_events ? a.n_events : c.n_events, differ = 0;
    for (size_t e = 0; e < n; e++)
        differ += a.events[e].item != c.events[e].item || a.events[e].ts != c.events[e].ts;
    ASSERT(differ > n / 2);
    syn_world_free(&c);

    /* Separate streams: the catalogue does not depend on the users, and the
     * first users do not depend on how many follow. */
    p.seed = 7;
    p.n_users = 100;
    ASSERT_EQ(syn_make(&p, &c, &err), 0);
    ASSERT(memcmp(a.item_vecs, c.item_vecs, a.n_items * a.dim * sizeof(float)) == 0);
    ASSERT(memcmp(a.user_weights, c.user_weights, 100 * a.n_interests * sizeof(float)) == 0);
    size_t k = 0;
    for (size_t e = 0; e < a.n_events; e++) {
        if (a.events[e].user >= 100) continue;
        ASSERT(k < c.n_events);
        ASSERT(memcmp(&a.events[e], &c.events[k], sizeof(ds_event)) == 0);
        k++;
    }
    ASSERT_EQ(k, c.n_events);
    syn_world_free(&c);
    syn_world_free(&a);
    syn_world_free(&a); /* zeroed: a second free is harmless */
    syn_world_free(NULL);
    TEST_OK("same seed, same world; other seed, other world; independent streams");
}

static void test_bounds(void) {
    syn_params p;
    syn_world w;
    mx_err err = {0};
    small_params(&p, 11);
    p.min_events = 3;
    p.max_events = 40;
    p.max_user_interests = 3;
    ASSERT_EQ(syn_make(&p, &w, &err), 0);
    ASSERT_EQ(w.n_users, p.n_users);
    ASSERT_EQ(w.n_items, p.n_items);
    ASSERT_EQ(w.n_interests, p.n_interests);
    ASSERT_EQ(w.dim, p.dim);

    size_t C = w.n_interests;
    size_t *sizes = calloc(C, sizeof(size_t));
    for (size_t i = 0; i < w.n_items; i++) {
        ASSERT(w.item_interest[i] < C);
        sizes[w.item_interest[i]]++;
    }
    size_t smin = SIZE_MAX, smax = 0;
    for (size_t c = 0; c < C; c++) {
        smin = sizes[c] < smin ? sizes[c] : smin;
        smax = sizes[c] > smax ? sizes[c] : smax;
    }
    ASSERT(smin >= 5);
    ASSERT(smax > 2 * smin); /* sizes vary */

    for (size_t u = 0; u < w.n_users; u++) {
        const float *row = w.user_weights + u * C;
        double sum = 0;
        size_t nz = 0;
        for (size_t c = 0; c < C; c++) {
            ASSERT(row[c] >= 0);
            sum += row[c];
            nz += row[c] > 0;
        }
        ASSERT_NEAR(sum, 1.0, 1e-5);
        ASSERT(nz >= 1 && nz <= p.max_user_interests);
    }

    size_t *count = calloc(w.n_users, sizeof(size_t));
    size_t *item_count = calloc(w.n_items, sizeof(size_t));
    int64_t *last_ts = calloc(w.n_users, sizeof(int64_t));
    uint8_t *seen = calloc(w.n_users * w.n_items, 1);
    for (size_t e = 0; e < w.n_events; e++) {
        const ds_event *ev = &w.events[e];
        ASSERT(ev->user < w.n_users && ev->item < w.n_items);
        ASSERT(ev->value == 1.0f);
        ASSERT(ev->ts >= p.t0 && ev->ts < p.t0 + SYN_SPAN_SECONDS);
        if (e > 0) { /* sorted by (ts, user, item) */
            const ds_event *pr = &w.events[e - 1];
            ASSERT(pr->ts < ev->ts || (pr->ts == ev->ts && pr->user <= ev->user));
        }
        ASSERT(ev->ts > last_ts[ev->user]); /* strictly increasing per user */
        last_ts[ev->user] = ev->ts;
        ASSERT(!seen[(size_t)ev->user * w.n_items + ev->item]); /* no duplicates */
        seen[(size_t)ev->user * w.n_items + ev->item] = 1;
        /* every event comes from one of the user's planted interests */
        ASSERT(w.user_weights[(size_t)ev->user * C + w.item_interest[ev->item]] > 0);
        count[ev->user]++;
        item_count[ev->item]++;
    }
    size_t lo = SIZE_MAX, hi = 0, at_max = 0;
    for (size_t u = 0; u < w.n_users; u++) {
        ASSERT(count[u] >= p.min_events && count[u] <= p.max_events);
        lo = count[u] < lo ? count[u] : lo;
        hi = count[u] > hi ? count[u] : hi;
        at_max += count[u] == p.max_events;
    }
    /* log-uniform: the whole range is used, and short histories dominate */
    ASSERT(lo <= p.min_events + 1 && hi >= p.max_events - 3);
    ASSERT(at_max < w.n_users / 4);
    size_t below_mid = 0;
    for (size_t u = 0; u < w.n_users; u++)
        below_mid += count[u] < (p.min_events + p.max_events) / 2;
    ASSERT(below_mid > w.n_users / 2);

    /* Zipf popularity: the top 10% of items take far more than 10%. */
    size_t *sorted = malloc(w.n_items * sizeof(size_t)), top = 0;
    memcpy(sorted, item_count, w.n_items * sizeof(size_t));
    for (size_t k = 0; k < w.n_items / 10; k++) { /* partial selection sort */
        size_t m = k;
        for (size_t i = k + 1; i < w.n_items; i++)
            if (sorted[i] > sorted[m]) m = i;
        size_t t = sorted[k];
        sorted[k] = sorted[m];
        sorted[m] = t;
        top += sorted[k];
    }
    ASSERT(top * 4 > w.n_events);

    free(sorted);
    free(seen);
    free(last_ts);
    free(item_count);
    free(count);
    free(sizes);
    syn_world_free(&w);
    TEST_OK("counts, weights, timestamps and duplicates within bounds");
}

static void test_separable(void) {
    syn_params p;
    syn_world w;
    mx_err err = {0};
    small_params(&p, 3);
    p.dim = 32;
    ASSERT_EQ(syn_make(&p, &w, &err), 0);
    size_t C = w.n_interests, d = w.dim, closest = 0;
    for (size_t c = 0; c < C; c++) {
        double nn = 0;
        for (size_t j = 0; j < d; j++)
            nn += (double)w.centres[c * d + j] * w.centres[c * d + j];
        ASSERT_NEAR(nn, 1.0, 1e-5);
    }
    double own_sum = 0;
    for (size_t i = 0; i < w.n_items; i++) {
        const float *v = w.item_vecs + i * d;
        uint32_t own = w.item_interest[i];
        double co = cosine(v, w.centres + own * d, d);
        int best = 1;
        for (size_t c = 0; c < C && best; c++)
            if (c != own && cosine(v, w.centres + c * d, d) >= co) best = 0;
        closest += best;
        own_sum += co;
    }
    ASSERT(closest * 100 >= w.n_items * 95);
    /* the documented default noise: mean cosine to the own centre ~0.8 */
    ASSERT_NEAR(own_sum / (double)w.n_items, 0.8, 0.03);
    syn_world_free(&w);

    /* noise 0: items are their centres */
    p.item_noise = 0;
    p.n_users = 10;
    ASSERT_EQ(syn_make(&p, &w, &err), 0);
    for (size_t i = 0; i < w.n_items; i++)
        ASSERT(memcmp(w.item_vecs + i * d, w.centres + w.item_interest[i] * d, d * sizeof(float)) ==
               0);
    syn_world_free(&w);
    TEST_OK("planted interests are separable in cosine");
}

static void test_invalid(void) {
    syn_params p;
    syn_world w;
    mx_err err = {0};
    syn_params_init(&p);
    p.n_items = 10;
    p.n_interests = 11;
    ASSERT_EQ(syn_make(&p, &w, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "n_items");
    ASSERT(w.events == NULL && w.n_events == 0);

    syn_params_init(&p);
    p.min_events = 0;
    ASSERT_EQ(syn_make(&p, &w, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "min_events");
    p.min_events = 10;
    p.max_events = 9;
    ASSERT_EQ(syn_make(&p, &w, NULL), MX_EINVAL);

    syn_params_init(&p);
    p.item_noise = NAN;
    ASSERT_EQ(syn_make(&p, &w, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "item_noise");
    syn_params_init(&p);
    p.dim = 0;
    ASSERT_EQ(syn_make(&p, &w, &err), MX_EINVAL);
    syn_params_init(&p);
    p.n_users = 0;
    ASSERT_EQ(syn_make(&p, &w, &err), MX_EINVAL);
    syn_params_init(&p);
    p.max_user_interests = 0;
    ASSERT_EQ(syn_make(&p, &w, &err), MX_EINVAL);
    ASSERT_EQ(syn_make(NULL, &w, &err), MX_EINVAL);

    /* tiny worlds: every interest one item; users capped at what exists */
    syn_params_init(&p);
    p.n_items = 4;
    p.n_interests = 4;
    p.n_users = 50;
    p.min_events = 1;
    p.max_events = 10;
    ASSERT_EQ(syn_make(&p, &w, &err), 0);
    for (size_t e = 0; e < w.n_events; e++)
        ASSERT(w.events[e].item < 4);
    ASSERT(w.n_events >= 50 && w.n_events <= 200);
    syn_world_free(&w);
    TEST_OK("bad parameters are rejected, degenerate worlds still work");
}

static size_t count_lines(const char *path, char *first, size_t cap, const char *want_line) {
    FILE *f = fopen(path, "r");
    ASSERT(f != NULL);
    char line[512];
    size_t n = 0;
    int found = want_line == NULL;
    while (fgets(line, sizeof(line), f)) {
        ASSERT(strchr(line, '\n') != NULL); /* every line complete */
        if (n == 0 && first) snprintf(first, cap, "%s", line);
        if (want_line && strcmp(line, want_line) == 0) found = 1;
        n++;
    }
    fclose(f);
    ASSERT(found);
    return n;
}

static void test_write(void) {
    syn_params p;
    syn_world w;
    mx_err err = {0};
    small_params(&p, 5);
    ASSERT_EQ(syn_make(&p, &w, &err), 0);

    char dir[128], path[256], first[512], want[256];
    snprintf(dir, sizeof(dir), "%s/world", tmpdir); /* syn_write creates it */
    if (syn_write(&w, dir, &err) != 0) FAIL("%s", err.msg);
    ASSERT_EQ(syn_write(&w, dir, &err), 0); /* existing dir: overwrite */

    snprintf(path, sizeof(path), "%s/interactions.csv", dir);
    const ds_event *e0 = &w.events[0];
    snprintf(want, sizeof(want), "u%u,i%u,%lld,1\n", e0->user, e0->item, (long long)e0->ts);
    ASSERT_EQ(count_lines(path, first, sizeof(first), want), w.n_events + 1);
    ASSERT_STR_EQ(first, "user,item,timestamp,weight\n");

    snprintf(path, sizeof(path), "%s/items.csv", dir);
    snprintf(want, sizeof(want), "i17,Item 17 (interest %u),interest-%u\n", w.item_interest[17],
             w.item_interest[17]);
    ASSERT_EQ(count_lines(path, first, sizeof(first), want), w.n_items + 1);
    ASSERT_STR_EQ(first, "item,title,categories\n");

    size_t nz = 0;
    for (size_t i = 0; i < w.n_users * w.n_interests; i++)
        nz += w.user_weights[i] > 0;
    snprintf(path, sizeof(path), "%s/truth.csv", dir);
    ASSERT_EQ(count_lines(path, first, sizeof(first), NULL), nz + 1);
    ASSERT_STR_EQ(first, "user,interest,weight\n");

    snprintf(path, sizeof(path), "%s/item_vectors.fvecs", dir);
    float *x = NULL;
    size_t rows = 0, dim = 0;
    if (vec_read(path, &x, &rows, &dim, &err) != 0) FAIL("%s", err.msg);
    ASSERT_EQ(rows, w.n_items);
    ASSERT_EQ(dim, w.dim);
    ASSERT(memcmp(x, w.item_vecs, rows * dim * sizeof(float)) == 0);
    free(x);

    snprintf(path, sizeof(path), "%s/item_vectors.ids", dir);
    char **ids = NULL;
    size_t n = 0;
    ASSERT_EQ(vec_read_ids(path, &ids, &n, &err), 0);
    ASSERT_EQ(n, w.n_items);
    ASSERT_STR_EQ(ids[0], "i0");
    ASSERT_STR_EQ(ids[n - 1], "i2999");
    vec_free_ids(ids, n);

    /* a file where the directory should be */
    snprintf(path, sizeof(path), "%s/interactions.csv", dir);
    ASSERT_EQ(syn_write(&w, path, &err), MX_EIO);
    ASSERT_CONTAINS(err.msg, "cannot create directory");

    const char *names[] = {"interactions.csv", "items.csv", "truth.csv", "item_vectors.fvecs",
                           "item_vectors.ids"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        ASSERT_EQ(unlink(path), 0);
    }
    ASSERT_EQ(rmdir(dir), 0);
    syn_world_free(&w);
    TEST_OK("syn_write files have the documented headers and sizes");
}

static void test_dataset(void) {
    syn_params p;
    syn_world w;
    mx_err err = {0};
    small_params(&p, 9);
    p.n_items = 20000; /* more items than events reach: some unused */
    ASSERT_EQ(syn_make(&p, &w, &err), 0);
    uint8_t *used = calloc(w.n_items, 1);
    size_t n_used = 0;
    for (size_t e = 0; e < w.n_events; e++) {
        n_used += !used[w.events[e].item];
        used[w.events[e].item] = 1;
    }
    ASSERT(n_used < w.n_items);

    ds_dataset *ds = NULL;
    if (syn_to_dataset(&w, &ds, &err) != 0) FAIL("%s", err.msg);
    ASSERT_EQ(ds_n_users(ds), w.n_users);
    ASSERT_EQ(ds_n_items(ds), n_used);
    size_t n = 0;
    const ds_event *ev = ds_events(ds, &n);
    ASSERT_EQ(n, w.n_events);
    ASSERT(ev != NULL);
    ASSERT_EQ(ds_n_categories(ds), w.n_interests);
    ASSERT(ds_has_metadata(ds));

    /* first event: same user, item and time under the string ids */
    const ds_event *e0 = &w.events[0];
    char id[32];
    snprintf(id, sizeof(id), "i%u", e0->item);
    int64_t item = ds_find_item(ds, id);
    ASSERT(item >= 0);
    ASSERT_STR_EQ(ds_item_id(ds, (uint32_t)item), id);
    snprintf(id, sizeof(id), "u%u", e0->user);
    int64_t user = ds_find_user(ds, id);
    ASSERT(user >= 0);
    ASSERT_EQ(ev[0].ts, e0->ts);
    ASSERT_EQ(ev[0].user, user);
    ASSERT_EQ(ev[0].item, item);

    char title[64], cat[32];
    snprintf(title, sizeof(title), "Item %u (interest %u)", e0->item, w.item_interest[e0->item]);
    ASSERT_STR_EQ(ds_item_title(ds, (uint32_t)item), title);
    size_t nc = 0;
    const uint16_t *cats = ds_item_categories(ds, (uint32_t)item, &nc);
    ASSERT_EQ(nc, 1);
    snprintf(cat, sizeof(cat), "interest-%u", w.item_interest[e0->item]);
    ASSERT_STR_EQ(ds_category_name(ds, cats[0]), cat);
    for (size_t i = 0; i < w.n_items; i++) {
        if (used[i]) continue;
        snprintf(id, sizeof(id), "i%zu", i);
        ASSERT_EQ(ds_find_item(ds, id), -1); /* metadata did not intern it */
        break;
    }
    ds_free(ds);
    free(used);
    syn_world_free(&w);
    TEST_OK("syn_to_dataset matches the world");
}

/* The options of the evaluation worlds: 2..4 interests with the first at
 * `dominant`; trending events on the week's set; defaults draw what they
 * drew before the options existed. */
static void test_world_options(void) {
    syn_params p;
    syn_world a, b;
    mx_err err = {0};
    small_params(&p, 9);
    ASSERT_EQ(syn_make(&p, &a, &err), 0);
    p.trend_items = 50; /* unused while trend_share is 0 */
    ASSERT_EQ(syn_make(&p, &b, &err), 0);
    ASSERT(same_world(&a, &b));
    syn_world_free(&b);
    TEST_OK("world options at their defaults: the same world as before");

    p.min_user_interests = 2;
    p.max_user_interests = 4;
    p.dominant = 0.6;
    ASSERT_EQ(syn_make(&p, &b, &err), 0);
    size_t C = b.n_interests;
    for (size_t u = 0; u < b.n_users; u++) {
        size_t k = 0;
        float top = 0, sum = 0;
        for (size_t c = 0; c < C; c++) {
            float w = b.user_weights[u * C + c];
            k += w > 0;
            sum += w;
            if (w > top) top = w;
        }
        if (k < 2 || k > 4) FAIL("user %zu has %zu interests", u, k);
        ASSERT(fabsf(sum - 1.0f) < 1e-4f);
        ASSERT(top >= 0.6f - 1e-5f); /* the dominant one holds 0.6 (another may not pass it) */
    }
    syn_world_free(&b);
    TEST_OK("min_user_interests 2, dominant 0.6: 2-4 interests, the first with 0.6");

    small_params(&p, 9);
    p.trend_share = 0.7;
    p.trend_items = 20;
    ASSERT_EQ(syn_make(&p, &b, &err), 0);
    /* each week's 20 most frequent items take most of its events */
    int64_t week = 7 * 86400;
    size_t weeks = (size_t)(SYN_SPAN_SECONDS / week) + 1, top_total = 0;
    uint32_t *cnt = calloc(b.n_items, sizeof(uint32_t));
    for (size_t wk = 0; wk < weeks; wk++) {
        memset(cnt, 0, b.n_items * sizeof(uint32_t));
        for (size_t e = 0; e < b.n_events; e++)
            if ((size_t)((b.events[e].ts - p.t0) / week) == wk) cnt[b.events[e].item]++;
        for (int t = 0; t < 20; t++) { /* the 20 largest counts, by selection */
            size_t best = 0;
            for (size_t i = 1; i < b.n_items; i++)
                if (cnt[i] > cnt[best]) best = i;
            top_total += cnt[best];
            cnt[best] = 0;
        }
    }
    free(cnt);
    double share = (double)top_total / (double)b.n_events;
    if (share < 0.5) FAIL("the weekly top 20 hold only %.2f of the events", share);
    printf("ok - trend_share 0.7: each week's top 20 items hold %.2f of the events\n", share);
    syn_world_free(&b);
    syn_world_free(&a);

    small_params(&p, 9);
    p.min_user_interests = 5;
    ASSERT_EQ(syn_make(&p, &b, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "min_user_interests");
    small_params(&p, 9);
    p.dominant = 1;
    ASSERT_EQ(syn_make(&p, &b, &err), MX_EINVAL);
    small_params(&p, 9);
    p.trend_share = 0.5;
    p.trend_items = 0;
    ASSERT_EQ(syn_make(&p, &b, &err), MX_EINVAL);
    TEST_OK("world options out of range are refused");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv; /* worlds are generated; no data files needed */
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_synth.XXXXXX");
    ASSERT(mkdtemp(tmpdir) != NULL);
    test_determinism();
    test_bounds();
    test_separable();
    test_invalid();
    test_write();
    test_dataset();
    test_world_options();
    ASSERT_EQ(rmdir(tmpdir), 0);
    return 0;
}

/* dataset_split.c - temporal splits and compressed rows of the dataset
 * module (declared in dataset.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "dataset_internal.h"

/* ================================================================== */
/* Temporal splits                                                    */
/* ================================================================== */

/* Events of test_frac of n, rounded up; the epsilon keeps 0.1 * 30 at 3. */
static size_t ds__n_test(double test_frac, size_t n) {
    double x = ceil(test_frac * (double)n - 1e-9);
    return x < 1 ? 1 : x > (double)n ? n : (size_t)x;
}

static int ds__split_args(const ds_event *ev, size_t n, double test_frac, ds_split *out,
                          const char *fn, mx_err *err) {
    if (out) memset(out, 0, sizeof(*out));
    if (!out || (!ev && n)) return mx_err_set(err, MX_EINVAL, "%s: NULL argument", fn);
    if (!n) return mx_err_set(err, MX_EINVAL, "%s: no events to split", fn);
    if (!(test_frac > 0 && test_frac < 1))
        return mx_err_set(err, MX_EINVAL, "%s: test_frac %g not in (0, 1)", fn, test_frac);
    return 0;
}

static ds_event *ds__copy_sorted(const ds_event *ev, size_t n,
                                 int (*cmp)(const void *, const void *)) {
    ds_event *all = malloc(n * sizeof(*all));
    if (!all) return NULL;
    memcpy(all, ev, n * sizeof(*all));
    ds__sort(all, n, cmp);
    return all;
}

static size_t ds__count_users(const ds_event *ev, size_t n) {
    size_t users = 0, prev = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        users += ev[i].user != prev;
        prev = ev[i].user;
    }
    return users;
}

int ds_split_global(const ds_event *ev, size_t n, double test_frac, size_t min_train, ds_split *out,
                    mx_err *err) {
    int rc = ds__split_args(ev, n, test_frac, out, "ds_split_global", err);
    if (rc < 0) return rc;
    uint32_t max_user = 0;
    for (size_t i = 0; i < n; i++)
        if (ev[i].user > max_user) max_user = ev[i].user;
    ds_event *all = ds__copy_sorted(ev, n, ds__cmp_time), *test = NULL;
    size_t *n_before = calloc((size_t)max_user + 1, sizeof(*n_before));
    if (!all || !n_before) goto oom;
    int64_t cut = all[n - ds__n_test(test_frac, n)].ts;
    size_t n_train = 0, n_test = 0;
    while (n_train < n && all[n_train].ts < cut)
        n_before[all[n_train++].user]++;
    test = malloc((n - n_train) * sizeof(*test) + 1);
    if (!test) goto oom;
    for (size_t i = n_train; i < n; i++)
        if (n_before[all[i].user] >= min_train) test[n_test++] = all[i];
    ds__sort(test, n_test, ds__cmp_user);
    if (n_train && n_train < n) {
        ds_event *shrunk = realloc(all, n_train * sizeof(*all));
        if (shrunk) all = shrunk;
    }
    *out = (ds_split){all, n_train, test, n_test, ds__count_users(test, n_test), cut};
    free(n_before);
    return 0;
oom:
    free(all);
    free(test);
    free(n_before);
    return mx_err_set(err, MX_ENOMEM, "ds_split_global: out of memory");
}

int ds_split_per_user(const ds_event *ev, size_t n, double test_frac, size_t min_train,
                      ds_split *out, mx_err *err) {
    int rc = ds__split_args(ev, n, test_frac, out, "ds_split_per_user", err);
    if (rc < 0) return rc;
    ds_event *all = ds__copy_sorted(ev, n, ds__cmp_user), *train = NULL, *test = NULL;
    if (!all) goto oom;
    train = malloc(n * sizeof(*train));
    test = malloc(n * sizeof(*test));
    if (!train || !test) goto oom;
    size_t n_train = 0, n_test = 0, users = 0;
    for (size_t s = 0, e; s < n; s = e) {
        for (e = s + 1; e < n && all[e].user == all[s].user; e++) {
        }
        size_t m = e - s, k = 0;
        if (m > min_train) {
            k = ds__n_test(test_frac, m);
            if (k > m - min_train) k = m - min_train; /* keep min_train in train */
            users++;
        }
        memcpy(train + n_train, all + s, (m - k) * sizeof(*all));
        memcpy(test + n_test, all + e - k, k * sizeof(*all));
        n_train += m - k;
        n_test += k;
    }
    free(all);
    ds__sort(train, n_train, ds__cmp_time);
    *out = (ds_split){train, n_train, test, n_test, users, 0};
    return 0;
oom:
    free(all);
    free(train);
    free(test);
    return mx_err_set(err, MX_ENOMEM, "ds_split_per_user: out of memory");
}

void ds_split_free(ds_split *s) {
    if (!s) return;
    free(s->train);
    free(s->test);
    s->train = s->test = NULL;
    s->n_train = s->n_test = s->n_test_users = 0;
}

/* ================================================================== */
/* Compressed rows                                                    */
/* ================================================================== */

typedef struct ds_entry {
    int64_t ts;
    uint32_t col;
    float value;
} ds_entry;

static int ds__cmp_entry(const void *a, const void *b) {
    const ds_entry *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value);
}

int ds_csr_build(ds_csr *out, const ds_event *ev, size_t n, uint32_t n_rows, int by_item,
                 mx_err *err) {
    if (!out || (!ev && n)) return mx_err_set(err, MX_EINVAL, "ds_csr_build: NULL argument");
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        uint32_t r = by_item ? ev[i].item : ev[i].user;
        if (r >= n_rows)
            return mx_err_set(err, MX_EINVAL, "ds_csr_build: event %zu has row %u >= n_rows %u", i,
                              r, n_rows);
    }
    ds_entry *tmp = malloc(n * sizeof(*tmp) + 1);
    uint64_t *next = malloc((size_t)n_rows * sizeof(*next) + 1);
    out->n_rows = n_rows;
    out->ptr = calloc((size_t)n_rows + 1, sizeof(*out->ptr));
    out->col = malloc(n * sizeof(*out->col) + 1);
    out->value = malloc(n * sizeof(*out->value) + 1);
    out->ts = malloc(n * sizeof(*out->ts) + 1);
    if (!tmp || !next || !out->ptr || !out->col || !out->value || !out->ts) {
        free(tmp);
        free(next);
        ds_csr_free(out);
        return mx_err_set(err, MX_ENOMEM, "ds_csr_build: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        out->ptr[(by_item ? ev[i].item : ev[i].user) + 1]++;
    for (uint32_t r = 0; r < n_rows; r++)
        out->ptr[r + 1] += out->ptr[r];
    memcpy(next, out->ptr, (size_t)n_rows * sizeof(*next));
    for (size_t i = 0; i < n; i++) {
        const ds_event *e = &ev[i];
        tmp[next[by_item ? e->item : e->user]++] =
            (ds_entry){e->ts, by_item ? e->user : e->item, e->value};
    }
    for (uint32_t r = 0; r < n_rows; r++) {
        ds_entry *row = tmp + out->ptr[r];
        size_t m = (size_t)(out->ptr[r + 1] - out->ptr[r]), i = 1;
        while (i < m && ds__cmp_entry(&row[i - 1], &row[i]) <= 0)
            i++; /* sorted input */
        if (i < m) qsort(row, m, sizeof(*row), ds__cmp_entry);
    }
    for (size_t i = 0; i < n; i++) {
        out->col[i] = tmp[i].col;
        out->value[i] = tmp[i].value;
        out->ts[i] = tmp[i].ts;
    }
    free(tmp);
    free(next);
    return 0;
}

void ds_csr_free(ds_csr *c) {
    if (!c) return;
    free(c->ptr);
    free(c->col);
    free(c->value);
    free(c->ts);
    memset(c, 0, sizeof(*c));
}

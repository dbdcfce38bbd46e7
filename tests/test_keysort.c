/* test_keysort.c - keysort against qsort: the key of keysort_desc orders
 * floats descending (negatives, zeros of both signs, infinities; NaN
 * last) with the tie-break ascending, and keysort_sort sorts arrays of
 * every small size, with many equal keys and already-sorted runs. */
#include "keysort.h"
#include "rng.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    float v;
    uint32_t tie;
} pair;

/* The order keysort_desc promises, as a comparator. */
static int by_desc(const void *a, const void *b) {
    const pair *x = a, *y = b;
    int xn = x->v != x->v, yn = y->v != y->v;
    if (xn != yn) return xn - yn; /* NaN last */
    if (!xn && x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->tie < y->tie ? -1 : x->tie > y->tie;
}

static void test_key_order(void) {
    const float vals[] = {INFINITY, 3.5f, 1.0f, 1e-30f, 0.0f, -1e-30f, -2.0f, -INFINITY, NAN};
    size_t n = sizeof(vals) / sizeof(vals[0]);
    for (size_t i = 0; i + 1 < n; i++)
        ASSERT(keysort_desc(vals[i], 7) < keysort_desc(vals[i + 1], 0));
    ASSERT_EQ(keysort_desc(-0.0f, 3), keysort_desc(0.0f, 3));
    ASSERT(keysort_desc(2.0f, 1) < keysort_desc(2.0f, 2));
    TEST_OK("keysort_desc: floats descending (infinities, both zeros equal, NaN last), ties "
            "ascending");
}

static void test_sort_sizes(void) {
    rng_state st;
    rng_seed(&st, 3);
    static pair p[1200];
    static keysort_entry e[1200];
    for (size_t n = 0; n <= 1200; n += (n < 40 ? 1 : 97)) {
        for (int kind = 0; kind < 6; kind++) {
            for (size_t i = 0; i < n; i++) {
                float v = kind == 0   ? (float)rng_normal(&st)
                          : kind == 1 ? (float)(rng_next(&st) % 5) /* many equal scores */
                          : kind == 2 ? (float)i       /* ascending: worst for naive pivots */
                          : kind == 3 ? (float)(n - i) /* already in order */
                          : kind == 4 ? 0.5f + (float)rng_uniform(&st) * 1e-3f /* narrow */
                                      : 0.25f; /* one score: the ties decide */
                p[i] = (pair){v, (uint32_t)(rng_next(&st) % 1000000)};
                /* unique: a total order; for the last two, small ties like
                 * the callers' (an index), against the input's order */
                p[i].tie = kind == 4   ? (uint32_t)(n - 1 - i)
                           : kind == 5 ? (uint32_t)(i % 2 ? i - 1 : i + 1)
                                       : (uint32_t)(p[i].tie * 1201 + i);
                e[i] = (keysort_entry){keysort_desc(p[i].v, p[i].tie), (uint32_t)i};
            }
            keysort_sort(e, n);
            pair *want = malloc((n ? n : 1) * sizeof(pair));
            ASSERT(want);
            for (size_t i = 0; i < n; i++)
                want[i] = p[i];
            qsort(want, n, sizeof(pair), by_desc);
            for (size_t i = 0; i < n; i++) {
                ASSERT_EQ(p[e[i].idx].tie, want[i].tie);
                if (i) ASSERT(e[i - 1].key < e[i].key);
            }
            free(want);
        }
    }
    TEST_OK("keysort_sort equals qsort on 0..1200 entries: random, many ties, ascending, sorted, "
            "a narrow range, one score");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_key_order();
    test_sort_sizes();
    return 0;
}

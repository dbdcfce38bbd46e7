/* test_interleave.c - team-draft interleaving (service/core/serve/
 * interleave.h): no item twice, each team's picks in its own order, the
 * teams level within one at every prefix, a shared item credited once,
 * the coin deciding who leads, and short lists. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "interleave.h"
#include "tap.h"

static void fill(rec_item *x, const uint32_t *ids, size_t n) {
    memset(x, 0, n * sizeof(*x));
    for (size_t i = 0; i < n; i++)
        x[i].item = ids[i];
}

static void test_properties(void) {
    const uint32_t ia[] = {1, 2, 3, 4, 5, 6, 7, 8}, ib[] = {3, 9, 1, 10, 11, 2, 12, 13};
    rec_item a[8], b[8], out[10];
    uint8_t team[10];
    fill(a, ia, 8);
    fill(b, ib, 8);
    int led_by[2] = {0, 0};
    for (uint64_t coins = 0; coins < 256; coins++) {
        size_t n = interleave_team_draft(a, 8, b, 8, 10, coins * 0x9e3779b97f4a7c15u, out, team);
        ASSERT_EQ(n, 10);
        led_by[team[0]]++;
        size_t picks[2] = {0, 0}, last_rank[2] = {0, 0};
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < i; j++)
                ASSERT(out[i].item != out[j].item);
            picks[team[i]]++;
            size_t diff = picks[0] > picks[1] ? picks[0] - picks[1] : picks[1] - picks[0];
            ASSERT(diff <= 1);
            /* a team's pick is its best item not yet placed: ranks increase */
            const rec_item *own = team[i] ? b : a;
            size_t r = 0;
            while (own[r].item != out[i].item)
                r++;
            ASSERT(r + 1 > last_rank[team[i]] || i == 0 || last_rank[team[i]] == 0);
            last_rank[team[i]] = r + 1;
            for (size_t s = 0; s < r; s++) { /* everything it ranked higher is already out */
                int placed = 0;
                for (size_t j = 0; j < i; j++)
                    placed |= out[j].item == own[s].item;
                ASSERT(placed);
            }
        }
    }
    printf("# first pick by a: %d, by b: %d of 256\n", led_by[0], led_by[1]);
    ASSERT(led_by[0] > 80 && led_by[1] > 80);
    TEST_OK("no repeats, own order, teams level within one, the coin decides who leads");
}

static void test_edges(void) {
    const uint32_t ia[] = {1, 2}, ib[] = {1, 2, 3, 4, 5};
    rec_item a[2], b[5], out[10];
    uint8_t team[10];
    fill(a, ia, 2);
    fill(b, ib, 5);
    size_t n = interleave_team_draft(a, 2, b, 5, 10, 0, out, team);
    ASSERT_EQ(n, 5); /* every distinct item, then stop */
    n = interleave_team_draft(a, 2, b, 5, 3, 0, out, team);
    ASSERT_EQ(n, 3);
    n = interleave_team_draft(a, 0, b, 0, 10, 0, out, team);
    ASSERT_EQ(n, 0);
    n = interleave_team_draft(a, 2, a, 2, 10, 0, out, team); /* identical lists */
    ASSERT_EQ(n, 2);
    ASSERT(team[0] != team[1]);
    TEST_OK("short and empty lists, k below both, identical rankings split between teams");
}

int main(void) {
    test_properties();
    test_edges();
    return 0;
}

/* test_rid.c - recommendation ids (service/server/rid.h): route and order
 * round trip, uniqueness within and across generators, URL-safe text, and
 * rid_parse refusing what this service did not make (length, characters,
 * version and codes, a broken check). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "rid.h"
#include "tap.h"

static int cmp_id(const void *a, const void *b) {
    return memcmp(a, b, RID_LEN);
}

static void test_round_trip(void) {
    rid_gen *g = rid_gen_new();
    ASSERT(g != NULL);
    for (int route = 0; route < RID_N_ROUTES; route++)
        for (int order = 0; order < RID_N_ORDERS; order++)
            for (int i = 0; i < 100; i++) {
                char id[RID_LEN + 1];
                ASSERT_EQ(rid_make(g, route, order, id), 0);
                ASSERT_EQ(strlen(id), RID_LEN);
                ASSERT_EQ(strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_"),
                          RID_LEN);
                int r = -1, o = -1;
                ASSERT_EQ(rid_parse(id, &r, &o), 0);
                ASSERT_EQ(r, route);
                ASSERT_EQ(o, order);
                ASSERT_EQ(rid_parse(id, NULL, NULL), 0);
                unsigned tag = 1, want = (unsigned)(i * 659) & 0xffff;
                ASSERT_EQ(rid_parse_tagged(id, NULL, NULL, &tag), 0);
                ASSERT_EQ(tag, 0);
                ASSERT_EQ(rid_make_tagged(g, route, order, want, id), 0);
                ASSERT_EQ(rid_parse_tagged(id, &r, &o, &tag), 0);
                ASSERT(r == route && o == order && tag == want);
            }
    char id[RID_LEN + 1] = "x";
    ASSERT_EQ(rid_make(g, RID_N_ROUTES, 0, id), -1);
    ASSERT_STR_EQ(id, "");
    ASSERT_EQ(rid_make(g, 0, RID_N_ORDERS, id), -1);
    ASSERT_EQ(rid_make(g, -1, 0, id), -1);
    ASSERT_EQ(rid_make_tagged(g, 0, 0, 0x10000, id), -1);
    for (int route = 0; route < RID_N_ROUTES; route++)
        ASSERT_EQ(rid_route_of(rid_route_name(route)), route);
    ASSERT_STR_EQ(rid_route_name(RID_ROUTE_ITEM_SIMILAR), "item_similar");
    ASSERT_STR_EQ(rid_order_name(RID_ORDER_RANKER), "ranker");
    ASSERT_EQ(rid_route_of("events"), -1);
    ASSERT(rid_route_name(RID_N_ROUTES) == NULL && rid_order_name(2) == NULL);
    rid_gen_free(g);
    rid_gen_free(NULL);
    TEST_OK("route, order and tag round trip for every code; 24 base64url characters; bad codes "
            "refused by rid_make");
}

static void test_unique(void) {
    enum { N = 100000 };
    char(*ids)[RID_LEN] = malloc((size_t)N * 2 * RID_LEN);
    ASSERT(ids != NULL);
    rid_gen *a = rid_gen_new(), *b = rid_gen_new();
    ASSERT(a && b);
    char id[RID_LEN + 1];
    for (int i = 0; i < N; i++) { /* one generator, the same route and order */
        ASSERT_EQ(rid_make(a, RID_ROUTE_RECOMMENDATIONS, RID_ORDER_RANKER, id), 0);
        memcpy(ids[i], id, RID_LEN);
    }
    for (int i = 0; i < N; i++) { /* a second generator (another worker) */
        ASSERT_EQ(rid_make(b, RID_ROUTE_RECOMMENDATIONS, RID_ORDER_RANKER, id), 0);
        memcpy(ids[N + i], id, RID_LEN);
    }
    qsort(ids, (size_t)N * 2, RID_LEN, cmp_id);
    for (int i = 1; i < 2 * N; i++)
        if (!memcmp(ids[i - 1], ids[i], RID_LEN)) FAIL("duplicate id %.24s", ids[i]);
    free(ids);
    rid_gen_free(a);
    rid_gen_free(b);
    TEST_OK("100k ids of one generator and 100k of another are all distinct");
}

/* Encodes 16 bytes with a correct check, as rid.c does, to test the codes. */
static void encode(uint8_t b[18], char out[RID_LEN + 1]) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t h = hash_fnv1a(HASH_FNV_BASIS, b, 16);
    unsigned chk = (unsigned)((h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) & 0xffff);
    b[16] = (uint8_t)(chk >> 8);
    b[17] = (uint8_t)chk;
    for (int i = 0, o = 0; i < 18; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    out[RID_LEN] = 0;
}

static void test_rejects(void) {
    rid_gen *g = rid_gen_new();
    char id[RID_LEN + 1], bad[64];
    ASSERT_EQ(rid_make(g, RID_ROUTE_ITEM_SIMILAR, RID_ORDER_RETRIEVAL, id), 0);
    int route = 9, order = 9;
    ASSERT_EQ(rid_parse(NULL, &route, &order), -1);
    ASSERT_EQ(rid_parse("", &route, &order), -1);
    ASSERT(route == 9 && order == 9); /* untouched on refusal */
    snprintf(bad, sizeof(bad), "%.23s", id);
    ASSERT_EQ(rid_parse(bad, NULL, NULL), -1);
    snprintf(bad, sizeof(bad), "%sA", id);
    ASSERT_EQ(rid_parse(bad, NULL, NULL), -1);
    const char *not_b64 = "+/= .\xc3\xa9*";
    for (int pos = 0; pos < RID_LEN; pos += 5)
        for (const char *c = not_b64; *c; c++) {
            strcpy(bad, id);
            bad[pos] = *c;
            ASSERT_EQ(rid_parse(bad, NULL, NULL), -1);
        }
    /* the last two characters hold only the check: any change is refused */
    for (int pos = RID_LEN - 2; pos < RID_LEN; pos++)
        for (char c = 'A'; c <= 'Z'; c++) {
            strcpy(bad, id);
            if (bad[pos] == c) continue;
            bad[pos] = c;
            ASSERT_EQ(rid_parse(bad, NULL, NULL), -1);
        }
    /* any other change: the 16-bit check refuses all but ~1 in 65536 */
    int accepted = 0, tried = 0;
    for (int n = 0; n < 200; n++) {
        ASSERT_EQ(rid_make(g, n % RID_N_ROUTES, n % RID_N_ORDERS, id), 0);
        for (int pos = 0; pos < RID_LEN - 2; pos++) {
            strcpy(bad, id);
            bad[pos] = bad[pos] == 'x' ? 'y' : 'x';
            tried++;
            accepted += rid_parse(bad, NULL, NULL) == 0;
        }
    }
    ASSERT(accepted <= 3);
    /* a correct check with an unknown version, route or order code */
    uint8_t b[18] = {0};
    for (int i = 1; i < 16; i++)
        b[i] = (uint8_t)(i * 37);
    b[0] = 1u << 6 | RID_ROUTE_USER_RECOMMENDATIONS << 2 | RID_ORDER_RANKER;
    encode(b, id);
    ASSERT_EQ(rid_parse(id, &route, &order), 0); /* the encoder is right */
    ASSERT(route == RID_ROUTE_USER_RECOMMENDATIONS && order == RID_ORDER_RANKER);
    unsigned tag = 9;
    ASSERT_EQ(rid_parse_tagged(id, NULL, NULL, &tag), 0); /* version 1: no tag */
    ASSERT_EQ(tag, 0);
    b[0] = 2u << 6 | RID_ROUTE_ITEM_SIMILAR << 2 | RID_ORDER_RETRIEVAL;
    b[7] = 0x12, b[8] = 0x34;
    encode(b, id);
    ASSERT_EQ(rid_parse_tagged(id, &route, &order, &tag), 0); /* version 2 */
    ASSERT(route == RID_ROUTE_ITEM_SIMILAR && order == RID_ORDER_RETRIEVAL && tag == 0x1234);
    const uint8_t codes[] = {0u << 6 | 0 << 2 | 0,  2u << 6 | 15 << 2 | 0,
                             3u << 6 | 1 << 2 | 1,  1u << 6 | RID_N_ROUTES << 2 | 0,
                             1u << 6 | 15 << 2 | 1, 1u << 6 | 0 << 2 | 2,
                             1u << 6 | 1 << 2 | 3};
    for (size_t i = 0; i < sizeof(codes); i++) {
        b[0] = codes[i];
        encode(b, id);
        if (rid_parse(id, NULL, NULL) != -1) FAIL("code byte 0x%02x accepted", codes[i]);
    }
    rid_gen_free(g);
    printf("# %d of %d ids with one character changed passed the check\n", accepted, tried);
    TEST_OK("refused: NULL, empty, 23 and 25 characters, non-base64url characters, a changed "
            "check, unknown version/route/order codes; changed ids fail the check");
}

int main(void) {
    test_round_trip();
    test_unique();
    test_rejects();
    return 0;
}

/* test_strmap.c - the string -> uint32 map of strmap.h: put/get,
 * insert-if-absent, keys with embedded NULs and unterminated slices,
 * stored key copies that keep their address while the table grows to
 * 100k keys, oversized keys, and FNV-1a 64 against the published vectors. */
#include "hash.h"
#include "strmap.h"
#include "mx_err.h"
#include "tap.h"

#include <stdint.h>

static void test_fnv1a(void) {
    ASSERT(hash_fnv1a(HASH_FNV_BASIS, "", 0) == UINT64_C(0xcbf29ce484222325));
    ASSERT(HASH_FNV_BASIS == UINT64_C(0xcbf29ce484222325));
    ASSERT(hash_fnv1a(HASH_FNV_BASIS, "a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
    ASSERT(hash_fnv1a(HASH_FNV_BASIS, "foobar", 6) == UINT64_C(0x85944171f73967e8));
    /* more vectors from the FNV reference test suite */
    ASSERT(hash_fnv1a(HASH_FNV_BASIS, "b", 1) == UINT64_C(0xaf63df4c8601f1a5));
    ASSERT(hash_fnv1a(HASH_FNV_BASIS, "foo", 3) == UINT64_C(0xdcb27518fed9d577));
    /* bytes >= 0x80 are not sign-extended: FNV-1a of the single byte 0xff */
    ASSERT(hash_fnv1a(HASH_FNV_BASIS, "\xff", 1) ==
           ((UINT64_C(0xcbf29ce484222325) ^ 0xff) * UINT64_C(1099511628211)));
    /* continuing from a previous hash equals hashing the concatenation */
    uint64_t h = hash_fnv1a(HASH_FNV_BASIS, "foo", 3);
    ASSERT(hash_fnv1a(h, "bar", 3) == UINT64_C(0x85944171f73967e8));
    ASSERT(hash_fnv1a(h, "", 0) == h);
    TEST_OK("smap_fnv1a: FNV-1a 64 test vectors, chaining, high bytes");
}

static void test_put_get(void) {
    smap *m = smap_new(0);
    ASSERT(m != NULL);
    ASSERT_EQ(smap_size(m), 0);
    uint32_t v = 777;
    ASSERT_EQ(smap_get(m, "x", 1, &v), MX_ENOTFOUND);
    ASSERT_EQ(v, 777); /* untouched when absent */

    uint32_t cur = 0;
    const char *stored = NULL;
    ASSERT_EQ(smap_put(m, "alpha", 5, 10, &cur, &stored), 1);
    ASSERT_EQ(cur, 10);
    ASSERT_STR_EQ(stored, "alpha");
    ASSERT_EQ(smap_put(m, "beta", 4, 20, NULL, NULL), 1);
    ASSERT_EQ(smap_size(m), 2);

    /* insert-if-absent: an existing key keeps its value */
    const char *stored2 = NULL;
    cur = 0;
    ASSERT_EQ(smap_put(m, "alpha", 5, 99, &cur, &stored2), 0);
    ASSERT_EQ(cur, 10);
    ASSERT(stored2 == stored); /* the same copy, not a new one */
    ASSERT_EQ(smap_size(m), 2);
    ASSERT_EQ(smap_get(m, "alpha", 5, &v), 0);
    ASSERT_EQ(v, 10);
    ASSERT_EQ(smap_get(m, "beta", 4, &v), 0);
    ASSERT_EQ(v, 20);
    ASSERT_EQ(smap_get(m, "beta", 4, NULL), 0);

    /* prefixes and extensions are different keys */
    ASSERT_EQ(smap_get(m, "alph", 4, &v), MX_ENOTFOUND);
    ASSERT_EQ(smap_get(m, "alphaa", 6, &v), MX_ENOTFOUND);
    ASSERT_EQ(smap_get(m, "", 0, &v), MX_ENOTFOUND);
    /* the empty key is a key like any other */
    ASSERT_EQ(smap_put(m, "", 0, 5, &cur, &stored), 1);
    ASSERT_STR_EQ(stored, "");
    ASSERT_EQ(smap_get(m, "", 0, &v), 0);
    ASSERT_EQ(v, 5);
    ASSERT_EQ(smap_size(m), 3);
    /* values are full 32-bit */
    ASSERT_EQ(smap_put(m, "max", 3, UINT32_MAX, NULL, NULL), 1);
    ASSERT_EQ(smap_get(m, "max", 3, &v), 0);
    ASSERT(v == UINT32_MAX);
    smap_free(m);
    smap_free(NULL);
    TEST_OK("put/get; put on a present key returns 0 and keeps the value");
}

static void test_slices_and_bytes(void) {
    smap *m = smap_new(4);
    char buf[] = "user-1,user-22,user-1";
    uint32_t v, cur;
    const char *stored;
    /* unterminated slices of a bigger buffer */
    ASSERT_EQ(smap_put(m, buf, 6, 1, &cur, &stored), 1);
    ASSERT(stored != buf);
    ASSERT_EQ(strlen(stored), 6);
    ASSERT_STR_EQ(stored, "user-1");
    const char *first = stored;
    ASSERT_EQ(smap_put(m, buf + 7, 7, 2, &cur, &stored), 1);
    ASSERT_STR_EQ(stored, "user-22");
    ASSERT_EQ(smap_put(m, buf + 15, 6, 3, &cur, &stored), 0); /* "user-1" again */
    ASSERT_EQ(cur, 1);
    ASSERT(stored == first);
    /* the map has its own copy: overwriting the buffer changes nothing */
    memset(buf, 'z', sizeof(buf) - 1);
    ASSERT_STR_EQ(first, "user-1");
    ASSERT_EQ(smap_get(m, "user-1", 6, &v), 0);
    ASSERT_EQ(v, 1);
    ASSERT_EQ(smap_get(m, "user-22", 7, &v), 0);
    ASSERT_EQ(v, 2);
    ASSERT_EQ(smap_get(m, "zzzzzz", 6, &v), MX_ENOTFOUND);

    /* embedded NULs: compared by length and bytes, not as C strings */
    ASSERT_EQ(smap_put(m, "a\0b", 3, 10, NULL, &stored), 1);
    ASSERT(memcmp(stored, "a\0b", 4) == 0); /* copied whole, then terminated */
    ASSERT_EQ(smap_put(m, "a\0c", 3, 11, NULL, NULL), 1);
    ASSERT_EQ(smap_put(m, "a", 1, 12, NULL, NULL), 1);
    ASSERT_EQ(smap_put(m, "a\0", 2, 13, NULL, NULL), 1);
    ASSERT_EQ(smap_put(m, "\0\0\0", 3, 14, NULL, NULL), 1);
    ASSERT_EQ(smap_put(m, "\xff\x80\x01", 3, 15, NULL, NULL), 1);
    ASSERT_EQ(smap_size(m), 8);
    const char *keys[] = {"a\0b", "a\0c", "a", "a\0", "\0\0\0", "\xff\x80\x01"};
    const size_t lens[] = {3, 3, 1, 2, 3, 3};
    for (size_t k = 0; k < 6; k++) {
        ASSERT_EQ(smap_get(m, keys[k], lens[k], &v), 0);
        ASSERT_EQ(v, 10 + k);
    }
    ASSERT_EQ(smap_get(m, "\0\0", 2, &v), MX_ENOTFOUND);
    ASSERT_EQ(smap_get(m, "a\0d", 3, &v), MX_ENOTFOUND);

    /* keys bigger than an arena chunk get their own and still work */
    size_t big = 200000;
    char *k1 = malloc(big), *k2 = malloc(big);
    ASSERT(k1 && k2);
    memset(k1, 'q', big);
    memcpy(k2, k1, big);
    k2[big - 1] = 'r'; /* differs only in the last byte */
    ASSERT_EQ(smap_put(m, k1, big, 100, NULL, &stored), 1);
    ASSERT_EQ(strlen(stored), big);
    ASSERT_EQ(smap_put(m, k2, big, 101, NULL, NULL), 1);
    ASSERT_EQ(smap_get(m, k1, big, &v), 0);
    ASSERT_EQ(v, 100);
    ASSERT_EQ(smap_get(m, k2, big, &v), 0);
    ASSERT_EQ(v, 101);
    ASSERT_EQ(smap_get(m, k1, big - 1, &v), MX_ENOTFOUND);
    free(k1);
    free(k2);

    /* a key of 4 GiB is refused before it is read; the map is unchanged */
    size_t n0 = smap_size(m);
    ASSERT_EQ(smap_put(m, "x", (size_t)UINT32_MAX + 1, 1, NULL, NULL), MX_EINVAL);
    ASSERT_EQ(smap_size(m), n0);
    ASSERT_EQ(smap_get(m, "x", (size_t)UINT32_MAX + 1, &v), MX_ENOTFOUND);
    smap_free(m);
    TEST_OK("unterminated slices and keys with embedded bytes; the map keeps copies");
    TEST_OK("keys bigger than an arena chunk; 4 GiB keys refused");
}

/* 100k keys: sizes, values, and every stored copy keeps its address and
 * content while the table grows many times. */
static void test_growth(void) {
    enum { N = 100000 };
    smap *m = smap_new(0);
    const char **where = malloc(N * sizeof(char *));
    ASSERT(m && where);
    char key[32];
    for (uint32_t i = 0; i < N; i++) {
        int len = snprintf(key, sizeof(key), "item-%u", i * 7919u);
        uint32_t cur = 0;
        ASSERT_EQ(smap_put(m, key, (size_t)len, i, &cur, &where[i]), 1);
        ASSERT_EQ(cur, i);
        ASSERT_EQ(smap_size(m), i + 1);
        if (i % 997 == 0) { /* a re-put in the middle of the growth */
            ASSERT_EQ(smap_put(m, key, (size_t)len, 0, &cur, NULL), 0);
            ASSERT_EQ(cur, i);
        }
    }
    for (uint32_t i = 0; i < N; i++) {
        int len = snprintf(key, sizeof(key), "item-%u", i * 7919u);
        ASSERT_STR_EQ(where[i], key); /* the copy still holds its key */
        uint32_t v = UINT32_MAX;
        const char *stored = NULL;
        ASSERT_EQ(smap_get(m, key, (size_t)len, &v), 0);
        ASSERT_EQ(v, i);
        ASSERT_EQ(smap_put(m, key, (size_t)len, 0, &v, &stored), 0);
        ASSERT_EQ(v, i);
        if (stored != where[i]) FAIL("key %u moved: %p then %p", i, (void *)where[i], stored);
    }
    ASSERT_EQ(smap_size(m), N);
    /* keys that were never put */
    for (uint32_t i = 0; i < 1000; i++) {
        int len = snprintf(key, sizeof(key), "item-%u", i * 7919u + 1);
        ASSERT_EQ(smap_get(m, key, (size_t)len, NULL), MX_ENOTFOUND);
    }
    free(where);
    smap_free(m);

    /* sized up front: same answers */
    m = smap_new(N);
    ASSERT(m != NULL);
    for (uint32_t i = 0; i < N; i += 3) {
        int len = snprintf(key, sizeof(key), "%u", i);
        ASSERT_EQ(smap_put(m, key, (size_t)len, i, NULL, NULL), 1);
    }
    ASSERT_EQ(smap_size(m), (N + 2) / 3);
    for (uint32_t i = 0; i < N; i++) {
        int len = snprintf(key, sizeof(key), "%u", i);
        uint32_t v = 0;
        int rc = smap_get(m, key, (size_t)len, &v);
        if (i % 3 == 0) {
            ASSERT_EQ(rc, 0);
            ASSERT_EQ(v, i);
        } else {
            ASSERT_EQ(rc, MX_ENOTFOUND);
        }
    }
    smap_free(m);
    TEST_OK("100k keys: size, values, stored copies keep their address across growth");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_fnv1a();
    test_put_get();
    test_slices_and_bytes();
    test_growth();
    return 0;
}

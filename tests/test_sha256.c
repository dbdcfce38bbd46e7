/* test_sha256.c - SHA-256 against FIPS 180-4's examples, HMAC-SHA256
 * against RFC 4231's test cases 1, 2 and 6 (a key longer than a block). */
#include "tap.h"

#include "sha256.h"

static void hex(const uint8_t *d, char *out) {
    for (int i = 0; i < SHA256_BYTES; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect_sha(const char *msg, size_t len, const char *want) {
    uint8_t d[SHA256_BYTES];
    char h[2 * SHA256_BYTES + 1];
    sha256(msg, len, d);
    hex(d, h);
    ASSERT_STR_EQ(h, want);
}

int main(void) {
    expect_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect_sha(two, strlen(two),
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* a million 'a' fed in uneven pieces: the block buffering */
    sha256_ctx c;
    sha256_init(&c);
    char a[997];
    memset(a, 'a', sizeof(a));
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof(a) ? left : sizeof(a);
        sha256_update(&c, a, n);
        left -= n;
    }
    uint8_t d[SHA256_BYTES];
    char h[2 * SHA256_BYTES + 1];
    sha256_final(&c, d);
    hex(d, h);
    ASSERT_STR_EQ(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    TEST_OK("SHA-256: FIPS 180-4 examples, a million 'a' in pieces");

    uint8_t key1[20];
    memset(key1, 0x0b, sizeof(key1));
    sha256_hmac(key1, 20, "Hi There", 8, d);
    hex(d, h);
    ASSERT_STR_EQ(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    sha256_hmac("Jefe", 4, "what do ya want for nothing?", 28, d);
    hex(d, h);
    ASSERT_STR_EQ(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    uint8_t key6[131];
    memset(key6, 0xaa, sizeof(key6));
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    sha256_hmac(key6, sizeof(key6), m6, strlen(m6), d);
    hex(d, h);
    ASSERT_STR_EQ(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    TEST_OK("HMAC-SHA256: RFC 4231 cases 1, 2 and 6");
    return 0;
}

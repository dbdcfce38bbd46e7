/* rid.c - see rid.h. Layout of the 18 bytes before base64url:
 *   [0]      version (2 bits, 2) << 6 | route (4 bits) << 2 | order (2 bits)
 *   [1..6]   the generator's random prefix
 *   [7..8]   the experiment tag, big-endian (0: none)
 *   [9..15]  mix56(counter), big-endian; the counter starts at a random value
 *   [16..17] check: FNV-1a 64 of bytes 0..15, folded to 16 bits
 * Version 1 (still parsed, tag 0) had 8 prefix bytes in [1..8]. */
#include "rid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "hash.h"

#define RID_BYTES 18
#define RID_VERSION 2u
#define RID_VERSION_UNTAGGED 1u
#define MASK56 ((UINT64_C(1) << 56) - 1)

static const char *const route_names[RID_N_ROUTES] = {"user_recommendations", "recommendations",
                                                      "recommendations_get", "item_similar"};
static const char *const order_names[RID_N_ORDERS] = {"retrieval", "ranker"};
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct rid_gen {
    uint8_t prefix[8];
    uint64_t counter; /* 56 bits used */
};

const char *rid_route_name(int route) {
    return route >= 0 && route < RID_N_ROUTES ? route_names[route] : NULL;
}

int rid_route_of(const char *name) {
    for (int i = 0; name && i < RID_N_ROUTES; i++)
        if (strcmp(name, route_names[i]) == 0) return i;
    return -1;
}

const char *rid_order_name(int order) {
    return order >= 0 && order < RID_N_ORDERS ? order_names[order] : NULL;
}

/* n random bytes from the kernel: 0, or -1. */
static int random_bytes(void *dst, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((char *)dst + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got == n) return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC); /* a kernel without getrandom */
    if (fd < 0) return -1;
    ssize_t r = read(fd, dst, n);
    close(fd);
    return r == (ssize_t)n ? 0 : -1;
}

rid_gen *rid_gen_new(void) {
    rid_gen *g = malloc(sizeof(*g));
    uint8_t seed[15];
    if (!g || random_bytes(seed, sizeof(seed))) {
        free(g);
        return NULL;
    }
    memcpy(g->prefix, seed, 8);
    g->counter = 0;
    for (int i = 8; i < 15; i++)
        g->counter = (g->counter << 8) | seed[i];
    return g;
}

void rid_gen_free(rid_gen *g) {
    free(g);
}

/* A bijection of 56-bit values (xorshifts and odd multipliers modulo
 * 2^56), so distinct counters give distinct ids. */
static uint64_t mix56(uint64_t x) {
    x &= MASK56;
    x ^= x >> 29;
    x = (x * UINT64_C(0xbf58476d1ce4e5b9)) & MASK56;
    x ^= x >> 27;
    x = (x * UINT64_C(0x94d049bb133111eb)) & MASK56;
    x ^= x >> 31;
    return x;
}

static unsigned check16(const uint8_t *b) {
    uint64_t h = hash_fnv1a(HASH_FNV_BASIS, b, 16);
    return (unsigned)((h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) & 0xffff);
}

int rid_make(rid_gen *g, int route, int order, char out[RID_LEN + 1]) {
    return rid_make_tagged(g, route, order, 0, out);
}

int rid_make_tagged(rid_gen *g, int route, int order, unsigned tag, char out[RID_LEN + 1]) {
    out[0] = 0;
    if (!rid_route_name(route) || !rid_order_name(order) || tag > 0xffff) return -1;
    uint8_t b[RID_BYTES];
    b[0] = (uint8_t)(RID_VERSION << 6 | (unsigned)route << 2 | (unsigned)order);
    memcpy(b + 1, g->prefix, 6);
    b[7] = (uint8_t)(tag >> 8);
    b[8] = (uint8_t)tag;
    uint64_t c = mix56(g->counter);
    g->counter = (g->counter + 1) & MASK56;
    for (int i = 0; i < 7; i++)
        b[9 + i] = (uint8_t)(c >> (8 * (6 - i)));
    unsigned chk = check16(b);
    b[16] = (uint8_t)(chk >> 8);
    b[17] = (uint8_t)chk;
    for (int i = 0, o = 0; i < RID_BYTES; i += 3) { /* 3 bytes -> 4 characters */
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    out[RID_LEN] = 0;
    return 0;
}

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int rid_parse(const char *id, int *route, int *order) {
    return rid_parse_tagged(id, route, order, NULL);
}

int rid_parse_tagged(const char *id, int *route, int *order, unsigned *tag) {
    if (!id || strnlen(id, RID_LEN + 1) != RID_LEN) return -1;
    uint8_t b[RID_BYTES];
    for (int i = 0, o = 0; i < RID_LEN; i += 4) {
        uint32_t v = 0;
        for (int j = 0; j < 4; j++) {
            int x = b64_value(id[i + j]);
            if (x < 0) return -1;
            v = v << 6 | (uint32_t)x;
        }
        b[o++] = (uint8_t)(v >> 16);
        b[o++] = (uint8_t)(v >> 8);
        b[o++] = (uint8_t)v;
    }
    int rt = (b[0] >> 2) & 15, od = b[0] & 3;
    unsigned version = b[0] >> 6;
    if ((version != RID_VERSION && version != RID_VERSION_UNTAGGED) || rt >= RID_N_ROUTES ||
        od >= RID_N_ORDERS)
        return -1;
    if (check16(b) != ((unsigned)b[16] << 8 | b[17])) return -1;
    if (route) *route = rt;
    if (order) *order = od;
    if (tag) *tag = version == RID_VERSION ? (unsigned)b[7] << 8 | b[8] : 0;
    return 0;
}

/* sha256.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104): the
 * signature of the short-lived event tokens a web page posts events with
 * (server/api/api_tokens.c). Small and dependency-free; checked against
 * the FIPS and RFC 4231 test vectors (tests/test_sha256.c).
 * Stateless apart from the caller's context; thread-safe. */
#ifndef SHA256_SHA256_H
#define SHA256_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    uint8_t block[64];
    size_t used; /* bytes waiting in block */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[SHA256_BYTES]);
/* The digest of one buffer. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_BYTES]);
/* HMAC-SHA256 of msg under key (any length). */
void sha256_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
                 uint8_t out[SHA256_BYTES]);

#endif

/* test_hugemem.c - hugemem's blocks: aligned to 2 MB from 2 MB up (where
 * the kernel can back them with huge pages), to a cache line below; the
 * calloc form zeroed (also over memory a previous block dirtied) and NULL
 * on an overflowing size; every block writable end to end and freed with
 * free(). */
#include "hugemem.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_alignment(void) {
    const size_t sizes[] = {0, 1, 63, 64, 4096, (2u << 20) - 1, 2u << 20, (5u << 20) + 7};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *p = hugemem_alloc(sizes[i]);
        ASSERT(p != NULL);
        uintptr_t align = sizes[i] >= (2u << 20) ? (2u << 20) : 64;
        ASSERT_EQ((uintptr_t)p % align, 0);
        if (sizes[i]) {
            memset(p, 0xA5, sizes[i]);
            ASSERT_EQ(p[sizes[i] - 1], 0xA5);
        }
        free(p);
    }
    TEST_OK("hugemem_alloc: 2 MB-aligned from 2 MB, 64-byte aligned below, writable end to end");
}

static void test_calloc(void) {
    const size_t counts[] = {1, 1000, (3u << 20) / 8};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
            uint64_t *p = hugemem_calloc(counts[i], sizeof(uint64_t));
            ASSERT(p != NULL);
            for (size_t j = 0; j < counts[i]; j++)
                ASSERT_EQ(p[j], 0);
            memset(p, 0xFF, counts[i] * sizeof(uint64_t)); /* dirty it for the next round */
            free(p);
        }
    }
    ASSERT(hugemem_calloc(SIZE_MAX / 4, 8) == NULL);
    TEST_OK("hugemem_calloc: zeroed at every size (after dirty blocks too), NULL on overflow");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_alignment();
    test_calloc();
    return 0;
}

/* strmap.c - see strmap.h. Keys live in a chunked arena (chunks are never
 * moved, so returned key pointers stay put while the table grows); a slot
 * holds the key pointer, its length, the value and the full hash, which
 * short-cuts comparisons and lets the table grow without hashing again. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "mx_err.h"

#define SMAP_CHUNK 65536 /* bytes per arena chunk (bigger keys get their own) */

typedef struct smap_slot {
    const char *key; /* NULL = empty */
    uint64_t hash;
    uint32_t len;
    uint32_t val;
} smap_slot;

typedef struct smap_chunk {
    struct smap_chunk *next;
    size_t used, cap;
    char data[];
} smap_chunk;

struct smap {
    smap_slot *slots;
    size_t cap; /* power of two */
    size_t size;
    smap_chunk *chunks; /* newest first */
};

smap *smap_new(size_t expected) {
    smap *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->cap = 16;
    while (m->cap < expected * 2)
        m->cap *= 2; /* keep the load at most 1/2 */
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void smap_free(smap *m) {
    if (!m) return;
    smap_chunk *c = m->chunks;
    while (c) {
        smap_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(m->slots);
    free(m);
}

size_t smap_size(const smap *m) {
    return m->size;
}

/* Slot of key, or the empty slot where it would go. */
static smap_slot *smap__find(smap_slot *slots, size_t cap, const char *key, size_t len,
                             uint64_t h) {
    size_t mask = cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        smap_slot *s = &slots[i];
        if (!s->key) return s;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) return s;
    }
}

static int smap__grow(smap *m) {
    size_t cap = m->cap * 2;
    smap_slot *slots = calloc(cap, sizeof(*slots));
    if (!slots) return MX_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        smap_slot *s = &m->slots[i];
        if (s->key) *smap__find(slots, cap, s->key, s->len, s->hash) = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static char *smap__copy(smap *m, const char *key, size_t len) {
    smap_chunk *c = m->chunks;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > SMAP_CHUNK ? len + 1 : SMAP_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (!c) return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = m->chunks;
        m->chunks = c;
    }
    char *dst = c->data + c->used;
    memcpy(dst, key, len);
    dst[len] = '\0';
    c->used += len + 1;
    return dst;
}

int smap_put(smap *m, const char *key, size_t len, uint32_t val, uint32_t *cur,
             const char **stored) {
    if (len > UINT32_MAX) return MX_EINVAL;
    uint64_t h = hash_fnv1a(HASH_FNV_BASIS, key, len);
    smap_slot *s = smap__find(m->slots, m->cap, key, len, h);
    int inserted = 0;
    if (!s->key) {
        if ((m->size + 1) * 2 > m->cap) {
            if (smap__grow(m) < 0) return MX_ENOMEM;
            s = smap__find(m->slots, m->cap, key, len, h);
        }
        const char *copy = smap__copy(m, key, len);
        if (!copy) return MX_ENOMEM;
        s->key = copy;
        s->hash = h;
        s->len = (uint32_t)len;
        s->val = val;
        m->size++;
        inserted = 1;
    }
    if (cur) *cur = s->val;
    if (stored) *stored = s->key;
    return inserted;
}

int smap_get(const smap *m, const char *key, size_t len, uint32_t *val) {
    if (len > UINT32_MAX) return MX_ENOTFOUND;
    uint64_t h = hash_fnv1a(HASH_FNV_BASIS, key, len);
    const smap_slot *s = smap__find(m->slots, m->cap, key, len, h);
    if (!s->key) return MX_ENOTFOUND;
    if (val) *val = s->val;
    return 0;
}

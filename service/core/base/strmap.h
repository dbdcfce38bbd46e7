/* strmap.h - string -> uint32 hash map, used to intern string ids.
 *
 * Open addressing with linear probing over a power-of-two table, FNV-1a
 * hashes. The map keeps its own NUL-terminated copy of every key in an
 * arena, so keys may be borrowed, unterminated slices of a bigger buffer
 * and the stored copies stay valid (same address) until smap_free. Keys
 * are never removed. Not thread-safe for writers; concurrent smap_get calls
 * on a map nobody writes are fine. */
#ifndef SMAP_STRMAP_H
#define SMAP_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct smap smap;

/* expected: number of keys to size the table for (0 is fine). Returns NULL
 * on OOM. The caller owns the map (smap_free). */
smap *smap_new(size_t expected);
void smap_free(smap *m); /* NULL is a no-op */

/* Inserts key (len bytes, need not be NUL-terminated) -> val if the key is
 * absent and returns 1; if it is present, leaves its value alone and
 * returns 0. Either way *cur (if not NULL) receives the value now mapped
 * and *stored (if not NULL) the map's own NUL-terminated copy of the key,
 * borrowed until smap_free. Returns MX_ENOMEM when growing fails and
 * MX_EINVAL for a key of 4 GiB or more (the map is unchanged then). This insert-if-absent form is
 * what interning needs: smap_put(m, k, n, next_id, &id, &name) == 1 means "new id". */
int smap_put(smap *m, const char *key, size_t len, uint32_t val, uint32_t *cur,
             const char **stored);

/* 0 and *val (if not NULL) when key is present, MX_ENOTFOUND otherwise. */
int smap_get(const smap *m, const char *key, size_t len, uint32_t *val);

size_t smap_size(const smap *m);

#endif

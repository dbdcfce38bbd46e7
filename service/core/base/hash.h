/* hash.h - FNV-1a 64, the one checksum of mixrec: string map keys
 * (strmap.c), data file checksums recorded in the model (dataset.c) and
 * the model's per-file checksums (model_save.c, model_load.c).
 * Stateless and thread-safe. */
#ifndef HASH_HASH_H
#define HASH_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "mx_err.h"

#define HASH_FNV_BASIS UINT64_C(14695981039346656037)

/* FNV-1a 64 over len bytes, continuing from h (start with HASH_FNV_BASIS). */
uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len);

/* FNV-1a 64 of a whole file's bytes into *out and its size into *size
 * (either may be NULL). Errors: MX_EIO naming path. */
int hash_file(const char *path, uint64_t *out, uint64_t *size, mx_err *err);

#endif

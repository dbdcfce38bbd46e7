/* hash.c - FNV-1a 64 of bytes and of files. See hash.h. */
#include "hash.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

int hash_file(const char *path, uint64_t *out, uint64_t *size, mx_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return mx_err_set(err, MX_EIO, "%s: cannot open: %s", path, strerror(errno));
    uint64_t h = HASH_FNV_BASIS, total = 0;
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        h = hash_fnv1a(h, buf, got);
        total += got;
    }
    int rc = ferror(f) ? mx_err_set(err, MX_EIO, "%s: cannot read: %s", path, strerror(errno)) : 0;
    fclose(f);
    if (rc == 0 && out) *out = h;
    if (rc == 0 && size) *size = total;
    return rc;
}

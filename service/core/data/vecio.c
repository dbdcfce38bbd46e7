/* vecio.c - float32 matrices in .fvecs/.npy files and id lists; see vecio.h.
 *
 * Readers trust nothing in the file: every size is checked against the file
 * length before anything is allocated, so a corrupt header cannot make us
 * allocate or read beyond what is there. Both formats are little-endian on
 * disk and we copy bytes straight into floats, hence the byte-order check. */
#include "vecio.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "npy.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vecio.c reads little-endian files by memcpy; add byte swapping for this host"
#endif

#define VEC_IOBUF (1u << 20)
/* NumPy itself refuses headers above 10000 bytes by default; we allow more
 * but keep a bound so a corrupt length cannot make us allocate gigabytes. */
#define VEC_NPY_MAX_HEADER (1u << 20)

typedef enum { VEC_FVECS, VEC_NPY, VEC_UNKNOWN } vec_kind;

static vec_kind kind_of(const char *path) {
    size_t n = strlen(path);
    if (n >= 6 && strcasecmp(path + n - 6, ".fvecs") == 0) return VEC_FVECS;
    if (n >= 4 && strcasecmp(path + n - 4, ".npy") == 0) return VEC_NPY;
    return VEC_UNKNOWN;
}

static int mul_overflows(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 1;
    *out = a * b;
    return 0;
}

/* Opens path for reading with a large buffer and returns its size; only
 * regular files, because the size is what we validate headers against. */
static int open_read(const char *path, FILE **fp, size_t *size, mx_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return mx_err_set(err, MX_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return mx_err_set(err, MX_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return mx_err_set(err, MX_EIO, "%s: not a regular file", path);
    }
    setvbuf(f, NULL, _IOFBF, VEC_IOBUF);
    *fp = f;
    *size = (size_t)st.st_size;
    return 0;
}

/* Short reads after the size check mean the file changed under us (or a
 * device error); either way the data we got is not trustworthy. */
#define NO_ROW SIZE_MAX
static int read_exact(FILE *f, void *buf, size_t n, const char *path, const char *what, size_t row,
                      mx_err *err) {
    if (fread(buf, 1, n, f) == n) return 0;
    char where[64];
    if (row == NO_ROW)
        snprintf(where, sizeof(where), "%s", what);
    else
        snprintf(where, sizeof(where), "%s %zu", what, row);
    if (ferror(f)) return mx_err_set(err, MX_EIO, "%s: read error in %s", path, where);
    return mx_err_set(err, MX_EFORMAT, "%s: unexpected end of file in %s", path, where);
}

static int check_finite(const float *row, size_t dim, size_t r, const char *path, mx_err *err) {
    for (size_t c = 0; c < dim; c++)
        if (!isfinite(row[c]))
            return mx_err_set(err, MX_EFORMAT, "%s: row %zu, column %zu is %s", path, r, c,
                              isnan(row[c]) ? "NaN" : "infinite");
    return 0;
}

/* ---- .fvecs ---------------------------------------------------------- */

static int read_fvecs(const char *path, float **out, size_t *rows, size_t *dim, mx_err *err) {
    FILE *f = NULL;
    float *x = NULL;
    size_t size;
    int rc = open_read(path, &f, &size, err);
    if (rc) return rc;

    int32_t d0;
    if (size == 0) {
        rc = mx_err_set(err, MX_EFORMAT, "%s: empty file (no vectors)", path);
        goto fail;
    }
    if (size < sizeof(d0)) {
        rc = mx_err_set(err, MX_EFORMAT, "%s: truncated: %zu bytes", path, size);
        goto fail;
    }
    if ((rc = read_exact(f, &d0, sizeof(d0), path, "row", 0, err))) goto fail;
    if (d0 <= 0) {
        rc = mx_err_set(err, MX_EFORMAT, "%s: row 0 has dimension %d (is this an .fvecs file?)",
                        path, (int)d0);
        goto fail;
    }
    size_t d = (size_t)d0, row_bytes = sizeof(int32_t) + d * sizeof(float);
    size_t n = size / row_bytes;
    if (n == 0) {
        rc = mx_err_set(err, MX_EFORMAT,
                        "%s: truncated: %zu bytes, but one row of dimension %zu needs %zu", path,
                        size, d, row_bytes);
        goto fail;
    }
    x = malloc(n * d * sizeof(float));
    if (!x) {
        rc = mx_err_set(err, MX_ENOMEM, "%s: cannot allocate %zu x %zu floats", path, n, d);
        goto fail;
    }
    for (size_t r = 0; r < n; r++) {
        if (r > 0) {
            int32_t dr;
            if ((rc = read_exact(f, &dr, sizeof(dr), path, "row", r, err))) goto fail;
            if (dr != d0) {
                rc = mx_err_set(err, MX_EFORMAT,
                                "%s: row %zu has dimension %d, but row 0 has %d (inconsistent "
                                "dimensions)",
                                path, r, (int)dr, (int)d0);
                goto fail;
            }
        }
        float *row = x + r * d;
        if ((rc = read_exact(f, row, d * sizeof(float), path, "row", r, err))) goto fail;
        if ((rc = check_finite(row, d, r, path, err))) goto fail;
    }
    /* Checked after the rows so that a row with a different dimension is
     * reported as such rather than as a length mismatch. */
    if (size % row_bytes != 0) {
        rc = mx_err_set(err, MX_EFORMAT,
                        "%s: truncated: %zu stray bytes after %zu rows of dimension %zu", path,
                        size % row_bytes, n, d);
        goto fail;
    }
    fclose(f);
    *out = x;
    *rows = n;
    *dim = d;
    return 0;
fail:
    free(x);
    fclose(f);
    return rc;
}

/* ---- .npy ------------------------------------------------------------ */

/* The magic and version, then the header's length: *hoff is where the
 * header starts. */
static int npy_preamble(FILE *f, const char *path, size_t size, size_t *hlen, size_t *hoff,
                        mx_err *err) {
    unsigned char pre[12];
    int rc;
    if (size < 10)
        return mx_err_set(err, MX_EFORMAT, "%s: too short for a .npy file (%zu bytes)", path, size);
    if ((rc = read_exact(f, pre, 8, path, "the .npy preamble", NO_ROW, err))) return rc;
    if (memcmp(pre, "\x93NUMPY", 6) != 0)
        return mx_err_set(err, MX_EFORMAT, "%s: not a .npy file (bad magic)", path);
    unsigned major = pre[6], minor = pre[7];
    if (major == 1) {
        if ((rc = read_exact(f, pre + 8, 2, path, "the .npy preamble", NO_ROW, err))) return rc;
        *hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
        *hoff = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return mx_err_set(err, MX_EFORMAT, "%s: truncated .npy preamble", path);
        if ((rc = read_exact(f, pre + 8, 4, path, "the .npy preamble", NO_ROW, err))) return rc;
        *hlen =
            (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        *hoff = 12;
    } else {
        return mx_err_set(err, MX_EFORMAT, "%s: unsupported .npy format version %u.%u", path, major,
                          minor);
    }
    if (*hlen > VEC_NPY_MAX_HEADER)
        return mx_err_set(err, MX_EFORMAT, "%s: .npy header length %zu is implausibly large", path,
                          *hlen);
    if (*hlen > size - *hoff)
        return mx_err_set(err, MX_EFORMAT, "%s: truncated: .npy header of %zu bytes, file has %zu",
                          path, *hlen, size);
    return 0;
}

/* The header dictionary, checked: a 2-D, C-order, little-endian float
 * matrix whose data fills the rest of the file exactly. *item: 4 or 8
 * bytes per value; *need: data bytes. */
static int npy_header_read(FILE *f, const char *path, size_t size, size_t hlen, size_t hoff,
                           size_t *n_out, size_t *d_out, size_t *item_out, size_t *need_out,
                           mx_err *err) {
    char *htext = malloc(hlen + 1);
    if (!htext) return mx_err_set(err, MX_ENOMEM, "%s: cannot allocate the .npy header", path);
    npy_header h;
    int rc = read_exact(f, htext, hlen, path, "the .npy header", NO_ROW, err);
    if (!rc) {
        htext[hlen] = '\0';
        rc = npy_parse_header(htext, hlen, path, &h, err);
    }
    free(htext);
    if (rc) return rc;
    size_t item;
    if (strcmp(h.descr, "<f4") == 0)
        item = 4;
    else if (strcmp(h.descr, "<f8") == 0)
        item = 8;
    else
        return mx_err_set(err, MX_EFORMAT,
                          "%s: dtype '%s' not supported (need little-endian float: '<f4' or "
                          "'<f8'; convert with .astype('<f4'))",
                          path, h.descr);
    if (h.fortran)
        return mx_err_set(err, MX_EFORMAT,
                          "%s: Fortran-order array not supported (save "
                          "np.ascontiguousarray(x) instead)",
                          path);
    char shp[96];
    npy_shape_str(&h, shp, sizeof(shp));
    if (h.ndim != 2)
        return mx_err_set(err, MX_EFORMAT, "%s: array is %zu-D with shape %s; need 2-D (rows, dim)",
                          path, h.ndim, shp);
    if (h.shape[0] == 0 || h.shape[1] == 0)
        return mx_err_set(err, MX_EFORMAT, "%s: empty matrix with shape %s", path, shp);
    size_t n = (size_t)h.shape[0], d = (size_t)h.shape[1], count, need;
    if ((uint64_t)n != h.shape[0] || (uint64_t)d != h.shape[1] || mul_overflows(n, d, &count) ||
        mul_overflows(count, item, &need))
        return mx_err_set(err, MX_EFORMAT, "%s: shape %s is too large", path, shp);
    size_t have = size - hoff - hlen;
    if (have < need)
        return mx_err_set(err, MX_EFORMAT,
                          "%s: truncated: shape %s of %s needs %zu data bytes, file has %zu", path,
                          shp, h.descr, need, have);
    if (have > need)
        return mx_err_set(err, MX_EFORMAT, "%s: %zu unexpected bytes after the %s data of shape %s",
                          path, have - need, h.descr, shp);
    *n_out = n;
    *d_out = d;
    *item_out = item;
    *need_out = need;
    return 0;
}

/* count float64 values into x as float32, each finite and in range. */
static int npy_read_f8(FILE *f, const char *path, float *x, size_t count, size_t d, mx_err *err) {
    enum { CHUNK = 1 << 16 };
    double *chunk = malloc(CHUNK * sizeof(double));
    if (!chunk) return mx_err_set(err, MX_ENOMEM, "%s: cannot allocate a read buffer", path);
    int rc = 0;
    for (size_t i = 0; i < count && !rc;) {
        size_t m = count - i < CHUNK ? count - i : CHUNK;
        if ((rc = read_exact(f, chunk, m * sizeof(double), path, "the data", NO_ROW, err))) break;
        for (size_t k = 0; k < m; k++, i++) {
            double v = chunk[k];
            if (!isfinite(v)) {
                rc = mx_err_set(err, MX_EFORMAT, "%s: row %zu, column %zu is %s", path, i / d,
                                i % d, isnan(v) ? "NaN" : "infinite");
                break;
            }
            if (fabs(v) > FLT_MAX) {
                rc = mx_err_set(err, MX_EFORMAT,
                                "%s: row %zu, column %zu (%g) is out of float32 range", path, i / d,
                                i % d, v);
                break;
            }
            x[i] = (float)v;
        }
    }
    free(chunk);
    return rc;
}

static int read_npy(const char *path, float **out, size_t *rows, size_t *dim, mx_err *err) {
    FILE *f = NULL;
    float *x = NULL;
    size_t size, hlen = 0, hoff = 0, n = 0, d = 0, item = 0, need = 0;
    int rc = open_read(path, &f, &size, err);
    if (rc) return rc;
    if ((rc = npy_preamble(f, path, size, &hlen, &hoff, err)) ||
        (rc = npy_header_read(f, path, size, hlen, hoff, &n, &d, &item, &need, err)))
        goto done;
    size_t count = n * d;
    x = malloc(count * sizeof(float));
    if (!x) {
        rc = mx_err_set(err, MX_ENOMEM, "%s: cannot allocate %zu x %zu floats", path, n, d);
        goto done;
    }
    if (item == 4) {
        if ((rc = read_exact(f, x, need, path, "the data", NO_ROW, err))) goto done;
        for (size_t r = 0; r < n; r++)
            if ((rc = check_finite(x + r * d, d, r, path, err))) goto done;
    } else if ((rc = npy_read_f8(f, path, x, count, d, err))) {
        goto done;
    }
    *out = x;
    *rows = n;
    *dim = d;
    x = NULL;
done:
    free(x);
    fclose(f);
    return rc;
}

int vec_read(const char *path, float **out, size_t *rows, size_t *dim, mx_err *err) {
    if (!path || !out || !rows || !dim)
        return mx_err_set(err, MX_EINVAL, "vec_read: NULL argument");
    switch (kind_of(path)) {
    case VEC_FVECS:
        return read_fvecs(path, out, rows, dim, err);
    case VEC_NPY:
        return read_npy(path, out, rows, dim, err);
    default:
        return mx_err_set(err, MX_EINVAL,
                          "%s: unknown vector file extension (expected .fvecs or .npy)", path);
    }
}

/* ---- writing --------------------------------------------------------- */

static int write_npy_header(FILE *f, size_t rows, size_t dim) {
    char dict[160];
    int len =
        snprintf(dict, sizeof(dict),
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, dim);
    /* Pad with spaces and a final newline so the data starts at a multiple
     * of 64 bytes (what NumPy writes, and what lets readers mmap aligned). */
    size_t total = 10 + (size_t)len + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    char hdr[256];
    memcpy(hdr, dict, (size_t)len);
    memset(hdr + len, ' ', hlen - (size_t)len - 1);
    hdr[hlen - 1] = '\n';
    return fwrite(pre, 1, sizeof(pre), f) == sizeof(pre) && fwrite(hdr, 1, hlen, f) == hlen ? 0
                                                                                            : -1;
}

int vec_write(const char *path, const float *x, size_t rows, size_t dim, mx_err *err) {
    if (!path || !x) return mx_err_set(err, MX_EINVAL, "vec_write: NULL argument");
    vec_kind k = kind_of(path);
    if (k == VEC_UNKNOWN)
        return mx_err_set(err, MX_EINVAL,
                          "%s: unknown vector file extension (expected .fvecs or .npy)", path);
    /* Neither format can describe an empty matrix in a way vec_read accepts
     * (.fvecs has no dimension without a row), so refuse rather than write a
     * file we cannot read back. */
    if (rows == 0 || dim == 0)
        return mx_err_set(err, MX_EINVAL, "%s: cannot write an empty %zu x %zu matrix", path, rows,
                          dim);
    if (k == VEC_FVECS && dim > INT32_MAX)
        return mx_err_set(err, MX_EINVAL, "%s: dimension %zu too large for .fvecs", path, dim);
    size_t count;
    if (mul_overflows(rows, dim, &count) || count > SIZE_MAX / sizeof(float))
        return mx_err_set(err, MX_EINVAL, "%s: %zu x %zu matrix is too large", path, rows, dim);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i]))
            return mx_err_set(err, MX_EINVAL, "%s: row %zu, column %zu is %s; refusing to write it",
                              path, i / dim, i % dim, isnan(x[i]) ? "NaN" : "infinite");

    FILE *f = fopen(path, "wb");
    if (!f) return mx_err_set(err, MX_EIO, "%s: cannot create: %s", path, strerror(errno));
    setvbuf(f, NULL, _IOFBF, VEC_IOBUF);
    int ok;
    if (k == VEC_NPY) {
        ok = write_npy_header(f, rows, dim) == 0 && fwrite(x, sizeof(float), count, f) == count;
    } else {
        int32_t d = (int32_t)dim;
        ok = 1;
        for (size_t r = 0; ok && r < rows; r++)
            ok = fwrite(&d, sizeof(d), 1, f) == 1 &&
                 fwrite(x + r * dim, sizeof(float), dim, f) == dim;
    }
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        remove(path); /* a partial matrix file is worse than none */
        return mx_err_set(err, MX_EIO, "%s: write failed: %s", path, strerror(e));
    }
    return 0;
}

/* ---- id lists -------------------------------------------------------- */

void vec_free_ids(char **ids, size_t n) {
    if (!ids) return;
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

int vec_read_ids(const char *path, char ***ids, size_t *n, mx_err *err) {
    if (!path || !ids || !n) return mx_err_set(err, MX_EINVAL, "vec_read_ids: NULL argument");
    FILE *f = NULL;
    char *buf = NULL, **list = NULL;
    size_t size, count = 0;
    int rc = open_read(path, &f, &size, err);
    if (rc) return rc;
    buf = malloc(size + 1);
    if (!buf) {
        rc = mx_err_set(err, MX_ENOMEM, "%s: cannot allocate %zu bytes", path, size);
        goto fail;
    }
    if ((rc = read_exact(f, buf, size, path, "the id list", NO_ROW, err))) goto fail;
    buf[size] = '\0';

    /* Pass 1: count lines up to the last non-empty one, validating as we go
     * so that pass 2 cannot fail except on allocation. */
    size_t last = 0, lineno = 0;
    for (size_t s = 0; s < size;) {
        char *nl = memchr(buf + s, '\n', size - s);
        size_t e = nl ? (size_t)(nl - buf) : size, len = e - s;
        if (len > 0 && buf[s + len - 1] == '\r') len--;
        lineno++;
        if (memchr(buf + s, '\0', len)) {
            rc = mx_err_set(err, MX_EFORMAT, "%s:%zu: id contains a NUL byte", path, lineno);
            goto fail;
        }
        if (len > 0) {
            if (last < lineno - 1) {
                rc = mx_err_set(err, MX_EFORMAT, "%s:%zu: empty id", path, last + 1);
                goto fail;
            }
            last = lineno;
        }
        s = e + 1;
    }
    if (last > 0) {
        list = calloc(last, sizeof(*list));
        if (!list) {
            rc = mx_err_set(err, MX_ENOMEM, "%s: cannot allocate %zu ids", path, last);
            goto fail;
        }
    }
    for (size_t s = 0; count < last;) {
        char *nl = memchr(buf + s, '\n', size - s);
        size_t e = nl ? (size_t)(nl - buf) : size, len = e - s;
        if (len > 0 && buf[s + len - 1] == '\r') len--;
        list[count] = malloc(len + 1);
        if (!list[count]) {
            rc = mx_err_set(err, MX_ENOMEM, "%s: cannot allocate id %zu", path, count);
            goto fail;
        }
        memcpy(list[count], buf + s, len);
        list[count][len] = '\0';
        count++;
        s = e + 1;
    }
    free(buf);
    fclose(f);
    *ids = list;
    *n = count;
    return 0;
fail:
    vec_free_ids(list, count);
    free(buf);
    fclose(f);
    return rc;
}

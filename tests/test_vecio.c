/* test_vecio.c - round trips and hand-made invalid files for vecio.
 *
 * The .npy cases are written byte by byte here rather than by NumPy so the
 * test needs no Python and each case shows exactly what is wrong with it. */
#include "vecio.h"
#include "tap.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static const char *tpath(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    ASSERT(f != NULL);
    ASSERT_EQ(fwrite(data, 1, n, f), n);
    ASSERT_EQ(fclose(f), 0);
}

static size_t file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    ASSERT(f != NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return (size_t)n;
}

/* A .npy file with the given version and header dict, padded like NumPy
 * pads (spaces, final '\n', 64-byte aligned), followed by data. */
static void make_npy(const char *path, int major, const char *dict, const void *data,
                     size_t nbytes) {
    unsigned char buf[4096];
    size_t pre = major == 1 ? 10 : 12, len = strlen(dict);
    size_t total = (pre + len + 1 + 63) / 64 * 64, hlen = total - pre;
    ASSERT(total + nbytes <= sizeof(buf));
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(buf + pre, dict, len);
    memset(buf + pre + len, ' ', hlen - len - 1);
    buf[total - 1] = '\n';
    if (nbytes) memcpy(buf + total, data, nbytes);
    write_bytes(path, buf, total + nbytes);
}

/* Reads a file that must fail with code and a message naming the file and
 * containing what. */
static void expect_fail(const char *path, int code, const char *what) {
    float *x = (float *)1;
    size_t rows = 7, dim = 7;
    mx_err err = {0};
    int rc = vec_read(path, &x, &rows, &dim, &err);
    if (rc != code) FAIL("%s: rc %d (%s), expected %d", path, rc, err.msg, code);
    ASSERT_EQ(err.code, code);
    ASSERT_CONTAINS(err.msg, path);
    ASSERT_CONTAINS(err.msg, what);
    ASSERT(x == (float *)1); /* outputs untouched on failure */
    ASSERT_EQ(rows, 7);
    /* and the same without an error struct */
    ASSERT_EQ(vec_read(path, &x, &rows, &dim, NULL), code);
}

static void test_round_trip(void) {
    const size_t shapes[][2] = {{1, 1}, {3, 4}, {17, 13}, {1000, 64}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        size_t rows = shapes[s][0], dim = shapes[s][1];
        float *x = malloc(rows * dim * sizeof(float));
        ASSERT(x);
        for (size_t i = 0; i < rows * dim; i++)
            x[i] = (float)((int)(i * 7919 % 2001) - 1000) / 37.0f;
        const char *names[] = {"m.fvecs", "m.npy", "M.NPY"};
        for (int k = 0; k < 3; k++) {
            const char *p = tpath(names[k]);
            mx_err err = {0};
            ASSERT_EQ(vec_write(p, x, rows, dim, &err), 0);
            float *y = NULL;
            size_t r2 = 0, d2 = 0;
            if (vec_read(p, &y, &r2, &d2, &err) != 0) FAIL("%s", err.msg);
            ASSERT_EQ(r2, rows);
            ASSERT_EQ(d2, dim);
            ASSERT(memcmp(x, y, rows * dim * sizeof(float)) == 0);
            free(y);
            size_t sz = file_size(p);
            if (k == 0) {
                ASSERT_EQ(sz, rows * (4 + 4 * dim));
            } else {
                /* v1 header padded so the data is 64-byte aligned */
                ASSERT_EQ((sz - rows * dim * 4) % 64, 0);
                FILE *f = fopen(p, "rb");
                unsigned char pre[10];
                ASSERT_EQ(fread(pre, 1, 10, f), 10);
                fclose(f);
                ASSERT(memcmp(pre, "\x93NUMPY\x01\x00", 8) == 0);
                ASSERT_EQ(10 + (pre[8] | pre[9] << 8), sz - rows * dim * 4);
            }
            unlink(p);
        }
        free(x);
    }
    TEST_OK("round trips in .fvecs and .npy");
}

static void test_npy_variants(void) {
    double d[6] = {1.5, -2.25, 3.0, 1e-3, -1e30, 0.0};
    float want[6];
    for (int i = 0; i < 6; i++)
        want[i] = (float)d[i];
    float f4[6] = {1, 2, 3, 4, 5, 6};
    struct {
        const char *name;
        int major;
        const char *dict;
        int f8;
    } cases[] = {
        {"f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 1},
        {"v2.npy", 2, "{\"shape\": (2,3),'fortran_order':False,  'descr' : '<f4'}", 0},
        {"v3.npy", 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", 0},
        {"extra.npy", 1,
         "{'descr': '<f8', 'extra': [('a', 1), {'b': None}], 'fortran_order': False, "
         "'shape': (2, 3,), }",
         1},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const char *p = tpath(cases[c].name);
        if (cases[c].f8)
            make_npy(p, cases[c].major, cases[c].dict, d, sizeof(d));
        else
            make_npy(p, cases[c].major, cases[c].dict, f4, sizeof(f4));
        float *y = NULL;
        size_t rows = 0, dim = 0;
        mx_err err = {0};
        if (vec_read(p, &y, &rows, &dim, &err) != 0) FAIL("%s: %s", cases[c].name, err.msg);
        ASSERT_EQ(rows, 2);
        ASSERT_EQ(dim, 3);
        ASSERT(memcmp(y, cases[c].f8 ? want : f4, sizeof(f4)) == 0);
        free(y);
        unlink(p);
    }
    TEST_OK(".npy v1 <f8, v2, v3, odd but valid headers");
}

static void test_npy_rejects(void) {
    float f4[6] = {1, 2, 3, 4, 5, 6};
    double d[6] = {1, 2, 3, 4, 5, 6};
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    struct {
        const char *dict;
        const void *data;
        size_t nbytes;
        const char *what;
    } cases[] = {
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", f4, 24,
         "dtype '<i4' not supported"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", f4, 24,
         "dtype '>f4' not supported"},
        {"{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", f4, 8,
         "structured dtype"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f4, 24, "Fortran-order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f4, 24,
         "1-D with shape (6,)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", f4, 24,
         "3-D with shape (1, 2, 3)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f4, 4, "0-D"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", f4, 0, "empty matrix"},
        {ok, f4, 20, "truncated: shape (2, 3) of <f4 needs 24 data bytes, file has 20"},
        {"{'descr': '<f4', 'fortran_order': False}", f4, 24, "lacks 'shape'"},
        {"{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3)}", f4, 24,
         "malformed .npy header (expected ':'"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3)}", f4, 24,
         "'fortran_order' is not True/False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, x)}", f4, 24, "bad 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", f4, 24, "expected ',' or '}'"},
        {"['descr', '<f4']", f4, 24, "expected '{'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3)}", f4, 24,
         "bad 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8)}", f4, 24,
         "too large"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const char *p = tpath("bad.npy");
        make_npy(p, 1, cases[c].dict, cases[c].data, cases[c].nbytes);
        expect_fail(p, MX_EFORMAT, cases[c].what);
        unlink(p);
    }

    float nan6[6] = {1, 2, 3, 4, 5, NAN};
    make_npy(tpath("nan.npy"), 1, ok, nan6, sizeof(nan6));
    expect_fail(tpath("nan.npy"), MX_EFORMAT, "row 1, column 2 is NaN");
    double inf6[6] = {1, 2, 3, -INFINITY, 5, 6};
    make_npy(tpath("inf.npy"), 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}", inf6,
             sizeof(inf6));
    expect_fail(tpath("inf.npy"), MX_EFORMAT, "row 1, column 0 is infinite");
    double big[6] = {1, 1e300, 3, 4, 5, 6};
    make_npy(tpath("big.npy"), 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}", big,
             sizeof(big));
    expect_fail(tpath("big.npy"), MX_EFORMAT, "row 0, column 1 (1e+300) is out of float32 range");
    make_npy(tpath("f8short.npy"), 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}",
             d, 40);
    expect_fail(tpath("f8short.npy"), MX_EFORMAT, "needs 48 data bytes, file has 40");

    float seven[7] = {1, 2, 3, 4, 5, 6, 7};
    make_npy(tpath("trail.npy"), 1, ok, seven, sizeof(seven));
    expect_fail(tpath("trail.npy"), MX_EFORMAT, "4 unexpected bytes after the <f4 data");

    make_npy(tpath("v4.npy"), 4, ok, f4, sizeof(f4));
    expect_fail(tpath("v4.npy"), MX_EFORMAT, "unsupported .npy format version 4.0");

    unsigned char bytes[64] = "\x93NUMPZ\x01\x00\x10\x00{}";
    write_bytes(tpath("magic.npy"), bytes, 40);
    expect_fail(tpath("magic.npy"), MX_EFORMAT, "bad magic");
    write_bytes(tpath("short.npy"), "\x93NUMPY\x01", 7);
    expect_fail(tpath("short.npy"), MX_EFORMAT, "too short");
    /* header length pointing past the end of the file */
    unsigned char hl[16] = "\x93NUMPY\x01\x00\xff\x00{}";
    write_bytes(tpath("hlen.npy"), hl, 16);
    expect_fail(tpath("hlen.npy"), MX_EFORMAT, "truncated: .npy header of 255 bytes");
    unsigned char hl2[16] = "\x93NUMPY\x02\x00\xff\xff\xff\x7f{}";
    write_bytes(tpath("hlen2.npy"), hl2, 16);
    expect_fail(tpath("hlen2.npy"), MX_EFORMAT, "implausibly large");
    write_bytes(tpath("empty.npy"), "", 0);
    expect_fail(tpath("empty.npy"), MX_EFORMAT, "too short");

    const char *rm[] = {"nan.npy",   "inf.npy",   "big.npy",  "f8short.npy", "trail.npy", "v4.npy",
                        "magic.npy", "short.npy", "hlen.npy", "hlen2.npy",   "empty.npy"};
    for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++)
        unlink(tpath(rm[i]));
    TEST_OK(".npy rejections name the file and the problem");
}

static void put_row(unsigned char **p, int32_t d, const float *v, int n) {
    memcpy(*p, &d, 4);
    *p += 4;
    memcpy(*p, v, (size_t)n * 4);
    *p += (size_t)n * 4;
}

static void test_fvecs_rejects(void) {
    unsigned char buf[256], *p;
    float v[4] = {1, 2, 3, 4};

    p = buf;
    put_row(&p, 3, v, 3);
    put_row(&p, 4, v, 4);
    put_row(&p, 3, v, 3);
    write_bytes(tpath("dims.fvecs"), buf, (size_t)(p - buf));
    expect_fail(tpath("dims.fvecs"), MX_EFORMAT, "row 1 has dimension 4, but row 0 has 3");

    p = buf;
    put_row(&p, 3, v, 3);
    put_row(&p, 3, v, 3);
    write_bytes(tpath("trunc.fvecs"), buf, (size_t)(p - buf) - 2);
    expect_fail(tpath("trunc.fvecs"), MX_EFORMAT, "truncated: 14 stray bytes after 1 rows");
    write_bytes(tpath("trunc1.fvecs"), buf, 10);
    expect_fail(tpath("trunc1.fvecs"), MX_EFORMAT, "one row of dimension 3 needs 16");
    write_bytes(tpath("trunc2.fvecs"), buf, 3);
    expect_fail(tpath("trunc2.fvecs"), MX_EFORMAT, "truncated: 3 bytes");

    write_bytes(tpath("empty.fvecs"), "", 0);
    expect_fail(tpath("empty.fvecs"), MX_EFORMAT, "empty file");

    p = buf;
    put_row(&p, 0, v, 0);
    write_bytes(tpath("zero.fvecs"), buf, (size_t)(p - buf));
    expect_fail(tpath("zero.fvecs"), MX_EFORMAT, "row 0 has dimension 0");

    float bad[3] = {1, INFINITY, 3};
    p = buf;
    put_row(&p, 3, v, 3);
    put_row(&p, 3, v, 3);
    put_row(&p, 3, bad, 3);
    write_bytes(tpath("inf.fvecs"), buf, (size_t)(p - buf));
    expect_fail(tpath("inf.fvecs"), MX_EFORMAT, "row 2, column 1 is infinite");

    expect_fail(tpath("missing.fvecs"), MX_EIO, "cannot open");
    expect_fail(tpath("x.bin"), MX_EINVAL, "unknown vector file extension");
    ASSERT_EQ(mkdir(tpath("dir.npy"), 0700), 0);
    expect_fail(tpath("dir.npy"), MX_EIO, "not a regular file");
    rmdir(tpath("dir.npy"));

    const char *rm[] = {"dims.fvecs",  "trunc.fvecs", "trunc1.fvecs", "trunc2.fvecs",
                        "empty.fvecs", "zero.fvecs",  "inf.fvecs"};
    for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++)
        unlink(tpath(rm[i]));
    TEST_OK(".fvecs rejections name the file, row and problem");
}

static void test_write_rejects(void) {
    float x[4] = {1, 2, NAN, 4};
    mx_err err = {0};
    ASSERT_EQ(vec_write(tpath("w.npy"), x, 2, 2, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "row 1, column 0 is NaN");
    ASSERT(access(tpath("w.npy"), F_OK) != 0);
    ASSERT_EQ(vec_write(tpath("w.fvecs"), x, 0, 2, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "empty");
    ASSERT_EQ(vec_write(tpath("w.txt"), x, 1, 2, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "extension");
    ASSERT_EQ(vec_write("/nonexistent-dir/w.npy", x, 1, 2, &err), MX_EIO);
    ASSERT_CONTAINS(err.msg, "/nonexistent-dir/w.npy: cannot create");
    ASSERT_EQ(vec_write(tpath("w.npy"), x, 1, 2, NULL), 0);
    unlink(tpath("w.npy"));
    TEST_OK("vec_write refuses what vec_read would reject");
}

static void test_ids(void) {
    const char *text = "a\r\nb b\n\xc3\xa9t\xc3\xa9\nlast\n\n\r\n\n";
    write_bytes(tpath("ok.ids"), text, strlen(text));
    char **ids = NULL;
    size_t n = 0;
    mx_err err = {0};
    ASSERT_EQ(vec_read_ids(tpath("ok.ids"), &ids, &n, &err), 0);
    ASSERT_EQ(n, 4);
    ASSERT_STR_EQ(ids[0], "a");
    ASSERT_STR_EQ(ids[1], "b b");
    ASSERT_STR_EQ(ids[2], "\xc3\xa9t\xc3\xa9");
    ASSERT_STR_EQ(ids[3], "last");
    vec_free_ids(ids, n);

    write_bytes(tpath("nonl.ids"), "x\ny", 3);
    ASSERT_EQ(vec_read_ids(tpath("nonl.ids"), &ids, &n, &err), 0);
    ASSERT_EQ(n, 2);
    ASSERT_STR_EQ(ids[1], "y");
    vec_free_ids(ids, n);

    write_bytes(tpath("empty.ids"), "", 0);
    ASSERT_EQ(vec_read_ids(tpath("empty.ids"), &ids, &n, &err), 0);
    ASSERT_EQ(n, 0);
    vec_free_ids(ids, n);

    write_bytes(tpath("hole.ids"), "x\ny\n\r\nz\n", 8);
    ASSERT_EQ(vec_read_ids(tpath("hole.ids"), &ids, &n, &err), MX_EFORMAT);
    ASSERT_CONTAINS(err.msg, "hole.ids:3: empty id");
    write_bytes(tpath("first.ids"), "\nx\n", 3);
    ASSERT_EQ(vec_read_ids(tpath("first.ids"), &ids, &n, NULL), MX_EFORMAT);
    write_bytes(tpath("nul.ids"), "x\ny\0z\n", 6);
    ASSERT_EQ(vec_read_ids(tpath("nul.ids"), &ids, &n, &err), MX_EFORMAT);
    ASSERT_CONTAINS(err.msg, "nul.ids:2: id contains a NUL byte");
    ASSERT_EQ(vec_read_ids(tpath("missing.ids"), &ids, &n, &err), MX_EIO);
    vec_free_ids(NULL, 0);

    const char *rm[] = {"ok.ids", "nonl.ids", "empty.ids", "hole.ids", "first.ids", "nul.ids"};
    for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++)
        unlink(tpath(rm[i]));
    TEST_OK("id lists");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv; /* all inputs are made here; no data files needed */
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_vecio.XXXXXX");
    ASSERT(mkdtemp(tmpdir) != NULL);
    test_round_trip();
    test_npy_variants();
    test_npy_rejects();
    test_fvecs_rejects();
    test_write_rejects();
    test_ids();
    /* Every test removes its own files, so rmdir failing means a leak. */
    ASSERT_EQ(rmdir(tmpdir), 0);
    return 0;
}

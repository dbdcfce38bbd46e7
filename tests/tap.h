/* tap.h - tiny assertion macros for standalone test programs (after
 * libuv's test/task.h). A failed ASSERT prints file:line and the values,
 * then exits 1 so meson counts the program as failed. */
#ifndef MX_TAP_H
#define MX_TAP_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

#define ASSERT(c)                                                                                  \
    do {                                                                                           \
        if (!(c)) FAIL("assertion failed: %s", #c);                                                \
    } while (0)

#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) FAIL("%s == %s failed: %lld != %lld", #a, #b, a_, b_);                       \
    } while (0)

#define ASSERT_NEAR(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (double)(a), b_ = (double)(b);                                                 \
        if (!(fabs(a_ - b_) <= (tol))) FAIL("%s ~= %s failed: %.9g vs %.9g", #a, #b, a_, b_);      \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            FAIL("%s == %s failed: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",                  \
                 b_ ? b_ : "(null)");                                                              \
    } while (0)

/* Asserts that haystack contains needle (error messages). */
#define ASSERT_CONTAINS(h, n)                                                                      \
    do {                                                                                           \
        const char *h_ = (h), *n_ = (n);                                                           \
        if (!h_ || !strstr(h_, n_)) FAIL("\"%s\" does not contain \"%s\"", h_ ? h_ : "", n_);      \
    } while (0)

#define TEST_OK(name) printf("ok - %s\n", name)

#endif

/* test_mx_time.c - timestamps: seconds, milliseconds, ISO 8601 forms and
 * what is refused. */
#include "tap.h"

#include "mx_time.h"

static int64_t parsed(const char *s) {
    int64_t t = -7;
    if (mx_time_parse(s, &t)) FAIL("'%s' refused", s);
    return t;
}

int main(void) {
    ASSERT_EQ(parsed("1636000000"), 1636000000);
    ASSERT_EQ(parsed("1636000000000"), 1636000000); /* Date.now() */
    ASSERT_EQ(parsed("1636000000.75"), 1636000000);
    ASSERT_EQ(parsed("0"), 0);
    int64_t t;
    ASSERT_EQ(mx_time_from_number(1636000000123.0, &t), 0);
    ASSERT_EQ(t, 1636000000);
    ASSERT_EQ(mx_time_from_number(-1, &t), -1);
    TEST_OK("numbers: seconds, milliseconds above 1e11, fractions dropped, negatives refused");

    ASSERT_EQ(parsed("2021-11-04T04:26:40Z"), 1636000000);
    ASSERT_EQ(parsed("2021-11-04T04:26:40"), 1636000000);
    ASSERT_EQ(parsed("2021-11-04 04:26:40"), 1636000000);
    ASSERT_EQ(parsed("2021-11-04T04:26:40.999Z"), 1636000000);
    ASSERT_EQ(parsed("2021-11-04T06:26:40+02:00"), 1636000000);
    ASSERT_EQ(parsed("2021-11-04T06:26:40+0200"), 1636000000);
    ASSERT_EQ(parsed("2021-11-03T23:26:40-05"), 1636000000);
    ASSERT_EQ(parsed("2021-11-04T04:26Z"), 1636000000 - 40);
    ASSERT_EQ(parsed("2021-11-04"), 1635984000);
    ASSERT_EQ(parsed("2000-02-29"), 951782400);
    ASSERT_EQ(parsed("1970-01-01T00:00:00Z"), 0);
    TEST_OK("ISO 8601: zones Z, +hh:mm, +hhmm, -hh, none; space for T; fractions; dates");

    const char *bad[] = {"",
                         "yesterday",
                         "2021-13-01",
                         "2021-02-29",
                         "2021-11-04T25:00",
                         "2021-11-04T04:26:40+2",
                         "2021-11-04x",
                         "12abc",
                         "1.",
                         "-5",
                         "2021-11-04T04:26:40.Z",
                         "1969-12-31"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (mx_time_parse(bad[i], &t) == 0) FAIL("'%s' accepted as %lld", bad[i], (long long)t);
    TEST_OK("refused: words, bad dates and times, bad zones, trailing text, before 1970");
    return 0;
}

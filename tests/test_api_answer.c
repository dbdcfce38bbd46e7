/* test_api_answer.c - the answer written directly (api_answer.h) reads as
 * the JSON jansson would write: strings escaped (quotes, backslashes,
 * control characters, invalid UTF-8 as U+FFFD, valid UTF-8 kept), reals
 * that read back as the same float, the object's fields joined with the
 * items. Parsed back with jansson, field by field. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api_answer.h"
#include "tap.h"

/* s written by api_answer_put_string, parsed back by jansson. */
static char *round_trip(const char *s) {
    tbuf b = {0};
    api_answer_put_string(&b, s);
    char *text = tbuf_take(&b);
    ASSERT(text != NULL);
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    free(text);
    ASSERT(v != NULL && json_is_string(v));
    char *out = strdup(json_string_value(v));
    json_decref(v);
    return out;
}

static void test_strings(void) {
    const char *same[] = {"", "plain", "quote \" and \\ backslash", "tab\tnew\nline\x01",
                          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        char *back = round_trip(same[i]);
        ASSERT_STR_EQ(back, same[i]);
        free(back);
    }
    /* invalid: a lone continuation byte, an overlong '/', a surrogate, a
     * truncated sequence at the end */
    char *back = round_trip("a\x80z \xc0\xaf \xed\xa0\x80 \xe2\x82");
    ASSERT_STR_EQ(back,
                  "a\xef\xbf\xbdz \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                  "\xef\xbf\xbd\xef\xbf\xbd");
    free(back);
    TEST_OK("strings: escapes, UTF-8 kept, invalid bytes as U+FFFD; jansson reads them back");
}

static void test_floats(void) {
    const float vals[] = {1.0f, 0.5f, 1.0f / 3, 1.0f / 7, 2.0f, 1e-8f, 123456789.0f, -0.25f, 0};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        tbuf b = {0};
        api_answer_put_float(&b, vals[i]);
        char *text = tbuf_take(&b);
        json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
        ASSERT(v != NULL && json_is_real(v)); /* a real, as jansson writes it: 1.0 not 1 */
        ASSERT((float)json_real_value(v) == vals[i]);
        json_decref(v);
        free(text);
    }
    tbuf b = {0};
    api_answer_put_float(&b, NAN);
    char *text = tbuf_take(&b);
    ASSERT_STR_EQ(text, "null");
    free(text);
    TEST_OK("floats: reals that read back as the same float; null when not finite");
}

static void test_join(void) {
    json_t *o = json_pack("{s:s,s:b}", "model_version", "v1", "known_user", 1);
    char *text = api_answer_text(o, NULL, NULL, NULL, 0, NULL, NULL);
    ASSERT_STR_EQ(text, "{\"model_version\":\"v1\",\"known_user\":true,\"items\":[]}");
    free(text);
    json_t *empty = json_object();
    text = api_answer_text(empty, NULL, NULL, NULL, 0, NULL, NULL);
    ASSERT_STR_EQ(text, "{\"items\":[]}");
    free(text);
    ASSERT_EQ(json_object_size(o), 2); /* o unchanged */
    json_decref(o);
    json_decref(empty);
    TEST_OK("the object's fields and the items joined into one object");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_strings();
    test_floats();
    test_join();
    return 0;
}

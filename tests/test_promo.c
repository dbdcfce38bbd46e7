/* test_promo.c - promo.h: valid lists parse and answer which promotions
 * are active when; every way a list can be wrong is refused with the field
 * named (as data cases), and nothing is kept; the settings' and an admin
 * list together are checked as one. */
#include <string.h>

#include "tap.h"

#include "promo.h"

#define MAX_K 200

static promo_list *parse_ok(const char *text) {
    promo_list *l = NULL;
    char field[PROMO_FIELD_MAX];
    mx_err err = {0};
    if (promo_parse_text(text, "promotions", MAX_K, &l, field, sizeof(field), &err))
        FAIL("refused %s: %s", text, err.msg);
    return l;
}

static void test_valid(void) {
    promo_list *l =
        parse_ok("[{\"name\": \"spring-sale\", \"category\": \"shoes\", \"share\": 0.2},"
                 " {\"name\": \"hero.1\", \"items\": [\"i1\", \"i2\"], \"position\": 0,"
                 "  \"start\": 1000, \"end\": 2000},"
                 " {\"name\": \"B_2\", \"items\": [\"i3\"], \"share\": 0.8, \"start\": 1500}]");
    ASSERT_EQ(promo_count(l), 3);
    const promo *p = promo_at(l, 0);
    ASSERT_STR_EQ(p->name, "spring-sale");
    ASSERT_STR_EQ(p->category, "shoes");
    ASSERT(p->items == NULL && p->n_items == 0);
    ASSERT_NEAR(p->share, 0.2, 1e-12);
    ASSERT_EQ(p->position, -1);
    ASSERT(promo_active(p, 0) && promo_active(p, PROMO_MAX_TIME)); /* no window: always */
    p = promo_at(l, 1);
    ASSERT(p->category == NULL && p->n_items == 2);
    ASSERT_STR_EQ(p->items[0], "i1");
    ASSERT_STR_EQ(p->items[1], "i2");
    ASSERT(p->position == 0 && p->share == 0);
    ASSERT(!promo_active(p, 999) && promo_active(p, 1000) && promo_active(p, 1999) &&
           !promo_active(p, 2000));
    ASSERT_STR_EQ(promo_at(l, 2)->items[0], "i3");
    const promo *act[4];
    ASSERT_EQ(promo_active_at(l, 500, act, 4), 1);
    ASSERT(act[0] == promo_at(l, 0));
    ASSERT_EQ(promo_active_at(l, 1600, act, 4), 3);
    ASSERT(act[0] == promo_at(l, 0) && act[1] == promo_at(l, 1) && act[2] == promo_at(l, 2));
    ASSERT_EQ(promo_active_at(l, 2500, act, 1), 2); /* counts past cap */
    json_t *j = promo_list_json(l);
    ASSERT_EQ(json_array_size(j), 3);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(j, 1), "name")), "hero.1");
    json_decref(j);
    j = promo_json(l, 2);
    ASSERT_EQ(json_integer_value(json_object_get(j, "start")), 1500);
    json_decref(j);
    promo_list_free(l);
    /* empty forms; shares that sum to 1 in decimal but not in binary */
    l = parse_ok("");
    ASSERT_EQ(promo_count(l), 0);
    promo_list_free(l);
    l = parse_ok("[]");
    ASSERT_EQ(promo_count(l), 0);
    promo_list_free(l);
    l = parse_ok("[{\"name\":\"a\",\"category\":\"c\",\"share\":0.7},"
                 "{\"name\":\"b\",\"category\":\"c\",\"share\":0.2},"
                 "{\"name\":\"c\",\"category\":\"c\",\"share\":0.1},"
                 "{\"name\":\"d\",\"category\":\"c\",\"position\":199,\"start\":0,"
                 "\"end\":4102444800}]");
    ASSERT_EQ(promo_count(l), 4);
    promo_list_free(l);
    promo_list_free(NULL);
    TEST_OK("valid lists: items or category, share or position, windows [start, end), "
            "active at t, JSON back; empty lists; shares summing to exactly 1");
}

/* A list refused with this field and a message containing this text. */
typedef struct bad_case {
    const char *json, *field, *says;
} bad_case;

static const bad_case bad[] = {
    {"{}", "promotions", "JSON array"},
    {"[1", "promotions", "invalid JSON"},
    {"[7]", "promotions[0]", "object"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0.5},{\"name\":\"b\",\"category\":\"c\","
     "\"share\":1.5}]",
     "promotions[1].share", "share must be in (0, 1]"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0}]", "promotions[0].share",
     "share must be in (0, 1]"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":\"0.5\"}]", "promotions[0].share",
     "share must be in (0, 1]"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0.5},{\"name\":\"b\",\"category\":\"c\","
     "\"share\":0.7}]",
     "promotions[1].share", "the shares sum to 1.2, over 100% of the slots"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0.5},{\"name\":\"a\",\"items\":[\"x\"],"
     "\"position\":1}]",
     "promotions[1].name", "duplicate name 'a'"},
    {"[{\"category\":\"c\",\"share\":0.5}]", "promotions[0].name", "needs a name"},
    {"[{\"name\":\"\",\"category\":\"c\",\"share\":0.5}]", "promotions[0].name", "1..64"},
    {"[{\"name\":\"a b\",\"category\":\"c\",\"share\":0.5}]", "promotions[0].name", "1..64"},
    {"[{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
     "\"category\":\"c\",\"share\":0.5}]",
     "promotions[0].name", "1..64"},
    {"[{\"name\":\"a\",\"items\":[\"x\"],\"category\":\"c\",\"share\":0.5}]", "promotions[0]",
     "either items or category (not both)"},
    {"[{\"name\":\"a\",\"share\":0.5}]", "promotions[0]", "either items or category (neither"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0.5,\"position\":2}]", "promotions[0]",
     "either share or position (not both)"},
    {"[{\"name\":\"a\",\"category\":\"c\"}]", "promotions[0]", "either share or position (neither"},
    {"[{\"name\":\"a\",\"items\":[],\"share\":0.5}]", "promotions[0].items", "1..1000"},
    {"[{\"name\":\"a\",\"items\":[\"x\",3],\"share\":0.5}]", "promotions[0].items[1]", "item id"},
    {"[{\"name\":\"a\",\"items\":[\"x\",\"\"],\"share\":0.5}]", "promotions[0].items[1]",
     "item id"},
    {"[{\"name\":\"a\",\"category\":\"\",\"share\":0.5}]", "promotions[0].category", "category"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"position\":200}]", "promotions[0].position", "0..199"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"position\":-1}]", "promotions[0].position", "0..199"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"position\":1.5}]", "promotions[0].position", "integer"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"position\":3},{\"name\":\"b\",\"items\":[\"x\"],"
     "\"position\":3}]",
     "promotions[1].position", "position 3 is taken by promotion 'a'"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0.5,\"start\":2000,\"end\":1000}]",
     "promotions[0].end", "end must be after start"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0.5,\"start\":5,\"end\":5}]",
     "promotions[0].end", "end must be after start"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0.5,\"start\":-1}]", "promotions[0].start",
     "0..4102444800"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0.5,\"end\":4102444801}]", "promotions[0].end",
     "0..4102444800"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0.5,\"start\":\"2026-01-01\"}]",
     "promotions[0].start", "integer"},
    {"[{\"name\":\"a\",\"category\":\"c\",\"share\":0.5,\"weight\":2}]", "promotions[0].weight",
     "unknown field"},
    {"[{\"name\":\"a\",\"name\":\"b\",\"category\":\"c\",\"share\":0.5}]", "promotions",
     "duplicate"},
};

static void test_errors(void) {
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        promo_list *l = (promo_list *)1;
        char field[PROMO_FIELD_MAX] = "?";
        mx_err err = {0};
        int rc = promo_parse_text(bad[i].json, "promotions", MAX_K, &l, field, sizeof(field), &err);
        if (rc != MX_EINVAL) FAIL("case %zu accepted: %s", i, bad[i].json);
        ASSERT(l == NULL);
        if (strcmp(field, bad[i].field))
            FAIL("case %zu: field '%s', want '%s' (%s)", i, field, bad[i].field, err.msg);
        if (!strstr(err.msg, bad[i].says))
            FAIL("case %zu: message '%s' lacks '%s'", i, err.msg, bad[i].says);
        ASSERT(strncmp(err.msg, field, strlen(field)) == 0); /* the message names the field */
    }
    /* the setting's own name in its errors */
    promo_list *l;
    char field[PROMO_FIELD_MAX];
    mx_err err = {0};
    ASSERT_EQ(promo_parse_text("[{\"name\":\"a\",\"category\":\"c\",\"share\":2}]",
                               "catalog.promotions", MAX_K, &l, field, sizeof(field), &err),
              MX_EINVAL);
    ASSERT_STR_EQ(field, "catalog.promotions[0].share");
    /* too many */
    json_t *many = json_array();
    for (int i = 0; i <= PROMO_MAX; i++)
        json_array_append_new(
            many, json_pack("{s:s,s:s,s:i}", "name", "x", "category", "c", "position", i));
    ASSERT_EQ(promo_parse(many, "promotions", 1000, &l, field, sizeof(field), &err), MX_EINVAL);
    ASSERT_STR_EQ(field, "promotions");
    json_decref(many);
    TEST_OK("every error names its field: bad shares, over 100% of the slots, duplicate "
            "names and positions, both or neither of items/category and share/position, bad "
            "windows, unknown fields, too many; nothing kept");
}

static void test_union(void) {
    promo_list *settings = parse_ok("[{\"name\":\"base\",\"category\":\"c\",\"share\":0.6},"
                                    "{\"name\":\"top\",\"items\":[\"x\"],\"position\":0}]");
    promo_list *admin = parse_ok("[{\"name\":\"a\",\"category\":\"d\",\"share\":0.4},"
                                 "{\"name\":\"b\",\"items\":[\"y\"],\"position\":1}]");
    char field[PROMO_FIELD_MAX];
    mx_err err = {0};
    ASSERT_EQ(promo_check_union(settings, admin, "promotions", field, sizeof(field), &err), 0);
    ASSERT_EQ(promo_check_union(NULL, admin, "promotions", field, sizeof(field), &err), 0);
    ASSERT_EQ(promo_check_union(settings, NULL, "promotions", field, sizeof(field), &err), 0);
    promo_list_free(admin);
    admin = parse_ok("[{\"name\":\"a\",\"items\":[\"y\"],\"position\":2},"
                     "{\"name\":\"b\",\"category\":\"d\",\"share\":0.5}]");
    ASSERT_EQ(promo_check_union(settings, admin, "promotions", field, sizeof(field), &err),
              MX_EINVAL);
    ASSERT_STR_EQ(field, "promotions[1].share");
    ASSERT_CONTAINS(err.msg, "the shares sum to 1.1, over 100% of the slots");
    promo_list_free(admin);
    admin = parse_ok("[{\"name\":\"a\",\"items\":[\"y\"],\"position\":0}]");
    ASSERT_EQ(promo_check_union(settings, admin, "promotions", field, sizeof(field), &err),
              MX_EINVAL);
    ASSERT_STR_EQ(field, "promotions[0].position");
    ASSERT_CONTAINS(err.msg, "'top'");
    promo_list_free(admin);
    admin = parse_ok("[{\"name\":\"base\",\"items\":[\"y\"],\"position\":3}]");
    ASSERT_EQ(promo_check_union(settings, admin, "promotions", field, sizeof(field), &err),
              MX_EINVAL);
    ASSERT_STR_EQ(field, "promotions[0].name");
    ASSERT_CONTAINS(err.msg, "settings");
    promo_list_free(admin);
    promo_list_free(settings);
    TEST_OK("the settings' and an admin list together: shares, positions and names over "
            "both, errors naming the admin list's fields");
}

int main(void) {
    test_valid();
    test_errors();
    test_union();
    return 0;
}

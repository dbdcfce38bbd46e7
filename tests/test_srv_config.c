/* test_srv_config.c - the service configuration: defaults, every setting
 * type, the JSON file, MIXREC_* environment variables, and errors that
 * name the setting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bconfig.h"
#include "sessions.h"
#include "settings_cases.h"
#include "srv_config.h"
#include "tap.h"

static char dir[64];

static const char *write_tmp(const char *name, const char *text) {
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_defaults_and_set(void) {
    srv_config c;
    srv_config_init(&c);
    ASSERT_STR_EQ(c.listen_host, "127.0.0.1");
    ASSERT_EQ(c.listen_port, 8080);
    ASSERT_EQ(c.workers, 0);
    ASSERT_EQ(c.model_poll_s, 5); /* CURRENT watched unless 0 */
    ASSERT_STR_EQ(c.redis_host, "127.0.0.1");
    ASSERT_EQ(c.redis_port, 6379);
    ASSERT_EQ(c.redis_unix, 0);
    ASSERT_EQ(c.max_body_bytes, 1048576);
    ASSERT_EQ(c.max_k, 200);
    ASSERT_EQ(c.n_api_keys, 0);
    ASSERT_EQ(c.n_cors_origins, 0);
    ASSERT_EQ(c.log_level, SRV_LOG_INFO);
    ASSERT_NEAR(c.w_event[EVTYPE_CLICK], 2, 0);
    ASSERT_NEAR(c.w_event[EVTYPE_DISLIKE], -3, 0);
    /* every documented default is accepted by its own setter */
    size_t n;
    const srv_config_entry *e = srv_config_entries(&n);
    ASSERT(n >= 20);
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(srv_config_set(&c, e[i].name, e[i].def, NULL), 0);

    mx_err err = {0};
    ASSERT_EQ(srv_config_set(&c, "server.listen", "[::1]:9000", &err), 0);
    ASSERT_STR_EQ(c.listen_host, "::1");
    ASSERT_EQ(c.listen_port, 9000);
    ASSERT(srv_config_set(&c, "server.listen", "localhost", &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "server.listen");
    ASSERT(srv_config_set(&c, "server.listen", "h:70000", &err) == MX_EINVAL);
    ASSERT(srv_config_set(&c, "server.workers", "two", &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "server.workers");
    ASSERT(srv_config_set(&c, "server.workers", "1.5", &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "not an integer");
    ASSERT(srv_config_set(&c, "limits.max_k", "5000", &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "out of range");
    ASSERT(srv_config_set(&c, "server.model_poll_s", "-1", &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "server.model_poll_s");
    ASSERT_EQ(srv_config_set(&c, "server.model_poll_s", "0", &err), 0);
    ASSERT_EQ(c.model_poll_s, 0);
    ASSERT(srv_config_set(&c, "events.dislike", "1", &err) == MX_EINVAL);
    ASSERT(srv_config_set(&c, "server.bogus", "1", &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "server.bogus");
    ASSERT_EQ(srv_config_set(&c, "log.level", "debug", &err), 0);
    ASSERT_EQ(c.log_level, SRV_LOG_DEBUG);
    ASSERT(srv_config_set(&c, "log.level", "loud", &err) == MX_EINVAL);
    ASSERT_EQ(c.log_level, SRV_LOG_DEBUG); /* a rejected value changes nothing */
    TEST_OK("defaults, types, ranges, errors naming the setting");
}

static void test_redis_urls(void) {
    srv_config c;
    srv_config_init(&c);
    mx_err err = {0};
    ASSERT_EQ(srv_config_set(&c, "redis.url", "redis://:s3cret@cache.local:6380/2", &err), 0);
    ASSERT_STR_EQ(c.redis_host, "cache.local");
    ASSERT_EQ(c.redis_port, 6380);
    ASSERT_EQ(c.redis_db, 2);
    ASSERT_STR_EQ(c.redis_password, "s3cret");
    ASSERT_EQ(c.redis_unix, 0);
    ASSERT_EQ(srv_config_set(&c, "redis.url", "redis://10.0.0.5", &err), 0);
    ASSERT_EQ(c.redis_port, 6379);
    ASSERT_EQ(c.redis_db, 0);
    ASSERT_STR_EQ(c.redis_password, "");
    ASSERT_EQ(srv_config_set(&c, "redis.url", "unix:/run/redis/redis.sock?db=3", &err), 0);
    ASSERT_EQ(c.redis_unix, 1);
    ASSERT_STR_EQ(c.redis_path, "/run/redis/redis.sock");
    ASSERT_EQ(c.redis_db, 3);
    const char *bad[] = {"http://x",      "redis://",    "redis://h:0", "redis://h/x",
                         "unix:relative", "unix:/p?db=", "unix:/p?x=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT(srv_config_set(&c, "redis.url", bad[i], &err) == MX_EINVAL);
        ASSERT_CONTAINS(err.msg, "redis.url");
    }
    ASSERT_STR_EQ(c.redis_path, "/run/redis/redis.sock"); /* unchanged by failures */
    TEST_OK("redis URLs: TCP with password and database, unix sockets, rejections");
}

static void test_lists(void) {
    srv_config c;
    srv_config_init(&c);
    mx_err err = {0};
    ASSERT_EQ(srv_config_set(&c, "cors.origins", " https://a.example , https://b.example,,", &err),
              0);
    ASSERT_EQ(c.n_cors_origins, 2);
    ASSERT_STR_EQ(c.cors_origins[0], "https://a.example");
    ASSERT_STR_EQ(c.cors_origins[1], "https://b.example");
    ASSERT_EQ(srv_config_set(&c, "auth.api_keys", "k1,k2,k3", &err), 0);
    ASSERT_EQ(c.n_api_keys, 3);
    ASSERT_STR_EQ(c.api_keys[2], "k3");
    ASSERT_EQ(srv_config_set(&c, "auth.api_keys", "", &err), 0);
    ASSERT_EQ(c.n_api_keys, 0);
    char many[400] = "";
    for (int i = 0; i < 17; i++)
        strcat(many, "o,");
    ASSERT(srv_config_set(&c, "cors.origins", many, &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "at most");
    TEST_OK("comma-separated lists: trimmed, empty entries skipped, bounded");
}

static void test_file(const char *data_dir) {
    srv_config c;
    srv_config_init(&c);
    mx_err err = {0};
    const char *p =
        write_tmp("ok.json", "{\"_comment\": \"x\", \"embed\": {\"dim\": 8},\n"
                             " \"server\": {\"listen\": \"0.0.0.0:9090\", \"workers\": 3,\n"
                             "   \"model_dir\": \"/srv/model\", \"_comment\": \"y\"},\n"
                             " \"cors\": {\"origins\": [\"https://a\", \"https://b\"]},\n"
                             " \"session\": {\"half_life_s\": 600.5}}");
    ASSERT_EQ(srv_config_load_file(&c, p, &err), 0);
    ASSERT_EQ(c.listen_port, 9090);
    ASSERT_EQ(c.workers, 3);
    ASSERT_STR_EQ(c.model_dir, "/srv/model");
    ASSERT_EQ(c.n_cors_origins, 2);
    ASSERT_NEAR(c.session_half_life_s, 600.5, 1e-9);
    ASSERT_EQ(srv_config_validate(&c, &err), 0);

    p = write_tmp("unknown.json", "{\"server\": {\"wrokers\": 3}}");
    ASSERT(srv_config_load_file(&c, p, &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "server.wrokers");
    p = write_tmp("range.json", "{\"limits\": {\"max_k\": 0}}");
    ASSERT(srv_config_load_file(&c, p, &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "limits.max_k");
    ASSERT_CONTAINS(err.msg, "range.json");
    p = write_tmp("type.json", "{\"server\": {\"workers\": {\"n\": 1}}}");
    ASSERT(srv_config_load_file(&c, p, &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "server.workers");
    p = write_tmp("syntax.json", "{\"server\": {\n  \"workers\": ,}}");
    ASSERT(srv_config_load_file(&c, p, &err) == MX_EFORMAT);
    ASSERT_CONTAINS(err.msg, "syntax.json:2");
    ASSERT(srv_config_load_file(&c, "/nonexistent/mixrec.json", &err) == MX_EIO);
    ASSERT_CONTAINS(err.msg, "/nonexistent/mixrec.json");

    /* the shipped config parses (its build sections are skipped here) */
    char shipped[512];
    snprintf(shipped, sizeof(shipped), "%s/../../config/mixrec.json", data_dir);
    srv_config_init(&c);
    ASSERT_EQ(srv_config_load_file(&c, shipped, &err), 0);
    ASSERT(srv_config_validate(&c, &err) == MX_EINVAL || c.model_dir[0]);
    TEST_OK("config file: sections applied, comments skipped, errors name file and setting");
}

static void test_env(void) {
    srv_config c;
    srv_config_init(&c);
    mx_err err = {0};
    char *env[] = {"HOME=/root",
                   "MIXREC_WORKERS=4",
                   "MIXREC_REDIS=unix:/tmp/r.sock",
                   "MIXREC_MODEL=/models/mt",
                   "MIXREC_LIMITS_MAX_BODY_BYTES=2048",
                   "MIXREC_EVENTS_CLICK=2.5",
                   NULL};
    ASSERT_EQ(srv_config_load_env(&c, env, &err), 0);
    ASSERT_EQ(c.workers, 4);
    ASSERT_EQ(c.redis_unix, 1);
    ASSERT_STR_EQ(c.model_dir, "/models/mt");
    ASSERT_EQ(c.max_body_bytes, 2048);
    ASSERT_NEAR(c.w_event[EVTYPE_CLICK], 2.5, 1e-12);
    char *typo[] = {"MIXREC_WROKERS=4", NULL};
    ASSERT(srv_config_load_env(&c, typo, &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "MIXREC_WROKERS");
    char *bad[] = {"MIXREC_SERVER_WORKERS=-1", NULL};
    ASSERT(srv_config_load_env(&c, bad, &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "MIXREC_SERVER_WORKERS");
    ASSERT_CONTAINS(err.msg, "server.workers");
    char *build_var[] = {"MIXREC_EMBED_DIM=8", NULL}; /* a build setting: not the service's */
    ASSERT(srv_config_load_env(&c, build_var, &err) == MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "MIXREC_EMBED_DIM");
    char *flag[] = {"MIXREC_RANKING_XGBOOST_PREDICTOR=true", "MIXREC_LOG_LEVEL=warn", NULL};
    ASSERT_EQ(srv_config_load_env(&c, flag, &err), 0);
    ASSERT_EQ(c.ranking_xgboost_predictor, 1);
    ASSERT_EQ(c.log_level, SRV_LOG_WARN);
    TEST_OK("MIXREC_* environment: short forms, SECTION_KEY names, typos rejected");
}

static void test_cases(const char *data_dir) {
    srv_config c;
    srv_config_init(&c);
    int n = settings_run_cases(data_dir, "serve-", srv_config_settings(), &c, sizeof(c));
    ASSERT(n >= 8);
    printf("ok - %d invalid serve cases of tests/data/settings fail naming the setting\n", n);
}

static void test_help(void) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ASSERT(f != NULL);
    settings_help(srv_config_settings(), f);
    fclose(f);
    size_t n;
    const srv_config_entry *e = srv_config_entries(&n);
    for (size_t i = 0; i < n; i++) {
        ASSERT_CONTAINS(text, e[i].name);
        ASSERT_CONTAINS(text, e[i].help);
    }
    ASSERT_CONTAINS(text, "redis://127.0.0.1:6379/0");
    /* every row's section is the service's in the one list of sections */
    const settings_table *t = srv_config_settings();
    for (size_t i = 0; i < t->n_rows; i++) {
        size_t len = strcspn(t->rows[i].name, ".");
        const settings_section *s = settings_sections;
        while (s->name && (strlen(s->name) != len || strncmp(s->name, t->rows[i].name, len)))
            s++;
        if (!s->name || !(s->applies & SETTINGS_SERVE))
            FAIL("%s: not a serve section", t->rows[i].name);
    }
    ASSERT_CONTAINS(text, "(one of: error, warn, info, debug)");
    free(text);
    TEST_OK(
        "settings_help lists every setting with its default and help; sections are the service's");
}

/* The type weights are core's table (evtype.h): the service's events.*
 * rows and the build's (an imported log's type column) start equal, and a
 * config file's events section applies to both. */
static void test_event_weights_shared(void) {
    srv_config c;
    srv_config_init(&c);
    bcfg b;
    bcfg_init(&b);
    const double want[EVTYPE_N] = {1, 2, 3, 5, -3}; /* the documented defaults */
    for (int t = 0; t < EVTYPE_N; t++) {
        ASSERT_NEAR(c.w_event[t], want[t], 0);
        ASSERT_NEAR(b.event_weight[t], want[t], 0);
        ASSERT_NEAR(evtype_default_weight(t), want[t], 0);
        ASSERT_NEAR(sess_type_weight(&c, t), want[t], 0);
        ASSERT_EQ(sess_type_of(sess_type_name(t)), t);
    }
    ASSERT_STR_EQ(sess_type_name(SESS_PURCHASE), "purchase");
    ASSERT_STR_EQ(sess_type_name(99), "view");
    ASSERT_EQ(sess_type_of("Purchase"), -1);                 /* the API's names are exact */
    ASSERT_EQ(evtype_parse("Purchase", 8), EVTYPE_PURCHASE); /* an export's are not */
    ASSERT_EQ(evtype_parse("addtocart", 9), EVTYPE_LIKE);
    ASSERT_EQ(evtype_parse("search", 6), -1);
    char path[300];
    snprintf(path, sizeof(path), "%s/events.json", dir);
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs("{\"events\": {\"like\": 4}, \"embed\": {\"dim\": 8}}\n", f);
    fclose(f);
    mx_err err = {0};
    ASSERT_EQ(srv_config_load_file(&c, path, &err), 0);
    ASSERT_EQ(bcfg_load_file(&b, path, &err), 0);
    ASSERT_NEAR(c.w_event[EVTYPE_LIKE], 4, 0);
    ASSERT_NEAR(b.event_weight[EVTYPE_LIKE], 4, 0);
    unlink(path);
    TEST_OK("event type weights: one table for the service and the build");
}

/* catalog.promotions: JSON text from a setting or the variable, the array
 * itself in a file; checked by srv_config_validate, errors naming the
 * promotion's field. */
static void test_promotions(void) {
    srv_config c;
    srv_config_init(&c);
    mx_err err = {0};
    snprintf(c.model_dir, sizeof(c.model_dir), "/srv/model");
    ASSERT_STR_EQ(c.catalog_promotions, "");
    ASSERT_EQ(srv_config_validate(&c, &err), 0);
    const char *p = write_tmp("promo.json",
                              "{\"catalog\": {\"promotions\": [{\"name\": \"a\", \"category\": "
                              "\"shoes\", \"share\": 0.25}, {\"name\": \"b\", \"items\": [\"i1\"], "
                              "\"position\": 0, \"start\": 10, \"end\": 20}]}}");
    ASSERT_EQ(srv_config_load_file(&c, p, &err), 0);
    ASSERT_CONTAINS(c.catalog_promotions, "\"share\":0.25");
    ASSERT_EQ(srv_config_validate(&c, &err), 0);
    ASSERT_EQ(srv_config_set(&c, "catalog.promotions",
                             "[{\"name\":\"a\",\"category\":\"c\",\"share\":0.6},"
                             "{\"name\":\"b\",\"category\":\"d\",\"share\":0.6}]",
                             &err),
              0);
    ASSERT_EQ(srv_config_validate(&c, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "catalog.promotions[1].share: the shares sum to 1.2");
    char *env[] = {"MIXREC_CATALOG_PROMOTIONS=[{\"name\":\"x\",\"category\":\"c\","
                   "\"position\":500}]",
                   NULL};
    ASSERT_EQ(srv_config_load_env(&c, env, &err), 0);
    ASSERT_EQ(srv_config_validate(&c, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "catalog.promotions[0].position");
    unlink(p);
    TEST_OK("catalog.promotions: from a file (the array), a setting or the environment; "
            "validated with the field named");
}

/* experiments.list: the array itself in a file; checked by
 * srv_config_validate with the field named; interleaving takes exactly
 * two variants. */
static void test_experiments(void) {
    srv_config c;
    srv_config_init(&c);
    mx_err err = {0};
    snprintf(c.model_dir, sizeof(c.model_dir), "/srv/model");
    ASSERT_STR_EQ(c.experiments_list, "");
    const char *p = write_tmp("exp.json", "{\"experiments\": {\"list\": [{\"name\": \"e\", "
                                          "\"variants\": [{\"name\": \"a\", \"share\": 0.5}, "
                                          "{\"name\": \"b\", \"share\": 0.5, \"settings\": "
                                          "{\"ranking.enabled\": false}}]}]}}");
    ASSERT_EQ(srv_config_load_file(&c, p, &err), 0);
    ASSERT_CONTAINS(c.experiments_list, "\"ranking.enabled\":false");
    ASSERT_EQ(srv_config_validate(&c, &err), 0);
    ASSERT_EQ(
        srv_config_set(&c, "experiments.list",
                       "[{\"name\":\"e\",\"variants\":[{\"name\":\"a\",\"share\":0.5},"
                       "{\"name\":\"b\",\"share\":0.5,\"settings\":{\"session.strength\":-1}}]}]",
                       &err),
        0);
    ASSERT_EQ(srv_config_validate(&c, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "experiments.list[0].variants[1].settings.session.strength: ");
    ASSERT_EQ(srv_config_set(&c, "experiments.list",
                             "[{\"name\":\"e\",\"mode\":\"interleave\",\"variants\":[{\"name\":"
                             "\"a\",\"share\":0.5},{\"name\":\"b\",\"share\":0.5}]}]",
                             &err),
              0);
    ASSERT_EQ(srv_config_validate(&c, &err), 0);
    ASSERT_EQ(srv_config_set(&c, "experiments.list",
                             "[{\"name\":\"e\",\"mode\":\"interleave\",\"variants\":[{\"name\":"
                             "\"a\",\"share\":0.4},{\"name\":\"b\",\"share\":0.3},"
                             "{\"name\":\"c\",\"share\":0.3}]}]",
                             &err),
              0);
    ASSERT_EQ(srv_config_validate(&c, &err), MX_EINVAL);
    ASSERT_CONTAINS(err.msg, "interleaving compares exactly two variants");
    unlink(p);
    TEST_OK("experiments.list: from a file (the array) or a setting; validated with the field "
            "named; interleaving of two variants, not three");
}

int main(int argc, char **argv) {
    ASSERT(argc > 1);
    snprintf(dir, sizeof(dir), "/tmp/test_srv_config.XXXXXX");
    ASSERT(mkdtemp(dir) != NULL);
    test_defaults_and_set();
    test_redis_urls();
    test_lists();
    test_file(argv[1]);
    test_env();
    test_cases(argv[1]);
    test_help();
    test_event_weights_shared();
    test_promotions();
    test_experiments();
    const char *names[] = {"ok.json", "unknown.json", "range.json", "type.json", "syntax.json"};
    for (size_t i = 0; i < 5; i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

/* test_bconfig.c - the build's table of the settings engine (bconfig.h,
 * settings.h): defaults (and the *_params_init derived from them),
 * `name=value` settings of every type with their bounds and error
 * messages, enums by name, JSON config files (nested sections, comments,
 * sections owned by others, unknown and renamed names, syntax errors), the
 * invalid data cases of tests/data/settings, the shipped config, the JSON
 * copy of every setting, manifests of older builds and the derived
 * half-lives. */
#include "bconfig.h"
#include "settings_cases.h"
#include "tap.h"

#include <jansson.h>
#include <stdint.h>
#include <unistd.h>

static char tmpdir[64];
static char cfg_path[128];

static const bcfg_entry *entry(const char *name) {
    size_t n = 0;
    const bcfg_entry *e = bcfg_entries(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0) return &e[i];
    FAIL("no entry %s", name);
}

static size_t type_size(const bcfg_entry *e) {
    switch (e->type) {
    case SETTINGS_SIZE:
        return sizeof(size_t);
    case SETTINGS_FLOAT:
        return sizeof(float);
    case SETTINGS_DOUBLE:
        return sizeof(double);
    case SETTINGS_U64:
        return sizeof(uint64_t);
    case SETTINGS_INT:
    case SETTINGS_BOOL:
        return sizeof(int);
    default: /* ENUM, STR */
        return e->size;
    }
}

/* The value of entry e in c, as a double. */
static double value_of(const bcfg *c, const bcfg_entry *e) {
    const char *p = (const char *)c + e->offset;
    switch (e->type) {
    case SETTINGS_SIZE:
        return (double)*(const size_t *)p;
    case SETTINGS_FLOAT:
        return *(const float *)p;
    case SETTINGS_DOUBLE:
        return *(const double *)p;
    case SETTINGS_U64:
        return (double)*(const uint64_t *)p;
    case SETTINGS_BOOL:
        return *(const int *)p;
    case SETTINGS_ENUM:
        return e->size == sizeof(int) ? *(const int *)p : (double)*(const size_t *)p;
    default:
        return 0;
    }
}

static void write_cfg(const char *text) {
    FILE *f = fopen(cfg_path, "w");
    ASSERT(f);
    fputs(text, f);
    fclose(f);
}

/* set must fail with MX_EINVAL, a message holding both needles, and leave
 * every setting as it was. */
static void expect_set_error(bcfg *c, const char *name, const char *value, const char *needle1,
                             const char *needle2) {
    bcfg before;
    memcpy(&before, c, sizeof(before));
    mx_err err = {0};
    int rc = bcfg_set(c, name, value, &err);
    if (rc == 0) FAIL("bcfg_set(%s, '%s') succeeded", name, value);
    ASSERT_EQ(rc, MX_EINVAL);
    ASSERT_EQ(err.code, MX_EINVAL);
    ASSERT_CONTAINS(err.msg, needle1);
    if (needle2) ASSERT_CONTAINS(err.msg, needle2);
    ASSERT(memcmp(&before, c, sizeof(before)) == 0);
    ASSERT_EQ(bcfg_set(c, name, value, NULL), MX_EINVAL); /* err may be NULL */
}

static void expect_load_error(bcfg *c, const char *text, int code, const char *needle1,
                              const char *needle2) {
    write_cfg(text);
    mx_err err = {0};
    int rc = bcfg_load_file(c, cfg_path, &err);
    if (rc == 0) FAIL("loading %s succeeded", text);
    ASSERT_EQ(rc, code);
    ASSERT_EQ(err.code, code);
    ASSERT_CONTAINS(err.msg, cfg_path);
    ASSERT_CONTAINS(err.msg, needle1);
    if (needle2) ASSERT_CONTAINS(err.msg, needle2);
}

static void test_defaults(void) {
    bcfg c;
    memset(&c, 0xab, sizeof(c));
    bcfg_init(&c);
    ASSERT_EQ(c.embed.dim, 32);
    ASSERT_EQ(c.embed.iters, 15);
    ASSERT_EQ(c.embed.cg_steps, 3);
    ASSERT(c.embed.alpha == 10.0f);
    ASSERT(c.embed.reg == 0.05f * 11.0f);
    ASSERT_EQ(c.embed.use_value, 0);
    ASSERT(c.embed.seed == 42);
    ASSERT(c.embed.half_life == 0);
    ASSERT_EQ(c.interests.n_clusters, 0);
    ASSERT_EQ(c.interests.niter, 25);
    ASSERT_EQ(c.mixture.knn_k, 50);
    ASSERT(c.mixture.k0 == 20.0f);
    ASSERT_EQ(c.mixture.top_m, 16);
    ASSERT(c.mixture.half_life == 0);
    ASSERT_EQ(c.retrieval.nprobe, 16);
    ASSERT(c.retrieval.blend_share[RET_MIXTURE] == 0.2f);
    ASSERT(c.retrieval.blend_share[RET_SINGLE] == 0.2f);
    ASSERT(c.retrieval.blend_share[RET_POPULAR] == 0.6f);
    ASSERT(c.retrieval.rrf_k == 60.0f);
    ASSERT(c.pop_half_life_days == 14);
    ASSERT(c.mix_half_life_days == 0 && c.emb_half_life_days == 0);
    ASSERT(isinf(c.min_value) && c.min_value < 0);
    ASSERT_EQ(c.split_per_user, 0);
    ASSERT(c.test_frac == 0.2);
    ASSERT_EQ(c.min_train, 5);
    ASSERT_EQ(c.max_eval_users, 0);
    ASSERT_EQ(c.retrieval.mixture_order, RET_ORDER_SCORE);
    ASSERT_EQ(c.ranker.objective, RANK_OBJ_NDCG);
    ASSERT_EQ(c.ranker.enabled, 1);
    ASSERT_EQ(c.ranker.pool, 100);
    ASSERT_EQ(c.ranker.max_users, 20000);
    ASSERT(c.ranker.eta == 0.1f && c.ranker.subsample == 0.8f && c.ranker.depth == 4);
    ASSERT_EQ(c.retrieval.pool_union, 1);

    /* the modules' own defaults are the table's */
#define SAME_DEFAULTS(type, init, field)                                                           \
    do {                                                                                           \
        type p_;                                                                                   \
        init(&p_);                                                                                 \
        ASSERT(memcmp(&p_, &c.field, sizeof(p_)) == 0);                                            \
    } while (0)
    SAME_DEFAULTS(emb_params, emb_params_init, embed);
    SAME_DEFAULTS(intr_params, intr_params_init, interests);
    SAME_DEFAULTS(mix_params, mix_params_init, mixture);
    SAME_DEFAULTS(ret_params, ret_params_init, retrieval);
    SAME_DEFAULTS(rank_params, rank_params_init, ranker);
#undef SAME_DEFAULTS

    /* the table: unique dotted names, sane bounds, defaults inside them
     * (except data.min_value, whose default -inf means "keep everything") */
    size_t n = 0;
    const bcfg_entry *e = bcfg_entries(&n);
    ASSERT(n >= 30);
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(e[i].name, '.');
        ASSERT(dot != NULL && dot > e[i].name && dot[1] != 0);
        ASSERT(e[i].help && e[i].help[0]);
        ASSERT(e[i].min <= e[i].max);
        ASSERT(e[i].offset + type_size(&e[i]) <= sizeof(bcfg));
        ASSERT(e[i].def != NULL);
        /* its section is the build's in the one list of sections */
        const settings_section *s = settings_sections;
        while (s->name && (strncmp(s->name, e[i].name, (size_t)(dot - e[i].name)) != 0 ||
                           s->name[dot - e[i].name]))
            s++;
        if (!s->name || !(s->applies & SETTINGS_BUILD)) FAIL("%s: not a build section", e[i].name);
        for (size_t j = 0; j < i; j++) {
            ASSERT(strcmp(e[i].name, e[j].name) != 0);
            ASSERT(e[i].offset != e[j].offset); /* two names, one field */
        }
        double v = value_of(&c, &e[i]);
        if (e[i].type != SETTINGS_ENUM && strcmp(e[i].name, "data.min_value") != 0 &&
            (v < e[i].min || v > e[i].max))
            FAIL("default of %s (%g) is outside [%g, %g]", e[i].name, v, e[i].min, e[i].max);
        /* ... and its setter takes it */
        bcfg t = c;
        mx_err err = {0};
        if (strcmp(e[i].name, "data.min_value") != 0 && bcfg_set(&t, e[i].name, e[i].def, &err))
            FAIL("default of %s: %s", e[i].name, err.msg);
    }
    ASSERT(entry("embed.dim")->type == SETTINGS_SIZE);
    ASSERT(entry("embed.seed")->type == SETTINGS_U64);
    ASSERT(entry("embed.use_value")->type == SETTINGS_BOOL);
    ASSERT(entry("rank_train.objective")->type == SETTINGS_ENUM);

    char buf[64];
    bcfg_format_value(&c, entry("embed.dim"), buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "32");
    bcfg_format_value(&c, entry("embed.use_value"), buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "false");
    bcfg_format_value(&c, entry("retrieval.share_popular"), buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "0.6");
    bcfg_format_value(&c, entry("data.min_value"), buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "-inf");
    bcfg_format_value(&c, entry("rank_train.objective"), buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "rank:ndcg");
    TEST_OK("defaults, and a table of unique names whose defaults are in bounds");
}

static void test_set(void) {
    bcfg c;
    bcfg_init(&c);
    mx_err err = {0};
    /* size */
    ASSERT_EQ(bcfg_set(&c, "embed.dim", "64", &err), 0);
    ASSERT_EQ(c.embed.dim, 64);
    ASSERT_EQ(bcfg_set(&c, "embed.dim", "1", &err), 0); /* bounds are inclusive */
    ASSERT_EQ(c.embed.dim, 1);
    ASSERT_EQ(bcfg_set(&c, "embed.dim", "1024", &err), 0);
    ASSERT_EQ(c.embed.dim, 1024);
    ASSERT_EQ(bcfg_set(&c, "embed.dim", "1e2", &err), 0); /* an integer in any notation */
    ASSERT_EQ(c.embed.dim, 100);
    ASSERT_EQ(bcfg_set(&c, "mixture.knn", "0", &err), 0);
    ASSERT_EQ(c.mixture.knn_k, 0);
    ASSERT_EQ(bcfg_set(&c, "eval.max_users", "100000000", &err), 0);
    ASSERT_EQ(c.max_eval_users, 100000000);
    /* float */
    ASSERT_EQ(bcfg_set(&c, "embed.reg", "0.3", &err), 0);
    ASSERT(c.embed.reg == 0.3f);
    ASSERT_EQ(bcfg_set(&c, "retrieval.share_popular", "0.25", &err), 0);
    ASSERT(c.retrieval.blend_share[RET_POPULAR] == 0.25f);
    ASSERT(c.retrieval.blend_share[RET_MIXTURE] == 0.2f); /* its neighbours untouched */
    ASSERT_EQ(bcfg_set(&c, "data.min_value", "-2.5", &err), 0);
    ASSERT(c.min_value == -2.5f);
    /* double */
    ASSERT_EQ(bcfg_set(&c, "popularity.half_life_days", "7.25", &err), 0);
    ASSERT(c.pop_half_life_days == 7.25);
    ASSERT_EQ(bcfg_set(&c, "eval.test_frac", "0.123456789012345", &err), 0);
    ASSERT(c.test_frac == 0.123456789012345);
    /* u64 */
    ASSERT_EQ(bcfg_set(&c, "embed.seed", "123456789", &err), 0);
    ASSERT(c.embed.seed == 123456789);
    ASSERT_EQ(bcfg_set(&c, "interests.seed", "2147483647", &err), 0);
    ASSERT(c.interests.seed == 2147483647);
    ASSERT_EQ(bcfg_set(&c, "embed.seed", "10000000000000000000", &err), 0); /* > INT64_MAX */
    ASSERT(c.embed.seed == UINT64_C(10000000000000000000));
    char buf[64];
    bcfg_format_value(&c, entry("embed.seed"), buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "10000000000000000000");
    /* bool: true/false/1/0 */
    ASSERT_EQ(bcfg_set(&c, "embed.use_value", "true", &err), 0);
    ASSERT_EQ(c.embed.use_value, 1);
    bcfg_format_value(&c, entry("embed.use_value"), buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "true");
    ASSERT_EQ(bcfg_set(&c, "embed.use_value", "false", &err), 0);
    ASSERT_EQ(c.embed.use_value, 0);
    ASSERT_EQ(bcfg_set(&c, "embed.use_value", "1", &err), 0);
    ASSERT_EQ(c.embed.use_value, 1);
    ASSERT_EQ(bcfg_set(&c, "embed.use_value", "0", &err), 0);
    ASSERT_EQ(c.embed.use_value, 0);
    ASSERT_EQ(bcfg_set(&c, "eval.per_user_split", "1", &err), 0);
    ASSERT_EQ(c.split_per_user, 1);
    /* enums by name */
    ASSERT_EQ(bcfg_set(&c, "rank_train.objective", "rank:pairwise", &err), 0);
    ASSERT_EQ(c.ranker.objective, RANK_OBJ_PAIRWISE);
    ASSERT_EQ(bcfg_set(&c, "retrieval.mixture_order", "interleaved", &err), 0);
    ASSERT_EQ(c.retrieval.mixture_order, RET_ORDER_INTERLEAVE);
    TEST_OK("bcfg_set: size, float, double, u64, bool (true/false/1/0) and enum settings");

    /* out of range, named with the bounds */
    expect_set_error(&c, "embed.dim", "0", "embed.dim", "out of range");
    expect_set_error(&c, "embed.dim", "1025", "embed.dim", "1024");
    expect_set_error(&c, "embed.dim", "-3", "embed.dim", "out of range");
    expect_set_error(&c, "mixture.top_m", "256", "mixture.top_m", "out of range");
    expect_set_error(&c, "mixture.min_weight", "0.51", "mixture.min_weight", "out of range");
    expect_set_error(&c, "retrieval.share_popular", "1.5", "retrieval.share_popular",
                     "out of range");
    expect_set_error(&c, "eval.test_frac", "0.95", "eval.test_frac", "out of range");
    expect_set_error(&c, "embed.seed", "-1", "embed.seed", "out of range");
    expect_set_error(&c, "interests.seed", "2147483648", "interests.seed", "out of range");
    expect_set_error(&c, "embed.reg", "nan", "embed.reg", NULL);
    expect_set_error(&c, "embed.reg", "inf", "embed.reg", NULL);
    expect_set_error(&c, "popularity.half_life_days", "-1", "popularity.half_life_days",
                     "out of range");
    /* not an integer */
    expect_set_error(&c, "embed.dim", "3.5", "embed.dim", "not an integer");
    expect_set_error(&c, "embed.seed", "1.5", "embed.seed", "not an integer");
    expect_set_error(&c, "eval.min_train", "2.25", "eval.min_train", "not an integer");
    /* not a number */
    expect_set_error(&c, "embed.dim", "abc", "embed.dim", "not a number");
    expect_set_error(&c, "embed.dim", "", "embed.dim", "not a number");
    expect_set_error(&c, "embed.dim", "12abc", "embed.dim", "'12abc'");
    expect_set_error(&c, "embed.reg", "0.3x", "embed.reg", "not a number");
    expect_set_error(&c, "eval.test_frac", "1e-400", "eval.test_frac", NULL); /* underflow */
    /* bools take only true/false/1/0 */
    expect_set_error(&c, "embed.use_value", "yes", "embed.use_value", "'yes'");
    expect_set_error(&c, "embed.use_value", "2", "embed.use_value", "true or false");
    expect_set_error(&c, "embed.use_value", "TRUE", "embed.use_value", NULL);
    /* unknown names */
    expect_set_error(&c, "embed.dimm", "3", "unknown setting", "'embed.dimm'");
    expect_set_error(&c, "dim", "3", "unknown setting", "'dim'");
    expect_set_error(&c, "", "3", "unknown setting", NULL);
    expect_set_error(&c, "server.port", "80", "server.port", "serve setting");
    /* enums take their names; a number says which name to write */
    expect_set_error(&c, "rank_train.objective", "rank:map", "rank_train.objective", "rank:ndcg");
    expect_set_error(&c, "rank_train.objective", "1", "rank_train.objective", "\"rank:pairwise\"");
    expect_set_error(&c, "rank_train.objective", "2", "rank_train.objective", "unknown value");
    /* a renamed section gives the new name */
    expect_set_error(&c, "ranker.pool", "50", "ranker.pool", "renamed to rank_train.pool");
    TEST_OK("bcfg_set: out of range, non-integer, non-numeric, bad bool and unknown rejected");
}

static void test_load_file(const char *data_dir) {
    bcfg c;
    bcfg_init(&c);
    mx_err err = {0};
    write_cfg("{\n"
              "  \"_comment\": [\"anything\", 1, {\"dim\": 3}],\n"
              "  \"embed\": {\"_comment\": \"x\", \"dim\": 64, \"use_value\": true,\n"
              "            \"seed\": 7, \"reg\": 0.25, \"half_life_days\": 3.5},\n"
              "  \"interests\": {\"count\": 12},\n"
              "  \"mixture\": {\"knn\": 10, \"k0\": 5.5, \"top_m\": 4},\n"
              "  \"retrieval\": {\"share_popular\": 0.125, \"nprobe\": 0, \"_why\": 1},\n"
              "  \"popularity\": {\"half_life_days\": 3},\n"
              "  \"data\": {\"min_value\": -1},\n"
              "  \"eval\": {\"per_user_split\": 1, \"max_users\": 100, \"test_frac\": 0.3},\n"
              "  \"server\": {\"port\": 8080, \"dim\": \"not ours\"},\n"
              "  \"redis\": {\"host\": \"localhost\"},\n"
              "  \"ranking\": 5, \"limits\": [1, 2], \"cors\": null, \"auth\": \"x\",\n"
              "  \"log\": {}, \"session\": {}, \"events\": {}\n"
              "}\n");
    ASSERT_EQ(bcfg_load_file(&c, cfg_path, &err), 0);
    ASSERT_EQ(c.embed.dim, 64);
    ASSERT_EQ(c.embed.use_value, 1);
    ASSERT(c.embed.seed == 7);
    ASSERT(c.embed.reg == 0.25f);
    ASSERT(c.emb_half_life_days == 3.5);
    ASSERT_EQ(c.interests.n_clusters, 12);
    ASSERT_EQ(c.mixture.knn_k, 10);
    ASSERT(c.mixture.k0 == 5.5f);
    ASSERT_EQ(c.mixture.top_m, 4);
    ASSERT(c.retrieval.blend_share[RET_POPULAR] == 0.125f);
    ASSERT_EQ(c.retrieval.nprobe, 0);
    ASSERT(c.pop_half_life_days == 3);
    ASSERT(c.min_value == -1.0f);
    ASSERT_EQ(c.split_per_user, 1);
    ASSERT_EQ(c.max_eval_users, 100);
    ASSERT(c.test_frac == 0.3);
    /* settings the file does not name keep their values */
    ASSERT_EQ(c.embed.iters, 15);
    ASSERT(c.mixture.half_life == 0 && c.mix_half_life_days == 0);
    ASSERT_EQ(c.interests.niter, 25);
    ASSERT(c.retrieval.blend_share[RET_SINGLE] == 0.2f);
    ASSERT_EQ(c.min_train, 5);
    /* a second file applies over the current values */
    write_cfg("{\"embed\": {\"dim\": 8, \"use_value\": false}, \"eval\": {\"per_user_split\": 0}}");
    ASSERT_EQ(bcfg_load_file(&c, cfg_path, &err), 0);
    ASSERT_EQ(c.embed.dim, 8);
    ASSERT_EQ(c.embed.use_value, 0);
    ASSERT_EQ(c.split_per_user, 0);
    ASSERT(c.embed.seed == 7);
    ASSERT_EQ(c.mixture.knn_k, 10);
    /* empty object, only comments */
    write_cfg("{}");
    ASSERT_EQ(bcfg_load_file(&c, cfg_path, &err), 0);
    write_cfg("{\"_comment\": \"nothing\"}");
    ASSERT_EQ(bcfg_load_file(&c, cfg_path, &err), 0);
    ASSERT_EQ(c.embed.dim, 8);
    TEST_OK("bcfg_load_file: nested sections applied, _comment keys and others' sections skipped");

    /* errors name what is wrong and where */
    expect_load_error(&c, "{\"embedd\": {\"dim\": 3}}", MX_EINVAL, "unknown", "'embedd'");
    expect_load_error(&c, "{\"embed\": {\"dim\": 3}, \"frobnicate\": {}}", MX_EINVAL, "unknown",
                      "'frobnicate'");
    expect_load_error(&c, "{\"frobnicate\": 1}", MX_EINVAL, "unknown", "'frobnicate'");
    expect_load_error(&c, "{\"embed\": {\"dimm\": 3}}", MX_EINVAL, "unknown setting",
                      "'embed.dimm'");
    expect_load_error(&c, "{\"mixture\": {\"knn\": 5, \"top_k\": 3}}", MX_EINVAL, "unknown setting",
                      "'mixture.top_k'");
    expect_load_error(&c, "{\"embed\": {\"dim\": 0}}", MX_EINVAL, "embed.dim", "out of range");
    expect_load_error(&c, "{\"embed\": {\"dim\": 2.5}}", MX_EINVAL, "embed.dim", "not an integer");
    expect_load_error(&c, "{\"embed\": {\"dim\": \"6x\"}}", MX_EINVAL, "embed.dim", "not a number");
    expect_load_error(&c, "{\"embed\": {\"dim\": null}}", MX_EINVAL, "embed.dim", NULL);
    expect_load_error(&c, "{\"embed\": {\"use_value\": 2}}", MX_EINVAL, "embed.use_value",
                      "true or false");
    expect_load_error(&c, "{\"embed\": {\"dim\": [1]}}", MX_EINVAL, "embed.dim", NULL);
    expect_load_error(&c, "{\"embed\": 64}", MX_EFORMAT, "'embed'", "must be an object");
    expect_load_error(&c, "{\"eval\": [1]}", MX_EFORMAT, "'eval'", "must be an object");
    /* syntax errors: file:line */
    char where[200];
    snprintf(where, sizeof(where), "%s:3:", cfg_path);
    expect_load_error(&c, "{\n  \"embed\": {\n    \"dim\": 64,,\n  }\n}\n", MX_EFORMAT, where,
                      NULL);
    snprintf(where, sizeof(where), "%s:2:", cfg_path);
    expect_load_error(&c, "{\"embed\": {}\n", MX_EFORMAT, where, NULL); /* unterminated */
    /* the root must be an object */
    expect_load_error(&c, "[{\"embed\": {\"dim\": 3}}]", MX_EFORMAT, "must be a JSON object", NULL);
    expect_load_error(&c, "5", MX_EFORMAT, cfg_path, NULL);
    expect_load_error(&c, "", MX_EFORMAT, cfg_path, NULL);
    /* a file that does not exist is an I/O error naming it */
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/no-such-config.json", tmpdir);
    ASSERT_EQ(bcfg_load_file(&c, missing, &err), MX_EIO);
    ASSERT_EQ(err.code, MX_EIO);
    ASSERT_CONTAINS(err.msg, missing);
    ASSERT(strstr(err.msg, ":-1") == NULL);
    ASSERT_EQ(bcfg_load_file(&c, missing, NULL), MX_EIO);
    TEST_OK("bcfg_load_file: unknown section/key, bad values, syntax errors (file:line) rejected");
    TEST_OK("bcfg_load_file: a non-object root and a missing file rejected");
    bcfg_init(&c);
    int ran = settings_run_cases(data_dir, "build-", bcfg_settings(), &c, sizeof(c));
    ASSERT(ran >= 10);
    printf("ok - %d invalid build cases of tests/data/settings fail naming the setting\n", ran);

    /* the shipped configuration */
    char shipped[512];
    snprintf(shipped, sizeof(shipped), "%s/../../config/mixrec.json", data_dir);
    bcfg_init(&c);
    if (bcfg_load_file(&c, shipped, &err)) FAIL("%s", err.msg);
    ASSERT_EQ(c.embed.dim, 8); /* what mixrec tune chose (its _tuned section) */
    ASSERT(c.embed.reg == 0.55f);
    ASSERT(c.embed.alpha == 10.0f);
    ASSERT_EQ(c.interests.n_clusters, 0);
    ASSERT_EQ(c.mixture.knn_k, 50);
    ASSERT_EQ(c.mixture.top_m, 16);
    ASSERT_EQ(c.retrieval.nprobe, 16);
    ASSERT_EQ(c.retrieval.mixture_order, RET_ORDER_SCORE);
    ASSERT_EQ(c.ranker.objective, RANK_OBJ_NDCG);
    ASSERT(c.ranker.eta == 0.05f && c.ranker.depth == 4 && c.ranker.early_stop == 0);
    ASSERT(c.retrieval.blend_share[RET_POPULAR] == 0.33f);
    ASSERT(c.retrieval.pool_union == 1);
    ASSERT(c.pop_half_life_days == 7);
    TEST_OK("the shipped config/mixrec.json (mixrec tune's) loads: embed.dim 8, popularity 7 days");
}

/* Gives every entry a value different from its default. */
static void set_all_non_default(bcfg *c) {
    size_t n = 0;
    const bcfg_entry *e = bcfg_entries(&n);
    bcfg def;
    bcfg_init(&def);
    for (size_t i = 0; i < n; i++) {
        double d = value_of(&def, &e[i]);
        if (e[i].type == SETTINGS_ENUM) { /* the other name */
            mx_err err = {0};
            if (bcfg_set(c, e[i].name, e[i].names[d == 0], &err)) FAIL("%s", err.msg);
            continue;
        }
        int integral = e[i].type != SETTINGS_FLOAT && e[i].type != SETTINGS_DOUBLE;
        double cand[4] = {e[i].min + (e[i].max - e[i].min) * 0.375, e[i].min, e[i].max,
                          e[i].min + 1};
        int done = 0;
        for (int k = 0; k < 4 && !done; k++) {
            double v = integral ? floor(cand[k]) : cand[k];
            if (v == d || v < e[i].min || v > e[i].max) continue;
            char buf[64];
            if (e[i].type == SETTINGS_BOOL)
                snprintf(buf, sizeof(buf), "%s", v ? "true" : "false");
            else
                snprintf(buf, sizeof(buf), "%.17g", v);
            mx_err err = {0};
            if (bcfg_set(c, e[i].name, buf, &err)) FAIL("%s", err.msg);
            done = value_of(c, &e[i]) != d;
        }
        if (!done) FAIL("could not give %s a non-default value", e[i].name);
    }
}

/* Every table entry appears under its section with its value, nothing
 * else does, and the JSON loads back to the same values. */
static void check_json(const bcfg *c) {
    json_t *root = bcfg_to_json(c);
    ASSERT(json_is_object(root));
    size_t n = 0;
    const bcfg_entry *e = bcfg_entries(&n);
    size_t keys = 0;
    const char *sec;
    json_t *sv;
    json_object_foreach(root, sec, sv) {
        ASSERT(json_is_object(sv));
        keys += json_object_size(sv);
    }
    ASSERT_EQ(keys, n);
    for (size_t i = 0; i < n; i++) {
        char section[64];
        const char *dot = strchr(e[i].name, '.');
        snprintf(section, sizeof(section), "%.*s", (int)(dot - e[i].name), e[i].name);
        json_t *v = json_object_get(json_object_get(root, section), dot + 1);
        if (!v) FAIL("%s is not under \"%s\"", e[i].name, section);
        double want = value_of(c, &e[i]);
        switch (e[i].type) {
        case SETTINGS_ENUM:
            if (!json_is_string(v) || strcmp(json_string_value(v), e[i].names[(size_t)want]) != 0)
                FAIL("%s: not its name in JSON", e[i].name);
            break;
        case SETTINGS_BOOL:
            if (!json_is_boolean(v) || json_is_true(v) != (want != 0))
                FAIL("%s: wrong boolean", e[i].name);
            break;
        case SETTINGS_SIZE:
        case SETTINGS_U64:
            if (json_is_integer(v)) {
                if (json_integer_value(v) < 0 || (double)json_integer_value(v) != want)
                    FAIL("%s: %" JSON_INTEGER_FORMAT " in JSON, %.17g in the config", e[i].name,
                         json_integer_value(v), want);
            } else if (!json_is_real(v) || want < 0x1p63 || json_real_value(v) != want) {
                FAIL("%s: not an integer in JSON", e[i].name);
            }
            break;
        case SETTINGS_FLOAT:
        case SETTINGS_DOUBLE:
            if (!isfinite(want)) {
                if (!json_is_null(v)) FAIL("%s: infinite but not null", e[i].name);
            } else if (!json_is_real(v) || json_real_value(v) != want) {
                FAIL("%s: %.17g in JSON, %.17g in the config", e[i].name, json_number_value(v),
                     want);
            }
            break;
        default:
            FAIL("%s: a type the build table does not use", e[i].name);
        }
    }
    /* ... and loads back to the same values (when all are finite) */
    int finite = 1;
    for (size_t i = 0; i < n; i++)
        finite &= isfinite(value_of(c, &e[i])) != 0;
    if (finite) {
        ASSERT_EQ(json_dump_file(root, cfg_path, JSON_INDENT(2)), 0);
        bcfg back;
        bcfg_init(&back);
        mx_err err = {0};
        if (bcfg_load_file(&back, cfg_path, &err)) FAIL("%s", err.msg);
        for (size_t i = 0; i < n; i++)
            if (memcmp((const char *)c + e[i].offset, (const char *)&back + e[i].offset,
                       type_size(&e[i])) != 0)
                FAIL("%s: %.17g written, %.17g read back", e[i].name, value_of(c, &e[i]),
                     value_of(&back, &e[i]));
    }
    json_decref(root);
}

static void test_to_json(void) {
    bcfg c;
    bcfg_init(&c);
    check_json(&c); /* defaults, data.min_value -inf as null */
    set_all_non_default(&c);
    check_json(&c);
    /* a seed above INT64_MAX keeps its value */
    mx_err err = {0};
    ASSERT_EQ(bcfg_set(&c, "embed.seed", "10000000000000000000", &err), 0);
    check_json(&c);
    json_t *root = bcfg_to_json(&c);
    json_t *seed = json_object_get(json_object_get(root, "embed"), "seed");
    ASSERT(json_number_value(seed) == 1e19);
    json_decref(root);
    TEST_OK("bcfg_to_json: every entry under its section with its value; loads back equal");
}

/* Manifests of older builds: "ranker" for "rank_train", enums as numbers;
 * nulls, unknown names and rejected values keep what was there. */
static void test_restore(void) {
    bcfg c;
    bcfg_init(&c);
    json_error_t je;
    json_t *old = json_loads("{\"ranker\": {\"objective\": 1, \"pool\": 77, \"eta\": 0.1},"
                             " \"retrieval\": {\"mixture_order\": 0},"
                             " \"embed\": {\"dim\": null, \"bogus\": 1, \"iters\": -4},"
                             " \"data\": {\"min_value\": null}, \"newer\": {\"x\": 1},"
                             " \"popularity\": 3, \"interests\": {\"niter\": {}},"
                             " \"mixture\": {\"top_m\": 7}}",
                             0, &je);
    ASSERT(old != NULL);
    bcfg_restore_json(&c, old);
    json_decref(old);
    ASSERT_EQ(c.ranker.objective, RANK_OBJ_PAIRWISE);
    ASSERT_EQ(c.ranker.pool, 77);
    ASSERT(c.ranker.eta == 0.1f);
    ASSERT_EQ(c.retrieval.mixture_order, RET_ORDER_INTERLEAVE);
    ASSERT_EQ(c.embed.dim, 32);
    ASSERT_EQ(c.embed.iters, 15);
    ASSERT(isinf(c.min_value));
    ASSERT(c.pop_half_life_days == 14);
    ASSERT_EQ(c.interests.niter, 25);
    ASSERT_EQ(c.mixture.top_m, 7); /* after the sections it could not read */
    /* what this build writes reads back */
    set_all_non_default(&c);
    ASSERT_EQ(bcfg_set(&c, "data.min_value", "3", NULL), 0);
    json_t *now = bcfg_to_json(&c);
    bcfg back;
    bcfg_init(&back);
    bcfg_restore_json(&back, now);
    json_decref(now);
    size_t n = 0;
    const bcfg_entry *e = bcfg_entries(&n);
    for (size_t i = 0; i < n; i++)
        if (value_of(&c, &e[i]) != value_of(&back, &e[i])) FAIL("%s not restored", e[i].name);
    bcfg_restore_json(&back, NULL); /* no parameters: nothing happens */
    TEST_OK("bcfg_restore_json: old manifests (ranker, numeric enums) and new ones restore");
}

static void test_finish(void) {
    bcfg c;
    bcfg_init(&c);
    bcfg_finish(&c);
    ASSERT(c.mixture.half_life == 0);
    ASSERT(c.embed.half_life == 0);
    mx_err err = {0};
    ASSERT_EQ(bcfg_set(&c, "mixture.half_life_days", "2.5", &err), 0);
    ASSERT_EQ(bcfg_set(&c, "embed.half_life_days", "0.5", &err), 0);
    ASSERT(c.mixture.half_life == 0); /* only bcfg_finish derives them */
    bcfg_finish(&c);
    ASSERT(c.mixture.half_life == 2.5 * 86400);
    ASSERT(c.embed.half_life == 43200);
    ASSERT(c.pop_half_life_days == 14); /* stays in days */
    ASSERT_EQ(bcfg_set(&c, "mixture.half_life_days", "0", &err), 0);
    bcfg_finish(&c);
    ASSERT(c.mixture.half_life == 0);
    TEST_OK("bcfg_finish: half-lives in days become seconds");
}

int main(int argc, char **argv) {
    ASSERT(argc > 1);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mixrec-bcfg-XXXXXX");
    ASSERT(mkdtemp(tmpdir) != NULL);
    snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", tmpdir);
    test_defaults();
    test_set();
    test_load_file(argv[1]);
    test_to_json();
    test_restore();
    test_finish();
    unlink(cfg_path);
    ASSERT_EQ(rmdir(tmpdir), 0);
    return 0;
}

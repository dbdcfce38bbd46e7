/* test_access.c - keys with scopes, the client address behind trusted
 * proxies, the gate's swap (access.h), and the token buckets
 * (ratelimit.h): refills, Retry-After, separate budgets and clients, the
 * table's clean-up and its bound, the counts /metrics shows. */
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "ratelimit.h"
#include "srv_config.h"
#include "tap.h"

static srv_config cfg;

static void settings(const char *const *pairs) {
    mx_err err = {0};
    srv_config_init(&cfg);
    for (; pairs && pairs[0]; pairs += 2)
        if (srv_config_set(&cfg, pairs[0], pairs[1], &err)) FAIL("%s: %s", pairs[0], err.msg);
}

static ac_table *table_of(const char *const *pairs) {
    settings(pairs);
    ac_table *t = NULL;
    mx_err err = {0};
    if (ac_table_new(&t, &cfg, &err)) FAIL("ac_table_new: %s", err.msg);
    return t;
}

static void expect_error(const char *const *pairs, const char *needle) {
    settings(pairs);
    ac_table *t = NULL;
    mx_err err = {0};
    ASSERT(ac_table_new(&t, &cfg, &err) != 0);
    ASSERT(t == NULL);
    ASSERT_CONTAINS(err.msg, needle);
}

static void test_keys_and_scopes(void) {
    const char *keys = "[{\"id\":\"web\",\"key\":\"read-key-123\",\"scopes\":[\"read\"]},"
                       "{\"id\":\"backend\",\"key\":\"write-key-456\",\"scopes\":\"read, write\","
                       "\"write_rate\":5,\"write_burst\":10},"
                       "{\"id\":\"ops\",\"key\":\"admin-key-789\",\"scopes\":[\"admin\"]}]";
    ac_table *t = table_of((const char *[]){"auth.keys", keys, "auth.api_keys", "legacy-key",
                                            "limits.read_rate", "100", NULL});
    ASSERT(ac_has_keys(t));
    ASSERT_EQ(ac_key_count(t), 4);
    const ac_key *k = ac_find(t, "legacy-key");
    ASSERT(k && !strcmp(k->id, "key-1") && k->scopes == AC_ALL);
    k = ac_find(t, "read-key-123");
    ASSERT(k && !strcmp(k->id, "web") && k->scopes == AC_READ);
    k = ac_find(t, "write-key-456");
    ASSERT(k && k->scopes == (AC_READ | AC_WRITE));
    ASSERT(ac_find(t, "admin-key-789")->scopes == AC_ADMIN);
    ASSERT(ac_find(t, "read-key-12") == NULL);
    ASSERT(ac_find(t, "read-key-1234") == NULL);
    ASSERT(ac_find(t, "") == NULL);
    ASSERT_EQ(ac_anonymous(t), AC_READ); /* keys configured: anonymous reads only */
    double rate, burst;
    ac_limits(t, k, RL_WRITE, &rate, &burst); /* the key's own */
    ASSERT_NEAR(rate, 5, 0);
    ASSERT_NEAR(burst, 10, 0);
    ac_limits(t, k, RL_READ, &rate, &burst); /* the settings': burst = one second */
    ASSERT_NEAR(rate, 100, 0);
    ASSERT_NEAR(burst, 100, 0);
    ac_limits(t, NULL, RL_WRITE, &rate, &burst);
    ASSERT_NEAR(rate, 0, 0);
    ASSERT(ac_limited(t));
    ac_table_free(t);
    TEST_OK("keys with scopes: legacy keys have every scope, ids, own and default limits");

    t = table_of(NULL);
    ASSERT(!ac_has_keys(t));
    ASSERT_EQ(ac_anonymous(t), AC_ALL); /* no key: open (admin routes are off elsewhere) */
    ASSERT(!ac_limited(t));
    ac_table_free(t);
    t = table_of((const char *[]){"auth.api_keys", "k1-secret", "auth.anonymous", "", NULL});
    ASSERT_EQ(ac_anonymous(t), 0);
    ac_table_free(t);
    TEST_OK("no keys: open; auth.anonymous empty: nothing without a key");

    expect_error((const char *[]){"auth.keys", "{\"id\":\"x\"}", NULL}, "auth.keys: expected");
    expect_error((const char *[]){"auth.keys",
                                  "[{\"id\":\"a b\",\"key\":\"12345678\","
                                  "\"scopes\":[\"read\"]}]",
                                  NULL},
                 "auth.keys[0].id");
    expect_error((const char *[]){"auth.keys",
                                  "[{\"id\":\"a\",\"key\":\"short\","
                                  "\"scopes\":[\"read\"]}]",
                                  NULL},
                 "auth.keys[0].key");
    expect_error((const char *[]){"auth.keys",
                                  "[{\"id\":\"a\",\"key\":\"12345678\","
                                  "\"scopes\":[\"wrte\"]}]",
                                  NULL},
                 "auth.keys[0].scopes[0]");
    expect_error((const char *[]){"auth.keys",
                                  "[{\"id\":\"a\",\"key\":\"12345678\","
                                  "\"scopes\":[]}]",
                                  NULL},
                 "no scope");
    expect_error((const char *[]){"auth.keys",
                                  "[{\"id\":\"a\",\"key\":\"12345678\","
                                  "\"scopes\":\"read\",\"rate\":3}]",
                                  NULL},
                 "unknown field 'rate'");
    expect_error((const char *[]){"auth.keys",
                                  "[{\"id\":\"a\",\"key\":\"12345678\","
                                  "\"scopes\":\"read\"},{\"id\":\"a\",\"key\":"
                                  "\"87654321\",\"scopes\":\"read\"}]",
                                  NULL},
                 "the id of key 'a' again");
    expect_error((const char *[]){"auth.keys",
                                  "[{\"id\":\"a\",\"key\":\"12345678\","
                                  "\"scopes\":\"read\",\"read_rate\":-1}]",
                                  NULL},
                 "auth.keys[0].read_rate");
    expect_error((const char *[]){"auth.anonymous", "read,everything", NULL},
                 "auth.anonymous: unknown scope 'everything'");
    expect_error((const char *[]){"server.trusted_proxies", "10.0.0.0/33", NULL},
                 "server.trusted_proxies: '10.0.0.0/33'");
    TEST_OK("bad keys, scopes and proxies are refused, naming the setting");
}

static void test_client_address(void) {
    ac_table *t = table_of(
        (const char *[]){"server.trusted_proxies", "127.0.0.1, 10.0.0.0/8, fd00::/8", NULL});
    char out[64];
    ac_client(t, "192.0.2.7", "203.0.113.9", out, sizeof(out));
    ASSERT_STR_EQ(out, "192.0.2.7"); /* not from a proxy: the header is not believed */
    ac_client(t, "127.0.0.1", NULL, out, sizeof(out));
    ASSERT_STR_EQ(out, "127.0.0.1");
    ac_client(t, "127.0.0.1", "203.0.113.9", out, sizeof(out));
    ASSERT_STR_EQ(out, "203.0.113.9");
    ac_client(t, "::ffff:127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3", out, sizeof(out));
    ASSERT_STR_EQ(out, "203.0.113.9"); /* the last hop no proxy of ours added */
    ac_client(t, "fd00::5", "2001:db8::1", out, sizeof(out));
    ASSERT_STR_EQ(out, "2001:db8::1");
    ac_client(t, "127.0.0.1", "junk, 10.0.0.1", out, sizeof(out));
    ASSERT_STR_EQ(out, "10.0.0.1"); /* junk past our proxies: the last one's peer */
    ac_client(t, "::ffff:192.0.2.8", "1.2.3.4", out, sizeof(out));
    ASSERT_STR_EQ(out, "192.0.2.8");
    ac_table_free(t);
    t = table_of(NULL);
    ac_client(t, "127.0.0.1", "203.0.113.9", out, sizeof(out));
    ASSERT_STR_EQ(out, "127.0.0.1"); /* no trusted proxy: never the header */
    ac_table_free(t);
    TEST_OK("client address: X-Forwarded-For only from trusted proxies, rightmost untrusted hop");
}

static void test_gate(void) {
    ac_gate *g = ac_gate_new(table_of((const char *[]){"auth.api_keys", "old-key1", NULL}), 1000);
    ASSERT(g);
    ASSERT(ac_find(ac_gate_lock(g), "old-key1"));
    ac_gate_unlock(g);
    ac_gate_publish(g, table_of((const char *[]){"auth.api_keys", "never-seen", NULL}));
    ac_gate_publish(g, table_of((const char *[]){"auth.api_keys", "new-key1", NULL}));
    const ac_table *t = ac_gate_lock(g);
    ASSERT(!ac_find(t, "old-key1"));
    ASSERT(!ac_find(t, "never-seen")); /* replaced before it was taken (freed: ASan) */
    ASSERT(ac_find(t, "new-key1"));
    ac_gate_unlock(g);
    ASSERT(ac_gate_lock(g) == t);
    ac_gate_unlock(g);
    ac_gate_publish(g, table_of(NULL)); /* freed with the gate, never taken */
    ac_gate_free(g);
    TEST_OK("gate: the newest published table is in force at the next request");
}

static void test_buckets(void) {
    rl_limiter *l = rl_new(1000);
    int retry, ok = 0;
    for (int i = 0; i < 20; i++)
        ok += rl_take(l, "k:a", "a", RL_READ, 10, 5, 100.0, &retry);
    ASSERT_EQ(ok, 5); /* the burst */
    ASSERT_EQ(retry, 1);
    ASSERT(rl_take(l, "k:a", "a", RL_WRITE, 10, 5, 100.0, &retry)); /* its own budget */
    ASSERT(rl_take(l, "k:b", "b", RL_READ, 10, 5, 100.0, &retry));  /* another client */
    ASSERT(!rl_take(l, "k:a", "a", RL_READ, 10, 5, 100.05, &retry));
    ASSERT(rl_take(l, "k:a", "a", RL_READ, 10, 5, 100.11, &retry)); /* 0.1 s: one token */
    ASSERT(!rl_take(l, "k:a", "a", RL_READ, 10, 5, 100.12, &retry));
    ok = 0;
    for (int i = 0; i < 10; i++)
        ok += rl_take(l, "k:a", "a", RL_READ, 10, 5, 200.0, &retry);
    ASSERT_EQ(ok, 5); /* refilled to the burst, not beyond */
    ASSERT(!rl_take(l, "a:1.2.3.4", "anonymous", RL_WRITE, 0.1, 1, 300, &retry) ||
           !rl_take(l, "a:1.2.3.4", "anonymous", RL_WRITE, 0.1, 1, 300, &retry));
    ASSERT_EQ(retry, 10); /* one token at 0.1 a second: 10 s */
    ASSERT(rl_take(l, "k:c", "c", RL_READ, 0, 0, 300, &retry)); /* rate 0: unlimited */
    tbuf out = {0};
    ASSERT_EQ(rl_render(l, "default", &out), 0);
    char *text = tbuf_take(&out);
    ASSERT_CONTAINS(text,
                    "mixrec_rate_limited_total{tenant=\"default\",key=\"a\",budget=\"read\"} 22");
    ASSERT_CONTAINS(text, "key=\"anonymous\",budget=\"write\"} 1");
    ASSERT_CONTAINS(text, "mixrec_rate_limit_resets_total{tenant=\"default\"} 0");
    ASSERT(!strstr(text, "1.2.3.4")); /* addresses are never labels */
    free(text);
    rl_free(l);
    TEST_OK("buckets: burst, refill, Retry-After, budgets and clients apart, counts by key id");

    l = rl_new(64);
    for (int i = 0; i < 10000; i++) { /* clients that come once: idle again a second later */
        char who[32];
        snprintf(who, sizeof(who), "a:10.0.%d.%d", i / 256, i % 256);
        ASSERT(rl_take(l, who, "anonymous", RL_READ, 1, 1, 1000.0 + i * 1.5, &retry));
    }
    ASSERT(rl_clients(l) <= 64);
    ASSERT_EQ(rl_render(l, "t", &out), 0);
    text = tbuf_take(&out);
    ASSERT_CONTAINS(text, "mixrec_rate_limit_resets_total{tenant=\"t\"} 0");
    free(text);
    for (int i = 0; i < 200; i++) { /* more busy clients than the table holds */
        char who[32];
        snprintf(who, sizeof(who), "a:busy-%d", i);
        rl_take(l, who, "anonymous", RL_READ, 0.001, 1, 50000.0, &retry);
    }
    ASSERT(rl_clients(l) <= 64);
    ASSERT_EQ(rl_render(l, "t", &out), 0);
    text = tbuf_take(&out);
    ASSERT(!strstr(text, "mixrec_rate_limit_resets_total{tenant=\"t\"} 0"));
    free(text);
    rl_free(l);
    TEST_OK("the table drops idle clients, stays within its bound, resets as a last resort");
}

int main(void) {
    test_keys_and_scopes();
    test_client_address();
    test_gate();
    test_buckets();
    return 0;
}

/* evlog.c - see evlog.h. */
#include "evlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "expstats.h"

/* KEYS: [1] the stream, then per event i (0-based) [2+5i] its session
 * list, [3+5i] its event_id key, the experiment's sums and users [4+5i],
 * [5+5i] ("" when the answer was in none; expstats.h), and [6+5i] an
 * interleaved answer's teams (or ""): a click there credits the variant
 * that placed the item, and moves the answer between the wins and ties
 * counts. ARGV: [1]
 * stream MAXLEN, [2] session max events, [3] session TTL, [4] event_id
 * window, [5] n, then 9 per event from 6+9i: session element, user, item,
 * type, ts, event_id, recommendation_id, position ("" = absent), variant.
 * Returns 1 (stored) or 0 (duplicate) per event. */
static const char script[] =
    "local function outcome(c0, c1)\n"
    "  if c0 + c1 == 0 then return nil end\n"
    "  if c0 > c1 then return 'wins0' elseif c1 > c0 then return 'wins1' end\n"
    "  return 'ties'\n"
    "end\n"
    "local function credit(agg, il, item)\n"
    "  local team = redis.call('HGET', il, 'i:' .. item)\n"
    "  if not team then redis.call('HINCRBY', agg, '*|unattributed', 1); return end\n"
    "  local c0 = tonumber(redis.call('HGET', il, 'c0') or '0')\n"
    "  local c1 = tonumber(redis.call('HGET', il, 'c1') or '0')\n"
    "  local before = outcome(c0, c1)\n"
    "  if team == '0' then c0 = c0 + 1 else c1 = c1 + 1 end\n"
    "  redis.call('HINCRBY', il, 'c' .. team, 1)\n"
    "  redis.call('HINCRBY', agg, '*|clicks' .. team, 1)\n"
    "  local after = outcome(c0, c1)\n"
    "  if before ~= after then\n"
    "    if before then redis.call('HINCRBY', agg, '*|' .. before, -1) end\n"
    "    redis.call('HINCRBY', agg, '*|' .. after, 1)\n"
    "  end\n"
    "end\n"
    "local n = tonumber(ARGV[5])\n"
    "local out, touched = {}, {}\n"
    "for i = 0, n - 1 do\n"
    "  local a = 6 + i * 9\n"
    "  local skey, eid = KEYS[2 + i * 5], ARGV[a + 5]\n"
    "  local fresh = 1\n"
    "  if eid ~= '' and not redis.call('SET', KEYS[3 + i * 5], '1', 'NX', 'EX', ARGV[4]) then\n"
    "    fresh = 0\n"
    "  end\n"
    "  if fresh == 1 then\n"
    "    redis.call('RPUSH', skey, ARGV[a])\n"
    "    local f = {'user', ARGV[a + 1], 'item', ARGV[a + 2], 'type', ARGV[a + 3], 'ts', ARGV[a + "
    "4]}\n"
    "    local names = {'event_id', 'recommendation_id', 'position'}\n"
    "    for j = 1, 3 do\n"
    "      if ARGV[a + 4 + j] ~= '' then f[#f + 1] = names[j]; f[#f + 1] = ARGV[a + 4 + j] end\n"
    "    end\n"
    "    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(f))\n"
    "    local agg, users, il = KEYS[4 + i * 5], KEYS[5 + i * 5], KEYS[6 + i * 5]\n"
    "    if agg ~= '' then\n"
    "      local p = ARGV[a + 8] .. '|'\n"
    "      redis.call('HINCRBY', agg, p .. 'ev:' .. ARGV[a + 3], 1)\n"
    "      if ARGV[a + 3] == 'click' then\n"
    "        local u = p .. ARGV[a + 1] .. '|'\n"
    "        local c = redis.call('HINCRBY', users, u .. 'c', 1)\n"
    "        local n = tonumber(redis.call('HGET', users, u .. 'n') or '0')\n"
    "        redis.call('HINCRBY', agg, p .. 'clicks', 1)\n"
    "        redis.call('HINCRBY', agg, p .. 'clicks2', 2 * c - 1)\n"
    "        if n > 0 then redis.call('HINCRBY', agg, p .. 'cross', n) end\n"
    "        if il ~= '' then credit(agg, il, ARGV[a + 2]) end\n"
    "      end\n"
    "    end\n"
    "    if not touched[skey] then touched[skey] = true; touched[#touched + 1] = skey end\n"
    "  end\n"
    "  out[#out + 1] = fresh\n"
    "end\n"
    "for _, k in ipairs(touched) do\n"
    "  redis.call('LTRIM', k, -tonumber(ARGV[2]), -1)\n"
    "  redis.call('EXPIRE', k, ARGV[3])\n"
    "end\n"
    "return out\n";

#define HEAD_ARGS 9   /* EVAL script numkeys stream-key + 5 ARGV */
#define EVENT_ARGS 14 /* 5 keys, 9 ARGV */

typedef struct store_op {
    size_t n;
    evlog_cb cb;
    void *arg;
} store_op;

static void on_reply(void *arg, int ok, const struct redisReply *reply, const char *error) {
    store_op *op = arg;
    unsigned char *dup = calloc(op->n ? op->n : 1, 1);
    if (ok && (!dup || reply->type != REDIS_REPLY_ARRAY || reply->elements != op->n)) {
        ok = 0;
        error = dup ? "unexpected reply from the event script" : "out of memory";
    }
    for (size_t i = 0; ok && i < op->n; i++)
        dup[i] = reply->element[i]->type == REDIS_REPLY_INTEGER && reply->element[i]->integer == 0;
    op->cb(op->arg, ok, ok ? NULL : error, ok ? dup : NULL);
    free(dup);
    free(op);
}

/* Text of the numbers and keys, one slot per argument. */
typedef struct arena {
    char *buf;
    size_t used, size;
} arena;

static const char *arena_printf(arena *a, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *arena_printf(arena *a, size_t *len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(a->buf + a->used, a->size - a->used, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= a->size - a->used) return NULL;
    const char *s = a->buf + a->used;
    a->used += (size_t)k + 1;
    *len = (size_t)k;
    return s;
}

/* What one event costs in the arena at most: its session key, its
 * event_id key, the session element and the numbers. */
#define EVENT_TEXT (3 * (2 * SESS_MAX_ID + 128) + 2 * EXPSTATS_KEY_MAX + EXPSTATS_IL_KEY_MAX)

void evlog_store(sess_client *c, const srv_config *cfg, const evlog_event *ev, size_t n,
                 evlog_cb cb, void *arg) {
    if (n == 0) {
        unsigned char none = 0;
        cb(arg, 1, NULL, &none);
        return;
    }
    if (!sess_connected(c)) {
        cb(arg, 0, "redis is unavailable", NULL);
        return;
    }
    size_t argc = HEAD_ARGS + EVENT_ARGS * n;
    const char **argv = calloc(argc, sizeof(*argv));
    size_t *len = calloc(argc, sizeof(*len));
    arena a = {malloc(EVENT_TEXT * n + 256), 0, EVENT_TEXT * n + 256};
    store_op *op = malloc(sizeof(*op));
    if (!argv || !len || !a.buf || !op) {
        free(argv), free(len), free(a.buf), free(op);
        cb(arg, 0, "out of memory", NULL);
        return;
    }
    *op = (store_op){n, cb, arg};
    size_t k = 0, keys = 4, args = 4 + 5 * n;
#define LIT(s) (argv[k] = (s), len[k] = strlen(argv[k]), k++)
#define FMT(...) (argv[k] = arena_printf(&a, &len[k], __VA_ARGS__), k++)
    LIT("EVAL");
    LIT(script);
    FMT("%zu", 1 + 5 * n);
    LIT(cfg->log_events_stream);
    k = args;
    FMT("%d", cfg->log_events_maxlen);
    FMT("%d", cfg->session_max_events);
    FMT("%d", cfg->session_ttl_s);
    FMT("%d", cfg->log_event_id_window_s);
    FMT("%zu", n);
    for (size_t i = 0; i < n; i++) {
        const evlog_event *e = &ev[i];
        const char *eid = e->event_id ? e->event_id : "";
        k = keys + 5 * i;
        char key[SESS_MAX_ID + 96];
        int kl = sess_key(cfg, e->user, key, sizeof(key));
        FMT("%s", kl > 0 ? key : "");
        FMT("%sevent_id:%s:%s", cfg->redis_prefix, e->user, eid);
        char agg[EXPSTATS_KEY_MAX] = "", users[EXPSTATS_KEY_MAX] = "";
        char il[EXPSTATS_IL_KEY_MAX] = "";
        if (e->experiment) expstats_keys(cfg->redis_prefix, e->experiment, agg, users);
        if (e->experiment && e->variant == EXPERIMENT_TEAMS)
            expstats_il_key(cfg->redis_prefix, e->recommendation_id, il);
        FMT("%s", agg);
        FMT("%s", users);
        FMT("%s", il);
        k = args + 5 + 9 * i;
        FMT("%lld\t%s\t%s", (long long)e->ts, sess_type_name(e->type), e->item);
        LIT(e->user);
        LIT(e->item);
        LIT(sess_type_name(e->type));
        FMT("%lld", (long long)e->ts);
        LIT(eid);
        LIT(e->recommendation_id ? e->recommendation_id : "");
        if (e->position >= 0)
            FMT("%d", e->position);
        else
            LIT("");
        LIT(!e->experiment                   ? ""
            : e->variant == EXPERIMENT_TEAMS ? "*"
                                             : e->experiment->variants[e->variant].name);
    }
#undef LIT
#undef FMT
    int bad = 0;
    for (size_t i = 0; i < argc; i++)
        bad |= argv[i] == NULL;
    if (bad) { /* ids longer than the API allows: the caller checked */
        free(op);
        cb(arg, 0, "an event is too large to store", NULL);
    } else {
        sess_command(c, (int)argc, argv, len, on_reply, op);
    }
    free(argv);
    free(len);
    free(a.buf);
}

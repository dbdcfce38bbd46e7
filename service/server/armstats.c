/* armstats.c - see armstats.h. */
#include "armstats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "strmap.h"

/* One item's counts as last written, decayed to ts. */
typedef struct arm_rec {
    float shown, clicks;
    int64_t ts;
} arm_rec;

/* A complete copy: ids -> index into rec. */
typedef struct arm_copy {
    smap *ids;
    arm_rec *rec;
    size_t n, cap;
    double shown, clicks; /* sums over the items, decayed to when they were read */
} arm_copy;

/* Impressions counted since the last flush, summed per item. */
typedef struct arm_pending {
    smap *ids;       /* id -> index; owns the id text */
    const char **id; /* borrowed from ids */
    double *weight;
    size_t n, cap;
} arm_pending;

#define PENDING_MAX 50000 /* items held before a flush that cannot wait */

struct armstats {
    const srv_config *cfg;
    sess_client *sess;
    uv_timer_t timer;
    int stopped, scanning;
    arm_copy cur;  /* in force */
    arm_copy next; /* being read by the scan */
    arm_pending pending;
    rng_state rng;
};

static void count(sess_client *c, const srv_config *cfg, const char *const *ids,
                  const double *weight, size_t n, int64_t now, int click);

static void pending_clear(arm_pending *p) {
    smap_free(p->ids);
    free(p->id);
    free(p->weight);
    *p = (arm_pending){0};
}

/* Sends what is pending as one script and starts afresh. */
static void flush(armstats *a) {
    if (!a->pending.n) return;
    count(a->sess, a->cfg, a->pending.id, a->pending.weight, a->pending.n, (int64_t)time(NULL), 0);
    pending_clear(&a->pending);
}

static void copy_clear(arm_copy *c) {
    smap_free(c->ids);
    free(c->rec);
    *c = (arm_copy){0};
}

/* ---- the scan ------------------------------------------------------------- */

static void scan_from(armstats *a, const char *cursor);

/* Adds one field (id) and its value text ("shown clicks ts") to the copy
 * being read; a malformed value counts as nothing. */
static int copy_add(arm_copy *c, const char *id, size_t len, const char *value, double hl,
                    int64_t now) {
    arm_rec r = {0};
    double s, k;
    long long ts;
    if (sscanf(value, "%lf %lf %lld", &s, &k, &ts) != 3 || !(s >= 0) || !(k >= 0)) return 0;
    r = (arm_rec){(float)s, (float)(k < s ? k : s), ts};
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        arm_rec *grown = realloc(c->rec, cap * sizeof(*grown));
        if (!grown) return -1;
        c->rec = grown, c->cap = cap;
    }
    uint32_t at;
    int rc = smap_put(c->ids, id, len, (uint32_t)c->n, &at, NULL);
    if (rc < 0) return -1;
    c->rec[at] = r;
    if (rc == 1) c->n++;
    c->shown += explore_decay(r.shown, (double)(now - r.ts), hl);
    c->clicks += explore_decay(r.clicks, (double)(now - r.ts), hl);
    return 0;
}

static void on_scan(void *arg, int ok, const redisReply *reply, const char *error) {
    armstats *a = arg;
    (void)error;
    a->scanning = 0;
    if (a->stopped) return;
    if (!ok || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        copy_clear(&a->next); /* the copy in force stays; the timer tries again */
        return;
    }
    const redisReply *kv = reply->element[1];
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        const redisReply *f = kv->element[i], *v = kv->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        if (copy_add(&a->next, f->str, f->len, v->str, a->cfg->explore_half_life_s, now)) {
            copy_clear(&a->next);
            return;
        }
    }
    const char *cursor = reply->element[0]->str;
    if (strcmp(cursor, "0") != 0) {
        scan_from(a, cursor);
        return;
    }
    copy_clear(&a->cur);
    a->cur = a->next;
    a->next = (arm_copy){0};
}

static void scan_from(armstats *a, const char *cursor) {
    char key[96];
    snprintf(key, sizeof(key), "%s" ARMSTATS_KEY, a->cfg->redis_prefix);
    const char *argv[] = {"HSCAN", key, cursor, "COUNT", "1000"};
    size_t len[5];
    for (size_t i = 0; i < 5; i++)
        len[i] = strlen(argv[i]);
    a->scanning = 1;
    sess_command(a->sess, 5, argv, len, on_scan, a);
}

static void on_timer(uv_timer_t *t) {
    armstats *a = t->data;
    if (!a->stopped) flush(a);
    if (a->scanning || a->stopped || !sess_connected(a->sess)) return;
    copy_clear(&a->next);
    if (!(a->next.ids = smap_new(a->cur.n))) return;
    scan_from(a, "0");
}

/* ---- the copy ------------------------------------------------------------- */

armstats *armstats_new(uv_loop_t *loop, sess_client *sess, const srv_config *cfg, uint64_t seed) {
    armstats *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->cfg = cfg;
    a->sess = sess;
    rng_seed(&a->rng, seed);
    uint64_t every = (uint64_t)cfg->explore_refresh_ms;
    if (uv_timer_init(loop, &a->timer)) {
        free(a);
        return NULL;
    }
    a->timer.data = a;
    uv_timer_start(&a->timer, on_timer, 0, every); /* the first read at once */
    return a;
}

void armstats_stop(armstats *a) {
    if (!a || a->stopped) return;
    flush(a); /* while the client still can */
    a->stopped = 1;
    uv_close((uv_handle_t *)&a->timer, NULL);
}

void armstats_free(armstats *a) {
    if (!a) return;
    copy_clear(&a->cur);
    copy_clear(&a->next);
    pending_clear(&a->pending);
    free(a);
}

explore_arm armstats_get(const armstats *a, const char *id, int64_t now) {
    uint32_t i;
    if (!a || !a->cur.ids || smap_get(a->cur.ids, id, strlen(id), &i)) return (explore_arm){0, 0};
    const arm_rec *r = &a->cur.rec[i];
    double age = (double)(now - r->ts), hl = a->cfg->explore_half_life_s;
    return (explore_arm){explore_decay(r->shown, age, hl), explore_decay(r->clicks, age, hl)};
}

explore_prior armstats_prior(const armstats *a) {
    return a ? explore_prior_of(a->cur.shown, a->cur.clicks) : explore_prior_of(0, 0);
}

double armstats_mean_shown(const armstats *a) {
    return a && a->cur.n ? a->cur.shown / (double)a->cur.n : 0;
}

size_t armstats_size(const armstats *a) {
    return a ? a->cur.n : 0;
}

rng_state *armstats_rng(armstats *a) {
    return &a->rng;
}

/* ---- the counts in Redis ---------------------------------------------------- */

/* KEYS[1] the hash; ARGV[1] now, [2] half-life (<= 0: none), [3] "1" for
 * clicks, then pairs of item id and weight. Decays an item's counts to
 * now and adds the weight to its impressions, or one click to an item
 * that has counts. */
static const char script[] =
    "local now, hl, click = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'\n"
    "for i = 4, #ARGV - 1, 2 do\n"
    "  local v = redis.call('HGET', KEYS[1], ARGV[i])\n"
    "  if v or not click then\n"
    "    local s, c, t = 0, 0, now\n"
    "    if v then\n"
    "      local a, b, u = string.match(v, '^(%S+) (%S+) (%S+)$')\n"
    "      s, c, t = tonumber(a) or 0, tonumber(b) or 0, tonumber(u) or now\n"
    "    end\n"
    "    if hl > 0 and now > t then\n"
    "      local f = 2 ^ (-(now - t) / hl)\n"
    "      s, c, t = s * f, c * f, now\n"
    "    end\n"
    "    if click then c = c + 1 else s = s + tonumber(ARGV[i + 1]) end\n"
    "    redis.call('HSET', KEYS[1], ARGV[i], string.format('%.6g %.6g %d', s, c, t))\n"
    "  end\n"
    "end\n"
    "return 0\n";

#define HEAD 7 /* EVAL script 1 key now half-life click */

static void count(sess_client *c, const srv_config *cfg, const char *const *ids,
                  const double *weight, size_t n, int64_t now, int click) {
    if (!c || !n || !sess_connected(c)) return;
    const char **argv = malloc((HEAD + 2 * n) * sizeof(*argv));
    size_t *len = malloc((HEAD + 2 * n) * sizeof(*len));
    char *w = malloc(n * 24 + 1);
    char when[32], hl[32];
    snprintf(when, sizeof(when), "%lld", (long long)now);
    snprintf(hl, sizeof(hl), "%.17g", cfg->explore_half_life_s);
    if (argv && len && w) {
        char key[96];
        snprintf(key, sizeof(key), "%s" ARMSTATS_KEY, cfg->redis_prefix);
        const char *head[HEAD] = {"EVAL", script, "1", key, when, hl, click ? "1" : "0"};
        for (size_t i = 0; i < HEAD; i++)
            argv[i] = head[i];
        for (size_t i = 0; i < n; i++) {
            argv[HEAD + 2 * i] = ids[i];
            argv[HEAD + 2 * i + 1] = w + 24 * i;
            snprintf(w + 24 * i, 24, "%.6g", weight ? weight[i] : 1.0);
        }
        for (size_t i = 0; i < HEAD + 2 * n; i++)
            len[i] = strlen(argv[i]);
        sess_command(c, (int)(HEAD + 2 * n), argv, len, NULL, NULL);
    }
    free(argv);
    free(len);
    free(w);
}

/* Adds weight to id's pending impressions. 0, or -1 on OOM. */
static int pending_add(arm_pending *p, const char *id, double weight) {
    if (!p->ids && !(p->ids = smap_new(1024))) return -1;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 1024;
        const char **ids = realloc(p->id, cap * sizeof(*ids));
        if (ids) p->id = ids;
        double *w = ids ? realloc(p->weight, cap * sizeof(*w)) : NULL;
        if (!w) return -1;
        p->weight = w, p->cap = cap;
    }
    uint32_t at;
    const char *stored;
    int rc = smap_put(p->ids, id, strlen(id), (uint32_t)p->n, &at, &stored);
    if (rc < 0) return -1;
    if (rc == 1) p->id[p->n] = stored, p->weight[p->n++] = 0;
    p->weight[at] += weight;
    return 0;
}

void armstats_shown(armstats *a, const char *const *ids, size_t n) {
    if (!a || a->stopped) return;
    for (size_t i = 0; i < n; i++)
        if (pending_add(&a->pending, ids[i], armstats_exam(i))) {
            pending_clear(&a->pending); /* out of memory: these counts are lost, nothing else */
            return;
        }
    if (a->pending.n >= PENDING_MAX) flush(a);
}

double armstats_exam(size_t position) {
    return 1 / log2(2 + (double)position);
}

void armstats_clicked(sess_client *c, const srv_config *cfg, const char *const *ids, size_t n,
                      int64_t now) {
    count(c, cfg, ids, NULL, n, now, 1);
}

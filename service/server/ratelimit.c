/* ratelimit.c - see ratelimit.h. An open-addressing table (linear probes)
 * of buckets by client name; rebuilt, never deleted from, so probes need
 * no tombstones. */
#include "ratelimit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

typedef struct rl_bucket {
    double tokens, t, rate, burst; /* t: when tokens was right */
} rl_bucket;

typedef struct rl_entry {
    uint64_t h; /* 0: empty */
    char who[RL_MAX_WHO];
    rl_bucket b[RL_BUDGETS];
} rl_entry;

typedef struct rl_label {
    char name[72];
    unsigned long refused[RL_BUDGETS];
} rl_label;

struct rl_limiter {
    rl_entry *e;
    size_t cap, n, max;
    unsigned long resets;
    rl_label labels[RL_MAX_LABELS + 1]; /* the last one is "other" */
    size_t n_labels;
};

static size_t pow2_at_least(size_t n) {
    size_t p = 64;
    while (p < n && p < (SIZE_MAX >> 1))
        p <<= 1;
    return p;
}

rl_limiter *rl_new(size_t max_clients) {
    rl_limiter *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    l->max = pow2_at_least(max_clients);
    l->cap = l->max < 1024 ? l->max : 1024;
    l->e = calloc(l->cap, sizeof(*l->e));
    if (!l->e) {
        free(l);
        return NULL;
    }
    snprintf(l->labels[RL_MAX_LABELS].name, sizeof(l->labels[0].name), "other");
    return l;
}

void rl_free(rl_limiter *l) {
    if (!l) return;
    free(l->e);
    free(l);
}

size_t rl_clients(const rl_limiter *l) {
    return l->n;
}

static uint64_t who_hash(const char *who) {
    uint64_t h = hash_fnv1a(HASH_FNV_BASIS, who, strlen(who));
    return h ? h : 1; /* 0 marks an empty slot */
}

/* The bucket's tokens at now (refilled, at most its burst). */
static double refilled(const rl_bucket *b, double now) {
    double t = b->tokens + (now > b->t ? now - b->t : 0) * b->rate;
    return t < b->burst ? t : b->burst;
}

/* Whether the entry is as good as absent: every bucket back to its burst. */
static int entry_idle(const rl_entry *e, double now) {
    for (int k = 0; k < RL_BUDGETS; k++)
        if (e->b[k].rate > 0 && refilled(&e->b[k], now) < e->b[k].burst) return 0;
    return 1;
}

static rl_entry *probe(rl_entry *e, size_t cap, uint64_t h, const char *who) {
    for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (e[i].h == 0 || (e[i].h == h && strcmp(e[i].who, who) == 0)) return &e[i];
}

/* Room for one more entry: drops idle ones, grows when that frees too
 * little, and when the table is at its maximum and every client is busy,
 * starts afresh. -1 on OOM (the table is left as it was). */
static int make_room(rl_limiter *l, double now) {
    size_t keep = 0;
    for (size_t i = 0; i < l->cap; i++)
        keep += l->e[i].h && !entry_idle(&l->e[i], now);
    size_t cap = l->cap;
    int reset = 0;
    if (keep > cap / 2) {
        if (cap < l->max)
            cap *= 2;
        else
            reset = 1;
    }
    rl_entry *ne = calloc(cap, sizeof(*ne));
    if (!ne) return -1;
    size_t n = 0;
    for (size_t i = 0; !reset && i < l->cap; i++) {
        const rl_entry *o = &l->e[i];
        if (!o->h || entry_idle(o, now)) continue;
        *probe(ne, cap, o->h, o->who) = *o;
        n++;
    }
    l->resets += (unsigned long)reset;
    free(l->e);
    l->e = ne;
    l->cap = cap;
    l->n = n;
    return 0;
}

static rl_label *label_of(rl_limiter *l, const char *label) {
    for (size_t i = 0; i < l->n_labels; i++)
        if (strcmp(l->labels[i].name, label) == 0) return &l->labels[i];
    if (l->n_labels == RL_MAX_LABELS || strlen(label) >= sizeof(l->labels[0].name))
        return &l->labels[RL_MAX_LABELS];
    rl_label *lb = &l->labels[l->n_labels++];
    snprintf(lb->name, sizeof(lb->name), "%s", label);
    return lb;
}

int rl_take(rl_limiter *l, const char *who, const char *label, int budget, double rate,
            double burst, double now, int *retry_s) {
    *retry_s = 0;
    if (rate <= 0 || budget < 0 || budget >= RL_BUDGETS) return 1;
    if (burst < 1) burst = 1;
    char name[RL_MAX_WHO];
    snprintf(name, sizeof(name), "%s", who);
    uint64_t h = who_hash(name);
    rl_entry *e = probe(l->e, l->cap, h, name);
    if (!e->h) {
        if ((l->n + 1) * 4 > l->cap * 3) {
            if (make_room(l, now)) return 1; /* out of memory: admit rather than refuse all */
            e = probe(l->e, l->cap, h, name);
        }
        memset(e, 0, sizeof(*e));
        e->h = h;
        memcpy(e->who, name, sizeof(name));
        l->n++;
    }
    rl_bucket *b = &e->b[budget];
    if (b->rate <= 0) { /* a new bucket starts full */
        b->tokens = burst;
        b->t = now;
    }
    b->rate = rate; /* a reload's new figures apply from here */
    b->burst = burst;
    b->tokens = refilled(b, now);
    b->t = now;
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 1;
    }
    double wait = (1 - b->tokens) / rate;
    *retry_s = wait < 1 ? 1 : (int)ceil(wait);
    label_of(l, label && label[0] ? label : "anonymous")->refused[budget]++;
    return 0;
}

int rl_render(const rl_limiter *l, const char *tenant, tbuf *out) {
    static const char *budget_name[RL_BUDGETS] = {"read", "write"};
    tbuf_printf(out, "# HELP mixrec_rate_limited_total Requests refused with 429, by key id "
                     "(anonymous: no key) and budget.\n"
                     "# TYPE mixrec_rate_limited_total counter\n");
    for (size_t i = 0; i <= RL_MAX_LABELS; i++) {
        const rl_label *lb = &l->labels[i];
        if (i >= l->n_labels && i < RL_MAX_LABELS) continue;
        for (int k = 0; k < RL_BUDGETS; k++)
            if (i < l->n_labels || lb->refused[k])
                tbuf_printf(out,
                            "mixrec_rate_limited_total{tenant=\"%s\",key=\"%s\",budget=\"%s\"} "
                            "%lu\n",
                            tenant, lb->name, budget_name[k], lb->refused[k]);
    }
    tbuf_printf(out,
                "# HELP mixrec_rate_limit_clients Clients (keys and addresses) with a bucket "
                "that is not full.\n# TYPE mixrec_rate_limit_clients gauge\n"
                "mixrec_rate_limit_clients{tenant=\"%s\"} %zu\n"
                "# HELP mixrec_rate_limit_resets_total Times every bucket was dropped because "
                "more clients were busy than limits.rate_clients holds.\n"
                "# TYPE mixrec_rate_limit_resets_total counter\n"
                "mixrec_rate_limit_resets_total{tenant=\"%s\"} %lu\n",
                tenant, l->n, tenant, l->resets);
    return out->oom ? -1 : 0;
}

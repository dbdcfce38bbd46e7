/* implog.c - see implog.h. */
#include "implog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "numfmt.h"
#include "retrieve.h"
#include "rid.h"

/* The record's format (docs/streams.md): 1 (no `format` field) had items
 * as an array of objects; 2 has them as columns. */
#define IMPLOG_FORMAT "2"

/* The stream fields, in the order they are written. */
enum { F_RID, F_TS, F_USER, F_ROUTE, F_MODEL, F_ORDER, F_FORMAT, F_ITEMS, F_REQUEST, N_FIELDS };
static const char *const field_names[N_FIELDS] = {
    "recommendation_id", "ts", "user", "route", "model", "order", "format", "items", "request"};

typedef struct queued {
    size_t off[N_FIELDS], len[N_FIELDS]; /* into the text buffer */
} queued;

struct implog {
    uv_loop_t *loop;
    sess_client *sess;
    const srv_config *cfg;
    unsigned long *dropped;
    char maxlen[24];
    uv_check_t check;
    int checking, stopped;
    /* this turn's records: their field values one after another in text */
    char *text;
    size_t len, cap;
    int oom; /* the record being written did not fit */
    queued *q;
    size_t n, qcap;
    size_t inflight; /* sent, reply not yet seen */
};

static void drop(implog *l, size_t n) {
    if (n) __atomic_fetch_add(l->dropped, (unsigned long)n, __ATOMIC_RELAXED);
}

/* ---- a small text writer over l->text -------------------------------------- */

static char *room(implog *l, size_t n) {
    if (l->oom) return NULL;
    if (l->len + n > IMPLOG_MAX_BYTES || buf_reserve((void **)&l->text, &l->cap, l->len + n, 1)) {
        l->oom = 1;
        return NULL;
    }
    return l->text + l->len;
}

static void put_mem(implog *l, const char *s, size_t n) {
    char *p = room(l, n);
    if (!p) return;
    memcpy(p, s, n);
    l->len += n;
}

static void put(implog *l, const char *s) {
    put_mem(l, s, strlen(s));
}

static void put_u64(implog *l, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char *p = room(l, n);
    if (!p) return;
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    l->len += n;
}

/* Enough digits to read back the same float; null when not finite. */
static void put_float(implog *l, float v) {
    char *p = room(l, NUMFMT_FLOAT9_MAX);
    if (!p) return;
    if (!isfinite(v))
        l->len += 4, memcpy(p, "null", 4);
    else
        l->len += numfmt_float9(p, v); /* printf's %.9g */
}

/* s as a JSON string: quotes, backslashes and control characters escaped
 * (ids are UTF-8: the API checks what requests give). */
static void put_str(implog *l, const char *s) {
    static const char hex[] = "0123456789abcdef";
    put_mem(l, "\"", 1);
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        put_mem(l, run, (size_t)(s - run));
        if (!c) break;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put_mem(l, e, 2);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put_mem(l, e, 6);
        }
        run = s + 1;
    }
    put_mem(l, "\"", 1);
}

/* ---- encoding one record ------------------------------------------------- */

/* The items as an object of columns, one value per item in answer order
 * (position = index): each name is written once per record, not once per
 * item. A record of 20 items went from 3.5 KB of text to 1.5 KB
 * (MovieTweetings): two now share a Redis stream node (4 KB by default)
 * that one filled alone, and XADD took 9.9 us instead of 18.8. sources is
 * one letter per source (ret_source_letter). */
enum { C_ITEM, C_SCORE, C_SOURCES, C_REASON, C_PLACED_BY, C_RANK_SCORE, C_PROPENSITY, N_COLS };
static const char *const col_open[N_COLS] = {
    "{\"item\":[",       "],\"score\":[",      "],\"sources\":[",   "],\"reason\":[",
    "],\"placed_by\":[", "],\"rank_score\":[", "],\"propensity\":["};

static void put_sources(implog *l, unsigned sources) {
    char s[RET_N_SOURCES + 2];
    size_t n = 0;
    s[n++] = '"';
    for (int src = 0; src < RET_N_SOURCES; src++)
        if (sources & (1u << src)) s[n++] = ret_source_letter(src);
    s[n++] = '"';
    put_mem(l, s, n);
}

/* A name of ours (reason, placed_by): plain ASCII, no escaping needed. */
static void put_name(implog *l, const char *name) {
    put_mem(l, "\"", 1);
    put(l, name);
    put_mem(l, "\"", 1);
}

static void put_items(implog *l, const implog_record *r) {
    const mx_model *m = r->model;
    for (int c = 0; c < N_COLS; c++) {
        put(l, col_open[c]);
        for (size_t i = 0; i < r->n_items; i++) {
            const rec_item *it = &r->items[i];
            if (i) put_mem(l, ",", 1);
            switch (c) {
            case C_ITEM:
                put_str(l, it->extra ? it->extra->id : m->item_ids[it->item]);
                break;
            case C_SCORE:
                put_float(l, it->score);
                break;
            case C_SOURCES:
                put_sources(l, it->sources);
                break;
            case C_REASON:
                put_name(l, rec_reason_name(it->reason));
                break;
            case C_PLACED_BY:
                put_name(l, rec_placed_name(it->placed_by, it->ranked));
                break;
            case C_RANK_SCORE:
                put_float(l, it->rank_score);
                break;
            case C_PROPENSITY:
                put_float(l, (float)rec_item_propensity(it));
            }
        }
    }
    put(l, "]}");
}

static void put_request(implog *l, const implog_record *r) {
    const mx_model *m = r->model;
    put(l, "{\"k\":");
    put_u64(l, r->k);
    put(l, ",\"categories\":[");
    for (size_t i = 0; i < r->n_categories; i++) {
        if (i) put(l, ",");
        put_str(l, m->cat_names[r->categories[i]]);
    }
    put(l, "],\"exclude\":[");
    for (size_t i = 0; i < r->n_exclude; i++) {
        if (i) put(l, ",");
        put_str(l, m->item_ids[r->exclude[i]]);
    }
    put(l, "]");
    /* the newer filters only when given: records stay as they were without */
    if (r->n_not_categories) {
        put(l, ",\"exclude_categories\":[");
        for (size_t i = 0; i < r->n_not_categories; i++) {
            if (i) put(l, ",");
            put_str(l, m->cat_names[r->not_categories[i]]);
        }
        put(l, "]");
    }
    if (r->min_age_s > 0) {
        put(l, ",\"min_age\":");
        put_u64(l, (uint64_t)r->min_age_s);
    }
    if (r->max_age_s > 0) {
        put(l, ",\"max_age\":");
        put_u64(l, (uint64_t)r->max_age_s);
    }
    put(l, ",\"recent_items\":");
    put_u64(l, r->recent_items);
    if (r->item) {
        put(l, ",\"item\":");
        put_str(l, r->item);
    }
    put(l, ",\"session\":");
    put_str(l, r->session ? r->session : "none");
    if (r->after) {
        put(l, ",\"after\":");
        put_str(l, r->after);
    }
    if (r->experiment && r->variant) {
        put(l, ",\"experiment\":");
        put_str(l, r->experiment);
        put(l, ",\"variant\":");
        put_str(l, r->variant);
    }
    if (r->explore_share > 0) {
        put(l, ",\"explore\":");
        put_float(l, (float)r->explore_share);
    }
    put(l, "}");
}

/* ---- queue and flush ------------------------------------------------------- */

static void on_reply(void *arg, int ok, const struct redisReply *reply, const char *error) {
    (void)reply, (void)error;
    implog *l = arg;
    l->inflight--;
    if (!ok) drop(l, 1);
}

/* Sends the turn's records as one pipelined group (hiredis writes them
 * together on the next poll), then empties the queue. */
static void flush(implog *l) {
    size_t n = l->n;
    l->n = 0;
    if (!sess_connected(l->sess)) {
        drop(l, n);
    } else {
        const char *argv[6 + 2 * N_FIELDS] = {
            "XADD", l->cfg->log_impressions_stream, "MAXLEN", "~", l->maxlen, "*"};
        size_t lens[6 + 2 * N_FIELDS];
        for (int a = 0; a < 6; a++)
            lens[a] = strlen(argv[a]);
        for (int f = 0; f < N_FIELDS; f++) {
            argv[6 + 2 * f] = field_names[f];
            lens[6 + 2 * f] = strlen(field_names[f]);
        }
        for (size_t i = 0; i < n; i++) {
            for (int f = 0; f < N_FIELDS; f++) {
                argv[7 + 2 * f] = l->text + l->q[i].off[f];
                lens[7 + 2 * f] = l->q[i].len[f];
            }
            l->inflight++; /* before: the callback may run at once */
            sess_command(l->sess, 6 + 2 * N_FIELDS, argv, lens, on_reply, l);
        }
    }
    l->len = 0;
    if (l->cap > IMPLOG_MAX_BYTES / 4) { /* a burst's buffer is not kept */
        free(l->text);
        l->text = NULL;
        l->cap = 0;
    }
}

static void on_check(uv_check_t *h) {
    implog *l = h->data;
    flush(l);
    uv_check_stop(h); /* started again by the next record: an idle loop pays nothing */
    l->checking = 0;
}

implog *implog_new(uv_loop_t *loop, sess_client *sess, const srv_config *cfg,
                   unsigned long *dropped) {
    implog *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    l->loop = loop;
    l->sess = sess;
    l->cfg = cfg;
    l->dropped = dropped;
    snprintf(l->maxlen, sizeof(l->maxlen), "%d", cfg->log_impressions_maxlen);
    uv_check_init(loop, &l->check);
    l->check.data = l;
    return l;
}

void implog_add(implog *l, const implog_record *r) {
    if (l->stopped || l->n + l->inflight >= IMPLOG_MAX_PENDING ||
        buf_reserve((void **)&l->q, &l->qcap, l->n + 1, sizeof(queued))) {
        drop(l, 1);
        return;
    }
    size_t start = l->len;
    queued *q = &l->q[l->n];
    char ts[24];
    snprintf(ts, sizeof(ts), "%lld", (long long)r->ts_ms);
    const char *plain[N_FIELDS] = {r->rid,
                                   ts,
                                   r->user ? r->user : "",
                                   rid_route_name(r->route),
                                   r->model->version,
                                   rid_order_name(r->order),
                                   IMPLOG_FORMAT};
    l->oom = 0;
    for (int f = 0; f < N_FIELDS; f++) {
        q->off[f] = l->len;
        if (f == F_ITEMS)
            put_items(l, r);
        else if (f == F_REQUEST)
            put_request(l, r);
        else
            put(l, plain[f] ? plain[f] : "");
        q->len[f] = l->len - q->off[f];
    }
    if (l->oom) { /* over IMPLOG_MAX_BYTES this turn, or no memory */
        l->len = start;
        l->oom = 0;
        drop(l, 1);
        return;
    }
    l->n++;
    if (!l->checking) {
        uv_check_start(&l->check, on_check);
        l->checking = 1;
    }
}

void implog_stop(implog *l) {
    if (!l || l->stopped) return;
    flush(l);
    l->stopped = 1;
    uv_close((uv_handle_t *)&l->check, NULL);
}

void implog_free(implog *l) {
    if (!l) return;
    free(l->text);
    free(l->q);
    free(l);
}

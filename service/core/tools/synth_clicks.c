/* synth_clicks.c - see synth_clicks.h. */
#include "synth_clicks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "recommend.h"
#include "retrieve.h"
#include "rng.h"

#define SYC_MAX_K 100
#define SYC_MAX_CLICKED 512 /* per user: later clicks are not excluded any more */

void syc_params_init(syc_params *p) {
    memset(p, 0, sizeof(*p));
    p->days = 7;
    p->visit_prob = 0.3;
    p->k = 10;
    p->max_click = 0.5;
    p->seed = 1;
    p->use_ranker = 1;
}

typedef struct sim {
    const syn_world *w;
    const mx_model *m;
    const syc_params *p;
    rec_ctx *ctx;
    rec_params prm;
    int64_t *world_item; /* model item -> world item (-1: not a world item) */
    uint32_t *clicked;   /* n_users x SYC_MAX_CLICKED model items */
    uint16_t *n_clicked;
    float *wmax; /* per user: largest interest weight */
    rng_state r;
    size_t counter;
    FILE *imp, *ev, *csv;
    syc_stats *st;
} sim;

double syc_exam(size_t pos) {
    return 1.0 / log2(2.0 + (double)pos);
}

double syc_attract_w(const syn_world *w, size_t u, size_t item, double wmax, double max_click) {
    if (wmax <= 0) return 0;
    double a = max_click * w->user_weights[u * w->n_interests + w->item_interest[item]] / wmax *
               w->item_pop[item];
    return a < 0 ? 0 : a > 1 ? 1 : a;
}

double syc_user_wmax(const syn_world *w, size_t u) {
    double m = 0;
    for (size_t c = 0; c < w->n_interests; c++)
        if (w->user_weights[u * w->n_interests + c] > m)
            m = w->user_weights[u * w->n_interests + c];
    return m;
}

static double attract(const sim *s, uint32_t u, uint32_t model_item) {
    int64_t i = s->world_item[model_item];
    return i < 0 ? 0 : syc_attract_w(s->w, u, (size_t)i, s->wmax[u], s->p->max_click);
}

static json_t *item_json(const sim *s, const rec_item *it, size_t pos, int ranked) {
    json_t *src = json_array();
    for (int k = 0; k < RET_N_SOURCES; k++)
        if (it->sources & (1u << k)) json_array_append_new(src, json_string(ret_source_name(k)));
    return json_pack("{s:s,s:I,s:f,s:o,s:s,s:s,s:f}", "item", s->m->item_ids[it->item], "position",
                     (json_int_t)pos, "score", (double)it->score, "sources", src, "reason",
                     rec_reason_name(it->reason), "placed_by",
                     rec_placed_name(it->placed_by, ranked), "rank_score", (double)it->rank_score);
}

/* One impression line (the export format). */
static int write_impression(sim *s, const char *rid, uint32_t u, int64_t ts, const rec_item *it,
                            size_t n, int ranked, const rec_query *q) {
    if (!s->imp) return 0;
    json_t *items = json_array(), *excl = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, item_json(s, &it[i], i, ranked));
    for (size_t i = 0; i < q->n_exclude; i++)
        json_array_append_new(excl, json_string(s->m->item_ids[q->exclude[i]]));
    char user[32], sid[48];
    snprintf(user, sizeof(user), "u%u", u);
    snprintf(sid, sizeof(sid), "%lld-%zu", (long long)ts * 1000, s->counter);
    json_t *o =
        json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:o,s:{s:I,s:[],s:o,s:I,s:s},s:s}", "recommendation_id",
                  rid, "ts", (json_int_t)ts * 1000, "user", user, "route", "user_recommendations",
                  "model", s->m->version, "order", ranked ? "ranker" : "retrieval", "items", items,
                  "request", "k", (json_int_t)s->p->k, "categories", "exclude", excl,
                  "recent_items", (json_int_t)q->n_events, "session", "ok", "stream_id", sid);
    if (!o) return -1;
    int rc = json_dumpf(o, s->imp, JSON_COMPACT) || fputc('\n', s->imp) == EOF;
    json_decref(o);
    return rc ? -1 : 0;
}

static int write_click(sim *s, const char *rid, uint32_t u, uint32_t item, size_t pos, int64_t ts) {
    const char *id = s->m->item_ids[item];
    if (s->csv && fprintf(s->csv, "u%u,%s,%lld,1\n", u, id, (long long)ts) < 0) return -1;
    if (!s->ev) return 0;
    char user[32], eid[96], sid[48];
    snprintf(user, sizeof(user), "u%u", u);
    snprintf(eid, sizeof(eid), "%s-%zu", rid, pos);
    snprintf(sid, sizeof(sid), "%lld-%zu", (long long)ts * 1000, s->counter);
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:s,s:I,s:s,s:s}", "user", user, "item", id, "type",
                          "click", "ts", (json_int_t)ts, "recommendation_id", rid, "position",
                          (json_int_t)pos, "event_id", eid, "stream_id", sid);
    if (!o) return -1;
    int rc = json_dumpf(o, s->ev, JSON_COMPACT) || fputc('\n', s->ev) == EOF;
    json_decref(o);
    return rc ? -1 : 0;
}

/* One slate to world user u at ts with session sess; the clicks go into
 * sess (capacity SYC_MAX_K) and *n_sess. */
static int one_slate(sim *s, uint32_t u, int64_t ts, rec_event *sess, size_t *n_sess, mx_err *err) {
    char id[32];
    snprintf(id, sizeof(id), "u%u", u);
    int64_t mu = model_user(s->m, id);
    s->st->unknown_users += mu < 0;
    rec_query q = {.user = mu,
                   .events = sess,
                   .n_events = *n_sess,
                   .k = s->p->k,
                   .now = ts,
                   .exclude = s->clicked + (size_t)u * SYC_MAX_CLICKED,
                   .n_exclude = s->n_clicked[u]};
    rec_item out[SYC_MAX_K];
    size_t n = 0;
    if (rec_recommend(s->ctx, &s->prm, &q, out, &n, err)) return -1;
    int ranked = rec_last_ranked(s->ctx);
    char rid[32];
    snprintf(rid, sizeof(rid), "sim%05llx%016zx", (unsigned long long)(s->p->seed & 0xfffff),
             s->counter);
    if (write_impression(s, rid, u, ts, out, n, ranked, &q))
        return mx_err_set(err, MX_EIO, "synth clicks: cannot write an impression");
    s->st->slates++;
    s->st->ranked += ranked;
    size_t new_clicks = 0;
    for (size_t p = 0; p < n; p++) {
        double pc = syc_exam(p) * attract(s, u, out[p].item);
        s->st->expected_clicks += pc;
        if (rng_uniform(&s->r) >= pc) continue;
        s->st->clicks++;
        int64_t cts = ts + 5 + (int64_t)p;
        if (write_click(s, rid, u, out[p].item, p, cts))
            return mx_err_set(err, MX_EIO, "synth clicks: cannot write a click");
        if (s->n_clicked[u] < SYC_MAX_CLICKED)
            s->clicked[(size_t)u * SYC_MAX_CLICKED + s->n_clicked[u]++] = out[p].item;
        if (*n_sess + new_clicks < SYC_MAX_K)
            sess[*n_sess + new_clicks++] = (rec_event){.item = out[p].item, .ts = cts, .weight = 1};
    }
    *n_sess += new_clicks;
    s->counter++;
    return 0;
}

static int sim_init(sim *s, mx_err *err) {
    const syn_world *w = s->w;
    s->ctx = rec_ctx_new(s->m, s->p->k);
    s->world_item = malloc((s->m->n_items ? s->m->n_items : 1) * sizeof(int64_t));
    s->clicked = malloc(w->n_users * SYC_MAX_CLICKED * sizeof(uint32_t));
    s->n_clicked = calloc(w->n_users, sizeof(uint16_t));
    s->wmax = calloc(w->n_users, sizeof(float));
    if (!s->ctx || !s->world_item || !s->clicked || !s->n_clicked || !s->wmax)
        return mx_err_set(err, MX_ENOMEM, "synth clicks: out of memory");
    for (size_t i = 0; i < s->m->n_items; i++) {
        const char *id = s->m->item_ids[i];
        char *end;
        unsigned long long v = id[0] == 'i' ? strtoull(id + 1, &end, 10) : 0;
        s->world_item[i] =
            id[0] == 'i' && end != id + 1 && !*end && v < w->n_items ? (int64_t)v : -1;
    }
    for (size_t u = 0; u < w->n_users; u++)
        s->wmax[u] = (float)syc_user_wmax(w, u);
    rec_params_init(&s->prm);
    s->prm.use_ranker = s->p->use_ranker;
    rng_seed(&s->r, s->p->seed ^ 0x5eed5eed5eedULL);
    return 0;
}

int syc_run(const syn_world *w, const mx_model *m, const syc_params *p, int64_t history_end,
            FILE *impressions, FILE *events, FILE *clicks_csv, syc_stats *st, mx_err *err) {
    memset(st, 0, sizeof(*st));
    if (p->k == 0 || p->k > SYC_MAX_K)
        return mx_err_set(err, MX_EINVAL, "synth clicks: k must be in [1, %d]", SYC_MAX_K);
    sim s = {.w = w, .m = m, .p = p, .imp = impressions, .ev = events, .csv = clicks_csv, .st = st};
    int rc = sim_init(&s, err);
    if (!rc && clicks_csv && fprintf(clicks_csv, "user,item,timestamp,weight\n") < 0)
        rc = mx_err_set(err, MX_EIO, "synth clicks: cannot write the clicks");
    int64_t t0 = p->start ? p->start : history_end;
    for (size_t d = 0; !rc && d < p->days; d++)
        for (uint32_t u = 0; !rc && u < w->n_users; u++) {
            if (rng_uniform(&s.r) >= p->visit_prob) continue;
            int64_t ts = t0 + (int64_t)d * 86400 + (int64_t)(rng_uniform(&s.r) * 86000.0);
            rec_event sess[SYC_MAX_K];
            size_t ns = 0;
            st->visits++;
            rc = one_slate(&s, u, ts, sess, &ns, err);
            if (!rc && ns) rc = one_slate(&s, u, ts + 120, sess, &ns, err);
        }
    rec_ctx_free(s.ctx);
    free(s.world_item);
    free(s.clicked);
    free(s.n_clicked);
    free(s.wmax);
    return rc;
}

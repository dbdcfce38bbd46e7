/* prom.c - see prom.h. */
#include "prom.h"

#include "experiment.h"
#include "expset.h"
#include "hash.h"
#include "rid.h"
#include "sessions.h"
#include "tbuf.h"

_Static_assert(PROM_EVENT_TYPES == SESS_N_TYPES, "one counter per event type");

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[] = {200, 204, 400, 401, 403, 404, 405,
                               413, 415, 422, 429, 431, 500, 503};
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]) + 1) /* + other */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

typedef struct {
    atomic_ulong count[N_BUCKETS + 1]; /* per bucket (not cumulative), + overflow */
    atomic_ulong sum_us;
} histogram;

/* One promotion's label: name is written once, before ready is set, and
 * never again, so readers that see ready may read it without the lock. */
typedef struct {
    atomic_int ready;
    char name[65];
    atomic_ulong items;
} promo_slot;

/* One (experiment, variant) label pair: written once under exp_lock
 * before ready is set, and never again, so readers that see ready may
 * read the names without the lock (as promo_slot). */
typedef struct {
    atomic_int ready;
    char experiment[EXPERIMENT_MAX_NAME + 1], variant[EXPERIMENT_MAX_NAME + 1];
    atomic_ulong impressions;
    atomic_ulong attributed[PROM_EVENT_TYPES];
} exp_slot;
/* Open addressing, at most half full: a lookup probes a slot or two. */
#define EXP_TABLE (2 * PROM_MAX_EXPERIMENT_LABELS)

struct prom {
    const char *const *route_names;
    int n_routes;
    atomic_ulong requests[PROM_MAX_ROUTES][N_STATUS];
    histogram latency[PROM_MAX_ROUTES][N_STATUS];
    histogram session_latency;
    atomic_ulong session_reads[2]; /* unavailable, ok */
    atomic_ulong events_stored, events_rejected, events_failed, events_failed_batches;
    atomic_ulong events_duplicate;
    atomic_ulong events_by_type[PROM_EVENT_TYPES], events_unknown_items;
    atomic_ulong candidates[3], candidate_requests;
    atomic_ulong reloads[2]; /* failed, ok */
    atomic_ulong ordered[2]; /* retrieval order, ranker */
    atomic_ulong stage_ns[PROM_N_STAGES], staged;
    atomic_ulong impressions[RID_N_ROUTES][RID_N_ORDERS];
    atomic_ulong attributed[PROM_EVENT_TYPES][RID_N_ROUTES][RID_N_ORDERS];
    exp_slot exp[EXP_TABLE];
    int exp_order[PROM_MAX_EXPERIMENT_LABELS]; /* slots in the order seen; under exp_lock */
    atomic_int n_exp;                          /* entries of exp_order (release) */
    atomic_ulong exp_unrecorded, exp_unlabelled;
    pthread_mutex_t exp_lock; /* taken only to claim a slot for a new pair */
    promo_slot promoted[PROM_MAX_PROMOTIONS];
    atomic_ulong promoted_other, fresh;
    pthread_mutex_t promo_lock; /* taken only to claim a slot for a new name */
};

prom *prom_new(const char *const *route_names, int n_routes) {
    if (n_routes < 1 || n_routes > PROM_MAX_ROUTES) return NULL;
    prom *p = calloc(1, sizeof(prom)); /* zeroed atomics are valid zeros */
    if (!p) return NULL;
    p->route_names = route_names;
    p->n_routes = n_routes;
    pthread_mutex_init(&p->promo_lock, NULL);
    pthread_mutex_init(&p->exp_lock, NULL);
    return p;
}

void prom_free(prom *p) {
    if (!p) return;
    pthread_mutex_destroy(&p->promo_lock);
    pthread_mutex_destroy(&p->exp_lock);
    free(p);
}

/* A label value that needs no escaping (promo.h's names). */
static int label_ok(const char *s) {
    size_t n = 0;
    for (; s && s[n]; n++)
        if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
              (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '.' || s[n] == '-'))
            return 0;
    return n >= 1 && n <= 64 && strcmp(s, "other") != 0;
}

static promo_slot *find_promo(prom *p, const char *name) {
    for (int i = 0; i < PROM_MAX_PROMOTIONS; i++)
        if (atomic_load(&p->promoted[i].ready) && !strcmp(p->promoted[i].name, name))
            return &p->promoted[i];
    return NULL;
}

void prom_promoted(prom *p, const char *name, size_t n) {
    if (!n) return;
    promo_slot *s = label_ok(name) ? find_promo(p, name) : NULL;
    if (!s && label_ok(name)) { /* a new name: claim a slot, once per name */
        pthread_mutex_lock(&p->promo_lock);
        if (!(s = find_promo(p, name)))
            for (int i = 0; i < PROM_MAX_PROMOTIONS && !s; i++)
                if (!atomic_load(&p->promoted[i].ready)) {
                    s = &p->promoted[i];
                    snprintf(s->name, sizeof(s->name), "%s", name);
                    atomic_store(&s->ready, 1);
                }
        pthread_mutex_unlock(&p->promo_lock);
    }
    atomic_fetch_add(s ? &s->items : &p->promoted_other, (unsigned long)n);
}

void prom_fresh(prom *p, size_t n) {
    atomic_fetch_add(&p->fresh, (unsigned long)n);
}

static void observe(histogram *h, double s) {
    size_t b = 0;
    while (b < N_BUCKETS && s > buckets[b])
        b++;
    atomic_fetch_add(&h->count[b], 1);
    atomic_fetch_add(&h->sum_us, (unsigned long)(s * 1e6));
}

void prom_request(prom *p, int route, int status, double seconds) {
    if (route < 0 || route >= p->n_routes) route = 0;
    size_t si = N_STATUS - 1;
    for (size_t i = 0; i + 1 < N_STATUS; i++)
        if (statuses[i] == status) si = i;
    atomic_fetch_add(&p->requests[route][si], 1);
    observe(&p->latency[route][si], seconds);
}

void prom_session_read(prom *p, int ok, double seconds) {
    atomic_fetch_add(&p->session_reads[ok ? 1 : 0], 1);
    if (ok) observe(&p->session_latency, seconds);
}

void prom_events(prom *p, const prom_event_batch *b) {
    size_t stored = 0;
    for (int t = 0; t < PROM_EVENT_TYPES; t++)
        stored += b->valid_by_type[t];
    if (b->redis_failed) {
        atomic_fetch_add(&p->events_failed, stored);
        atomic_fetch_add(&p->events_failed_batches, 1);
    } else {
        atomic_fetch_add(&p->events_stored, stored);
        for (int t = 0; t < PROM_EVENT_TYPES; t++)
            atomic_fetch_add(&p->events_by_type[t], b->valid_by_type[t]);
        atomic_fetch_add(&p->events_unknown_items, b->unknown_items);
        atomic_fetch_add(&p->events_duplicate, b->duplicates);
    }
    atomic_fetch_add(&p->events_rejected, b->rejected);
}

void prom_candidates(prom *p, const size_t by_source[3]) {
    for (int s = 0; s < 3; s++)
        atomic_fetch_add(&p->candidates[s], by_source[s]);
    atomic_fetch_add(&p->candidate_requests, 1);
}

void prom_ranking(prom *p, int ranked) {
    atomic_fetch_add(&p->ordered[ranked ? 1 : 0], 1);
}

void prom_stage(prom *p, int stage, uint64_t ns) {
    if (stage >= 0 && stage < PROM_N_STAGES) atomic_fetch_add(&p->stage_ns[stage], ns);
}

void prom_staged(prom *p) {
    atomic_fetch_add(&p->staged, 1);
}

static const char *stage_name(int stage) {
    static const char *server[] = {"http_in", "session"};
    static const char *after[] = {"catalogue", "encode", "log", "http_out"};
    if (stage < PROM_STAGE_REC) return server[stage];
    if (stage < PROM_STAGE_CATALOGUE) return rec_stage_name(stage - PROM_STAGE_REC);
    return after[stage - PROM_STAGE_CATALOGUE];
}

static void put_stages(tbuf *b, prom *p) {
    tbuf_printf(b, "# HELP mixrec_stage_seconds_total Time recommendation answers spent per stage "
                   "(monotonic clock; docs/performance.md).\n"
                   "# TYPE mixrec_stage_seconds_total counter\n");
    for (int i = 0; i < PROM_N_STAGES; i++)
        tbuf_printf(b, "mixrec_stage_seconds_total{stage=\"%s\"} %.6f\n", stage_name(i),
                    (double)atomic_load(&p->stage_ns[i]) / 1e9);
    tbuf_printf(b,
                "# HELP mixrec_stage_answers_total Recommendation answers counted in "
                "mixrec_stage_seconds_total.\n"
                "# TYPE mixrec_stage_answers_total counter\n"
                "mixrec_stage_answers_total %lu\n",
                atomic_load(&p->staged));
}

void prom_reload(prom *p, int ok) {
    atomic_fetch_add(&p->reloads[ok ? 1 : 0], 1);
}

void prom_impression(prom *p, int route, int order) {
    if (route < 0 || route >= RID_N_ROUTES || order < 0 || order >= RID_N_ORDERS) return;
    atomic_fetch_add(&p->impressions[route][order], 1);
}

void prom_attributed(prom *p, int type, const char *recommendation_id) {
    int route, order;
    if (type < 0 || type >= PROM_EVENT_TYPES || rid_parse(recommendation_id, &route, &order))
        return;
    atomic_fetch_add(&p->attributed[type][route][order], 1);
}

/* The label of counter slot v of e: a variant's name, "interleaved" for
 * an interleaved experiment's answers (experiment.h's EXPERIMENT_TEAMS),
 * NULL for an unused slot. */
static const char *variant_label(const experiment *e, size_t v) {
    if (v < e->n_variants) return e->variants[v].name;
    return v == EXPERIMENT_TEAMS && e->mode == EXPERIMENT_INTERLEAVE ? "interleaved" : NULL;
}

/* The slot of the pair (x, v): found without the lock, or (claim, under
 * exp_lock) made in the first free slot of its probe sequence. NULL when
 * absent, or when the label set is full. */
static exp_slot *exp_find(prom *p, const char *x, const char *v, int claim) {
    uint64_t h = hash_fnv1a(HASH_FNV_BASIS, x, strlen(x) + 1);
    size_t i = (size_t)(hash_fnv1a(h, v, strlen(v)) % EXP_TABLE);
    for (size_t k = 0; k < EXP_TABLE; k++, i = (i + 1) % EXP_TABLE) {
        exp_slot *s = &p->exp[i];
        if (atomic_load_explicit(&s->ready, memory_order_acquire)) {
            if (!strcmp(s->experiment, x) && !strcmp(s->variant, v)) return s;
            continue;
        }
        int n = atomic_load_explicit(&p->n_exp, memory_order_relaxed);
        if (!claim || n >= PROM_MAX_EXPERIMENT_LABELS) return NULL;
        snprintf(s->experiment, sizeof(s->experiment), "%s", x);
        snprintf(s->variant, sizeof(s->variant), "%s", v);
        p->exp_order[n] = (int)i;
        atomic_store_explicit(&s->ready, 1, memory_order_release);
        atomic_store_explicit(&p->n_exp, n + 1, memory_order_release);
        return s;
    }
    return NULL;
}

/* The counters of the pair (x, label), made when new; NULL when the
 * label set is full. */
static exp_slot *exp_claim(prom *p, const char *x, const char *label) {
    exp_slot *s = exp_find(p, x, label, 0);
    if (!s) { /* a new pair: claim a slot, once per pair */
        pthread_mutex_lock(&p->exp_lock);
        s = exp_find(p, x, label, 1);
        pthread_mutex_unlock(&p->exp_lock);
    }
    return s;
}

/* The counters of variant slot v of e; NULL (counted as unlabelled when v
 * is a slot of e) when the label set is full. */
static exp_slot *exp_slot_of(prom *p, const experiment *e, size_t v) {
    const char *label = variant_label(e, v);
    exp_slot *s = label ? exp_claim(p, e->name, label) : NULL;
    if (label && !s) atomic_fetch_add(&p->exp_unlabelled, 1);
    return s;
}

void prom_experiment_impression(prom *p, const experiment *e, size_t v) {
    exp_slot *s = e ? exp_slot_of(p, e, v) : NULL;
    if (s) atomic_fetch_add(&s->impressions, 1);
}

void prom_experiment_attributed(prom *p, const experiment *e, size_t v, int type) {
    if (type < 0 || type >= PROM_EVENT_TYPES) return;
    exp_slot *s = e ? exp_slot_of(p, e, v) : NULL;
    if (s) atomic_fetch_add(&s->attributed[type], 1);
}

void prom_experiment_unrecorded(prom *p) {
    atomic_fetch_add(&p->exp_unrecorded, 1);
}

static void put_histogram(tbuf *b, const char *name, const char *labels, histogram *h) {
    unsigned long cum = 0;
    const char *sep = labels[0] ? "," : "";
    for (size_t i = 0; i < N_BUCKETS; i++) {
        cum += atomic_load(&h->count[i]);
        tbuf_printf(b, "%s_bucket{%s%sle=\"%g\"} %lu\n", name, labels, sep, buckets[i], cum);
    }
    cum += atomic_load(&h->count[N_BUCKETS]);
    tbuf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", name, labels, sep, cum);
    tbuf_printf(b, "%s_sum{%s} %.6f\n", name, labels, (double)atomic_load(&h->sum_us) / 1e6);
    tbuf_printf(b, "%s_count{%s} %lu\n", name, labels, cum);
}

static double ratio(unsigned long num, unsigned long den) {
    return den ? (double)num / (double)den : 0.0;
}

/* Impressions, attributed events and click-through (route "all" and order
 * "all" sum over the other label). */
static void put_loop(tbuf *b, prom *p, const prom_gauges *g) {
    unsigned long imp[RID_N_ROUTES + 1][RID_N_ORDERS + 1] = {{0}};
    unsigned long clk[RID_N_ROUTES + 1][RID_N_ORDERS + 1] = {{0}};
    tbuf_printf(
        b, "# HELP mixrec_impressions_total Recommendation answers given (each one an impression "
           "record when log.impressions is on), by route and order.\n"
           "# TYPE mixrec_impressions_total counter\n");
    for (int r = 0; r < RID_N_ROUTES; r++)
        for (int o = 0; o < RID_N_ORDERS; o++) {
            unsigned long v = atomic_load(&p->impressions[r][o]);
            unsigned long c = atomic_load(&p->attributed[SESS_CLICK][r][o]);
            tbuf_printf(b, "mixrec_impressions_total{route=\"%s\",order=\"%s\"} %lu\n",
                        rid_route_name(r), rid_order_name(o), v);
            imp[r][o] += v, imp[r][RID_N_ORDERS] += v, imp[RID_N_ROUTES][o] += v;
            imp[RID_N_ROUTES][RID_N_ORDERS] += v;
            clk[r][o] += c, clk[r][RID_N_ORDERS] += c, clk[RID_N_ROUTES][o] += c;
            clk[RID_N_ROUTES][RID_N_ORDERS] += c;
        }
    tbuf_printf(
        b,
        "# HELP mixrec_impressions_dropped_total Impression records not stored (Redis down, slow "
        "or refusing, or the worker's queue full).\n"
        "# TYPE mixrec_impressions_dropped_total counter\n"
        "mixrec_impressions_dropped_total %lu\n",
        g->impressions_dropped);
    tbuf_printf(
        b, "# HELP mixrec_attributed_events_total Stored events carrying a recommendation_id, by "
           "type and the route and order of the answer it names.\n"
           "# TYPE mixrec_attributed_events_total counter\n");
    for (int t = 0; t < PROM_EVENT_TYPES; t++)
        for (int r = 0; r < RID_N_ROUTES; r++)
            for (int o = 0; o < RID_N_ORDERS; o++)
                tbuf_printf(b,
                            "mixrec_attributed_events_total{type=\"%s\",route=\"%s\",order=\"%s\"} "
                            "%lu\n",
                            sess_type_name(t), rid_route_name(r), rid_order_name(o),
                            atomic_load(&p->attributed[t][r][o]));
    tbuf_printf(
        b, "# HELP mixrec_click_through Attributed clicks / impressions since start (0 without "
           "impressions), by route and order; \"all\" sums over one label. Across replicas, "
           "divide the sums of the two counters instead.\n"
           "# TYPE mixrec_click_through gauge\n");
    for (int r = 0; r <= RID_N_ROUTES; r++)
        for (int o = 0; o <= RID_N_ORDERS; o++)
            tbuf_printf(b, "mixrec_click_through{route=\"%s\",order=\"%s\"} %.6g\n",
                        r < RID_N_ROUTES ? rid_route_name(r) : "all",
                        o < RID_N_ORDERS ? rid_order_name(o) : "all", ratio(clk[r][o], imp[r][o]));
}

static void put_promotions(tbuf *b, prom *p) {
    tbuf_printf(
        b,
        "# HELP mixrec_promoted_total Items placed into answers by a promotion, by its name "
        "(the first %d names this process saw; later ones count as \"other\").\n"
        "# TYPE mixrec_promoted_total counter\n",
        PROM_MAX_PROMOTIONS);
    for (int i = 0; i < PROM_MAX_PROMOTIONS; i++)
        if (atomic_load(&p->promoted[i].ready))
            tbuf_printf(b, "mixrec_promoted_total{promotion=\"%s\"} %lu\n", p->promoted[i].name,
                        atomic_load(&p->promoted[i].items));
    tbuf_printf(
        b,
        "mixrec_promoted_total{promotion=\"other\"} %lu\n"
        "# HELP mixrec_fresh_total Items placed into answers by the fresh source (catalogue "
        "items the model has not trained on).\n"
        "# TYPE mixrec_fresh_total counter\n"
        "mixrec_fresh_total %lu\n",
        atomic_load(&p->promoted_other), atomic_load(&p->fresh));
}

/* Per experiment and variant, by name, since this process started: the
 * list in force's (at 0 before their first answer), and those of earlier
 * lists, with their final totals. */
static void put_experiments(tbuf *b, prom *p, const prom_gauges *g) {
    xs_ref *x = xs_acquire(g->experiments, NULL);
    const experiment_list *l = xs_list(x);
    for (size_t i = 0; i < experiment_count(l); i++)
        for (size_t v = 0; v <= EXPERIMENT_TEAMS; v++) {
            const char *label = variant_label(experiment_at(l, i), v);
            if (label) exp_claim(p, experiment_at(l, i)->name, label);
        }
    if (g->experiments)
        tbuf_printf(
            b,
            "# HELP mixrec_experiments_version The experiment list in force: the version of "
            "mixrec:experiments it was stored at (0: none yet), and its source (settings: "
            "experiments.list; redis: an operator's PUT). Equal on every replica once they agree.\n"
            "# TYPE mixrec_experiments_version gauge\n"
            "mixrec_experiments_version{source=\"%s\"} %lld\n",
            xs_source_of(x) == XS_REDIS ? "redis" : "settings", (long long)xs_version(x));
    xs_release(x);
    int n = atomic_load_explicit(&p->n_exp, memory_order_acquire);
    tbuf_printf(
        b, "# HELP mixrec_experiment_impressions_total Answers given by each variant of each "
           "experiment (this replica, since start; by name: an experiment removed from the list "
           "keeps its final totals).\n"
           "# TYPE mixrec_experiment_impressions_total counter\n");
    for (int i = 0; i < n; i++) {
        exp_slot *s = &p->exp[p->exp_order[i]];
        tbuf_printf(b,
                    "mixrec_experiment_impressions_total{experiment=\"%s\",variant=\"%s\"} %lu\n",
                    s->experiment, s->variant, atomic_load(&s->impressions));
    }
    tbuf_printf(b,
                "# HELP mixrec_experiment_attributed_events_total Stored events attributed to an "
                "answer of each variant, by type (this replica, since start).\n"
                "# TYPE mixrec_experiment_attributed_events_total counter\n");
    for (int i = 0; i < n; i++) {
        exp_slot *s = &p->exp[p->exp_order[i]];
        for (int t = 0; t < PROM_EVENT_TYPES; t++)
            tbuf_printf(
                b,
                "mixrec_experiment_attributed_events_total{experiment=\"%s\",variant=\"%s\","
                "type=\"%s\"} %lu\n",
                s->experiment, s->variant, sess_type_name(t), atomic_load(&s->attributed[t]));
    }
    tbuf_printf(
        b,
        "# HELP mixrec_experiment_counts_unrecorded_total Experiment impressions Redis did not "
        "count (down, slow or refusing): the report misses them.\n"
        "# TYPE mixrec_experiment_counts_unrecorded_total counter\n"
        "mixrec_experiment_counts_unrecorded_total %lu\n"
        "# HELP mixrec_experiment_counts_unlabelled_total Experiment answers and events counted "
        "without their labels: past the first %d (experiment, variant) pairs this process saw.\n"
        "# TYPE mixrec_experiment_counts_unlabelled_total counter\n"
        "mixrec_experiment_counts_unlabelled_total %lu\n",
        atomic_load(&p->exp_unrecorded), PROM_MAX_EXPERIMENT_LABELS,
        atomic_load(&p->exp_unlabelled));
}

char *prom_render(prom *p, const prom_gauges *g) {
    const char *const *route_names = p->route_names;
    tbuf b = {0};
    tbuf_printf(&b, "# HELP mixrec_http_requests_total HTTP requests by route and status.\n"
                    "# TYPE mixrec_http_requests_total counter\n");
    for (int r = 0; r < p->n_routes; r++)
        for (size_t s = 0; s < N_STATUS; s++) {
            unsigned long v = atomic_load(&p->requests[r][s]);
            if (!v) continue;
            char st[8];
            if (s + 1 < N_STATUS)
                snprintf(st, sizeof(st), "%d", statuses[s]);
            else
                snprintf(st, sizeof(st), "other");
            tbuf_printf(&b, "mixrec_http_requests_total{route=\"%s\",status=\"%s\"} %lu\n",
                        route_names[r], st, v);
        }
    tbuf_printf(&b, "# HELP mixrec_http_request_duration_seconds Time from request to response.\n"
                    "# TYPE mixrec_http_request_duration_seconds histogram\n");
    for (int r = 0; r < p->n_routes; r++)
        for (size_t si = 0; si < N_STATUS; si++) {
            unsigned long any = 0;
            for (size_t i = 0; i <= N_BUCKETS; i++)
                any += atomic_load(&p->latency[r][si].count[i]);
            if (!any) continue;
            char labels[128], st[8];
            if (si + 1 < N_STATUS)
                snprintf(st, sizeof(st), "%d", statuses[si]);
            else
                snprintf(st, sizeof(st), "other");
            snprintf(labels, sizeof(labels), "route=\"%s\",status=\"%s\"", route_names[r], st);
            put_histogram(&b, "mixrec_http_request_duration_seconds", labels, &p->latency[r][si]);
        }
    tbuf_printf(&b,
                "# HELP mixrec_session_reads_total Session reads from Redis by result.\n"
                "# TYPE mixrec_session_reads_total counter\n"
                "mixrec_session_reads_total{result=\"ok\"} %lu\n"
                "mixrec_session_reads_total{result=\"unavailable\"} %lu\n",
                atomic_load(&p->session_reads[1]), atomic_load(&p->session_reads[0]));
    tbuf_printf(&b,
                "# HELP mixrec_redis_read_duration_seconds Session read latency (answered reads).\n"
                "# TYPE mixrec_redis_read_duration_seconds histogram\n");
    put_histogram(&b, "mixrec_redis_read_duration_seconds", "", &p->session_latency);
    tbuf_printf(
        &b,
        "# HELP mixrec_events_total Events posted, by outcome: stored, rejected (invalid), "
        "failed (valid, refused with 503 because Redis did not store them), duplicate (an "
        "event_id stored before).\n"
        "# TYPE mixrec_events_total counter\n"
        "mixrec_events_total{outcome=\"stored\"} %lu\n"
        "mixrec_events_total{outcome=\"rejected\"} %lu\n"
        "mixrec_events_total{outcome=\"failed\"} %lu\n"
        "mixrec_events_total{outcome=\"duplicate\"} %lu\n"
        "# HELP mixrec_redis_errors_total Event batches Redis could not store.\n"
        "# TYPE mixrec_redis_errors_total counter\n"
        "mixrec_redis_errors_total %lu\n"
        "# HELP mixrec_events_unknown_items_total Stored events on items the model does not "
        "know (new items, or wrong ids).\n"
        "# TYPE mixrec_events_unknown_items_total counter\n"
        "mixrec_events_unknown_items_total %lu\n"
        "# HELP mixrec_events_stored_total Stored events by type.\n"
        "# TYPE mixrec_events_stored_total counter\n",
        atomic_load(&p->events_stored), atomic_load(&p->events_rejected),
        atomic_load(&p->events_failed), atomic_load(&p->events_duplicate),
        atomic_load(&p->events_failed_batches), atomic_load(&p->events_unknown_items));
    for (int t = 0; t < PROM_EVENT_TYPES; t++)
        tbuf_printf(&b, "mixrec_events_stored_total{type=\"%s\"} %lu\n", sess_type_name(t),
                    atomic_load(&p->events_by_type[t]));
    tbuf_printf(
        &b,
        "# HELP mixrec_candidates_total Items answered, by the retrieval source that found them.\n"
        "# TYPE mixrec_candidates_total counter\n"
        "mixrec_candidates_total{source=\"mixture\"} %lu\n"
        "mixrec_candidates_total{source=\"single\"} %lu\n"
        "mixrec_candidates_total{source=\"popular\"} %lu\n"
        "# HELP mixrec_recommendation_requests_total Recommendation requests answered.\n"
        "# TYPE mixrec_recommendation_requests_total counter\n"
        "mixrec_recommendation_requests_total %lu\n",
        atomic_load(&p->candidates[0]), atomic_load(&p->candidates[1]),
        atomic_load(&p->candidates[2]), atomic_load(&p->candidate_requests));
    tbuf_printf(
        &b,
        "# HELP mixrec_model_reloads_total Model reloads (SIGHUP, admin route, or CURRENT "
        "watched) by result: ok, or rejected (the version was refused, the previous model "
        "keeps serving).\n"
        "# TYPE mixrec_model_reloads_total counter\n"
        "mixrec_model_reloads_total{result=\"ok\"} %lu\n"
        "mixrec_model_reloads_total{result=\"rejected\"} %lu\n"
        "# HELP mixrec_model_refused 1 while the version CURRENT names was refused (failed to "
        "load; /readyz says why) and the previous model keeps serving.\n"
        "# TYPE mixrec_model_refused gauge\n"
        "mixrec_model_refused %d\n",
        atomic_load(&p->reloads[1]), atomic_load(&p->reloads[0]), g->model_refused ? 1 : 0);
    tbuf_printf(
        &b,
        "# HELP mixrec_answers_by_order_total Recommendation answers ordered by the learned "
        "ranker or, as a fallback, in retrieval order.\n"
        "# TYPE mixrec_answers_by_order_total counter\n"
        "mixrec_answers_by_order_total{order=\"ranker\"} %lu\n"
        "mixrec_answers_by_order_total{order=\"retrieval\"} %lu\n",
        atomic_load(&p->ordered[1]), atomic_load(&p->ordered[0]));
    put_stages(&b, p);
    if (g->ranker_state)
        tbuf_printf(
            &b,
            "# HELP mixrec_ranker_active 1 when answers are re-ranked by the model's learned "
            "ranker; state: ok, disabled (ranking.enabled=0), absent or rejected.\n"
            "# TYPE mixrec_ranker_active gauge\n"
            "mixrec_ranker_active{state=\"%s\"} %d\n",
            g->ranker_state, strcmp(g->ranker_state, "ok") == 0);
    tbuf_printf(
        &b, "# HELP mixrec_model_info The model being served.\n# TYPE mixrec_model_info gauge\n");
    if (g->model_version)
        tbuf_printf(&b, "mixrec_model_info{version=\"%s\"} 1\n", g->model_version);
    tbuf_printf(
        &b,
        "# HELP mixrec_workers Worker event loops.\n# TYPE mixrec_workers gauge\n"
        "mixrec_workers %d\n"
        "# HELP mixrec_redis_connected_workers Workers connected to Redis.\n"
        "# TYPE mixrec_redis_connected_workers gauge\n"
        "mixrec_redis_connected_workers %d\n"
        "# HELP mixrec_redis_up 1 when every worker reaches Redis (0 when degraded or off).\n"
        "# TYPE mixrec_redis_up gauge\n"
        "mixrec_redis_up %d\n",
        g->workers, g->redis_connected,
        g->redis_configured && g->redis_connected == g->workers ? 1 : 0);
    put_loop(&b, p, g);
    put_promotions(&b, p);
    put_experiments(&b, p, g);
    return tbuf_take(&b);
}

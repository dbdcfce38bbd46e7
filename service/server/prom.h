/* prom.h - service metrics in the Prometheus text format.
 *
 * All counters are atomics: any thread may record, any thread may render.
 * Requests are counted per route and status, with a latency histogram per
 * route; sessions and events per outcome; the model's version and reloads;
 * answers (impressions) and the events attributed to them, by route and
 * order, and click-through.
 * Redis connectivity and the worker count are read when rendering. */
#ifndef PROM_PROM_H
#define PROM_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "recommend.h"

#define PROM_MAX_ROUTES 64

typedef struct prom prom;

/* Counts requests of n_routes routes (at most PROM_MAX_ROUTES), route i
 * labelled route_names[i] (borrowed: static strings); requests outside
 * 0..n_routes-1 count as route 0. */
prom *prom_new(const char *const *route_names, int n_routes);
void prom_free(prom *p);

void prom_request(prom *p, int route, int status, double seconds);
void prom_session_read(prom *p, int ok, double seconds);
#define PROM_EVENT_TYPES 5 /* sessions.h's SESS_N_TYPES */

/* One batch of POST /v1/events: its valid events by type (stored, or
 * failed when Redis refused the batch), the invalid ones, and how many
 * valid ones name items the model does not know. */
typedef struct prom_event_batch {
    size_t valid_by_type[PROM_EVENT_TYPES]; /* stored (or failed), duplicates not included */
    size_t rejected, unknown_items, duplicates;
    int redis_failed;
} prom_event_batch;
void prom_events(prom *p, const prom_event_batch *b);
/* Items answered per retrieval source (mixture, single, popular; an item
 * found by several counts for each). */
void prom_candidates(prom *p, const size_t by_source[3]);
/* Where a recommendation answer's time goes, on the monotonic clock: from
 * the request's arrival to its handler on a worker (HTTP, access, the
 * queue), the session read (the Redis round trip), rec_recommend's stages
 * (PROM_STAGE_REC + REC_STAGE_*), the live catalogue and pages, the JSON
 * answer, the impression log, and from the answer's end to the request's
 * completion (HTTP reply). prom_stage adds ns to a stage; prom_staged
 * counts one answer that reported its stages. */
enum {
    PROM_STAGE_HTTP_IN,
    PROM_STAGE_SESSION,
    PROM_STAGE_REC,
    PROM_STAGE_CATALOGUE = PROM_STAGE_REC + REC_N_STAGES,
    PROM_STAGE_ENCODE,
    PROM_STAGE_LOG,
    PROM_STAGE_HTTP_OUT,
    PROM_N_STAGES
};
void prom_stage(prom *p, int stage, uint64_t ns);
void prom_staged(prom *p);
/* One recommendation answer, ordered by the ranker (1) or in retrieval
 * order (0: no ranker, a rejected one, or ranking disabled). */
void prom_ranking(prom *p, int ranked);
/* One reload (SIGHUP, admin route or the watcher of CURRENT): ok, or the
 * version was rejected (refused) and the previous model keeps serving. */
void prom_reload(prom *p, int ok);

/* One recommendation answer given (logged to the impressions stream or
 * not): route and order are rid.h's codes (RID_ROUTE_*, RID_ORDER_*);
 * out of range is ignored. */
void prom_impression(prom *p, int route, int order);
/* One stored event of type (PROM_EVENT_TYPES: sessions.h's SESS_*) that
 * carried recommendation_id: counted by the route and order the id names
 * (rid.h, no lookup). Ids this service did not make, NULL, and types out
 * of range are ignored. Click-through is attributed clicks / impressions
 * of the same route and order. */
void prom_attributed(prom *p, int type, const char *recommendation_id);

/* Promotions and the fresh source (place.h): n items an answer got from
 * the promotion named name, or from the fresh source. The label set is
 * bounded: the first PROM_MAX_PROMOTIONS names this process sees (and
 * only names of promo.h's alphabet, 1..64 characters) have their own
 * label, any other counts as promotion="other". */
#define PROM_MAX_PROMOTIONS 32
void prom_promoted(prom *p, const char *name, size_t n);
void prom_fresh(prom *p, size_t n);

/* Experiments (experiment.h): an answer of variant slot v of experiment e
 * (a variant index, or EXPERIMENT_TEAMS: an interleaved answer), and an
 * attributed event of type for one. Counted by the names (experiment,
 * variant or "interleaved"), not by position, so the counters follow an
 * experiment across replacements of the list (expset.h): one that stays
 * keeps counting, a new one starts at 0, and one removed keeps its final
 * totals (a counter never goes back). The label set is bounded: the first
 * PROM_MAX_EXPERIMENT_LABELS (experiment, variant) pairs this process sees
 * have their labels; later ones count in
 * mixrec_experiment_counts_unlabelled_total. Lock-free but for the first
 * count of a new pair. unrecorded: an experiment count Redis did not take
 * (expstats.h). */
#define PROM_MAX_EXPERIMENT_LABELS 512 /* 2 x EXPERIMENT_MAX x EXPERIMENT_MAX_VARIANTS */
struct experiment;
void prom_experiment_impression(prom *p, const struct experiment *e, size_t v);
void prom_experiment_attributed(prom *p, const struct experiment *e, size_t v, int type);
void prom_experiment_unrecorded(prom *p);

typedef struct xs_holder xs_holder;

typedef struct prom_gauges {
    const char *model_version; /* NULL: no model */
    int workers, redis_connected, redis_configured;
    const char *ranker_state;          /* "ok", "disabled", "absent", "rejected"; NULL: no model */
    unsigned long impressions_dropped; /* impression records not stored (implog.h) */
    int model_refused; /* 1 while CURRENT names a version that failed to load (model_holder.h) */
    /* the experiments in force (expset.h; NULL: none): their variants are
     * shown, at 0 before their first answer, with the list's version */
    xs_holder *experiments;
} prom_gauges;

/* The exposition text (malloc'ed, caller frees). */
char *prom_render(prom *p, const prom_gauges *g);

#endif

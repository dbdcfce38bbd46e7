/* synth_clicks.h - a simulated audience clicking on served slates.
 *
 * Given a synth world (the simulator knows every user's true interest
 * weights and every item's popularity within its interest) and a model
 * built from the world's history, syc_run serves slates in-process with
 * rec_recommend - the code the server runs - to the world's users over
 * simulated days after the history, and lets them click:
 *
 *   P(click on the item at position p) = exam(p) * attract(u, i)
 *   exam(p)        = 1 / log2(2 + p)                 (position bias)
 *   attract(u, i)  = max_click * w_u[c_i] / max_c w_u[c] * pop_i
 *
 * where c_i is the item's planted interest and pop_i its Zipf weight
 * within it (1 for the most popular; all 1 with zipf_s = 0): the user's
 * true preference, the same one that generated the history. A day, each
 * user visits with probability visit_prob at a uniform time; a visit shows
 * one slate, and when the user clicked, a second one 120 s later whose
 * session holds those clicks (weight 1). Items clicked before in the
 * simulation are excluded from later requests (as a client would).
 * Because the simulator knows attract, it also sums the expected clicks
 * of every slate exactly (no sampling noise): the replayed click rate.
 * Deterministic for a seed. Single-threaded; m is only read. */
#ifndef SYC_SYNTH_CLICKS_H
#define SYC_SYNTH_CLICKS_H

#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "mx_err.h"
#include "synth.h"

/* The click model, shared with `mixrec simulate` (which plays it against
 * a running server): exam(p) and attract(u, i) above, with wmax the
 * user's largest interest weight (syc_user_wmax) and item a world item. */
double syc_exam(size_t pos);
double syc_attract_w(const syn_world *w, size_t u, size_t item, double wmax, double max_click);
double syc_user_wmax(const syn_world *w, size_t u);

typedef struct syc_params {
    size_t days;       /* simulated days, default 7 */
    double visit_prob; /* per user and day, default 0.3 */
    size_t k;          /* slate length, default 10 */
    double max_click;  /* attract of a top-interest, top-popularity item, default 0.5 */
    uint64_t seed;     /* default 1 */
    int64_t start;     /* first simulated second; 0 = the end of the world's history */
    int use_ranker;    /* 1: the model's ranker orders the slates (default) */
} syc_params;

void syc_params_init(syc_params *p);

typedef struct syc_stats {
    size_t visits, slates, clicks;
    double expected_clicks; /* sum over slates of sum_p exam(p) * attract */
    size_t ranked;          /* slates the ranker ordered */
    size_t unknown_users;   /* world users the model does not know (served anonymously) */
} syc_stats;

/* Serves and clicks; writes impressions (JSON lines, the export format of
 * docs/streams.md, route "user_recommendations"), events (JSON lines: user,
 * item, type "click", ts, recommendation_id, position, event_id) and
 * clicks_csv (user,item,timestamp,weight with a header: the history's
 * format, to append to interactions.csv). Any FILE may be NULL. *st
 * zeroed first. Errors: recommend's, OOM, a write error. */
int syc_run(const syn_world *w, const mx_model *m, const syc_params *p, int64_t history_end,
            FILE *impressions, FILE *events, FILE *clicks_csv, syc_stats *st, mx_err *err);

#endif

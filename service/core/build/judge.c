/* judge.c - see judge.h. */
#include "judge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rank_train.h"

int64_t jdg_cutoff(const ds_event *ev, size_t n, double holdout, int64_t serving_t_ref) {
    size_t first = 0; /* the first event the serving model has not seen */
    if (serving_t_ref != INT64_MIN)
        while (first < n && ev[first].ts <= serving_t_ref)
            first++;
    size_t fresh = n - first;
    if (fresh == 0) return serving_t_ref == INT64_MIN ? 0 : serving_t_ref + 1;
    double x = ceil(holdout * (double)fresh - 1e-9);
    size_t n_test = x < 1 ? 1 : x > (double)fresh ? fresh : (size_t)x;
    return ev[n - n_test].ts;
}

static int cmp_user_ts(const void *a, const void *b) {
    const ds_event *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

/* The window's events for both models, in each model's ids, and the
 * serving model's view of the training events (for its sessions). */
typedef struct {
    ds_event *tc, *ts, *train_s;
    size_t n_tc, n_ts, n_train_s;
} windows;

static void windows_free(windows *w) {
    free(w->tc);
    free(w->ts);
    free(w->train_s);
}

static int map_windows(const ds_dataset *ds, const mx_model *s, int64_t cutoff, size_t min_train,
                       jdg_result *out, windows *w, mx_err *err) {
    size_t n = 0, nu = ds_n_users(ds), ni = ds_n_items(ds);
    const ds_event *ev = ds_events(ds, &n);
    size_t n_train = 0;
    while (n_train < n && ev[n_train].ts < cutoff)
        n_train++;
    out->train_events = n_train;
    out->window_events = n - n_train;
    size_t *before = calloc(nu + 1, sizeof(*before));
    int64_t *su = malloc((nu + 1) * sizeof(*su)), *si = malloc((ni + 1) * sizeof(*si));
    unsigned char *only = calloc(nu + 1, 1);
    w->tc = malloc((n - n_train + 1) * sizeof(ds_event));
    w->ts = malloc((n - n_train + 1) * sizeof(ds_event));
    w->train_s = malloc((n_train + 1) * sizeof(ds_event));
    int rc = 0;
    if (!before || !su || !si || !only || !w->tc || !w->ts || !w->train_s) {
        rc = mx_err_set(err, MX_ENOMEM, "out of memory judging the candidate");
        goto done;
    }
    for (size_t u = 0; u < nu; u++)
        su[u] = s ? model_user(s, ds_user_id(ds, (uint32_t)u)) : (int64_t)u;
    uint32_t next_unknown = s ? (uint32_t)s->n_items : 0;
    for (size_t i = 0; i < ni; i++) {
        si[i] = s ? model_item(s, ds_item_id(ds, (uint32_t)i)) : (int64_t)i;
        if (si[i] < 0) si[i] = -1 - (int64_t)next_unknown++; /* distinct, never ranked */
    }
    for (size_t e = 0; e < n_train; e++) {
        before[ev[e].user]++;
        if (s && su[ev[e].user] >= 0 && si[ev[e].item] >= 0)
            w->train_s[w->n_train_s++] = (ds_event){
                (uint32_t)su[ev[e].user], (uint32_t)si[ev[e].item], ev[e].ts, ev[e].value};
    }
    for (size_t e = n_train; e < n; e++) {
        uint32_t u = ev[e].user;
        if (before[u] < (min_train ? min_train : 1)) continue;
        if (su[u] < 0) {
            out->candidate_only += !only[u];
            only[u] = 1;
            continue;
        }
        w->tc[w->n_tc++] = ev[e];
        int64_t it = si[ev[e].item];
        out->unknown_items += it < 0;
        w->ts[w->n_ts++] = (ds_event){(uint32_t)su[u], it < 0 ? (uint32_t)(-1 - it) : (uint32_t)it,
                                      ev[e].ts, ev[e].value};
    }
    qsort(w->tc, w->n_tc, sizeof(ds_event), cmp_user_ts);
    qsort(w->ts, w->n_ts, sizeof(ds_event), cmp_user_ts);
    out->judged_events = w->n_tc;
    for (size_t e = 0; e < w->n_tc; e++)
        out->judged_users += e == 0 || w->tc[e].user != w->tc[e - 1].user;
done:
    free(before);
    free(su);
    free(si);
    free(only);
    return rc;
}

/* Scores m on test (m's ids) with its own offline sessions. */
static int score(const mx_model *m, const ds_event *test, size_t n_test, const ds_event *train,
                 size_t n_train, int64_t cutoff, double hours, jdg_side *side, mx_err *err) {
    static const size_t ks[] = {JDG_MAIN_K, 100};
    rkt_sessions *sess = NULL;
    side->present = 1;
    snprintf(side->version, sizeof(side->version), "%s", m->version);
    side->method = model_has_ranker(m) ? EVL_RANKED : EVL_BLEND;
    int rc = 0;
    if (side->method == EVL_RANKED)
        rc = rkt_sessions_new(train, n_train, m->n_users, cutoff, hours, &sess, err);
    evl_result *res = malloc(sizeof(*res));
    if (!res) rc = rc ? rc : mx_err_set(err, MX_ENOMEM, "out of memory judging the candidate");
    if (!rc) rc = evl_run(m, NULL, test, n_test, ks, 2, 0, sess, res, err);
    if (!rc) {
        const met_summary *s = &res->method[side->method];
        side->main = s->ndcg[0];
        side->recall10 = s->recall[0];
        side->recall100 = s->recall[1];
        side->users = res->n_users;
    }
    free(res);
    rkt_sessions_free(sess);
    return rc;
}

int jdg_compare(const ds_dataset *ds, const mx_model *cand, const mx_model *serving, int64_t cutoff,
                size_t min_train, double margin, double session_hours, jdg_result *out,
                mx_err *err) {
    memset(out, 0, sizeof(*out));
    out->cutoff = cutoff;
    out->margin = margin;
    windows w = {0};
    int rc = map_windows(ds, serving, cutoff, min_train, out, &w, err);
    size_t n = 0;
    const ds_event *ev = ds_events(ds, &n);
    if (!rc && out->judged_users)
        rc = score(cand, w.tc, w.n_tc, ev, out->train_events, cutoff, session_hours,
                   &out->candidate, err);
    if (!rc && out->judged_users && serving)
        rc = score(serving, w.ts, w.n_ts, w.train_s, w.n_train_s, cutoff, session_hours,
                   &out->serving, err);
    windows_free(&w);
    if (rc) return rc;
    out->candidate.present = 1;
    if (serving) {
        out->serving.present = 1;
        snprintf(out->serving.version, sizeof(out->serving.version), "%s", serving->version);
    }
    if (!serving) {
        out->promote = 1;
        snprintf(out->reason, sizeof(out->reason), "no serving version");
    } else if (!out->judged_users) {
        out->promote = 1;
        snprintf(out->reason, sizeof(out->reason),
                 "no window user with %zu earlier events known to both models: nothing to "
                 "judge on, promoted for its newer data",
                 min_train ? min_train : 1);
    } else {
        double floor = out->serving.main * (1.0 - margin);
        out->promote = out->candidate.main >= floor - 1e-12;
        snprintf(out->reason, sizeof(out->reason),
                 "ndcg@%d %.4f %s %.4f (serving %.4f less the %.1f%% margin)", JDG_MAIN_K,
                 out->candidate.main, out->promote ? ">=" : "<", floor, out->serving.main,
                 100.0 * margin);
    }
    return 0;
}

static json_t *side_json(const jdg_side *s) {
    if (!s->present) return json_null();
    json_t *o = json_pack("{s:s,s:f,s:f,s:f,s:I}", "method", evl_method_name(s->method), "ndcg@10",
                          s->main, "recall@10", s->recall10, "recall@100", s->recall100, "users",
                          (json_int_t)s->users);
    if (o && s->version[0]) json_object_set_new(o, "version", json_string(s->version));
    return o;
}

void *jdg_to_json(const jdg_result *r) {
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:o,s:o}", "decision",
                     r->promote ? "promote" : "keep", "reason", r->reason, "main_metric",
                     "ndcg@10 of the service's answer (ranked, or blend without a ranker)",
                     "cutoff", (json_int_t)r->cutoff, "train_events", (json_int_t)r->train_events,
                     "window_events", (json_int_t)r->window_events, "judged_users",
                     (json_int_t)r->judged_users, "judged_events", (json_int_t)r->judged_events,
                     "candidate_only_users", (json_int_t)r->candidate_only,
                     "unknown_items_for_serving", (json_int_t)r->unknown_items, "margin", r->margin,
                     "candidate", side_json(&r->candidate), "serving", side_json(&r->serving));
}

/* api_users.c - see api_users.h. */
#include "api_users.h"

#include <math.h>
#include <time.h>

#include "api_session.h"

/* One view of the mixture as [{id,label,weight}], sorted by that view's
 * own weight (largest first, ties by id): the long-term list keeps its
 * order whatever the session does. Interests of weight 0 are left out;
 * the session's may be negative (disliked).
 * Each label says what it is (label_kind: categories, titles, ...) and the
 * share of its interest it describes (coverage, null for a model built
 * before labels had one). */
static json_t *weights_json(const mx_model *m, const rec_mixture *x, const float *w) {
    size_t idx[REC_MAX_INTERESTS], n = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (w[i] == 0) continue;
        size_t j = n++;
        for (; j > 0 &&
               (w[idx[j - 1]] < w[i] || (w[idx[j - 1]] == w[i] && x->cid[idx[j - 1]] > x->cid[i]));
             j--)
            idx[j] = idx[j - 1];
        idx[j] = i;
    }
    json_t *arr = json_array();
    for (size_t k = 0; k < n; k++) {
        const lbl_label *l = &m->labels[x->cid[idx[k]]];
        json_t *cov = l->coverage >= 0 ? json_real(round(l->coverage * 1e4) / 1e4) : json_null();
        json_array_append_new(arr,
                              json_pack("{s:I,s:s,s:o,s:s,s:f}", "id", (json_int_t)x->cid[idx[k]],
                                        "label", l->name, "coverage", cov, "label_kind",
                                        lbl_kind_name(l->kind), "weight", (double)w[idx[k]]));
    }
    return arr;
}

static void on_session(api_req *r, void *arg, int ok, const sess_event *sev, size_t n_sev) {
    (void)arg;
    const mx_model *m = wk_lease_model(r->lease);
    const srv_config *cfg = r->env->cfg;
    rec_params p;
    api_rec_params(cfg, &p);
    rec_event ev[256];
    rec_query q = {.user = model_user(m, r->param),
                   .events = ev,
                   .n_events = api_session_events(cfg, m, sev, n_sev, ev, 256),
                   .k = 1,
                   .now = (int64_t)time(NULL)};
    rec_mixture x;
    rec_mixture_of(m, &p, &q, &x);
    json_t *o =
        json_pack("{s:s,s:s,s:b,s:s,s:i,s:f,s:o,s:o,s:o}", "user", r->param, "model_version",
                  m->version, "known_user", q.user >= 0, "session", ok ? "ok" : "unavailable",
                  "session_events", (int)n_sev, "session_share", (double)x.session_share,
                  "long_term", weights_json(m, &x, x.long_term), "session_interests",
                  weights_json(m, &x, x.session), "blended", weights_json(m, &x, x.blended));
    api_respond_json(r, o);
    api_finish(r);
}

void api_users_interests(api_req *r) {
    api_set_user(r, r->param);
    api_session_read(r, r->param, on_session, NULL);
}

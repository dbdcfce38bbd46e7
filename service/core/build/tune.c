/* tune.c - see tune.h. */
#include "tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embcache.h"
#include "evaluate.h"
#include "rank_train.h"

/* Why these values: each row spans what the data sets we have and can make
 * preferred (README: Evaluation worlds), one step beyond on either side.
 * Embedding settings come first (they move everything after them), the
 * ranker's last (it adapts to whatever pool it is given). */
static const tune_coord default_plan[] = {
    {"embed.dim", 4, {"embed.dim=8", "embed.dim=16", "embed.dim=32", "embed.dim=64"}},
    {"embed.alpha", 3, {"embed.alpha=3", "embed.alpha=10", "embed.alpha=30"}},
    {"popularity.half_life_days",
     4,
     {"popularity.half_life_days=2", "popularity.half_life_days=7", "popularity.half_life_days=14",
      "popularity.half_life_days=60"}},
    {"mixture.k0", 4, {"mixture.k0=0", "mixture.k0=5", "mixture.k0=20", "mixture.k0=80"}},
    {"retrieval.mixture_sharpen",
     3,
     {"retrieval.mixture_sharpen=0.25", "retrieval.mixture_sharpen=0.5",
      "retrieval.mixture_sharpen=1"}},
    {"shares mixture/single/popular",
     3,
     {"retrieval.share_mixture=0.2,retrieval.share_single=0.2,retrieval.share_popular=0.6",
      "retrieval.share_mixture=0.34,retrieval.share_single=0.33,retrieval.share_popular=0.33",
      "retrieval.share_mixture=0.4,retrieval.share_single=0.4,retrieval.share_popular=0.2"}},
    {"rank_train.pool", 3, {"rank_train.pool=50", "rank_train.pool=100", "rank_train.pool=200"}},
    {"rank_train.depth", 3, {"rank_train.depth=3", "rank_train.depth=4", "rank_train.depth=6"}},
    {"rank_train.eta", 3, {"rank_train.eta=0.05", "rank_train.eta=0.1", "rank_train.eta=0.2"}},
};

const tune_coord *tune_default_plan(size_t *n) {
    *n = sizeof(default_plan) / sizeof(default_plan[0]);
    return default_plan;
}

void tune_params_init(tune_params *p) {
    memset(p, 0, sizeof(*p));
    p->budget_s = 600;
    p->max_passes = 2;
}

int tune_apply(bcfg *cfg, const tune_coord *c, size_t v, mx_err *err) {
    if (v >= c->n_values) return mx_err_set(err, MX_EINVAL, "%s: no value %zu", c->label, v);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", c->values[v]);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) return mx_err_set(err, MX_EINVAL, "%s: '%s' is not name=value", c->label, tok);
        *eq = 0;
        int rc = bcfg_set(cfg, tok, eq + 1, err);
        if (rc) return rc;
    }
    return 0;
}

/* Everything one search holds. */
typedef struct search {
    const ds_dataset *ds;
    const bcfg *base;
    const tune_params *p;
    const tune_coord *plan;
    size_t n_plan;
    pipe_inputs in;
    ds_split split, valid;
    tune_result *r;
    char **sig; /* per trial: the settings as sorted JSON, to score each once */
    size_t cap;
    double t0;
    /* per validation user, NDCG@10 + recall@10 of the answer: of the best
     * trial and of the last one (paired comparisons on the same users) */
    double *best_users, *last_users;
    size_t n_users;
} search;

/* The settings a choice vector gives. */
static int settings_of(const search *s, const int *choice, bcfg *out, mx_err *err) {
    *out = *s->base;
    for (size_t c = 0; c < s->n_plan; c++)
        if (choice[c] >= 0) {
            int rc = tune_apply(out, &s->plan[c], (size_t)choice[c], err);
            if (rc) return rc;
        }
    return 0;
}

static char *signature(const bcfg *cfg) {
    json_t *j = bcfg_to_json(cfg);
    char *txt = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(j);
    return txt;
}

static int seen_before(const search *s, const char *sig) {
    for (size_t i = 0; i < s->r->n_trials; i++)
        if (s->sig[i] && !strcmp(s->sig[i], sig)) return 1;
    return 0;
}

static int append_trial(search *s, char *sig, mx_err *err) {
    tune_result *r = s->r;
    if (r->n_trials == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 32;
        tune_trial *nt = realloc(r->trials, nc * sizeof(tune_trial));
        if (nt) r->trials = nt;
        char **ns = nt ? realloc(s->sig, nc * sizeof(char *)) : NULL;
        if (!nt || !ns) {
            free(sig);
            return mx_err_set(err, MX_ENOMEM, "tune: out of memory for trials");
        }
        s->sig = ns;
        s->cap = nc;
    }
    s->sig[r->n_trials] = sig;
    memset(&r->trials[r->n_trials], 0, sizeof(tune_trial));
    r->trials[r->n_trials].index = r->n_trials;
    r->n_trials++;
    return 0;
}

/* The cut-offs a trial scores: 10, 100 and the ranker's pool, increasing. */
static size_t cutoffs(size_t pool, size_t *ks) {
    size_t n = 0;
    ks[n++] = 10;
    if (pool > 10 && pool < 100) ks[n++] = pool;
    ks[n++] = 100;
    if (pool > 100) ks[n++] = pool;
    return n;
}

static void best_source(const evl_result *res, size_t ki, double *best, const char **name) {
    static const int sources[] = {EVL_POPULAR, EVL_SINGLE, EVL_MIXTURE};
    *best = -1;
    for (size_t i = 0; i < 3; i++)
        if (res->method[sources[i]].recall[ki] > *best) {
            *best = res->method[sources[i]].recall[ki];
            *name = evl_method_name(sources[i]);
        }
}

/* Scores one setting: the model and ranker on the validation split's
 * training part, the answer on its later events. */
static int score(search *s, const bcfg *cfg, tune_trial *t, mx_err *err) {
    double t0 = pipe_now();
    size_t hits = embc_hits(s->in.emb_cache);
    mx_model *m = NULL;
    rkt_sessions *sess = NULL;
    rkt_report rr;
    const ds_split *v = &s->valid;
    int rc = rkt_build(s->ds, v->train, v->n_train, cfg, &s->in, &m, NULL, &rr, err);
    if (!rc && cfg->ranker.enabled)
        rc = rkt_sessions_new(v->train, v->n_train, m->n_users, m->t_ref + 1,
                              cfg->ranker.session_hours, &sess, err);
    size_t ks[4], n_ks = cutoffs(cfg->ranker.pool, ks);
    evl_result res;
    if (!rc)
        rc = evl_run_users(m, s->ds, v->test, v->n_test, ks, n_ks, s->p->max_users, sess,
                           s->last_users, &res, err);
    if (!rc) {
        int ans = res.evaluated[EVL_RANKED] ? EVL_RANKED : EVL_BLEND;
        int pool = res.evaluated[EVL_POOL] ? EVL_POOL : EVL_BLEND;
        size_t k100 = 0, kp = 0;
        for (size_t k = 0; k < n_ks; k++) {
            if (ks[k] == 100) k100 = k;
            if (ks[k] == cfg->ranker.pool) kp = k;
        }
        t->ranked = ans == EVL_RANKED;
        t->ndcg10 = res.method[ans].ndcg[0];
        t->recall10 = res.method[ans].recall[0];
        t->score = t->ndcg10 + t->recall10;
        t->pool_r100 = res.method[pool].recall[k100];
        best_source(&res, k100, &t->best_r100, &t->best_source);
        const char *unused;
        t->pool_k = cfg->ranker.pool;
        t->pool_rp = res.method[pool].recall[kp];
        best_source(&res, kp, &t->best_rp, &unused);
        t->feasible = t->pool_r100 >= TUNE_POOL_FLOOR * t->best_r100 &&
                      t->pool_rp >= TUNE_POOL_FLOOR * t->best_rp;
        s->r->valid_users = s->n_users = res.n_users;
    }
    t->embed_cached = embc_hits(s->in.emb_cache) > hits;
    t->seconds = pipe_now() - t0;
    rkt_sessions_free(sess);
    model_free(m);
    return rc;
}

static double pool_ratio(const tune_trial *t) {
    double a = t->best_r100 > 0 ? t->pool_r100 / t->best_r100 : 1;
    double b = t->best_rp > 0 ? t->pool_rp / t->best_rp : 1;
    return a < b ? a : b;
}

/* The last trial's gain over the best in standard errors of the paired
 * per-user differences (0 when they do not differ at all). */
static double paired_z(const search *s) {
    size_t n = s->n_users;
    if (n < 2) return 0;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        double d = s->last_users[i] - s->best_users[i];
        sum += d;
        sq += d * d;
    }
    double mean = sum / (double)n, var = (sq - sum * mean) / (double)(n - 1);
    if (var <= 0) return 0;
    return mean / sqrt(var / (double)n);
}

/* The last trial beats the best: feasibility first; then a score higher by
 * more than TUNE_MIN_GAIN and by TUNE_Z standard errors of the paired
 * per-user differences, so that noise (a few hundred validation users, a
 * ranker that stops early) keeps the earlier, usually default, value. */
static int beats(const tune_trial *a, const tune_trial *b) {
    if (a->feasible != b->feasible) return a->feasible;
    if (!a->feasible) return pool_ratio(a) > pool_ratio(b) * (1 + TUNE_MIN_GAIN);
    return a->score > b->score * (1 + TUNE_MIN_GAIN) && a->z > TUNE_Z;
}

/* What choice changes relative to from, for the table. */
static void describe(const search *s, const int *from, const int *choice, char *out, size_t len) {
    out[0] = 0;
    size_t used = 0;
    for (size_t c = 0; c < s->n_plan && used < len; c++) {
        if (from[c] == choice[c]) continue;
        used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "; " : "",
                                 choice[c] < 0 ? "start" : s->plan[c].values[choice[c]]);
    }
    if (!out[0]) snprintf(out, len, "start");
}

/* Runs choice unless its settings were scored already; *ran = 1 when it
 * ran. Stops (returns 0, *stop = 1) when the budget or the cap is spent. */
static int try_choice(search *s, const int *choice, const int *from, tune_progress_fn progress,
                      void *ud, int *ran, int *stop, mx_err *err) {
    *ran = 0;
    bcfg cfg;
    int rc = settings_of(s, choice, &cfg, err);
    if (rc) return rc;
    char *sig = signature(&cfg);
    if (!sig) return mx_err_set(err, MX_ENOMEM, "tune: out of memory");
    if (seen_before(s, sig)) {
        free(sig);
        return 0;
    }
    tune_result *r = s->r;
    double spent = pipe_now() - s->t0;
    double mean = r->n_trials ? spent / (double)r->n_trials : 0;
    if ((s->p->max_trials && r->n_trials >= s->p->max_trials) ||
        (r->n_trials && spent + mean > s->p->budget_s)) {
        free(sig);
        *stop = 1;
        return 0;
    }
    if ((rc = append_trial(s, sig, err))) return rc;
    tune_trial *t = &r->trials[r->n_trials - 1];
    memcpy(t->choice, choice, sizeof(t->choice));
    describe(s, from, choice, t->changed, sizeof(t->changed));
    if ((rc = score(s, &cfg, t, err))) {
        r->n_trials--; /* not scored */
        free(s->sig[r->n_trials]);
        return rc;
    }
    *ran = 1;
    if (r->n_trials == 1) /* the start: the first best */
        memcpy(s->best_users, s->last_users, s->n_users * sizeof(double));
    t->z = paired_z(s);
    if (progress) progress(ud, r, t);
    return 0;
}

static int search_all(search *s, tune_progress_fn progress, void *ud, mx_err *err) {
    tune_result *r = s->r;
    int choice[TUNE_MAX_COORDS], ran = 0, stop = 0;
    for (size_t c = 0; c < TUNE_MAX_COORDS; c++)
        choice[c] = -1;
    int rc = try_choice(s, choice, choice, progress, ud, &ran, &stop, err);
    if (rc) return rc;
    r->best = 0;
    r->complete = 1;
    for (size_t c = 0; s->p->sweep && c < s->n_plan && !stop; c++) {
        r->passes = 1;
        for (size_t v = 0; v < s->plan[c].n_values && !stop; v++) {
            int cand[TUNE_MAX_COORDS];
            memcpy(cand, choice, sizeof(cand));
            cand[c] = (int)v;
            /* the start stays the best: every z is against it */
            if ((rc = try_choice(s, cand, choice, progress, ud, &ran, &stop, err))) return rc;
        }
    }
    for (size_t pass = 0; pass < s->p->max_passes && !stop && !s->p->sweep; pass++) {
        int changed = 0;
        r->passes = pass + 1;
        for (size_t c = 0; c < s->n_plan && !stop; c++)
            for (size_t v = 0; v < s->plan[c].n_values && !stop; v++) {
                int from[TUNE_MAX_COORDS], cand[TUNE_MAX_COORDS];
                memcpy(from, r->trials[r->best].choice, sizeof(from)); /* trials may move */
                memcpy(cand, from, sizeof(cand));
                if (cand[c] == (int)v) continue;
                cand[c] = (int)v;
                if ((rc = try_choice(s, cand, from, progress, ud, &ran, &stop, err))) return rc;
                if (ran && beats(&r->trials[r->n_trials - 1], &r->trials[r->best])) {
                    r->best = r->n_trials - 1;
                    double *t = s->best_users;
                    s->best_users = s->last_users;
                    s->last_users = t;
                    changed = 1;
                }
            }
        if (!changed) break;
    }
    if (stop) r->complete = 0;
    return settings_of(s, r->trials[r->best].choice, &r->cfg, err);
}

int tune_run(const ds_dataset *ds, const bcfg *base, const pipe_inputs *in, const tune_params *p,
             tune_progress_fn progress, void *ud, tune_result *out, mx_err *err) {
    memset(out, 0, sizeof(*out));
    search s = {.ds = ds, .base = base, .p = p, .r = out, .t0 = pipe_now()};
    s.plan = p->plan ? p->plan : tune_default_plan(&s.n_plan);
    if (p->plan) s.n_plan = p->n_plan;
    if (s.n_plan > TUNE_MAX_COORDS)
        return mx_err_set(err, MX_EINVAL, "tune: at most %d coordinates", TUNE_MAX_COORDS);
    if (in) s.in = *in;
    /* the early and the final model's embeddings of the last few embed.*
     * settings: a coordinate's values then the next one's reuse them; at
     * most ~1 GiB of vectors (two per entry at the largest dimension tried) */
    size_t dim_max = base->embed.dim;
    for (size_t c = 0; c < s.n_plan; c++)
        for (size_t v = 0; v < s.plan[c].n_values; v++) {
            const char *d = strstr(s.plan[c].values[v], "embed.dim=");
            if (d && (size_t)atol(d + 10) > dim_max) dim_max = (size_t)atol(d + 10);
        }
    double bytes = (double)(ds_n_users(ds) + ds_n_items(ds)) * (double)dim_max * sizeof(float);
    size_t entries = bytes > 0 ? (size_t)((double)(1u << 30) / bytes) : 8;
    s.in.emb_cache = embc_new(entries < 2 ? 2 : entries > 8 ? 8 : entries);
    if (!s.in.emb_cache) return mx_err_set(err, MX_ENOMEM, "tune: out of memory");
    size_t n_ev = 0;
    const ds_event *ev = ds_events(ds, &n_ev);
    int rc = ds_split_global(ev, n_ev, base->test_frac, base->min_train, &s.split, err);
    if (!rc)
        rc = ds_split_global(s.split.train, s.split.n_train, base->valid_frac, base->min_train,
                             &s.valid, err);
    if (!rc && s.valid.n_test_users == 0)
        rc = mx_err_set(err, MX_EINVAL,
                        "tune: no user has %zu events before the validation cut-off and one "
                        "after it: too little data to tune on",
                        base->min_train);
    if (!rc) {
        size_t nu = p->max_users && p->max_users < s.valid.n_test_users ? p->max_users
                                                                        : s.valid.n_test_users;
        s.best_users = calloc(nu, sizeof(double));
        s.last_users = calloc(nu, sizeof(double));
        if (!s.best_users || !s.last_users) rc = mx_err_set(err, MX_ENOMEM, "tune: out of memory");
    }
    if (!rc) {
        out->cutoff = s.split.cutoff;
        out->valid_cutoff = s.valid.cutoff;
        out->held_out_events = s.split.n_test;
        out->train_events = s.valid.n_train;
        out->valid_events = s.valid.n_test;
        rc = search_all(&s, progress, ud, err);
    }
    out->seconds = pipe_now() - s.t0;
    out->embed_hits = embc_hits(s.in.emb_cache);
    for (size_t i = 0; i < out->n_trials; i++)
        free(s.sig[i]);
    free(s.sig);
    free(s.best_users);
    free(s.last_users);
    embc_free(s.in.emb_cache);
    ds_split_free(&s.split);
    ds_split_free(&s.valid);
    return rc;
}

void tune_result_free(tune_result *r) {
    if (!r) return;
    free(r->trials);
    memset(r, 0, sizeof(*r));
}

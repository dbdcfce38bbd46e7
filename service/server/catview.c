/* catview.c - see catview.h. */
#include "catview.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "place.h"
#include "promo.h"

/* A model item with an expiry time (and not hidden: those are always out). */
typedef struct {
    uint32_t item;
    int64_t expires_at;
} expiring;

/* A new item (not in the model), resolved: its categories as model ids. */
typedef struct {
    rec_extra x;
    const cat_item *rec;
    uint16_t cats[CAT_MAX_CATEGORIES];
    size_t n_cats;
    const float *vec; /* the model's dimension, else NULL */
    float inv_norm;
} fresh_item;

/* A promotion resolved on the model: its candidates in its order of
 * preference (items: as listed; a category: the catalogue's new items of
 * it, newest first, then the model's items of it by popularity). */
typedef struct {
    const promo *p;
    size_t first, n; /* in cands */
} resolved_promo;

#define CATVIEW_MAX_RULES 33 /* active promotions (32) + the fresh source */
#define CATVIEW_CATEGORY_CANDS 1000
/* Fresh candidates the ranker orders per request: the best by match. */
#define CATVIEW_FRESH_RANKED 128

/* A fresh candidate being ranked for one request. */
typedef struct {
    float score;
    int64_t added_at;
    uint32_t at;
} fresh_score;

struct catview {
    double fresh_share;
    float min_cosine;
    int64_t fresh_s;
    const mx_model *m;
    char version[48]; /* m's: a new model at a reused address is still new */
    uint64_t generation;
    int has_snapshot;
    cat_snapshot *snap;
    uint32_t *hidden;
    size_t n_hidden, cap_hidden;
    expiring *exp;
    size_t n_exp, cap_exp;
    fresh_item *fresh;
    size_t n_fresh, cap_fresh;
    uint32_t *over_items; /* model items with a title/categories override, sorted */
    const cat_item **over;
    size_t n_over, cap_over, cap_over_ptr;
    promo_list *settings_promos, *stored_promos;
    resolved_promo *promos;
    size_t n_promos, cap_promos;
    rec_item *cands; /* every promotion's candidates */
    size_t n_cands, cap_cands;
    /* per request */
    rec_item *rule_cands; /* CATVIEW_MAX_RULES x (2 max_k + 2) */
    size_t max_k;
    uint8_t *place_scratch;
    rec_item *placed; /* max_k */
    uint32_t *blocked;
    size_t cap_blocked;
    float *affinity; /* n_categories of m */
    size_t cap_affinity;
    fresh_score *scores;
    size_t cap_scores;
    feat_new ranked_in[CATVIEW_FRESH_RANKED];
    rec_item ranked_out[CATVIEW_FRESH_RANKED];
};

catview *catview_new(const srv_config *cfg) {
    catview *v = calloc(1, sizeof(catview));
    if (!v) return NULL;
    v->min_cosine = (float)cfg->catalog_fresh_min_cosine;
    v->fresh_s = (int64_t)cfg->catalog_fresh_days * 86400;
    v->fresh_share = cfg->catalog_fresh_share;
    v->max_k = (size_t)cfg->max_k;
    /* checked at start-up (srv_config_validate): a failure here is OOM */
    if (promo_parse_text(cfg->catalog_promotions, "catalog.promotions", cfg->max_k,
                         &v->settings_promos, NULL, 0, NULL) ||
        !(v->rule_cands = calloc(CATVIEW_MAX_RULES * (2 * v->max_k + 2), sizeof(rec_item))) ||
        !(v->place_scratch = malloc(PLACE_SCRATCH_BYTES(v->max_k))) ||
        !(v->placed = calloc(v->max_k, sizeof(rec_item)))) {
        catview_free(v);
        return NULL;
    }
    return v;
}

void catview_free(catview *v) {
    if (!v) return;
    cat_snapshot_release(v->snap);
    free(v->hidden);
    free(v->exp);
    free(v->fresh);
    free(v->over_items);
    free(v->over);
    free(v->blocked);
    free(v->affinity);
    free(v->scores);
    promo_list_free(v->settings_promos);
    promo_list_free(v->stored_promos);
    free(v->promos);
    free(v->cands);
    free(v->rule_cands);
    free(v->place_scratch);
    free(v->placed);
    free(v);
}

const cat_snapshot *catview_snapshot(const catview *v) {
    return v->snap;
}

static void resolve_fresh(fresh_item *f, const mx_model *m, const cat_item *it) {
    memset(f, 0, sizeof(*f));
    f->rec = it;
    f->x = (rec_extra){.id = it->id,
                       .title = it->title,
                       .categories = it->categories,
                       .n_categories = it->n_categories,
                       .added_at = it->added_at};
    for (size_t j = 0; j < it->n_categories && f->n_cats < CAT_MAX_CATEGORIES; j++) {
        int64_t c = model_category(m, it->categories[j]);
        if (c >= 0) f->cats[f->n_cats++] = (uint16_t)c;
    }
    if (it->vector && it->dim == m->dim) {
        double s = 0;
        for (size_t d = 0; d < m->dim; d++)
            s += (double)it->vector[d] * it->vector[d];
        if (s > 0) {
            f->vec = it->vector;
            f->inv_norm = (float)(1.0 / sqrt(s));
        }
    }
}

/* One snapshot record into v's lists. MX_ENOMEM. */
static int resolve_one(catview *v, const mx_model *m, const cat_item *it) {
    int64_t idx = model_item(m, it->id);
    if (idx < 0) {
        if (!(it->flags & CAT_NEW) || (it->flags & CAT_HIDDEN)) return 0;
        if (buf_reserve((void **)&v->fresh, &v->cap_fresh, v->n_fresh + 1, sizeof(fresh_item)))
            return MX_ENOMEM;
        resolve_fresh(&v->fresh[v->n_fresh++], m, it);
        return 0;
    }
    if (it->flags & CAT_HIDDEN) {
        if (buf_reserve((void **)&v->hidden, &v->cap_hidden, v->n_hidden + 1, sizeof(uint32_t)))
            return MX_ENOMEM;
        v->hidden[v->n_hidden++] = (uint32_t)idx;
    } else if (it->expires_at) {
        if (buf_reserve((void **)&v->exp, &v->cap_exp, v->n_exp + 1, sizeof(expiring)))
            return MX_ENOMEM;
        v->exp[v->n_exp++] = (expiring){(uint32_t)idx, it->expires_at};
    }
    if (it->flags & (CAT_HAS_TITLE | CAT_HAS_CATEGORIES)) {
        if (buf_reserve((void **)&v->over_items, &v->cap_over, v->n_over + 1, sizeof(uint32_t)) ||
            buf_reserve((void **)&v->over, &v->cap_over_ptr, v->n_over + 1, sizeof(void *)))
            return MX_ENOMEM;
        v->over_items[v->n_over] = (uint32_t)idx;
        v->over[v->n_over++] = it;
    }
    return 0;
}

/* Sorts the override index by item (insertion sort on pairs: few). */
static void sort_overrides(catview *v) {
    for (size_t i = 1; i < v->n_over; i++) {
        uint32_t key = v->over_items[i];
        const cat_item *val = v->over[i];
        size_t j = i;
        for (; j > 0 && v->over_items[j - 1] > key; j--) {
            v->over_items[j] = v->over_items[j - 1];
            v->over[j] = v->over[j - 1];
        }
        v->over_items[j] = key;
        v->over[j] = val;
    }
}

static int add_cand(catview *v, rec_item it) {
    if (buf_reserve((void **)&v->cands, &v->cap_cands, v->n_cands + 1, sizeof(rec_item)))
        return MX_ENOMEM;
    it.reason = REC_REASON_PROMOTED;
    it.interest = UINT32_MAX;
    v->cands[v->n_cands++] = it;
    return 0;
}

static const fresh_item *fresh_named(const catview *v, const char *id) {
    for (size_t i = 0; i < v->n_fresh; i++)
        if (!strcmp(v->fresh[i].x.id, id)) return &v->fresh[i];
    return NULL;
}

static int fresh_has_category(const fresh_item *f, const char *name) {
    for (size_t j = 0; j < f->x.n_categories; j++)
        if (!strcmp(f->x.categories[j], name)) return 1;
    return 0;
}

static int by_popularity(const void *a, const void *b, void *model) {
    const pop_table *pop = &((const mx_model *)model)->pop;
    uint32_t x = ((const rec_item *)a)->item, y = ((const rec_item *)b)->item;
    float sx = pop->score[x], sy = pop->score[y];
    return sx > sy ? -1 : sx < sy ? 1 : (x > y) - (x < y);
}

static int by_added(const void *a, const void *b) {
    int64_t x = ((const rec_item *)a)->extra->added_at, y = ((const rec_item *)b)->extra->added_at;
    return x > y ? -1 : x < y;
}

/* A category promotion's candidates: the catalogue's new items of it, newest
 * first, then up to CATVIEW_CATEGORY_CANDS model items by popularity. */
static int resolve_category(catview *v, const mx_model *m, const char *name) {
    size_t start = v->n_cands;
    for (size_t i = 0; i < v->n_fresh; i++)
        if (fresh_has_category(&v->fresh[i], name) &&
            add_cand(v, (rec_item){.item = UINT32_MAX, .extra = &v->fresh[i].x}))
            return MX_ENOMEM;
    if (v->n_cands - start > 1) /* (cands may still be NULL: qsort's base must not) */
        qsort(v->cands + start, v->n_cands - start, sizeof(rec_item), by_added);
    int64_t c = model_category(m, name);
    if (c < 0) return 0;
    size_t mstart = v->n_cands;
    for (uint32_t it = 0; it < m->n_items; it++)
        for (uint32_t j = m->cat_ptr[it]; j < m->cat_ptr[it + 1]; j++)
            if (m->cat_ids[j] == (uint16_t)c) {
                if (add_cand(v, (rec_item){.item = it})) return MX_ENOMEM;
                break;
            }
    if (v->n_cands - mstart > 1)
        qsort_r(v->cands + mstart, v->n_cands - mstart, sizeof(rec_item), by_popularity, (void *)m);
    if (v->n_cands - mstart > CATVIEW_CATEGORY_CANDS) v->n_cands = mstart + CATVIEW_CATEGORY_CANDS;
    return 0;
}

static int resolve_list(catview *v, const mx_model *m, const promo_list *l) {
    for (size_t i = 0; l && i < promo_count(l); i++) {
        const promo *p = promo_at(l, i);
        if (buf_reserve((void **)&v->promos, &v->cap_promos, v->n_promos + 1,
                        sizeof(resolved_promo)))
            return MX_ENOMEM;
        size_t first = v->n_cands;
        if (p->category) {
            if (resolve_category(v, m, p->category)) return MX_ENOMEM;
        } else {
            for (size_t j = 0; j < p->n_items; j++) {
                int64_t idx = model_item(m, p->items[j]);
                const fresh_item *f = idx < 0 ? fresh_named(v, p->items[j]) : NULL;
                if (idx >= 0 && add_cand(v, (rec_item){.item = (uint32_t)idx})) return MX_ENOMEM;
                if (f && add_cand(v, (rec_item){.item = UINT32_MAX, .extra = &f->x}))
                    return MX_ENOMEM;
            }
        }
        v->promos[v->n_promos++] = (resolved_promo){p, first, v->n_cands - first};
    }
    return 0;
}

/* The promotions of the settings and of the snapshot (stored by PUT
 * /v1/admin/promotions, checked there; a list that no longer parses is
 * left out), resolved on m. After the fresh items are. */
static int resolve_promotions(catview *v, const mx_model *m) {
    promo_list_free(v->stored_promos);
    v->stored_promos = NULL;
    v->n_promos = v->n_cands = 0;
    const char *text = cat_snapshot_promotions(v->snap);
    if (text && promo_parse_text(text, "promotions", (int)v->max_k, &v->stored_promos, NULL, 0,
                                 NULL) == MX_ENOMEM)
        return MX_ENOMEM;
    return resolve_list(v, m, v->settings_promos) || resolve_list(v, m, v->stored_promos)
               ? MX_ENOMEM
               : 0;
}

int catview_update(catview *v, catstore *s, const mx_model *m, mx_err *err) {
    uint64_t gen = s ? catstore_generation(s) : 0;
    if (v->has_snapshot && v->m == m && v->generation == gen && !strcmp(v->version, m->version))
        return 0;
    cat_snapshot *snap = s ? catstore_current(s) : cat_snapshot_new(0);
    if (!snap) return mx_err_set(err, MX_ENOMEM, "out of memory for the catalogue view");
    cat_snapshot_release(v->snap);
    v->snap = snap;
    v->m = m;
    snprintf(v->version, sizeof(v->version), "%s", m->version);
    v->generation = cat_snapshot_generation(snap);
    v->n_hidden = v->n_exp = v->n_fresh = v->n_over = 0;
    v->has_snapshot = 0;
    for (size_t i = 0; i < cat_snapshot_count(snap); i++)
        if (resolve_one(v, m, cat_snapshot_at(snap, i)))
            return mx_err_set(err, MX_ENOMEM, "out of memory for the catalogue view");
    sort_overrides(v);
    if (resolve_promotions(v, m))
        return mx_err_set(err, MX_ENOMEM, "out of memory for the catalogue view");
    if (buf_reserve((void **)&v->blocked, &v->cap_blocked, v->n_hidden + v->n_exp + 1,
                    sizeof(uint32_t)) ||
        buf_reserve((void **)&v->affinity, &v->cap_affinity, m->n_categories + 1, sizeof(float)) ||
        buf_reserve((void **)&v->scores, &v->cap_scores, v->n_fresh + 1, sizeof(fresh_score)))
        return mx_err_set(err, MX_ENOMEM, "out of memory for the catalogue view");
    v->has_snapshot = 1;
    return 0;
}

const uint32_t *catview_blocked(catview *v, int64_t now, size_t *n) {
    size_t k = 0;
    if (v->n_hidden) memcpy(v->blocked, v->hidden, v->n_hidden * sizeof(uint32_t));
    k = v->n_hidden;
    for (size_t i = 0; i < v->n_exp; i++)
        if (v->exp[i].expires_at <= now) v->blocked[k++] = v->exp[i].item;
    *n = k;
    return v->blocked;
}

const cat_item *catview_override(const catview *v, uint32_t item) {
    size_t lo = 0, hi = v->n_over;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->over_items[mid] < item)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->n_over && v->over_items[lo] == item ? v->over[lo] : NULL;
}

int catview_categories_of(const void *arg, uint32_t item, const char *const **names, size_t *n) {
    const cat_item *it = catview_override(arg, item);
    if (!it || !(it->flags & CAT_HAS_CATEGORIES)) return 0;
    *names = (const char *const *)it->categories;
    *n = it->n_categories;
    return 1;
}

/* The request's category affinity: the share of the user's training items
 * in each category, plus twice the share of the session's items. 0 when
 * the user brings nothing. */
static void category_affinity(catview *v, const mx_model *m, const catview_ask *a) {
    float *aff = v->affinity;
    memset(aff, 0, m->n_categories * sizeof(float));
    if (!m->n_categories) return;
    if (a->user >= 0 && (size_t)a->user < m->n_users) {
        uint64_t lo = m->seen_ptr[a->user], hi = m->seen_ptr[a->user + 1];
        if (hi - lo > 2000) lo = hi - 2000; /* enough to know a taste */
        float w = hi > lo ? 1.0f / (float)(hi - lo) : 0;
        for (uint64_t s = lo; s < hi; s++) {
            uint32_t it = m->seen_items[s];
            for (uint32_t j = m->cat_ptr[it]; j < m->cat_ptr[it + 1]; j++)
                aff[m->cat_ids[j]] += w;
        }
    }
    size_t n_known = 0;
    for (size_t e = 0; e < a->n_events; e++)
        n_known += a->events[e].type != SESS_DISLIKE && model_item(m, a->events[e].item) >= 0;
    for (size_t e = 0; n_known && e < a->n_events; e++) {
        if (a->events[e].type == SESS_DISLIKE) continue;
        int64_t it = model_item(m, a->events[e].item);
        if (it < 0) continue;
        for (uint32_t j = m->cat_ptr[it]; j < m->cat_ptr[it + 1]; j++)
            aff[m->cat_ids[j]] += 2.0f / (float)n_known;
    }
}

/* An item outside the model the answer must not hold: engaged in the
 * session, excluded by the request, shown on an earlier page, blocked, or
 * outside the request's filters. */
static int extra_excluded(const catview_ask *a, const mx_model *m, const fresh_item *f) {
    const char *id = f->x.id;
    if (cat_item_blocked(f->rec, a->now) ||
        (a->query && !rec_filter_admits_extra(m, a->query, &f->x)))
        return 1;
    for (size_t e = 0; e < a->n_events; e++)
        if (!strcmp(a->events[e].item, id)) return 1;
    for (size_t i = 0; i < a->n_skip; i++)
        if (!strcmp(a->skip[i], id)) return 1;
    return a->shown && a->shown(a->shown_arg, id);
}

/* The same for a model item: the request's exclusions (seen, session,
 * its own, blocked: rec_last_excluded on the context that answered it),
 * filters, earlier pages. */
static int model_excluded(const catview_ask *a, const mx_model *m, uint32_t item) {
    if (a->ctx && rec_last_excluded(a->ctx, item)) return 1;
    if (a->query && !rec_filter_admits(m, a->query, item)) return 1;
    return a->shown && a->shown(a->shown_arg, m->item_ids[item]);
}

static float match(const catview *v, const mx_model *m, const fresh_item *f, const float *q,
                   float min_cos) {
    float s = 0;
    for (size_t j = 0; j < f->n_cats; j++)
        s += v->affinity[f->cats[j]];
    if (f->vec && q) {
        double dot = 0, qq = 0;
        for (size_t d = 0; d < m->dim; d++) {
            dot += (double)q[d] * f->vec[d];
            qq += (double)q[d] * q[d];
        }
        float cos = qq > 0 ? (float)(dot / sqrt(qq)) * f->inv_norm : 0;
        if (cos >= min_cos) s += 1.0f + cos; /* a close vector outranks a category overlap */
    }
    return s;
}

static int by_score(const void *pa, const void *pb) {
    const fresh_score *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->added_at != b->added_at) return a->added_at > b->added_at ? -1 : 1; /* newer first */
    return (a->at > b->at) - (a->at < b->at);
}

/* Fresh candidate i of v->scores as an answer item, in match order. */
static rec_item fresh_answer_item(const catview *v, size_t i) {
    const fresh_item *f = &v->fresh[v->scores[i].at];
    return (rec_item){.item = UINT32_MAX,
                      .extra = &f->x,
                      .score = v->scores[i].score,
                      .rank_score = v->scores[i].score,
                      .interest = UINT32_MAX,
                      .pool_rank = (uint32_t)i,
                      .reason = REC_REASON_NEW};
}

static int by_rank_score(const void *pa, const void *pb) {
    const rec_item *a = pa, *b = pb;
    if (a->rank_score != b->rank_score) return a->rank_score > b->rank_score ? -1 : 1;
    return (a->pool_rank > b->pool_rank) - (a->pool_rank < b->pool_rank);
}

/* When the request's answer was ranked, the best CATVIEW_FRESH_RANKED of
 * the n fresh candidates (v->scores, best match first) in the ranker's
 * order (rec_rank_new: it knows them as fresh, with their age, categories
 * and vector) into v->ranked_out; returns how many. 0 when the answer was
 * not ranked or ranking failed: the match order stands. */
static size_t rank_fresh(catview *v, const catview_ask *a, size_t n) {
    if (!a->ctx || !a->query || !rec_last_ranked(a->ctx) || !n) return 0;
    size_t nr = n < CATVIEW_FRESH_RANKED ? n : CATVIEW_FRESH_RANKED;
    for (size_t i = 0; i < nr; i++) {
        const fresh_item *f = &v->fresh[v->scores[i].at];
        v->ranked_in[i] = (feat_new){.age_days = (float)(a->now - f->x.added_at) / 86400.0f,
                                     .vec = f->vec,
                                     .inv_norm = f->vec ? f->inv_norm : 0,
                                     .cats = f->cats,
                                     .n_cats = f->n_cats};
        v->ranked_out[i] = fresh_answer_item(v, i);
    }
    mx_err err = {0};
    if (rec_rank_new(a->ctx, a->query, v->ranked_in, nr, v->ranked_out, &err) ||
        !v->ranked_out[0].ranked)
        return 0;
    qsort(v->ranked_out, nr, sizeof(rec_item), by_rank_score); /* ties: match order */
    return nr;
}

size_t catview_fresh(catview *v, const mx_model *m, const catview_ask *a, rec_item *out,
                     size_t cap) {
    if (!v->n_fresh || !cap) return 0;
    category_affinity(v, m, a);
    size_t n = 0;
    for (size_t i = 0; i < v->n_fresh; i++) {
        const fresh_item *f = &v->fresh[i];
        if (a->now - f->x.added_at > v->fresh_s || extra_excluded(a, m, f)) continue;
        float s = match(v, m, f, a->qvec, v->min_cosine);
        if (s <= 0) continue;
        v->scores[n++] = (fresh_score){s, f->x.added_at, (uint32_t)i};
    }
    qsort(v->scores, n, sizeof(fresh_score), by_score);
    size_t nr = rank_fresh(v, a, n), got = 0;
    for (size_t i = 0; i < nr && got < cap; i++)
        out[got++] = v->ranked_out[i];
    for (size_t i = nr; i < n && got < cap; i++)
        out[got++] = fresh_answer_item(v, i);
    return got;
}

/* Up to cap eligible candidates of promotion rp into out. */
static size_t promo_candidates(const catview *v, const mx_model *m, const catview_ask *a,
                               const resolved_promo *rp, rec_item *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < rp->n && n < cap; i++) {
        const rec_item *c = &v->cands[rp->first + i];
        int out_of_it = c->extra ? extra_excluded(a, m, (const fresh_item *)c->extra)
                                 : model_excluded(a, m, c->item);
        if (!out_of_it) out[n++] = *c;
    }
    return n;
}

size_t catview_place(catview *v, const mx_model *m, const catview_ask *a, rec_item *items, size_t n,
                     size_t k, prom *metrics) {
    if (k > v->max_k) k = v->max_k;
    size_t per_rule = 2 * k + 2, n_rules = 0;
    place_rule rules[CATVIEW_MAX_RULES];
    for (size_t i = 0; i < v->n_promos && n_rules < CATVIEW_MAX_RULES - 1; i++) {
        const promo *p = v->promos[i].p;
        if (!promo_active(p, a->now)) continue;
        rec_item *c = v->rule_cands + n_rules * per_rule;
        rules[n_rules++] =
            (place_rule){.reason = REC_REASON_PROMOTED,
                         .share = p->position >= 0 ? 0 : p->share,
                         .position = p->position >= 0 ? (size_t)p->position : 0,
                         .cands = c,
                         .n_cands = promo_candidates(v, m, a, &v->promos[i], c, per_rule)};
    }
    size_t n_promo_rules = n_rules;
    if (v->fresh_share > 0 && v->n_fresh) {
        rec_item *c = v->rule_cands + n_rules * per_rule;
        size_t nc = catview_fresh(v, m, a, c, per_rule);
        if (nc)
            rules[n_rules++] = (place_rule){
                .reason = REC_REASON_NEW, .share = v->fresh_share, .cands = c, .n_cands = nc};
    }
    if (!n_rules) return n;
    size_t n_out = 0;
    place_apply(items, n, k, rules, n_rules, v->placed, &n_out, v->place_scratch);
    memcpy(items, v->placed, n_out * sizeof(rec_item));
    size_t r = 0;
    for (size_t i = 0; i < v->n_promos && r < n_promo_rules; i++)
        if (promo_active(v->promos[i].p, a->now)) {
            if (metrics && rules[r].n_inserted)
                prom_promoted(metrics, v->promos[i].p->name, rules[r].n_inserted);
            r++;
        }
    if (metrics && n_rules > n_promo_rules && rules[n_promo_rules].n_inserted)
        prom_fresh(metrics, rules[n_promo_rules].n_inserted);
    return n_out;
}

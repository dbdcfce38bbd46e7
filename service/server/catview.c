/* catview.c - see catview.h. */
#include "catview.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

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

/* A fresh candidate being ranked for one request. */
typedef struct {
    float score;
    int64_t added_at;
    uint32_t at;
} fresh_score;

struct catview {
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
    /* per request */
    uint32_t *blocked;
    size_t cap_blocked;
    float *affinity; /* n_categories of m */
    size_t cap_affinity;
    fresh_score *scores;
    size_t cap_scores;
};

catview *catview_new(const srv_config *cfg) {
    catview *v = calloc(1, sizeof(catview));
    if (!v) return NULL;
    v->min_cosine = (float)cfg->catalog_fresh_min_cosine;
    v->fresh_s = (int64_t)cfg->catalog_fresh_days * 86400;
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

int catview_is_blocked(const catview *v, uint32_t item, int64_t now) {
    for (size_t i = 0; i < v->n_hidden; i++)
        if (v->hidden[i] == item) return 1;
    for (size_t i = 0; i < v->n_exp; i++)
        if (v->exp[i].item == item && v->exp[i].expires_at <= now) return 1;
    return 0;
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

static int skipped(const catview_ask *a, const char *id) {
    for (size_t e = 0; e < a->n_events; e++)
        if (!strcmp(a->events[e].item, id)) return 1;
    for (size_t i = 0; i < a->n_skip; i++)
        if (!strcmp(a->skip[i], id)) return 1;
    return 0;
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

size_t catview_fresh(catview *v, const mx_model *m, const catview_ask *a, rec_item *out,
                     size_t cap) {
    if (!v->n_fresh || !cap) return 0;
    category_affinity(v, m, a);
    size_t n = 0;
    for (size_t i = 0; i < v->n_fresh; i++) {
        const fresh_item *f = &v->fresh[i];
        if (cat_item_blocked(f->rec, a->now) || a->now - f->x.added_at > v->fresh_s ||
            skipped(a, f->x.id))
            continue;
        float s = match(v, m, f, a->q, v->min_cosine);
        if (s <= 0) continue;
        v->scores[n++] = (fresh_score){s, f->x.added_at, (uint32_t)i};
    }
    qsort(v->scores, n, sizeof(fresh_score), by_score);
    size_t got = 0;
    for (size_t i = 0; i < n && got < cap; i++) {
        const fresh_item *f = &v->fresh[v->scores[i].at];
        out[got++] = (rec_item){.item = UINT32_MAX,
                                .extra = &f->x,
                                .score = v->scores[i].score,
                                .rank_score = v->scores[i].score,
                                .interest = UINT32_MAX,
                                .reason = REC_REASON_NEW};
    }
    return got;
}

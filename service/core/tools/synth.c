/* synth.c - synthetic worlds with planted multi-interest users; see synth.h.
 *
 * Generation is split into independent random streams (centres, sizes,
 * item layout, vectors, and one stream per user) derived from the seed, so
 * e.g. the item vectors do not change when only n_users changes, and user
 * u's history does not depend on the users before it. */
#include "synth.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "vecio.h"

/* Every interest gets at least this many items (when n_items allows), so
 * that no planted interest is too small to be recovered at all. */
#define SYN_MIN_INTEREST_SIZE 5
/* Tries to draw an item the user has not seen before falling back to a scan;
 * only users that nearly exhaust their interests ever get there. */
#define SYN_MAX_TRIES 32

enum { ST_CENTRES = 1, ST_SIZES, ST_LAYOUT, ST_VECTORS, ST_USERS, ST_TRENDS };

#define SYN_WEEK ((int64_t)7 * 86400)
#define SYN_N_WEEKS ((size_t)(SYN_SPAN_SECONDS / SYN_WEEK + 1))

void syn_params_init(syn_params *p) {
    memset(p, 0, sizeof(*p));
    p->n_items = 10000;
    p->n_users = 2000;
    p->n_interests = 16;
    p->dim = 32;
    p->seed = 42;
    p->min_events = 5;
    p->max_events = 60;
    p->max_user_interests = 4;
    p->min_user_interests = 1;
    p->trend_items = 30;
    p->item_noise = -1.0f; /* automatic: see default_noise */
    p->zipf_s = 0.8;
    p->t0 = 1600000000;
}

/* The default noise, 0.75/sqrt(dim). With item = centre + N(0, s^2 I) the
 * expected cosine of an item to its own centre is about 1/sqrt(1 + dim s^2)
 * = 0.8 whatever dim is, while random centres are nearly orthogonal
 * (cosine ~ N(0, 1/dim)): interests are clearly separable in cosine but
 * items are spread out enough that retrieval is not trivial. */
static float default_noise(size_t dim) {
    /* item = centre + N(0, s^2 I): |item|^2 ~ 1 + dim s^2 and item.centre ~ 1,
     * so cos ~ 1/sqrt(1 + dim s^2) = 0.8 for s = 0.75/sqrt(dim). */
    return dim ? 0.75f / sqrtf((float)dim) : 0.0f;
}

/* Seeds for independent streams: a hash of (seed, stream, index). */
static void stream_seed(rng_state *r, uint64_t seed, uint64_t stream, uint64_t index) {
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    uint64_t h = rng__splitmix(&x);
    x = h ^ (index * 0x8cb92ba72f3d8dd7ULL);
    rng_seed(r, rng__splitmix(&x));
}

/* Uniform integer in [0, n); the bias of the double route is < n / 2^53. */
static size_t uniform_below(rng_state *r, size_t n) {
    size_t k = (size_t)(rng_uniform(r) * (double)n);
    return k < n ? k : n - 1;
}

/* (0, 1]: safe to take the log of. */
static double uniform_pos(rng_state *r) {
    return 1.0 - rng_uniform(r);
}

/* Box-Muller producing both values of a pair: the vectors need tens of
 * millions of normals, and rng_normal's one-per-call halves the speed. */
typedef struct gauss {
    rng_state r;
    int has_spare;
    double spare;
} gauss;

static double gauss_next(gauss *g) {
    if (g->has_spare) {
        g->has_spare = 0;
        return g->spare;
    }
    double rad = sqrt(-2.0 * log(uniform_pos(&g->r))), th = 6.283185307179586 * rng_uniform(&g->r);
    g->spare = rad * sin(th);
    g->has_spare = 1;
    return rad * cos(th);
}

static int check_params(const syn_params *p, mx_err *err) {
    if (p->n_interests == 0 || p->n_interests > UINT16_MAX)
        return mx_err_set(err, MX_EINVAL, "synth: n_interests must be in 1..%d, got %zu",
                          UINT16_MAX, p->n_interests);
    if (p->n_items < p->n_interests || p->n_items > UINT32_MAX)
        return mx_err_set(err, MX_EINVAL,
                          "synth: n_items must be at least n_interests (%zu) and fit in 32 bits, "
                          "got %zu",
                          p->n_interests, p->n_items);
    if (p->n_users == 0 || p->n_users >= UINT32_MAX)
        return mx_err_set(err, MX_EINVAL, "synth: n_users must be in 1..2^32-2, got %zu",
                          p->n_users);
    if (p->dim == 0 || p->dim > INT32_MAX)
        return mx_err_set(err, MX_EINVAL, "synth: dim must be positive, got %zu", p->dim);
    if (p->min_events == 0 || p->min_events > p->max_events)
        return mx_err_set(err, MX_EINVAL,
                          "synth: need 1 <= min_events <= max_events, got %zu and %zu",
                          p->min_events, p->max_events);
    if (p->max_events > SYN_SPAN_SECONDS / 2)
        return mx_err_set(err, MX_EINVAL, "synth: max_events %zu is too large", p->max_events);
    if (p->max_user_interests == 0)
        return mx_err_set(err, MX_EINVAL, "synth: max_user_interests must be at least 1");
    if (p->min_user_interests == 0 || p->min_user_interests > p->max_user_interests)
        return mx_err_set(err, MX_EINVAL,
                          "synth: need 1 <= min_user_interests <= max_user_interests, got %zu "
                          "and %zu",
                          p->min_user_interests, p->max_user_interests);
    if (!(p->dominant >= 0 && p->dominant < 1))
        return mx_err_set(err, MX_EINVAL, "synth: dominant must be in [0, 1), got %g", p->dominant);
    if (!(p->trend_share >= 0 && p->trend_share <= 1))
        return mx_err_set(err, MX_EINVAL, "synth: trend_share must be in [0, 1], got %g",
                          p->trend_share);
    if (p->trend_share > 0 && (p->trend_items == 0 || p->trend_items > p->n_items))
        return mx_err_set(err, MX_EINVAL, "synth: trend_items must be in 1..n_items, got %zu",
                          p->trend_items);
    if (!isfinite(p->item_noise))
        return mx_err_set(err, MX_EINVAL, "synth: item_noise must be finite");
    if (!isfinite(p->zipf_s) || p->zipf_s < 0)
        return mx_err_set(err, MX_EINVAL, "synth: zipf_s must be >= 0, got %g", p->zipf_s);
    if (p->t0 < 0 || p->t0 > INT64_MAX - SYN_SPAN_SECONDS)
        return mx_err_set(err, MX_EINVAL, "synth: t0 %lld out of range", (long long)p->t0);
    return 0;
}

static void make_centres(const syn_params *p, float *centres) {
    rng_state r;
    stream_seed(&r, p->seed, ST_CENTRES, 0);
    gauss g = {r, 0, 0};
    for (size_t c = 0; c < p->n_interests; c++) {
        float *v = centres + c * p->dim;
        double norm;
        do { /* a zero draw is only plausible for dim 1, but cannot be normalised */
            norm = 0;
            for (size_t j = 0; j < p->dim; j++) {
                v[j] = (float)gauss_next(&g);
                norm += (double)v[j] * v[j];
            }
        } while (norm < 1e-12);
        norm = sqrt(norm);
        for (size_t j = 0; j < p->dim; j++)
            v[j] = (float)(v[j] / norm);
    }
}

/* Interest sizes: a floor of SYN_MIN_INTEREST_SIZE, the rest split by a
 * Dirichlet(2) draw, which gives a spread of roughly 10x between the
 * smallest and the largest interest without degenerate ones. w is scratch
 * of n_interests doubles. */
static void make_sizes(const syn_params *p, size_t *sizes, double *w) {
    rng_state r;
    stream_seed(&r, p->seed, ST_SIZES, 0);
    size_t C = p->n_interests, base = p->n_items / C;
    if (base > SYN_MIN_INTEREST_SIZE) base = SYN_MIN_INTEREST_SIZE;
    size_t rest = p->n_items - base * C, used = 0;
    double total = 0;
    for (size_t c = 0; c < C; c++) {
        w[c] = -log(uniform_pos(&r)) - log(uniform_pos(&r)); /* Gamma(2, 1) */
        total += w[c];
    }
    for (size_t c = 0; c < C; c++) {
        size_t extra = (size_t)((double)rest * (w[c] / total));
        if (used + extra > rest) extra = rest - used; /* rounding */
        sizes[c] = base + extra;
        used += extra;
    }
    /* What flooring left over (< C items): one more for the first few. */
    for (size_t c = 0; used < rest; c = (c + 1) % C, used++)
        sizes[c]++;
}

typedef struct layout {
    size_t *start;     /* n_interests + 1: interest c owns members[start[c]..start[c+1]) */
    uint32_t *items;   /* members by popularity rank within their interest */
    double *cdf;       /* cumulative Zipf weight at each member position, last = 1 */
    uint32_t *trend;   /* SYN_N_WEEKS x trend_items: each week's trending items by rank */
    double *trend_cdf; /* trend_items: cumulative 1/rank, last = 1 */
} layout;

static void layout_free(layout *l) {
    free(l->start);
    free(l->items);
    free(l->cdf);
    free(l->trend);
    free(l->trend_cdf);
}

/* Every week's trending items: distinct within the week, drawn from the
 * whole catalogue by their own stream (partial Fisher-Yates). */
static int make_trends(const syn_params *p, layout *l, mx_err *err) {
    if (p->trend_share <= 0) return 0;
    size_t n = p->n_items, t = p->trend_items;
    l->trend = malloc(SYN_N_WEEKS * t * sizeof(uint32_t));
    l->trend_cdf = malloc(t * sizeof(double));
    uint32_t *perm = malloc(n * sizeof(uint32_t));
    if (!l->trend || !l->trend_cdf || !perm) {
        free(perm);
        return mx_err_set(err, MX_ENOMEM, "synth: cannot allocate the trends");
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (size_t wk = 0; wk < SYN_N_WEEKS; wk++) {
        rng_state r;
        stream_seed(&r, p->seed, ST_TRENDS, wk);
        for (size_t j = 0; j < t; j++) {
            size_t x = j + uniform_below(&r, n - j);
            uint32_t tmp = perm[j];
            perm[j] = perm[x];
            perm[x] = tmp;
            l->trend[wk * t + j] = perm[j];
        }
    }
    free(perm);
    double acc = 0;
    for (size_t j = 0; j < t; j++)
        l->trend_cdf[j] = acc += 1.0 / (double)(j + 1);
    for (size_t j = 0; j < t; j++)
        l->trend_cdf[j] /= acc;
    l->trend_cdf[t - 1] = 1.0;
    return 0;
}

/* Assigns items to interests at random positions in the id space and a
 * random popularity rank within the interest, so that neither interest nor
 * popularity can be guessed from an item's id. */
static int make_layout(const syn_params *p, uint32_t *item_interest, layout *l, mx_err *err) {
    size_t C = p->n_interests, n = p->n_items;
    l->start = calloc(C + 1, sizeof(size_t));
    l->items = malloc(n * sizeof(uint32_t));
    l->cdf = malloc(n * sizeof(double));
    if (!l->start || !l->items || !l->cdf)
        return mx_err_set(err, MX_ENOMEM, "synth: cannot allocate the layout of %zu items", n);
    double *scratch = malloc(C * sizeof(double));
    if (!scratch) return mx_err_set(err, MX_ENOMEM, "synth: out of memory");
    make_sizes(p, l->start + 1, scratch);
    free(scratch);
    for (size_t c = 0; c < C; c++)
        l->start[c + 1] += l->start[c];
    for (size_t c = 0, i = 0; c < C; c++)
        for (; i < l->start[c + 1]; i++)
            item_interest[i] = (uint32_t)c;

    rng_state r;
    stream_seed(&r, p->seed, ST_LAYOUT, 0);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = uniform_below(&r, i + 1);
        uint32_t t = item_interest[i];
        item_interest[i] = item_interest[j];
        item_interest[j] = t;
    }
    size_t *fill = malloc(C * sizeof(size_t));
    if (!fill) return mx_err_set(err, MX_ENOMEM, "synth: out of memory");
    memcpy(fill, l->start, C * sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        l->items[fill[item_interest[i]]++] = (uint32_t)i;
    free(fill);

    for (size_t c = 0; c < C; c++) {
        size_t a = l->start[c], b = l->start[c + 1];
        for (size_t i = b - 1; i > a; i--) {
            size_t j = a + uniform_below(&r, i - a + 1);
            uint32_t t = l->items[i];
            l->items[i] = l->items[j];
            l->items[j] = t;
        }
        double acc = 0;
        for (size_t i = a; i < b; i++) {
            acc += pow((double)(i - a + 1), -p->zipf_s);
            l->cdf[i] = acc;
        }
        for (size_t i = a; i < b; i++)
            l->cdf[i] /= acc;
        l->cdf[b - 1] = 1.0;
    }
    return 0;
}

static void make_vectors(const syn_params *p, float noise, const float *centres,
                         const uint32_t *item_interest, float *vecs) {
    rng_state r;
    stream_seed(&r, p->seed, ST_VECTORS, 0);
    gauss g = {r, 0, 0};
    size_t d = p->dim;
    for (size_t i = 0; i < p->n_items; i++) {
        const float *c = centres + (size_t)item_interest[i] * d;
        float *v = vecs + i * d;
        for (size_t j = 0; j < d; j++)
            v[j] = c[j] + noise * (float)gauss_next(&g);
    }
}

/* Position in [a, b) of the first cdf value above u. */
static size_t cdf_pick(const double *cdf, size_t a, size_t b, double u) {
    while (a + 1 < b) {
        size_t m = a + (b - a - 1) / 2;
        if (cdf[m] > u)
            b = m + 1;
        else
            a = m + 1;
    }
    return a;
}

static int cmp_event(const void *pa, const void *pb) {
    const ds_event *a = pa, *b = pb;
    if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
    if (a->user != b->user) return a->user < b->user ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

static int cmp_i64(const void *pa, const void *pb) {
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

typedef struct user_scratch {
    uint32_t *mark; /* n_items: user + 1 once the user has the item */
    int64_t *ts;    /* max_events */
    uint32_t *chosen;
    double *cum;
} user_scratch;

/* Appends user u's events to w->events (capacity *cap). */
static int make_user(const syn_params *p, const layout *l, uint32_t u, user_scratch *s,
                     syn_world *w, size_t *cap, mx_err *err) {
    rng_state r;
    stream_seed(&r, p->seed, ST_USERS, u);
    size_t C = p->n_interests, kmax = p->max_user_interests < C ? p->max_user_interests : C;
    size_t kmin = p->min_user_interests < kmax ? p->min_user_interests : kmax;
    size_t k = kmin + uniform_below(&r, kmax - kmin + 1), available = 0;
    for (size_t j = 0; j < k; j++) {
        uint32_t c;
        int dup;
        do { /* k <= C and usually k << C: rejection is cheap */
            c = (uint32_t)uniform_below(&r, C);
            dup = 0;
            for (size_t m = 0; m < j; m++)
                dup |= s->chosen[m] == c;
        } while (dup);
        s->chosen[j] = c;
        available += l->start[c + 1] - l->start[c];
    }
    float *wrow = w->user_weights + (size_t)u * C;
    double total = 0;
    for (size_t j = 0; j < k; j++) { /* Dirichlet(1) mixture weights */
        s->cum[j] = -log(uniform_pos(&r));
        total += s->cum[j];
    }
    if (p->dominant > 0 && k > 1) { /* the first takes `dominant`, the others the rest */
        double rest = total - s->cum[0];
        for (size_t j = 1; j < k; j++)
            s->cum[j] *= (1.0 - p->dominant) / rest;
        s->cum[0] = p->dominant;
        total = 1.0;
    }
    for (size_t j = 0; j < k; j++) {
        wrow[s->chosen[j]] = (float)(s->cum[j] / total);
        s->cum[j] = (j ? s->cum[j - 1] : 0) + s->cum[j] / total;
    }
    s->cum[k - 1] = 1.0;

    double lo = log((double)p->min_events), hi = log((double)p->max_events + 1);
    size_t n = (size_t)exp(lo + rng_uniform(&r) * (hi - lo));
    if (n < p->min_events) n = p->min_events;
    if (n > p->max_events) n = p->max_events;
    if (n > available) n = available; /* no duplicates: cannot have more */

    /* Strictly increasing times: sorted draws in [0, span - n], plus rank. */
    for (size_t e = 0; e < n; e++)
        s->ts[e] = (int64_t)uniform_below(&r, (size_t)(SYN_SPAN_SECONDS - n + 1));
    qsort(s->ts, n, sizeof(int64_t), cmp_i64);

    if (w->n_events + n > *cap) {
        size_t nc = *cap * 2 > w->n_events + n ? *cap * 2 : w->n_events + n;
        ds_event *ne = realloc(w->events, nc * sizeof(ds_event));
        if (!ne) return mx_err_set(err, MX_ENOMEM, "synth: cannot allocate %zu events", nc);
        w->events = ne;
        *cap = nc;
    }
    for (size_t e = 0; e < n; e++) {
        uint32_t item = 0, c = 0;
        int found = 0;
        /* a trending event: this week's set, else the user's interests */
        const uint32_t *hot = NULL;
        if (p->trend_share > 0 && rng_uniform(&r) < p->trend_share)
            hot = l->trend + (size_t)(s->ts[e] / SYN_WEEK) * p->trend_items;
        for (int t = 0; hot && t < SYN_MAX_TRIES && !found; t++) {
            item = hot[cdf_pick(l->trend_cdf, 0, p->trend_items, rng_uniform(&r))];
            found = s->mark[item] != u + 1;
        }
        for (int t = 0; t < SYN_MAX_TRIES && !found; t++) {
            c = s->chosen[cdf_pick(s->cum, 0, k, rng_uniform(&r))];
            item = l->items[cdf_pick(l->cdf, l->start[c], l->start[c + 1], rng_uniform(&r))];
            found = s->mark[item] != u + 1;
        }
        /* Fallback: the first unseen item of the last interest tried, then
         * of the others; one exists because n <= available. */
        for (size_t j = 0; !found && j <= k; j++) {
            uint32_t cc = j == 0 ? c : s->chosen[j - 1];
            for (size_t i = l->start[cc]; i < l->start[cc + 1] && !found; i++) {
                item = l->items[i];
                found = s->mark[item] != u + 1;
            }
        }
        s->mark[item] = u + 1;
        ds_event *ev = &w->events[w->n_events++];
        ev->user = u;
        ev->item = item;
        ev->ts = p->t0 + s->ts[e] + (int64_t)e;
        ev->value = 1.0f;
    }
    return 0;
}

/* Gives every item without events one event from a random user who holds
 * the item's interest (users are drawn from their own stream, so this pass
 * does not disturb the users' regular events). */
static int cover_items(const syn_params *p, syn_world *w, size_t *cap, mx_err *err) {
    size_t C = w->n_interests, n = w->n_items, nu = w->n_users;
    uint8_t *seen = calloc(n, 1);
    size_t *start = calloc(C + 1, sizeof(size_t));
    uint32_t *users = NULL;
    int rc = 0;
    if (!seen || !start) {
        rc = mx_err_set(err, MX_ENOMEM, "synth: out of memory covering items");
        goto done;
    }
    for (size_t e = 0; e < w->n_events; e++)
        seen[w->events[e].item] = 1;
    /* users per interest, as CSR */
    for (size_t u = 0; u < nu; u++)
        for (size_t c = 0; c < C; c++)
            if (w->user_weights[u * C + c] > 0) start[c + 1]++;
    for (size_t c = 0; c < C; c++)
        start[c + 1] += start[c];
    users = malloc((start[C] ? start[C] : 1) * sizeof(uint32_t));
    if (!users) {
        rc = mx_err_set(err, MX_ENOMEM, "synth: out of memory covering items");
        goto done;
    }
    {
        size_t *fill = start; /* reuse: fill then shift back */
        for (size_t u = 0; u < nu; u++)
            for (size_t c = 0; c < C; c++)
                if (w->user_weights[u * C + c] > 0) users[fill[c]++] = (uint32_t)u;
        for (size_t c = C; c > 0; c--)
            start[c] = start[c - 1];
        start[0] = 0;
    }
    rng_state r;
    stream_seed(&r, p->seed, ST_USERS, UINT64_MAX);
    for (size_t i = 0; i < n; i++) {
        if (seen[i]) continue;
        uint32_t c = w->item_interest[i];
        size_t cnt = start[c + 1] - start[c];
        if (cnt == 0) continue;
        if (w->n_events == *cap) {
            size_t nc = *cap * 2 + 16;
            ds_event *ne = realloc(w->events, nc * sizeof(ds_event));
            if (!ne) {
                rc = mx_err_set(err, MX_ENOMEM, "synth: cannot allocate %zu events", nc);
                goto done;
            }
            w->events = ne;
            *cap = nc;
        }
        ds_event *ev = &w->events[w->n_events++];
        ev->user = users[start[c] + uniform_below(&r, cnt)];
        ev->item = (uint32_t)i;
        ev->ts = p->t0 + (int64_t)uniform_below(&r, (size_t)SYN_SPAN_SECONDS);
        ev->value = 1.0f;
    }
done:
    free(seen);
    free(start);
    free(users);
    return rc;
}

int syn_make(const syn_params *p, syn_world *out, mx_err *err) {
    if (!p || !out) return mx_err_set(err, MX_EINVAL, "syn_make: NULL argument");
    memset(out, 0, sizeof(*out));
    int rc = check_params(p, err);
    if (rc) return rc;
    size_t C = p->n_interests, d = p->dim, n = p->n_items;
    float noise = p->item_noise < 0 ? default_noise(d) : p->item_noise;
    layout l = {0};
    user_scratch s = {0};
    syn_world w = {.n_items = n, .n_users = p->n_users, .n_interests = C, .dim = d};

    if (n > SIZE_MAX / sizeof(float) / d || p->n_users > SIZE_MAX / sizeof(float) / C) {
        rc = mx_err_set(err, MX_EINVAL, "synth: world too large");
        goto fail;
    }
    w.centres = malloc(C * d * sizeof(float));
    w.item_vecs = malloc(n * d * sizeof(float));
    w.item_interest = malloc(n * sizeof(uint32_t));
    w.item_pop = malloc(n * sizeof(float));
    w.user_weights = calloc(p->n_users * C, sizeof(float));
    s.mark = calloc(n, sizeof(uint32_t));
    s.ts = malloc(p->max_events * sizeof(int64_t));
    s.chosen = malloc(C * sizeof(uint32_t));
    s.cum = malloc(C * sizeof(double));
    if (!w.centres || !w.item_vecs || !w.item_interest || !w.item_pop || !w.user_weights ||
        !s.mark || !s.ts || !s.chosen || !s.cum) {
        rc = mx_err_set(err, MX_ENOMEM, "synth: cannot allocate a world of %zu items x %zu dims", n,
                        d);
        goto fail;
    }
    make_centres(p, w.centres);
    if ((rc = make_layout(p, w.item_interest, &l, err)) || (rc = make_trends(p, &l, err)))
        goto fail;
    for (size_t c = 0; c < C; c++) /* the weights make_layout's cdf sums */
        for (size_t i = l.start[c]; i < l.start[c + 1]; i++)
            w.item_pop[l.items[i]] = (float)pow((double)(i - l.start[c] + 1), -p->zipf_s);
    make_vectors(p, noise, w.centres, w.item_interest, w.item_vecs);

    /* Mean of the log-uniform count, to size the event array once. */
    double mean = (double)p->max_events + 1 - (double)p->min_events;
    mean /= log(((double)p->max_events + 1) / (double)p->min_events);
    size_t cap = (size_t)(mean * 1.05 * (double)p->n_users) + 16;
    w.events = malloc(cap * sizeof(ds_event));
    if (!w.events) {
        rc = mx_err_set(err, MX_ENOMEM, "synth: cannot allocate %zu events", cap);
        goto fail;
    }
    for (size_t u = 0; u < p->n_users; u++)
        if ((rc = make_user(p, &l, (uint32_t)u, &s, &w, &cap, err))) goto fail;
    if (p->cover_items && (rc = cover_items(p, &w, &cap, err))) goto fail;
    qsort(w.events, w.n_events, sizeof(ds_event), cmp_event);

    layout_free(&l);
    free(s.mark);
    free(s.ts);
    free(s.chosen);
    free(s.cum);
    *out = w;
    return 0;
fail:
    layout_free(&l);
    free(s.mark);
    free(s.ts);
    free(s.chosen);
    free(s.cum);
    syn_world_free(&w);
    return rc;
}

void syn_world_free(syn_world *w) {
    if (!w) return;
    free(w->centres);
    free(w->item_vecs);
    free(w->item_interest);
    free(w->item_pop);
    free(w->user_weights);
    free(w->events);
    memset(w, 0, sizeof(*w));
}

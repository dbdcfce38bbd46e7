/* rng.h - a small deterministic PRNG (splitmix64 seeding xoshiro256**),
 * so results depend on the seed only, never on libc's rand(). Header-only;
 * a state belongs to one thread. */
#ifndef RNG_RNG_H
#define RNG_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct rng_state {
    uint64_t s[4];
} rng_state;

static inline uint64_t rng__splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void rng_seed(rng_state *st, uint64_t seed) {
    for (int i = 0; i < 4; i++)
        st->s[i] = rng__splitmix(&seed);
}

static inline uint64_t rng__rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng_state *st) {
    uint64_t *s = st->s;
    uint64_t result = rng__rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng__rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static inline double rng_uniform(rng_state *st) {
    return (double)(rng_next(st) >> 11) * 0x1.0p-53;
}

/* Standard normal (Box-Muller, one value per call). */
static inline double rng_normal(rng_state *st) {
    double u1 = rng_uniform(st), u2 = rng_uniform(st);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif

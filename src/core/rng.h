/* Random numbers: xoshiro256** for sequential streams (shuffling, init) and a
 * counter-based hash for values that must not depend on thread scheduling
 * (dropout masks: one value per (seed, step, layer, index)). */
#ifndef NNLAB_RNG_H
#define NNLAB_RNG_H

#include <stdint.h>

typedef struct nl_rng {
    uint64_t s[4];
} nl_rng;

static inline uint64_t nl_splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static inline void nl_rng_seed(nl_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x = nl_splitmix64(x);
        r->s[i] = x;
    }
}

static inline uint64_t nl_rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t nl_rng_next(nl_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = nl_rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = nl_rotl64(s[3], 45);
    return result;
}

/* Uniform float in [0, 1) with 24 random bits. */
static inline float nl_rng_uniform(nl_rng *r) { return (float)(nl_rng_next(r) >> 40) * 0x1.0p-24f; }

/* Uniform integer in [0, n), unbiased (Lemire's method). */
static inline uint64_t nl_rng_below(nl_rng *r, uint64_t n) {
    uint64_t x = nl_rng_next(r);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = nl_rng_next(r);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* Counter-based: a well-mixed 64-bit value from (key, counter). */
static inline uint64_t nl_hash2(uint64_t key, uint64_t counter) {
    return nl_splitmix64(key ^ nl_splitmix64(counter + 0x632be59bd9b4e019ULL));
}

/* Fisher-Yates shuffle of idx[0..n). */
static inline void nl_shuffle_u32(uint32_t *idx, uint64_t n, nl_rng *r) {
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = nl_rng_below(r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

#endif

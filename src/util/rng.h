/* A small, fast pseudo-random generator (xoshiro256**) for pacing jitter and
 * spintax. Not for secrets: tokens come from the system's CSPRNG elsewhere.
 * The state is a plain struct so each campaign can own one and tests can seed
 * it for repeatable draws. */
#ifndef DP_RNG_H
#define DP_RNG_H

#include <stdint.h>

typedef struct dp_rng {
    uint64_t s[4];
} dp_rng;

/* Deterministic seeding: the same seed always gives the same sequence. Any
 * seed is fine, including 0 (the state is expanded with splitmix64, which
 * never yields the all-zero state xoshiro cannot leave). */
void rng_seed(dp_rng *r, uint64_t seed);
/* Seeds from getrandom(2); falls back to the clock and pid if the kernel
 * cannot answer, so it never fails. */
void rng_seed_random(dp_rng *r);
/* The next 64 uniformly distributed bits. */
uint64_t rng_next(dp_rng *r);
/* A double uniform in [0, 1) with 53 bits of precision. */
double rng_unit(dp_rng *r);
/* An integer uniform in [lo, hi], both inclusive, without modulo bias (any
 * range, up to the full int64 span). Returns lo when hi <= lo. */
int64_t rng_range(dp_rng *r, int64_t lo, int64_t hi);

#endif

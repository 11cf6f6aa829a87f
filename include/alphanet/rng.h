/* rng.h - deterministic random numbers.
 *
 * Two kinds, both reproducible across machines, thread counts and rank counts:
 *   - an_hash*: counter-based, a pure function of (seed, stream, index). Used wherever a value
 *     must not depend on the order or the number of workers that draw it (dropout masks,
 *     augmentation of sample i in epoch e, shuffles).
 *   - an_rng: a small sequential generator (xoshiro256**) whose whole state is four words, so a
 *     checkpoint can store it and a resumed run continues the same sequence (the coordinator's
 *     subnet sampling).
 */
#ifndef ALPHANET_RNG_H
#define ALPHANET_RNG_H

#include <stdint.h>

/* 64 random bits from (seed, stream, index). */
uint64_t an_hash3(uint64_t seed, uint64_t stream, uint64_t index);
/* Uniform in [0, 1) with 24 bits, exactly representable as float. */
static inline float an_hash_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
    return (float)(an_hash3(seed, stream, index) >> 40) * (1.0f / 16777216.0f);
}

typedef struct { uint64_t s[4]; } an_rng;

void an_rng_seed(an_rng *r, uint64_t seed);
uint64_t an_rng_next(an_rng *r);
/* Uniform integer in [0, n), unbiased (n > 0). */
uint32_t an_rng_below(an_rng *r, uint32_t n);
/* Uniform double in [0, 1) with 53 bits. */
double an_rng_uniform(an_rng *r);

#endif

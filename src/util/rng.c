/* rng.c - see rng.h. splitmix64 finaliser for the counter-based hash, xoshiro256** for the
 * sequential generator (public-domain algorithms by Vigna et al.). */
#include "alphanet/rng.h"

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t an_hash3(uint64_t seed, uint64_t stream, uint64_t index)
{
    uint64_t h = mix64(seed + 0x9E3779B97F4A7C15ull);
    h = mix64(h ^ (stream + 0xD1B54A32D192ED03ull));
    return mix64(h ^ (index * 0x9E3779B97F4A7C15ull + 0x8CB92BA72F3D8DD7ull));
}

void an_rng_seed(an_rng *r, uint64_t seed)
{
    uint64_t z = seed;
    for (int i = 0; i < 4; i++) {
        z += 0x9E3779B97F4A7C15ull;
        r->s[i] = mix64(z);
    }
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t an_rng_next(an_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t an_rng_below(an_rng *r, uint32_t n)
{
    /* Lemire's multiply-and-reject: unbiased and branch-light. */
    uint64_t m = (uint64_t)(uint32_t)(an_rng_next(r) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)(an_rng_next(r) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double an_rng_uniform(an_rng *r) { return (double)(an_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

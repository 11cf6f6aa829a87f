/* vmath.h - private vector helpers of the kernels: 8- and 16-float vector types, and a
 * vectorisable single-precision exp for the activation kernels.
 * glibc's expf is a function call the compiler cannot vectorise without -ffast-math, and
 * swish needs one exp per activation. This is the classic Cody-Waite range reduction with a
 * degree-6 minimax polynomial (as in Cephes' expf): max relative error about 2 ulp over the
 * clamped range, 0 * inf never produced (inputs are clamped to where the result is finite). */
#ifndef ALPHANET_KERNELS_VMATH_H
#define ALPHANET_KERNELS_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float an_expf(float x)
{
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    x = x < -87.3365447504f ? -87.3365447504f : x;
    const float kf = rintf(x * 1.44269504088896341f);
    float r = x - kf * 0.693359375f;
    r = r - kf * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float e = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t)kf + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

/* 8 floats as one value: GCC and Clang lower arithmetic on it to the target's vectors (one ymm
 * register with AVX2, half a zmm with AVX-512). vload / vstore are unaligned. */
typedef float an_v8 __attribute__((vector_size(32)));
static inline an_v8 an_vload(const float *p)
{
    an_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void an_vstore(float *p, an_v8 v) { memcpy(p, &v, sizeof v); }
static inline an_v8 an_vset1(float x) { return (an_v8){x, x, x, x, x, x, x, x}; }
static inline float an_vsum(an_v8 v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

/* 16 floats: one zmm register with AVX-512. Where the FMA units are 512 bits wide (Zen 5, Intel
 * server cores), this doubles the arithmetic per instruction over an_v8; elsewhere the compiler
 * splits it into two or four registers. */
typedef float an_v16 __attribute__((vector_size(64)));
static inline an_v16 an_vload16(const float *p)
{
    an_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void an_vstore16(float *p, an_v16 v) { memcpy(p, &v, sizeof v); }
static inline an_v16 an_vset16(float x) { return (an_v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
/* Keeps the an_v16 v in a vector register from here on: without it GCC may load an operand again
 * for every multiply-add that uses it (a memory operand each time), doubling the loads of a
 * register-blocked loop. An empty asm the compiler cannot see through; only where 16 floats fit
 * one register (AVX-512), a no-op elsewhere. */
#if defined(__GNUC__) && defined(__AVX512F__)
#define AN_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define AN_IN_REGISTER(v) ((void)0)
#endif

static inline float an_vsum16(an_v16 v)
{
    an_v8 lo, hi;
    memcpy(&lo, &v, sizeof lo);
    memcpy(&hi, (const char *)&v + sizeof lo, sizeof hi);
    return an_vsum(lo + hi);
}

/* 1 / (1 + exp(-x)) */
static inline float an_sigmoidf(float x) { return 1.0f / (1.0f + an_expf(-x)); }

#endif

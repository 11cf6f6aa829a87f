/* vmath.h - private vector helpers of the kernels: 8- and 16-float vector types, and a
 * single-precision exp(-x) (scalar and 16 lanes) for swish and sigmoid.
 * glibc's expf is a function call the compiler cannot vectorise without -ffast-math, and
 * swish needs one exp per activation. This is the classic Cody-Waite range reduction with a
 * degree-6 minimax polynomial (as in Cephes' expf): max relative error about 2 ulp over the
 * clamped range, 0 * inf never produced (inputs are clamped to where the result is finite). */
#ifndef ALPHANET_KERNELS_VMATH_H
#define ALPHANET_KERNELS_VMATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

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
    /* halves by shuffles, not through memory: a memcpy here made GCC keep the accumulators
     * passed in on the stack for the whole loop that built them */
    const an_v8 lo = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
    const an_v8 hi = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    return an_vsum(lo + hi);
}

/* Prefetch the line at p into L2 (for reading, or for writing). An asm statement, because GCC
 * deletes a loop whose body is only __builtin_prefetch at -O2, and at -O3 in some contexts. */
#if defined(__GNUC__) && defined(__x86_64__)
static inline void an_prefetch(const void *p) { __asm__ volatile("prefetcht1 %0" : : "m"(*(const char *)p)); }
static inline void an_prefetchw(const void *p) { __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p)); }
#else
static inline void an_prefetch(const void *p) { __builtin_prefetch(p, 0, 2); }
static inline void an_prefetchw(const void *p) { __builtin_prefetch(p, 1, 2); }
#endif

/* exp(-x), the form sigmoid needs, in the steps of Cephes' expf with the negation folded into
 * the constants: |x| is clamped to 88.376 (where the result is still finite; NaN passes through),
 * k = round(-x / ln 2), r = -x - k ln 2 in two parts, exp(-x) = 2^k (1 + r + r^2 p(r)), with
 * t = -r carried instead of r. Max relative error about 2 ulp.
 * The scalar and the 16-lane versions take the same steps and give the same bits, so a value does
 * not depend on whether it falls in a vector or in the scalar tail of a loop. */
#define AN_EXP_CLAMP 88.3762626647949f
#define AN_EXPNEG_T(t, k, e)                                                                      \
    do {                                                                                          \
        /* t = x + k ln 2 = -r */                                                                 \
        t = t + k * 0.693359375f;                                                                 \
        t = t + k * -2.12194440e-4f;                                                              \
        __typeof__(t) p_ = t * -1.9875691500e-4f + 1.3981999507e-3f;                              \
        p_ = p_ * t + -8.3334519073e-3f;                                                          \
        p_ = p_ * t + 4.1665795894e-2f;                                                           \
        p_ = p_ * t + -1.6666665459e-1f;                                                          \
        p_ = p_ * t + 5.0000001201e-1f;                                                           \
        e = p_ * t * t - t + 1.0f;                                                                \
    } while (0)

static inline float an_expnegf(float x)
{
    if (x != x) return x; /* NaN: (int)k below would be undefined */
    x = x > AN_EXP_CLAMP ? AN_EXP_CLAMP : (x < -AN_EXP_CLAMP ? -AN_EXP_CLAMP : x);
    const float k = rintf(x * -1.44269504088896341f);
    float t = x, e;
    AN_EXPNEG_T(t, k, e);
    return scalbnf(e, (int)k); /* exact, like vscalefps: e 2^128 stays finite for e < 1 */
}

/* 1 / (1 + exp(-x)) */
static inline float an_sigmoidf(float x) { return 1.0f / (1.0f + an_expnegf(x)); }

/* exp(-x) of 16 lanes. With AVX-512 the clamp is one vrangeps (smaller magnitude, sign of x)
 * and the power of two one vscalefps: 16 instructions, where a scalar loop that GCC vectorised
 * took twice that (it turned the clamp into mask-register blends) and ran at half the speed. */
#if defined(__AVX512F__) && defined(__AVX512DQ__)
static inline an_v16 an_vexpneg16(an_v16 x)
{
    const an_v16 t0 = (an_v16)_mm512_range_ps((__m512)x, _mm512_set1_ps(AN_EXP_CLAMP), 0x02);
    const an_v16 k = (an_v16)_mm512_roundscale_ps((__m512)(t0 * -1.44269504088896341f),
                                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    an_v16 t = t0, e;
    AN_EXPNEG_T(t, k, e);
    return (an_v16)_mm512_scalef_ps((__m512)e, (__m512)k);
}
#else
static inline an_v16 an_vexpneg16(an_v16 x)
{
    an_v16 y;
    for (int l = 0; l < 16; l++) y[l] = an_expnegf(x[l]);
    return y;
}
#endif
static inline an_v16 an_vsigmoid16(an_v16 x) { return 1.0f / (1.0f + an_vexpneg16(x)); }

/* a * b + c with one rounding, spelled out: where two kernels must give the same bits (BN + swish
 * forward and backward, and the chained block of dwbn.c, which computes some of the same values
 * in other loops), the compiler's contraction of a * b + c, which may differ loop by loop, is not
 * relied on. Scalar code uses fmaf (a libm call per element on a target without FMA). */
#if defined(__AVX512F__)
static inline an_v16 an_vfma16(an_v16 a, an_v16 b, an_v16 c)
{
    return (an_v16)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
}
#else
static inline an_v16 an_vfma16(an_v16 a, an_v16 b, an_v16 c)
{
    an_v16 y;
    for (int l = 0; l < 16; l++) y[l] = fmaf(a[l], b[l], c[l]);
    return y;
}
#endif

/* y[i] = swish(x[i] * scale + shift) = v * sigmoid(v) for i < n, and sg[i] = sigmoid(v) when
 * keep: 16 lanes at a time, then the rest one by one. The backward of BN + swish needs sigmoid(v)
 * again; a caller that computes y anyway keeps it rather than evaluate the exponential twice. */
static inline __attribute__((always_inline)) void an_swish_affine_body(float *restrict y, float *restrict sg,
                                                                       const float *restrict x, ptrdiff_t n,
                                                                       float scale, float shift, const int keep)
{
    const an_v16 vs = an_vset16(scale), vb = an_vset16(shift);
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const an_v16 v = an_vfma16(an_vload16(x + i), vs, vb), sv = an_vsigmoid16(v);
        an_vstore16(y + i, v * sv);
        if (keep) an_vstore16(sg + i, sv);
    }
    for (; i < n; i++) {
        const float v = fmaf(x[i], scale, shift), sv = an_sigmoidf(v);
        y[i] = v * sv;
        if (keep) sg[i] = sv;
    }
}
static inline void an_swish_affine(float *restrict y, const float *restrict x, ptrdiff_t n, float scale, float shift)
{
    an_swish_affine_body(y, NULL, x, n, scale, shift, 0);
}
static inline void an_swish_affine_keep(float *restrict y, float *restrict sg, const float *restrict x, ptrdiff_t n,
                                        float scale, float shift)
{
    an_swish_affine_body(y, sg, x, n, scale, shift, 1);
}

#endif

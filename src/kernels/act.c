/* act.c - elementwise activations (see act.h). */
#include "alphanet/kernels/act.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "alphanet/kernels/gemm.h"
#include "vmath.h"

/* The elementwise loops run on [lo, hi) slices, one per thread: an `omp parallel for simd` over
 * the whole range made the one-thread loop seven times slower (the exp no longer vectorised).
 * Swish runs 16 lanes at a time (vmath.h), then the rest of its slice. */
static void swish_fwd(float *restrict y, const float *restrict x, size_t lo, size_t hi)
{
    an_swish_affine(y + lo, x + lo, (ptrdiff_t)(hi - lo), 1.0f, 0.0f);
}

static void swish_bwd(float *restrict dx, const float *restrict dy, const float *restrict x, size_t lo, size_t hi)
{
    const an_v16 one = an_vset16(1.0f);
    size_t i = lo;
    for (; i + 16 <= hi; i += 16) {
        const an_v16 v = an_vload16(x + i), s = an_vsigmoid16(v);
        an_vstore16(dx + i, an_vload16(dx + i) + an_vload16(dy + i) * s * (one + v * (one - s)));
    }
    for (; i < hi; i++) {
        const float s = an_sigmoidf(x[i]);
        dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

/* [lo, hi) of thread t of nt over n elements, in whole 64-byte lines */
static void slice(size_t n, int t, int nt, size_t *lo, size_t *hi)
{
    const size_t per = ((n + (size_t)nt - 1) / (size_t)nt + 15) / 16 * 16;
    *lo = per * (size_t)t < n ? per * (size_t)t : n;
    *hi = *lo + per < n ? *lo + per : n;
}

/* Runs the statement with size_t lo, hi: once over [0, n) on the calling thread, or on each
 * kernel thread over its slice when there are two or more threads and at least min_work
 * elements. */
#define SLICED(n, min_work, ...)                                                       \
    do {                                                                               \
        const int nt_ = an_kernel_threads();                                           \
        if (nt_ < 2 || (n) < (min_work)) {                                             \
            const size_t lo = 0, hi = (n);                                             \
            __VA_ARGS__;                                                               \
        } else {                                                                       \
            _Pragma("omp parallel num_threads(nt_)")                                   \
            {                                                                          \
                size_t lo, hi;                                                         \
                slice((n), omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);     \
                __VA_ARGS__;                                                           \
            }                                                                          \
        }                                                                              \
    } while (0)

void an_swish_forward(float *y, const float *x, size_t n)
{
    SLICED(n, AN_PAR_MIN_WORK, swish_fwd(y, x, lo, hi));
}

void an_swish_backward(float *dx, const float *dy, const float *x, size_t n)
{
    SLICED(n, AN_PAR_MIN_WORK, swish_bwd(dx, dy, x, lo, hi));
}

void an_relu_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void an_relu_backward(float *dx, const float *dy, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
}

void an_hsigmoid_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i] + 3.0f;
        v = v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
        y[i] = v * (1.0f / 6.0f);
    }
}

void an_hsigmoid_backward(float *dx, const float *dy, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] += (x[i] > -3.0f && x[i] < 3.0f) ? dy[i] * (1.0f / 6.0f) : 0.0f;
}

void an_zero(float *x, size_t n)
{
    SLICED(n, 4 * AN_PAR_MIN_WORK, memset(x + lo, 0, (hi - lo) * sizeof(float)));
}

/* y = a + b over [lo, hi); y may be a (each element is read before it is written). */
static void add_slice(float *y, const float *a, const float *b, size_t lo, size_t hi)
{
    size_t i = lo;
    for (; i + 16 <= hi; i += 16) an_vstore16(y + i, an_vload16(a + i) + an_vload16(b + i));
    for (; i < hi; i++) y[i] = a[i] + b[i];
}

void an_add(float *y, const float *a, const float *b, size_t n)
{
    SLICED(n, AN_PAR_MIN_WORK, add_slice(y, a, b, lo, hi));
}

void an_add_inplace(float *y, const float *x, size_t n) { an_add(y, y, x, n); }

/* act.c - elementwise activations (see act.h). */
#include "alphanet/kernels/act.h"

#include <math.h>

#include "alphanet/kernels/gemm.h"
#include "vmath.h"

void an_swish_forward(float *y, const float *x, size_t n)
{
    const int nt = an_kernel_threads();
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1 && n >= AN_PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++) y[i] = x[i] * an_sigmoidf(x[i]);
}

void an_swish_backward(float *dx, const float *dy, const float *x, size_t n)
{
    const int nt = an_kernel_threads();
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1 && n >= AN_PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++) {
        const float s = an_sigmoidf(x[i]);
        dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
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

/* dropout.c - dropout and drop-connect with counter-based masks (see dropout.h). */
#include "alphanet/kernels/dropout.h"

#include "alphanet/rng.h"

void an_bernoulli_mask(uint8_t *mask, size_t n, float keep, uint64_t seed, uint64_t stream)
{
    for (size_t i = 0; i < n; i++) mask[i] = an_hash_uniform(seed, stream, i) < keep;
}

void an_dropout_forward(float *y, const float *x, const uint8_t *mask, size_t n, float p)
{
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) y[i] = mask[i] ? x[i] * scale : 0.0f;
}

void an_dropout_backward(float *dx, const float *dy, const uint8_t *mask, size_t n, float p)
{
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        if (mask[i]) dx[i] += dy[i] * scale;
}

void an_drop_connect_forward(float *y, const float *x, const uint8_t *mask, int c, int n, int hw, float keep)
{
    const float scale = 1.0f / keep;
    const ptrdiff_t pixels = (ptrdiff_t)c * hw;
    for (ptrdiff_t p = 0; p < pixels; p++) {
        const float *restrict xp = x + p * n;
        float *restrict yp = y + p * n;
        for (int j = 0; j < n; j++) yp[j] = mask[j] ? xp[j] * scale : 0.0f;
    }
}

void an_drop_connect_backward(float *dx, const float *dy, const uint8_t *mask, int c, int n, int hw, float keep)
{
    const float scale = 1.0f / keep;
    const ptrdiff_t pixels = (ptrdiff_t)c * hw;
    for (ptrdiff_t p = 0; p < pixels; p++) {
        const float *restrict gp = dy + p * n;
        float *restrict dp = dx + p * n;
        for (int j = 0; j < n; j++) dp[j] += mask[j] ? gp[j] * scale : 0.0f;
    }
}

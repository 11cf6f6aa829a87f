/* pool.c - 2x2 average pooling with optional padding, and global average pooling, on CHWN
 * activations: the loops over the n samples of a pixel are the vector loops (see pool.h);
 * channels are split over the kernel threads. */
#include "alphanet/kernels/pool.h"

#include "alphanet/kernels/gemm.h"

#include <string.h>

void an_avgpool2_forward(float *y, const float *x, int c, int n, int h, int w, int pad)
{
    const int ho = an_avgpool2_out(h, pad), wo = an_avgpool2_out(w, pad);
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * h * w * n >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (ptrdiff_t)ch * h * w * n;
        float *yc = y + (ptrdiff_t)ch * ho * wo * n;
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float *restrict acc = yc + ((ptrdiff_t)oy * wo + ox) * n;
                memset(acc, 0, sizeof(float) * n);
                for (int dy = 0; dy < 2; dy++) {
                    const int iy = 2 * oy - pad + dy;
                    if (iy < 0 || iy >= h) continue;
                    for (int dx = 0; dx < 2; dx++) {
                        const int ix = 2 * ox - pad + dx;
                        if (ix < 0 || ix >= w) continue;
                        const float *restrict xp = xc + ((ptrdiff_t)iy * w + ix) * n;
                        for (int j = 0; j < n; j++) acc[j] += xp[j];
                    }
                }
                for (int j = 0; j < n; j++) acc[j] *= 0.25f;
            }
    }
}

void an_avgpool2_backward(float *dx, const float *dy, int c, int n, int h, int w, int pad)
{
    const int ho = an_avgpool2_out(h, pad), wo = an_avgpool2_out(w, pad);
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * h * w * n >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        float *dxc = dx + (ptrdiff_t)ch * h * w * n;
        const float *dyc = dy + (ptrdiff_t)ch * ho * wo * n;
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                const float *restrict g = dyc + ((ptrdiff_t)oy * wo + ox) * n;
                for (int ddy = 0; ddy < 2; ddy++) {
                    const int iy = 2 * oy - pad + ddy;
                    if (iy < 0 || iy >= h) continue;
                    for (int ddx = 0; ddx < 2; ddx++) {
                        const int ix = 2 * ox - pad + ddx;
                        if (ix < 0 || ix >= w) continue;
                        float *restrict d = dxc + ((ptrdiff_t)iy * w + ix) * n;
                        for (int j = 0; j < n; j++) d[j] += 0.25f * g[j];
                    }
                }
            }
    }
}

void an_gap_forward(float *y, const float *x, int c, int n, int hw)
{
    const float inv = 1.0f / (float)hw;
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * hw * n >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        float *restrict acc = y + (ptrdiff_t)ch * n;
        const float *xc = x + (ptrdiff_t)ch * hw * n;
        memset(acc, 0, sizeof(float) * n);
        for (int i = 0; i < hw; i++) {
            const float *restrict xp = xc + (ptrdiff_t)i * n;
            for (int j = 0; j < n; j++) acc[j] += xp[j];
        }
        for (int j = 0; j < n; j++) acc[j] *= inv;
    }
}

void an_gap_backward(float *dx, const float *dy, int c, int n, int hw)
{
    const float inv = 1.0f / (float)hw;
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * hw * n >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        const float *restrict g = dy + (ptrdiff_t)ch * n;
        float *dxc = dx + (ptrdiff_t)ch * hw * n;
        for (int i = 0; i < hw; i++) {
            float *restrict d = dxc + (ptrdiff_t)i * n;
            for (int j = 0; j < n; j++) d[j] += g[j] * inv;
        }
    }
}

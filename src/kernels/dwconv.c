/* dwconv.c - depthwise convolution on CHWN activations (see dwconv.h, layout.h).
 *
 * Every output pixel is a vector of n samples: for each kernel tap that lands inside the image
 * the kernel adds w * x[iy][ix][0..n) to it, a unit-stride multiply-add the compiler turns into
 * vector FMAs; padding tests happen once per tap, outside that loop. The forward keeps blocks of
 * DW_JB samples in vector registers across the taps. The weight gradient keeps one n-wide
 * accumulator per tap (per-thread scratch) and reduces it over the batch at the end. Channels
 * are split over an_kernel_threads() threads.
 */
#include "alphanet/kernels/dwconv.h"

#include <string.h>

#include "alphanet/kernels/gemm.h"
#include "alphanet/kernels/layout.h"
#include "scratch.h"

/* samples per register-blocked accumulator of the forward pass (two 512-bit or four 256-bit
 * vectors) */
#define DW_JB 32

/* acc[0..nb) = the sum over the kernel taps inside the image of w * x[iy][ix][j0 + j]: one output
 * pixel (oy, ox) of one channel for nb samples from j0. Inlined with nb = DW_JB, the
 * accumulator stays in vector registers over all taps. */
static inline __attribute__((always_inline)) void taps(float *restrict acc, int nb, const float *xc, const float *wc,
                                                       ptrdiff_t wrs, int n, int j0, int oy, int ox, int h, int wd,
                                                       int k, int s)
{
    const int pad = k / 2;
    for (int j = 0; j < nb; j++) acc[j] = 0.0f;
    for (int ky = 0; ky < k; ky++) {
        const int iy = oy * s - pad + ky;
        if (iy < 0 || iy >= h) continue;
        for (int kx = 0; kx < k; kx++) {
            const int ix = ox * s - pad + kx;
            if (ix < 0 || ix >= wd) continue;
            const float wv = wc[ky * wrs + kx];
            const float *restrict xr = xc + ((ptrdiff_t)iy * wd + ix) * n + j0;
            for (int j = 0; j < nb; j++) acc[j] += wv * xr[j];
        }
    }
}

void an_dwconv_forward(float *y, const float *x, const float *w, ptrdiff_t wcs, ptrdiff_t wrs,
                       int c, int n, int h, int wd, int k, int s)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s);
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * ho * wo * n * k * k >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        const float *wc = w + ch * wcs;
        const float *xc = x + (ptrdiff_t)ch * h * wd * n;
        float *yc = y + (ptrdiff_t)ch * ho * wo * n;
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float *acc = yc + ((ptrdiff_t)oy * wo + ox) * n;
                int j0 = 0;
                for (; j0 + DW_JB <= n; j0 += DW_JB) {
                    float a[DW_JB];
                    taps(a, DW_JB, xc, wc, wrs, n, j0, oy, ox, h, wd, k, s);
                    memcpy(acc + j0, a, sizeof a);
                }
                if (j0 < n) taps(acc + j0, n - j0, xc, wc, wrs, n, j0, oy, ox, h, wd, k, s);
            }
    }
}

void an_dwconv_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                        ptrdiff_t wcs, ptrdiff_t wrs, int c, int n, int h, int wd, int k, int s)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * ho * wo * n * k * k >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        float *dwt = dw ? an_scratch(0, (size_t)k * k * n) : NULL; /* this thread's */
        const float *wc = w + ch * wcs;
        const float *xc = dw ? x + (ptrdiff_t)ch * h * wd * n : NULL;
        float *dxc = dx ? dx + (ptrdiff_t)ch * h * wd * n : NULL;
        const float *gc = dy + (ptrdiff_t)ch * ho * wo * n;
        if (dwt) memset(dwt, 0, sizeof(float) * k * k * n);
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                const float *restrict g = gc + ((ptrdiff_t)oy * wo + ox) * n;
                for (int ky = 0; ky < k; ky++) {
                    const int iy = oy * s - pad + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int kx = 0; kx < k; kx++) {
                        const int ix = ox * s - pad + kx;
                        if (ix < 0 || ix >= wd) continue;
                        const ptrdiff_t xo = ((ptrdiff_t)iy * wd + ix) * n;
                        if (dwt) {
                            float *restrict a = dwt + (ky * k + kx) * n;
                            const float *restrict xr = xc + xo;
                            for (int j = 0; j < n; j++) a[j] += g[j] * xr[j];
                        }
                        if (dxc) {
                            const float wv = wc[ky * wrs + kx];
                            float *restrict d = dxc + xo;
                            for (int j = 0; j < n; j++) d[j] += wv * g[j];
                        }
                    }
                }
            }
        if (dwt)
            for (int t = 0; t < k * k; t++) {
                float sum = 0.0f;
                for (int j = 0; j < n; j++) sum += dwt[t * n + j];
                dw[ch * wcs + (t / k) * wrs + t % k] += sum;
            }
        else if (dw) { /* scratch allocation failed: plain loops, same result */
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            const int iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                            float sum = 0.0f;
                            for (int j = 0; j < n; j++)
                                sum += gc[((ptrdiff_t)oy * wo + ox) * n + j] * xc[((ptrdiff_t)iy * wd + ix) * n + j];
                            dw[ch * wcs + ky * wrs + kx] += sum;
                        }
        }
    }
}

void an_dwconv_forward_ref(float *y, const float *x, const float *w, ptrdiff_t wcs, ptrdiff_t wrs,
                           int c, int n, int h, int wd, int k, int s)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    for (int ch = 0; ch < c; ch++)
        for (int j = 0; j < n; j++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double acc = 0.0;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                            acc += (double)w[ch * wcs + ky * wrs + kx] * x[(((ptrdiff_t)ch * h + iy) * wd + ix) * n + j];
                        }
                    y[(((ptrdiff_t)ch * ho + oy) * wo + ox) * n + j] = (float)acc;
                }
}

void an_dwconv_backward_ref(float *dx, float *dw, const float *dy, const float *x, const float *w,
                            ptrdiff_t wcs, ptrdiff_t wrs, int c, int n, int h, int wd, int k, int s)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    for (int ch = 0; ch < c; ch++)
        for (int j = 0; j < n; j++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    float g = dy[(((ptrdiff_t)ch * ho + oy) * wo + ox) * n + j];
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                            ptrdiff_t xi = (((ptrdiff_t)ch * h + iy) * wd + ix) * n + j;
                            if (dw) dw[ch * wcs + ky * wrs + kx] += g * x[xi];
                            if (dx) dx[xi] += g * w[ch * wcs + ky * wrs + kx];
                        }
                }
}

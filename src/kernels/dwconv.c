/* dwconv.c - depthwise convolution on CNHW planes (see dwconv.h).
 * The fast path hoists the padding tests out of the inner loop: for each kernel column it
 * computes the range of output columns that read inside the image, so the inner loop is a
 * branch-free multiply-add over a row (unit stride in both arrays when s = 1). */
#include "alphanet/kernels/dwconv.h"

#include <string.h>

#include "alphanet/kernels/layout.h"
#include "window.h"

void an_dwconv_forward(float *y, const float *x, const float *w, ptrdiff_t wcs, ptrdiff_t wrs,
                       int c, int n, int h, int wd, int k, int s)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    int lo[16], hi[16]; /* k <= 15 */
    for (int kx = 0; kx < k; kx++) an_window_range(&lo[kx], &hi[kx], wd, wo, pad, kx, s);
    for (int ch = 0; ch < c; ch++) {
        const float *wc = w + ch * wcs;
        for (int j = 0; j < n; j++) {
            const float *xp = x + ((ptrdiff_t)ch * n + j) * h * wd;
            float *yp = y + ((ptrdiff_t)ch * n + j) * ho * wo;
            memset(yp, 0, sizeof(float) * ho * wo);
            for (int oy = 0; oy < ho; oy++) {
                float *yr = yp + (ptrdiff_t)oy * wo;
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * s - pad + ky;
                    if (iy < 0 || iy >= h) continue;
                    const float *xr = xp + (ptrdiff_t)iy * wd - pad;
                    for (int kx = 0; kx < k; kx++) {
                        const float wv = wc[ky * wrs + kx];
                        const float *xs = xr + kx;
                        for (int ox = lo[kx]; ox < hi[kx]; ox++) yr[ox] += wv * xs[ox * s];
                    }
                }
            }
        }
    }
}

void an_dwconv_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                        ptrdiff_t wcs, ptrdiff_t wrs, int c, int n, int h, int wd, int k, int s)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    int lo[16], hi[16];
    for (int kx = 0; kx < k; kx++) an_window_range(&lo[kx], &hi[kx], wd, wo, pad, kx, s);
    for (int ch = 0; ch < c; ch++) {
        const float *wc = w + ch * wcs;
        double acc[16 * 16];
        for (int i = 0; i < k * k; i++) acc[i] = 0.0;
        for (int j = 0; j < n; j++) {
            const ptrdiff_t xo = ((ptrdiff_t)ch * n + j) * h * wd;
            const float *xp = dw ? x + xo : NULL;
            float *dxp = dx ? dx + xo : NULL;
            const float *dyp = dy + ((ptrdiff_t)ch * n + j) * ho * wo;
            for (int oy = 0; oy < ho; oy++) {
                const float *gr = dyp + (ptrdiff_t)oy * wo;
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * s - pad + ky;
                    if (iy < 0 || iy >= h) continue;
                    const ptrdiff_t ro = (ptrdiff_t)iy * wd - pad;
                    for (int kx = 0; kx < k; kx++) {
                        if (dw) {
                            const float *xs = xp + ro + kx;
                            float a = 0.0f;
                            for (int ox = lo[kx]; ox < hi[kx]; ox++) a += gr[ox] * xs[ox * s];
                            acc[ky * k + kx] += a;
                        }
                        if (dxp) {
                            const float wv = wc[ky * wrs + kx];
                            float *ds = dxp + ro + kx;
                            for (int ox = lo[kx]; ox < hi[kx]; ox++) ds[ox * s] += wv * gr[ox];
                        }
                    }
                }
            }
        }
        if (dw)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) dw[ch * wcs + ky * wrs + kx] += (float)acc[ky * k + kx];
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
                            acc += (double)w[ch * wcs + ky * wrs + kx] * x[(((ptrdiff_t)ch * n + j) * h + iy) * wd + ix];
                        }
                    y[(((ptrdiff_t)ch * n + j) * ho + oy) * wo + ox] = (float)acc;
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
                    float g = dy[(((ptrdiff_t)ch * n + j) * ho + oy) * wo + ox];
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                            ptrdiff_t xi = (((ptrdiff_t)ch * n + j) * h + iy) * wd + ix;
                            if (dw) dw[ch * wcs + ky * wrs + kx] += g * x[xi];
                            if (dx) dx[xi] += g * w[ch * wcs + ky * wrs + kx];
                        }
                }
}

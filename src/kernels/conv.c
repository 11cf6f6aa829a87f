/* conv.c - dense convolutions as GEMMs on CNHW tensors (see conv.h). */
#include "alphanet/kernels/conv.h"

#include <string.h>

#include "alphanet/kernels/gemm.h"
#include "alphanet/kernels/layout.h"

void an_conv1x1_forward(float *y, const float *x, const float *w, int ldw, int cout, int cin, ptrdiff_t p)
{
    an_sgemm(cout, (int)p, cin, 1.0f, w, ldw, 1, x, p, 1, 0.0f, y, p, 1);
}

void an_conv1x1_backward(float *dx, int accumulate, float *dw, const float *dy, const float *x, const float *w,
                         int ldw, int cout, int cin, ptrdiff_t p)
{
    if (dw) an_sgemm(cout, cin, (int)p, 1.0f, dy, p, 1, x, 1, p, 1.0f, dw, ldw, 1);
    if (dx) an_sgemm(cin, (int)p, cout, 1.0f, w, 1, ldw, dy, p, 1, accumulate ? 1.0f : 0.0f, dx, p, 1);
}

size_t an_conv2d_col_size(int cin, int n, int h, int wd, int k, int s)
{
    return (size_t)cin * k * k * n * an_conv_out(h, k, s) * an_conv_out(wd, k, s);
}

void an_im2col(float *col, const float *x, int cin, int n, int h, int wd, int k, int s)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    const ptrdiff_t q = (ptrdiff_t)ho * wo * n;
    for (int ci = 0; ci < cin; ci++) {
        const float *xc = x + (ptrdiff_t)ci * h * wd * n;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *crow = col + ((ptrdiff_t)(ci * k + ky) * k + kx) * q;
                for (int oy = 0; oy < ho; oy++) {
                    const int iy = oy * s - pad + ky;
                    for (int ox = 0; ox < wo; ox++) {
                        const int ix = ox * s - pad + kx;
                        float *restrict dst = crow + ((ptrdiff_t)oy * wo + ox) * n;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= wd) {
                            memset(dst, 0, sizeof(float) * n);
                        } else {
                            memcpy(dst, xc + ((ptrdiff_t)iy * wd + ix) * n, sizeof(float) * n);
                        }
                    }
                }
            }
    }
}

void an_col2im(float *x, const float *col, int cin, int n, int h, int wd, int k, int s)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    const ptrdiff_t q = (ptrdiff_t)ho * wo * n;
    for (int ci = 0; ci < cin; ci++) {
        float *xc = x + (ptrdiff_t)ci * h * wd * n;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *crow = col + ((ptrdiff_t)(ci * k + ky) * k + kx) * q;
                for (int oy = 0; oy < ho; oy++) {
                    const int iy = oy * s - pad + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int ox = 0; ox < wo; ox++) {
                        const int ix = ox * s - pad + kx;
                        if (ix < 0 || ix >= wd) continue;
                        const float *restrict src = crow + ((ptrdiff_t)oy * wo + ox) * n;
                        float *restrict dst = xc + ((ptrdiff_t)iy * wd + ix) * n;
                        for (int j = 0; j < n; j++) dst[j] += src[j];
                    }
                }
            }
    }
}

void an_conv2d_forward(float *y, const float *x, const float *w, int ldw, int cout, int cin,
                       int n, int h, int wd, int k, int s, float *col)
{
    const ptrdiff_t q = (ptrdiff_t)an_conv_out(h, k, s) * an_conv_out(wd, k, s) * n;
    if (k == 1 && s == 1) {
        an_conv1x1_forward(y, x, w, ldw, cout, cin, q);
        return;
    }
    an_im2col(col, x, cin, n, h, wd, k, s);
    an_sgemm(cout, (int)q, cin * k * k, 1.0f, w, ldw, 1, col, q, 1, 0.0f, y, q, 1);
}

void an_conv2d_backward(float *dx, float *dw, const float *dy, const float *x, const float *w, int ldw,
                        int cout, int cin, int n, int h, int wd, int k, int s, float *col)
{
    const ptrdiff_t q = (ptrdiff_t)an_conv_out(h, k, s) * an_conv_out(wd, k, s) * n;
    const int kk = cin * k * k;
    if (k == 1 && s == 1) {
        an_conv1x1_backward(dx, 1, dw, dy, x, w, ldw, cout, cin, q);
        return;
    }
    if (dw) {
        an_im2col(col, x, cin, n, h, wd, k, s);
        an_sgemm(cout, kk, (int)q, 1.0f, dy, q, 1, col, 1, q, 1.0f, dw, ldw, 1);
    }
    if (dx) {
        an_sgemm(kk, (int)q, cout, 1.0f, w, 1, ldw, dy, q, 1, 0.0f, col, q, 1);
        an_col2im(dx, col, cin, n, h, wd, k, s);
    }
}

void an_conv2d_forward_ref(float *y, const float *x, const float *w, int ldw, int cout, int cin,
                           int n, int h, int wd, int k, int s)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    for (int co = 0; co < cout; co++)
        for (int j = 0; j < n; j++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double acc = 0.0;
                    for (int ci = 0; ci < cin; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                acc += (double)w[(ptrdiff_t)co * ldw + (ci * k + ky) * k + kx] *
                                       x[(((ptrdiff_t)ci * h + iy) * wd + ix) * n + j];
                            }
                    y[(((ptrdiff_t)co * ho + oy) * wo + ox) * n + j] = (float)acc;
                }
}

void an_conv2d_backward_ref(float *dx, float *dw, const float *dy, const float *x, const float *w, int ldw,
                            int cout, int cin, int n, int h, int wd, int k, int s)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    for (int co = 0; co < cout; co++)
        for (int j = 0; j < n; j++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    float g = dy[(((ptrdiff_t)co * ho + oy) * wo + ox) * n + j];
                    for (int ci = 0; ci < cin; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                ptrdiff_t wi = (ptrdiff_t)co * ldw + (ci * k + ky) * k + kx;
                                ptrdiff_t xi = (((ptrdiff_t)ci * h + iy) * wd + ix) * n + j;
                                if (dw) dw[wi] += g * x[xi];
                                if (dx) dx[xi] += g * w[wi];
                            }
                }
}

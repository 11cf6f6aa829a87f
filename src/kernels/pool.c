/* pool.c - 2x2 average pooling with optional padding, and global average pooling (see pool.h). */
#include "alphanet/kernels/pool.h"

void an_avgpool2_forward(float *y, const float *x, ptrdiff_t planes, int h, int w, int pad)
{
    const int ho = an_avgpool2_out(h, pad), wo = an_avgpool2_out(w, pad);
    for (ptrdiff_t p = 0; p < planes; p++) {
        const float *xp = x + p * h * w;
        float *yp = y + p * ho * wo;
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float acc = 0.0f;
                for (int dy = 0; dy < 2; dy++) {
                    int iy = 2 * oy - pad + dy;
                    if (iy < 0 || iy >= h) continue;
                    for (int dx = 0; dx < 2; dx++) {
                        int ix = 2 * ox - pad + dx;
                        if (ix >= 0 && ix < w) acc += xp[iy * w + ix];
                    }
                }
                yp[oy * wo + ox] = 0.25f * acc;
            }
    }
}

void an_avgpool2_backward(float *dx, const float *dy, ptrdiff_t planes, int h, int w, int pad)
{
    const int ho = an_avgpool2_out(h, pad), wo = an_avgpool2_out(w, pad);
    for (ptrdiff_t p = 0; p < planes; p++) {
        float *dxp = dx + p * h * w;
        const float *dyp = dy + p * ho * wo;
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                const float g = 0.25f * dyp[oy * wo + ox];
                for (int ddy = 0; ddy < 2; ddy++) {
                    int iy = 2 * oy - pad + ddy;
                    if (iy < 0 || iy >= h) continue;
                    for (int ddx = 0; ddx < 2; ddx++) {
                        int ix = 2 * ox - pad + ddx;
                        if (ix >= 0 && ix < w) dxp[iy * w + ix] += g;
                    }
                }
            }
    }
}

void an_gap_forward(float *y, const float *x, ptrdiff_t planes, int hw)
{
    for (ptrdiff_t p = 0; p < planes; p++) {
        const float *xp = x + p * hw;
        float acc = 0.0f;
        for (int i = 0; i < hw; i++) acc += xp[i];
        y[p] = acc / (float)hw;
    }
}

void an_gap_backward(float *dx, const float *dy, ptrdiff_t planes, int hw)
{
    for (ptrdiff_t p = 0; p < planes; p++) {
        const float g = dy[p] / (float)hw;
        float *dxp = dx + p * hw;
        for (int i = 0; i < hw; i++) dxp[i] += g;
    }
}

/* resize.c - bilinear and bicubic resize matching PyTorch's align_corners=False (see resize.h).
 * Both are separable: output (oy, ox) = sum_a sum_b wy_a wx_b x[iy_a][ix_b] with per-axis taps,
 * so forward and its adjoint share the tap computation. */
#include "alphanet/kernels/resize.h"

#include <math.h>
#include <stddef.h>

#define MAXTAPS 4

typedef struct {
    int idx[MAXTAPS];
    float wt[MAXTAPS];
} taps;

static int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* Bilinear taps of output index o (two taps). */
static void bilinear_taps(taps *t, int o, int in, int out)
{
    const float scale = (float)in / (float)out;
    float real = scale * ((float)o + 0.5f) - 0.5f;
    if (real < 0.0f) real = 0.0f;
    int i0 = (int)real;
    if (i0 > in - 1) i0 = in - 1;
    const float l1 = real - (float)i0;
    t->idx[0] = i0;
    t->idx[1] = i0 + (i0 < in - 1 ? 1 : 0);
    t->wt[0] = 1.0f - l1;
    t->wt[1] = l1;
}

/* Keys' cubic convolution kernel, a = -0.75, as PyTorch writes it. */
static float cubic1(float x, float a) { return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f; }
static float cubic2(float x, float a) { return ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a; }

static void bicubic_taps(taps *t, int o, int in, int out)
{
    const float a = -0.75f, scale = (float)in / (float)out;
    const float real = scale * ((float)o + 0.5f) - 0.5f;
    const int i0 = (int)floorf(real);
    const float f = real - (float)i0;
    t->wt[0] = cubic2(f + 1.0f, a);
    t->wt[1] = cubic1(f, a);
    t->wt[2] = cubic1(1.0f - f, a);
    t->wt[3] = cubic2(2.0f - f, a);
    for (int j = 0; j < 4; j++) t->idx[j] = clampi(i0 - 1 + j, 0, in - 1);
}

typedef void (*taps_fn)(taps *, int, int, int);

/* y[c][oy][ox][:] = sum_a sum_b wy_a wx_b x[c][iy_a][ix_b][:], vectorised over the n samples. */
static void resize_forward(float *y, const float *x, int c, int n, int hin, int win, int hout, int wout,
                           taps_fn fn, int ntaps)
{
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (ptrdiff_t)ch * hin * win * n;
        float *yc = y + (ptrdiff_t)ch * hout * wout * n;
        for (int oy = 0; oy < hout; oy++) {
            taps ty;
            fn(&ty, oy, hin, hout);
            for (int ox = 0; ox < wout; ox++) {
                taps tx;
                fn(&tx, ox, win, wout);
                float *restrict acc = yc + ((ptrdiff_t)oy * wout + ox) * n;
                for (int j = 0; j < n; j++) acc[j] = 0.0f;
                for (int a = 0; a < ntaps; a++)
                    for (int b = 0; b < ntaps; b++) {
                        const float wt = ty.wt[a] * tx.wt[b];
                        const float *restrict xp = xc + ((ptrdiff_t)ty.idx[a] * win + tx.idx[b]) * n;
                        for (int j = 0; j < n; j++) acc[j] += wt * xp[j];
                    }
            }
        }
    }
}

static void resize_backward(float *dx, const float *dy, int c, int n, int hin, int win, int hout, int wout,
                            taps_fn fn, int ntaps)
{
    for (int ch = 0; ch < c; ch++) {
        float *dxc = dx + (ptrdiff_t)ch * hin * win * n;
        const float *dyc = dy + (ptrdiff_t)ch * hout * wout * n;
        for (int oy = 0; oy < hout; oy++) {
            taps ty;
            fn(&ty, oy, hin, hout);
            for (int ox = 0; ox < wout; ox++) {
                taps tx;
                fn(&tx, ox, win, wout);
                const float *restrict g = dyc + ((ptrdiff_t)oy * wout + ox) * n;
                for (int a = 0; a < ntaps; a++)
                    for (int b = 0; b < ntaps; b++) {
                        const float wt = ty.wt[a] * tx.wt[b];
                        float *restrict d = dxc + ((ptrdiff_t)ty.idx[a] * win + tx.idx[b]) * n;
                        for (int j = 0; j < n; j++) d[j] += wt * g[j];
                    }
            }
        }
    }
}

void an_resize_bilinear_forward(float *y, const float *x, int c, int n, int hin, int win, int hout, int wout)
{
    resize_forward(y, x, c, n, hin, win, hout, wout, bilinear_taps, 2);
}

void an_resize_bilinear_backward(float *dx, const float *dy, int c, int n, int hin, int win, int hout, int wout)
{
    resize_backward(dx, dy, c, n, hin, win, hout, wout, bilinear_taps, 2);
}

void an_resize_bicubic_forward(float *y, const float *x, int c, int n, int hin, int win, int hout, int wout)
{
    resize_forward(y, x, c, n, hin, win, hout, wout, bicubic_taps, 4);
}

void an_resize_bicubic_backward(float *dx, const float *dy, int c, int n, int hin, int win, int hout, int wout)
{
    resize_backward(dx, dy, c, n, hin, win, hout, wout, bicubic_taps, 4);
}

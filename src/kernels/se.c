/* se.c - squeeze-and-excitation (see se.h). The two 1x1 convs act on [c][n] pooled vectors,
 * so they are small GEMMs over the batch; the weights are sliced views of the supernet's. */
#include "alphanet/kernels/se.h"

#include "alphanet/kernels/act.h"
#include "alphanet/kernels/gemm.h"
#include "alphanet/kernels/pool.h"

/* cache layout: s [c n] | z1 [r n] | h [r n] | z2 [c n] | scratch: dz2 [c n] | dh [r n] | ds [c n] */
size_t an_se_cache_size(int c, int r, int n) { return (size_t)n * (4 * (size_t)c + 3 * (size_t)r); }

void an_se_forward(float *y, float *cache, const float *x, const float *w1, int ld1, const float *b1,
                   const float *w2, int ld2, const float *b2, int c, int r, int n, int hw)
{
    const ptrdiff_t cn = (ptrdiff_t)c * n, rn = (ptrdiff_t)r * n;
    float *s = cache, *z1 = s + cn, *h = z1 + rn, *z2 = h + rn;
    an_gap_forward(s, x, cn, hw);
    an_sgemm(r, n, c, 1.0f, w1, ld1, 1, s, n, 1, 0.0f, z1, n, 1);
    for (int i = 0; i < r; i++)
        for (int j = 0; j < n; j++) z1[(ptrdiff_t)i * n + j] += b1[i];
    an_relu_forward(h, z1, (size_t)rn);
    an_sgemm(c, n, r, 1.0f, w2, ld2, 1, h, n, 1, 0.0f, z2, n, 1);
    for (int i = 0; i < c; i++)
        for (int j = 0; j < n; j++) z2[(ptrdiff_t)i * n + j] += b2[i];
    for (ptrdiff_t p = 0; p < cn; p++) {
        float g = z2[p] + 3.0f;
        g = (g < 0.0f ? 0.0f : (g > 6.0f ? 6.0f : g)) * (1.0f / 6.0f);
        const float *xp = x + p * hw;
        float *yp = y + p * hw;
        for (int i = 0; i < hw; i++) yp[i] = xp[i] * g;
    }
}

void an_se_backward(float *dx, float *dw1, float *db1, float *dw2, float *db2, const float *dy,
                    const float *x, float *cache, const float *w1, int ld1, const float *w2, int ld2,
                    int c, int r, int n, int hw)
{
    const ptrdiff_t cn = (ptrdiff_t)c * n, rn = (ptrdiff_t)r * n;
    const float *s = cache, *z1 = s + cn, *h = z1 + rn, *z2 = h + rn;
    float *dz2 = (float *)z2 + cn, *dh = dz2 + cn, *ds = dh + rn;

    /* y = x * g: dg = <dy, x> over the plane; dx += dy * g. */
    for (ptrdiff_t p = 0; p < cn; p++) {
        const float *xp = x + p * hw, *gp = dy + p * hw;
        float g = z2[p] + 3.0f;
        g = (g < 0.0f ? 0.0f : (g > 6.0f ? 6.0f : g)) * (1.0f / 6.0f);
        float dg = 0.0f;
        for (int i = 0; i < hw; i++) dg += gp[i] * xp[i];
        dz2[p] = (z2[p] > -3.0f && z2[p] < 3.0f) ? dg * (1.0f / 6.0f) : 0.0f;
        if (dx) {
            float *dxp = dx + p * hw;
            for (int i = 0; i < hw; i++) dxp[i] += gp[i] * g;
        }
    }
    /* z2 = W2 h + b2 */
    if (db2)
        for (int i = 0; i < c; i++)
            for (int j = 0; j < n; j++) db2[i] += dz2[(ptrdiff_t)i * n + j];
    if (dw2) an_sgemm(c, r, n, 1.0f, dz2, n, 1, h, 1, n, 1.0f, dw2, ld2, 1);
    an_sgemm(r, n, c, 1.0f, w2, 1, ld2, dz2, n, 1, 0.0f, dh, n, 1);
    /* h = relu(z1) */
    for (ptrdiff_t p = 0; p < rn; p++) dh[p] = z1[p] > 0.0f ? dh[p] : 0.0f;
    /* z1 = W1 s + b1 */
    if (db1)
        for (int i = 0; i < r; i++)
            for (int j = 0; j < n; j++) db1[i] += dh[(ptrdiff_t)i * n + j];
    if (dw1) an_sgemm(r, c, n, 1.0f, dh, n, 1, s, 1, n, 1.0f, dw1, ld1, 1);
    if (dx) {
        an_sgemm(c, n, r, 1.0f, w1, 1, ld1, dh, n, 1, 0.0f, ds, n, 1);
        an_gap_backward(dx, ds, cn, hw);
    }
}

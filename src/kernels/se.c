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
    an_gap_forward(s, x, c, n, hw);
    an_sgemm(r, n, c, 1.0f, w1, ld1, 1, s, n, 1, 0.0f, z1, n, 1);
    for (int i = 0; i < r; i++)
        for (int j = 0; j < n; j++) z1[(ptrdiff_t)i * n + j] += b1[i];
    an_relu_forward(h, z1, (size_t)rn);
    an_sgemm(c, n, r, 1.0f, w2, ld2, 1, h, n, 1, 0.0f, z2, n, 1);
    for (int i = 0; i < c; i++)
        for (int j = 0; j < n; j++) z2[(ptrdiff_t)i * n + j] += b2[i];
    /* g = hsigmoid(z2) into the scratch tail, then y[c][i][j] = x[c][i][j] * g[c][j] */
    float *g = z2 + cn;
    an_hsigmoid_forward(g, z2, (size_t)cn);
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && cn * hw >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        const float *restrict gc = g + (ptrdiff_t)ch * n;
        for (int i = 0; i < hw; i++) {
            const float *restrict xp = x + ((ptrdiff_t)ch * hw + i) * n;
            float *restrict yp = y + ((ptrdiff_t)ch * hw + i) * n;
            for (int j = 0; j < n; j++) yp[j] = xp[j] * gc[j];
        }
    }
}

void an_se_backward(float *dx, int accumulate, float *dw1, float *db1, float *dw2, float *db2, const float *dy,
                    const float *x, float *cache, const float *w1, int ld1, const float *w2, int ld2,
                    int c, int r, int n, int hw)
{
    const ptrdiff_t cn = (ptrdiff_t)c * n, rn = (ptrdiff_t)r * n;
    const float *s = cache, *z1 = s + cn, *h = z1 + rn, *z2 = h + rn;
    float *dz2 = (float *)z2 + cn, *dh = dz2 + cn, *ds = dh + rn;
    const int nt = an_kernel_threads();

    /* y = x * g: dg[c][j] = sum_i dy[c][i][j] x[c][i][j] (into dz2) */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && cn * hw >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        float *restrict dg = dz2 + (ptrdiff_t)ch * n;
        for (int j = 0; j < n; j++) dg[j] = 0.0f;
        for (int i = 0; i < hw; i++) {
            const float *restrict xp = x + ((ptrdiff_t)ch * hw + i) * n, *restrict gp = dy + ((ptrdiff_t)ch * hw + i) * n;
            for (int j = 0; j < n; j++) dg[j] += gp[j] * xp[j];
        }
    }
    for (ptrdiff_t p = 0; p < cn; p++) dz2[p] = (z2[p] > -3.0f && z2[p] < 3.0f) ? dz2[p] * (1.0f / 6.0f) : 0.0f;
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
    if (!dx) return;
    /* s = mean of x over the pixels: ds = W1^T dz1. Then, in one pass over the pixels,
     * dx = dy * g + ds / hw, with g = hsigmoid(z2) recomputed into dz2 (free now). */
    an_sgemm(c, n, r, 1.0f, w1, 1, ld1, dh, n, 1, 0.0f, ds, n, 1);
    float *g = dz2;
    an_hsigmoid_forward(g, z2, (size_t)cn);
    const float inv = 1.0f / (float)hw;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && cn * hw >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        const float *restrict gc = g + (ptrdiff_t)ch * n, *restrict dsc = ds + (ptrdiff_t)ch * n;
        for (int i = 0; i < hw; i++) {
            const float *restrict gp = dy + ((ptrdiff_t)ch * hw + i) * n;
            float *restrict dxp = dx + ((ptrdiff_t)ch * hw + i) * n;
            if (accumulate)
                for (int j = 0; j < n; j++) dxp[j] += gp[j] * gc[j] + dsc[j] * inv;
            else
                for (int j = 0; j < n; j++) dxp[j] = gp[j] * gc[j] + dsc[j] * inv;
        }
    }
}

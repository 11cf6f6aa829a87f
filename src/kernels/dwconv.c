/* dwconv.c - depthwise convolution on CHWN activations (see dwconv.h, layout.h).
 *
 * Every pixel is a vector of n samples. The forward pass and the input gradient are the same
 * computation, a correlation of one channel's rows with a list of kernel taps: an output row is
 * cut into register blocks (4 columns x 32 samples or 8 x 16 on 16-float vectors, 8 x 8 on
 * 8-float ones; then blocks of half as many columns) accumulated over all taps and stored once.
 * Blocks where every tap lands inside the image take no padding test; border columns test each
 * tap. The tap lists are built once per channel, ordered by kernel row, so an output row uses a
 * contiguous run of them. The input gradient gathers: each dx pixel sums the dy pixels it
 * contributed to (for stride s, one tap list per row and column phase), so nothing is read back
 * and written per tap. The weight gradient keeps, per output row and kernel row, k register
 * accumulators along the row's columns for each block of samples, added to a per-tap row of n
 * partial sums (per-thread scratch) that is reduced over the batch at the end. Multiply-adds
 * are written on the vector types of vmath.h. Channels are split over an_kernel_threads()
 * threads; a channel's arithmetic order is fixed, so results do not depend on the thread count.
 */
#include "alphanet/kernels/dwconv.h"

#include <string.h>

#include "alphanet/kernels/gemm.h"
#include "alphanet/kernels/layout.h"
#include "channel.h"
#include "scratch.h"
#include "vmath.h"

#define DW_MAXK AN_DW_MAXK

static inline int floordiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* One kernel tap: output column q of row r reads src[base(r) + rel + q * qstep], valid for q in
 * [qlo, qhi). */
typedef struct {
    ptrdiff_t rel;
    float w;
    int qlo, qhi;
} tap;

/* A correlation of one output row: taps t[0..nt), every one inside for columns [qa, qb). */
typedef struct {
    const float *src;
    ptrdiff_t base, qstep; /* floats: the row's offset in src, and one output column's step */
    const tap *t;
    int nt, qa, qb;
} row_job;

/* The register-blocked correlation, written once for vectors of VL floats (VT, with its load,
 * store and broadcast) and instantiated for 16 (blocks of 32 and 16 samples) and 8 (a block of
 * 8). DW_CORR_FNS(VL) defines:
 *   corr_col_VL   one output column q, samples [j0, j0 + VL * nv), taps tested against q;
 *   corr_block_VL ob output columns from q0, every tap inside: the ob x nv accumulators stay in
 *                 registers;
 *   corr_cols_VL  the nq output columns (ocs floats apart) of one row for those samples, in
 *                 blocks of ob columns, then ob / 2, then single columns. */
#define DW_CORR_FNS(VL, VT, LOAD, STORE, SET)                                                                          \
    static inline __attribute__((always_inline)) void corr_col_##VL(float *restrict out, int accumulate,              \
                                                                    const row_job *r, int q, int j0, const int nv)    \
    {                                                                                                                  \
        VT acc[2] = {{0}, {0}};                                                                                        \
        const ptrdiff_t at = r->base + q * r->qstep + j0; /* offsets stay integers until a tap's is added */           \
        for (int t = 0; t < r->nt; t++) {                                                                              \
            if (q < r->t[t].qlo || q >= r->t[t].qhi) continue;                                                         \
            const VT wv = SET(r->t[t].w);                                                                              \
            const float *p = r->src + (at + r->t[t].rel);                                                              \
            for (int v = 0; v < nv; v++) acc[v] += wv * LOAD(p + VL * v);                                              \
        }                                                                                                              \
        for (int v = 0; v < nv; v++) STORE(out + j0 + VL * v, accumulate ? LOAD(out + j0 + VL * v) + acc[v] : acc[v]); \
    }                                                                                                                  \
    static inline __attribute__((always_inline)) void corr_block_##VL(float *restrict out, ptrdiff_t ocs,             \
                                                                      int accumulate, const row_job *r, int q0,        \
                                                                      int j0, const int ob, const int nv)              \
    {                                                                                                                  \
        VT acc[8][2];                                                                                                  \
        for (int o = 0; o < ob; o++)                                                                                   \
            for (int v = 0; v < nv; v++) acc[o][v] = (VT){0};                                                          \
        const ptrdiff_t step = r->qstep;                                                                               \
        const ptrdiff_t at = r->base + q0 * step + j0;                                                                 \
        for (int t = 0; t < r->nt; t++) {                                                                              \
            const VT wv = SET(r->t[t].w);                                                                              \
            const float *p = r->src + (at + r->t[t].rel);                                                              \
            for (int o = 0; o < ob; o++)                                                                               \
                for (int v = 0; v < nv; v++) acc[o][v] += wv * LOAD(p + o * step + VL * v);                            \
        }                                                                                                              \
        for (int o = 0; o < ob; o++) {                                                                                 \
            float *d = out + (q0 + o) * ocs + j0;                                                                      \
            for (int v = 0; v < nv; v++) STORE(d + VL * v, accumulate ? LOAD(d + VL * v) + acc[o][v] : acc[o][v]);     \
        }                                                                                                              \
    }                                                                                                                  \
    static inline __attribute__((always_inline)) void corr_cols_##VL(float *restrict out, ptrdiff_t ocs, int nq,      \
                                                                     int accumulate, const row_job *r, int j0,         \
                                                                     const int ob, const int nv)                       \
    {                                                                                                                  \
        int q = 0;                                                                                                     \
        for (; q < r->qa; q++) corr_col_##VL(out + q * ocs, accumulate, r, q, j0, nv);                                 \
        for (; q + ob <= r->qb; q += ob) corr_block_##VL(out, ocs, accumulate, r, q, j0, ob, nv);                      \
        for (; q + ob / 2 <= r->qb; q += ob / 2) corr_block_##VL(out, ocs, accumulate, r, q, j0, ob / 2, nv);          \
        for (; q < nq; q++) corr_col_##VL(out + q * ocs, accumulate, r, q, j0, nv);                                    \
    }

DW_CORR_FNS(16, an_v16, an_vload16, an_vstore16, an_vset16)
DW_CORR_FNS(8, an_v8, an_vload, an_vstore, an_vset1)

/* Samples [j0, n) (fewer than 8) of one column, scalar. */
static void corr_col_tail(float *restrict out, int accumulate, const row_job *r, int n, int q, int j0)
{
    float acc[8] = {0};
    const ptrdiff_t at = r->base + q * r->qstep;
    for (int t = 0; t < r->nt; t++) {
        if (q < r->t[t].qlo || q >= r->t[t].qhi) continue;
        const float wv = r->t[t].w, *p = r->src + (at + r->t[t].rel);
        for (int j = j0; j < n; j++) acc[j - j0] += wv * p[j];
    }
    for (int j = j0; j < n; j++) out[j] = accumulate ? out[j] + acc[j - j0] : acc[j - j0];
}

/* out[q][j] (=, or += when accumulate) = the sum over the taps valid at q of
 * w * src[base + rel + q * qstep + j], for the nq columns of one output row, ocs floats apart. */
static void corr_row(float *out, ptrdiff_t ocs, int nq, int accumulate, const row_job *r, int n)
{
    int j0 = 0;
    for (; j0 + 32 <= n; j0 += 32) corr_cols_16(out, ocs, nq, accumulate, r, j0, 4, 2);
    for (; j0 + 16 <= n; j0 += 16) corr_cols_16(out, ocs, nq, accumulate, r, j0, 8, 1);
    for (; j0 + 8 <= n; j0 += 8) corr_cols_8(out, ocs, nq, accumulate, r, j0, 8, 1);
    if (j0 < n)
        for (int q = 0; q < nq; q++) corr_col_tail(out + q * ocs, accumulate, r, n, q, j0);
}

/* The output columns q in [lo, hi) whose input column q * cs + off lies in [0, win), clipped to
 * [0, nq); and [*qa, *qb), the columns inside for every tap seen so far, narrowed to [lo, hi)
 * (start with qa = 0, qb = nq). */
static void col_range(int off, int cs, int win, int nq, int *lo, int *hi, int *qa, int *qb)
{
    int a = -floordiv(off, cs), b = floordiv(win - 1 - off, cs) + 1;
    a = a < 0 ? 0 : a > nq ? nq : a;
    b = b > nq ? nq : b;
    *lo = a;
    *hi = b > a ? b : a;
    *qa = *lo > *qa ? *lo : *qa;
    *qb = *hi < *qb ? *hi : *qb;
    if (*qb < *qa) *qb = *qa;
}

/* Prefetches part `part` of `parts` of the len floats at p: a channel's input is read k rows at a
 * time, which the hardware prefetchers follow poorly, so each output row of one channel fetches
 * its share of the next channel's input into L2. Only for channels of up to DW_PF_MAX floats:
 * two larger ones do not fit L2 together (ImageNet's 112 x 112 x 16 samples, 800 KB, ran 20-30%
 * slower backward with it; 200 KB channels 1.2-1.9x faster). */
#define DW_PF_MAX (128 * 1024)
static inline void prefetch_part(const float *p, ptrdiff_t len, int part, int parts, int write)
{
    const ptrdiff_t a = len * part / parts, b = len * (part + 1) / parts;
    for (ptrdiff_t i = a & ~(ptrdiff_t)15; i < b; i += 16) {
        if (write) an_prefetchw(p + i); /* lines about to be written */
        else an_prefetch(p + i);
    }
}

void an_dw_channel_forward(float *yc, const float *xc, const float *wc, ptrdiff_t wrs, int n, int h, int wd, int k,
                           int s, const float *pf)
{
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    /* column ranges depend on kx only */
    int lo[DW_MAXK], hi[DW_MAXK], qa = 0, qb = wo;
    for (int kx = 0; kx < k; kx++) col_range(kx - pad, s, wd, wo, &lo[kx], &hi[kx], &qa, &qb);
    const ptrdiff_t len = (ptrdiff_t)h * wd * n;
    tap taps[DW_MAXK * DW_MAXK]; /* ky-major */
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
            taps[ky * k + kx] = (tap){.rel = ((ptrdiff_t)(ky - pad) * wd + kx - pad) * n, .w = wc[ky * wrs + kx],
                                      .qlo = lo[kx], .qhi = hi[kx]};
    row_job r = {.src = xc, .qstep = (ptrdiff_t)s * n, .qa = qa, .qb = qb};
    for (int oy = 0; oy < ho; oy++) {
        if (pf && len <= DW_PF_MAX) {
            prefetch_part(pf, len, oy, ho, 0);
        } else if (len > DW_PF_MAX) { /* the rows output row oy + 2 adds */
            const int r0 = (oy + 2) * s - pad + k - s, r1 = (oy + 2) * s - pad + k;
            for (int iy = r0 > 0 ? r0 : 0; iy < r1 && iy < h; iy++)
                prefetch_part(r.src + (ptrdiff_t)iy * wd * n, (ptrdiff_t)wd * n, 0, 1, 0);
        }
        /* kernel rows inside the image: iy = oy * s - pad + ky in [0, h) */
        const int ky0 = pad - oy * s > 0 ? pad - oy * s : 0, ky1 = h + pad - oy * s < k ? h + pad - oy * s : k;
        r.base = (ptrdiff_t)oy * s * wd * n;
        r.t = taps + ky0 * k;
        r.nt = (ky1 - ky0) * k;
        corr_row(yc + (ptrdiff_t)oy * wo * n, n, wo, 0, &r, n);
    }
}

void an_dwconv_forward(float *y, const float *x, const float *w, ptrdiff_t wcs, ptrdiff_t wrs,
                       int c, int n, int h, int wd, int k, int s)
{
    if (k > DW_MAXK) {
        an_dwconv_forward_ref(y, x, w, wcs, wrs, c, n, h, wd, k, s);
        return;
    }
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s);
    const ptrdiff_t xlen = (ptrdiff_t)h * wd * n, ylen = (ptrdiff_t)ho * wo * n;
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * ho * wo * n * k * k >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++)
        an_dw_channel_forward(y + ch * ylen, x + ch * xlen, w + ch * wcs, wrs, n, h, wd, k, s,
                              ch + 1 < c ? x + (ch + 1) * xlen : NULL);
}

/* dx of one channel, gathered: dx[iy][ix] += the sum of w[ky][kx] * dy[oy][ox] over the taps
 * with oy * s - pad + ky = iy and ox * s - pad + kx = ix. Rows iy of one phase (iy + pad) mod s
 * use the kernel rows ky of that phase; columns ix = px + s * q of one phase px use the kernel
 * columns kx = px + pad (mod s), and read ox = q + (px + pad - kx) / s. */
static void dw_dx_channel(float *dxc, int accumulate, const float *gc, const float *wc, ptrdiff_t wrs, int n, int h,
                          int wd, int ho, int wo, int k, int s, const float *pf, ptrdiff_t pflen)
{
    const int pad = k / 2;
    if (!accumulate && k < s) /* some rows take no tap */
        memset(dxc, 0, sizeof(float) * h * wd * n);
    for (int px = 0; px < s && px < wd; px++) {
        const int nq = (wd - px + s - 1) / s;
        int kxs[DW_MAXK], nkx = 0, lo[DW_MAXK], hi[DW_MAXK], qa = 0, qb = nq;
        for (int kx = 0; kx < k; kx++) {
            const int v = px + pad - kx;
            if (v % s) continue;
            col_range(v / s, 1, wo, nq, &lo[nkx], &hi[nkx], &qa, &qb);
            kxs[nkx++] = kx;
        }
        for (int ry = 0; ry < s && ry < k; ry++) { /* kernel rows ky = ry, ry + s, ... */
            tap taps[DW_MAXK * DW_MAXK];
            int nky = 0;
            for (int ky = ry; ky < k; ky += s, nky++)
                for (int i = 0; i < nkx; i++)
                    taps[nky * nkx + i] = (tap){.rel = -(ptrdiff_t)((ky - ry) / s) * wo * n +
                                                       (ptrdiff_t)((px + pad - kxs[i]) / s) * n,
                                                .w = wc[ky * wrs + kxs[i]], .qlo = lo[i], .qhi = hi[i]};
            row_job r = {.src = gc, .qstep = n, .qa = qa, .qb = qb};
            /* rows iy with (iy + pad - ry) a multiple of s; oy = (iy + pad - ky) / s in [0, ho) */
            int iy0 = ((ry - pad) % s + s) % s;
            for (int iy = iy0; iy < h; iy += s) {
                if (pf && px == 0) prefetch_part(pf, pflen, iy, h, 0);
                const int oy0 = (iy + pad - ry) / s; /* the row ky = ry reads */
                /* ky = ry + s * m reads oy0 - m: m in [oy0 - ho + 1, oy0] and [0, nky) */
                const int m0 = oy0 - ho + 1 > 0 ? oy0 - ho + 1 : 0, m1 = oy0 + 1 < nky ? oy0 + 1 : nky;
                if (m1 <= m0) { /* no tap reaches this row's columns of phase px */
                    if (!accumulate)
                        for (int q = 0; q < nq; q++) memset(dxc + ((ptrdiff_t)iy * wd + px + s * q) * n, 0, sizeof(float) * n);
                    continue;
                }
                r.base = (ptrdiff_t)oy0 * wo * n;
                r.t = taps + m0 * nkx;
                r.nt = (m1 - m0) * nkx;
                corr_row(dxc + ((ptrdiff_t)iy * wd + px) * n, (ptrdiff_t)s * n, nq, accumulate, &r, n);
            }
        }
    }
}

/* Weight-gradient partial sums of one output row g and one kernel row: for kx < k,
 * acc[kx * n + j] += the sum over the output columns ox whose input column ix = ox * s - pad + kx
 * is inside the row xr, of g[ox][j] * xr[ix][j], for j in [0, VL * nv) (all pointers at sample
 * j0). The k x nv accumulators stay in registers along the row; columns [qa, qb) need no test.
 * DW_ROW_FN(VL, ...) defines dw_row_VL for vectors of VL floats. */
#define DW_ROW_FN(VL, VT, LOAD, STORE)                                                                                 \
    static inline __attribute__((always_inline)) void dw_row_##VL(float *restrict acc, const float *g,                \
                                                                  const float *xr, int n, int wd, int wo, int s,       \
                                                                  int qa, int qb, const int k, const int nv)           \
    {                                                                                                                  \
        const int pad = k / 2;                                                                                         \
        VT a[DW_MAXK][2];                                                                                              \
        for (int kx = 0; kx < k; kx++)                                                                                 \
            for (int v = 0; v < nv; v++) a[kx][v] = (VT){0};                                                           \
        for (int ox = 0; ox < wo; ox++) {                                                                              \
            if (ox == qa && qb > qa) { /* the inside columns: no test, pointers stepped */                            \
                const float *gp = g + (ptrdiff_t)qa * n, *xp = xr + (ptrdiff_t)(qa * s - pad) * n;                    \
                for (; ox < qb; ox++, gp += n, xp += (ptrdiff_t)s * n) {                                               \
                    VT gv[2];                                                                                          \
                    for (int v = 0; v < nv; v++) gv[v] = LOAD(gp + VL * v);                                            \
                    for (int kx = 0; kx < k; kx++)                                                                     \
                        for (int v = 0; v < nv; v++) a[kx][v] += gv[v] * LOAD(xp + (ptrdiff_t)kx * n + VL * v);        \
                }                                                                                                      \
                if (ox == wo) break;                                                                                   \
            }                                                                                                          \
            const int ix0 = ox * s - pad;                                                                              \
            VT gv[2];                                                                                                  \
            for (int v = 0; v < nv; v++) gv[v] = LOAD(g + (ptrdiff_t)ox * n + VL * v);                                 \
            for (int kx = 0; kx < k; kx++) {                                                                           \
                if (ix0 + kx < 0 || ix0 + kx >= wd) continue;                                                          \
                const float *xp = xr + (ptrdiff_t)(ix0 + kx) * n;                                                      \
                for (int v = 0; v < nv; v++) a[kx][v] += gv[v] * LOAD(xp + VL * v);                                    \
            }                                                                                                          \
        }                                                                                                              \
        for (int kx = 0; kx < k; kx++)                                                                                 \
            for (int v = 0; v < nv; v++) {                                                                             \
                float *d = acc + (ptrdiff_t)kx * n + VL * v;                                                           \
                STORE(d, LOAD(d) + a[kx][v]);                                                                          \
            }                                                                                                          \
    }

DW_ROW_FN(16, an_v16, an_vload16, an_vstore16)
DW_ROW_FN(8, an_v8, an_vload, an_vstore)

/* dw_row over blocks of 32, 16 and 8 samples, then the last n % 8 samples. */
static inline __attribute__((always_inline)) void dw_row_all(float *restrict acc, const float *g, const float *xr, int n,
                                                             int wd, int wo, int s, int qa, int qb, const int k)
{
    int j0 = 0;
    for (; j0 + 32 <= n; j0 += 32) dw_row_16(acc + j0, g + j0, xr + j0, n, wd, wo, s, qa, qb, k, 2);
    for (; j0 + 16 <= n; j0 += 16) dw_row_16(acc + j0, g + j0, xr + j0, n, wd, wo, s, qa, qb, k, 1);
    for (; j0 + 8 <= n; j0 += 8) dw_row_8(acc + j0, g + j0, xr + j0, n, wd, wo, s, qa, qb, k, 1);
    if (j0 < n)
        for (int ox = 0; ox < wo; ox++)
            for (int kx = 0; kx < k; kx++) {
                const int ix = ox * s - k / 2 + kx;
                if (ix < 0 || ix >= wd) continue;
                const float *gp = g + (ptrdiff_t)ox * n, *xp = xr + (ptrdiff_t)ix * n;
                for (int j = j0; j < n; j++) acc[(ptrdiff_t)kx * n + j] += gp[j] * xp[j];
            }
}

/* dw of one channel into dwc[ky * wrs + kx] (+=), with per-tap partial sums over the samples
 * in dwt [k * k][n] (scratch). */
static void dw_dw_channel(float *dwc, ptrdiff_t wrs, float *restrict dwt, const float *gc, const float *xc, int n,
                          int h, int wd, int ho, int wo, int k, int s, const float *pf, ptrdiff_t pflen, float *pfw,
                          ptrdiff_t pfwlen)
{
    const int pad = k / 2;
    int qa = 0, qb = wo;
    for (int kx = 0; kx < k; kx++) {
        int lo, hi;
        col_range(kx - pad, s, wd, wo, &lo, &hi, &qa, &qb);
    }
    memset(dwt, 0, sizeof(float) * k * k * n);
    for (int oy = 0; oy < ho; oy++) {
        const float *g = gc + (ptrdiff_t)oy * wo * n;
        for (int ky = 0; ky < k; ky++) {
            /* in k * ho small parts: a burst of prefetches waits for free miss buffers */
            if (pf) prefetch_part(pf, pflen, oy * k + ky, ho * k, 0);
            if (pfw) prefetch_part(pfw, pfwlen, oy * k + ky, ho * k, 1);
            const int iy = oy * s - pad + ky;
            if (iy < 0 || iy >= h) continue;
            const float *xr = xc + (ptrdiff_t)iy * wd * n;
            float *acc = dwt + (ptrdiff_t)ky * k * n;
            switch (k) { /* the kernel sizes in use get their accumulators in registers */
            case 3: dw_row_all(acc, g, xr, n, wd, wo, s, qa, qb, 3); break;
            case 5: dw_row_all(acc, g, xr, n, wd, wo, s, qa, qb, 5); break;
            case 7: dw_row_all(acc, g, xr, n, wd, wo, s, qa, qb, 7); break;
            default: dw_row_all(acc, g, xr, n, wd, wo, s, qa, qb, k); break;
            }
        }
    }
    for (int t = 0; t < k * k; t++) { /* over the samples: 16 lanes, then the rest */
        const float *d = dwt + (ptrdiff_t)t * n;
        an_v16 v = an_vset16(0.0f);
        int j = 0;
        for (; j + 16 <= n; j += 16) v += an_vload16(d + j);
        float sum = an_vsum16(v);
        for (; j < n; j++) sum += d[j];
        dwc[(t / k) * wrs + t % k] += sum;
    }
}

void an_dw_channel_backward(float *dxc, int accumulate, float *dwc, float *dwt, const float *gc, const float *xc,
                            const float *wc, ptrdiff_t wrs, int n, int h, int wd, int k, int s, const float *gnext,
                            float *dxnext)
{
    /* while dx is gathered, x of this channel is prefetched for dw; while dw is summed, dy and
     * dx of the next channel for its dx (or dy for its dw, without dx) */
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s), pad = k / 2;
    const ptrdiff_t xlen = (ptrdiff_t)h * wd * n, ylen = (ptrdiff_t)ho * wo * n;
    const int pf = xlen <= DW_PF_MAX;
    if (!pf) gnext = NULL, dxnext = NULL;
    if (dxc)
        dw_dx_channel(dxc, accumulate, gc, wc, wrs, n, h, wd, ho, wo, k, s, dwc ? (pf ? xc : NULL) : gnext,
                      dwc ? xlen : ylen);
    if (!dwc) return;
    if (dwt) {
        dw_dw_channel(dwc, wrs, dwt, gc, xc, n, h, wd, ho, wo, k, s, gnext, ylen, dxc ? dxnext : NULL, xlen);
        return;
    }
    /* no scratch: plain loops */
    for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    const int iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                    float sum = 0.0f;
                    for (int j = 0; j < n; j++)
                        sum += gc[((ptrdiff_t)oy * wo + ox) * n + j] * xc[((ptrdiff_t)iy * wd + ix) * n + j];
                    dwc[ky * wrs + kx] += sum;
                }
}

void an_dwconv_backward(float *dx, int accumulate, float *dw, const float *dy, const float *x, const float *w,
                        ptrdiff_t wcs, ptrdiff_t wrs, int c, int n, int h, int wd, int k, int s)
{
    if (k > DW_MAXK) {
        if (dx && !accumulate) memset(dx, 0, sizeof(float) * c * h * wd * n);
        an_dwconv_backward_ref(dx, dw, dy, x, w, wcs, wrs, c, n, h, wd, k, s);
        return;
    }
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s);
    const ptrdiff_t xlen = (ptrdiff_t)h * wd * n, ylen = (ptrdiff_t)ho * wo * n;
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * ho * wo * n * k * k >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        const int last = ch + 1 == c;
        an_dw_channel_backward(dx ? dx + ch * xlen : NULL, accumulate, dw ? dw + ch * wcs : NULL,
                               dw ? an_scratch(0, (size_t)k * k * n) : NULL, dy + ch * ylen, x + ch * xlen, w + ch * wcs,
                               wrs, n, h, wd, k, s, last ? NULL : dy + (ch + 1) * ylen,
                               last || !dx ? NULL : dx + (ch + 1) * xlen);
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

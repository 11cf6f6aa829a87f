/* bn.c - batch normalisation over contiguous per-channel runs (see bn.h).
 * Sums over a channel are taken in float vector lanes over blocks of 512 values and carried in
 * double across blocks: m reaches N*H*W = 64 * 112 * 112 = 800k on ImageNet. */
#include "alphanet/kernels/bn.h"

#include <math.h>

#include "alphanet/kernels/gemm.h"
#include "channel.h"
#include "scratch.h"
#include "vmath.h"

/* Channel sums are taken in float vector lanes over blocks of BN_BLOCK values and added up in
 * double: a lane sums at most BN_BLOCK / 8 values, and the long total (m reaches
 * N*H*W = 64 * 112 * 112 = 800k on ImageNet) is carried in double. */
#define BN_BLOCK 512

/* One pass over the channel: sums of d = x - k0 and of d^2, with k0 the mean of the first
 * block of values. Shifting by an estimate of the mean keeps the sums small when the mean is
 * large against the spread, so the sum of squared deviations q - s^2 / m loses little to
 * cancellation (a single sample as the shift would leave that to chance). */
static void channel_moments(const float *restrict xc, ptrdiff_t m, double *mean, double *m2)
{
    if (m <= 0) {
        *mean = 0.0;
        *m2 = 0.0;
        return;
    }
    const ptrdiff_t m0 = m < BN_BLOCK ? m : BN_BLOCK;
    float k0s = 0.0f;
#pragma omp simd reduction(+ : k0s)
    for (ptrdiff_t i = 0; i < m0; i++) k0s += xc[i];
    const float k0 = k0s / (float)m0;
    double s = 0.0, q = 0.0;
    for (ptrdiff_t i0 = 0; i0 < m; i0 += BN_BLOCK) {
        const ptrdiff_t i1 = i0 + BN_BLOCK < m ? i0 + BN_BLOCK : m;
        float sf = 0.0f, qf = 0.0f;
#pragma omp simd reduction(+ : sf, qf)
        for (ptrdiff_t i = i0; i < i1; i++) {
            const float d = xc[i] - k0;
            sf += d;
            qf += d * d;
        }
        s += sf;
        q += qf;
    }
    const double v = q - s * s / (double)m;
    *mean = (double)k0 + s / (double)m;
    *m2 = v > 0.0 ? v : 0.0; /* sum of squared deviations */
}

/* The affine map BN applies with a channel's saved statistics: y = x * scale + shift. The one
 * place it is computed, so that the forward and every kernel that recomputes it (the backward,
 * the chain's recomputed activation) get the same bits; the shift takes one rounding. */
static inline void affine_of(float mean, float rstd, float gamma, float beta, float *scale, float *shift)
{
    *scale = gamma * rstd;
    *shift = fmaf(-mean, *scale, beta);
}

/* The affine map BN applies at inference, with running statistics. */
static inline void infer_affine(float rmean, float rvar, float gamma, float beta, float eps, float *scale,
                                float *shift)
{
    *scale = (float)(gamma / sqrt((double)rvar + eps));
    *shift = beta - rmean * *scale;
}

/* Adds a batch's mean and unbiased variance of one channel (from channel_moments) to the sums
 * calibration averages. */
static inline void stats_add(double *sum_mean, double *sum_var, double mu, double m2, ptrdiff_t m)
{
    *sum_mean += mu;
    *sum_var += m > 1 ? m2 / (double)(m - 1) : 0.0;
}

/* Batch statistics of one channel and the affine map BN applies with them; the statistics are
 * also added to *sum_mean, *sum_var when sum_mean is not NULL (calibration). */
static void batch_affine(const float *xc, ptrdiff_t m, float gamma, float beta, float eps, float *mean, float *rstd,
                         float *scale, float *shift, double *sum_mean, double *sum_var)
{
    double mu, m2;
    channel_moments(xc, m, &mu, &m2);
    const float r = (float)(1.0 / sqrt(m2 / (double)m + eps));
    *mean = (float)mu;
    *rstd = r;
    affine_of(*mean, r, gamma, beta, scale, shift);
    if (sum_mean) stats_add(sum_mean, sum_var, mu, m2, m);
}

/* y[i] = x[i] * scale + shift (one rounding), then + r[i] when r is not NULL (a second
 * rounding: the bits of the normalised value added afterwards). r may be y. */
static void affine_add(float *y, const float *restrict x, const float *r, ptrdiff_t m, float scale, float shift)
{
    const an_v16 vs = an_vset16(scale), vb = an_vset16(shift);
    ptrdiff_t i = 0;
    if (r) {
        for (; i + 16 <= m; i += 16) an_vstore16(y + i, an_vfma16(an_vload16(x + i), vs, vb) + an_vload16(r + i));
        for (; i < m; i++) y[i] = fmaf(x[i], scale, shift) + r[i];
    } else {
        for (; i + 16 <= m; i += 16) an_vstore16(y + i, an_vfma16(an_vload16(x + i), vs, vb));
        for (; i < m; i++) y[i] = fmaf(x[i], scale, shift);
    }
}

void an_bn_train_forward_add(float *y, float *mean, float *rstd, const float *x, const float *r, const float *gamma,
                             const float *beta, int c, ptrdiff_t m, float eps)
{
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * m >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        float scale, shift;
        batch_affine(x + ch * m, m, gamma[ch], beta[ch], eps, &mean[ch], &rstd[ch], &scale, &shift, NULL, NULL);
        affine_add(y + ch * m, x + ch * m, r ? r + ch * m : NULL, m, scale, shift);
    }
}

void an_bn_train_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                         const float *beta, int c, ptrdiff_t m, float eps)
{
    an_bn_train_forward_add(y, mean, rstd, x, NULL, gamma, beta, c, m, eps);
}

void an_bn_train_backward(float *dx, int accumulate, float *dgamma, float *dbeta, const float *dy, const float *x,
                          const float *mean, const float *rstd, const float *gamma, int c, ptrdiff_t m)
{
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * m >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + ch * m, *gc = dy + ch * m;
        const float mu = mean[ch], r = rstd[ch];
        double sg = 0.0, sgx = 0.0;
        for (ptrdiff_t i0 = 0; i0 < m; i0 += BN_BLOCK) {
            const ptrdiff_t i1 = i0 + BN_BLOCK < m ? i0 + BN_BLOCK : m;
            float sf = 0.0f, sxf = 0.0f;
#pragma omp simd reduction(+ : sf, sxf)
            for (ptrdiff_t i = i0; i < i1; i++) {
                sf += gc[i];
                sxf += gc[i] * ((xc[i] - mu) * r);
            }
            sg += sf;
            sgx += sxf;
        }
        if (dbeta) dbeta[ch] += (float)sg;
        if (dgamma) dgamma[ch] += (float)sgx;
        if (dx) {
            /* dx = gamma * r * (dy - mean(dy) - xhat * mean(dy * xhat)) */
            float *dc = dx + ch * m;
            const float a = gamma[ch] * r, mg = (float)(sg / (double)m), mgx = (float)(sgx / (double)m);
            if (accumulate)
                for (ptrdiff_t i = 0; i < m; i++) dc[i] += a * (gc[i] - mg - (xc[i] - mu) * r * mgx);
            else
                for (ptrdiff_t i = 0; i < m; i++) dc[i] = a * (gc[i] - mg - (xc[i] - mu) * r * mgx);
        }
    }
}

void an_bn_infer_forward_add(float *y, const float *x, const float *r, const float *rmean, const float *rvar,
                             const float *gamma, const float *beta, int c, ptrdiff_t m, float eps)
{
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * m >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        float scale, shift;
        infer_affine(rmean[ch], rvar[ch], gamma[ch], beta[ch], eps, &scale, &shift);
        affine_add(y + ch * m, x + ch * m, r ? r + ch * m : NULL, m, scale, shift);
    }
}

void an_bn_infer_forward(float *y, const float *x, const float *rmean, const float *rvar,
                         const float *gamma, const float *beta, int c, ptrdiff_t m, float eps)
{
    an_bn_infer_forward_add(y, x, NULL, rmean, rvar, gamma, beta, c, m, eps);
}

void an_bn_batch_stats(float *mean, float *var, const float *x, int c, ptrdiff_t m)
{
    for (int ch = 0; ch < c; ch++) {
        double mu, m2;
        channel_moments(x + ch * m, m, &mu, &m2);
        mean[ch] = (float)mu;
        var[ch] = (float)(m > 1 ? m2 / (double)(m - 1) : 0.0);
    }
}

void an_bn_stats_accumulate(double *sum_mean, double *sum_var, const float *x, int c, ptrdiff_t m)
{
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * m >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++) {
        double mu, m2;
        channel_moments(x + ch * m, m, &mu, &m2);
        stats_add(&sum_mean[ch], &sum_var[ch], mu, m2, m);
    }
}

void an_bn_stats_finish(float *rmean, float *rvar, const double *sum_mean, const double *sum_var,
                        int c, long nbatches)
{
    for (int ch = 0; ch < c; ch++) {
        rmean[ch] = nbatches > 0 ? (float)(sum_mean[ch] / (double)nbatches) : 0.0f;
        rvar[ch] = nbatches > 0 ? (float)(sum_var[ch] / (double)nbatches) : 1.0f;
    }
}

/* ---- fused batch norm + swish ---- */

void an_bn_swish_channel_forward(float *restrict y, float *mean, float *rstd, const float *restrict x, ptrdiff_t m,
                                 float gamma, float beta, float eps)
{
    float scale, shift;
    batch_affine(x, m, gamma, beta, eps, mean, rstd, &scale, &shift, NULL, NULL);
    an_swish_affine(y, x, m, scale, shift);
}

void an_bn_swish_channel_calib(float *restrict y, double *sum_mean, double *sum_var, const float *restrict x,
                               ptrdiff_t m, float gamma, float beta, float eps)
{
    float mean, rstd, scale, shift;
    batch_affine(x, m, gamma, beta, eps, &mean, &rstd, &scale, &shift, sum_mean, sum_var);
    an_swish_affine(y, x, m, scale, shift);
}

void an_bn_swish_channel_infer(float *restrict y, const float *restrict x, ptrdiff_t m, float rmean, float rvar,
                               float gamma, float beta, float eps)
{
    float scale, shift;
    infer_affine(rmean, rvar, gamma, beta, eps, &scale, &shift);
    an_swish_affine(y, x, m, scale, shift);
}

void an_bn_swish_channel_apply(float *restrict y, float *restrict sg, const float *restrict x, ptrdiff_t m,
                               float mean, float rstd, float gamma, float beta)
{
    float scale, shift;
    affine_of(mean, rstd, gamma, beta, &scale, &shift);
    if (sg) an_swish_affine_keep(y, sg, x, m, scale, shift);
    else an_swish_affine(y, x, m, scale, shift);
}

void an_bn_swish_train_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                               const float *beta, int c, ptrdiff_t m, float eps)
{
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * m >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++)
        an_bn_swish_channel_forward(y + ch * m, &mean[ch], &rstd[ch], x + ch * m, m, gamma[ch], beta[ch], eps);
}

void an_bn_swish_apply(float *y, const float *x, const float *mean, const float *rstd, const float *gamma,
                       const float *beta, int c, ptrdiff_t m)
{
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * m >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++)
        an_bn_swish_channel_apply(y + ch * m, NULL, x + ch * m, m, mean[ch], rstd[ch], gamma[ch], beta[ch]);
}

void an_bn_swish_infer_forward(float *y, const float *x, const float *rmean, const float *rvar, const float *gamma,
                               const float *beta, int c, ptrdiff_t m, float eps)
{
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * m >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++)
        an_bn_swish_channel_infer(y + ch * m, x + ch * m, m, rmean[ch], rvar[ch], gamma[ch], beta[ch], eps);
}

/* Pass 1 of the backward over [i0, i1): d = dy * swish'(v) with v = x * scale + shift (the
 * forward's own form, so sigmoid(v) has the forward's bits, and sg, when given, holds them),
 * stored into d, and the sums of d and of d * xhat added to *sf, *sxf; with `out`, also
 * act = v * sigmoid(v), the forward's output. */
static inline __attribute__((always_inline)) void swish_grad_block(float *restrict d, float *restrict act,
                                                                   const float *restrict xc,
                                                                   const float *restrict gc, const float *restrict sg,
                                                                   ptrdiff_t i0, ptrdiff_t i1, float mu, float r,
                                                                   float scale, float shift, float *sf, float *sxf,
                                                                   const int kept, const int out)
{
    const an_v16 vmu = an_vset16(mu), vr = an_vset16(r), vs = an_vset16(scale), vb = an_vset16(shift),
                 one = an_vset16(1.0f);
    an_v16 vsf = an_vset16(0.0f), vsxf = vsf;
    ptrdiff_t i = i0;
    for (; i + 16 <= i1; i += 16) {
        const an_v16 xv = an_vload16(xc + i), xh = (xv - vmu) * vr, v = an_vfma16(xv, vs, vb);
        const an_v16 s = kept ? an_vload16(sg + i) : an_vsigmoid16(v);
        const an_v16 dv = an_vload16(gc + i) * s * an_vfma16(v, one - s, one);
        an_vstore16(d + i, dv);
        if (out) an_vstore16(act + i, v * s);
        vsf += dv;
        vsxf = an_vfma16(dv, xh, vsxf);
    }
    float f = an_vsum16(vsf), fx = an_vsum16(vsxf);
    for (; i < i1; i++) {
        const float xh = (xc[i] - mu) * r, v = fmaf(xc[i], scale, shift), s = kept ? sg[i] : an_sigmoidf(v);
        const float dv = gc[i] * s * fmaf(v, 1.0f - s, 1.0f);
        d[i] = dv;
        if (out) act[i] = v * s;
        f += dv;
        fx = fmaf(dv, xh, fx);
    }
    *sf = f;
    *sxf = fx;
}

void an_bn_swish_channel_backward(float *o, int accumulate, float *dgamma, float *dbeta, float *d, const float *dy,
                                  const float *x, const float *sg, float mu, float r, float g, float b, ptrdiff_t m,
                                  float *act)
{
    /* d = dy * swish'(BN(x)) into d (L2-sized), with its sums; then the BN backward from d */
    const float *restrict xc = x, *restrict gc = dy;
    float scale, shift;
    affine_of(mu, r, g, b, &scale, &shift);
    double sd = 0.0, sdx = 0.0;
    if (d) {
        for (ptrdiff_t i0 = 0; i0 < m; i0 += BN_BLOCK) {
            const ptrdiff_t i1 = i0 + BN_BLOCK < m ? i0 + BN_BLOCK : m;
            float sf, sxf;
            if (sg && act) swish_grad_block(d, act, xc, gc, sg, i0, i1, mu, r, scale, shift, &sf, &sxf, 1, 1);
            else if (sg) swish_grad_block(d, NULL, xc, gc, sg, i0, i1, mu, r, scale, shift, &sf, &sxf, 1, 0);
            else if (act) swish_grad_block(d, act, xc, gc, NULL, i0, i1, mu, r, scale, shift, &sf, &sxf, 0, 1);
            else swish_grad_block(d, NULL, xc, gc, NULL, i0, i1, mu, r, scale, shift, &sf, &sxf, 0, 0);
            sd += sf;
            sdx += sxf;
        }
    } else { /* no scratch: recompute below */
        for (ptrdiff_t i = 0; i < m; i++) {
            const float xh = (xc[i] - mu) * r, v = fmaf(xc[i], scale, shift), s = sg ? sg[i] : an_sigmoidf(v);
            const float dv = gc[i] * s * fmaf(v, 1.0f - s, 1.0f);
            if (act) act[i] = v * s;
            sd += dv;
            sdx += (double)dv * xh;
        }
    }
    if (dbeta) *dbeta += (float)sd;
    if (dgamma) *dgamma += (float)sdx;
    if (!o) return;
    const float a = scale, md = (float)(sd / (double)m), mdx = (float)(sdx / (double)m);
    if (d) { /* o may be d: each element is read before it is written */
        const an_v16 va = an_vset16(a), vmd = an_vset16(md), vmdx = an_vset16(mdx), vmu = an_vset16(mu),
                     vr = an_vset16(r);
        ptrdiff_t i = 0;
        for (; i + 16 <= m; i += 16) {
            const an_v16 v = va * (an_vload16(d + i) - vmd - (an_vload16(xc + i) - vmu) * vr * vmdx);
            an_vstore16(o + i, accumulate ? an_vload16(o + i) + v : v);
        }
        for (; i < m; i++) {
            const float v = a * (d[i] - md - (xc[i] - mu) * r * mdx);
            o[i] = accumulate ? o[i] + v : v;
        }
    } else {
        for (ptrdiff_t i = 0; i < m; i++) {
            const float xh = (xc[i] - mu) * r, v = fmaf(xc[i], scale, shift), s = sg ? sg[i] : an_sigmoidf(v);
            const float val = a * (gc[i] * s * fmaf(v, 1.0f - s, 1.0f) - md - xh * mdx);
            o[i] = accumulate ? o[i] + val : val;
        }
    }
}

void an_bn_swish_train_backward(float *dx, int accumulate, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *mean, const float *rstd, const float *gamma, const float *beta, int c,
                                ptrdiff_t m)
{
    const int nt = an_kernel_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * m >= AN_PAR_MIN_WORK)
    for (int ch = 0; ch < c; ch++)
        an_bn_swish_channel_backward(dx ? dx + ch * m : NULL, accumulate, dgamma ? &dgamma[ch] : NULL,
                                     dbeta ? &dbeta[ch] : NULL, an_scratch(1, (size_t)m), dy + ch * m, x + ch * m,
                                     NULL, mean[ch], rstd[ch], gamma[ch], beta[ch], m, NULL);
}

/* dwbn.c - batch norm + swish, depthwise convolution, batch norm + swish, chained channel by
 * channel (see dwbn.h). Channels are split over an_kernel_threads() threads statically, like
 * the kernels it chains, so each thread's channels stay in its own core's cache. */
#include "alphanet/kernels/dwbn.h"

#include <assert.h>
#include <omp.h>

#include "alphanet/kernels/bn.h"
#include "alphanet/kernels/dwconv.h"
#include "alphanet/kernels/gemm.h"
#include "alphanet/kernels/layout.h"
#include "channel.h"
#include "scratch.h"

/* One channel row of the input (xlen >= the output's), in whole cache lines. */
static ptrdiff_t row_floats(const an_dwbn *l) { return ((ptrdiff_t)l->h * l->wd * l->n + 15) / 16 * 16; }

/* Rows per thread: with the expansion, e (the training forward uses only this one), the
 * gradient at d_pre (in place of dy * swish'), the gradient at e, and the sigmoids computed with
 * e, which BN_e's backward needs again; without it only the gradient at d_pre (the depthwise
 * reads x and writes dx directly). The inference and calibration forwards use the first two (or
 * the one) for d_pre and e. */
static int rows(int has_expand) { return has_expand ? 4 : 1; }

size_t an_dwbn_work_floats(const an_dwbn *l, int has_expand)
{
    assert(l->k % 2 == 1); /* then an output channel is no longer than an input one */
    if (l->k > AN_DW_MAXK) { /* whole tensors: e, and the gradients at d_pre and at e (the
                                 * inference and calibration forwards: d_pre and e) */
        const int ho = an_conv_out(l->h, l->k, l->s), wo = an_conv_out(l->wd, l->k, l->s);
        return (size_t)l->c * l->n * ((size_t)ho * wo + (has_expand ? 2 * (size_t)l->h * l->wd : 0));
    }
    return (size_t)an_kernel_threads() * (size_t)row_floats(l) * rows(has_expand);
}

static int fork_for(const an_dwbn *l, ptrdiff_t ylen, int nt)
{
    return nt > 1 && (ptrdiff_t)l->c * ylen * l->k * l->k >= AN_PAR_MIN_WORK;
}

void an_dwbn_train_forward(const an_dwbn *l, const float *e_pre, float *e_mean, float *e_rstd, const float *x,
                           float *d_pre, float *d_act, float *d_mean, float *d_rstd, float eps, float *work)
{
    const int c = l->c, n = l->n, h = l->h, wd = l->wd, k = l->k, s = l->s;
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s);
    const ptrdiff_t xlen = (ptrdiff_t)h * wd * n, ylen = (ptrdiff_t)ho * wo * n, row = row_floats(l);
    if (k > AN_DW_MAXK) { /* the reference depthwise loops: layer by layer, e in work */
        if (e_pre) an_bn_swish_train_forward(work, e_mean, e_rstd, e_pre, l->e_gamma, l->e_beta, c, xlen, eps);
        an_dwconv_forward(d_pre, e_pre ? work : x, l->w, l->wcs, l->wrs, c, n, h, wd, k, s);
        an_bn_swish_train_forward(d_act, d_mean, d_rstd, d_pre, l->d_gamma, l->d_beta, c, ylen, eps);
        return;
    }
    const int nt = an_kernel_threads();
#pragma omp parallel num_threads(nt) if (fork_for(l, ylen, nt))
    {
        float *e = work + (size_t)omp_get_thread_num() * row * rows(e_pre != NULL);
#pragma omp for schedule(static)
        for (int ch = 0; ch < c; ch++) {
            const float *in = e, *pf = NULL;
            if (e_pre) { /* the depthwise then reads e from cache */
                an_bn_swish_channel_forward(e, &e_mean[ch], &e_rstd[ch], e_pre + ch * xlen, xlen, l->e_gamma[ch],
                                            l->e_beta[ch], eps);
            } else {
                in = x + ch * xlen;
                pf = ch + 1 < c ? in + xlen : NULL;
            }
            an_dw_channel_forward(d_pre + ch * ylen, in, l->w + ch * l->wcs, l->wrs, n, h, wd, k, s, pf);
            an_bn_swish_channel_forward(d_act + ch * ylen, &d_mean[ch], &d_rstd[ch], d_pre + ch * ylen, ylen,
                                        l->d_gamma[ch], l->d_beta[ch], eps);
        }
    }
}

/* Inference (rmean, rvar: running statistics) or calibration (sum_mean, sum_var, may be NULL):
 * one BN + swish of a channel, in the form the mode asks for. */
typedef struct {
    const float *rmean, *rvar;
    double *sum_mean, *sum_var;
} eval_bn;

static void eval_bn_channel(float *y, const float *x, ptrdiff_t m, const eval_bn *b, int ch, float gamma, float beta,
                            float eps)
{
    if (b->rmean)
        an_bn_swish_channel_infer(y, x, m, b->rmean[ch], b->rvar[ch], gamma, beta, eps);
    else
        an_bn_swish_channel_calib(y, b->sum_mean ? &b->sum_mean[ch] : NULL, b->sum_var ? &b->sum_var[ch] : NULL, x, m,
                                  gamma, beta, eps);
}

static void eval_forward(const an_dwbn *l, const float *e_pre, const eval_bn *eb, const float *x, float *d_act,
                         const eval_bn *db, float eps, float *work)
{
    const int c = l->c, n = l->n, h = l->h, wd = l->wd, k = l->k, s = l->s;
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s);
    const ptrdiff_t xlen = (ptrdiff_t)h * wd * n, ylen = (ptrdiff_t)ho * wo * n, row = row_floats(l);
    const int nt = an_kernel_threads();
    if (k > AN_DW_MAXK) { /* the reference depthwise loops: layer by layer, d_pre and e in work */
        float *dp = work, *e = work + (size_t)c * ylen;
        if (e_pre) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * xlen >= AN_PAR_MIN_WORK)
            for (int ch = 0; ch < c; ch++)
                eval_bn_channel(e + ch * xlen, e_pre + ch * xlen, xlen, eb, ch, l->e_gamma[ch], l->e_beta[ch], eps);
        }
        an_dwconv_forward(dp, e_pre ? e : x, l->w, l->wcs, l->wrs, c, n, h, wd, k, s);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (ptrdiff_t)c * ylen >= AN_PAR_MIN_WORK)
        for (int ch = 0; ch < c; ch++)
            eval_bn_channel(d_act + ch * ylen, dp + ch * ylen, ylen, db, ch, l->d_gamma[ch], l->d_beta[ch], eps);
        return;
    }
#pragma omp parallel num_threads(nt) if (fork_for(l, ylen, nt))
    {
        /* this thread's rows (an_dwbn_work_floats counts at least these): d_pre, and e */
        float *dp = work + (size_t)omp_get_thread_num() * row * rows(e_pre != NULL), *e = dp + row;
#pragma omp for schedule(static)
        for (int ch = 0; ch < c; ch++) {
            const float *in = e, *pf = NULL;
            if (e_pre) {
                eval_bn_channel(e, e_pre + ch * xlen, xlen, eb, ch, l->e_gamma[ch], l->e_beta[ch], eps);
            } else {
                in = x + ch * xlen;
                pf = ch + 1 < c ? in + xlen : NULL;
            }
            an_dw_channel_forward(dp, in, l->w + ch * l->wcs, l->wrs, n, h, wd, k, s, pf);
            eval_bn_channel(d_act + ch * ylen, dp, ylen, db, ch, l->d_gamma[ch], l->d_beta[ch], eps);
        }
    }
}

void an_dwbn_infer_forward(const an_dwbn *l, const float *e_pre, const float *e_rmean, const float *e_rvar,
                           const float *x, float *d_act, const float *d_rmean, const float *d_rvar, float eps,
                           float *work)
{
    assert(d_rmean && d_rvar && (!e_pre || (e_rmean && e_rvar))); /* NULL would mean batch statistics */
    const eval_bn eb = {.rmean = e_rmean, .rvar = e_rvar}, db = {.rmean = d_rmean, .rvar = d_rvar};
    eval_forward(l, e_pre, &eb, x, d_act, &db, eps, work);
}

void an_dwbn_calib_forward(const an_dwbn *l, const float *e_pre, double *e_sum_mean, double *e_sum_var,
                           const float *x, float *d_act, double *d_sum_mean, double *d_sum_var, float eps, float *work)
{
    const eval_bn eb = {.sum_mean = e_sum_mean, .sum_var = e_sum_var},
                  db = {.sum_mean = d_sum_mean, .sum_var = d_sum_var};
    eval_forward(l, e_pre, &eb, x, d_act, &db, eps, work);
}

void an_dwbn_train_backward(const an_dwbn *l, float *dx, float *dw, float *de_gamma, float *de_beta, float *dd_gamma,
                            float *dd_beta, const float *dy, const float *e_pre, const float *e_mean,
                            const float *e_rstd, const float *x, const float *d_pre, const float *d_mean,
                            const float *d_rstd, float *d_act, float *work)
{
    const int c = l->c, n = l->n, h = l->h, wd = l->wd, k = l->k, s = l->s;
    const int ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s);
    const ptrdiff_t xlen = (ptrdiff_t)h * wd * n, ylen = (ptrdiff_t)ho * wo * n, row = row_floats(l);
    if (k > AN_DW_MAXK) { /* the reference depthwise loops: layer by layer, in work */
        float *gd = work, *e = work + (size_t)c * ylen, *ge = e_pre ? e + (size_t)c * xlen : dx;
        an_bn_swish_train_backward(gd, 0, dd_gamma, dd_beta, dy, d_pre, d_mean, d_rstd, l->d_gamma, l->d_beta, c, ylen);
        if (d_act) an_bn_swish_apply(d_act, d_pre, d_mean, d_rstd, l->d_gamma, l->d_beta, c, ylen);
        if (e_pre) an_bn_swish_apply(e, e_pre, e_mean, e_rstd, l->e_gamma, l->e_beta, c, xlen);
        an_dwconv_backward(ge, 0, dw, gd, e_pre ? e : x, l->w, l->wcs, l->wrs, c, n, h, wd, k, s);
        if (e_pre)
            an_bn_swish_train_backward(dx, 0, de_gamma, de_beta, ge, e_pre, e_mean, e_rstd, l->e_gamma, l->e_beta, c,
                                       xlen);
        return;
    }
    const int nt = an_kernel_threads();
#pragma omp parallel num_threads(nt) if (fork_for(l, ylen, nt))
    {
        float *g = work + (size_t)omp_get_thread_num() * row * rows(e_pre != NULL), *e = g + row, *ge = e + row,
              *sg = ge + row; /* the last three with the expansion only */
        float *dwt = an_scratch(0, (size_t)k * k * n); /* NULL: plain loops */
#pragma omp for schedule(static)
        for (int ch = 0; ch < c; ch++) {
            /* the depthwise input: e again from e_pre (which BN_e's backward reads next), or x */
            const float *in = e;
            if (e_pre)
                an_bn_swish_channel_apply(e, sg, e_pre + ch * xlen, xlen, e_mean[ch], e_rstd[ch], l->e_gamma[ch],
                                          l->e_beta[ch]);
            else
                in = x + ch * xlen;
            /* BN_d: the gradient at d_pre, in place in g */
            an_bn_swish_channel_backward(g, 0, &dd_gamma[ch], &dd_beta[ch], g, dy + ch * ylen, d_pre + ch * ylen, NULL,
                                         d_mean[ch], d_rstd[ch], l->d_gamma[ch], l->d_beta[ch], ylen,
                                         d_act ? d_act + ch * ylen : NULL);
            /* the depthwise: its input gradient into ge (or dx), the kernel's gradient */
            an_dw_channel_backward(e_pre ? ge : dx + ch * xlen, 0, dw + ch * l->wcs, dwt, g, in, l->w + ch * l->wcs,
                                   l->wrs, n, h, wd, k, s, NULL, NULL);
            /* BN_e: the gradient at e_pre, with g as its scratch row */
            if (e_pre)
                an_bn_swish_channel_backward(dx + ch * xlen, 0, &de_gamma[ch], &de_beta[ch], g, ge, e_pre + ch * xlen, sg,
                                             e_mean[ch], e_rstd[ch], l->e_gamma[ch], l->e_beta[ch], xlen, NULL);
        }
    }
}

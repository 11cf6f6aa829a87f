/* channel.h - one channel's share of the batch norm + swish and depthwise kernels, for kernels
 * that chain several layers channel by channel while the channel is in cache (dwbn.c). The
 * whole-tensor kernels (bn.c, dwconv.c) loop over these same functions, so a chain computes
 * the same bits as the layers one after another. */
#ifndef ALPHANET_KERNELS_CHANNEL_H
#define ALPHANET_KERNELS_CHANNEL_H

#include <stddef.h>

/* y[0..m) = swish(BN(x)) with the batch statistics of x, which are written to *mean, *rstd. */
void an_bn_swish_channel_forward(float *restrict y, float *mean, float *rstd, const float *restrict x, ptrdiff_t m,
                                 float gamma, float beta, float eps);
/* The same, for BN calibration: the batch's mean and unbiased variance of x are added to
 * *sum_mean, *sum_var (the bits of an_bn_stats_accumulate; both NULL to skip) instead of saved. */
void an_bn_swish_channel_calib(float *restrict y, double *sum_mean, double *sum_var, const float *restrict x,
                               ptrdiff_t m, float gamma, float beta, float eps);
/* y[0..m) = swish(BN(x)) with running statistics (inference; an_bn_swish_infer_forward's bits). */
void an_bn_swish_channel_infer(float *restrict y, const float *restrict x, ptrdiff_t m, float rmean, float rvar,
                               float gamma, float beta, float eps);
/* y[0..m) = swish(BN(x)) from the statistics an_bn_swish_channel_forward saved: the same bits
 * again; and, when sg is not NULL, sg[0..m) = the sigmoid of the BN output, for the backward
 * below. */
void an_bn_swish_channel_apply(float *restrict y, float *restrict sg, const float *restrict x, ptrdiff_t m,
                               float mean, float rstd, float gamma, float beta);
/* The gradient of the above at x, written to o (or added when accumulate; o NULL to skip);
 * *dgamma, *dbeta += (NULL to skip). d is m floats of scratch (NULL: recompute, slower, and not
 * the same bits); o may be d when accumulate is 0. sg: the sigmoids an_bn_swish_channel_apply kept, or NULL to compute
 * them (the same bits). act: when not NULL, act[0..m) = swish(BN(x)) again, the forward's bits,
 * written on the way. */
void an_bn_swish_channel_backward(float *o, int accumulate, float *dgamma, float *dbeta, float *d, const float *dy,
                                  const float *x, const float *sg, float mean, float rstd, float gamma, float beta,
                                  ptrdiff_t m, float *act);

/* Kernels larger than this take the reference loops of dwconv.c. */
#define AN_DW_MAXK 7

/* One channel of an_dwconv_forward (k <= AN_DW_MAXK): yc [ho][wo][n] from xc [h][wd][n].
 * pf: the next channel's input to prefetch into L2 meanwhile, or NULL. */
void an_dw_channel_forward(float *yc, const float *xc, const float *wc, ptrdiff_t wrs, int n, int h, int wd, int k,
                           int s, const float *pf);
/* One channel of an_dwconv_backward (k <= AN_DW_MAXK): dxc = (or += when accumulate; NULL to
 * skip) and dwc[ky * wrs + kx] += (NULL to skip), from gc [ho][wo][n] and xc [h][wd][n].
 * dwt: k * k * n floats of scratch (NULL: plain loops). gnext: the next channel's dy to prefetch
 * while the weight gradient is summed, dxnext its dx (to be written), or NULL. */
void an_dw_channel_backward(float *dxc, int accumulate, float *dwc, float *dwt, const float *gc, const float *xc,
                            const float *wc, ptrdiff_t wrs, int n, int h, int wd, int k, int s, const float *gnext,
                            float *dxnext);

#endif

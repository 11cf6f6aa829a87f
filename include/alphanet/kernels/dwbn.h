/* dwbn.h - the middle of an inverted residual block, channel by channel (training; also
 * inference and BN calibration, which keep nothing but d_act):
 *
 *   e = swish(BN_e(e_pre))  ->  d_pre = depthwise(e)  ->  d_act = swish(BN_d(d_pre))
 *
 * Each of these layers works on one channel at a time, so the chain runs whole on one channel
 * while it is in cache (L2 for the 200 KB channels of 28 x 28 x 64 samples) before the next.
 * The expansion's activation e never goes to memory: the forward keeps one channel of it in a
 * per-thread row, and the backward computes it again from e_pre and the saved statistics (one
 * swish per element, against writing and reading back the block's largest tensor; the tape is
 * smaller by as much), keeping the sigmoids it computes with e for BN_e's backward, which then
 * does not evaluate them again. The backward keeps its two intermediate gradients in per-thread
 * rows too. The bits are those of an_bn_swish_train_forward, an_dwconv_forward and their backwards
 * run one after another (bn.h, dwconv.h).
 *
 * Layout CHWN (layout.h): input [c][h][wd][n], output [c][ho][wo][n]; kernel view as dwconv.h.
 * Without the expansion (an expansion ratio of 1), e_pre is NULL and the depthwise reads x.
 */
#ifndef ALPHANET_KERNELS_DWBN_H
#define ALPHANET_KERNELS_DWBN_H

#include <stddef.h>

typedef struct {
    int c, n, h, wd, k, s;         /* channels, samples, input height and width, kernel, stride */
    const float *w;                /* depthwise kernel view, channel ch at w + ch * wcs, rows wrs apart */
    ptrdiff_t wcs, wrs;
    const float *e_gamma, *e_beta; /* BN_e (unused without the expansion) */
    const float *d_gamma, *d_beta; /* BN_d */
} an_dwbn;

/* Floats of work memory the forwards and the backward need: a few channel rows per thread of
 * an_kernel_threads() (whole tensors for kernels larger than 7, which take the reference loops).
 * The thread count must not change between this and the calls. k must be odd (as in dwconv.h). */
size_t an_dwbn_work_floats(const an_dwbn *l, int has_expand);

/* Writes e_mean, e_rstd (with e_pre), d_pre, d_act, d_mean, d_rstd. x: the depthwise input
 * without the expansion (NULL with it). */
void an_dwbn_train_forward(const an_dwbn *l, const float *e_pre, float *e_mean, float *e_rstd, const float *x,
                           float *d_pre, float *d_act, float *d_mean, float *d_rstd, float eps, float *work);

/* Inference, with running statistics (BN_e's only with e_pre): writes d_act; e and d_pre stay
 * in the per-thread rows of work. The bits of an_bn_swish_infer_forward, an_dwconv_forward and
 * an_bn_swish_infer_forward one after another. */
void an_dwbn_infer_forward(const an_dwbn *l, const float *e_pre, const float *e_rmean, const float *e_rvar,
                           const float *x, float *d_act, const float *d_rmean, const float *d_rvar, float eps,
                           float *work);

/* BN calibration: as the training forward (batch statistics), but writes only d_act, and adds
 * each channel's batch mean and unbiased variance of e_pre and of d_pre to the sums (the bits of
 * an_bn_stats_accumulate; each pair NULL to skip). */
void an_dwbn_calib_forward(const an_dwbn *l, const float *e_pre, double *e_sum_mean, double *e_sum_var,
                           const float *x, float *d_act, double *d_sum_mean, double *d_sum_var, float eps, float *work);

/* From dy, the gradient at d_act: writes dx, the gradient at e_pre (or at x without the
 * expansion); adds the gradients of the depthwise kernel (dw, same view as l->w) and of the
 * BN parameters. Every output is required (no NULL; de_gamma, de_beta only with e_pre), except
 * d_act: when not NULL it receives swish(BN_d(d_pre)) again, the forward's d_act to the bit, for
 * a caller that did not keep it (computed on the way, as the backward needs its sigmoids; for
 * kernels over 7, in a pass of its own). */
void an_dwbn_train_backward(const an_dwbn *l, float *dx, float *dw, float *de_gamma, float *de_beta, float *dd_gamma,
                            float *dd_beta, const float *dy, const float *e_pre, const float *e_mean,
                            const float *e_rstd, const float *x, const float *d_pre, const float *d_mean,
                            const float *d_rstd, float *d_act, float *work);

#endif

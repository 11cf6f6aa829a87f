/* bn.h - batch normalisation over CHWN activations: channel ch owns the contiguous run
 * x[ch][0 .. m-1] with m = H*W*N. gamma, beta, running mean/var: the first c entries of the
 * supernet's vectors (slicing is just a shorter length).
 *
 * Training mode normalises with the batch's biased variance, like PyTorch; it keeps no running
 * statistics (the supernet's are meaningless, ALGORITHM.md section 5) and saves mean and
 * 1/sqrt(var + eps) for the backward pass.
 */
#ifndef ALPHANET_KERNELS_BN_H
#define ALPHANET_KERNELS_BN_H

#include <stddef.h>

#define AN_BN_EPS 1e-5f

/* y [c][m] = gamma * (x - mean) * rstd + beta; mean [c], rstd [c] are written (saved for backward). */
void an_bn_train_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                         const float *beta, int c, ptrdiff_t m, float eps);
/* y = the same + r: a residual added as BN writes its output (r a tensor of y's shape, which
 * may be y itself; NULL: none, as an_bn_train_forward). The bits of an_bn_train_forward followed
 * by an_add. */
void an_bn_train_forward_add(float *y, float *mean, float *rstd, const float *x, const float *r, const float *gamma,
                             const float *beta, int c, ptrdiff_t m, float eps);
/* dx = (accumulate 0) or += (1) the input gradient (NULL to skip), dgamma += , dbeta += , given
 * the forward's x, mean and rstd. */
void an_bn_train_backward(float *dx, int accumulate, float *dgamma, float *dbeta, const float *dy, const float *x,
                          const float *mean, const float *rstd, const float *gamma, int c, ptrdiff_t m);

/* Batch norm followed by swish, fused (the pattern of every expand, depthwise, stem and head
 * layer; in training the expand and depthwise ones run inside the chain of dwbn.h):
 * y = swish(gamma * (x - mean) * rstd + beta). The BN output is not stored; the backward
 * recomputes it from x and the saved statistics, which saves one tensor and two passes per layer.
 * The backward writes dx (accumulate = 0) or adds to it (accumulate = 1); dgamma, dbeta += . */
void an_bn_swish_train_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                               const float *beta, int c, ptrdiff_t m, float eps);
void an_bn_swish_train_backward(float *dx, int accumulate, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *mean, const float *rstd, const float *gamma, const float *beta, int c,
                                ptrdiff_t m);
void an_bn_swish_infer_forward(float *y, const float *x, const float *rmean, const float *rvar, const float *gamma,
                               const float *beta, int c, ptrdiff_t m, float eps);
/* y = swish(BN(x)) again from the statistics the training forward saved (mean, rstd): the
 * forward's bits, for a backward that did not keep y. */
void an_bn_swish_apply(float *y, const float *x, const float *mean, const float *rstd, const float *gamma,
                       const float *beta, int c, ptrdiff_t m);

/* Inference: y = gamma * (x - rmean) / sqrt(rvar + eps) + beta. */
void an_bn_infer_forward(float *y, const float *x, const float *rmean, const float *rvar,
                         const float *gamma, const float *beta, int c, ptrdiff_t m, float eps);
/* The same + r (as an_bn_train_forward_add). */
void an_bn_infer_forward_add(float *y, const float *x, const float *r, const float *rmean, const float *rvar,
                             const float *gamma, const float *beta, int c, ptrdiff_t m, float eps);

/* Calibration statistics of one batch: per channel mean and variance (unbiased, divisor m - 1,
 * as PyTorch's running_var). The calibrated running statistics are the equal-weight average of
 * these over batches: an_bn_stats_accumulate adds one batch into double sums, an_bn_stats_finish
 * divides by the number of batches. */
void an_bn_batch_stats(float *mean, float *var, const float *x, int c, ptrdiff_t m);
void an_bn_stats_accumulate(double *sum_mean, double *sum_var, const float *x, int c, ptrdiff_t m);
void an_bn_stats_finish(float *rmean, float *rvar, const double *sum_mean, const double *sum_var,
                        int c, long nbatches);

#endif

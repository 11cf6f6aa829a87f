/* layout.h - the memory layout every kernel in this library uses, stated once.
 *
 * Activations are float32 tensors in CNHW order: x[c][n][h][w], contiguous, so that
 *   - a 1x1 convolution over the whole batch is ONE GEMM, Y[cout][N*H*W] = W[cout][cin] X[cin][N*H*W],
 *     with a long inner dimension that BLIS packs efficiently;
 *   - batch normalisation reduces over one contiguous run of N*H*W floats per channel;
 *   - a depthwise convolution or a resize works on N*C independent contiguous H x W planes.
 * A feature vector per sample (after global pooling) is the same layout with H = W = 1: x[c][n].
 * Logits are the one exception: y[n][k], one row per sample, which is what the losses want.
 *
 * Weights keep PyTorch's layouts and names so checkpoints can be exchanged with the official
 * model without reshaping: conv [cout][cin][k][k], depthwise [c][1][k][k], linear [out][in].
 * A subnet uses the FIRST channels of each supernet tensor. Kernels therefore take a weight
 * pointer plus a leading dimension (the stride between output rows of the FULL tensor), and
 * never copy a slice. A 3x3 depthwise kernel is the centre crop of the stored 5x5 (or 7x7) one,
 * passed as a pointer to its first element with the full tensor's row and channel strides.
 *
 * Gradient convention: every *_backward ACCUMULATES (+=) into every gradient it writes, inputs and
 * parameters alike. The caller zeroes gradients once per step; residual branches and weight
 * sharing then need no special cases.
 */
#ifndef ALPHANET_KERNELS_LAYOUT_H
#define ALPHANET_KERNELS_LAYOUT_H

#include <stddef.h>

/* Output side of a k x k window with padding k/2 and the given stride: PyTorch's
 * floor((in + 2*(k/2) - k) / stride) + 1. */
static inline int an_conv_out(int in, int k, int stride) { return (in + 2 * (k / 2) - k) / stride + 1; }

#endif

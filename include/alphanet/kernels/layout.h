/* layout.h - the memory layout every kernel in this library uses, stated once.
 *
 * Activations are float32 tensors in CHWN order: x[c][h][w][n], contiguous, the batch innermost.
 *   - A 1x1 convolution over the whole batch is ONE GEMM, Y[cout][H*W*N] = W[cout][cin] X[cin][H*W*N],
 *     with a long inner dimension that BLIS packs efficiently (the same as CNHW would give).
 *   - Batch normalisation reduces over one contiguous run of H*W*N floats per channel.
 *   - Every spatial operation (depthwise convolution, pooling, resize, squeeze-and-excitation,
 *     drop-connect) works on "pixels" that are vectors of N contiguous floats, one per sample, so
 *     it vectorises across the batch. The images here are small (28 x 28 down to 2 x 2 on
 *     Fashion-MNIST, 7 x 7 at the end of ImageNet nets): vectorising along an image row would
 *     run on 2-14 lanes with a padding test per tap, while the batch gives 16-256 lanes with the
 *     padding tests outside the vector loop. Measured on the depthwise 5x5 layers of the default
 *     space (batch 64): 3-8x faster than the same kernel on NCHW/CNHW planes.
 * A feature vector per sample (after global pooling) is the same layout with H = W = 1: x[c][n].
 * Logits are the one exception: y[n][k], one row per sample, which is what the losses want.
 * Input images arrive as [n][h][w][c] bytes and are transposed once, when a batch is built.
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
 * sharing then need no special cases. Kernels whose input gradient is often the first write to
 * a fresh buffer take an `accumulate` flag: 0 overwrites that input gradient (never reading the
 * buffer), which saves zeroing it; parameter gradients always accumulate.
 */
#ifndef ALPHANET_KERNELS_LAYOUT_H
#define ALPHANET_KERNELS_LAYOUT_H

#include <stddef.h>

/* Output side of a k x k window with padding k/2 and the given stride: PyTorch's
 * floor((in + 2*(k/2) - k) / stride) + 1. */
static inline int an_conv_out(int in, int k, int stride) { return (in + 2 * (k / 2) - k) / stride + 1; }

#endif

/* dropout.h - dropout and per-sample drop-connect with masks drawn from a counter-based
 * generator, so that a mask is a pure function of (seed, stream, element index): the same on any
 * thread count or rank count, and reproducible after a resume.
 *
 * Dropout: y = x * mask / (1 - p), mask[i] in {0, 1} with P(mask = 1) = 1 - p.
 * Drop-connect (stochastic depth on a residual branch): x [c][hw][n], sample j of every pixel
 * scaled by mask[j] / keep, mask [n] with P(mask = 1) = keep.
 */
#ifndef ALPHANET_KERNELS_DROPOUT_H
#define ALPHANET_KERNELS_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

/* mask[i] = 1 with probability keep, 0 otherwise, for i in [0, n): mask[i] = (u_i < keep) with
 * u_i uniform on the 2^24 grid of [0, 1), so keep = 1 gives all ones and keep = 0 all zeros, and a
 * shorter mask is a prefix of a longer one with the same seed and stream. */
void an_bernoulli_mask(uint8_t *mask, size_t n, float keep, uint64_t seed, uint64_t stream);

void an_dropout_forward(float *y, const float *x, const uint8_t *mask, size_t n, float p);
void an_dropout_backward(float *dx, const float *dy, const uint8_t *mask, size_t n, float p);

void an_drop_connect_forward(float *y, const float *x, const uint8_t *mask, int c, int n, int hw, float keep);
void an_drop_connect_backward(float *dx, const float *dy, const uint8_t *mask, int c, int n, int hw, float keep);

#endif

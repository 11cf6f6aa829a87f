/* se.h - squeeze-and-excitation, as AlphaNet's MBConv uses it:
 *   s = global average pool of x per (channel, sample)               s [c][n]
 *   z1 = W1 s + b1, h = relu(z1)                                       z1, h [r][n]
 *   z2 = W2 h + b2, g = hsigmoid(z2)                                   z2, g [c][n]
 *   y = x * g, broadcast over the H x W pixels                         x, y [c][hw][n]
 * W1 is the reduce conv [R_full][C_full] (row stride ld1 = C_full), sliced to [r][c];
 * W2 the expand conv [C_full][R_full] (ld2 = R_full), sliced to [c][r]; b1 [r], b2 [c].
 * `cache` holds an_se_cache_size(c, r, n) floats: the forward saves s, z1, h and z2 in it and
 * the backward uses its tail as scratch, so neither allocates.
 */
#ifndef ALPHANET_KERNELS_SE_H
#define ALPHANET_KERNELS_SE_H

#include <stddef.h>

size_t an_se_cache_size(int c, int r, int n);

void an_se_forward(float *y, float *cache, const float *x, const float *w1, int ld1, const float *b1,
                   const float *w2, int ld2, const float *b2, int c, int r, int n, int hw);
/* dx = (accumulate 0) or += (1) the input gradient, NULL to skip; dw1, db1, dw2, db2 += (same
 * views as the weights). */
void an_se_backward(float *dx, int accumulate, float *dw1, float *db1, float *dw2, float *db2, const float *dy,
                    const float *x, float *cache, const float *w1, int ld1, const float *w2, int ld2,
                    int c, int r, int n, int hw);

#endif

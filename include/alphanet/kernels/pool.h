/* pool.h - pooling on CHWN activations x[c][h][w][n] (layout.h): every pixel is a vector of n
 * samples, and the loops over n are the vector loops.
 *
 * an_avgpool2: kernel 2, stride 2, zero padding `pad` (0 or 1) on every side, divisor always 4
 * (PyTorch's avg_pool2d(x, 2, padding=pad) with count_include_pad=True). AlphaNet's strided
 * shortcut uses pad = (w odd), which gives ceil(h/2) x ceil(w/2), the depthwise conv's output size.
 * Output side: (h + 2*pad - 2) / 2 + 1.  y [c][ho][wo][n].
 * an_gap: global average over the h*w pixels, y [c][n].
 */
#ifndef ALPHANET_KERNELS_POOL_H
#define ALPHANET_KERNELS_POOL_H

#include <stddef.h>

static inline int an_avgpool2_out(int in, int pad) { return (in + 2 * pad - 2) / 2 + 1; }

void an_avgpool2_forward(float *y, const float *x, int c, int n, int h, int w, int pad);
void an_avgpool2_backward(float *dx, const float *dy, int c, int n, int h, int w, int pad);

void an_gap_forward(float *y, const float *x, int c, int n, int hw);
void an_gap_backward(float *dx, const float *dy, int c, int n, int hw);

#endif

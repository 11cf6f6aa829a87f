/* resize.h - image resize of CHWN activations x[c][hin][win][n] -> y[c][hout][wout][n]
 * (layout.h), matching PyTorch's F.interpolate(..., align_corners=False) without antialiasing:
 *   source coordinate  src = (dst + 0.5) * in / out - 0.5
 *   bilinear: src clamped below at 0, two taps, indices clamped to [0, in - 1];
 *   bicubic: Keys' cubic convolution with a = -0.75, four taps floor(src) - 1 .. floor(src) + 2,
 *            indices clamped to [0, in - 1] (edge replication), src not clamped.
 * Both are linear maps; backward applies the exact adjoint and accumulates into dx.
 */
#ifndef ALPHANET_KERNELS_RESIZE_H
#define ALPHANET_KERNELS_RESIZE_H

void an_resize_bilinear_forward(float *y, const float *x, int c, int n, int hin, int win, int hout, int wout);
void an_resize_bilinear_backward(float *dx, const float *dy, int c, int n, int hin, int win, int hout, int wout);
void an_resize_bicubic_forward(float *y, const float *x, int c, int n, int hin, int win, int hout, int wout);
void an_resize_bicubic_backward(float *dx, const float *dy, int c, int n, int hin, int win, int hout, int wout);

#endif

/* conv.h - dense 2-D convolution without bias, CHWN activations (see layout.h), padding k/2.
 *
 * Weight view: the full tensor is [Cout_full][Cin_full][k][k]; the active slice is the first
 * `cout` rows and, in each row, the first `cin` input channels. Row `co` starts at w + co * ldw
 * with ldw = Cin_full * k * k, and its first cin * k * k floats are the active ones.
 */
#ifndef ALPHANET_KERNELS_CONV_H
#define ALPHANET_KERNELS_CONV_H

#include <stddef.h>

/* 1x1, stride 1, as one GEMM.  x [cin][p], y [cout][p] with p = H*W*N; w as above (k = 1).
 * forward overwrites y. */
void an_conv1x1_forward(float *y, const float *x, const float *w, int ldw, int cout, int cin, ptrdiff_t p);
/* dx [cin][p] += W^T dy, or = when accumulate is 0 (skipped if dx is NULL); dw [cout rows of
 * ldw] += dy x^T. */
void an_conv1x1_backward(float *dx, int accumulate, float *dw, const float *dy, const float *x, const float *w,
                         int ldw, int cout, int cin, ptrdiff_t p);

/* k x k, stride s, padding k/2, via im2col + GEMM.
 * x [cin][h][wd][n], y [cout][ho][wo][n] with ho = an_conv_out(h, k, s), wo = an_conv_out(wd, k, s).
 * col: workspace of an_conv2d_col_size() floats. forward overwrites y. */
size_t an_conv2d_col_size(int cin, int n, int h, int wd, int k, int s);
void an_conv2d_forward(float *y, const float *x, const float *w, int ldw, int cout, int cin,
                       int n, int h, int wd, int k, int s, float *col);
/* dx [cin][h][wd][n] += (NULL to skip), dw += ; col as in forward (x is re-expanded into it). */
void an_conv2d_backward(float *dx, float *dw, const float *dy, const float *x, const float *w, int ldw,
                        int cout, int cin, int n, int h, int wd, int k, int s, float *col);

/* im2col: col[(ci*k + ky)*k + kx][oy][ox][j] = x[ci][oy*s - k/2 + ky][ox*s - k/2 + kx][j] (0 outside).
 * col2im is its adjoint and accumulates into x. */
void an_im2col(float *col, const float *x, int cin, int n, int h, int wd, int k, int s);
void an_col2im(float *x, const float *col, int cin, int n, int h, int wd, int k, int s);

/* Direct loops with the same contracts: test oracles. */
void an_conv2d_forward_ref(float *y, const float *x, const float *w, int ldw, int cout, int cin,
                           int n, int h, int wd, int k, int s);
void an_conv2d_backward_ref(float *dx, float *dw, const float *dy, const float *x, const float *w, int ldw,
                            int cout, int cin, int n, int h, int wd, int k, int s);

#endif

/* linear.h - fully connected layer with bias, the classifier.
 * x [in][n] (per-sample features in the library's channel-major layout), y [n][out] (logits,
 * one row per sample). w is PyTorch's [out_full][in_full] with row stride ldw, sliced to the
 * first `out` rows and `in` columns; b [out] (may be NULL for no bias).
 */
#ifndef ALPHANET_KERNELS_LINEAR_H
#define ALPHANET_KERNELS_LINEAR_H

void an_linear_forward(float *y, const float *x, const float *w, int ldw, const float *b, int in, int out, int n);
/* dx [in][n] += (NULL to skip), dw += , db += (NULL to skip). */
void an_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        int ldw, int in, int out, int n);

#endif

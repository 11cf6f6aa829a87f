/* act.h - elementwise activations on n contiguous floats. y may equal x in forward.
 * backward: dx += dy * f'(x), from the forward's INPUT x. At kinks the derivative is PyTorch's:
 * relu'(0) = 0; hsigmoid'(x) = 1/6 on the open interval (-3, 3) and 0 elsewhere. */
#ifndef ALPHANET_KERNELS_ACT_H
#define ALPHANET_KERNELS_ACT_H

#include <stddef.h>

void an_swish_forward(float *y, const float *x, size_t n);      /* x * sigmoid(x) */
void an_swish_backward(float *dx, const float *dy, const float *x, size_t n);
void an_relu_forward(float *y, const float *x, size_t n);
void an_relu_backward(float *dx, const float *dy, const float *x, size_t n);
void an_hsigmoid_forward(float *y, const float *x, size_t n);   /* relu6(x + 3) / 6 */
void an_hsigmoid_backward(float *dx, const float *dy, const float *x, size_t n);

/* Buffer helpers, on the kernel threads: x = 0; y = a + b (y may be a); y += x. */
void an_zero(float *x, size_t n);
void an_add(float *y, const float *a, const float *b, size_t n);
void an_add_inplace(float *y, const float *x, size_t n);

#endif

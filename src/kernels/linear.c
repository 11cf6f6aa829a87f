/* linear.c - the classifier, x [in][n] -> y [n][out] (see linear.h). */
#include "alphanet/kernels/linear.h"

#include "alphanet/kernels/gemm.h"

void an_linear_forward(float *y, const float *x, const float *w, int ldw, const float *b, int in, int out, int n)
{
    /* y[n][out] = x^T W^T: A = x^T (rs 1, cs n), B = W^T (rs 1, cs ldw). */
    an_sgemm(n, out, in, 1.0f, x, 1, n, w, 1, ldw, 0.0f, y, out, 1);
    if (b)
        for (int j = 0; j < n; j++)
            for (int o = 0; o < out; o++) y[(ptrdiff_t)j * out + o] += b[o];
}

void an_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        int ldw, int in, int out, int n)
{
    if (dx) /* dx[in][n] += W^T dy^T */
        an_sgemm(in, n, out, 1.0f, w, 1, ldw, dy, 1, out, 1.0f, dx, n, 1);
    if (dw) /* dw[out][in] += dy^T x^T */
        an_sgemm(out, in, n, 1.0f, dy, 1, out, x, 1, n, 1.0f, dw, ldw, 1);
    if (db)
        for (int j = 0; j < n; j++)
            for (int o = 0; o < out; o++) db[o] += dy[(ptrdiff_t)j * out + o];
}

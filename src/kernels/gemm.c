/* gemm.c - strided single-precision GEMM through BLIS's typed API (see gemm.h). */
#include "alphanet/kernels/gemm.h"

#include <blis.h>

void an_sgemm(int m, int n, int k, float alpha,
              const float *a, ptrdiff_t rsa, ptrdiff_t csa,
              const float *b, ptrdiff_t rsb, ptrdiff_t csb,
              float beta, float *c, ptrdiff_t rsc, ptrdiff_t csc)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* nothing to multiply: C = beta * C */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float *cij = c + i * rsc + j * csc;
                *cij = beta == 0.0f ? 0.0f : beta * *cij;
            }
        return;
    }
    /* BLIS's typed API takes non-const pointers but does not write A, B, alpha or beta. */
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
              (float *)a, rsa, csa, (float *)b, rsb, csb, &beta, c, rsc, csc);
}

void an_sgemm_ref(int m, int n, int k, float alpha,
                  const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const float *b, ptrdiff_t rsb, ptrdiff_t csb,
                  float beta, float *c, ptrdiff_t rsc, ptrdiff_t csc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int p = 0; p < k; p++) acc += (double)a[i * rsa + p * csa] * (double)b[p * rsb + j * csb];
            float *cij = c + i * rsc + j * csc;
            *cij = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *cij));
        }
}

void an_gemm_set_threads(int nthreads) { bli_thread_set_num_threads(nthreads > 0 ? nthreads : 1); }

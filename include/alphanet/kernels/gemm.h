/* gemm.h - single-precision GEMM on strided views, backed by BLIS's typed API.
 *
 *   C[m][n] = alpha * sum_p A[i][p] B[p][j] + beta * C[i][j]
 * where element (i, j) of a matrix X lives at x[i * rsx + j * csx]. Transposes are expressed with
 * strides (swap rs and cs), and slices of larger tensors with the full tensor's row stride, so a
 * subnet's weight slice is used in place. beta = 1 accumulates, as backward passes do; with
 * beta = 0, C is never read (BLAS convention), so uninitialised or NaN output memory is fine.
 * BLIS requires that one of the two strides of each matrix be 1; all views in this project are.
 */
#ifndef ALPHANET_KERNELS_GEMM_H
#define ALPHANET_KERNELS_GEMM_H

#include <stddef.h>

void an_sgemm(int m, int n, int k, float alpha,
              const float *a, ptrdiff_t rsa, ptrdiff_t csa,
              const float *b, ptrdiff_t rsb, ptrdiff_t csb,
              float beta, float *c, ptrdiff_t rsc, ptrdiff_t csc);

/* Naive triple loop with the same contract (double accumulation): test oracle. */
void an_sgemm_ref(int m, int n, int k, float alpha,
                  const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const float *b, ptrdiff_t rsb, ptrdiff_t csb,
                  float beta, float *c, ptrdiff_t rsc, ptrdiff_t csc);

/* Name of the BLIS kernel set in use ("skx", "zen3", "haswell", "generic", ...). */
const char *an_gemm_kernel_name(void);

/* Threads BLIS may use inside one GEMM (default: BLIS_NUM_THREADS / OMP_NUM_THREADS, else 1). */
void an_gemm_set_threads(int nthreads);

/* Threads the other kernels (depthwise, normalisation, activations, squeeze-excite) split their
 * channels or elements over: the same as BLIS's (an_gemm_set_threads, else BLIS_NUM_THREADS,
 * else OMP_NUM_THREADS, else 1). Each channel is computed by one thread with the same
 * arithmetic whatever the count, so results do not depend on it. */
int an_kernel_threads(void);

/* Per-shape timing of an_sgemm, for `alphanet bench step --gemm-shapes`. While recording,
 * every call made outside an OpenMP parallel region with m, n and k all positive adds its time
 * to the entry of its shape, transposes and route (a shape whose calls took different kernels
 * has an entry per kernel); off (the default) it costs one branch per call. The table holds
 * AN_GEMM_SHAPES_MAX - 1 such entries; calls beyond them are counted in one last entry with
 * m = n = k = 0, ta = tb = '-' and route "other". Not thread-safe: start, stop and read it from
 * the thread that drives the step. */
#define AN_GEMM_SHAPES_MAX 512
typedef struct {
    int m, n, k;
    char ta, tb;       /* 't' when A (B) is read transposed (its column stride is not 1), else 'n' */
    const char *route; /* which kernel took it: "blis", "few-rows", "dots", "k-split" (gemm.c) */
    long calls;
    double seconds;
} an_gemm_shape_time;
void an_gemm_shapes_start(void); /* clears the table and starts recording */
void an_gemm_shapes_stop(void);
/* Up to max entries, longest total time first; returns how many were written. */
int an_gemm_shapes(an_gemm_shape_time *out, int max);

/* OpenMP clause arguments for a loop of `work` floats touched: threads, and whether to fork at
 * all (not for loops too small to repay the fork, about a microsecond). */
#define AN_PAR_MIN_WORK 16384


#endif

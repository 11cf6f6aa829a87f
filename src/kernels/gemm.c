/* gemm.c - strided single-precision GEMM through BLIS's typed API (see gemm.h).
 *
 * Kernel selection: BLIS 0.9 picks its micro-kernels from the CPUID family and model, and on
 * CPUs newer than it knows (AMD family 0x1A, Zen 5) it falls back to its generic C kernels, at
 * a fifth of the speed (30 against 157 GFLOP/s measured on one Zen 5 core). Before BLIS
 * initialises, we therefore ask for its AVX-512 "skx" kernels on any CPU with the AVX-512
 * subsets they use, unless the user has chosen with BLIS_ARCH_TYPE. BLIS 0.9 reads that
 * variable as the index of the configuration, so the index is looked up by name.
 */
#include "alphanet/kernels/gemm.h"

#include <blis.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"
#include "vmath.h"

static pthread_once_t blis_once = PTHREAD_ONCE_INIT;

static void choose_blis_kernels(void)
{
    if (getenv("BLIS_ARCH_TYPE")) return;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")))
        return;
    for (int id = 0; id < (int)BLIS_NUM_ARCHS; id++) {
        const char *name = bli_arch_string((arch_t)id);
        if (name && strcmp(name, "skx") == 0) {
            char buf[16];
            snprintf(buf, sizeof buf, "%d", id);
            setenv("BLIS_ARCH_TYPE", buf, 0);
            return;
        }
    }
#endif
}

static inline void blis_setup(void) { pthread_once(&blis_once, choose_blis_kernels); }

static double gemm_min_out(void);

/* BLIS on `nt` threads. Its typed API takes non-const pointers but does not write A, B, alpha
 * or beta. */
static void gemm_threads(int nt, int m, int n, int k, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                         const float *b, ptrdiff_t rsb, ptrdiff_t csb, float beta, float *c, ptrdiff_t rsc, ptrdiff_t csc)
{
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(nt, &rntm);
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha, (float *)a, rsa, csa, (float *)b, rsb, csb, &beta,
                 c, rsc, csc, NULL, &rntm);
}

/* ---- dot-product GEMM: a small C whose A rows and B columns are both contiguous in k ----
 * (the weight gradient of a 1x1 convolution, dY X^T: cout x cin outputs, k = batch x pixels).
 * BLIS's micro-tiles (32 x 12 on skx) are mostly padding for an output of 8 x 8 or 16 x 9, and
 * it packs both operands; here every output is a dot product of two contiguous rows. Blocks of
 * DOT_MB x DOT_NB outputs keep one 16-float accumulator per output in registers and read each
 * row once per block; k is walked in chunks of DOT_KC, and each chunk's sums are added to the
 * output. */
#define DOT_MB 4
#define DOT_NB 4
#define DOT_KC 1024
#define DOT_JP 64
#define DOT_MAX_OUT 4096       /* outputs at any k >= 64; */
#define DOT_MID_K 512          /* from this k, any output of up to */
#define DOT_MAX_M 128          /* rows (1.1-2.9x BLIS at k 784 and 3136; from 192 rows BLIS is as fast) */
#define DOT_LONG_K 8192        /* from this k, up to */
#define DOT_MAX_OUT_LONG 16384 /* outputs (144 x 24, k 12544: 1.7x BLIS). BLIS is faster at k ~ 200. */

/* Whether the dot-product kernel is the faster one for this shape (A rows, B columns in k). */
static int dots_shape(int m, int n, int k)
{
    const double mn = (double)m * n;
    return k >= 64 && (mn <= DOT_MAX_OUT || (k >= DOT_MID_K && m <= DOT_MAX_M) ||
                       (k >= DOT_LONG_K && mn <= DOT_MAX_OUT_LONG));
}

/* The sums over [p0, p1) (multiples of 16) of A row i times B column j, for the ib x jb block at
 * (i0, j0), one 16-lane accumulator per output in registers: started from the parked vectors in
 * acc (rows of jw, the panel's width) unless first, parked there again unless last, and when last summed across
 * lanes into out[i * ldo + j]. */
static inline __attribute__((always_inline)) void dot_block(float *restrict out, ptrdiff_t ldo, an_v16 *restrict acc,
                                                            int jw, int first, int last, const float *a, ptrdiff_t rsa,
                                                            const float *b, ptrdiff_t csb, int i0, int j0, int jp,
                                                            int p0, int p1, const int ib, const int jb)
{
    an_v16 s[DOT_MB][DOT_NB];
    for (int i = 0; i < ib; i++)
        for (int j = 0; j < jb; j++) s[i][j] = first ? (an_v16){0} : acc[(size_t)(i0 + i) * jw + j0 - jp + j];
    const float *ar[DOT_MB], *br[DOT_NB];
    for (int i = 0; i < ib; i++) ar[i] = a + (i0 + i) * rsa;
    for (int j = 0; j < jb; j++) br[j] = b + (j0 + j) * csb;
    for (int p = p0; p < p1; p += 16) {
        an_v16 av[DOT_MB], bv[DOT_NB];
        for (int i = 0; i < ib; i++) {
            av[i] = an_vload16(ar[i] + p);
            AN_IN_REGISTER(av[i]);
        }
        for (int j = 0; j < jb; j++) {
            bv[j] = an_vload16(br[j] + p);
            AN_IN_REGISTER(bv[j]);
        }
        for (int i = 0; i < ib; i++)
            for (int j = 0; j < jb; j++) s[i][j] += av[i] * bv[j];
    }
    for (int i = 0; i < ib; i++)
        for (int j = 0; j < jb; j++) {
            if (last) out[(i0 + i) * ldo + j0 + j] = an_vsum16(s[i][j]);
            else acc[(size_t)(i0 + i) * jw + j0 - jp + j] = s[i][j];
        }
}

#define DOT_CASE(I, J)                                                                            \
    case (I) * 8 + (J):                                                                           \
        dot_block(out, ldo, acc, jp1 - jp, p0 == 0, p1 == k16, a, rsa, b, csb, i0, j0, jp, p0, p1, (I), (J)); \
        break

/* out[i * ldo + j] = sum over p < k of a[i * rsa + p] * b[p + j * csb]. B is taken in panels of
 * DOT_JP columns, split over nt threads; each panel is walked in chunks of DOT_KC along k (256 KB
 * of B, kept in L2 while every block of A rows passes over it; a block of A rows, 16 KB, stays in
 * L1 across it), its accumulators parked in the thread's scratch between chunks. Each output is
 * computed by one thread in a fixed order. Returns 0 (nothing done) when the scratch cannot be
 * had. */
static int gemm_dots(int m, int n, int k, const float *a, ptrdiff_t rsa, const float *b, ptrdiff_t csb, float *out,
                     ptrdiff_t ldo, int nt)
{
    const int k16 = k & ~15, npanels = (n + DOT_JP - 1) / DOT_JP;
    int failed = 0;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && npanels > 1) reduction(| : failed)
    for (int q = 0; q < npanels; q++) {
        const int jp = q * DOT_JP, jp1 = jp + DOT_JP < n ? jp + DOT_JP : n;
        an_v16 *acc = NULL; /* this thread's, when k has more than one chunk */
        if (k16 > DOT_KC && !(acc = (an_v16 *)an_scratch(3, (size_t)m * (n < DOT_JP ? n : DOT_JP) * 16))) {
            failed = 1;
            continue;
        }
        if (k16 == 0)
            for (int i = 0; i < m; i++)
                for (int j = jp; j < jp1; j++) out[i * ldo + j] = 0.0f;
        for (int p0 = 0; p0 < k16; p0 += DOT_KC) {
            const int p1 = p0 + DOT_KC < k16 ? p0 + DOT_KC : k16;
            for (int i0 = 0; i0 < m; i0 += DOT_MB)
                for (int j0 = jp; j0 < jp1; j0 += DOT_NB) {
                    const int ib = m - i0 < DOT_MB ? m - i0 : DOT_MB, jb = jp1 - j0 < DOT_NB ? jp1 - j0 : DOT_NB;
                    switch (ib * 8 + jb) {
                        DOT_CASE(4, 4); DOT_CASE(4, 3); DOT_CASE(4, 2); DOT_CASE(4, 1);
                        DOT_CASE(3, 4); DOT_CASE(3, 3); DOT_CASE(3, 2); DOT_CASE(3, 1);
                        DOT_CASE(2, 4); DOT_CASE(2, 3); DOT_CASE(2, 2); DOT_CASE(2, 1);
                        DOT_CASE(1, 4); DOT_CASE(1, 3); DOT_CASE(1, 2); DOT_CASE(1, 1);
                    }
                }
        }
        if (k16 < k)
            for (int i = 0; i < m; i++)
                for (int j = jp; j < jp1; j++) {
                    float v = out[i * ldo + j];
                    for (int p = k16; p < k; p++) v += a[i * rsa + p] * b[p + j * csb];
                    out[i * ldo + j] = v;
                }
    }
    return !failed;
}
#undef DOT_CASE

/* C = beta C + alpha (P0 + ... + P[np-1]), the m x n partial products P of part (mn floats
 * apart, row-major) summed in order. beta 0 never reads C. */
static void write_c(int m, int n, float alpha, const float *part, int np, size_t mn, float beta, float *c,
                    ptrdiff_t rsc, ptrdiff_t csc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float v = part[(size_t)i * n + j];
            for (int q = 1; q < np; q++) v += part[q * mn + (size_t)i * n + j];
            float *cij = c + i * rsc + j * csc;
            *cij = alpha * v + (beta == 0.0f ? 0.0f : beta * *cij);
        }
}

/* C = beta C + alpha A B through gemm_dots on nt threads, or 0 (nothing done) when the scratch
 * cannot be had. */
static int dots(int m, int n, int k, float alpha, const float *a, ptrdiff_t rsa, const float *b, ptrdiff_t csb,
                float beta, float *c, ptrdiff_t rsc, ptrdiff_t csc, int nt)
{
    float *part = an_scratch(2, (size_t)m * n);
    if (!part || !gemm_dots(m, n, k, a, rsa, b, csb, part, n, nt)) return 0;
    write_c(m, n, alpha, part, 1, (size_t)m * n, beta, c, rsc, csc);
    return 1;
}

/* ---- short-and-wide GEMM: few rows of C (m <= ROWS_MAX_M, or ROWS_MAX_M_DEEP from k =
 * ROWS_DEEP_K), long rows of B ----
 * (a 1x1 convolution to few channels, or the input gradient of one from few channels: m = the
 * narrow side, n = batch x pixels). BLIS packs B, which here is the large operand, and its
 * 32-row micro-tiles are half padding at m = 16. Here B is read in place: columns in chunks of
 * ROWS_JC, each chunk passed over by every block of 8 rows of C while it is in cache, 8 x 32
 * outputs of C in registers per block. Chunks are split over the kernel threads; each output
 * is computed by one thread in a fixed order, so results do not depend on the thread count. */
#define ROWS_MAX_M 32
#define ROWS_MAX_M_DEEP 64 /* rows, when k >= */
#define ROWS_DEEP_K 32     /* (40 x 20736, k 240: 2.3x BLIS; k 8-24 over 25600+ columns: BLIS 1.2-1.9x) */
#define ROWS_MIN_N 256
#define ROWS_JC 64
/* The same kernel for a narrow C at any m: n a whole number of vectors up to ROWS_NARROW_MAX_N
 * (the batch: squeeze-excite's GEMMs; the batch times the 2 x 2 or 4 x 4 pixels of the last
 * stages), k up to ROWS_NARROW_MAX_K, and A (m x k, read again for every chunk of 64 columns)
 * at most ROWS_NARROW_MAX_A floats, 512 KB, so that it stays in L2. Its operands are in cache,
 * and BLIS spends more on packing and edges than on arithmetic: 1.1-1.6x BLIS's skx kernels on
 * one Intel Xeon core for m 84-576, n 64-1024, k 40-576, 2.4x at n = 16. A larger A stays with
 * BLIS: 1152 x 784, k 192 (ImageNet's 7 x 7 at batch 16) ran level on one thread and at 0.8x on
 * two. */
#define ROWS_NARROW_MAX_N 1024
#define ROWS_NARROW_MAX_K 640
#define ROWS_NARROW_MAX_A (128 * 1024)
/* The kernel's threads from this many flops on (BLIS's: 4 MFLOP), on either route to it:
 * squeeze-excite's GEMMs of 1.2-3.6 MFLOP and 32 x 256, k 192 (a few-rows one) ran 1.5-1.8x
 * faster on two threads than on one, 0.5 MFLOP 1.36x (one Intel Xeon VM). */
#define ROWS_PAR_MIN_FLOP 5e5

/* Whether the few-rows kernel takes a GEMM of this shape (B and C row-major): few rows of C over
 * long rows of B, or a narrow C with a short k and a small A. */
static int rows_shape(int m, int n, int k)
{
    const int few_rows = n >= ROWS_MIN_N && (m <= ROWS_MAX_M || (m <= ROWS_MAX_M_DEEP && k >= ROWS_DEEP_K));
    const int narrow = n % 16 == 0 && n <= ROWS_NARROW_MAX_N && k <= ROWS_NARROW_MAX_K &&
                       (double)m * k <= ROWS_NARROW_MAX_A;
    return few_rows || narrow;
}

/* Rows [i0, i0 + mb) of 16 * nv columns of C (32 or 16), at c: alpha * A B + beta * C, with b at
 * the same columns of B (rows ldb apart). */
static inline __attribute__((always_inline)) void rows_block(int k, float alpha, const float *a, ptrdiff_t rsa,
                                                             ptrdiff_t csa, const float *b, ptrdiff_t ldb, float beta,
                                                             float *c, ptrdiff_t rsc, int i0, const int mb,
                                                             const int nv)
{
    an_v16 acc[8][2];
    for (int i = 0; i < mb; i++)
        for (int v = 0; v < nv; v++) acc[i][v] = (an_v16){0};
    const float *ai = a + i0 * rsa, *bp = b;
    for (int p = 0; p < k; p++, bp += ldb) {
        an_v16 bv[2];
        for (int v = 0; v < nv; v++) {
            bv[v] = an_vload16(bp + 16 * v);
            AN_IN_REGISTER(bv[v]);
        }
        for (int i = 0; i < mb; i++) {
            const an_v16 av = an_vset16(ai[i * rsa + p * csa]);
            for (int v = 0; v < nv; v++) acc[i][v] += av * bv[v];
        }
    }
    for (int i = 0; i < mb; i++)
        for (int v = 0; v < nv; v++) {
            float *cp = c + (i0 + i) * rsc + 16 * v;
            const an_v16 r = alpha * acc[i][v];
            an_vstore16(cp, beta == 0.0f ? r : r + beta * an_vload16(cp));
        }
}

/* All m rows of C in blocks of 8, 4, 2, 1, for 16 * nv columns (c, b at the first). */
static inline __attribute__((always_inline)) void rows_cols(int m, int k, float alpha, const float *a, ptrdiff_t rsa,
                                                            ptrdiff_t csa, const float *b, ptrdiff_t ldb, float beta,
                                                            float *c, ptrdiff_t rsc, const int nv)
{
    int i0 = 0;
    for (; i0 + 8 <= m; i0 += 8) rows_block(k, alpha, a, rsa, csa, b, ldb, beta, c, rsc, i0, 8, nv);
    if (i0 + 4 <= m) rows_block(k, alpha, a, rsa, csa, b, ldb, beta, c, rsc, i0, 4, nv), i0 += 4;
    if (i0 + 2 <= m) rows_block(k, alpha, a, rsa, csa, b, ldb, beta, c, rsc, i0, 2, nv), i0 += 2;
    if (i0 < m) rows_block(k, alpha, a, rsa, csa, b, ldb, beta, c, rsc, i0, 1, nv);
}

static void gemm_rows(int m, int n, int k, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                      ptrdiff_t rsb, float beta, float *c, ptrdiff_t rsc, int nt)
{
    const int nchunks = (n + ROWS_JC - 1) / ROWS_JC;
    /* fewer chunks than threads (a narrow C): the threads split the rows instead, in multiples
     * of 8 (the values do not depend on how the rows are blocked) */
    const int parts = nt > 1 && nchunks < nt && m >= 16 * nt ? nt : 1, m8 = m / 8;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && nchunks * parts > 1)
    for (int t = 0; t < parts * nchunks; t++) {
        const int part = t / nchunks, q = t % nchunks;
        const int i0 = m8 * part / parts * 8, i1 = part + 1 == parts ? m : m8 * (part + 1) / parts * 8;
        const int j0 = q * ROWS_JC, w = (q + 1) * ROWS_JC < n ? ROWS_JC : n - j0;
        /* the chunk's columns of B, copied to contiguous rows (this thread's scratch): B's own
         * rows are often a multiple of 4 KB apart, so they would all fall in one cache set */
        float *pk = an_scratch(3, (size_t)k * ROWS_JC);
        const float *bc = b + j0;
        ptrdiff_t ldb = rsb;
        if (pk) {
            if (w == ROWS_JC) /* in registers: a libc call per 256-byte row cost more than the copy */
                for (int p = 0; p < k; p++)
                    for (int v = 0; v < ROWS_JC; v += 16)
                        an_vstore16(pk + (ptrdiff_t)p * ROWS_JC + v, an_vload16(bc + p * rsb + v));
            else
                for (int p = 0; p < k; p++) memcpy(pk + (ptrdiff_t)p * ROWS_JC, bc + p * rsb, sizeof(float) * w);
            bc = pk, ldb = ROWS_JC;
        }
        const float *ap = a + i0 * rsa;
        float *cc = c + i0 * rsc + j0;
        const int mp = i1 - i0;
        int j = 0;
        for (; j + 32 <= w; j += 32) rows_cols(mp, k, alpha, ap, rsa, csa, bc + j, ldb, beta, cc + j, rsc, 2);
        for (; j + 16 <= w; j += 16) rows_cols(mp, k, alpha, ap, rsa, csa, bc + j, ldb, beta, cc + j, rsc, 1);
        for (; j < w; j++) /* the last n % 16 columns */
            for (int i = 0; i < mp; i++) {
                float acc = 0.0f;
                for (int p = 0; p < k; p++) acc += ap[i * rsa + p * csa] * bc[p * ldb + j];
                float *cij = cc + i * rsc + j;
                *cij = alpha * acc + (beta == 0.0f ? 0.0f : beta * *cij);
            }
    }
}

/* A GEMM with a small C and a long k as KSPLIT products over fixed pieces of k, on the kernel
 * threads, each into its own buffer, then C = beta C + alpha (P0 + P1 + ...) summed in piece
 * order. The pieces do not depend on the number of threads, so neither does the result. Returns
 * 0 (nothing done) when the scratch cannot be had. */
#define KSPLIT 4
#define KSPLIT_MIN_K 256
static int ksplit(int m, int n, int k, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                  ptrdiff_t rsb, ptrdiff_t csb, float beta, float *c, ptrdiff_t rsc, ptrdiff_t csc, int nt)
{
    const size_t mn = (size_t)m * n;
    const int use_dots = csa == 1 && rsb == 1 && dots_shape(m, n, k);
    float *part = an_scratch(2, KSPLIT * mn); /* the calling thread's; shared with the team below */
    if (!part) return 0;
    int failed = 0;
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1) reduction(| : failed)
    for (int q = 0; q < KSPLIT; q++) {
        const int k0 = (int)((long)k * q / KSPLIT), k1 = (int)((long)k * (q + 1) / KSPLIT);
        if (use_dots) {
            if (!gemm_dots(m, n, k1 - k0, a + k0, rsa, b + k0, csb, part + q * mn, n, 1)) failed = 1;
        } else {
            gemm_threads(1, m, n, k1 - k0, 1.0f, a + k0 * csa, rsa, csa, b + k0 * rsb, rsb, csb, 0.0f, part + q * mn, n,
                         1);
        }
    }
    if (failed) return 0;
    write_c(m, n, alpha, part, KSPLIT, mn, beta, c, rsc, csc);
    return 1;
}

const char *an_gemm_kernel_name(void)
{
    blis_setup();
    return bli_arch_string(bli_arch_query_id());
}

/* Which kernel an_sgemm gave a call to (the names an_gemm_shapes reports). */
typedef enum { ROUTE_NONE, ROUTE_BLIS, ROUTE_ROWS, ROUTE_DOTS, ROUTE_KSPLIT } route;
static const char *const route_name[] = {"none", "blis", "few-rows", "dots", "k-split"};

static route sgemm_run(int m, int n, int k, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                       ptrdiff_t rsb, ptrdiff_t csb, float beta, float *c, ptrdiff_t rsc, ptrdiff_t csc)
{
    if (m <= 0 || n <= 0) return ROUTE_NONE;
    if (k <= 0) { /* nothing to multiply: C = beta * C */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float *cij = c + i * rsc + j * csc;
                *cij = beta == 0.0f ? 0.0f : beta * *cij;
            }
        return ROUTE_NONE;
    }
    blis_setup();
    /* Threads for this call: BLIS splits the rows and columns of C, so a GEMM with a small C (a
     * 1x1 convolution's weight gradient: C is cout x cin, k = batch x pixels) gains nothing from
     * BLIS's threads (threading every GEMM made the default space's 1 x 2-thread step slower in
     * GEMMs than 1 x 1 at batch 64: 115 against 97 ms). Such a GEMM with a long k is cut along k
     * instead (ksplit). ALPHANET_GEMM_MIN_OUT overrides the 16384 elements. Then, by shape: the
     * few-rows kernel, the dot-product kernel, and BLIS for the rest. */
    const int nt = an_kernel_threads();
    const int big = 2.0 * m * n * k >= 4e6, wide = (double)m * n >= gemm_min_out();
    if (big && !wide && k >= KSPLIT * KSPLIT_MIN_K && ksplit(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc, nt))
        return ROUTE_KSPLIT;
    if (csb == 1 && csc == 1 && rows_shape(m, n, k)) {
        gemm_rows(m, n, k, alpha, a, rsa, csa, b, rsb, beta, c, rsc, nt > 1 && 2.0 * m * n * k >= ROWS_PAR_MIN_FLOP ? nt : 1);
        return ROUTE_ROWS;
    }
    if (csa == 1 && rsb == 1 && dots_shape(m, n, k) &&
        dots(m, n, k, alpha, a, rsa, b, csb, beta, c, rsc, csc, nt > 1 && big ? nt : 1))
        return ROUTE_DOTS;
    gemm_threads(nt > 1 && big && wide ? nt : 1, m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    return ROUTE_BLIS;
}

/* The per-shape table (gemm.h): entries [0, nshapes), the last slot for shapes beyond it. */
static int shapes_on, nshapes;
static an_gemm_shape_time shapes[AN_GEMM_SHAPES_MAX];

static void shape_add(int m, int n, int k, char ta, char tb, route r, double seconds)
{
    int i = 0;
    while (i < nshapes && !(shapes[i].m == m && shapes[i].n == n && shapes[i].k == k && shapes[i].ta == ta &&
                            shapes[i].tb == tb && shapes[i].route == route_name[r]))
        i++;
    if (i == nshapes) {
        if (nshapes < AN_GEMM_SHAPES_MAX - 1) {
            shapes[nshapes++] = (an_gemm_shape_time){.m = m, .n = n, .k = k, .ta = ta, .tb = tb, .route = route_name[r]};
        } else { /* the table is full: the overflow entry */
            i = AN_GEMM_SHAPES_MAX - 1;
            if (nshapes == AN_GEMM_SHAPES_MAX - 1) {
                shapes[i] = (an_gemm_shape_time){.ta = '-', .tb = '-', .route = "other"};
                nshapes = AN_GEMM_SHAPES_MAX;
            }
        }
    }
    shapes[i].calls++;
    shapes[i].seconds += seconds;
}

void an_gemm_shapes_start(void)
{
    nshapes = 0;
    shapes_on = 1;
}

void an_gemm_shapes_stop(void) { shapes_on = 0; }

static int by_time(const void *x, const void *y)
{
    const double a = ((const an_gemm_shape_time *)x)->seconds, b = ((const an_gemm_shape_time *)y)->seconds;
    return (a < b) - (a > b);
}

int an_gemm_shapes(an_gemm_shape_time *out, int max)
{
    an_gemm_shape_time all[AN_GEMM_SHAPES_MAX];
    memcpy(all, shapes, sizeof(an_gemm_shape_time) * (size_t)nshapes);
    qsort(all, (size_t)nshapes, sizeof all[0], by_time);
    const int k = nshapes < max ? nshapes : max > 0 ? max : 0;
    if (k > 0) memcpy(out, all, sizeof(an_gemm_shape_time) * (size_t)k);
    return k;
}

void an_sgemm(int m, int n, int k, float alpha,
              const float *a, ptrdiff_t rsa, ptrdiff_t csa,
              const float *b, ptrdiff_t rsb, ptrdiff_t csb,
              float beta, float *c, ptrdiff_t rsc, ptrdiff_t csc)
{
    if (!shapes_on || omp_in_parallel()) {
        sgemm_run(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
        return;
    }
    const double t0 = omp_get_wtime();
    const route r = sgemm_run(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    if (r != ROUTE_NONE) shape_add(m, n, k, csa == 1 ? 'n' : 't', csb == 1 ? 'n' : 't', r, omp_get_wtime() - t0);
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

static int kernel_threads; /* 0: not chosen yet */

static double gemm_min_out(void)
{
    static double v = -1;
    if (v < 0) {
        const char *e = getenv("ALPHANET_GEMM_MIN_OUT");
        v = e ? atof(e) : 16384.0;
    }
    return v;
}

static int threads_from_env(void)
{
    const char *names[] = {"BLIS_NUM_THREADS", "OMP_NUM_THREADS"};
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) {
            const int t = atoi(v); /* OMP_NUM_THREADS may be a list: its first entry counts */
            if (t > 0) return t;
        }
    }
    return 1;
}

void an_gemm_set_threads(int nthreads)
{
    blis_setup();
    kernel_threads = nthreads > 0 ? nthreads : 1;
    bli_thread_set_num_threads(kernel_threads);
}

int an_kernel_threads(void)
{
    if (kernel_threads <= 0) kernel_threads = threads_from_env();
    return kernel_threads;
}

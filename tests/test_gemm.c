/* test_gemm.c - the strided GEMM against the naive reference on the views the network uses:
 * row-major slices of larger matrices, transposes by strides, alpha/beta, and degenerate sizes
 * (m, n or k = 1), C row- and column-major, and C = NaN with beta 0 (it must not be read).
 * The shapes reach every path of an_sgemm:
 *   - BLIS, and the k-split;
 *   - the dot-product kernel (ta 0, tb 1) for small outputs, and for up to 128 rows at k >= 512:
 *     edge blocks of m % 4 and n % 4, k % 16 remainders, several k chunks, panels of columns with
 *     a narrower last one, the k-split over it, a larger output for a long k;
 *   - the kernel for few rows of C and long rows of B (tb 0, n >= 256, m <= 32, or m <= 64 from
 *     k 32): row blocks of 8, 4, 2 and 1, column blocks of 32 and 16, a column remainder, a
 *     partial last chunk; the same kernel for a narrow C at any m (n a multiple of 16 up to
 *     1024, k up to 640, A up to 128k floats), split by rows over the threads when C has fewer
 *     column chunks than threads;
 *   - each threaded path again on 2 threads (the row split also on 4, over row parts times
 *     column chunks), bit for bit against 1.
 * And the per-shape timing (an_gemm_shapes): what it records, and what it leaves out. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/kernels/gemm.h"
#include "test.h"

/* C = alpha A B + beta C against the reference. tc stores C column-major (column stride m + 3)
 * instead of row-major (row stride n + 3). With beta 0 the used part of C starts as NaN, which a
 * kernel that reads C would carry into the result; the padding starts as the same random values
 * in both copies. */
static void one(int m, int n, int k, int ta, int tb, int tc, int lda_pad, float alpha, float beta, unsigned seed)
{
    /* A is m x k stored either row-major with row stride k+pad, or transposed (k x m storage). */
    const int lda = (ta ? m : k) + lda_pad, ldb = (tb ? k : n) + lda_pad, ldc = tc ? m + 3 : n + 3;
    const size_t csize = (size_t)(tc ? n : m) * ldc;
    const ptrdiff_t rsc = tc ? 1 : ldc, csc = tc ? ldc : 1;
    float *a = malloc(sizeof(float) * (size_t)(ta ? k : m) * lda);
    float *b = malloc(sizeof(float) * (size_t)(tb ? n : k) * ldb);
    float *c1 = malloc(sizeof(float) * csize), *c2 = malloc(sizeof(float) * csize);
    t_fill(a, (size_t)(ta ? k : m) * lda, seed, -1, 1);
    t_fill(b, (size_t)(tb ? n : k) * ldb, seed + 1, -1, 1);
    t_fill(c1, csize, seed + 2, -1, 1);
    if (beta == 0.0f)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c1[i * rsc + j * csc] = NAN;
    memcpy(c2, c1, sizeof(float) * csize);
    ptrdiff_t rsa = ta ? 1 : lda, csa = ta ? lda : 1, rsb = tb ? 1 : ldb, csb = tb ? ldb : 1;
    an_sgemm(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c1, rsc, csc);
    an_sgemm_ref(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c2, rsc, csc);
    char what[112];
    snprintf(what, sizeof what, "gemm m%d n%d k%d ta%d tb%d tc%d pad%d beta%g", m, n, k, ta, tb, tc, lda_pad, beta);
    CHECK_CLOSE(what, c1, c2, csize, 1e-5);
    free(a); free(b); free(c1); free(c2);
}

/* The same GEMM on 1 and nt kernel threads: bit for bit equal (no path splits a sum over a
 * number of threads), and close to the reference. */
static void threads_same_on(int m, int n, int k, int tb, unsigned seed, int nt)
{
    const int ldb = tb ? k : n;
    float *a = malloc(sizeof(float) * (size_t)m * k), *b = malloc(sizeof(float) * (size_t)n * k);
    float *c1 = malloc(sizeof(float) * (size_t)m * n), *c2 = malloc(sizeof(float) * (size_t)m * n);
    float *cr = malloc(sizeof(float) * (size_t)m * n);
    t_fill(a, (size_t)m * k, seed, -1, 1);
    t_fill(b, (size_t)n * k, seed + 1, -1, 1);
    for (size_t i = 0; i < (size_t)m * n; i++) c1[i] = c2[i] = NAN; /* beta 0: an output not written stays NaN */
    const ptrdiff_t rsb = tb ? 1 : ldb, csb = tb ? ldb : 1;
    an_gemm_set_threads(1);
    an_sgemm(m, n, k, 1.0f, a, k, 1, b, rsb, csb, 0.0f, c1, n, 1);
    an_gemm_set_threads(nt);
    an_sgemm(m, n, k, 1.0f, a, k, 1, b, rsb, csb, 0.0f, c2, n, 1);
    an_gemm_set_threads(1);
    an_sgemm_ref(m, n, k, 1.0f, a, k, 1, b, rsb, csb, 0.0f, cr, n, 1);
    CHECK_MSG(memcmp(c1, c2, sizeof(float) * (size_t)m * n) == 0, "gemm m%d n%d k%d tb%d: 1 and %d threads differ", m,
              n, k, tb, nt);
    char what[64];
    snprintf(what, sizeof what, "gemm m%d n%d k%d tb%d on %d threads", m, n, k, tb, nt);
    CHECK_CLOSE(what, c2, cr, (size_t)m * n, 1e-5);
    free(a); free(b); free(c1); free(c2); free(cr);
}
static void threads_same(int m, int n, int k, int tb, unsigned seed) { threads_same_on(m, n, k, tb, seed, 2); }

/* The entry of an_gemm_shapes for a shape and route, or NULL. */
static const an_gemm_shape_time *find_shape(const an_gemm_shape_time *t, int nt, int m, int n, int k, char ta, char tb,
                                            const char *route)
{
    for (int i = 0; i < nt; i++)
        if (t[i].m == m && t[i].n == n && t[i].k == k && t[i].ta == ta && t[i].tb == tb && !strcmp(t[i].route, route))
            return &t[i];
    return NULL;
}

static void gemm_shapes(void)
{
    float *a = calloc(64 * 1024, sizeof(float)), *b = calloc(300 * 1024, sizeof(float)), *c = calloc(300 * 1024, sizeof(float));
    static an_gemm_shape_time t[AN_GEMM_SHAPES_MAX];
    an_gemm_shapes_start();
    for (int r = 0; r < 3; r++) an_sgemm(16, 1024, 32, 1.0f, a, 32, 1, b, 1024, 1, 0.0f, c, 1024, 1); /* few rows */
    an_sgemm(200, 300, 100, 1.0f, a, 100, 1, b, 300, 1, 0.0f, c, 300, 1);                             /* BLIS */
    an_sgemm(200, 300, 100, 1.0f, a, 1, 200, b, 300, 1, 0.0f, c, 300, 1);                             /* A^T */
    an_sgemm(8, 8, 256, 1.0f, a, 256, 1, b, 1, 256, 0.0f, c, 8, 1);       /* dot products (B^T) */
    an_sgemm(64, 64, 1024, 1.0f, a, 1024, 1, b, 1, 1024, 0.0f, c, 64, 1); /* cut along k */
    an_sgemm(8, 8, 0, 1.0f, a, 1, 1, b, 1, 1, 0.0f, c, 8, 1);  /* k = 0: only scales C, not a GEMM */
    an_sgemm(0, 8, 8, 1.0f, a, 8, 1, b, 8, 1, 0.0f, c, 8, 1);  /* nothing to do */
    int inside = 0;
#pragma omp parallel num_threads(2)
    if (omp_get_thread_num() == 0) {
        inside = omp_in_parallel();
        an_sgemm(4, 4, 4, 1.0f, a, 4, 1, b, 4, 1, 0.0f, c, 4, 1); /* inside a parallel region: left out */
    }
    an_gemm_shapes_stop();
    an_sgemm(16, 1024, 32, 1.0f, a, 32, 1, b, 1024, 1, 0.0f, c, 1024, 1); /* after stop: left out */
    int nt = an_gemm_shapes(t, AN_GEMM_SHAPES_MAX);
    CHECK_MSG(nt == (inside ? 5 : 6), "%d shapes recorded (inside a team of 2: %d)", nt, inside);
    const an_gemm_shape_time *rows = find_shape(t, nt, 16, 1024, 32, 'n', 'n', "few-rows");
    const an_gemm_shape_time *blis = find_shape(t, nt, 200, 300, 100, 'n', 'n', "blis");
    const an_gemm_shape_time *blist = find_shape(t, nt, 200, 300, 100, 't', 'n', "blis");
    CHECK(rows && rows->calls == 3 && rows->seconds > 0);
    CHECK(blis && blis->calls == 1 && blis->seconds > 0);
    CHECK(blist && blist->calls == 1);
    const an_gemm_shape_time *dots = find_shape(t, nt, 8, 8, 256, 'n', 't', "dots");
    const an_gemm_shape_time *ksplit = find_shape(t, nt, 64, 64, 1024, 'n', 't', "k-split");
    CHECK(dots && dots->calls == 1);
    CHECK(ksplit && ksplit->calls == 1);
    CHECK(find_shape(t, nt, 4, 4, 4, 'n', 'n', "blis") == NULL || !inside);
    for (int i = 1; i < nt; i++) CHECK_MSG(t[i - 1].seconds >= t[i].seconds, "entry %d is out of order", i);
    const an_gemm_shape_time longest = t[0];
    CHECK(an_gemm_shapes(t, 1) == 1 && t[0].m == longest.m && t[0].n == longest.n && t[0].k == longest.k &&
          t[0].route == longest.route && t[0].calls == longest.calls);
    /* more shapes than the table holds: the rest counted in one "other" entry */
    an_gemm_shapes_start();
    CHECK(an_gemm_shapes(t, AN_GEMM_SHAPES_MAX) == 0);
    for (int j = 1; j <= AN_GEMM_SHAPES_MAX + 5; j++) an_sgemm(1, j, 1, 1.0f, a, 1, 1, b, j, 1, 0.0f, c, j, 1);
    an_sgemm(1, 1, 1, 1.0f, a, 1, 1, b, 1, 1, 0.0f, c, 1, 1); /* a shape in the table, again */
    an_gemm_shapes_stop();
    nt = an_gemm_shapes(t, AN_GEMM_SHAPES_MAX);
    CHECK(nt == AN_GEMM_SHAPES_MAX);
    const an_gemm_shape_time *first = find_shape(t, nt, 1, 1, 1, 'n', 'n', "blis");
    CHECK_MSG(first && first->calls == 2, "the first shape counts %ld calls", first ? first->calls : -1L);
    const an_gemm_shape_time *other = find_shape(t, nt, 0, 0, 0, '-', '-', "other");
    CHECK_MSG(other && other->calls == 6, "the overflow entry counts %ld calls", other ? other->calls : -1L);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    gemm_shapes();
    const int sizes[][3] = {{1, 1, 1},     {1, 17, 5},     {13, 1, 7},      {7, 9, 1},      {33, 65, 17},
                            {64, 200, 96}, {10, 64, 320},  {13, 7, 1029},   {16, 16, 8003}, {5, 3, 2051},
                            {2, 2, 64},    {64, 64, 100},  {3, 11, 4100},   {13, 300, 37},  {32, 1000, 9},
                            {7, 257, 200}, {30, 4100, 3},  {1, 256, 1},     {33, 130, 8193}, {5, 9, 200},
                            {9, 276, 20},  {70, 250, 2100}, {100, 170, 600}, {45, 300, 40},
                            {100, 64, 300}, {77, 48, 30}, {200, 1024, 16}, {90, 1008, 640}};
    unsigned seed = 1;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int tc = 0; tc < 2; tc++) {
                    one(sizes[s][0], sizes[s][1], sizes[s][2], ta, tb, tc, 0, 1.0f, 0.0f, seed++);
                    one(sizes[s][0], sizes[s][1], sizes[s][2], ta, tb, tc, 5, 0.5f, 1.0f, seed++);
                }
    /* beta = 0 must ignore NaN garbage in C (fresh workspaces are not zeroed). */
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, c[4] = {NAN, NAN, NAN, NAN};
    an_sgemm(2, 2, 3, 1.0f, a, 3, 1, b, 2, 1, 0.0f, c, 2, 1);
    const float expect[4] = {4, 5, 10, 11};
    CHECK_CLOSE("gemm beta=0 overwrites NaN", c, expect, 4, 0);
    /* the same through the dot-product kernel (A rows and B columns contiguous, k >= 64) */
    float ad[2 * 64], bd[64 * 2], cd[4] = {NAN, NAN, NAN, NAN}, ed[4] = {0, 0, 0, 0};
    for (int p = 0; p < 64; p++) {
        ad[p] = 1.0f, ad[64 + p] = (float)(p % 3);
        bd[p] = 0.5f, bd[64 + p] = (float)(p % 2);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int p = 0; p < 64; p++) ed[i * 2 + j] += ad[i * 64 + p] * bd[j * 64 + p];
    an_sgemm(2, 2, 64, 1.0f, ad, 64, 1, bd, 1, 64, 0.0f, cd, 2, 1);
    CHECK_CLOSE("gemm (dot products) beta=0 overwrites NaN", cd, ed, 4, 0);
    /* every threaded path: dot-product panels (several chunks; one), the few-rows kernel, the
     * k-split, BLIS */
    threads_same(70, 250, 2100, 1, 900);
    threads_same(100, 170, 600, 1, 910);
    threads_same(45, 3000, 40, 0, 920);
    threads_same(33, 130, 8193, 1, 930);
    threads_same(200, 300, 100, 0, 940);
    threads_same(300, 64, 200, 0, 950);  /* narrow C: rows split over the threads */
    threads_same(130, 32, 640, 0, 960);  /* the same, with a block of 2 rows at the end */
    threads_same(150, 512, 96, 0, 970);  /* narrow C, 8 column chunks over the threads */
    threads_same(100, 64, 48, 0, 980);   /* narrow C below BLIS's threading size (0.6 MFLOP) */
    threads_same_on(300, 128, 100, 0, 990, 4); /* 4 threads over 4 row parts x 2 column chunks */
    /* k = 0 scales C by beta. */
    float c0[2] = {2, 3};
    an_sgemm(1, 2, 0, 1.0f, a, 1, 1, b, 1, 1, 0.5f, c0, 2, 1);
    const float e0[2] = {1, 1.5f};
    CHECK_CLOSE("gemm k=0", c0, e0, 2, 0);
    return TEST_SUMMARY();
}

/* test_golden_kernels.c - every kernel against the PyTorch golden reference.
 *
 * The fixtures in tests/fixtures/kernels/ are written by tests/ref/kernels_ref.py (run it with
 * /usr/bin/python3 to regenerate; see its header for the conventions). Each holds the inputs of
 * one case, an upstream gradient dy, and PyTorch's outputs and gradients computed in float64 from
 * the float32 inputs. Weights are the FULL supernet tensors; the kernels get sliced views (first
 * channels, leading dimension of the full tensor, centre crop of depthwise kernels), and weight
 * gradients are compared over the whole full-size buffer, so writes outside the slice are caught.
 *
 * Activation layout: the fixtures store activations CNHW (x[c][n][h][w], PyTorch's NCHW with the
 * first two axes swapped); the library works in CHWN (x[c][h][w][n], layout.h). act() converts a
 * fixture array to the library's layout, so a layout change touches only act() (GK_CHWN).
 *
 * Conventions checked on the way:
 *   - forward outputs are pre-filled with NaN: a forward must overwrite, never read, its output;
 *   - backward gradient buffers are pre-filled with the fixture's acc0 (0.5 in at least one case
 *     per op), and the expected value is acc0 + reference: backwards accumulate (layout.h);
 *   - the NULL-dx variants give the same parameter gradients, and the overwriting variants
 *     (accumulate 0) the same dx from a NaN-filled buffer;
 *   - the test oracles an_sgemm_ref, an_conv2d_*_ref, an_dwconv_*_ref are held to the same fixtures.
 *
 * Tolerances are relative to the largest magnitude of the reference array (t_close_arrays); see
 * RT_TIGHT. The worst relative error seen per op is printed at the end.
 */
#include "alphanet/kernels/act.h"
#include "alphanet/kernels/bn.h"
#include "alphanet/kernels/conv.h"
#include "alphanet/kernels/dropout.h"
#include "alphanet/kernels/dwconv.h"
#include "alphanet/kernels/gemm.h"
#include "alphanet/kernels/layout.h"
#include "alphanet/kernels/linear.h"
#include "alphanet/kernels/pool.h"
#include "alphanet/kernels/resize.h"
#include "alphanet/kernels/se.h"
#include "alphanet/kernels/softmax.h"
#include "fixture.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One tolerance for every op. The kernels compute in float32 (sums partly in double) against
 * float64 references: observed worst errors are ~3e-7 for the GEMM-based ops, batch norm and SE,
 * and ~3e-6 for the resizes (float tap weights), so 2e-5 leaves headroom for other BLIS kernels,
 * FMA contraction and thread counts while still catching any real error (a wrong tap, a missing
 * clamp, an overwrite instead of an accumulate are all >= 1e-3). */
#define RT_TIGHT 2e-5

/* ------------------------------------------------------------------------------------------- */
/* bookkeeping */

typedef struct {
    const char *op;
    double worst;
    int checks;
} op_stat;
static op_stat g_stats[64];
static int g_nstats;

static void record(const char *op, double rel)
{
    for (int i = 0; i < g_nstats; i++)
        if (strcmp(g_stats[i].op, op) == 0) {
            if (!(rel <= g_stats[i].worst)) g_stats[i].worst = rel;
            g_stats[i].checks++;
            return;
        }
    if (g_nstats < (int)(sizeof g_stats / sizeof g_stats[0])) g_stats[g_nstats++] = (op_stat){op, rel, 1};
}

static double rel_err(const float *a, const float *b, size_t n)
{
    double scale = 1e-30, worst = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)b[i]) > scale) scale = fabs((double)b[i]);
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= worst)) worst = isnan(d) ? INFINITY : d;
    }
    return worst / scale;
}

/* got vs ref over n floats, recorded under op; `label` names the case and array. */
static void cmp(const char *op, const char *cs, const char *what, const float *got, const float *ref, size_t n,
                double rtol)
{
    char label[192];
    snprintf(label, sizeof label, "%s [%s] %s", op, cs, what);
    record(op, rel_err(got, ref, n));
    CHECK_CLOSE(label, got, ref, n, rtol);
}

/* got vs acc0 + ref: for gradients accumulated into buffers pre-filled with acc0. */
static void cmp_acc(const char *op, const char *cs, const char *what, const float *got, const float *ref,
                    size_t n, float acc0, double rtol)
{
    float *e = malloc(n * sizeof *e + 1);
    for (size_t i = 0; i < n; i++) e[i] = acc0 + ref[i];
    cmp(op, cs, what, got, e, n, rtol);
    free(e);
}

static float *falloc(size_t n, float v)
{
    float *p = malloc(n * sizeof *p + 64);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    for (size_t i = 0; i < n; i++) p[i] = v;
    return p;
}

static float *fdup(const float *x, size_t n)
{
    float *p = falloc(n, 0.0f);
    memcpy(p, x, n * sizeof *p);
    return p;
}

static fx_file *load(const char *cs)
{
    char rel[256];
    snprintf(rel, sizeof rel, "kernels/%s.anfx", cs);
    return fx_load(rel);
}

/* A fixture array with its element count checked against the size the kernel call implies. */
static const float *arr(const fx_file *f, const char *name, size_t expect)
{
    size_t n;
    const float *p = fx_f32(f, name, &n);
    if (n != expect) {
        fprintf(stderr, "FIXTURE ERROR: %s in %s has %zu elements, expected %zu\n", name, f->path, n, expect);
        exit(2);
    }
    return p;
}

/* Arrays made by act() are owned here and released by release_all() at the end of each case. */
static void *g_owned[64];
static int g_nowned;

static void release_all(void)
{
    for (int i = 0; i < g_nowned; i++) free(g_owned[i]);
    g_nowned = 0;
}

/* The library's activation layout: 1 = CHWN (layout.h), 0 = CNHW (the fixtures' own). */
#ifndef GK_CHWN
#define GK_CHWN 1
#endif

/* Fixture activation `name`, stored CNHW [c][n][hw], in the library's layout. */
static const float *act(const fx_file *f, const char *name, int c, int n, int hw)
{
    const size_t cnt = (size_t)c * n * hw;
    const float *src = arr(f, name, cnt);
    float *dst = falloc(cnt, 0.0f);
    for (int ch = 0; ch < c; ch++)
        for (int j = 0; j < n; j++)
            for (int i = 0; i < hw; i++) {
                const size_t from = ((size_t)ch * n + j) * hw + i;
                const size_t to = GK_CHWN ? ((size_t)ch * hw + i) * n + j : from;
                dst[to] = src[from];
            }
    if (g_nowned == (int)(sizeof g_owned / sizeof g_owned[0])) { fprintf(stderr, "act: too many arrays\n"); exit(2); }
    g_owned[g_nowned++] = dst;
    return dst;
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

#define FNAN ((float)NAN)

/* ------------------------------------------------------------------------------------------- */
/* gemm */

typedef void (*gemm_fn)(int, int, int, float, const float *, ptrdiff_t, ptrdiff_t, const float *, ptrdiff_t,
                        ptrdiff_t, float, float *, ptrdiff_t, ptrdiff_t);

static void test_gemm(const char *cs)
{
    fx_file *f = load(cs);
    int m = fx_int(f, "m"), n = fx_int(f, "n"), k = fx_int(f, "k");
    float alpha = fx_float(f, "alpha");
    ptrdiff_t rsa = fx_int(f, "rsa"), csa = fx_int(f, "csa"), rsb = fx_int(f, "rsb"), csb = fx_int(f, "csb");
    ptrdiff_t rsc = fx_int(f, "rsc"), csc = fx_int(f, "csc");
    size_t na, nb, nc;
    const float *a = fx_f32(f, "a", &na), *b = fx_f32(f, "b", &nb), *c0 = fx_f32(f, "c0", &nc);
    const float *e0 = arr(f, "c_beta0", nc), *e1 = arr(f, "c_beta1", nc);
    gemm_fn fns[2] = {an_sgemm, an_sgemm_ref};
    const char *names[2] = {"gemm", "gemm_ref"};
    for (int i = 0; i < 2; i++) {
        /* beta = 0: C's active part holds NaN, which must not be read (the BLAS convention, which
         * every forward that overwrites its output through a GEMM relies on); the rest of the
         * buffer must survive untouched. */
        float *c = fdup(c0, nc);
        for (int r = 0; r < m; r++)
            for (int q = 0; q < n; q++) c[r * rsc + q * csc] = FNAN;
        fns[i](m, n, k, alpha, a, rsa, csa, b, rsb, csb, 0.0f, c, rsc, csc);
        cmp(names[i], cs, "beta=0", c, e0, nc, RT_TIGHT);
        memcpy(c, c0, nc * sizeof *c);
        fns[i](m, n, k, alpha, a, rsa, csa, b, rsb, csb, 1.0f, c, rsc, csc);
        cmp(names[i], cs, "beta=1", c, e1, nc, RT_TIGHT);
        free(c);
    }
    fx_free(f);
}

/* ------------------------------------------------------------------------------------------- */
/* dense convolution */

static void test_conv(const char *cs)
{
    fx_file *f = load(cs);
    int cout_full = fx_int(f, "cout_full"), cin_full = fx_int(f, "cin_full");
    int cout = fx_int(f, "cout"), cin = fx_int(f, "cin"), n = fx_int(f, "n"), h = fx_int(f, "h"), w = fx_int(f, "w");
    int k = fx_int(f, "k"), s = fx_int(f, "s"), ho = fx_int(f, "ho"), wo = fx_int(f, "wo");
    float acc0 = fx_float(f, "acc0");
    CHECK(ho == an_conv_out(h, k, s) && wo == an_conv_out(w, k, s));
    int ldw = cin_full * k * k;
    size_t nx = (size_t)cin * n * h * w, ny = (size_t)cout * n * ho * wo, nw = (size_t)cout_full * ldw;
    const float *x = act(f, "x", cin, n, h * w), *yr = act(f, "y", cout, n, ho * wo);
    const float *dy = act(f, "dy", cout, n, ho * wo), *dxr = act(f, "dx", cin, n, h * w);
    const float *wt = arr(f, "wt", nw), *dwr = arr(f, "dw", nw);
    float *y = falloc(ny, FNAN), *dx = falloc(nx, acc0), *dw = falloc(nw, acc0);

    if (k == 1 && s == 1) {
        ptrdiff_t p = (ptrdiff_t)n * h * w;
        an_conv1x1_forward(y, x, wt, ldw, cout, cin, p);
        cmp("conv1x1", cs, "y", y, yr, ny, RT_TIGHT);
        an_conv1x1_backward(dx, 1, dw, dy, x, wt, ldw, cout, cin, p);
        cmp_acc("conv1x1", cs, "dx", dx, dxr, nx, acc0, RT_TIGHT);
        cmp_acc("conv1x1", cs, "dw", dw, dwr, nw, acc0, RT_TIGHT);
        for (size_t i = 0; i < nw; i++) dw[i] = acc0;
        an_conv1x1_backward(NULL, 1, dw, dy, x, wt, ldw, cout, cin, p);
        cmp_acc("conv1x1", cs, "dw (dx NULL)", dw, dwr, nw, acc0, RT_TIGHT);
        for (size_t i = 0; i < nx; i++) dx[i] = FNAN; /* accumulate 0: dx is overwritten, never read */
        an_conv1x1_backward(dx, 0, NULL, dy, x, wt, ldw, cout, cin, p);
        cmp("conv1x1", cs, "dx (overwrite)", dx, dxr, nx, RT_TIGHT);
    }

    /* im2col / col2im adjointness: <im2col(x), r> == <x, col2im(r)>. */
    {
        size_t ncol = (size_t)cin * k * k * n * ho * wo;
        float *col = falloc(ncol, FNAN), *r = falloc(ncol, 0.0f), *xr = falloc(nx, 0.0f);
        t_fill(r, ncol, 7, -1.0f, 1.0f);
        an_im2col(col, x, cin, n, h, w, k, s);
        an_col2im(xr, r, cin, n, h, w, k, s);
        double l = 0.0, rr = 0.0, sc = 0.0;
        for (size_t i = 0; i < ncol; i++) { l += (double)col[i] * r[i]; sc += fabs((double)col[i] * r[i]); }
        for (size_t i = 0; i < nx; i++) rr += (double)x[i] * xr[i];
        CHECK_MSG(fabs(l - rr) <= 1e-5 * sc, "%s: im2col/col2im not adjoint: %.9g vs %.9g", cs, l, rr);
        free(col); free(r); free(xr);
    }

    size_t ncol = an_conv2d_col_size(cin, n, h, w, k, s);
    float *col = falloc(ncol, FNAN);
    for (int impl = 0; impl < 2; impl++) {
        const char *op = impl ? "conv2d_ref" : "conv2d";
        for (size_t i = 0; i < ny; i++) y[i] = FNAN;
        for (size_t i = 0; i < nx; i++) dx[i] = acc0;
        for (size_t i = 0; i < nw; i++) dw[i] = acc0;
        if (impl) an_conv2d_forward_ref(y, x, wt, ldw, cout, cin, n, h, w, k, s);
        else an_conv2d_forward(y, x, wt, ldw, cout, cin, n, h, w, k, s, col);
        cmp(op, cs, "y", y, yr, ny, RT_TIGHT);
        if (impl) an_conv2d_backward_ref(dx, dw, dy, x, wt, ldw, cout, cin, n, h, w, k, s);
        else an_conv2d_backward(dx, dw, dy, x, wt, ldw, cout, cin, n, h, w, k, s, col);
        cmp_acc(op, cs, "dx", dx, dxr, nx, acc0, RT_TIGHT);
        cmp_acc(op, cs, "dw", dw, dwr, nw, acc0, RT_TIGHT);
        for (size_t i = 0; i < nw; i++) dw[i] = acc0;
        if (impl) an_conv2d_backward_ref(NULL, dw, dy, x, wt, ldw, cout, cin, n, h, w, k, s);
        else an_conv2d_backward(NULL, dw, dy, x, wt, ldw, cout, cin, n, h, w, k, s, col);
        cmp_acc(op, cs, "dw (dx NULL)", dw, dwr, nw, acc0, RT_TIGHT);
    }
    free(col); free(y); free(dx); free(dw);
    release_all();
    fx_free(f);
}

/* ------------------------------------------------------------------------------------------- */
/* depthwise convolution */

static void test_dwconv(const char *cs)
{
    fx_file *f = load(cs);
    int c_full = fx_int(f, "c_full"), c = fx_int(f, "c"), n = fx_int(f, "n"), h = fx_int(f, "h"), w = fx_int(f, "w");
    int K = fx_int(f, "K"), k = fx_int(f, "k"), s = fx_int(f, "s"), ho = fx_int(f, "ho"), wo = fx_int(f, "wo");
    float acc0 = fx_float(f, "acc0");
    CHECK(ho == an_conv_out(h, k, s) && wo == an_conv_out(w, k, s));
    ptrdiff_t wcs = (ptrdiff_t)K * K, wrs = K;
    size_t nx = (size_t)c * n * h * w, ny = (size_t)c * n * ho * wo, nw = (size_t)c_full * K * K;
    const float *x = act(f, "x", c, n, h * w), *yr = act(f, "y", c, n, ho * wo);
    const float *dy = act(f, "dy", c, n, ho * wo), *dxr = act(f, "dx", c, n, h * w);
    const float *wt = arr(f, "wt", nw), *dwr = arr(f, "dw", nw);
    const float *wv = an_dwconv_view(wt, K, k);
    float *y = falloc(ny, FNAN), *dx = falloc(nx, acc0), *dw = falloc(nw, acc0);
    for (int impl = 0; impl < 2; impl++) {
        const char *op = impl ? "dwconv_ref" : "dwconv";
        for (size_t i = 0; i < ny; i++) y[i] = FNAN;
        for (size_t i = 0; i < nx; i++) dx[i] = acc0;
        for (size_t i = 0; i < nw; i++) dw[i] = acc0;
        float *dwv = an_dwconv_view_mut(dw, K, k);
        (impl ? an_dwconv_forward_ref : an_dwconv_forward)(y, x, wv, wcs, wrs, c, n, h, w, k, s);
        cmp(op, cs, "y", y, yr, ny, RT_TIGHT);
        if (impl) an_dwconv_backward_ref(dx, dwv, dy, x, wv, wcs, wrs, c, n, h, w, k, s);
        else an_dwconv_backward(dx, 1, dwv, dy, x, wv, wcs, wrs, c, n, h, w, k, s);
        cmp_acc(op, cs, "dx", dx, dxr, nx, acc0, RT_TIGHT);
        cmp_acc(op, cs, "dw", dw, dwr, nw, acc0, RT_TIGHT);
        for (size_t i = 0; i < nw; i++) dw[i] = acc0;
        if (impl) an_dwconv_backward_ref(NULL, dwv, dy, x, wv, wcs, wrs, c, n, h, w, k, s);
        else an_dwconv_backward(NULL, 1, dwv, dy, x, wv, wcs, wrs, c, n, h, w, k, s);
        cmp_acc(op, cs, "dw (dx NULL)", dw, dwr, nw, acc0, RT_TIGHT);
        if (!impl) { /* accumulate 0: dx is overwritten, never read */
            for (size_t i = 0; i < nx; i++) dx[i] = FNAN;
            an_dwconv_backward(dx, 0, NULL, dy, x, wv, wcs, wrs, c, n, h, w, k, s);
            cmp(op, cs, "dx (overwrite)", dx, dxr, nx, RT_TIGHT);
        }
    }
    free(y); free(dx); free(dw);
    release_all();
    fx_free(f);
}

/* ------------------------------------------------------------------------------------------- */
/* batch normalisation */

static void test_bn_train(const char *cs)
{
    fx_file *f = load(cs);
    int c_full = fx_int(f, "c_full"), c = fx_int(f, "c"), n = fx_int(f, "n"), h = fx_int(f, "h"), w = fx_int(f, "w");
    float acc0 = fx_float(f, "acc0");
    ptrdiff_t m = (ptrdiff_t)n * h * w;
    size_t nx = (size_t)c * m;
    const float *x = act(f, "x", c, n, h * w), *yr = act(f, "y", c, n, h * w);
    const float *dy = act(f, "dy", c, n, h * w), *dxr = act(f, "dx", c, n, h * w);
    const float *gamma = arr(f, "gamma", c_full), *beta = arr(f, "beta", c_full);
    const float *meanr = arr(f, "mean", c), *rstdr = arr(f, "rstd", c);
    const float *dgr = arr(f, "dgamma", c_full), *dbr = arr(f, "dbeta", c_full);
    float *y = falloc(nx, FNAN), *mean = falloc(c, FNAN), *rstd = falloc(c, FNAN);
    an_bn_train_forward(y, mean, rstd, x, gamma, beta, c, m, AN_BN_EPS);
    cmp("bn_train", cs, "y", y, yr, nx, RT_TIGHT);
    cmp("bn_train", cs, "mean", mean, meanr, c, RT_TIGHT);
    cmp("bn_train", cs, "rstd", rstd, rstdr, c, RT_TIGHT);
    float *dx = falloc(nx, acc0), *dg = falloc(c_full, acc0), *db = falloc(c_full, acc0);
    an_bn_train_backward(dx, 1, dg, db, dy, x, mean, rstd, gamma, c, m);
    cmp_acc("bn_train", cs, "dx", dx, dxr, nx, acc0, RT_TIGHT);
    cmp_acc("bn_train", cs, "dgamma", dg, dgr, c_full, acc0, RT_TIGHT);
    cmp_acc("bn_train", cs, "dbeta", db, dbr, c_full, acc0, RT_TIGHT);
    for (int i = 0; i < c_full; i++) dg[i] = db[i] = acc0;
    an_bn_train_backward(NULL, 0, dg, db, dy, x, mean, rstd, gamma, c, m);
    cmp_acc("bn_train", cs, "dgamma (dx NULL)", dg, dgr, c_full, acc0, RT_TIGHT);
    cmp_acc("bn_train", cs, "dbeta (dx NULL)", db, dbr, c_full, acc0, RT_TIGHT);
    free(y); free(mean); free(rstd); free(dx); free(dg); free(db);
    release_all();
    fx_free(f);
}

static void test_bn_infer(const char *cs)
{
    fx_file *f = load(cs);
    int c_full = fx_int(f, "c_full"), c = fx_int(f, "c"), n = fx_int(f, "n"), h = fx_int(f, "h"), w = fx_int(f, "w");
    ptrdiff_t m = (ptrdiff_t)n * h * w;
    size_t nx = (size_t)c * m;
    const float *x = act(f, "x", c, n, h * w), *yr = act(f, "y", c, n, h * w);
    const float *rm = arr(f, "rmean", c_full), *rv = arr(f, "rvar", c_full);
    const float *gamma = arr(f, "gamma", c_full), *beta = arr(f, "beta", c_full);
    float *y = falloc(nx, FNAN);
    an_bn_infer_forward(y, x, rm, rv, gamma, beta, c, m, AN_BN_EPS);
    cmp("bn_infer", cs, "y", y, yr, nx, RT_TIGHT);
    free(y);
    release_all();
    fx_free(f);
}

static void test_bn_stats(const char *cs)
{
    fx_file *f = load(cs);
    int c = fx_int(f, "c"), n = fx_int(f, "n"), h = fx_int(f, "h"), w = fx_int(f, "w");
    int nb = fx_int(f, "nbatches");
    ptrdiff_t m = (ptrdiff_t)n * h * w;
    double *sm = calloc((size_t)c, sizeof *sm), *sv = calloc((size_t)c, sizeof *sv);
    float *mean = falloc(c, FNAN), *var = falloc(c, FNAN);
    for (int b = 0; b < nb; b++) {
        char nxn[16], nmn[16], nvn[16];
        snprintf(nxn, sizeof nxn, "x%d", b);
        snprintf(nmn, sizeof nmn, "mean%d", b);
        snprintf(nvn, sizeof nvn, "var%d", b);
        const float *x = act(f, nxn, c, n, h * w);
        an_bn_batch_stats(mean, var, x, c, m);
        cmp("bn_stats", cs, nmn, mean, arr(f, nmn, c), c, RT_TIGHT);
        cmp("bn_stats", cs, nvn, var, arr(f, nvn, c), c, RT_TIGHT);
        an_bn_stats_accumulate(sm, sv, x, c, m);
    }
    an_bn_stats_finish(mean, var, sm, sv, c, nb);
    cmp("bn_stats", cs, "rmean (3 batches)", mean, arr(f, "rmean", c), c, RT_TIGHT);
    cmp("bn_stats", cs, "rvar (3 batches)", var, arr(f, "rvar", c), c, RT_TIGHT);
    free(sm); free(sv); free(mean); free(var);
    release_all();
    fx_free(f);
}

/* ------------------------------------------------------------------------------------------- */
/* activations */

typedef void (*act_fwd_fn)(float *, const float *, size_t);
typedef void (*act_bwd_fn)(float *, const float *, const float *, size_t);

static void test_act(const char *cs)
{
    fx_file *f = load(cs);
    int n = fx_int(f, "n");
    float acc0 = fx_float(f, "acc0");
    const float *x = arr(f, "x", n), *dy = arr(f, "dy", n);
    const char *names[3] = {"swish", "relu", "hsig"};
    act_fwd_fn fwd[3] = {an_swish_forward, an_relu_forward, an_hsigmoid_forward};
    act_bwd_fn bwd[3] = {an_swish_backward, an_relu_backward, an_hsigmoid_backward};
    float *y = falloc(n, FNAN), *dx = falloc(n, acc0);
    for (int i = 0; i < 3; i++) {
        char yn[16], dxn[16];
        snprintf(yn, sizeof yn, "y_%s", names[i]);
        snprintf(dxn, sizeof dxn, "dx_%s", names[i]);
        const float *yr = arr(f, yn, n), *dxr = arr(f, dxn, n);
        for (int j = 0; j < n; j++) y[j] = FNAN;
        fwd[i](y, x, n);
        cmp(names[i], cs, "y", y, yr, n, RT_TIGHT);
        memcpy(y, x, n * sizeof *y);
        fwd[i](y, y, n); /* in place, allowed by act.h */
        cmp(names[i], cs, "y (in place)", y, yr, n, RT_TIGHT);
        for (int j = 0; j < n; j++) dx[j] = acc0;
        bwd[i](dx, dy, x, n);
        cmp_acc(names[i], cs, "dx", dx, dxr, n, acc0, RT_TIGHT);
    }
    free(y); free(dx);
    fx_free(f);
}

/* The kink convention of act.h, stated element by element (exact: 0, 1/6 or dy/6). */
static void test_act_kinks_exact(void)
{
    const float xs[4] = {0.0f, -3.0f, 3.0f, -0.0f};
    float dy[4] = {1.0f, 1.0f, 1.0f, 1.0f}, dx[4] = {0, 0, 0, 0};
    an_relu_backward(dx, dy, xs, 4);
    CHECK_MSG(dx[0] == 0.0f && dx[3] == 0.0f, "relu'(0) = %g, relu'(-0) = %g, want 0", dx[0], dx[3]);
    memset(dx, 0, sizeof dx);
    an_hsigmoid_backward(dx, dy, xs, 4);
    CHECK_MSG(dx[1] == 0.0f && dx[2] == 0.0f, "hsigmoid'(-3) = %g, hsigmoid'(3) = %g, want 0", dx[1], dx[2]);
    CHECK_MSG(fabsf(dx[0] - 1.0f / 6.0f) < 1e-7f, "hsigmoid'(0) = %g, want 1/6", dx[0]);
}

/* ------------------------------------------------------------------------------------------- */
/* squeeze-and-excitation */

static void test_se(const char *cs)
{
    fx_file *f = load(cs);
    int c_full = fx_int(f, "c_full"), r_full = fx_int(f, "r_full"), c = fx_int(f, "c"), r = fx_int(f, "r");
    int n = fx_int(f, "n"), h = fx_int(f, "h"), w = fx_int(f, "w");
    float acc0 = fx_float(f, "acc0");
    int hw = h * w;
    size_t nx = (size_t)c * n * hw, nw = (size_t)c_full * r_full;
    const float *x = act(f, "x", c, n, hw), *yr = act(f, "y", c, n, hw);
    const float *dy = act(f, "dy", c, n, hw), *dxr = act(f, "dx", c, n, hw);
    const float *w1 = arr(f, "w1", nw), *b1 = arr(f, "b1", r_full), *w2 = arr(f, "w2", nw), *b2 = arr(f, "b2", c_full);
    const float *dw1r = arr(f, "dw1", nw), *db1r = arr(f, "db1", r_full);
    const float *dw2r = arr(f, "dw2", nw), *db2r = arr(f, "db2", c_full);
    size_t ncache = an_se_cache_size(c, r, n);
    float *cache = falloc(ncache, FNAN), *y = falloc(nx, FNAN);
    an_se_forward(y, cache, x, w1, c_full, b1, w2, r_full, b2, c, r, n, hw);
    cmp("se", cs, "y", y, yr, nx, RT_TIGHT);
    float *dx = falloc(nx, acc0), *dw1 = falloc(nw, acc0), *db1 = falloc(r_full, acc0);
    float *dw2 = falloc(nw, acc0), *db2 = falloc(c_full, acc0);
    an_se_backward(dx, 1, dw1, db1, dw2, db2, dy, x, cache, w1, c_full, w2, r_full, c, r, n, hw);
    cmp_acc("se", cs, "dx", dx, dxr, nx, acc0, RT_TIGHT);
    cmp_acc("se", cs, "dw1", dw1, dw1r, nw, acc0, RT_TIGHT);
    cmp_acc("se", cs, "db1", db1, db1r, r_full, acc0, RT_TIGHT);
    cmp_acc("se", cs, "dw2", dw2, dw2r, nw, acc0, RT_TIGHT);
    cmp_acc("se", cs, "db2", db2, db2r, c_full, acc0, RT_TIGHT);
    for (size_t i = 0; i < nw; i++) dw1[i] = dw2[i] = acc0;
    for (int i = 0; i < r_full; i++) db1[i] = acc0;
    for (int i = 0; i < c_full; i++) db2[i] = acc0;
    an_se_backward(NULL, 0, dw1, db1, dw2, db2, dy, x, cache, w1, c_full, w2, r_full, c, r, n, hw);
    cmp_acc("se", cs, "dw1 (dx NULL)", dw1, dw1r, nw, acc0, RT_TIGHT);
    cmp_acc("se", cs, "db2 (dx NULL)", db2, db2r, c_full, acc0, RT_TIGHT);
    /* overwrite: what dx held (NaN) does not matter */
    for (size_t i = 0; i < nx; i++) dx[i] = NAN;
    an_se_backward(dx, 0, dw1, db1, dw2, db2, dy, x, cache, w1, c_full, w2, r_full, c, r, n, hw);
    cmp("se", cs, "dx (overwrite)", dx, dxr, nx, RT_TIGHT);
    free(cache); free(y); free(dx); free(dw1); free(db1); free(dw2); free(db2);
    release_all();
    fx_free(f);
}

/* ------------------------------------------------------------------------------------------- */
/* pooling */

static void test_avgpool(const char *cs)
{
    fx_file *f = load(cs);
    int c = fx_int(f, "c"), n = fx_int(f, "n"), h = fx_int(f, "h"), w = fx_int(f, "w"), pad = fx_int(f, "pad");
    int ho = fx_int(f, "ho"), wo = fx_int(f, "wo");
    float acc0 = fx_float(f, "acc0");
    CHECK(ho == an_avgpool2_out(h, pad) && wo == an_avgpool2_out(w, pad));
    size_t nx = (size_t)c * n * h * w, ny = (size_t)c * n * ho * wo;
    const float *x = act(f, "x", c, n, h * w), *yr = act(f, "y", c, n, ho * wo);
    const float *dy = act(f, "dy", c, n, ho * wo), *dxr = act(f, "dx", c, n, h * w);
    float *y = falloc(ny, FNAN), *dx = falloc(nx, acc0);
    an_avgpool2_forward(y, x, c, n, h, w, pad);
    cmp("avgpool2", cs, "y", y, yr, ny, RT_TIGHT);
    an_avgpool2_backward(dx, dy, c, n, h, w, pad);
    cmp_acc("avgpool2", cs, "dx", dx, dxr, nx, acc0, RT_TIGHT);
    free(y); free(dx);
    release_all();
    fx_free(f);
}

static void test_gap(const char *cs)
{
    fx_file *f = load(cs);
    int c = fx_int(f, "c"), n = fx_int(f, "n"), h = fx_int(f, "h"), w = fx_int(f, "w");
    float acc0 = fx_float(f, "acc0");
    size_t ncn = (size_t)c * n, nx = ncn * h * w;
    const float *x = act(f, "x", c, n, h * w), *dxr = act(f, "dx", c, n, h * w);
    const float *yr = arr(f, "y", ncn), *dy = arr(f, "dy", ncn); /* [c][n] */
    float *y = falloc(ncn, FNAN), *dx = falloc(nx, acc0);
    an_gap_forward(y, x, c, n, h * w);
    cmp("gap", cs, "y", y, yr, ncn, RT_TIGHT);
    an_gap_backward(dx, dy, c, n, h * w);
    cmp_acc("gap", cs, "dx", dx, dxr, nx, acc0, RT_TIGHT);
    free(y); free(dx);
    release_all();
    fx_free(f);
}

/* ------------------------------------------------------------------------------------------- */
/* linear */

static void test_linear(const char *cs)
{
    fx_file *f = load(cs);
    int out_full = fx_int(f, "out_full"), in_full = fx_int(f, "in_full"), out = fx_int(f, "out");
    int in = fx_int(f, "inn"), n = fx_int(f, "n"), bias = fx_int(f, "bias");
    float acc0 = fx_float(f, "acc0");
    size_t nx = (size_t)in * n, ny = (size_t)n * out, nw = (size_t)out_full * in_full;
    const float *x = arr(f, "x", nx), *wt = arr(f, "wt", nw), *b = arr(f, "b", out_full);
    const float *yr = arr(f, "y", ny), *dy = arr(f, "dy", ny), *dxr = arr(f, "dx", nx);
    const float *dwr = arr(f, "dw", nw), *dbr = arr(f, "db", out_full);
    float *y = falloc(ny, FNAN), *dx = falloc(nx, acc0), *dw = falloc(nw, acc0), *db = falloc(out_full, acc0);
    an_linear_forward(y, x, wt, in_full, bias ? b : NULL, in, out, n);
    cmp("linear", cs, "y", y, yr, ny, RT_TIGHT);
    an_linear_backward(dx, dw, bias ? db : NULL, dy, x, wt, in_full, in, out, n);
    cmp_acc("linear", cs, "dx", dx, dxr, nx, acc0, RT_TIGHT);
    cmp_acc("linear", cs, "dw", dw, dwr, nw, acc0, RT_TIGHT);
    cmp_acc("linear", cs, "db", db, dbr, out_full, acc0, RT_TIGHT); /* no bias: db untouched, dbr = 0 */
    for (size_t i = 0; i < nw; i++) dw[i] = acc0;
    an_linear_backward(NULL, dw, NULL, dy, x, wt, in_full, in, out, n);
    cmp_acc("linear", cs, "dw (dx, db NULL)", dw, dwr, nw, acc0, RT_TIGHT);
    free(y); free(dx); free(dw); free(db);
    fx_free(f);
}

/* ------------------------------------------------------------------------------------------- */
/* dropout, drop-connect, Bernoulli masks */

static void test_dropout(const char *cs)
{
    fx_file *f = load(cs);
    int n = fx_int(f, "n");
    float p = fx_float(f, "p"), acc0 = fx_float(f, "acc0");
    size_t nm;
    const uint8_t *mask = fx_u8(f, "mask", &nm);
    CHECK(nm == (size_t)n);
    const float *x = arr(f, "x", n), *yr = arr(f, "y", n), *dy = arr(f, "dy", n), *dxr = arr(f, "dx", n);
    float *y = falloc(n, FNAN), *dx = falloc(n, acc0);
    an_dropout_forward(y, x, mask, n, p);
    cmp("dropout", cs, "y", y, yr, n, RT_TIGHT);
    an_dropout_backward(dx, dy, mask, n, p);
    cmp_acc("dropout", cs, "dx", dx, dxr, n, acc0, RT_TIGHT);
    free(y); free(dx);
    fx_free(f);
}

static void test_drop_connect(const char *cs)
{
    fx_file *f = load(cs);
    int c = fx_int(f, "c"), n = fx_int(f, "n"), hw = fx_int(f, "h") * fx_int(f, "w");
    float keep = fx_float(f, "keep"), acc0 = fx_float(f, "acc0");
    size_t nm, nx = (size_t)c * n * hw;
    const uint8_t *mask = fx_u8(f, "mask", &nm);
    CHECK(nm == (size_t)n);
    const float *x = act(f, "x", c, n, hw), *yr = act(f, "y", c, n, hw);
    const float *dy = act(f, "dy", c, n, hw), *dxr = act(f, "dx", c, n, hw);
    float *y = falloc(nx, FNAN), *dx = falloc(nx, acc0);
    an_drop_connect_forward(y, x, mask, c, n, hw, keep);
    cmp("drop_connect", cs, "y", y, yr, nx, RT_TIGHT);
    an_drop_connect_backward(dx, dy, mask, c, n, hw, keep);
    cmp_acc("drop_connect", cs, "dx", dx, dxr, nx, acc0, RT_TIGHT);
    free(y); free(dx);
    release_all();
    fx_free(f);
}

static void test_bernoulli(void)
{
    const size_t N = 1000000;
    uint8_t *a = malloc(N), *b = malloc(N), *pre = malloc(1000);
    const float keeps[2] = {0.8f, 0.9f};
    for (int t = 0; t < 2; t++) {
        float keep = keeps[t];
        an_bernoulli_mask(a, N, keep, 1234, 7);
        size_t ones = 0, pairs = 0, bad = 0;
        for (size_t i = 0; i < N; i++) {
            ones += a[i];
            bad += a[i] > 1;
            if (i + 1 < N) pairs += a[i] & a[i + 1];
        }
        double frac = (double)ones / N, p11 = (double)pairs / (N - 1);
        CHECK_MSG(bad == 0, "keep %g: %zu mask values not in {0,1}", keep, bad);
        /* 0.2 % of keep is >= 4 standard deviations of the fraction for these keeps */
        CHECK_MSG(fabs(frac - keep) <= 0.002 * keep, "keep %g: fraction of ones %.6f", keep, frac);
        /* neighbouring elements independent: P(1, 1) = keep^2 within ~4 sd */
        CHECK_MSG(fabs(p11 - (double)keep * keep) <= 0.002, "keep %g: P(mask[i] = mask[i+1] = 1) = %.6f", keep, p11);
        an_bernoulli_mask(b, N, keep, 1234, 7);
        CHECK_MSG(memcmp(a, b, N) == 0, "keep %g: same seed and stream gave a different mask", keep);
        an_bernoulli_mask(pre, 1000, keep, 1234, 7);
        CHECK_MSG(memcmp(a, pre, 1000) == 0, "keep %g: mask is not a function of the element index", keep);
        size_t diff = 0;
        an_bernoulli_mask(b, N, keep, 1234, 8);
        for (size_t i = 0; i < N; i++) diff += a[i] != b[i];
        double expect = 2.0 * keep * (1.0 - keep) * N;
        CHECK_MSG(fabs(diff - expect) < 0.05 * expect, "keep %g: other stream differs in %zu places, expected ~%.0f",
                  keep, diff, expect);
        diff = 0;
        an_bernoulli_mask(b, N, keep, 1235, 7);
        for (size_t i = 0; i < N; i++) diff += a[i] != b[i];
        CHECK_MSG(fabs(diff - expect) < 0.05 * expect, "keep %g: other seed differs in %zu places, expected ~%.0f",
                  keep, diff, expect);
    }
    /* P(mask = 1) = keep at the ends: keep 1 keeps everything, keep 0 nothing. */
    size_t ones = 0;
    an_bernoulli_mask(a, N, 1.0f, 99, 0);
    for (size_t i = 0; i < N; i++) ones += a[i] == 1;
    CHECK_MSG(ones == N, "keep 1: %zu of %zu ones", ones, N);
    ones = 0;
    an_bernoulli_mask(a, N, 0.0f, 99, 0);
    for (size_t i = 0; i < N; i++) ones += a[i] != 0;
    CHECK_MSG(ones == 0, "keep 0: %zu nonzero", ones);
    free(a); free(b); free(pre);
}

/* ------------------------------------------------------------------------------------------- */
/* resize */

static void test_resize(const char *cs, int bicubic)
{
    fx_file *f = load(cs);
    int c = fx_int(f, "c"), n = fx_int(f, "n"), hin = fx_int(f, "hin"), win = fx_int(f, "win");
    int hout = fx_int(f, "hout"), wout = fx_int(f, "wout");
    float acc0 = fx_float(f, "acc0");
    size_t nx = (size_t)c * n * hin * win, ny = (size_t)c * n * hout * wout;
    const float *x = act(f, "x", c, n, hin * win), *yr = act(f, "y", c, n, hout * wout);
    const float *dy = act(f, "dy", c, n, hout * wout), *dxr = act(f, "dx", c, n, hin * win);
    float *y = falloc(ny, FNAN), *dx = falloc(nx, acc0);
    const char *op = bicubic ? "bicubic" : "bilinear";
    if (bicubic) an_resize_bicubic_forward(y, x, c, n, hin, win, hout, wout);
    else an_resize_bilinear_forward(y, x, c, n, hin, win, hout, wout);
    cmp(op, cs, "y", y, yr, ny, RT_TIGHT);
    if (bicubic) an_resize_bicubic_backward(dx, dy, c, n, hin, win, hout, wout);
    else an_resize_bilinear_backward(dx, dy, c, n, hin, win, hout, wout);
    cmp_acc(op, cs, "dx", dx, dxr, nx, acc0, RT_TIGHT);
    free(y); free(dx);
    release_all();
    fx_free(f);
}

/* ------------------------------------------------------------------------------------------- */
/* softmax, log-softmax, cross-entropy */

static void test_softmax(const char *cs)
{
    fx_file *f = load(cs);
    int n = fx_int(f, "n"), k = fx_int(f, "k");
    float acc0 = fx_float(f, "acc0");
    size_t nz = (size_t)n * k;
    const float *z = arr(f, "z", nz), *pr = arr(f, "p", nz), *dp = arr(f, "dp", nz), *dzpr = arr(f, "dz_softmax", nz);
    const float *lpr = arr(f, "lp", nz), *dlp = arr(f, "dlp", nz), *dzlr = arr(f, "dz_log_softmax", nz);
    float *p = falloc(nz, FNAN), *dz = falloc(nz, acc0);
    an_softmax_forward(p, z, n, k);
    CHECK_MSG(all_finite(p, nz), "%s: softmax not finite", cs);
    cmp("softmax", cs, "p", p, pr, nz, RT_TIGHT);
    an_softmax_backward(dz, dp, p, n, k);
    CHECK_MSG(all_finite(dz, nz), "%s: softmax backward not finite", cs);
    cmp_acc("softmax", cs, "dz", dz, dzpr, nz, acc0, RT_TIGHT);
    for (size_t i = 0; i < nz; i++) { p[i] = FNAN; dz[i] = acc0; }
    an_log_softmax_forward(p, z, n, k);
    CHECK_MSG(all_finite(p, nz), "%s: log-softmax not finite", cs);
    cmp("log_softmax", cs, "lp", p, lpr, nz, RT_TIGHT);
    an_log_softmax_backward(dz, dlp, p, n, k);
    CHECK_MSG(all_finite(dz, nz), "%s: log-softmax backward not finite", cs);
    cmp_acc("log_softmax", cs, "dz", dz, dzlr, nz, acc0, RT_TIGHT);
    free(p); free(dz);
    fx_free(f);
}

static void test_ce(const char *cs)
{
    fx_file *f = load(cs);
    int n = fx_int(f, "n"), k = fx_int(f, "k");
    float eps = fx_float(f, "eps"), scale = fx_float(f, "scale"), acc0 = fx_float(f, "acc0");
    size_t nz = (size_t)n * k, nl;
    const float *z = arr(f, "z", nz), *dzr = arr(f, "dz", nz);
    const int32_t *lab32 = fx_i32(f, "labels", &nl);
    CHECK(nl == (size_t)n);
    int *labels = malloc((size_t)n * sizeof *labels);
    for (int i = 0; i < n; i++) labels[i] = (int)lab32[i];
    float loss_ref = fx_float(f, "loss");
    float *dz = falloc(nz, acc0);
    float loss = an_cross_entropy_ls(dz, z, labels, n, k, eps, scale);
    record("cross_entropy", fabs((double)loss - loss_ref) / fabs((double)loss_ref));
    char label[96];
    snprintf(label, sizeof label, "cross_entropy [%s] loss", cs);
    CHECK_REL(label, loss, loss_ref, RT_TIGHT, 1e-6);
    CHECK_MSG(all_finite(dz, nz), "%s: cross-entropy dz not finite", cs);
    cmp_acc("cross_entropy", cs, "dz", dz, dzr, nz, acc0, RT_TIGHT);
    float loss2 = an_cross_entropy_ls(NULL, z, labels, n, k, eps, scale);
    CHECK_MSG(loss2 == loss, "%s: loss with dz NULL %.9g differs from %.9g", cs, loss2, loss);
    free(labels); free(dz);
    fx_free(f);
}

/* ------------------------------------------------------------------------------------------- */

int main(void)
{
    static const char *gemm[] = {"gemm_at_bslice", "gemm_bt_ccol", "gemm_matvec"};
    static const char *conv[] = {"conv1x1_a", "conv1x1_n1", "conv2d_k3s1", "conv2d_k3s2_stem",
                                 "conv2d_k3s2_cin1", "conv2d_k5s2", "conv2d_k1s2", "conv2d_k3s2_n17",
                                 "conv1x1_n17"};
    static const char *dw[] = {"dw_k3s1_crop5", "dw_k3s2_n1", "dw_k5s1_crop7", "dw_k5s2",
                               "dw_k7s2_n1", "dw_k7s1_small", "dw_k3s2_crop7", "dw_k3s1_crop5_n9",
                               "dw_k5s2_crop7_n19", "dw_k7s1_n8", "dw_k5s1_n61_w14", "dw_k3s2_crop5_n24_w17",
                               "dw_k7s2_n16_w13"};
    static const char *bn[] = {"bn_train_a", "bn_train_n1", "bn_train_offset", "bn_train_n17"};
    static const char *act[] = {"act_smooth", "act_kinks"};
    static const char *se[] = {"se_a", "se_n1", "se_n17"};
    static const char *pool[] = {"avgpool_p0_even", "avgpool_p1_odd", "avgpool_p1_n1", "avgpool_p0_odd",
                                 "avgpool_p1_n19"};
    static const char *lin[] = {"linear_a", "linear_n1", "linear_nobias"};
    static const char *rs[] = {"28to20", "28to24", "20to28", "7x9to5x11", "5x7to9x4_n17"};
    static const char *ce[] = {"ce_ls01", "ce_ls0_half"};
#define EACH(list, fn) for (size_t i_ = 0; i_ < sizeof list / sizeof list[0]; i_++) fn(list[i_])
    EACH(gemm, test_gemm);
    EACH(conv, test_conv);
    EACH(dw, test_dwconv);
    EACH(bn, test_bn_train);
    test_bn_infer("bn_infer");
    test_bn_stats("bn_stats");
    EACH(act, test_act);
    test_act_kinks_exact();
    EACH(se, test_se);
    EACH(pool, test_avgpool);
    test_gap("gap");
    test_gap("gap_n17");
    EACH(lin, test_linear);
    test_dropout("dropout");
    test_drop_connect("drop_connect");
    test_drop_connect("drop_connect_n19");
    test_bernoulli();
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
        char cs[64];
        snprintf(cs, sizeof cs, "bicubic_%s", rs[i]);
        test_resize(cs, 1);
        snprintf(cs, sizeof cs, "bilinear_%s", rs[i]);
        test_resize(cs, 0);
    }
    test_softmax("softmax");
    EACH(ce, test_ce);
#undef EACH

    printf("worst relative error per op (|got - ref|max / |ref|max):\n");
    for (int i = 0; i < g_nstats; i++)
        printf("  %-14s %9.2e  (%d arrays)\n", g_stats[i].op, g_stats[i].worst, g_stats[i].checks);
    return TEST_SUMMARY();
}

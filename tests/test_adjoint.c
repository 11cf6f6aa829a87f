/* test_adjoint.c - for every linear map F among the kernels, the backward must be its exact
 * adjoint: <u, F v> = <F^T u, v> for random u, v (inner products in double). This checks the
 * backward of conv, im2col/col2im, depthwise conv, pooling, resize, linear, dropout and
 * drop-connect independently of finite differences, with a tight tolerance. */
#include <stdlib.h>
#include <string.h>

#include "alphanet/kernels/conv.h"
#include "alphanet/kernels/dropout.h"
#include "alphanet/kernels/dwconv.h"
#include "alphanet/kernels/layout.h"
#include "alphanet/kernels/linear.h"
#include "alphanet/kernels/pool.h"
#include "alphanet/kernels/resize.h"
#include "test.h"

static float *fa(size_t n) { float *p = calloc(n ? n : 1, sizeof(float)); if (!p) abort(); return p; }

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* fwd(out, in), adj(in_grad (+=), out_grad) on sizes nin -> nout */
typedef struct {
    const char *name;
    size_t nin, nout;
    void (*fwd)(const void *ctx, float *y, const float *x);
    void (*adj)(const void *ctx, float *dx, const float *dy);
    const void *ctx;
} linmap;

static void adjoint(const linmap *m, unsigned seed)
{
    float *v = fa(m->nin), *u = fa(m->nout), *fv = fa(m->nout), *ftu = fa(m->nin);
    t_fill(v, m->nin, seed, -1, 1);
    t_fill(u, m->nout, seed + 1, -1, 1);
    m->fwd(m->ctx, fv, v);
    m->adj(m->ctx, ftu, u);
    double lhs = dot(u, fv, m->nout), rhs = dot(ftu, v, m->nin);
    double scale = sqrt(dot(u, u, m->nout) * dot(fv, fv, m->nout)) + 1e-30;
    CHECK_REL(m->name, lhs, rhs, 1e-5, scale);
    /* and the map is not trivially zero */
    CHECK_MSG(dot(fv, fv, m->nout) > 0.0, "%s: F v is zero", m->name);
    free(v); free(u); free(fv); free(ftu);
}

/* ---- contexts ---- */
typedef struct { int cout, cin, n, h, w, k, s, ldw; const float *wt; float *col; } conv_ctx;
static void conv_f(const void *c, float *y, const float *x)
{
    const conv_ctx *q = c;
    an_conv2d_forward(y, x, q->wt, q->ldw, q->cout, q->cin, q->n, q->h, q->w, q->k, q->s, q->col);
}
static void conv_a(const void *c, float *dx, const float *dy)
{
    const conv_ctx *q = c;
    an_conv2d_backward(dx, NULL, dy, NULL, q->wt, q->ldw, q->cout, q->cin, q->n, q->h, q->w, q->k, q->s, q->col);
}
/* the weight as the variable: y = F_x(w) */
typedef struct { int cout, cin, n, h, w, k, s, ldw; const float *x; float *col; } convw_ctx;
static void convw_f(const void *c, float *y, const float *wt)
{
    const convw_ctx *q = c;
    an_conv2d_forward(y, q->x, wt, q->ldw, q->cout, q->cin, q->n, q->h, q->w, q->k, q->s, q->col);
}
static void convw_a(const void *c, float *dw, const float *dy)
{
    const convw_ctx *q = c;
    an_conv2d_backward(NULL, dw, dy, q->x, NULL, q->ldw, q->cout, q->cin, q->n, q->h, q->w, q->k, q->s, q->col);
}
typedef struct { int cin, n, h, w, k, s; } i2c_ctx;
static void i2c_f(const void *c, float *y, const float *x)
{
    const i2c_ctx *q = c;
    an_im2col(y, x, q->cin, q->n, q->h, q->w, q->k, q->s);
}
static void i2c_a(const void *c, float *dx, const float *dy)
{
    const i2c_ctx *q = c;
    an_col2im(dx, dy, q->cin, q->n, q->h, q->w, q->k, q->s);
}
typedef struct { int c, n, h, w, k, s, K; const float *wt; } dw_ctx;
static void dw_f(const void *c, float *y, const float *x)
{
    const dw_ctx *q = c;
    an_dwconv_forward(y, x, an_dwconv_view(q->wt, q->K, q->k), q->K * q->K, q->K, q->c, q->n, q->h, q->w, q->k, q->s);
}
static void dw_a(const void *c, float *dx, const float *dy)
{
    const dw_ctx *q = c;
    an_dwconv_backward(dx, 1, NULL, dy, NULL, an_dwconv_view(q->wt, q->K, q->k), q->K * q->K, q->K, q->c, q->n, q->h, q->w,
                       q->k, q->s);
}
typedef struct { int c, n, h, w, pad; } pool_ctx;
static void ap_f(const void *c, float *y, const float *x) { const pool_ctx *q = c; an_avgpool2_forward(y, x, q->c, q->n, q->h, q->w, q->pad); }
static void ap_a(const void *c, float *dx, const float *dy) { const pool_ctx *q = c; an_avgpool2_backward(dx, dy, q->c, q->n, q->h, q->w, q->pad); }
static void gap_f(const void *c, float *y, const float *x) { const pool_ctx *q = c; an_gap_forward(y, x, q->c, q->n, q->h * q->w); }
static void gap_a(const void *c, float *dx, const float *dy) { const pool_ctx *q = c; an_gap_backward(dx, dy, q->c, q->n, q->h * q->w); }
typedef struct { int c, n, hin, win, hout, wout; } rs_ctx;
static void bc_f(const void *c, float *y, const float *x) { const rs_ctx *q = c; an_resize_bicubic_forward(y, x, q->c, q->n, q->hin, q->win, q->hout, q->wout); }
static void bc_a(const void *c, float *dx, const float *dy) { const rs_ctx *q = c; an_resize_bicubic_backward(dx, dy, q->c, q->n, q->hin, q->win, q->hout, q->wout); }
static void bl_f(const void *c, float *y, const float *x) { const rs_ctx *q = c; an_resize_bilinear_forward(y, x, q->c, q->n, q->hin, q->win, q->hout, q->wout); }
static void bl_a(const void *c, float *dx, const float *dy) { const rs_ctx *q = c; an_resize_bilinear_backward(dx, dy, q->c, q->n, q->hin, q->win, q->hout, q->wout); }
typedef struct { int in, out, n, ldw; const float *wt; } lin_ctx;
static void lin_f(const void *c, float *y, const float *x) { const lin_ctx *q = c; an_linear_forward(y, x, q->wt, q->ldw, NULL, q->in, q->out, q->n); }
static void lin_a(const void *c, float *dx, const float *dy) { const lin_ctx *q = c; an_linear_backward(dx, NULL, NULL, dy, NULL, q->wt, q->ldw, q->in, q->out, q->n); }
typedef struct { int c, n, hw; float p; const uint8_t *mask; } drop_ctx;
static void do_f(const void *c, float *y, const float *x) { const drop_ctx *q = c; an_dropout_forward(y, x, q->mask, (size_t)q->c * q->n * q->hw, q->p); }
static void do_a(const void *c, float *dx, const float *dy) { const drop_ctx *q = c; an_dropout_backward(dx, dy, q->mask, (size_t)q->c * q->n * q->hw, q->p); }
static void dc_f(const void *c, float *y, const float *x) { const drop_ctx *q = c; an_drop_connect_forward(y, x, q->mask, q->c, q->n, q->hw, q->p); }
static void dc_a(const void *c, float *dx, const float *dy) { const drop_ctx *q = c; an_drop_connect_backward(dx, dy, q->mask, q->c, q->n, q->hw, q->p); }

int main(void)
{
    unsigned seed = 100;
    /* convolutions, with sliced weights */
    const int convs[][7] = {{6, 3, 2, 9, 7, 3, 2}, {5, 1, 1, 8, 8, 3, 1}, {4, 3, 2, 7, 5, 5, 2}, {7, 5, 3, 5, 5, 1, 1},
                            {4, 3, 2, 7, 7, 1, 2}};
    for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) {
        const int *p = convs[i];
        const int ldw = (p[1] + 1) * p[5] * p[5];
        float *wt = fa((size_t)(p[0] + 2) * ldw), *x = fa((size_t)p[1] * p[2] * p[3] * p[4]);
        t_fill(wt, (size_t)(p[0] + 2) * ldw, seed++, -1, 1);
        t_fill(x, (size_t)p[1] * p[2] * p[3] * p[4], seed++, -1, 1);
        float *col = fa(an_conv2d_col_size(p[1], p[2], p[3], p[4], p[5], p[6]));
        const size_t nout = (size_t)p[0] * p[2] * an_conv_out(p[3], p[5], p[6]) * an_conv_out(p[4], p[5], p[6]);
        conv_ctx cx = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], ldw, wt, col};
        linmap m = {"conv2d (x)", (size_t)p[1] * p[2] * p[3] * p[4], nout, conv_f, conv_a, &cx};
        adjoint(&m, seed++);
        convw_ctx cw = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], ldw, x, col};
        linmap mw = {"conv2d (w)", (size_t)(p[0] + 2) * ldw, nout, convw_f, convw_a, &cw};
        adjoint(&mw, seed++);
        i2c_ctx ic = {p[1], p[2], p[3], p[4], p[5], p[6]};
        linmap mi = {"im2col", (size_t)p[1] * p[2] * p[3] * p[4], an_conv2d_col_size(p[1], p[2], p[3], p[4], p[5], p[6]),
                     i2c_f, i2c_a, &ic};
        adjoint(&mi, seed++);
        free(wt); free(x); free(col);
    }
    /* depthwise, including centre crops */
    const int dws[][7] = {{5, 2, 9, 9, 3, 1, 3}, {5, 2, 9, 7, 3, 2, 5}, {4, 1, 7, 7, 5, 2, 7}, {3, 2, 6, 8, 7, 1, 7}};
    for (size_t i = 0; i < sizeof dws / sizeof dws[0]; i++) {
        const int *p = dws[i];
        float *wt = fa((size_t)p[0] * p[6] * p[6]);
        t_fill(wt, (size_t)p[0] * p[6] * p[6], seed++, -1, 1);
        dw_ctx c = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], wt};
        linmap m = {"dwconv", (size_t)p[0] * p[1] * p[2] * p[3],
                    (size_t)p[0] * p[1] * an_conv_out(p[2], p[4], p[5]) * an_conv_out(p[3], p[4], p[5]), dw_f, dw_a, &c};
        adjoint(&m, seed++);
        free(wt);
    }
    /* pooling */
    const int pools[][5] = {{3, 2, 8, 8, 0}, {2, 3, 7, 7, 1}, {3, 1, 5, 9, 1}, {2, 1, 1, 1, 1}};
    for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++) {
        pool_ctx c = {pools[i][0], pools[i][1], pools[i][2], pools[i][3], pools[i][4]};
        const size_t planes = (size_t)c.c * c.n;
        linmap m = {"avgpool2", planes * c.h * c.w,
                    planes * an_avgpool2_out(c.h, c.pad) * an_avgpool2_out(c.w, c.pad), ap_f, ap_a, &c};
        adjoint(&m, seed++);
        linmap g = {"gap", planes * c.h * c.w, planes, gap_f, gap_a, &c};
        adjoint(&g, seed++);
    }
    /* resize, down and up, square and not */
    const int rss[][4] = {{28, 28, 20, 20}, {28, 28, 24, 24}, {20, 20, 28, 28}, {7, 9, 5, 11}, {224, 224, 192, 192}};
    for (size_t i = 0; i < sizeof rss / sizeof rss[0]; i++) {
        rs_ctx c = {2, 3, rss[i][0], rss[i][1], rss[i][2], rss[i][3]};
        linmap m = {"bicubic", (size_t)6 * c.hin * c.win, (size_t)6 * c.hout * c.wout, bc_f, bc_a, &c};
        adjoint(&m, seed++);
        linmap b = {"bilinear", (size_t)6 * c.hin * c.win, (size_t)6 * c.hout * c.wout, bl_f, bl_a, &c};
        adjoint(&b, seed++);
    }
    /* linear, sliced */
    {
        float *wt = fa((size_t)12 * 20);
        t_fill(wt, 240, seed++, -1, 1);
        lin_ctx c = {17, 10, 5, 20, wt};
        linmap m = {"linear", (size_t)17 * 5, (size_t)5 * 10, lin_f, lin_a, &c};
        adjoint(&m, seed++);
        free(wt);
    }
    /* dropout and drop-connect with fixed masks */
    {
        uint8_t mask[6 * 5 * 9];
        an_bernoulli_mask(mask, sizeof mask, 0.7f, 3, 0);
        drop_ctx c = {6, 5, 9, 0.3f, mask};
        linmap m = {"dropout", sizeof mask, sizeof mask, do_f, do_a, &c};
        adjoint(&m, seed++);
        uint8_t smask[5] = {1, 0, 1, 1, 0};
        drop_ctx d = {6, 5, 9, 0.8f, smask};
        linmap md = {"drop_connect", sizeof mask, sizeof mask, dc_f, dc_a, &d};
        adjoint(&md, seed++);
    }
    return TEST_SUMMARY();
}

/* subnet.c - forward and backward of one subnet on sliced supernet weights (see subnet.h).
 *
 * Data flow of one MBConv block (CHWN tensors, m = H*W*N floats per channel):
 *   x -> [expand 1x1 -> BN -> swish] -> depthwise kxk/s -> BN -> swish -> [SE] -> project 1x1 -> BN
 *     -> [drop-connect] -> + shortcut(x) -> out
 *   shortcut(x) = x (same width, stride 1) | [avgpool 2x2 (pad = odd size)] -> [1x1 conv]
 * Every intermediate the backward needs is kept on the tape (an arena of float buffers), except
 * in training the expansion's activation swish(BN(expand)): the expansion BN, the depthwise and
 * its BN run as one chain per channel (kernels/dwbn.h), which computes it again in the backward;
 * and, in blocks without squeeze-excite, the depthwise's activation d_act, which lives in the
 * backward's arena only until the projection has read it: the chain's backward writes it again
 * (on the way, as it computes its sigmoids anyway; in a pass of its own for kernels over 7), and
 * the projection's weight gradient follows the chain.
 * Inference and BN calibration run the same chain, writing only its output, and keep no tape:
 * each block's intermediates are released when the block ends.
 * The backward walks the blocks in reverse with a second, stack-like arena for gradients of
 * activations, released block by block.
 */
#include "alphanet/nn/subnet.h"

#include <stdlib.h>
#include <string.h>

#include "alphanet/kernels/act.h"
#include "alphanet/kernels/bn.h"
#include "alphanet/kernels/conv.h"
#include "alphanet/kernels/dropout.h"
#include "alphanet/kernels/dwbn.h"
#include "alphanet/kernels/dwconv.h"
#include "alphanet/kernels/layout.h"
#include "alphanet/kernels/linear.h"
#include "alphanet/kernels/pool.h"
#include "alphanet/kernels/resize.h"
#include "alphanet/kernels/se.h"
#include "alphanet/prof.h"
#include "alphanet/rng.h"

/* ------------------------------------------------------------------ arena */

typedef struct {
    char *base;
    size_t cap, used, touched; /* touched: the most ever used since the chunk was given back */
} chunk;

typedef struct {
    chunk c[32];
    int n;
    int failed;
    size_t cur;  /* bytes handed out since the last reset (minus released ones) */
    size_t peak; /* high-water mark of cur over all passes */
} arena;

static size_t arena_total(const arena *a);
static size_t arena_used(const arena *a);

/* Gives back the pages of chunk c from `from` up to where it was ever used. */
static void chunk_drop(chunk *c, size_t from)
{
    if (c->touched > from) an_release_pages(c->base + from, c->touched - from);
    c->touched = from;
}

static void *arena_raw(arena *a, size_t bytes)
{
    bytes = (bytes + 63) / 64 * 64;
    a->cur += bytes;
    if (a->cur > a->peak) a->peak = a->cur;
    if (a->n > 0) {
        chunk *c = &a->c[a->n - 1];
        if (c->used + bytes <= c->cap) {
            void *p = c->base + c->used;
            c->used += bytes;
            if (c->used > c->touched) c->touched = c->used;
            return p;
        }
    }
    if (a->n == 32) {
        a->failed = 1;
        return NULL;
    }
    /* geometric growth keeps the number of chunks logarithmic in the need */
    size_t cap = arena_total(a);
    if (cap < ((size_t)8 << 20)) cap = (size_t)8 << 20;
    if (cap < bytes) cap = bytes;
    char *p = an_alloc(cap);
    if (!p) {
        a->failed = 1;
        return NULL;
    }
    if (a->n > 0) chunk_drop(&a->c[a->n - 1], a->c[a->n - 1].used); /* its free end is dead now */
    a->c[a->n++] = (chunk){p, cap, bytes, bytes};
    return p;
}

static float *arena_f(arena *a, size_t floats) { return arena_raw(a, floats * sizeof(float)); }

static float *arena_zero(arena *a, size_t floats)
{
    float *p = arena_f(a, floats);
    if (p) an_zero(p, floats);
    return p;
}

static size_t arena_total(const arena *a)
{
    size_t t = 0;
    for (int i = 0; i < a->n; i++) t += a->c[i].cap;
    return t;
}

static size_t arena_used(const arena *a)
{
    size_t t = 0;
    for (int i = 0; i < a->n; i++) t += a->c[i].used;
    return t;
}

/* When the last pass needed several chunks, replaces them by one chunk of the largest need seen,
 * so later passes of up to that size allocate nothing. */
static void arena_reset(arena *a)
{
    a->cur = 0;
    if (a->n > 1) {
        for (int i = 0; i < a->n; i++) an_free(a->c[i].base);
        a->n = 0;
        char *p = an_alloc(a->peak);
        if (p) a->c[a->n++] = (chunk){p, a->peak, 0, 0};
    } else if (a->n == 1) {
        a->c[0].used = 0;
    }
    a->failed = 0;
}

typedef struct {
    int n;
    size_t used;
} arena_mark;

static arena_mark arena_get_mark(const arena *a) { return (arena_mark){a->n, a->n ? a->c[a->n - 1].used : 0}; }

static void arena_release(arena *a, arena_mark m)
{
    /* chunks added after the mark stay allocated (reused later); only rewind usage */
    for (int i = m.n; i < a->n; i++) a->c[i].used = 0;
    if (m.n > 0) a->c[m.n - 1].used = m.used;
    a->cur = arena_used(a);
    /* Allocation only ever takes the last chunk, so until the next reset the space released in
     * the others is dead: its pages go back to the system. This happens only in a pass that
     * needed a new chunk (the first passes); from then on one chunk holds everything. Without
     * it, a backward that grows chunk by chunk as the blocks grow keeps the pages of every
     * chunk it touched (docs/design.md, "The arenas' first pass"). */
    for (int i = m.n > 0 ? m.n - 1 : 0; i < a->n - 1; i++) chunk_drop(&a->c[i], a->c[i].used);
}

static void arena_free_all(arena *a)
{
    for (int i = 0; i < a->n; i++) an_free(a->c[i].base);
    a->n = 0;
}

/* ------------------------------------------------------------------ tape */

typedef struct {
    float *pre, *bn, *mean, *rstd; /* conv output, BN output (swish(BN) for fused layers), statistics */
} bn_tape;

typedef struct {
    const an_block *b;
    int cin, mid, cout, k, stride, r, h, ho, pad, identity, sc_conv;
    float *x;                   /* block input [cin][h][h][n] */
    bn_tape e;                  /* expand (when present) */
    bn_tape d;
    float *d_act;               /* swish(d.bn); in training without SE, only until the projection */
    float *se_out, *se_cache;   /* SE output (= d_act when no SE) */
    bn_tape p;
    uint8_t *dc_mask;
    float dc_keep;
    float *pooled;              /* shortcut input after pooling (strided) */
    float *out;
} blk_tape;

struct an_net_ws {
    arena fwd, bwd;
    /* last forward */
    const an_supernet *net;
    an_arch arch;
    an_bn_mode mode;
    int n, hin, win, res, valid;
    float *xr;                  /* input at the subnet's resolution */
    int stem_c, stem_h;
    bn_tape s;
    float *s_act;
    int nblk;
    blk_tape blk[256];
    int fe_c, fe_h;
    bn_tape f;
    float *f_act, *g, *m_pre, *m_act, *m_drop;
    uint8_t *drop_mask;
    float drop_p;
    int mix;
    /* calibration accumulators */
    double *cal_mean, *cal_var;
    double *cal_count;
    int cal_nbn;
};

an_status an_net_ws_create(an_net_ws **ws)
{
    *ws = calloc(1, sizeof **ws);
    if (!*ws) return an_error(AN_ERR_NOMEM, "out of memory (network workspace)");
    return AN_OK;
}

void an_net_ws_free(an_net_ws *ws)
{
    if (!ws) return;
    arena_free_all(&ws->fwd);
    arena_free_all(&ws->bwd);
    free(ws->cal_mean);
    free(ws->cal_var);
    free(ws->cal_count);
    free(ws);
}

size_t an_net_ws_bytes(const an_net_ws *ws) { return arena_total(&ws->fwd) + arena_total(&ws->bwd); }

void an_net_ws_arenas(const an_net_ws *ws, size_t *fwd, size_t *bwd)
{
    *fwd = arena_total(&ws->fwd);
    *bwd = arena_total(&ws->bwd);
}

size_t an_net_ws_fwd_peak(const an_net_ws *ws) { return ws->fwd.peak; }

const float *an_net_ws_stem_output(const an_net_ws *ws, int *c, int *h, int *w)
{
    if (!ws->valid) return NULL;
    *c = ws->stem_c;
    *h = *w = ws->stem_h;
    return ws->s_act;
}

/* ------------------------------------------------------------------ forward helpers */

static const float *P(const an_supernet *net, int idx) { return net->w + net->params[idx].offset; }

/* Counts one more calibration batch for BN layer bnidx, of c channels. */
static void calib_count(an_net_ws *ws, int bnidx, int c)
{
    ws->cal_count[bnidx] += 1.0;
    ws->cal_count[ws->cal_nbn + bnidx] += c; /* channels, summed per batch (reducible) */
}

/* conv output `pre` [c][m] -> BN (-> swish when `act`) -> t->bn, statistics per mode. Without
 * the swish, the output may be given (out, else a new buffer) and a residual r added to it as
 * it is written (r may be out; NULL: none). */
static void bn_forward_to(an_net_ws *ws, bn_tape *t, const an_supernet *net, int pg, int pb, int bnidx, int c,
                          ptrdiff_t m, int act, float *out, const float *r)
{
    arena *a = &ws->fwd;
    t->bn = out ? out : arena_f(a, (size_t)c * m);
    if (!t->bn) return;
    const float *gamma = P(net, pg), *beta = P(net, pb);
    if (ws->mode == AN_BN_INFER) {
        const an_bn_buf *b = &net->bn[bnidx];
        if (act)
            AN_PROF(AN_PROF_NORM, an_bn_swish_infer_forward(t->bn, t->pre, net->bn_mean + b->offset,
                                                            net->bn_var + b->offset, gamma, beta, c, m, AN_BN_EPS));
        else
            AN_PROF(AN_PROF_NORM, an_bn_infer_forward_add(t->bn, t->pre, r, net->bn_mean + b->offset,
                                                          net->bn_var + b->offset, gamma, beta, c, m, AN_BN_EPS));
        return;
    }
    t->mean = arena_f(a, (size_t)c);
    t->rstd = arena_f(a, (size_t)c);
    if (!t->mean || !t->rstd) return;
    if (act)
        AN_PROF(AN_PROF_NORM, an_bn_swish_train_forward(t->bn, t->mean, t->rstd, t->pre, gamma, beta, c, m, AN_BN_EPS));
    else
        AN_PROF(AN_PROF_NORM,
                an_bn_train_forward_add(t->bn, t->mean, t->rstd, t->pre, r, gamma, beta, c, m, AN_BN_EPS));
    if (ws->mode == AN_BN_CALIB && ws->cal_mean) {
        const an_bn_buf *b = &net->bn[bnidx];
        AN_PROF(AN_PROF_NORM, an_bn_stats_accumulate(ws->cal_mean + b->offset, ws->cal_var + b->offset, t->pre, c, m));
        calib_count(ws, bnidx, c);
    }
}

static void bn_forward(an_net_ws *ws, bn_tape *t, const an_supernet *net, int pg, int pb, int bnidx, int c, ptrdiff_t m,
                       int act)
{
    bn_forward_to(ws, t, net, pg, pb, bnidx, c, m, act, NULL, NULL);
}

static float *swish_new(arena *a, const float *x, size_t count)
{
    float *y = arena_f(a, count);
    if (y) AN_PROF(AN_PROF_ACT, an_swish_forward(y, x, count));
    return y;
}

static uint64_t stream_of(uint64_t step, unsigned tag) { return ((step + 1) << 32) | tag; }

/* The expand BN, depthwise and depthwise BN of a block as one chain (dwbn.h). */
static an_dwbn dwbn_of(const an_supernet *net, const blk_tape *t, int n)
{
    const an_block *b = t->b;
    return (an_dwbn){.c = t->mid, .n = n, .h = t->h, .wd = t->h, .k = t->k, .s = t->stride,
                     .w = an_dwconv_view(P(net, b->p_dw_w), b->kmax, t->k), .wcs = b->kmax * b->kmax, .wrs = b->kmax,
                     .e_gamma = b->has_expand ? P(net, b->p_ex_g) : NULL, .e_beta = b->has_expand ? P(net, b->p_ex_b) : NULL,
                     .d_gamma = P(net, b->p_dw_g), .d_beta = P(net, b->p_dw_b)};
}

static an_status block_forward(an_net_ws *ws, const an_supernet *net, blk_tape *t, const an_fwd_opts *o)
{
    arena *a = &ws->fwd;
    const an_block *b = t->b;
    const int n = ws->n, h = t->h, ho = t->ho;
    const ptrdiff_t m = (ptrdiff_t)h * h * n, mo = (ptrdiff_t)ho * ho * n;
    /* expand */
    if (b->has_expand) {
        t->e.pre = arena_f(a, (size_t)t->mid * m);
        if (!t->e.pre) return AN_ERR_NOMEM;
        AN_PROF(AN_PROF_GEMM, an_conv1x1_forward(t->e.pre, t->x, P(net, b->p_ex_w), b->in_max, t->mid, t->cin, m));
    }
    const an_dwbn l = dwbn_of(net, t, n);
    arena_mark act_mark = {0};
    if (ws->mode == AN_BN_TRAIN) { /* expand BN, depthwise and its BN chained channel by channel */
        if (b->has_expand) {
            t->e.mean = arena_f(a, (size_t)t->mid);
            t->e.rstd = arena_f(a, (size_t)t->mid);
            if (!t->e.mean || !t->e.rstd) return AN_ERR_NOMEM;
        }
        t->e.bn = NULL; /* the chain keeps the expansion's activation to itself */
        t->d.pre = arena_f(a, (size_t)t->mid * mo);
        t->d.mean = arena_f(a, (size_t)t->mid);
        t->d.rstd = arena_f(a, (size_t)t->mid);
        /* Without squeeze-excite, d_act lives only until the projection has read it, in the
         * backward's arena (emptied when this forward began); the chain's backward writes it
         * again into that arena. Squeeze-excite's backward needs it before the chain's, so
         * there it stays on the tape. */
        if (!b->se) act_mark = arena_get_mark(&ws->bwd);
        t->d.bn = arena_f(b->se ? a : &ws->bwd, (size_t)t->mid * mo);
        const arena_mark mark = arena_get_mark(a);
        float *work = arena_f(a, an_dwbn_work_floats(&l, b->has_expand));
        if (!t->d.pre || !t->d.bn || !t->d.mean || !t->d.rstd || !work) return AN_ERR_NOMEM;
        AN_PROF(AN_PROF_DWCONV, an_dwbn_train_forward(&l, b->has_expand ? t->e.pre : NULL, t->e.mean, t->e.rstd,
                                                      b->has_expand ? NULL : t->x, t->d.pre, t->d.bn, t->d.mean,
                                                      t->d.rstd, AN_BN_EPS, work));
        arena_release(a, mark);
        t->d_act = t->d.bn;
    } else { /* inference or BN calibration: the same chain, keeping only d_act */
        t->d.bn = arena_f(a, (size_t)t->mid * mo);
        const arena_mark mark = arena_get_mark(a);
        float *work = arena_f(a, an_dwbn_work_floats(&l, b->has_expand));
        if (!t->d.bn || !work) return AN_ERR_NOMEM;
        const an_bn_buf *be = b->has_expand ? &net->bn[b->bn_ex] : NULL, *bd = &net->bn[b->bn_dw];
        if (ws->mode == AN_BN_INFER) {
            AN_PROF(AN_PROF_DWCONV,
                    an_dwbn_infer_forward(&l, b->has_expand ? t->e.pre : NULL, be ? net->bn_mean + be->offset : NULL,
                                          be ? net->bn_var + be->offset : NULL, b->has_expand ? NULL : t->x, t->d.bn,
                                          net->bn_mean + bd->offset, net->bn_var + bd->offset, AN_BN_EPS, work));
        } else {
            const int sums = ws->cal_mean != NULL;
            AN_PROF(AN_PROF_DWCONV,
                    an_dwbn_calib_forward(&l, b->has_expand ? t->e.pre : NULL,
                                          sums && be ? ws->cal_mean + be->offset : NULL,
                                          sums && be ? ws->cal_var + be->offset : NULL, b->has_expand ? NULL : t->x,
                                          t->d.bn, sums ? ws->cal_mean + bd->offset : NULL,
                                          sums ? ws->cal_var + bd->offset : NULL, AN_BN_EPS, work));
            if (sums) {
                if (be) calib_count(ws, b->bn_ex, t->mid);
                calib_count(ws, b->bn_dw, t->mid);
            }
        }
        arena_release(a, mark);
        t->d_act = t->d.bn;
    }
    /* squeeze-and-excitation */
    if (b->se) {
        t->se_out = arena_f(a, (size_t)t->mid * mo);
        t->se_cache = arena_f(a, an_se_cache_size(t->mid, t->r, n));
        if (!t->se_out || !t->se_cache) return AN_ERR_NOMEM;
        AN_PROF(AN_PROF_SE,
                an_se_forward(t->se_out, t->se_cache, t->d_act, P(net, b->p_se_rw), b->mid_max, P(net, b->p_se_rb),
                              P(net, b->p_se_ew), b->se_max, P(net, b->p_se_eb), t->mid, t->r, n, ho * ho));
    } else {
        t->se_out = t->d_act;
    }
    /* project */
    t->p.pre = arena_f(a, (size_t)t->cout * mo);
    if (!t->p.pre) return AN_ERR_NOMEM;
    AN_PROF(AN_PROF_GEMM, an_conv1x1_forward(t->p.pre, t->se_out, P(net, b->p_pr_w), b->mid_max, t->cout, t->mid, mo));
    if (ws->mode == AN_BN_TRAIN && !b->se) { /* d_act has been read */
        arena_release(&ws->bwd, act_mark);
        t->d.bn = t->d_act = t->se_out = NULL;
    }
    /* drop-connect: identity blocks of the last two stages, largest subnet only */
    t->dc_mask = NULL;
    const float rate = o->drop_connect > 0 && t->identity && b->stage >= net->space.nstages - 2
                           ? o->drop_connect * (float)b->global / (float)net->nblocks
                           : 0.0f;
    if (!t->out) t->out = arena_f(a, (size_t)t->cout * mo); /* unless the caller placed it */
    if (!t->out) return AN_ERR_NOMEM;
    if (!(rate > 0)) { /* the shortcut first; the projection's BN adds itself to it as it writes the output */
        const float *sc = t->x;
        t->pooled = NULL;
        if (!t->identity && t->stride == 2) {
            t->pooled = arena_f(a, (size_t)t->cin * mo);
            if (!t->pooled) return AN_ERR_NOMEM;
            AN_PROF(AN_PROF_MISC, an_avgpool2_forward(t->pooled, t->x, t->cin, n, h, h, t->pad));
            sc = t->pooled;
        }
        if (t->sc_conv) {
            AN_PROF(AN_PROF_GEMM, an_conv1x1_forward(t->out, sc, P(net, b->p_sc_w), b->in_max, t->cout, t->cin, mo));
            sc = t->out;
        }
        bn_forward_to(ws, &t->p, net, b->p_pr_g, b->p_pr_b, b->bn_pr, t->cout, mo, 0, t->out, sc);
        return t->p.bn ? AN_OK : AN_ERR_NOMEM;
    }
    /* dropping the branch of some samples (an identity block, so the shortcut is x): BN, the
     * mask, then the sum */
    bn_forward(ws, &t->p, net, b->p_pr_g, b->p_pr_b, b->bn_pr, t->cout, mo, 0);
    t->dc_keep = 1.0f - rate;
    t->dc_mask = arena_raw(a, (size_t)n);
    float *dropped = arena_f(a, (size_t)t->cout * mo);
    if (!t->p.bn || !t->dc_mask || !dropped) return AN_ERR_NOMEM;
    const uint64_t stream = stream_of(o->step, AN_STREAM_DROP_CONNECT(b->global));
    for (int j = 0; j < n; j++)
        t->dc_mask[j] = an_hash_uniform(o->seed, stream, (uint64_t)(o->sample0 + j)) < t->dc_keep;
    an_drop_connect_forward(dropped, t->p.bn, t->dc_mask, t->cout, n, ho * ho, t->dc_keep);
    AN_PROF(AN_PROF_MISC, an_add(t->out, dropped, t->x, (size_t)t->cout * mo));
    return AN_OK;
}

an_status an_subnet_forward(an_net_ws *ws, const an_supernet *net, const an_arch *a, const float *x, int h, int w,
                            int n, const an_fwd_opts *o, float *logits)
{
    const an_space *s = &net->space;
    arena *ar = &ws->fwd;
    an_status st = an_arch_validate(s, a);
    if (st) return st;
    if (h != w) return an_error(AN_ERR_ARG, "subnet forward: images must be square (got %dx%d)", h, w);
    if (n < 1) return an_error(AN_ERR_ARG, "subnet forward: empty batch");
    arena_reset(ar);
    /* nothing in the backward's arena outlives a backward; a training forward keeps its blocks'
     * depthwise activations there until the projections have read them */
    if (o->bn == AN_BN_TRAIN) arena_reset(&ws->bwd);
    ws->valid = 0;
    ws->net = net;
    ws->arch = *a;
    ws->mode = o->bn;
    ws->n = n;
    ws->hin = h;
    ws->win = w;
    const int C = s->in_channels, R = a->resolution;
    ws->res = R;
    /* resize to the subnet's resolution */
    if (R != h) {
        ws->xr = arena_f(ar, (size_t)C * R * R * n);
        if (!ws->xr) goto nomem;
        AN_PROF(AN_PROF_RESIZE, an_resize_bicubic_forward(ws->xr, x, C, n, h, w, R, R));
    } else {
        ws->xr = (float *)x;
    }
    /* stem */
    const int cs = a->stem_width, hs = an_conv_out(R, 3, s->stem_stride);
    const ptrdiff_t ms = (ptrdiff_t)hs * hs * n;
    ws->stem_c = cs;
    ws->stem_h = hs;
    ws->s.pre = arena_f(ar, (size_t)cs * ms);
    const arena_mark before_col = arena_get_mark(ar);
    float *col = arena_f(ar, an_conv2d_col_size(C, n, R, R, 3, s->stem_stride));
    if (!ws->s.pre || !col) goto nomem;
    AN_PROF(AN_PROF_GEMM, an_conv2d_forward(ws->s.pre, ws->xr, P(net, net->p_stem_w), net->params[net->p_stem_w].fan_in,
                                            cs, C, n, R, R, 3, s->stem_stride, col));
    arena_release(ar, before_col); /* the backward lays out its own columns */
    bn_forward(ws, &ws->s, net, net->p_stem_g, net->p_stem_b, net->bn_stem, cs, ms, 1);
    ws->s_act = ws->s.bn;
    if (!ws->s_act) goto nomem;
    /* blocks */
    float *cur = ws->s_act;
    int cin = cs, hh = hs;
    ws->nblk = 0;
    for (int si = 0; si < s->nstages; si++) {
        const an_stage_arch *g = &a->stage[si];
        for (int d = 0; d < g->depth; d++) {
            const an_block *b = &net->blocks[net->stage_first[si] + d];
            blk_tape *t = &ws->blk[ws->nblk++];
            memset(t, 0, sizeof *t);
            t->b = b;
            t->x = cur;
            t->cin = cin;
            t->cout = g->width;
            t->mid = b->has_expand ? an_make_divisible((double)cin * g->expand, 8) : cin;
            t->k = g->kernel;
            t->stride = b->stride;
            t->r = an_make_divisible(t->mid / 4, 8);
            t->h = hh;
            t->ho = an_conv_out(hh, t->k, t->stride);
            t->pad = hh % 2;
            t->identity = cin == t->cout && t->stride == 1;
            t->sc_conv = cin != t->cout;
            if (t->mid > b->mid_max || (b->se && t->r > b->se_max)) {
                st = an_error(AN_ERR_INTERNAL, "block %d: active width %d exceeds the supernet's %d", b->global, t->mid,
                              b->mid_max);
                goto fail;
            }
            /* Without a backward to follow (inference, BN calibration) nothing but the block's
             * output outlives the block: the output is placed first, and what the block
             * computes above it is released, so the next block reuses that memory while it is
             * still in cache; a forward then holds the block outputs (and the stem's and the
             * head's tensors) plus the largest block's intermediates. */
            const int keep_tape = o->bn == AN_BN_TRAIN;
            arena_mark above_out = {0};
            if (!keep_tape) {
                t->out = arena_f(ar, (size_t)t->cout * t->ho * t->ho * n);
                if (!t->out) goto nomem;
                above_out = arena_get_mark(ar);
            }
            if ((st = block_forward(ws, net, t, o))) goto nomem;
            if (!keep_tape) {
                arena_release(ar, above_out);
                *t = (blk_tape){.b = t->b, .cin = t->cin, .mid = t->mid, .cout = t->cout, .k = t->k,
                                .stride = t->stride, .r = t->r, .h = t->h, .ho = t->ho, .pad = t->pad,
                                .identity = t->identity, .sc_conv = t->sc_conv, .x = t->x, .out = t->out};
            }
            cur = t->out;
            cin = t->cout;
            hh = t->ho;
        }
    }
    /* head */
    const int E = cin * s->head_expand, mix = a->mix_width, K = s->classes;
    const ptrdiff_t mh = (ptrdiff_t)hh * hh * n;
    ws->fe_c = E;
    ws->fe_h = hh;
    ws->mix = mix;
    ws->f.pre = arena_f(ar, (size_t)E * mh);
    if (!ws->f.pre) goto nomem;
    AN_PROF(AN_PROF_GEMM, an_conv1x1_forward(ws->f.pre, cur, P(net, net->p_fe_w), net->w7_max, E, cin, mh));
    bn_forward(ws, &ws->f, net, net->p_fe_g, net->p_fe_b, net->bn_fe, E, mh, 1);
    ws->f_act = ws->f.bn;
    ws->g = arena_f(ar, (size_t)E * n);
    ws->m_pre = arena_f(ar, (size_t)mix * n);
    if (!ws->f_act || !ws->g || !ws->m_pre) goto nomem;
    an_gap_forward(ws->g, ws->f_act, E, n, hh * hh);
    AN_PROF(AN_PROF_GEMM,
            an_conv1x1_forward(ws->m_pre, ws->g, P(net, net->p_mix_w), net->params[net->p_mix_w].shape[1], mix, E, n));
    ws->m_act = swish_new(ar, ws->m_pre, (size_t)mix * n);
    if (!ws->m_act) goto nomem;
    ws->m_drop = ws->m_act;
    ws->drop_mask = NULL;
    ws->drop_p = o->dropout;
    if (o->dropout > 0) {
        ws->drop_mask = arena_raw(ar, (size_t)mix * n);
        ws->m_drop = arena_f(ar, (size_t)mix * n);
        if (!ws->drop_mask || !ws->m_drop) goto nomem;
        const uint64_t stream = stream_of(o->step, AN_STREAM_DROPOUT);
        const float keep = 1.0f - o->dropout;
        for (int c = 0; c < mix; c++)
            for (int j = 0; j < n; j++)
                ws->drop_mask[(size_t)c * n + j] =
                    an_hash_uniform(o->seed, stream, (uint64_t)(o->sample0 + j) * (uint64_t)mix + (uint64_t)c) < keep;
        AN_PROF(AN_PROF_MISC, an_dropout_forward(ws->m_drop, ws->m_act, ws->drop_mask, (size_t)mix * n, o->dropout));
    }
    AN_PROF(AN_PROF_GEMM, an_linear_forward(logits, ws->m_drop, P(net, net->p_cls_w),
                                            net->params[net->p_cls_w].shape[1], P(net, net->p_cls_b), mix, K, n));
    ws->valid = 1;
    return AN_OK;
nomem:
    if (st == AN_OK || st == AN_ERR_NOMEM) st = an_error(AN_ERR_NOMEM, "out of memory in the subnet forward pass (batch %d)", n);
fail:
    return st;
}

/* ------------------------------------------------------------------ backward */

/* dy of BN output -> dx of conv output (new buffer, written), gamma/beta grads */
static float *bn_backward(arena *a, const an_supernet *net, float *grad, const bn_tape *t, const float *dbn, int pg,
                          int pb, int c, ptrdiff_t m)
{
    float *dpre = arena_f(a, (size_t)c * m);
    if (!dpre) return NULL;
    AN_PROF(AN_PROF_NORM, an_bn_train_backward(dpre, 0, grad + net->params[pg].offset, grad + net->params[pb].offset,
                                               dbn, t->pre, t->mean, t->rstd, P(net, pg), c, m));
    return dpre;
}

/* d(swish(BN(pre))) -> d pre (new buffer, written), gamma/beta grads */
static float *bn_swish_backward(arena *a, const an_supernet *net, float *grad, const bn_tape *t, const float *dact, int pg,
                                int pb, int c, ptrdiff_t m)
{
    float *dpre = arena_f(a, (size_t)c * m);
    if (!dpre) return NULL;
    AN_PROF(AN_PROF_NORM,
            an_bn_swish_train_backward(dpre, 0, grad + net->params[pg].offset, grad + net->params[pb].offset, dact,
                                       t->pre, t->mean, t->rstd, P(net, pg), P(net, pb), c, m));
    return dpre;
}

static float *swish_backward_new(arena *a, const float *dy, const float *x, size_t count)
{
    float *dx = arena_zero(a, count);
    if (dx) AN_PROF(AN_PROF_ACT, an_swish_backward(dx, dy, x, count));
    return dx;
}

an_status an_subnet_backward(an_net_ws *ws, const an_supernet *net, const float *dlogits, float *grad)
{
    if (!ws->valid || ws->mode != AN_BN_TRAIN || ws->net != net)
        return an_error(AN_ERR_INTERNAL, "subnet backward without a training forward of the same network");
    const an_space *s = &net->space;
    arena *a = &ws->bwd;
    arena_reset(a);
    const int n = ws->n, mix = ws->mix, K = s->classes, E = ws->fe_c, hh = ws->fe_h;
    const ptrdiff_t mh = (ptrdiff_t)hh * hh * n;
#define G(idx) (grad + net->params[idx].offset)
    /* classifier, dropout, mixing conv */
    float *dm = arena_zero(a, (size_t)mix * n);
    if (!dm) goto nomem;
    AN_PROF(AN_PROF_GEMM, an_linear_backward(dm, G(net->p_cls_w), G(net->p_cls_b), dlogits, ws->m_drop,
                                             P(net, net->p_cls_w), net->params[net->p_cls_w].shape[1], mix, K, n));
    if (ws->drop_mask) {
        float *d2 = arena_zero(a, (size_t)mix * n);
        if (!d2) goto nomem;
        AN_PROF(AN_PROF_MISC, an_dropout_backward(d2, dm, ws->drop_mask, (size_t)mix * n, ws->drop_p));
        dm = d2;
    }
    float *dmp = swish_backward_new(a, dm, ws->m_pre, (size_t)mix * n);
    float *dg = arena_f(a, (size_t)E * n);
    if (!dmp || !dg) goto nomem;
    AN_PROF(AN_PROF_GEMM, an_conv1x1_backward(dg, 0, G(net->p_mix_w), dmp, ws->g, P(net, net->p_mix_w),
                                              net->params[net->p_mix_w].shape[1], mix, E, n));
    float *dfa = arena_zero(a, (size_t)E * mh);
    if (!dfa) goto nomem;
    an_gap_backward(dfa, dg, E, n, hh * hh);
    float *dfp = bn_swish_backward(a, net, grad, &ws->f, dfa, net->p_fe_g, net->p_fe_b, E, mh);
    if (!dfp) goto nomem;
    const int clast = ws->nblk ? ws->blk[ws->nblk - 1].cout : ws->stem_c;
    float *dout = arena_f(a, (size_t)clast * mh);
    if (!dout) goto nomem;
    const float *xlast = ws->nblk ? ws->blk[ws->nblk - 1].out : ws->s_act;
    AN_PROF(AN_PROF_GEMM,
            an_conv1x1_backward(dout, 0, G(net->p_fe_w), dfp, xlast, P(net, net->p_fe_w), net->w7_max, E, clast, mh));

    /* blocks, last to first; dout is the gradient of the block output */
    for (int i = ws->nblk - 1; i >= 0; i--) {
        const blk_tape *t = &ws->blk[i];
        const an_block *b = t->b;
        const int h = t->h, ho = t->ho;
        const ptrdiff_t m = (ptrdiff_t)h * h * n, mo = (ptrdiff_t)ho * ho * n;
        /* dx is written by the branch (its first writer overwrites) and accumulates the shortcut;
         * the temporaries after it are released at the end of the block, so the backward holds
         * one input gradient per block. Buffers a kernel overwrites are not zeroed first. */
        float *dx = arena_f(a, (size_t)t->cin * m);
        if (!dx) goto nomem;
        const arena_mark mark = arena_get_mark(a);
        const float *dbranch = dout;
        if (t->dc_mask) {
            float *d2 = arena_zero(a, (size_t)t->cout * mo);
            if (!d2) goto nomem;
            an_drop_connect_backward(d2, dout, t->dc_mask, t->cout, n, ho * ho, t->dc_keep);
            dbranch = d2;
        }
        float *dpp = bn_backward(a, net, grad, &t->p, dbranch, b->p_pr_g, b->p_pr_b, t->cout, mo);
        float *dse = arena_f(a, (size_t)t->mid * mo);
        /* without squeeze-excite the forward did not keep d_act, the projection's input: its
         * input gradient first, its weight gradient once the chain below has written d_act */
        float *dact = b->se ? NULL : arena_f(a, (size_t)t->mid * mo);
        if (!dpp || !dse || (!b->se && !dact)) goto nomem;
        AN_PROF(AN_PROF_GEMM, an_conv1x1_backward(dse, 0, b->se ? G(b->p_pr_w) : NULL, dpp, t->se_out,
                                                  P(net, b->p_pr_w), b->mid_max, t->cout, t->mid, mo));
        float *dda = dse;
        if (b->se) {
            dda = arena_f(a, (size_t)t->mid * mo);
            if (!dda) goto nomem;
            AN_PROF(AN_PROF_SE, an_se_backward(dda, 0, G(b->p_se_rw), G(b->p_se_rb), G(b->p_se_ew), G(b->p_se_eb), dse,
                                               t->d_act, t->se_cache, P(net, b->p_se_rw), b->mid_max,
                                               P(net, b->p_se_ew), b->se_max, t->mid, t->r, n, ho * ho));
        }
        /* depthwise BN, depthwise and expand BN, chained channel by channel */
        const an_dwbn l = dwbn_of(net, t, n);
        float *dep = b->has_expand ? arena_f(a, (size_t)t->mid * m) : dx;
        float *work = arena_f(a, an_dwbn_work_floats(&l, b->has_expand));
        if (!dep || !work) goto nomem;
        AN_PROF(AN_PROF_DWCONV,
                an_dwbn_train_backward(&l, dep, an_dwconv_view_mut(G(b->p_dw_w), b->kmax, t->k),
                                       b->has_expand ? G(b->p_ex_g) : NULL, b->has_expand ? G(b->p_ex_b) : NULL,
                                       G(b->p_dw_g), G(b->p_dw_b), dda, b->has_expand ? t->e.pre : NULL, t->e.mean,
                                       t->e.rstd, b->has_expand ? NULL : t->x, t->d.pre, t->d.mean, t->d.rstd, dact,
                                       work));
        if (dact)
            AN_PROF(AN_PROF_GEMM, an_conv1x1_backward(NULL, 0, G(b->p_pr_w), dpp, dact, P(net, b->p_pr_w), b->mid_max,
                                                      t->cout, t->mid, mo));
        if (b->has_expand)
            AN_PROF(AN_PROF_GEMM,
                    an_conv1x1_backward(dx, 0, G(b->p_ex_w), dep, t->x, P(net, b->p_ex_w), b->in_max, t->mid, t->cin, m));
        /* shortcut */
        if (t->identity) {
            an_add_inplace(dx, dout, (size_t)t->cin * m);
        } else { /* a 1x1 convolution (cin != cout), an average pool (stride 2), or both */
            const float *dsc = dout; /* the gradient at the shortcut's (pooled) input */
            if (t->sc_conv) {
                float *din = t->stride == 2 ? arena_f(a, (size_t)t->cin * mo) : dx;
                if (!din) goto nomem;
                AN_PROF(AN_PROF_GEMM, an_conv1x1_backward(din, t->stride != 2, G(b->p_sc_w), dout,
                                                          t->stride == 2 ? t->pooled : t->x, P(net, b->p_sc_w),
                                                          b->in_max, t->cout, t->cin, mo));
                dsc = din;
            }
            if (t->stride == 2) AN_PROF(AN_PROF_MISC, an_avgpool2_backward(dx, dsc, t->cin, n, h, h, t->pad));
        }
        arena_release(a, mark);
        dout = dx;
    }
    /* stem */
    {
        const int cs = ws->stem_c, hs = ws->stem_h, C = s->in_channels, R = ws->res;
        const ptrdiff_t ms = (ptrdiff_t)hs * hs * n;
        float *dsp = bn_swish_backward(a, net, grad, &ws->s, dout, net->p_stem_g, net->p_stem_b, cs, ms);
        float *col = arena_f(a, an_conv2d_col_size(C, n, R, R, 3, s->stem_stride));
        if (!dsp || !col) goto nomem;
        AN_PROF(AN_PROF_GEMM,
                an_conv2d_backward(NULL, G(net->p_stem_w), dsp, ws->xr, NULL, net->params[net->p_stem_w].fan_in, cs, C,
                                   n, R, R, 3, s->stem_stride, col));
    }
#undef G
    return AN_OK;
nomem:
    return an_error(AN_ERR_NOMEM, "out of memory in the subnet backward pass (batch %d)", n);
}

/* ------------------------------------------------------------------ calibration */

an_status an_calib_begin(an_net_ws *ws, const an_supernet *net)
{
    if (ws->cal_nbn != net->nbn || !ws->cal_mean) {
        free(ws->cal_mean);
        free(ws->cal_var);
        free(ws->cal_count);
            ws->cal_mean = calloc(net->bn_total ? net->bn_total : 1, sizeof(double));
        ws->cal_var = calloc(net->bn_total ? net->bn_total : 1, sizeof(double));
        ws->cal_count = calloc(2 * (size_t)net->nbn, sizeof(double));
        ws->cal_nbn = net->nbn;
        if (!ws->cal_mean || !ws->cal_var || !ws->cal_count)
            return an_error(AN_ERR_NOMEM, "out of memory (calibration statistics)");
    }
    memset(ws->cal_mean, 0, net->bn_total * sizeof(double));
    memset(ws->cal_var, 0, net->bn_total * sizeof(double));
    memset(ws->cal_count, 0, 2 * (size_t)net->nbn * sizeof(double));
    return AN_OK;
}

void an_calib_finish(an_net_ws *ws, an_supernet *net)
{
    for (int i = 0; i < net->nbn; i++) {
        const double batches = ws->cal_count[i];
        if (batches < 1) continue;
        const an_bn_buf *b = &net->bn[i];
        const int channels = (int)(ws->cal_count[net->nbn + i] / batches + 0.5);
        AN_PROF(AN_PROF_NORM,
                an_bn_stats_finish(net->bn_mean + b->offset, net->bn_var + b->offset, ws->cal_mean + b->offset,
                                   ws->cal_var + b->offset, channels, (long)(batches + 0.5)));
    }
}

void an_calib_sums(an_net_ws *ws, const an_supernet *net, double **mean, double **var, double **count)
{
    *mean = ws->cal_mean;
    *var = ws->cal_var;
    *count = ws->cal_count;
    (void)net;
}

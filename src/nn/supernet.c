/* supernet.c - parameter and BN-buffer tables of the supernet (see supernet.h). */
#include "alphanet/nn/supernet.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    an_param *p;
    int n, cap;
    size_t total;
    an_bn_buf *b;
    int nb, capb;
    size_t btotal;
} builder;

static int add_param(builder *bl, int decay, int ndim, const int *shape, const char *fmt, ...)
{
    if (bl->n == bl->cap) {
        bl->cap = bl->cap ? 2 * bl->cap : 64;
        an_param *np = realloc(bl->p, sizeof *np * bl->cap);
        if (!np) return -2;
        bl->p = np;
    }
    an_param *p = &bl->p[bl->n];
    memset(p, 0, sizeof *p);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    p->ndim = ndim;
    p->count = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->count *= (size_t)shape[i];
    }
    p->fan_in = ndim >= 2 ? (int)(p->count / (size_t)shape[0]) : 0;
    p->decay = decay;
    /* 16-float (64-byte) alignment of every tensor */
    p->offset = bl->total;
    bl->total += (p->count + 15) / 16 * 16;
    return bl->n++;
}

static int add_bn_buf(builder *bl, int channels, const char *name)
{
    if (bl->nb == bl->capb) {
        bl->capb = bl->capb ? 2 * bl->capb : 32;
        an_bn_buf *nb = realloc(bl->b, sizeof *nb * bl->capb);
        if (!nb) return -2;
        bl->b = nb;
    }
    an_bn_buf *b = &bl->b[bl->nb];
    snprintf(b->name, sizeof b->name, "%s", name);
    b->channels = channels;
    b->offset = bl->btotal;
    bl->btotal += (size_t)(channels + 15) / 16 * 16;
    return bl->nb++;
}

/* conv weight [o][i][k][k] (decayed) */
static int conv_w(builder *bl, int o, int i, int k, const char *name)
{
    const int shape[4] = {o, i, k, k};
    return add_param(bl, 1, 4, shape, "%s", name);
}

/* BN gamma/beta + running buffers of module `mod` ("first_conv.bn.bn") */
static void bn(builder *bl, int c, const char *mod, int *g, int *b, int *buf)
{
    const int shape[1] = {c};
    *g = add_param(bl, 0, 1, shape, "%s.weight", mod);
    *b = add_param(bl, 0, 1, shape, "%s.bias", mod);
    *buf = add_bn_buf(bl, c, mod);
}

static int cmax(const an_choices *c) { return c->v[c->n - 1]; }

an_status an_supernet_create(an_supernet *net, const an_space *s)
{
    memset(net, 0, sizeof *net);
    an_status st = an_space_validate(s);
    if (st) return st;
    net->space = *s;
    builder bl = {0};
    const int stem = cmax(&s->stem_width);
    net->p_stem_w = conv_w(&bl, stem, s->in_channels, 3, "first_conv.conv.conv.weight");
    bn(&bl, stem, "first_conv.bn.bn", &net->p_stem_g, &net->p_stem_b, &net->bn_stem);

    net->nblocks = an_space_max_blocks(s);
    net->blocks = calloc((size_t)net->nblocks, sizeof *net->blocks);
    if (!net->blocks) return an_error(AN_ERR_NOMEM, "out of memory building the supernet");
    int in_max = stem, gidx = 0;
    for (int si = 0; si < s->nstages; si++) {
        const an_stage_space *g = &s->stage[si];
        net->stage_first[si] = gidx;
        for (int d = 0; d < cmax(&g->depth); d++, gidx++) {
            an_block *b = &net->blocks[gidx];
            char pre[40];
            b->stage = si;
            b->global = gidx;
            b->first_in_stage = d == 0;
            b->in_max = in_max;
            b->out_max = cmax(&g->width);
            b->has_expand = cmax(&g->expand) != 1;
            b->mid_max = (int)lround((double)in_max * cmax(&g->expand));
            b->kmax = cmax(&g->kernel);
            b->stride = d == 0 ? g->stride : 1;
            b->se = g->se;
            b->se_max = an_make_divisible(b->mid_max / 4, 8);
            char mod[AN_NAME_MAX];
            b->p_ex_w = b->p_ex_g = b->p_ex_b = b->bn_ex = -1;
            b->p_se_rw = b->p_se_rb = b->p_se_ew = b->p_se_eb = -1;
            snprintf(pre, sizeof pre, "blocks.%d.mobile_inverted_conv", gidx % 100000);
            if (b->has_expand) {
                snprintf(mod, sizeof mod, "%s.inverted_bottleneck.conv.conv.weight", pre);
                b->p_ex_w = conv_w(&bl, b->mid_max, in_max, 1, mod);
                snprintf(mod, sizeof mod, "%s.inverted_bottleneck.bn.bn", pre);
                bn(&bl, b->mid_max, mod, &b->p_ex_g, &b->p_ex_b, &b->bn_ex);
            }
            snprintf(mod, sizeof mod, "%s.depth_conv.conv.conv.weight", pre);
            b->p_dw_w = conv_w(&bl, b->mid_max, 1, b->kmax, mod);
            snprintf(mod, sizeof mod, "%s.depth_conv.bn.bn", pre);
            bn(&bl, b->mid_max, mod, &b->p_dw_g, &b->p_dw_b, &b->bn_dw);
            if (b->se) {
                const int sh1[1] = {b->se_max}, sh2[1] = {b->mid_max};
                snprintf(mod, sizeof mod, "%s.depth_conv.se.fc.reduce.weight", pre);
                b->p_se_rw = conv_w(&bl, b->se_max, b->mid_max, 1, mod);
                b->p_se_rb = add_param(&bl, 0, 1, sh1, "%s.depth_conv.se.fc.reduce.bias", pre);
                snprintf(mod, sizeof mod, "%s.depth_conv.se.fc.expand.weight", pre);
                b->p_se_ew = conv_w(&bl, b->mid_max, b->se_max, 1, mod);
                b->p_se_eb = add_param(&bl, 0, 1, sh2, "%s.depth_conv.se.fc.expand.bias", pre);
                /* a conv bias's default bound uses the conv's fan-in */
                bl.p[b->p_se_rb].fan_in = b->mid_max;
                bl.p[b->p_se_eb].fan_in = b->se_max;
            }
            snprintf(mod, sizeof mod, "%s.point_linear.conv.conv.weight", pre);
            b->p_pr_w = conv_w(&bl, b->out_max, b->mid_max, 1, mod);
            snprintf(mod, sizeof mod, "%s.point_linear.bn.bn", pre);
            bn(&bl, b->out_max, mod, &b->p_pr_g, &b->p_pr_b, &b->bn_pr);
            snprintf(mod, sizeof mod, "blocks.%d.shortcut.conv.conv.weight", gidx % 100000);
            b->p_sc_w = conv_w(&bl, b->out_max, in_max, 1, mod);
            in_max = b->out_max;
        }
    }
    net->w7_max = in_max;
    const int fe = in_max * s->head_expand, mix = cmax(&s->mix_width);
    net->p_fe_w = conv_w(&bl, fe, in_max, 1, "last_conv.final_expand_layer.conv.conv.weight");
    bn(&bl, fe, "last_conv.final_expand_layer.bn.bn", &net->p_fe_g, &net->p_fe_b, &net->bn_fe);
    net->p_mix_w = conv_w(&bl, mix, fe, 1, "last_conv.feature_mix_layer.conv.conv.weight");
    const int csh[2] = {s->classes, mix}, bsh[1] = {s->classes};
    net->p_cls_w = add_param(&bl, 1, 2, csh, "classifier.linear.linear.weight");
    net->p_cls_b = add_param(&bl, 0, 1, bsh, "classifier.linear.linear.bias");
    bl.p[net->p_cls_b].fan_in = mix;

    if (bl.n < 0 || bl.nb < 0 || !bl.p || !bl.b) {
        free(bl.p);
        free(bl.b);
        return an_error(AN_ERR_NOMEM, "out of memory building the supernet");
    }
    net->params = bl.p;
    net->nparams = bl.n;
    net->total = bl.total;
    net->bn = bl.b;
    net->nbn = bl.nb;
    net->bn_total = bl.btotal;
    net->w = an_calloc(net->total * sizeof(float));
    net->bn_mean = an_calloc(net->bn_total * sizeof(float));
    net->bn_var = an_calloc(net->bn_total * sizeof(float));
    if (!net->w || !net->bn_mean || !net->bn_var) {
        an_supernet_free(net);
        return an_error(AN_ERR_NOMEM, "cannot allocate the supernet's %zu parameters", bl.total);
    }
    return AN_OK;
}

void an_supernet_free(an_supernet *net)
{
    free(net->params);
    free(net->bn);
    free(net->blocks);
    an_free(net->w);
    an_free(net->bn_mean);
    an_free(net->bn_var);
    memset(net, 0, sizeof *net);
}

int an_supernet_find(const an_supernet *net, const char *name)
{
    for (int i = 0; i < net->nparams; i++)
        if (!strcmp(net->params[i].name, name)) return i;
    return -1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

void an_supernet_init(an_supernet *net, uint64_t seed)
{
    an_rng rng;
    an_rng_seed(&rng, seed ^ 0x5EEDC0DEull);
    for (int i = 0; i < net->nparams; i++) {
        const an_param *p = &net->params[i];
        float *w = net->w + p->offset;
        const int is_bn = strstr(p->name, ".bn.") != NULL;
        if (is_bn) {
            const float v = ends_with(p->name, ".weight") ? 1.0f : 0.0f;
            for (size_t k = 0; k < p->count; k++) w[k] = v;
            continue;
        }
        /* kaiming_uniform(a = sqrt(5)) and the bias rule both give U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
        const double bound = 1.0 / sqrt((double)(p->fan_in > 0 ? p->fan_in : 1));
        for (size_t k = 0; k < p->count; k++) w[k] = (float)((2.0 * an_rng_uniform(&rng) - 1.0) * bound);
    }
    for (int b = 0; b < net->nblocks; b++) {
        const an_param *g = &net->params[net->blocks[b].p_pr_g];
        memset(net->w + g->offset, 0, g->count * sizeof(float));
    }
    for (size_t k = 0; k < net->bn_total; k++) {
        net->bn_mean[k] = 0.0f;
        net->bn_var[k] = 1.0f;
    }
}

/* ---- the slices of one subnet ---- */

static void add_p(an_subnet_slices *sl, int idx, int d0, int d1, int d2, int d3)
{
    if (idx < 0) return;
    an_param_slice *x = &sl->p[sl->nparams++];
    x->param = idx;
    x->shape[0] = d0, x->shape[1] = d1, x->shape[2] = d2, x->shape[3] = d3;
}

static void add_b(an_subnet_slices *sl, int idx, int c)
{
    if (idx < 0) return;
    sl->b[sl->nbn].bn = idx;
    sl->b[sl->nbn++].channels = c;
}

an_status an_subnet_slices_make(const an_supernet *net, const an_arch *a, an_subnet_slices *sl)
{
    memset(sl, 0, sizeof *sl);
    an_status st = an_arch_validate(&net->space, a);
    if (st) return st;
    sl->p = calloc((size_t)net->nparams, sizeof *sl->p);
    sl->b = calloc((size_t)net->nbn, sizeof *sl->b);
    if (!sl->p || !sl->b) {
        an_subnet_slices_free(sl);
        return an_error(AN_ERR_NOMEM, "out of memory (subnet slices)");
    }
    const an_space *s = &net->space;
    const int C = s->in_channels, cs = a->stem_width;
    add_p(sl, net->p_stem_w, cs, C, 3, 3);
    add_p(sl, net->p_stem_g, cs, 0, 0, 0);
    add_p(sl, net->p_stem_b, cs, 0, 0, 0);
    add_b(sl, net->bn_stem, cs);
    int cin = cs;
    for (int si = 0; si < s->nstages; si++) {
        const an_stage_arch *g = &a->stage[si];
        for (int d = 0; d < g->depth; d++) {
            const an_block *b = &net->blocks[net->stage_first[si] + d];
            const int cout = g->width, k = g->kernel;
            const int mid = b->has_expand ? an_make_divisible((double)cin * g->expand, 8) : cin;
            const int r = an_make_divisible(mid / 4, 8);
            if (b->has_expand) {
                add_p(sl, b->p_ex_w, mid, cin, 1, 1);
                add_p(sl, b->p_ex_g, mid, 0, 0, 0);
                add_p(sl, b->p_ex_b, mid, 0, 0, 0);
                add_b(sl, b->bn_ex, mid);
            }
            add_p(sl, b->p_dw_w, mid, 1, k, k);
            add_p(sl, b->p_dw_g, mid, 0, 0, 0);
            add_p(sl, b->p_dw_b, mid, 0, 0, 0);
            add_b(sl, b->bn_dw, mid);
            if (b->se) {
                add_p(sl, b->p_se_rw, r, mid, 1, 1);
                add_p(sl, b->p_se_rb, r, 0, 0, 0);
                add_p(sl, b->p_se_ew, mid, r, 1, 1);
                add_p(sl, b->p_se_eb, mid, 0, 0, 0);
            }
            add_p(sl, b->p_pr_w, cout, mid, 1, 1);
            add_p(sl, b->p_pr_g, cout, 0, 0, 0);
            add_p(sl, b->p_pr_b, cout, 0, 0, 0);
            add_b(sl, b->bn_pr, cout);
            if (cin != cout) add_p(sl, b->p_sc_w, cout, cin, 1, 1);
            cin = cout;
        }
    }
    const int E = cin * s->head_expand, mix = a->mix_width;
    add_p(sl, net->p_fe_w, E, cin, 1, 1);
    add_p(sl, net->p_fe_g, E, 0, 0, 0);
    add_p(sl, net->p_fe_b, E, 0, 0, 0);
    add_b(sl, net->bn_fe, E);
    add_p(sl, net->p_mix_w, mix, E, 1, 1);
    add_p(sl, net->p_cls_w, s->classes, mix, 0, 0);
    add_p(sl, net->p_cls_b, s->classes, 0, 0, 0);
    return AN_OK;
}

void an_subnet_slices_free(an_subnet_slices *sl)
{
    free(sl->p);
    free(sl->b);
    memset(sl, 0, sizeof *sl);
}

/* offset of active element (i0..i3) in the full tensor: leading dims 0 and 1, centred 2 and 3 */
static void slice_copy(const an_param *p, const int *shape, float *full, float *dense, int to_dense)
{
    int full_sh[4] = {1, 1, 1, 1}, act[4] = {1, 1, 1, 1};
    for (int d = 0; d < p->ndim; d++) full_sh[d] = p->shape[d], act[d] = shape[d];
    const int o2 = (full_sh[2] - act[2]) / 2, o3 = (full_sh[3] - act[3]) / 2;
    size_t j = 0;
    for (int a = 0; a < act[0]; a++)
        for (int b = 0; b < act[1]; b++)
            for (int c = 0; c < act[2]; c++)
                for (int e = 0; e < act[3]; e++, j++) {
                    const size_t i = (((size_t)a * full_sh[1] + b) * full_sh[2] + c + o2) * full_sh[3] + e + o3;
                    if (to_dense) dense[j] = full[i];
                    else full[i] = dense[j];
                }
}

void an_slice_extract(const an_param *p, const int *shape, const float *full, float *out)
{
    slice_copy(p, shape, (float *)full, out, 1);
}

void an_slice_insert(const an_param *p, const int *shape, const float *in, float *full)
{
    slice_copy(p, shape, full, (float *)in, 0);
}

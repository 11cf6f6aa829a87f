/* space.c - search space validation, arch sampling, the text form, FLOPs and parameter counts
 * (see space.h). */
#include "alphanet/nn/space.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alphanet/kernels/layout.h"
#include "alphanet/kernels/pool.h"

int an_make_divisible(double v, int divisor)
{
    int nv = (int)(v + divisor / 2.0) / divisor * divisor;
    if (nv < divisor) nv = divisor;
    if (nv < 0.9 * v) nv += divisor;
    return nv;
}

static int cmax(const an_choices *c) { return c->v[c->n - 1]; }
static int cmin(const an_choices *c) { return c->v[0]; }

static int has(const an_choices *c, int v)
{
    for (int i = 0; i < c->n; i++)
        if (c->v[i] == v) return 1;
    return 0;
}

static an_status check_choices(const an_choices *c, const char *where, const char *field, int lo, int hi)
{
    if (c->n < 1) return an_error(AN_ERR_ARG, "%s: '%s' has no choices (give at least one value)", where, field);
    for (int i = 0; i < c->n; i++) {
        if (c->v[i] < lo || c->v[i] > hi)
            return an_error(AN_ERR_ARG, "%s: '%s' value %d is out of range [%d, %d]", where, field, c->v[i], lo, hi);
        if (i > 0 && c->v[i] <= c->v[i - 1])
            return an_error(AN_ERR_ARG, "%s: '%s' must be strictly ascending (got %d after %d)", where, field, c->v[i],
                            c->v[i - 1]);
    }
    return AN_OK;
}

an_status an_space_validate(const an_space *s)
{
    an_status st;
    if (s->in_channels < 1 || s->in_channels > 16)
        return an_error(AN_ERR_ARG, "space: in_channels %d out of range [1, 16]", s->in_channels);
    if (s->classes < 2 || s->classes > 100000)
        return an_error(AN_ERR_ARG, "space: classes %d out of range [2, 100000]", s->classes);
    if ((st = check_choices(&s->resolution, "space", "resolutions", 8, 1024))) return st;
    if ((st = check_choices(&s->stem_width, "space.stem", "width", 1, 4096))) return st;
    if (s->stem_stride != 1 && s->stem_stride != 2) return an_error(AN_ERR_ARG, "space.stem: stride must be 1 or 2");
    if (s->nstages < 1 || s->nstages > AN_MAX_STAGES)
        return an_error(AN_ERR_ARG, "space: %d stages, allowed 1..%d", s->nstages, AN_MAX_STAGES);
    for (int i = 0; i < s->nstages; i++) {
        const an_stage_space *g = &s->stage[i];
        char where[64];
        snprintf(where, sizeof where, "space.stages[%d] (%s)", i, g->name);
        if ((st = check_choices(&g->width, where, "width", 1, 8192))) return st;
        if ((st = check_choices(&g->depth, where, "depth", 1, 64))) return st;
        if ((st = check_choices(&g->kernel, where, "kernel", 1, 15))) return st;
        if ((st = check_choices(&g->expand, where, "expand", 1, 16))) return st;
        for (int k = 0; k < g->kernel.n; k++)
            if (g->kernel.v[k] % 2 == 0) return an_error(AN_ERR_ARG, "%s: kernel %d must be odd", where, g->kernel.v[k]);
        if (g->stride != 1 && g->stride != 2) return an_error(AN_ERR_ARG, "%s: stride must be 1 or 2", where);
        /* A block's hidden width is make_divisible(in x expand, 8) for the active input width
         * and ratio, but the supernet holds round(max in x max expand) channels (the official
         * model's sizes): with input widths that are not multiples of 8 the rounding can ask
         * for more. Check every input width a block can see (the previous stage's, or the
         * stem's, for its first block; its own stage's for the others). */
        if (cmax(&g->expand) != 1)
            for (int first = 0; first < 2; first++) {
                const an_choices *in = !first ? &g->width : i == 0 ? &s->stem_width : &s->stage[i - 1].width;
                if (!first && cmax(&g->depth) < 2) continue;
                const int mid_max = (int)lround((double)cmax(in) * cmax(&g->expand));
                for (int a = 0; a < in->n; a++)
                    for (int e = 0; e < g->expand.n; e++) {
                        const int mid = an_make_divisible((double)in->v[a] * g->expand.v[e], 8);
                        if (mid > mid_max)
                            return an_error(AN_ERR_ARG,
                                            "%s: input width %d with expand %d needs %d hidden channels (rounded to a "
                                            "multiple of 8), more than the supernet's round(%d x %d) = %d; use input "
                                            "widths (%s) that are multiples of 8",
                                            where, in->v[a], g->expand.v[e], mid, cmax(in), cmax(&g->expand), mid_max,
                                            !first ? "this stage's width" : i == 0 ? "space.stem.width" : "the previous stage's width");
                    }
            }
    }
    if (s->head_expand < 1 || s->head_expand > 16) return an_error(AN_ERR_ARG, "space.head: expand must be in [1, 16]");
    if ((st = check_choices(&s->mix_width, "space.head", "mix_width", 1, 16384))) return st;
    return AN_OK;
}

int an_space_max_blocks(const an_space *s)
{
    int n = 0;
    for (int i = 0; i < s->nstages; i++) n += cmax(&s->stage[i].depth);
    return n;
}

static void pick(const an_space *s, an_arch *a, int largest)
{
    const an_choices *(*f)(void) = NULL;
    (void)f;
    a->resolution = largest ? cmax(&s->resolution) : cmin(&s->resolution);
    a->stem_width = largest ? cmax(&s->stem_width) : cmin(&s->stem_width);
    a->nstages = s->nstages;
    for (int i = 0; i < s->nstages; i++) {
        const an_stage_space *g = &s->stage[i];
        a->stage[i].width = largest ? cmax(&g->width) : cmin(&g->width);
        a->stage[i].depth = largest ? cmax(&g->depth) : cmin(&g->depth);
        a->stage[i].kernel = largest ? cmax(&g->kernel) : cmin(&g->kernel);
        a->stage[i].expand = largest ? cmax(&g->expand) : cmin(&g->expand);
    }
    a->mix_width = largest ? cmax(&s->mix_width) : cmin(&s->mix_width);
}

void an_arch_smallest(const an_space *s, an_arch *a) { pick(s, a, 0); }
void an_arch_largest(const an_space *s, an_arch *a) { pick(s, a, 1); }

static int draw(an_rng *r, const an_choices *c) { return c->v[an_rng_below(r, (uint32_t)c->n)]; }

void an_arch_sample(const an_space *s, an_rng *rng, an_arch *a)
{
    a->resolution = draw(rng, &s->resolution);
    a->stem_width = draw(rng, &s->stem_width);
    a->nstages = s->nstages;
    for (int i = 0; i < s->nstages; i++) {
        const an_stage_space *g = &s->stage[i];
        a->stage[i].width = draw(rng, &g->width);
        a->stage[i].depth = draw(rng, &g->depth);
        a->stage[i].kernel = draw(rng, &g->kernel);
        a->stage[i].expand = draw(rng, &g->expand);
    }
    a->mix_width = draw(rng, &s->mix_width);
}

void an_arch_format(const an_arch *a, char *buf, size_t cap)
{
    size_t len = 0;
    len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "r%d s%d", a->resolution, a->stem_width);
    for (int i = 0; i < a->nstages; i++)
        len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, " %d/%d/%d/%d", a->stage[i].width, a->stage[i].depth,
                                a->stage[i].kernel, a->stage[i].expand);
    snprintf(buf + len, len < cap ? cap - len : 0, " h%d", a->mix_width);
}

int an_arch_equal(const an_arch *a, const an_arch *b)
{
    if (a->resolution != b->resolution || a->stem_width != b->stem_width || a->nstages != b->nstages ||
        a->mix_width != b->mix_width)
        return 0;
    for (int i = 0; i < a->nstages; i++)
        if (a->stage[i].width != b->stage[i].width || a->stage[i].depth != b->stage[i].depth ||
            a->stage[i].kernel != b->stage[i].kernel || a->stage[i].expand != b->stage[i].expand)
            return 0;
    return 1;
}

static void choices_text(const an_choices *c, char *buf, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < c->n; i++) len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s%d", i ? "|" : "", c->v[i]);
}

static an_status gene_error(const char *what, int v, const an_choices *c)
{
    char allowed[128];
    choices_text(c, allowed, sizeof allowed);
    return an_error(AN_ERR_ARG, "arch: %s %d is not in the space (allowed: %s)", what, v, allowed);
}

an_status an_arch_validate(const an_space *s, const an_arch *a)
{
    if (a->nstages != s->nstages)
        return an_error(AN_ERR_ARG, "arch: %d stages, the space has %d", a->nstages, s->nstages);
    if (!has(&s->resolution, a->resolution)) return gene_error("resolution", a->resolution, &s->resolution);
    if (!has(&s->stem_width, a->stem_width)) return gene_error("stem width", a->stem_width, &s->stem_width);
    for (int i = 0; i < s->nstages; i++) {
        const an_stage_space *g = &s->stage[i];
        char what[48];
        snprintf(what, sizeof what, "%s width", g->name);
        if (!has(&g->width, a->stage[i].width)) return gene_error(what, a->stage[i].width, &g->width);
        snprintf(what, sizeof what, "%s depth", g->name);
        if (!has(&g->depth, a->stage[i].depth)) return gene_error(what, a->stage[i].depth, &g->depth);
        snprintf(what, sizeof what, "%s kernel", g->name);
        if (!has(&g->kernel, a->stage[i].kernel)) return gene_error(what, a->stage[i].kernel, &g->kernel);
        snprintf(what, sizeof what, "%s expand", g->name);
        if (!has(&g->expand, a->stage[i].expand)) return gene_error(what, a->stage[i].expand, &g->expand);
    }
    if (!has(&s->mix_width, a->mix_width)) return gene_error("head mixing width", a->mix_width, &s->mix_width);
    return AN_OK;
}

/* The published AlphaNet models (configs/eval_alphanet_models.yml of the official repository):
 * resolution, widths [stem, mb1..mb7, mix], kernels, expands and depths per stage. */
typedef struct {
    const char *name;
    int res, width[9], kernel[7], expand[7], depth[7];
} preset;

static const preset presets[] = {
    {"a0", 192, {16, 16, 24, 32, 64, 112, 192, 216, 1792}, {3, 3, 3, 3, 3, 3, 3}, {1, 4, 4, 4, 4, 6, 6}, {1, 3, 3, 3, 3, 3, 1}},
    {"a1", 224, {16, 16, 24, 32, 64, 112, 192, 216, 1984}, {3, 3, 3, 5, 3, 5, 3}, {1, 4, 4, 4, 4, 6, 6}, {1, 3, 3, 3, 3, 3, 1}},
    {"a2", 224, {16, 16, 24, 32, 64, 112, 200, 224, 1984}, {3, 3, 3, 3, 3, 5, 3}, {1, 4, 5, 4, 4, 6, 6}, {1, 3, 3, 3, 3, 4, 1}},
    {"a3", 224, {16, 16, 24, 32, 64, 112, 208, 224, 1984}, {3, 3, 3, 5, 3, 3, 3}, {1, 4, 4, 4, 4, 6, 6}, {2, 3, 3, 4, 3, 5, 1}},
    {"a4", 256, {16, 16, 24, 32, 64, 112, 192, 216, 1984}, {3, 3, 3, 5, 3, 5, 3}, {1, 4, 4, 5, 4, 6, 6}, {1, 3, 3, 4, 3, 5, 1}},
    {"a5", 256, {16, 16, 24, 32, 64, 112, 208, 216, 1984}, {3, 3, 3, 3, 3, 5, 3}, {1, 4, 4, 5, 4, 6, 6}, {1, 3, 3, 4, 4, 5, 1}},
    {"a5_1", 288, {16, 16, 24, 32, 64, 112, 200, 216, 1984}, {3, 3, 5, 5, 3, 3, 3}, {1, 4, 4, 4, 5, 6, 6}, {2, 3, 4, 3, 3, 5, 1}},
    {"a6", 288, {16, 16, 24, 32, 64, 112, 216, 224, 1984}, {3, 3, 3, 3, 3, 5, 3}, {1, 4, 6, 5, 4, 6, 6}, {1, 3, 3, 4, 4, 6, 1}},
};

static int parse_int(const char **p, int *out)
{
    char *end;
    long v = strtol(*p, &end, 10);
    if (end == *p || v < 0 || v > 1000000) return 0;
    *out = (int)v;
    *p = end;
    return 1;
}

an_status an_arch_parse(const an_space *s, const char *text, an_arch *a)
{
    while (isspace((unsigned char)*text)) text++;
    if (!strcmp(text, "min") || !strcmp(text, "smallest")) {
        an_arch_smallest(s, a);
        return AN_OK;
    }
    if (!strcmp(text, "max") || !strcmp(text, "largest")) {
        an_arch_largest(s, a);
        return AN_OK;
    }
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        const preset *q = &presets[i];
        if (strcasecmp(text, q->name) && !(text[0] && !strncasecmp(text, "alphanet-", 9) && !strcasecmp(text + 9, q->name)))
            continue;
        if (s->nstages != 7)
            return an_error(AN_ERR_ARG, "arch: preset '%s' is an AlphaNet ImageNet model; this space has %d stages, not 7",
                            q->name, s->nstages);
        a->resolution = q->res;
        a->stem_width = q->width[0];
        a->nstages = 7;
        for (int k = 0; k < 7; k++) {
            a->stage[k].width = q->width[k + 1];
            a->stage[k].depth = q->depth[k];
            a->stage[k].kernel = q->kernel[k];
            a->stage[k].expand = q->expand[k];
        }
        a->mix_width = q->width[8];
        an_status st = an_arch_validate(s, a);
        if (st) {
            char why[256];
            snprintf(why, sizeof why, "%s", an_error_message());
            return an_error(st, "arch: preset '%s' (an ImageNet model) does not fit this space: %s", q->name, why + 6);
        }
        return AN_OK;
    }
    /* r<res> s<stem> w/d/k/e ... h<mix> */
    const char *p = text;
    memset(a, 0, sizeof *a);
    if (*p != 'r' || (p++, !parse_int(&p, &a->resolution)))
        return an_error(AN_ERR_ARG,
                        "arch '%s': expected 'r<resolution>' first, e.g. 'r28 s16 16/2/5/1 ... h320' (or min, max%s)", text,
                        s->nstages == 7 ? ", a0..a6" : "");
    while (isspace((unsigned char)*p)) p++;
    if (*p != 's' || (p++, !parse_int(&p, &a->stem_width)))
        return an_error(AN_ERR_ARG, "arch '%s': expected 's<stem width>' after the resolution", text);
    for (int i = 0; i < s->nstages; i++) {
        while (isspace((unsigned char)*p)) p++;
        an_stage_arch *g = &a->stage[i];
        if (!parse_int(&p, &g->width) || *p++ != '/' || !parse_int(&p, &g->depth) || *p++ != '/' ||
            !parse_int(&p, &g->kernel) || *p++ != '/' || !parse_int(&p, &g->expand))
            return an_error(AN_ERR_ARG, "arch '%s': stage %d (%s) must be width/depth/kernel/expand, e.g. 24/3/5/6", text,
                            i + 1, s->stage[i].name);
        if (*p && !isspace((unsigned char)*p))
            return an_error(AN_ERR_ARG, "arch '%s': unexpected '%c' after stage %d", text, *p, i + 1);
    }
    a->nstages = s->nstages;
    while (isspace((unsigned char)*p)) p++;
    if (*p != 'h' || (p++, !parse_int(&p, &a->mix_width)))
        return an_error(AN_ERR_ARG, "arch '%s': expected 'h<head mixing width>' after the %d stages", text, s->nstages);
    while (isspace((unsigned char)*p)) p++;
    if (*p) return an_error(AN_ERR_ARG, "arch '%s': unexpected trailing text '%s'", text, p);
    return an_arch_validate(s, a);
}

/* ---- FLOPs and parameters: walk the subnet's layers ---- */

typedef struct {
    double flops, params;
} tally;

static void conv(tally *t, int cin, int cout, int k, int hout, int groups)
{
    t->flops += (double)cin * cout * k * k * hout * hout / groups;
    t->params += (double)cin * cout * k * k / groups;
}

static void walk(const an_space *s, const an_arch *a, tally *t)
{
    int h = an_conv_out(a->resolution, 3, s->stem_stride);
    int c = a->stem_width;
    conv(t, s->in_channels, c, 3, h, 1);
    t->params += 2 * c; /* BN */
    for (int i = 0; i < s->nstages; i++) {
        const an_stage_space *g = &s->stage[i];
        const an_stage_arch *b = &a->stage[i];
        for (int d = 0; d < b->depth; d++) {
            const int stride = d == 0 ? g->stride : 1;
            const int mid = an_make_divisible((double)c * b->expand, 8);
            const int ho = an_conv_out(h, b->kernel, stride);
            if (b->expand != 1 || cmax(&g->expand) != 1) {
                /* the expand conv exists when the stage's largest ratio is not 1 */
                if (cmax(&g->expand) != 1) {
                    conv(t, c, mid, 1, h, 1);
                    t->params += 2 * mid;
                }
            }
            const int midc = cmax(&g->expand) != 1 ? mid : c;
            conv(t, midc, midc, b->kernel, ho, midc);
            t->params += 2 * midc;
            if (g->se) {
                const int r = an_make_divisible(midc / 4, 8);
                conv(t, midc, r, 1, 1, 1);
                conv(t, r, midc, 1, 1, 1);
                t->params += r + midc;
            }
            conv(t, midc, b->width, 1, ho, 1);
            t->params += 2 * b->width;
            if (c != b->width) conv(t, c, b->width, 1, ho, 1); /* shortcut conv (after pooling if strided) */
            c = b->width;
            h = ho;
        }
    }
    const int e = c * s->head_expand;
    conv(t, c, e, 1, h, 1);
    t->params += 2 * e;
    conv(t, e, a->mix_width, 1, 1, 1);
    t->flops += (double)a->mix_width * s->classes;
    t->params += (double)a->mix_width * s->classes + s->classes;
}

double an_arch_flops(const an_space *s, const an_arch *a)
{
    tally t = {0, 0};
    walk(s, a, &t);
    return t.flops;
}

double an_arch_params(const an_space *s, const an_arch *a)
{
    tally t = {0, 0};
    walk(s, a, &t);
    return t.params;
}

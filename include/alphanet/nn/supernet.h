/* supernet.h - the supernet's parameters: one contiguous float allocation pointed into by a
 * table of named tensors, named and shaped exactly as the official PyTorch model's state_dict
 * (facebookresearch/AttentiveNAS, use_v3_head), so weights move between the two by name.
 *
 * Table order = the official module registration order:
 *   first_conv.conv.conv.weight            [stem_max][in_channels][3][3]
 *   first_conv.bn.bn.{weight,bias}         [stem_max]
 *   blocks.{i}.mobile_inverted_conv.inverted_bottleneck.conv.conv.weight [mid_max][in_max][1][1]  (stage max expand != 1)
 *   blocks.{i}.mobile_inverted_conv.inverted_bottleneck.bn.bn.{weight,bias} [mid_max]
 *   blocks.{i}.mobile_inverted_conv.depth_conv.conv.conv.weight         [mid_max][1][kmax][kmax]
 *   blocks.{i}.mobile_inverted_conv.depth_conv.bn.bn.{weight,bias}      [mid_max]
 *   blocks.{i}.mobile_inverted_conv.depth_conv.se.fc.reduce.{weight,bias} [se_max][mid_max][1][1], [se_max]   (SE stages)
 *   blocks.{i}.mobile_inverted_conv.depth_conv.se.fc.expand.{weight,bias} [mid_max][se_max][1][1], [mid_max]
 *   blocks.{i}.mobile_inverted_conv.point_linear.conv.conv.weight       [out_max][mid_max][1][1]
 *   blocks.{i}.mobile_inverted_conv.point_linear.bn.bn.{weight,bias}    [out_max]
 *   blocks.{i}.shortcut.conv.conv.weight                                [out_max][in_max][1][1]
 *   last_conv.final_expand_layer.conv.conv.weight  [6*W_max][W_max][1][1]   (W = last stage width)
 *   last_conv.final_expand_layer.bn.bn.{weight,bias}
 *   last_conv.feature_mix_layer.conv.conv.weight   [mix_max][6*W_max][1][1]
 *   classifier.linear.linear.{weight,bias}         [classes][mix_max], [classes]
 * with mid_max = round(in_max * max expand) and se_max = make_divisible(mid_max // 4, 8).
 *
 * BN running statistics (used only by calibrated inference, ALGORITHM.md section 5) live in a
 * second table of buffers named like the official ones: <bn>.running_mean / .running_var.
 */
#ifndef ALPHANET_NN_SUPERNET_H
#define ALPHANET_NN_SUPERNET_H

#include <stddef.h>
#include <stdint.h>

#include "alphanet/common.h"
#include "alphanet/nn/space.h"

#define AN_NAME_MAX 96

typedef struct {
    char name[AN_NAME_MAX];
    int ndim, shape[4];
    size_t offset, count; /* in floats, into an_supernet.w */
    int decay;            /* weight decay applies (conv and linear weights only) */
    int fan_in;           /* for the default initialisation */
} an_param;

typedef struct {
    char name[AN_NAME_MAX]; /* the BN module, e.g. "first_conv.bn.bn" */
    int channels;           /* full width */
    size_t offset;          /* into an_supernet.bn_mean / bn_var */
} an_bn_buf;

typedef struct {
    int stage, global;                     /* stage index, block index in the supernet */
    int first_in_stage;                    /* carries the stage's stride */
    int in_max, out_max, mid_max, se_max, kmax, stride, se, has_expand;
    int p_ex_w, p_ex_g, p_ex_b;            /* parameter indices, -1 when absent */
    int p_dw_w, p_dw_g, p_dw_b;
    int p_se_rw, p_se_rb, p_se_ew, p_se_eb;
    int p_pr_w, p_pr_g, p_pr_b;
    int p_sc_w;
    int bn_ex, bn_dw, bn_pr;               /* BN buffer indices */
} an_block;

typedef struct {
    an_space space;
    int nparams;
    an_param *params;
    size_t total;         /* floats */
    float *w;             /* all parameters, one 64-byte aligned allocation */
    int nbn;
    an_bn_buf *bn;
    size_t bn_total;
    float *bn_mean, *bn_var;
    int nblocks;
    an_block *blocks;
    int stage_first[AN_MAX_STAGES]; /* global index of each stage's first block */
    int p_stem_w, p_stem_g, p_stem_b, bn_stem;
    int p_fe_w, p_fe_g, p_fe_b, bn_fe, p_mix_w, p_cls_w, p_cls_b;
    int w7_max;           /* last stage's largest width */
} an_supernet;

/* Builds the tables for space `s` and allocates (zeroed) parameters and BN buffers. */
an_status an_supernet_create(an_supernet *net, const an_space *s);
void an_supernet_free(an_supernet *net);
/* PyTorch's default initialisation (kaiming-uniform a = sqrt(5) over the full tensor, uniform
 * biases, BN gamma 1 and beta 0), then gamma = 0 on every block's project BN (ALGORITHM.md
 * section 3). Deterministic from the seed. Running statistics: mean 0, var 1. */
void an_supernet_init(an_supernet *net, uint64_t seed);
/* Index of a parameter by name, or -1. */
int an_supernet_find(const an_supernet *net, const char *name);
/* The part of the supernet one subnet uses (weight sharing, ALGORITHM.md section 3): for each
 * parameter it touches, its active shape, taken as the leading slice of every dimension except
 * the spatial ones of a depthwise kernel, which are centre-cropped; for each BN it uses, the
 * active channels (the leading ones). Parameters and BNs of inactive blocks are not listed. */
typedef struct {
    int param;           /* index into net->params */
    int shape[4];        /* active shape (same ndim as the parameter) */
} an_param_slice;
typedef struct {
    int bn;              /* index into net->bn */
    int channels;
} an_bn_slice;
typedef struct {
    int nparams, nbn;
    an_param_slice *p;   /* net->nparams entries allocated */
    an_bn_slice *b;      /* net->nbn entries allocated */
} an_subnet_slices;

an_status an_subnet_slices_make(const an_supernet *net, const an_arch *a, an_subnet_slices *sl);
void an_subnet_slices_free(an_subnet_slices *sl);
/* Copies between a full tensor and its active slice (dense, row-major, active shape). */
void an_slice_extract(const an_param *p, const int *shape, const float *full, float *out);
void an_slice_insert(const an_param *p, const int *shape, const float *in, float *full);

static inline float *an_param_ptr(const an_supernet *net, float *base, int idx)
{
    return idx < 0 ? NULL : base + net->params[idx].offset;
}

#endif

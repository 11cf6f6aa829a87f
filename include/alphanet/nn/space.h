/* space.h - the search space and the architectures (subnets) in it.
 *
 * A space is AlphaNet's seven-stage MobileNet-like supernet (ALGORITHM.md section 3), made of:
 * a resolution choice, a stem (3x3 conv + BN + swish), stages of MBConv blocks (each stage has
 * width, depth, kernel and expand-ratio choices, a fixed stride and SE flag), and the head
 * (1x1 conv to head_expand x last width + BN + swish, global pool, 1x1 "mixing" conv with a
 * width choice + swish, dropout, linear classifier).
 *
 * An arch picks one value per choice: a resolution, a stem width, per stage (width, depth,
 * kernel, expand) shared by the stage's first `depth` blocks, and a mixing width. Its text form
 * is one line, e.g. for the default Fashion-MNIST space's largest subnet:
 *     r28 s16 16/2/5/1 24/3/5/6 32/3/5/6 40/3/5/6 56/3/5/6 72/2/5/6 96/1/5/6 h320
 * = resolution, stem width, then width/depth/kernel/expand per stage, then head mixing width.
 */
#ifndef ALPHANET_NN_SPACE_H
#define ALPHANET_NN_SPACE_H

#include <stddef.h>

#include "alphanet/common.h"
#include "alphanet/rng.h"

#define AN_MAX_CHOICES 8
#define AN_MAX_STAGES 10
#define AN_ARCH_TEXT_MAX 256

typedef struct {
    int n;
    int v[AN_MAX_CHOICES]; /* ascending, distinct */
} an_choices;

typedef struct {
    char name[16];
    an_choices width, depth, kernel, expand;
    int stride; /* 1 or 2, on the stage's first block */
    int se;     /* squeeze-and-excitation in every block of the stage */
} an_stage_space;

typedef struct {
    int in_channels; /* image channels: 1 for Fashion-MNIST, 3 for ImageNet */
    int classes;
    an_choices resolution;
    an_choices stem_width;
    int stem_stride; /* the stem is a 3x3 conv */
    int nstages;
    an_stage_space stage[AN_MAX_STAGES];
    int head_expand; /* the head's first 1x1 conv widens the last stage's width by this factor (6) */
    an_choices mix_width;
} an_space;

typedef struct {
    int width, depth, kernel, expand;
} an_stage_arch;

typedef struct {
    int resolution;
    int stem_width;
    int nstages;
    an_stage_arch stage[AN_MAX_STAGES];
    int mix_width;
} an_arch;

/* The official channel rounding: nearest multiple of 8, at least 8, never more than 10% down. */
int an_make_divisible(double v, int divisor);

/* Checks the space for consistency (non-empty ascending choices, strides 1|2, odd kernels...).
 * On error the message names the stage and the field. */
an_status an_space_validate(const an_space *s);

/* Per-block input/middle/output widths of the supernet (maxima over the space), for sizing. */
int an_space_max_blocks(const an_space *s); /* sum over stages of the largest depth */

void an_arch_smallest(const an_space *s, an_arch *a);
void an_arch_largest(const an_space *s, an_arch *a);
/* Independent uniform choice of every gene (ALGORITHM.md section 3). */
void an_arch_sample(const an_space *s, an_rng *rng, an_arch *a);

/* Text form (see above). an_arch_format writes at most AN_ARCH_TEXT_MAX bytes. */
void an_arch_format(const an_arch *a, char *buf, size_t cap);
/* Parses text into *a and checks every gene against the space; the error message says which
 * token is wrong and what the space allows. Also accepts "min", "max" and, for the ImageNet
 * space, the preset names "a0".."a6". */
an_status an_arch_parse(const an_space *s, const char *text, an_arch *a);
/* Checks that every gene of `a` is a choice of the space. */
an_status an_arch_validate(const an_space *s, const an_arch *a);
int an_arch_equal(const an_arch *a, const an_arch *b);

/* Multiply-accumulates of one forward pass of one image, the official counter's convention:
 * convs (including SE and shortcut convs) and the classifier; no BN, activations, pooling or
 * biases. */
double an_arch_flops(const an_space *s, const an_arch *a);
/* Parameters the subnet uses (weights and biases, BN affine parameters included). */
double an_arch_params(const an_space *s, const an_arch *a);

#endif

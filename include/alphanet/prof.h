/* prof.h - where a training step's time goes, by kind of work.
 *
 * The forward and backward passes (src/nn/subnet.c), the losses and the optimizer
 * (src/train/step.c) wrap each kernel call in AN_PROF(kind, call). When profiling is off (the
 * default) that costs one predictable branch; when on, two clock reads per call (about 40 ns,
 * a few hundred calls per subnet). `alphanet bench step` turns it on and prints the table.
 * Not thread-safe: only the thread that drives a step may call it (kernels' own worker
 * threads never do).
 */
#ifndef ALPHANET_PROF_H
#define ALPHANET_PROF_H

#include "alphanet/common.h"

typedef enum {
    AN_PROF_GEMM,   /* GEMM-backed convolutions and the classifier (BLIS) */
    AN_PROF_DWCONV, /* depthwise convolutions, in training with the batch norms before and after them (dwbn.h) */
    AN_PROF_NORM,   /* the other batch normalisations, including the fused BN + swish */
    AN_PROF_ACT,    /* stand-alone activations */
    AN_PROF_SE,     /* squeeze-and-excitation (pooling, two small GEMMs, gating) */
    AN_PROF_RESIZE, /* bicubic resize of the input to the subnet's resolution */
    AN_PROF_LOSS,   /* cross-entropy and distillation losses */
    AN_PROF_OPTIM,  /* gradient clip and SGD update */
    AN_PROF_COMM,   /* gradient allreduce */
    AN_PROF_MISC,   /* pooling of shortcuts, dropout, adds, copies */
    AN_PROF_KINDS
} an_prof_kind;

extern int an_prof_enabled;
extern double an_prof_seconds[AN_PROF_KINDS];

/* The time of each subnet's forward (pass 0) and backward (pass 1), by its place in the step's
 * plan (0: the largest), measured around the whole pass; kept apart from the kinds above, whose
 * calls it contains. Subnets from AN_PROF_SUBNETS on are not recorded. */
#define AN_PROF_SUBNETS 16
extern double an_prof_subnet_seconds[AN_PROF_SUBNETS][2];

const char *an_prof_name(an_prof_kind k);
void an_prof_reset(void);

static inline double an_prof_begin(void) { return an_prof_enabled ? an_now() : 0.0; }
static inline void an_prof_end(an_prof_kind k, double t0)
{
    if (an_prof_enabled) an_prof_seconds[k] += an_now() - t0;
}

static inline void an_prof_subnet_end(int subnet, int pass, double t0)
{
    if (an_prof_enabled && subnet >= 0 && subnet < AN_PROF_SUBNETS)
        an_prof_subnet_seconds[subnet][pass] += an_now() - t0;
}

#define AN_PROF(kind, call)                                                                                            \
    do {                                                                                                               \
        const double an_prof_t0_ = an_prof_begin();                                                                    \
        call;                                                                                                          \
        an_prof_end((kind), an_prof_t0_);                                                                              \
    } while (0)

#endif

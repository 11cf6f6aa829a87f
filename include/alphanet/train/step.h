/* step.h - one AlphaNet sandwich step on one process's shard, and the optimizer.
 *
 * The step is split where the distributed layer sits between: an_step_local runs every subnet
 * of the plan (forward, loss, backward) on the local shard and leaves the gradient SUM in
 * tr->grad, already scaled so that adding the shards of all ranks gives the gradient of the mean
 * loss over the global batch; then the caller reduces tr->grad over ranks (or not, on one
 * process) and calls an_step_apply (clip + SGD). Compute code never sees MPI.
 */
#ifndef ALPHANET_TRAIN_STEP_H
#define ALPHANET_TRAIN_STEP_H

#include "alphanet/io/config.h"
#include "alphanet/kernels/distill.h"
#include "alphanet/nn/subnet.h"
#include "alphanet/nn/supernet.h"

#define AN_MAX_SUBNETS 16

/* What the coordinator decides each step: the subnets, in order. plan.arch[0] is the largest
 * (trained on the labels with dropout and drop-connect, and the teacher of the others). */
typedef struct {
    int nsub;
    an_arch arch[AN_MAX_SUBNETS];
} an_plan;

/* Per-subnet statistics of a step: sums over samples, so they reduce over ranks by addition. */
typedef struct {
    double loss_sum;   /* sum over samples of the loss that was differentiated */
    double correct;    /* top-1 correct on the (augmented) training images */
    double samples;
    an_distill_stats ds;
} an_substats;

typedef struct {
    const an_config *cfg;
    an_supernet *net;
    float *grad, *mom;  /* layout of net->w */
    an_net_ws *ws;
    int n_max;
    float *teacher, *logits, *dlogits; /* [n_max][classes] */
} an_trainer;

an_status an_trainer_create(an_trainer *tr, const an_config *cfg, an_supernet *net, int n_max);
void an_trainer_free(an_trainer *tr);

/* Learning rate at global step t of `total` (ALGORITHM.md section 4): base x max(1, floor(B/256)),
 * linear warm-up from 0.001 x over `warmup` steps, times a half cosine over all steps. */
double an_lr_at(const an_train_cfg *t, long step, long total, long warmup);

/* Weight of the distillation term at step t with the optional ramp: min(1, t / ramp_steps), or 1
 * when the ramp is off. The rest of the student loss is label-smoothed cross-entropy. */
double an_distill_weight(long step, long ramp_steps);

/* Zeroes tr->grad, runs the plan on the local shard x [c][h][w][n] (CHWN, data resolution),
 * labels [n], whose first sample is sample0 of a global batch of n_global. Adds statistics into
 * st[0 .. plan->nsub-1]. distill_w: see an_distill_weight. */
an_status an_step_local(an_trainer *tr, const an_plan *plan, const float *x, int h, int w, const int *labels, int n,
                        long sample0, int n_global, long step, double distill_w, an_substats *st);

/* Elementwise clip of tr->grad to [-grad_clip, grad_clip] (if > 0), then SGD with momentum,
 * Nesterov and weight decay on the parameters marked for it. */
void an_step_apply(an_trainer *tr, double lr);

#endif

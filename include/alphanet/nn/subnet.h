/* subnet.h - forward and backward passes of one subnet of the supernet, on weight slices.
 *
 * The forward records what the backward needs (a tape) in a workspace arena that is reused from
 * call to call: it grows while the largest subnet is first run and then never allocates again.
 * Images enter as CHWN floats (layout.h) at the data resolution and are resized (bicubic) to the
 * subnet's resolution; logits leave as [n][classes]. The code never sees MPI: shards are plain
 * sample ranges, and the masks of dropout and drop-connect are drawn per GLOBAL sample index from
 * (seed, step), so P ranks draw exactly the masks one process would.
 */
#ifndef ALPHANET_NN_SUBNET_H
#define ALPHANET_NN_SUBNET_H

#include <stdint.h>

#include "alphanet/common.h"
#include "alphanet/nn/space.h"
#include "alphanet/nn/supernet.h"

typedef struct an_net_ws an_net_ws;

typedef enum {
    AN_BN_TRAIN = 0, /* batch statistics; keep what backward needs */
    AN_BN_CALIB,     /* batch statistics, and accumulate them for calibration (no backward) */
    AN_BN_INFER      /* running statistics of the supernet's BN buffers (no backward) */
} an_bn_mode;

typedef struct {
    an_bn_mode bn;
    float dropout;      /* classifier dropout rate; 0 = off */
    float drop_connect; /* base drop-connect rate (ALGORITHM.md section 4); 0 = off */
    uint64_t seed, step;
    long sample0;       /* global index of the first sample of this batch */
} an_fwd_opts;

/* Stream tags of the counter-based masks: stream = (step + 1) << 32 | tag. */
#define AN_STREAM_DROPOUT 0u
#define AN_STREAM_DROP_CONNECT(block) (1u + (unsigned)(block))

an_status an_net_ws_create(an_net_ws **ws);
void an_net_ws_free(an_net_ws *ws);
/* Bytes the workspace holds now (its high-water mark). */
size_t an_net_ws_bytes(const an_net_ws *ws);
/* The same, split: the forward arena (the tape kept for backward; its size is that of the
 * largest tape so far) and the scratch (the backward's transient gradients and temporaries, and
 * the training forward's depthwise activations, each kept only until its block has used it). */
void an_net_ws_arenas(const an_net_ws *ws, size_t *fwd, size_t *bwd);
/* The most bytes a forward has used at once in this workspace's forward arena. A training
 * forward keeps every block's tensors for the backward (but the depthwise activations it holds
 * in the scratch arena for a while); an inference or calibration forward keeps only the block
 * outputs, so its figure is far lower. */
size_t an_net_ws_fwd_peak(const an_net_ws *ws);

/* x: [c][h][w][n] with c = space.in_channels. logits: [n][classes], written. */
an_status an_subnet_forward(an_net_ws *ws, const an_supernet *net, const an_arch *a, const float *x, int h, int w,
                            int n, const an_fwd_opts *o, float *logits);
/* After an AN_BN_TRAIN forward: dlogits [n][classes] -> parameter gradients accumulated (+=) into
 * grad, which has the layout of net->w. */
an_status an_subnet_backward(an_net_ws *ws, const an_supernet *net, const float *dlogits, float *grad);

/* BN calibration (ALGORITHM.md section 5): begin, then AN_BN_CALIB forwards of one subnet over
 * N batches, then finish writes the equal-weight averages of the per-batch means and unbiased
 * variances into net->bn_mean / bn_var for the channels that subnet uses. */
an_status an_calib_begin(an_net_ws *ws, const an_supernet *net);
void an_calib_finish(an_net_ws *ws, an_supernet *net);
/* The calibration accumulators, so that a caller can sum them over processes between the
 * forwards and an_calib_finish: mean and var are net->bn_total doubles laid out like
 * net->bn_mean; count is 2 * net->nbn doubles: batches per BN layer, then channels x batches. */
void an_calib_sums(an_net_ws *ws, const an_supernet *net, double **mean, double **var, double **count);

/* Activation of the stem output of the last forward, [c][h][w][n] (for tests); NULL if none. */
const float *an_net_ws_stem_output(const an_net_ws *ws, int *c, int *h, int *w);

#endif

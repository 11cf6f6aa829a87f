/* loop.h - a whole training run: data, supernet, the coordinator's plans, sandwich steps,
 * evaluation with BN calibration, progress lines and the metrics file.
 *
 * Rank 0 is the coordinator: it samples each step's subnets from its own seeded generator and
 * broadcasts the plan; every rank computes its shard; gradients and statistics are summed over
 * the group. On one process the group is trivial. Rank 0 alone prints and writes files in the
 * run folder: config.yaml (the effective config), metrics.jsonl (one JSON object per line),
 * plans.log (every step's subnets: the full record of what was trained).
 */
#ifndef ALPHANET_TRAIN_LOOP_H
#define ALPHANET_TRAIN_LOOP_H

#include <signal.h>
#include <stdio.h>

#include "alphanet/io/config.h"
#include "alphanet/train/eval.h"
#include "alphanet/train/group.h"

/* Injected faults, for the tests of the failure paths (the CLI reads ALPHANET_FAULT). */
typedef enum {
    AN_FAULT_NONE = 0,
    AN_FAULT_ERROR,   /* the rank's step returns an error (e.g. what bad data or a NaN does) */
    AN_FAULT_EXIT,    /* the rank exits mid-step without a word, as a crashed process does */
    AN_FAULT_KILL,    /* the rank sends itself SIGKILL mid-step */
    AN_FAULT_PERTURB, /* the rank changes one parameter: the ranks' parameters diverge */
    AN_FAULT_STOP,    /* the rank receives a stop request, as from SIGTERM (needs stop_flag) */
    AN_FAULT_NAN      /* the rank's gradient gets a NaN (a numerical blow-up) */
} an_fault_kind;

/* Parses "KIND@RANK:STEP" (kind error|exit|kill|perturb|stop|nan), e.g. "exit@1:3". */
an_status an_fault_parse(const char *text, an_fault_kind *kind, int *rank, long *step);

typedef struct {
    int quiet;              /* no progress lines */
    FILE *out;              /* progress (default stdout) */
    an_fault_kind fault;    /* injected fault (AN_FAULT_NONE normally) at fault_step on fault_rank */
    int fault_rank;
    long fault_step;
    int want_params;        /* copy the final parameters into params (caller frees with an_free) */
    /* set (to non-zero) by a signal handler on any rank: all ranks stop at the next step
     * boundary, a checkpoint is written, and an_train_run returns AN_STOPPED */
    volatile sig_atomic_t *stop_flag;
    /* results, filled on return */
    long steps_done;
    double seconds;         /* wall time of the training steps (evaluation excluded) */
    double images_per_s;
    int nfinal;
    char final_arch[2 + AN_MAX_EVAL_ARCHS][AN_ARCH_TEXT_MAX];
    an_eval_result final[2 + AN_MAX_EVAL_ARCHS]; /* test set: min, max, then eval.archs */
    double final_mflops[2 + AN_MAX_EVAL_ARCHS];
    /* where the time of the training steps went, summed over steps (seconds, this rank):
     * compute = forward/backward of the local shard and the optimizer, wait = waiting for the
     * slowest rank, comm = the gradient reduction and the other collectives of the step */
    double t_compute, t_wait, t_comm;
    double bytes_reduced;   /* per step, gradient reduction only */
    double data_digest[2];  /* order-independent digest of (step, batch position, sample) over all ranks */
    int last_shard;         /* this rank's shard of the last step (samples) */
    long skipped;           /* steps skipped for a NaN/Inf loss or gradient (train.nonfinite: skip) */
    float *params;
    size_t nparams;
} an_run_info;

an_status an_train_run(const an_config *cfg, const an_group *g, an_run_info *info);

#endif

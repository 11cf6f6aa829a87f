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

#include <stdio.h>

#include "alphanet/io/config.h"
#include "alphanet/train/eval.h"
#include "alphanet/train/group.h"

typedef struct {
    int quiet;              /* no progress lines */
    FILE *out;              /* progress (default stdout) */
    /* results, filled on return */
    long steps_done;
    double seconds;         /* wall time of the training steps (evaluation excluded) */
    double images_per_s;
    int nfinal;
    char final_arch[2 + AN_MAX_EVAL_ARCHS][AN_ARCH_TEXT_MAX];
    an_eval_result final[2 + AN_MAX_EVAL_ARCHS]; /* test set: min, max, then eval.archs */
    double final_mflops[2 + AN_MAX_EVAL_ARCHS];
} an_run_info;

an_status an_train_run(const an_config *cfg, const an_group *g, an_run_info *info);

#endif

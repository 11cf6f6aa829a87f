/* eval.h - accuracy of a subnet after BN calibration (ALGORITHM.md section 5).
 *
 * Calibration: calib_batches batches of eval.batch training images (no augmentation, a fixed
 * order from the seed), forward with batch statistics, running mean and variance = the
 * equal-weight averages of the per-batch means and unbiased variances. Then inference with those
 * statistics over the evaluation set. With several ranks, batches are dealt round-robin and the
 * statistics and counts are summed over ranks: the result does not depend on the rank count.
 * eval.calib_batches = 0 skips calibration and uses the statistics the supernet holds (an exported
 * subnet's). calib may then be NULL.
 */
#ifndef ALPHANET_TRAIN_EVAL_H
#define ALPHANET_TRAIN_EVAL_H

#include "alphanet/io/config.h"
#include "alphanet/io/dataset.h"
#include "alphanet/nn/subnet.h"
#include "alphanet/train/group.h"

typedef struct {
    double top1, top5; /* fractions in [0, 1]; top5 is 0 when classes <= 5 */
    double loss;       /* mean cross-entropy (no smoothing) */
    long n;
} an_eval_result;

/* logits (may be NULL): receives data->n x classes logits on every rank (summed over the group). */
an_status an_evaluate(an_supernet *net, an_net_ws *ws, const an_config *cfg, const an_arch *a, const an_dataset *calib,
                      const an_dataset *data, const an_group *g, an_eval_result *r, float *logits_out);

#endif

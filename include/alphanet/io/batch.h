/* batch.h - from a dataset to the float batches the network eats.
 *
 * Everything here is a pure function of (seed, epoch, sample index), never of the rank or the
 * number of ranks: the epoch's order is one global permutation, a global batch is a contiguous
 * run of it, a rank's shard is a contiguous part of the global batch, and the augmentation of a
 * sample depends on its index only. So P ranks see exactly the samples one process sees, and a
 * resumed run sees exactly the samples of the uninterrupted one.
 */
#ifndef ALPHANET_IO_BATCH_H
#define ALPHANET_IO_BATCH_H

#include <stdint.h>

#include "alphanet/io/config.h"
#include "alphanet/io/dataset.h"

/* perm[0..n) = the order of epoch `epoch` (Fisher-Yates from a generator seeded by seed and epoch). */
void an_epoch_order(long *perm, long n, uint64_t seed, long epoch);

/* Shard of rank r among P ranks of a global batch of B samples: [*first, *first + *count).
 * Sizes differ by at most one; with weights (may be NULL) the shard sizes follow the weights. */
void an_shard(int B, int P, int r, const double *weights, int *first, int *count);

/* x [c][h][w][nb] (CHWN floats, normalised, h x w = d->h x d->w) from samples idx[0..nb) of d.
 * With AN_AUG_PAD_CROP (small fixed-size images): train = 1 takes a random crop after zero
 * padding by data.crop_padding and a horizontal flip; train = 0 the images as they are.
 * With AN_AUG_RRC (photos): train = 1 is torchvision's RandomResizedCrop(h, data.scale,
 * data.ratio) and a horizontal flip; train = 0 resizes the shorter side to h / data.eval_crop and
 * takes the centre h x h (image.h). Random draws come from (seed, epoch, sample index) only.
 * Decoding and resampling run on data.workers threads. Fails on an unreadable or damaged record. */
an_status an_make_batch(float *x, int *labels, const an_dataset *d, const long *idx, int nb, const an_data_cfg *dc,
                        int train, uint64_t seed, long epoch);

#endif

/* dataset.h - labelled image sets in memory, and the readers that fill them.
 *
 * Images are uint8 [n][h][w][c] (as stored on disk), labels int32 [n] in [0, classes).
 * Sources: Fashion-MNIST's IDX files (gzip'ed or not, as Debian's dataset-fashion-mnist ships
 * them) and this project's HDF5 image format (see h5.h and docs/formats.md). Every reader checks
 * magic numbers, shapes, counts and label ranges before any large allocation, and says what is
 * wrong with which file.
 */
#ifndef ALPHANET_IO_DATASET_H
#define ALPHANET_IO_DATASET_H

#include <stdint.h>

#include "alphanet/common.h"
#include "alphanet/io/config.h"
#include "alphanet/io/records.h"

/* A labelled image set. h, w, c are the size of the images its batches deliver. The pixels come
 * from one of three sources:
 *   - memory: `images` [n][src_h][src_w][c] (src_h = 0 means src_h = h, src_w = w);
 *   - records: `rec`, sample i being record base + i (read and decoded on demand);
 *   - synthetic: random images drawn from the sample index, no I/O.
 * `augment` (AN_AUG_PAD_CROP or AN_AUG_RRC) says how batches are made from them (batch.h). */
typedef struct {
    long n;
    int h, w, c;
    int classes;
    uint8_t *images;
    int32_t *labels;
    int src_h, src_w;
    const an_records *rec;
    an_records *rec_owned; /* set in the dataset that closes rec */
    long base;
    int synthetic;
    int view;              /* images and labels belong to another dataset */
    int augment;
} an_dataset;

/* Reads an IDX image file and its label file (gzip or raw). */
an_status an_idx_load(an_dataset *d, const char *images_path, const char *labels_path, int classes);
void an_dataset_free(an_dataset *d);

/* Loads the training and test sets named by the config (data.dataset, data.dir), applies
 * data.limit, and moves the last data.validation training images into *val (if val != NULL).
 * data.dataset hdf5 reads DIR/train.h5 and DIR/test.h5 (version 1, into memory) or else the
 * record shards DIR/train-*.h5 and DIR/test-*.h5 (version 2, read on demand). Resolves
 * data.augment and data.image_size, and checks image channels against space.in_channels and
 * labels against space.classes. */
an_status an_data_load(const an_config *cfg, an_dataset *train, an_dataset *val, an_dataset *test);

#endif

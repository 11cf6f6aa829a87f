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

typedef struct {
    long n;
    int h, w, c;
    int classes;
    uint8_t *images;
    int32_t *labels;
} an_dataset;

/* Reads an IDX image file and its label file (gzip or raw). */
an_status an_idx_load(an_dataset *d, const char *images_path, const char *labels_path, int classes);
void an_dataset_free(an_dataset *d);

/* Loads the training and test sets named by the config (data.dataset, data.dir), applies
 * data.limit, and moves the last data.validation training images into *val (if val != NULL).
 * Checks image channels against space.in_channels and labels against space.classes. */
an_status an_data_load(const an_config *cfg, an_dataset *train, an_dataset *val, an_dataset *test);

#endif

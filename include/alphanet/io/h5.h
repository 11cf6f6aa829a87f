/* h5.h - every use of HDF5 in the project goes through this module.
 *
 * Image datasets (format "alphanet-images", version 1), one file per split:
 *   /images  uint8 [n][h][w][c]      (chunked per 256 images, Fletcher-32 checksummed)
 *   /labels  int32 [n]
 *   attributes of the root group: format = "alphanet-images", version = 1, classes (int32),
 *   mean, std (float32 [c], the normalisation constants), source (string).
 * Files are written to a temporary name, flushed and renamed, so an interrupted write never
 * leaves a damaged file under the final name.
 */
#ifndef ALPHANET_IO_H5_H
#define ALPHANET_IO_H5_H

#include "alphanet/common.h"
#include "alphanet/io/checkpoint.h"
#include "alphanet/io/dataset.h"
#include "alphanet/io/records.h"

an_status an_h5_write_images(const char *path, const an_dataset *d, const float *mean, const float *std,
                             const char *source);
/* Reads a file written by an_h5_write_images; mean/std (may be NULL) receive up to 4 values. */
an_status an_h5_read_images(const char *path, an_dataset *d, float *mean, float *std);

/* Record shards ("alphanet-images" version 2; records.h, docs/formats.md). The writer puts the
 * shard in place atomically (temporary name, flush, rename). The reader fills everything but
 * `data`, and sets data_addr to the file address of the contiguous /data for pread(). */
an_status an_h5_write_records(const char *path, const an_records_shard *s);
an_status an_h5_read_records_index(const char *path, an_records_shard *s);

/* Checkpoints ("alphanet-checkpoint", version 1; docs/formats.md): every tensor a float32 dataset
 * with the official name and shape, chunked whole and Fletcher-32 checksummed, so any damaged
 * byte fails the read. Written to a temporary name, flushed and renamed. */
an_status an_h5_write_checkpoint(const char *path, const an_ckpt_state *s, const an_supernet *net, const float *mom);
/* Reads the state, config and metrics (texts allocated; an_ckpt_state_free). */
an_status an_h5_read_checkpoint_state(const char *path, an_ckpt_state *s);
/* Reads parameters, BN buffers and (if mom != NULL) momentum into a supernet of the same space;
 * any missing, extra or differently shaped tensor, or a checksum failure, is an error. */
an_status an_h5_read_checkpoint_tensors(const char *path, an_supernet *net, float *mom);

/* Per-sample logits of an evaluation ("alphanet-logits", version 1): /logits float32 [n][classes],
 * /labels int32 [n], attributes arch, split, top1. */
an_status an_h5_write_logits(const char *path, const float *logits, const int32_t *labels, long n, int classes,
                             const char *arch, const char *split, double top1);

/* Exported subnets ("alphanet-subnet", version 1; docs/formats.md): the active slices of one
 * subnet's parameters and its (calibrated) BN statistics under the official names, the arch, the
 * space's config text. */
an_status an_h5_write_subnet(const char *path, const an_supernet *net, const an_subnet_slices *sl, const char *arch,
                             const char *config_text, double mflops, double mparams, const char *source, long step);
int an_h5_is_subnet(const char *path);
an_status an_h5_read_subnet_header(const char *path, char **config_text, char *arch, size_t cap);
/* Zeroes net->w, then fills the slices of `sl` and their BN statistics from the file. */
an_status an_h5_read_subnet_tensors(const char *path, an_supernet *net, const an_subnet_slices *sl);

#endif

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
#include "alphanet/io/dataset.h"

an_status an_h5_write_images(const char *path, const an_dataset *d, const float *mean, const float *std,
                             const char *source);
/* Reads a file written by an_h5_write_images; mean/std (may be NULL) receive up to 4 values. */
an_status an_h5_read_images(const char *path, an_dataset *d, float *mean, float *std);

#endif

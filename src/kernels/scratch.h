/* scratch.h - private per-thread scratch memory for kernels that need a temporary layout
 * (depthwise convolution's batch-innermost copies). It only grows, so after the first step of
 * the largest subnet no kernel allocates again. */
#ifndef ALPHANET_KERNELS_SCRATCH_H
#define ALPHANET_KERNELS_SCRATCH_H

#include <stddef.h>

/* Returns at least `floats` floats of 64-byte aligned scratch for slot `slot` (0..3) of the
 * calling thread, or NULL if the allocation failed. Contents are undefined. */
float *an_scratch(int slot, size_t floats);

#endif

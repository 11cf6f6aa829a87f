/* group.h - what the training code needs from "the other processes", as plain function
 * pointers. The training loop calls these; on one process they do nothing, and the distributed
 * layer (src/dist, the only code that calls MPI) provides an implementation over MPI. Training
 * code therefore never sees MPI, only a rank and a size. */
#ifndef ALPHANET_TRAIN_GROUP_H
#define ALPHANET_TRAIN_GROUP_H

#include <stddef.h>

#include "alphanet/common.h"

typedef struct {
    int rank, size;
    void *ctx;
    /* in-place sums over all ranks */
    an_status (*sum_f32)(void *ctx, float *buf, size_t n);
    an_status (*sum_f64)(void *ctx, double *buf, size_t n);
    /* bytes from rank `root` to all */
    an_status (*bcast)(void *ctx, void *buf, size_t n, int root);
    /* AN_OK on every rank iff every rank passed AN_OK */
    an_status (*agree)(void *ctx, an_status local);
} an_group;

/* The group of one process. */
an_group an_group_single(void);

#endif

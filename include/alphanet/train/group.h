/* group.h - what the training code needs from "the other processes", as plain function
 * pointers. The training loop calls these; on one process they do nothing, and the distributed
 * layer (src/dist, the only code that calls MPI) provides an implementation over MPI. Training
 * code therefore never sees MPI, only a rank and a size. */
#ifndef ALPHANET_TRAIN_GROUP_H
#define ALPHANET_TRAIN_GROUP_H

#include <stddef.h>

#include "alphanet/common.h"

/* One task of a farm: fills nres doubles of results for task `task`. */
typedef an_status (*an_task_fn)(void *wctx, int task, double *res);

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
    /* Dynamic task farm (every rank calls it): tasks 0..ntasks-1 go to the ranks as they become
     * free; with P > 1 rank 0 only hands out tasks and collects, ranks 1..P-1 work. On return
     * rank 0 holds every task's nres results in results[task * nres ...]. busy / idle (may be
     * NULL) receive this rank's seconds of work and of waiting for work. A failed task stops the
     * farm; every rank then returns the failing rank's error. */
    an_status (*farm)(void *ctx, int ntasks, int nres, an_task_fn work, void *wctx, double *results, double *busy,
                      double *idle);
} an_group;

/* The group of one process. */
an_group an_group_single(void);

#endif

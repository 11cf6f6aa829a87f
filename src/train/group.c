/* group.c - the one-process group (see group.h). */
#include "alphanet/common.h"
#include "alphanet/train/group.h"

#include <time.h>

static an_status none_f32(void *ctx, float *buf, size_t n) { (void)ctx, (void)buf, (void)n; return AN_OK; }
static an_status none_f64(void *ctx, double *buf, size_t n) { (void)ctx, (void)buf, (void)n; return AN_OK; }
static an_status none_bcast(void *ctx, void *buf, size_t n, int root) { (void)ctx, (void)buf, (void)n, (void)root; return AN_OK; }
static an_status self_agree(void *ctx, an_status local) { (void)ctx; return local; }

/* one process: the tasks in order */
static an_status self_farm(void *ctx, int ntasks, int nres, an_task_fn work, void *wctx, double *results, double *busy,
                           double *idle)
{
    (void)ctx;
    const double t0 = an_now();
    an_status st = AN_OK;
    for (int t = 0; t < ntasks && st == AN_OK; t++) st = work(wctx, t, results + (size_t)t * nres);
    if (busy) *busy += an_now() - t0;
    (void)idle;
    return st;
}

an_group an_group_single(void)
{
    return (an_group){.rank = 0, .size = 1, .ctx = NULL, .sum_f32 = none_f32, .sum_f64 = none_f64,
                      .bcast = none_bcast, .agree = self_agree, .farm = self_farm};
}

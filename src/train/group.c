/* group.c - the one-process group (see group.h). */
#include "alphanet/train/group.h"

static an_status none_f32(void *ctx, float *buf, size_t n) { (void)ctx, (void)buf, (void)n; return AN_OK; }
static an_status none_f64(void *ctx, double *buf, size_t n) { (void)ctx, (void)buf, (void)n; return AN_OK; }
static an_status none_bcast(void *ctx, void *buf, size_t n, int root) { (void)ctx, (void)buf, (void)n, (void)root; return AN_OK; }
static an_status self_agree(void *ctx, an_status local) { (void)ctx; return local; }

an_group an_group_single(void)
{
    return (an_group){.rank = 0, .size = 1, .ctx = NULL, .sum_f32 = none_f32, .sum_f64 = none_f64,
                      .bcast = none_bcast, .agree = self_agree};
}

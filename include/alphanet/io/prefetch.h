/* prefetch.h - making the next batch in a background thread while the current one trains.
 *
 * Two batch buffers: the caller trains on one while a background thread fills the other with
 * the batch it was told comes next (an_make_batch, so with data.workers decoding threads).
 * Since a batch is a pure function of (samples, seed, epoch), a prediction that turns out wrong
 * (shard sizes that changed with rank speeds, say) only costs time: get() then makes the batch
 * it was asked for on the spot. Results never depend on whether prefetching is on.
 */
#ifndef ALPHANET_IO_PREFETCH_H
#define ALPHANET_IO_PREFETCH_H

#include <stdint.h>

#include "alphanet/io/batch.h"

typedef struct an_prefetch an_prefetch;

/* Batches of up to nmax samples of d; background = 0 makes every batch in get(). */
an_status an_prefetch_create(an_prefetch **p, const an_dataset *d, const an_data_cfg *dc, int nmax, int background);
/* Starts making the batch of samples idx[0..n) (copied) for (seed, epoch, train) in the background. */
void an_prefetch_submit(an_prefetch *p, const long *idx, int n, int train, uint64_t seed, long epoch);
/* The batch of idx[0..n): *x [c][h][w][n] and *labels, valid until the next get (a submit
 * fills the other buffer, so the caller may submit the next batch and then train on this one). */
an_status an_prefetch_get(an_prefetch *p, const long *idx, int n, int train, uint64_t seed, long epoch, float **x,
                          int **labels);
/* Seconds get() spent waiting for, or making, batches since creation (input not hidden). */
double an_prefetch_wait_seconds(const an_prefetch *p);
void an_prefetch_free(an_prefetch *p);

#endif

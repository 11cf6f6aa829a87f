/* comm.h - the communication layer. This module is the ONLY code that calls MPI: everything
 * else sees the rank and the world size as plain integers and asks this module to move data.
 *
 * Every collective here returns an an_status instead of aborting, and the error handler of the
 * world communicator is set to return errors, so that a failed rank turns into a clean,
 * agreed stop (see an_comm_agree) rather than a hang or an abort with a stack of MPI noise.
 */
#ifndef ALPHANET_DIST_COMM_H
#define ALPHANET_DIST_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "alphanet/common.h"

typedef struct {
    int rank;  /* 0 .. size-1; rank 0 is the coordinator */
    int size;
    int owns_mpi; /* 1 if an_comm_init initialised MPI and an_comm_finalize must finalise it */
} an_comm;

/* Initialises MPI (thread level FUNNELED) if needed. argc/argv may be NULL. */
an_status an_comm_init(an_comm *c, int *argc, char ***argv);
void an_comm_finalize(an_comm *c);

/* In-place sum over all ranks of n floats (then multiplied by `scale`, e.g. 1/size to average). */
an_status an_comm_allreduce_sum_f32(const an_comm *c, float *buf, size_t n, float scale);
/* In-place sum of n doubles over all ranks (statistics, checksums). */
an_status an_comm_allreduce_sum_f64(const an_comm *c, double *buf, size_t n);
/* Broadcast n bytes from `root`. */
an_status an_comm_bcast(const an_comm *c, void *buf, size_t n, int root);
/* Every rank passes its local status; all get back AN_OK only if every rank passed AN_OK.
 * Otherwise every rank gets the status of the lowest failing rank, and its error message
 * (prefixed "rank R: " when there are several ranks) becomes every rank's message, so rank 0
 * can report the first-hand cause. Call it before any collective that a failed rank would
 * otherwise never join. */
#define AN_AGREE_MSG_MAX 1024
an_status an_comm_agree(const an_comm *c, an_status local);
an_status an_comm_barrier(const an_comm *c);
/* Ends the whole job immediately with `code` (last resort: a rank that cannot take part). */
void an_comm_abort(const an_comm *c, int code);

/* MPI-IO reads of byte ranges of a file (used to measure MPI-IO against plain pread for the
 * record shards; docs/data.md). Open and close are collective over all ranks. read_ranges reads
 * n ranges (off[i], len[i]) one after the other into buf: collective = 1 through an hindexed file
 * view and MPI_File_read_all (every rank calls, n may be 0), collective = 0 with one
 * MPI_File_read_at per range. */
typedef struct an_comm_file an_comm_file;
an_status an_comm_file_open(const an_comm *c, const char *path, an_comm_file **f);
an_status an_comm_file_read_ranges(an_comm_file *f, int n, const int64_t *off, const int64_t *len, void *buf,
                                   int collective);
void an_comm_file_close(an_comm_file *f);

/* The training code's view of the communicator (train/group.h): function pointers over MPI. */
#include "alphanet/train/group.h"

/* The dynamic task farm of group.h over MPI: rank 0 sends task numbers to workers as they return
 * results (point-to-point; it naps between polls instead of spinning), ranks 1..P-1 work. */
an_status an_comm_farm(const an_comm *c, int ntasks, int nres, an_task_fn work, void *wctx, double *results,
                       double *busy, double *idle);
an_group an_comm_group(an_comm *c);

#endif

/* checkpoint.h - what a checkpoint holds, where checkpoints live in a run folder, and which
 * one a resumed run continues from. The HDF5 reading and writing is in io/h5.c (the only HDF5
 * code); the layout is documented in docs/formats.md.
 *
 * A run folder keeps checkpoints as <run.dir>/checkpoints/ckpt-<step, 9 digits>.h5, the newest
 * run.keep_checkpoints of them. Each is complete on its own: supernet parameters, batch-norm
 * running statistics, SGD momentum, the step and the coordinator's generator state (everything
 * that makes the rest of the run identical), the effective config and the metrics history.
 */
#ifndef ALPHANET_IO_CHECKPOINT_H
#define ALPHANET_IO_CHECKPOINT_H

#include <stdint.h>

#include "alphanet/common.h"
#include "alphanet/io/config.h"
#include "alphanet/nn/supernet.h"

#define AN_CKPT_FORMAT "alphanet-checkpoint"
#define AN_CKPT_VERSION 1

typedef struct {
    long step;              /* training steps done */
    long steps_per_epoch;
    long schedule_steps;    /* length of the learning-rate schedule */
    int world_size;         /* ranks of the run that wrote it */
    int micro_batches;
    long seed;
    uint64_t coord_rng[4];  /* the coordinator's generator (subnet sampling) */
    double data_digest[2];  /* digest of the samples trained so far (see loop.h) */
    double train_seconds;   /* wall time of training steps so far */
    char software[32];      /* alphanet version that wrote it */
    char created[32];       /* UTC time, ISO 8601 */
    char *config_text;      /* the effective config (YAML); owned after a read */
    char *metrics_text;     /* metrics.jsonl up to this step; owned after a read */
} an_ckpt_state;

void an_ckpt_state_free(an_ckpt_state *s);

/* "<dir>/checkpoints/ckpt-000001234.h5" */
void an_ckpt_path(const char *run_dir, long step, char *out, size_t cap);

/* Steps of the checkpoints in <dir>/checkpoints, newest first; returns how many (at most max).
 * Temporary files of interrupted writes are ignored. */
int an_ckpt_list(const char *run_dir, long *steps, int max);

/* Deletes all but the newest `keep` checkpoints, and temporary files left by interrupted writes. */
void an_ckpt_prune(const char *run_dir, int keep);

/* Opens a checkpoint for use after training: its config (with `nset` overrides "section.key=value"
 * applied, e.g. a data.dir valid on this machine), a supernet of its space holding its parameters
 * and BN buffers, and its state (texts owned; an_ckpt_state_free). */
an_status an_ckpt_load(const char *path, int nset, char *const *sets, an_config *cfg, an_supernet *net,
                       an_ckpt_state *state);

#endif

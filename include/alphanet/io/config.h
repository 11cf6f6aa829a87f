/* config.h - the YAML configuration of a run (libyaml), and command-line overrides.
 *
 * A config file has the sections space (required), data, train, eval, run, dist and search; every key is
 * listed in docs/config.md with its default. Loading is strict: an unknown key, a value of the
 * wrong type or out of range, or an inconsistent combination is an error whose message names the
 * file, line and column, the key, what was expected and what is allowed. Overrides
 * "section.key=value" (the --set option) are parsed as YAML values and go through the same checks;
 * their errors name the override instead of a file position.
 */
#ifndef ALPHANET_IO_CONFIG_H
#define ALPHANET_IO_CONFIG_H

#include <stdio.h>

#include "alphanet/common.h"
#include "alphanet/nn/space.h"

#define AN_PATH_MAX 1024

typedef enum { AN_DISTILL_ALPHA = 0, AN_DISTILL_KL, AN_DISTILL_NONE } an_distill_kind;

typedef struct {
    char dataset[32];      /* "fashion-mnist" | "hdf5" | "synthetic" */
    char dir[AN_PATH_MAX]; /* folder of the IDX files, or of train.h5 / test.h5 */
    int validation;        /* training images held out for validation */
    int crop_padding;      /* random-crop padding in pixels (0 = no crop) */
    int hflip;
    int nchannels_norm;    /* entries in mean/std (= space.in_channels) */
    float mean[4], std[4];
    long limit;            /* use only the first `limit` training images (0 = all); for tests */
    long test_limit;       /* use only the first `test_limit` test images (0 = all); for quick checks */
    int augment;           /* AN_AUG_AUTO (by dataset), AN_AUG_PAD_CROP or AN_AUG_RRC */
    int image_size;        /* side of the images the pipeline delivers (0 = auto) */
    float eval_crop;       /* evaluation: resize to image_size / eval_crop, centre crop image_size */
    float scale[2];        /* RandomResizedCrop area fraction range */
    float ratio[2];        /* RandomResizedCrop aspect ratio range (w / h) */
    int workers;           /* decoding threads per rank */
    int prefetch;          /* prepare the next batch in a background thread */
    long synthetic_images; /* training images of the synthetic data set (test: a tenth) */
} an_data_cfg;

enum { AN_AUG_AUTO = 0, AN_AUG_PAD_CROP, AN_AUG_RRC };
const char *an_augment_name(int augment);

typedef struct {
    long seed;
    double epochs;          /* may be fractional (e.g. 0.5) for short runs */
    int batch;              /* global batch */
    double lr;              /* base learning rate before batch scaling */
    double momentum;
    int nesterov;
    double weight_decay;
    double warmup_epochs;
    double label_smoothing;
    double grad_clip;       /* 0 = off */
    double dropout, drop_connect;
    an_distill_kind distill;
    double alpha_min, alpha_max, iw_clip;
    int num_random;
    int sandwich;
    double distill_warmup_epochs; /* 0 = off (official); else ramp the distillation loss weight from 0 */
    long max_steps;         /* stop after this many steps (0 = run all epochs); for tests and benchmarks */
    int micro_batches;      /* each rank runs its shard as this many micro-batches (gradient accumulation) */
    int nonfinite_skip;     /* a NaN/Inf loss or gradient: 1 = skip the step, 0 = stop with a checkpoint */
    int max_skips;          /* consecutive skipped steps before stopping anyway */
} an_train_cfg;

#define AN_MAX_EVAL_ARCHS 8

typedef struct {
    double every_epochs;    /* 0 = only at the end */
    int calib_batches;
    int batch;
    int narchs;             /* further subnets evaluated at the end of training (besides min and max) */
    char archs[AN_MAX_EVAL_ARCHS][AN_ARCH_TEXT_MAX];
} an_eval_cfg;

typedef struct {
    char dir[AN_PATH_MAX];
    int log_every;
    int checkpoint;            /* write checkpoints at all */
    long checkpoint_every;     /* steps between checkpoints (0 = only by time, at the end and on a signal) */
    double checkpoint_minutes; /* minutes between checkpoints (0 = off) */
    int keep_checkpoints;      /* the newest K are kept */
    char resume[AN_PATH_MAX];  /* "none", "auto" (newest valid checkpoint in dir) or a checkpoint file */
} an_run_cfg;

typedef struct {
    long seed;
    int population;         /* candidates of the first generation (the smallest + uniform samples) */
    int parents;            /* best candidates kept as parents of each next generation */
    int mutations, crossovers; /* new candidates per generation */
    int generations;        /* generations after the first */
    double mutate_prob;     /* per gene, resolution included */
    double crossover_prob;  /* per gene: taken from the first parent with this probability */
    int calib_batches;      /* BN calibration batches (of eval.batch training images) per candidate */
    long val_images;        /* validation images per candidate (0 = the whole split) */
    double bucket_mflops;   /* width of the FLOPs buckets of the Pareto table */
} an_search_cfg;

typedef struct {
    int balance;            /* size each rank's shard by its measured speed */
    int check_every;        /* steps between checks that all ranks hold the same parameters (0 = off) */
} an_dist_cfg;

typedef struct {
    char path[AN_PATH_MAX]; /* where it was loaded from ("" for a string) */
    an_space space;
    an_data_cfg data;
    an_train_cfg train;
    an_eval_cfg eval;
    an_run_cfg run;
    an_dist_cfg dist;
    an_search_cfg search;
} an_config;

/* Loads `path` and applies `nset` overrides of the form "section.key=value". */
an_status an_config_load(an_config *c, const char *path, int nset, char *const *sets);
/* Same from a string; `name` is used in messages. */
an_status an_config_parse(an_config *c, const char *text, size_t len, const char *name, int nset, char *const *sets);
/* Writes the effective configuration (every key, defaults included) as YAML that loads back to
 * the same values. */
void an_config_dump(const an_config *c, FILE *fp);
const char *an_distill_name(an_distill_kind k);

#endif

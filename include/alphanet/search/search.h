/* search.h - the evolutionary search of a trained supernet under a FLOPs range (ALGORITHM.md
 * section 6), distributed as a task farm: the coordinator (rank 0) draws every candidate from its
 * seeded generator and hands candidates to ranks as they become free; each candidate is BN
 * calibrated and evaluated on one rank. A candidate's result depends only on the candidate, so
 * the whole search is the same on any number of ranks.
 *
 * Generation 0: the smallest subnet (if in range) and uniform samples, rejected until their
 * FLOPs lie in [min, max], search.population in all. Each further generation: the best
 * search.parents of everything evaluated so far are the parents; search.mutations mutants
 * (every gene, resolution included, redrawn with probability mutate_prob) and search.crossovers
 * crossovers (each gene from the first parent with probability crossover_prob, else from the
 * second), rejection-filtered to the range; a candidate is never evaluated twice.
 */
#ifndef ALPHANET_SEARCH_SEARCH_H
#define ALPHANET_SEARCH_SEARCH_H

#include <stdio.h>

#include "alphanet/io/config.h"
#include "alphanet/io/dataset.h"
#include "alphanet/nn/subnet.h"
#include "alphanet/train/group.h"

typedef struct {
    an_arch arch;
    int generation;
    double mflops, mparams;
    double top1, loss;     /* on the validation images */
    double test_top1;      /* on the test set, for Pareto winners when requested (else -1) */
} an_candidate;

typedef struct {
    int n;                 /* candidates evaluated (rank 0; 0 elsewhere) */
    an_candidate *c;       /* in evaluation order */
    double seconds;
    double busy, idle;     /* summed over the working ranks */
} an_search_result;

/* Runs the search on every rank of g. calib: training images for BN calibration; val: the images
 * candidates are ranked on; test (may be NULL): Pareto winners are also evaluated on it. */
/* progress (may be NULL): rank 0 writes a line per generation there. */
an_status an_search_run(const an_config *cfg, an_supernet *net, const an_dataset *calib, const an_dataset *val,
                        const an_dataset *test, const an_group *g, double mflops_min, double mflops_max,
                        an_search_result *res, FILE *progress);
void an_search_result_free(an_search_result *r);

/* Indices of the Pareto table's rows: the best top-1 per bucket of search.bucket_mflops, in
 * increasing FLOPs; returns the number of rows (at most cap). */
int an_search_pareto(const an_search_result *r, double bucket_mflops, int *rows, int cap);

/* Genetic operators (exposed for tests): every gene redrawn with probability p; each gene of the
 * child from a with probability p, else from b. */
void an_arch_mutate(const an_space *s, an_rng *rng, const an_arch *parent, double p, an_arch *child);
void an_arch_crossover(const an_space *s, an_rng *rng, const an_arch *a, const an_arch *b, double p, an_arch *child);

#endif

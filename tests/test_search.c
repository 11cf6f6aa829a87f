/* test_search.c - the evolutionary search on P = 1, 2 or 4 ranks (under mpirun), on a briefly
 * trained tiny supernet and the toy data:
 *   - the search on P ranks (a task farm) gives exactly the candidates and accuracies of the
 *     same search on one process (same seed), in the same order;
 *   - every candidate lies in the FLOPs range, none is evaluated twice, the first generation
 *     starts with the smallest subnet when it is in range, later generations exist;
 *   - the Pareto rows are the best of their buckets, in increasing FLOPs;
 *   - the genetic operators: probability 0 / 1 keep / take the expected genes, and mutation
 *     with probability 1 changes something;
 *   - a range outside the space is a clear error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/dist/comm.h"
#include "alphanet/io/config.h"
#include "alphanet/io/dataset.h"
#include "alphanet/search/search.h"
#include "alphanet/train/loop.h"
#include "test.h"
#include "tiny.h"

int main(int argc, char **argv)
{
    an_comm c;
    if (an_comm_init(&c, &argc, &argv) != AN_OK) {
        fprintf(stderr, "init failed: %s\n", an_error_message());
        return 1;
    }
    const int P = c.size, root = c.rank == 0;
    char dir[128], cfgpath[200];
    snprintf(dir, sizeof dir, "search_np%d", P);
    snprintf(cfgpath, sizeof cfgpath, "%s/tiny.yaml", dir);
    an_status st = AN_OK;
    if (root && t_toy_run_setup(dir, "run: {log_every: 100, checkpoint: false}\n"
                                     "search: {population: 6, parents: 3, mutations: 3, crossovers: 3, generations: 2, "
                                     "calib_batches: 1, seed: 5}\n"))
        st = an_error(AN_ERR_IO, "cannot write the toy data and config in '%s'", dir);
    if ((st = an_comm_agree(&c, st))) {
        fprintf(stderr, "FIXTURE ERROR: %s\n", an_error_message());
        return 1;
    }
    an_config cfg;
    char rd[300];
    snprintf(rd, sizeof rd, "run.dir=%s/run", dir);
    char *sets[] = {rd, "data.validation=24"};
    if (an_config_load(&cfg, cfgpath, 2, sets)) {
        fprintf(stderr, "FIXTURE ERROR: %s\n", an_error_message());
        return 1;
    }
    an_group g = an_comm_group(&c), one = an_group_single();

    /* genetic operators */
    an_rng rng;
    an_rng_seed(&rng, 3);
    an_arch a, b, child;
    an_arch_smallest(&cfg.space, &a);
    an_arch_largest(&cfg.space, &b);
    an_arch_mutate(&cfg.space, &rng, &a, 0.0, &child);
    CHECK(an_arch_equal(&child, &a));
    int changed = 0;
    for (int i = 0; i < 20; i++) {
        an_arch_mutate(&cfg.space, &rng, &a, 1.0, &child);
        changed += !an_arch_equal(&child, &a);
        CHECK(an_arch_validate(&cfg.space, &child) == AN_OK);
    }
    CHECK(changed > 10);
    an_arch_crossover(&cfg.space, &rng, &a, &b, 1.0, &child);
    CHECK(an_arch_equal(&child, &a));
    an_arch_crossover(&cfg.space, &rng, &a, &b, 0.0, &child);
    CHECK(an_arch_equal(&child, &b));

    /* a briefly trained supernet, the same on every rank (trained on one process each) */
    an_run_info info = {.quiet = 1, .want_params = 1};
    char rd2[300];
    snprintf(rd2, sizeof rd2, "%s/run-r%d", dir, c.rank);
    an_config tcfg = cfg;
    snprintf(tcfg.run.dir, sizeof tcfg.run.dir, "%s", rd2);
    st = an_train_run(&tcfg, &one, &info);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    an_supernet net;
    an_dataset train = {0}, val = {0}, test = {0};
    CHECK(an_supernet_create(&net, &cfg.space) == AN_OK);
    if (info.params) memcpy(net.w, info.params, net.total * sizeof(float));
    CHECK(an_data_load(&cfg, &train, &val, &test) == AN_OK);
    CHECK(val.n == 24);

    an_arch amin, amax;
    an_arch_smallest(&cfg.space, &amin);
    an_arch_largest(&cfg.space, &amax);
    const double fmin = an_arch_flops(&cfg.space, &amin) / 1e6, fmax = an_arch_flops(&cfg.space, &amax) / 1e6;
    const double lo = fmin, hi = fmin + 0.6 * (fmax - fmin);

    an_search_result r = {0};
    st = an_search_run(&cfg, &net, &train, &val, &test, &g, lo, hi, &r, NULL);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    if (root && st == AN_OK) {
        printf("%d candidates on %d rank(s) in %.2f s, working ranks idle %.1f%%\n", r.n, P, r.seconds,
               100 * r.idle / (r.busy + r.idle > 0 ? r.busy + r.idle : 1));
        CHECK(r.n >= 6 + 2 && r.n <= 6 + 2 * 6);
        CHECK(an_arch_equal(&r.c[0].arch, &amin));
        int gens = 0, in_range = 1, dup = 0, finite = 1;
        for (int i = 0; i < r.n; i++) {
            in_range &= r.c[i].mflops >= lo && r.c[i].mflops <= hi;
            finite &= r.c[i].top1 >= 0 && r.c[i].top1 <= 1 && isfinite(r.c[i].loss);
            gens = r.c[i].generation > gens ? r.c[i].generation : gens;
            for (int j = 0; j < i; j++) dup += an_arch_equal(&r.c[i].arch, &r.c[j].arch);
        }
        CHECK(in_range);
        CHECK(dup == 0);
        CHECK(finite);
        CHECK(gens == 2);
        /* the same search on one process */
        an_search_result s = {0};
        st = an_search_run(&cfg, &net, &train, &val, &test, &one, lo, hi, &s, NULL);
        CHECK_MSG(st == AN_OK, "%s", an_error_message());
        CHECK(s.n == r.n);
        int same = s.n == r.n;
        for (int i = 0; same && i < r.n; i++)
            same = an_arch_equal(&s.c[i].arch, &r.c[i].arch) && s.c[i].top1 == r.c[i].top1 &&
                   s.c[i].loss == r.c[i].loss && s.c[i].test_top1 == r.c[i].test_top1;
        CHECK_MSG(same, "the search on %d ranks differs from the one on one process", P);
        /* Pareto rows: best of their bucket, increasing FLOPs, winners evaluated on the test set */
        int rows[64];
        const int nr = an_search_pareto(&r, 0.05 * (fmax - fmin), rows, 64);
        CHECK(nr >= 2);
        for (int k = 0; k < nr; k++) {
            const an_candidate *w = &r.c[rows[k]];
            const long bucket = (long)floor(w->mflops / (0.05 * (fmax - fmin)));
            if (k) CHECK(w->mflops > r.c[rows[k - 1]].mflops);
            for (int i = 0; i < r.n; i++)
                if ((long)floor(r.c[i].mflops / (0.05 * (fmax - fmin))) == bucket) CHECK(r.c[i].top1 <= w->top1);
        }
        const int nr1 = an_search_pareto(&r, cfg.search.bucket_mflops, rows, 64);
        for (int k = 0; k < nr1; k++) CHECK(r.c[rows[k]].test_top1 >= 0);
        an_search_result_free(&s);
    }
    an_search_result_free(&r);

    /* a range outside the space */
    an_search_result e = {0};
    st = an_search_run(&cfg, &net, &train, &val, NULL, &g, fmax * 2, fmax * 3, &e, NULL);
    CHECK(st == AN_ERR_ARG);
    CHECK_MSG(strstr(an_error_message(), "no subnet has") != NULL, "%s", an_error_message());

    an_free(info.params);
    an_dataset_free(&train);
    an_dataset_free(&val);
    an_dataset_free(&test);
    an_supernet_free(&net);
    int rc = t_failed ? 1 : 0;
    if (root || t_failed) rc = TEST_SUMMARY();
    an_comm_finalize(&c);
    return rc;
}

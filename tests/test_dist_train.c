/* test_dist_train.c - the distributed training run on P = 1, 2 or 4 ranks (this program runs
 * under mpirun -np P), on the tiny test space and a small generated dataset:
 *   - P ranks give the parameters of one process that runs the same P shards one after the
 *     other as micro-batches (relative 1e-5), and the comparison is sharp enough to fail: one
 *     process with one big batch (different batch statistics) does not match;
 *   - the same run twice is bit-for-bit identical, and every rank holds the same parameters;
 *   - every step trains on the same samples whatever P (an order-independent digest of
 *     (step, position in the global batch, sample)); micro-batches do not change it either;
 *   - a rank's error becomes the same first-hand message on every rank; diverged replicas are
 *     detected; shards sized by rank speed still cover the global batch exactly.
 * Crashed and killed ranks are tested with the real binary (test_fault.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/dist/comm.h"
#include "alphanet/io/config.h"
#include "alphanet/train/loop.h"
#include "test.h"
#include "tiny.h"

static an_status run(const an_config *base, const an_group *g, int micro, const char *dir, an_run_info *info,
                     int nset, char **sets)
{
    an_config cfg;
    char m[64], r[300];
    snprintf(m, sizeof m, "train.micro_batches=%d", micro);
    snprintf(r, sizeof r, "run.dir=%s", dir);
    char *all[16] = {m, r};
    for (int i = 0; i < nset; i++) all[2 + i] = sets[i];
    an_status st = an_config_load(&cfg, base->path, 2 + nset, all);
    if (st) return st;
    info->quiet = 1;
    info->want_params = 1;
    return an_train_run(&cfg, g, info);
}

static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), s += (double)b[i] * b[i];
    return sqrt(d / s);
}

int main(int argc, char **argv)
{
    an_comm c;
    if (an_comm_init(&c, &argc, &argv) != AN_OK) {
        fprintf(stderr, "init failed: %s\n", an_error_message());
        return 1;
    }
    const int P = c.size, root = c.rank == 0;
    char dir[128], cfgpath[200];
    snprintf(dir, sizeof dir, "dist_train_np%d", P);
    snprintf(cfgpath, sizeof cfgpath, "%s/tiny.yaml", dir);
    an_status st = AN_OK;
    if (root && t_toy_run_setup(dir, "run: {log_every: 3, checkpoint: false}\ndist: {check_every: 2}\n"))
        st = an_error(AN_ERR_IO, "cannot write the toy data and config in '%s'", dir);
    st = an_comm_agree(&c, st);
    if (st) {
        fprintf(stderr, "setup failed: %s\n", an_error_message());
        return 1;
    }
    an_config base;
    if (an_config_load(&base, cfgpath, 0, NULL)) {
        fprintf(stderr, "FIXTURE ERROR: %s\n", an_error_message());
        return 1;
    }
    an_group g = an_comm_group(&c), one = an_group_single();
    char rdir[160];

    /* P ranks, twice: bit-for-bit repeatable */
    an_run_info a = {0}, a2 = {0};
    snprintf(rdir, sizeof rdir, "%s/run-a", dir);
    st = run(&base, &g, 1, rdir, &a, 0, NULL);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    st = run(&base, &g, 1, rdir, &a2, 0, NULL);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    if (a.params && a2.params) {
        CHECK_MSG(memcmp(a.params, a2.params, a.nparams * sizeof(float)) == 0, "two runs on %d ranks differ", P);
        int finite = 1;
        for (size_t i = 0; i < a.nparams; i++) finite &= isfinite(a.params[i]);
        CHECK(finite);
        /* every rank ends with the coordinator's parameters */
        float *mine = malloc(a.nparams * sizeof(float));
        memcpy(mine, a.params, a.nparams * sizeof(float));
        CHECK(an_comm_bcast(&c, mine, a.nparams * sizeof(float), 0) == AN_OK);
        CHECK_MSG(memcmp(mine, a.params, a.nparams * sizeof(float)) == 0, "rank %d's parameters differ", c.rank);
        free(mine);
    }
    CHECK(a.steps_done == 6);
    CHECK(a.data_digest[0] > 0 && a.data_digest[0] == a2.data_digest[0] && a.data_digest[1] == a2.data_digest[1]);

    if (root && a.params) {
        /* one process, the P shards as micro-batches: the same training */
        an_run_info s = {0}, big = {0};
        snprintf(rdir, sizeof rdir, "%s/run-single", dir);
        st = run(&base, &one, P > 1 ? P : 2, rdir, &s, 0, NULL);
        CHECK_MSG(st == AN_OK, "%s", an_error_message());
        CHECK(s.data_digest[0] == a.data_digest[0] && s.data_digest[1] == a.data_digest[1]);
        if (s.params && P > 1) {
            const double d = rel_diff(a.params, s.params, a.nparams);
            printf("P=%d vs one process with %d micro-batches: relative difference %.3g\n", P, P, d);
            CHECK_MSG(d <= 1e-5, "P ranks vs micro-batches: relative difference %.3g > 1e-5", d);
            /* one big batch has other batch statistics: must not pass the same bound */
            snprintf(rdir, sizeof rdir, "%s/run-big", dir);
            st = run(&base, &one, 1, rdir, &big, 0, NULL);
            CHECK_MSG(st == AN_OK, "%s", an_error_message());
            if (big.params) {
                const double db = rel_diff(big.params, s.params, a.nparams);
                printf("one batch of 16 vs %d micro-batches: relative difference %.3g\n", P, db);
                CHECK_MSG(db > 1e-3, "batch statistics should change the result (%.3g)", db);
                CHECK(big.data_digest[0] == a.data_digest[0]);
            }
        }
        an_free(s.params);
        an_free(big.params);
    }

    if (P > 1) {
        /* a rank's error: every rank stops with that rank's own message */
        an_run_info f = {.fault = AN_FAULT_ERROR, .fault_rank = P - 1, .fault_step = 2};
        snprintf(rdir, sizeof rdir, "%s/run-fault", dir);
        st = run(&base, &g, 1, rdir, &f, 0, NULL);
        char expect[128];
        snprintf(expect, sizeof expect, "rank %d: injected fault at step 2", P - 1);
        CHECK(st == AN_ERR_IO);
        CHECK_MSG(strstr(an_error_message(), expect) != NULL, "rank %d: '%s'", c.rank, an_error_message());
        an_free(f.params);

        /* diverged replicas are caught at the next check (every 2 steps) */
        an_run_info v = {.fault = AN_FAULT_PERTURB, .fault_rank = P - 1, .fault_step = 2};
        st = run(&base, &g, 1, rdir, &v, 0, NULL);
        char expect2[128];
        snprintf(expect2, sizeof expect2, "after step 4 the parameters of rank(s) %d differ", P - 1);
        CHECK(st == AN_ERR_COMM);
        CHECK_MSG(strstr(an_error_message(), expect2) != NULL, "rank %d: '%s'", c.rank, an_error_message());
        an_free(v.params);

        /* shards sized by speed: always a partition of the global batch */
        char bal[] = "dist.balance=true";
        char *sets[] = {bal};
        an_run_info b = {0};
        snprintf(rdir, sizeof rdir, "%s/run-balance", dir);
        st = run(&base, &g, 1, rdir, &b, 1, sets);
        CHECK_MSG(st == AN_OK, "%s", an_error_message());
        double shard = b.last_shard;
        CHECK(an_comm_allreduce_sum_f64(&c, &shard, 1) == AN_OK);
        CHECK(shard == 16);
        CHECK(b.last_shard >= 16 / P / 2 && b.last_shard <= 2 * 16 / P);
        CHECK(b.data_digest[0] == a.data_digest[0] && b.data_digest[1] == a.data_digest[1]);
        an_free(b.params);
    }
    an_free(a.params);
    an_free(a2.params);
    int rc = t_failed ? 1 : 0;
    if (root || t_failed) rc = TEST_SUMMARY();
    an_comm_finalize(&c);
    return rc;
}

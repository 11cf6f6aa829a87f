/* test_soak.c - a soak test (label slow): STEPS sandwich steps (default 2000) of the tiny space on
 * the toy data with a checkpoint every 50 steps, once without interruption and once stopped five
 * times at arbitrary steps (a stop request on a varying rank, as from SIGTERM) and resumed with
 * --resume auto each time: both must end with bit-for-bit the same parameters and data digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/dist/comm.h"
#include "alphanet/io/config.h"
#include "alphanet/train/loop.h"
#include "test.h"
#include "tiny.h"

static an_status run(const an_group *g, const char *cfgpath, const char *dir, const char *resume, long steps,
                     an_run_info *info)
{
    an_config cfg;
    char r[300], m[64], e[64], s[64];
    snprintf(r, sizeof r, "run.dir=%s", dir);
    snprintf(m, sizeof m, "train.max_steps=%ld", steps);
    snprintf(e, sizeof e, "train.epochs=%ld", steps / 6 + 1);
    snprintf(s, sizeof s, "run.resume=%s", resume);
    char *sets[] = {r, m, e, s};
    an_status st = an_config_load(&cfg, cfgpath, 4, sets);
    if (st) return st;
    info->quiet = 1;
    info->want_params = 1;
    return an_train_run(&cfg, g, info);
}

int main(int argc, char **argv)
{
    an_comm c;
    if (an_comm_init(&c, &argc, &argv) != AN_OK) return 1;
    const long steps = getenv("SOAK_STEPS") ? atol(getenv("SOAK_STEPS")) : 2000;
    char dir[64], cfgpath[128], a_dir[128], b_dir[128];
    snprintf(dir, sizeof dir, "soak_np%d", c.size);
    snprintf(cfgpath, sizeof cfgpath, "%s/tiny.yaml", dir);
    snprintf(a_dir, sizeof a_dir, "%s/a", dir);
    snprintf(b_dir, sizeof b_dir, "%s/b", dir);
    an_status st = AN_OK;
    if (c.rank == 0) {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0 ||
            t_toy_run_setup(dir, "run: {log_every: 100, checkpoint_every: 50, keep_checkpoints: 2}\ndist: {check_every: 25}\n"))
            st = an_error(AN_ERR_IO, "cannot set up '%s'", dir);
    }
    if (an_comm_agree(&c, st)) {
        fprintf(stderr, "FIXTURE ERROR: %s\n", an_error_message());
        return 1;
    }
    an_group g = an_comm_group(&c);
    an_run_info a = {0};
    st = run(&g, cfgpath, a_dir, "none", steps, &a);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    /* five stops at steps that fall between checkpoints, on rotating ranks */
    const long stops[5] = {steps / 7 + 3, steps / 3 + 11, steps / 2 + 29, 2 * steps / 3 + 7, steps - 13};
    volatile sig_atomic_t flag = 0;
    int segments = 0;
    for (int k = 0; k <= 5; k++) {
        an_run_info b = {.stop_flag = &flag};
        if (k < 5) b.fault = AN_FAULT_STOP, b.fault_rank = k % c.size, b.fault_step = stops[k];
        flag = 0;
        st = run(&g, cfgpath, b_dir, k == 0 ? "none" : "auto", steps, &b);
        segments++;
        if (k < 5) {
            CHECK_MSG(st == AN_STOPPED, "segment %d: %s", k, an_error_message());
        } else {
            CHECK_MSG(st == AN_OK, "last segment: %s", an_error_message());
            if (a.params && b.params) {
                CHECK_MSG(memcmp(a.params, b.params, a.nparams * sizeof(float)) == 0,
                          "%ld steps stopped and resumed 5 times differ from the uninterrupted run", steps);
                CHECK(a.data_digest[0] == b.data_digest[0] && a.data_digest[1] == b.data_digest[1]);
            }
            CHECK(b.steps_done == steps);
        }
        an_free(b.params);
    }
    if (c.rank == 0) printf("%ld steps on %d rank(s): uninterrupted vs %d segments\n", steps, c.size, segments);
    an_free(a.params);
    int rc = t_failed ? 1 : 0;
    if (c.rank == 0 || t_failed) rc = TEST_SUMMARY();
    an_comm_finalize(&c);
    return rc;
}

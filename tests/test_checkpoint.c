/* test_checkpoint.c - checkpoints and exact resume, on P = 1 or 2 ranks (run under mpirun), on
 * the tiny space and the toy data:
 *   - a run stopped at step 4 (a stop request on the last rank, as from SIGTERM) and resumed
 *     with --resume auto ends with bit-for-bit the parameters, and the same data digest, as the
 *     run that never stopped;
 *   - the newest checkpoint damaged (one byte of a tensor flipped): auto-resume warns, falls back
 *     to the previous checkpoint and still ends bit-for-bit identical;
 *   - damaged, truncated, foreign (another search space) and non-HDF5 files give clear errors;
 *   - a fresh run refuses a folder that already holds checkpoints, and leaves it untouched;
 *   - only the newest run.keep_checkpoints are kept; a checkpoint holds the official tensor
 *     names, the config and the metrics history;
 *   - on 2 ranks: a checkpoint of 2 ranks resumes on 1 process (no longer bit-identical). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alphanet/dist/comm.h"
#include "alphanet/io/checkpoint.h"
#include "alphanet/io/config.h"
#include "alphanet/io/h5.h"
#include "alphanet/train/loop.h"
#include "test.h"
#include "tiny.h"

static char cfgpath[300];

static an_status run(const an_group *g, const char *dir, const char *resume, long max_steps, an_run_info *info,
                     const char *extra)
{
    an_config cfg;
    char r[400], m[64], s[400];
    snprintf(r, sizeof r, "run.dir=%s", dir);
    snprintf(m, sizeof m, "train.max_steps=%ld", max_steps);
    snprintf(s, sizeof s, "run.resume=\"%s\"", resume);
    char *sets[4] = {r, m, s, (char *)extra};
    an_status st = an_config_load(&cfg, cfgpath, extra ? 4 : 3, sets);
    if (st) return st;
    info->quiet = 1;
    info->want_params = 1;
    return an_train_run(&cfg, g, info);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int ok = a && b;
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0) ok = fwrite(buf, 1, n, b) == n;
    if (a) fclose(a);
    if (b) ok &= fclose(b) == 0;
    return ok ? 0 : -1;
}

/* Flips one byte inside the stored values of the tensor whose first 8 floats are `values`. */
static int flip_tensor_byte(const char *path, const float *values)
{
    FILE *f = fopen(path, "r+b");
    if (!f) return -1;
    long n = file_size(path);
    unsigned char *buf = malloc((size_t)n);
    int rc = -1;
    if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        for (long i = 0; i + 32 <= n; i++)
            if (!memcmp(buf + i, values, 32)) {
                fseek(f, i + 13, SEEK_SET);
                fputc(buf[i + 13] ^ 0x40, f);
                rc = 0;
                break;
            }
    }
    free(buf);
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    an_comm c;
    if (an_comm_init(&c, &argc, &argv) != AN_OK) {
        fprintf(stderr, "init failed: %s\n", an_error_message());
        return 1;
    }
    const int P = c.size, root = c.rank == 0;
    char dir[128];
    snprintf(dir, sizeof dir, "checkpoint_np%d", P);
    snprintf(cfgpath, sizeof cfgpath, "%s/tiny.yaml", dir);
    an_status st = AN_OK;
    if (root) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) st = an_error(AN_ERR_IO, "cannot clean '%s'", dir);
        /* 8 steps, a checkpoint every 2, the newest 3 kept */
        if (!st && t_toy_run_setup(dir, "run: {log_every: 2, checkpoint_every: 2, keep_checkpoints: 3}\n"))
            st = an_error(AN_ERR_IO, "cannot write the toy data and config in '%s'", dir);
    }
    if ((st = an_comm_agree(&c, st))) {
        fprintf(stderr, "FIXTURE ERROR: %s\n", an_error_message());
        return 1;
    }
    an_group g = an_comm_group(&c);
    char a_dir[200], b_dir[200], path[400], path2[400];
    snprintf(a_dir, sizeof a_dir, "%s/a", dir);
    snprintf(b_dir, sizeof b_dir, "%s/b", dir);

    /* A: 8 steps without a stop */
    an_run_info a = {0};
    st = run(&g, a_dir, "none", 8, &a, NULL);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    long steps[16];
    int n = an_ckpt_list(a_dir, steps, 16);
    CHECK_MSG(n == 3 && steps[0] == 8 && steps[1] == 6 && steps[2] == 4, "kept %d checkpoints, newest %ld", n,
              n ? steps[0] : -1);

    /* B: a stop request on the last rank after step 4 (a signal), then --resume auto */
    volatile sig_atomic_t flag = 0;
    an_run_info b = {.fault = AN_FAULT_STOP, .fault_rank = P - 1, .fault_step = 3, .stop_flag = &flag};
    st = run(&g, b_dir, "none", 8, &b, NULL);
    CHECK(st == AN_STOPPED);
    CHECK_MSG(strstr(an_error_message(), "stopped by a signal after step 4 of 8") != NULL, "%s", an_error_message());
    n = an_ckpt_list(b_dir, steps, 16);
    CHECK_MSG(n == 2 && steps[0] == 4 && steps[1] == 2, "after the stop: %d checkpoints, newest %ld", n, n ? steps[0] : -1);
    an_free(b.params);
    /* a fresh start in the same folder is refused and changes nothing */
    an_ckpt_path(b_dir, 4, path, sizeof path);
    const long size4 = file_size(path);
    an_run_info refused = {0};
    st = run(&g, b_dir, "none", 8, &refused, NULL);
    CHECK(st == AN_ERR_ARG);
    CHECK_MSG(strstr(an_error_message(), "already holds checkpoints (newest: step 4)") != NULL, "%s", an_error_message());
    CHECK(file_size(path) == size4 && an_ckpt_list(b_dir, steps, 16) == 2);
    /* the copy of the stopped run's folder is used below for the damaged-checkpoint fallback */
    char c_dir[200];
    snprintf(c_dir, sizeof c_dir, "%s/c", dir);
    if (root) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", b_dir, c_dir);
        CHECK(system(cmd) == 0);
    }
    an_comm_barrier(&c);

    an_run_info b2 = {0};
    st = run(&g, b_dir, "auto", 8, &b2, NULL);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    if (a.params && b2.params) {
        CHECK_MSG(memcmp(a.params, b2.params, a.nparams * sizeof(float)) == 0, "stopped + resumed differs from the "
                  "uninterrupted run");
        CHECK(a.data_digest[0] == b2.data_digest[0] && a.data_digest[1] == b2.data_digest[1]);
    }

    /* a NaN in the gradient of the last rank at step 3: with train.nonfinite: stop, every rank
     * stops with a checkpoint of the state before that step; resuming redoes step 3 (without the
     * fault) and ends bit-for-bit as the run that never failed */
    char n_dir[200], s_dir[200];
    snprintf(n_dir, sizeof n_dir, "%s/nan", dir);
    snprintf(s_dir, sizeof s_dir, "%s/skip", dir);
    an_run_info nf = {.fault = AN_FAULT_NAN, .fault_rank = P - 1, .fault_step = 3};
    st = run(&g, n_dir, "none", 8, &nf, NULL);
    CHECK(st == AN_ERR_NUMERIC);
    CHECK_MSG(strstr(an_error_message(), "step 3: the summed gradient has NaN or Inf entries; stopped (train.nonfinite: "
                                         "stop); the last good state is in") != NULL &&
              strstr(an_error_message(), "ckpt-000000003.h5") != NULL, "%s", an_error_message());
    an_free(nf.params);
    an_run_info nf2 = {0};
    st = run(&g, n_dir, "auto", 8, &nf2, NULL);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    if (a.params && nf2.params)
        CHECK_MSG(memcmp(a.params, nf2.params, a.nparams * sizeof(float)) == 0, "resumed after a NaN stop differs");
    an_free(nf2.params);
    /* with train.nonfinite: skip the step is skipped, counted, and the run goes on */
    an_run_info sk = {.fault = AN_FAULT_NAN, .fault_rank = P - 1, .fault_step = 3};
    st = run(&g, s_dir, "none", 8, &sk, "train.nonfinite=skip");
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    CHECK(sk.skipped == 1 && sk.steps_done == 8);
    if (a.params && sk.params) {
        int finite = 1;
        for (size_t i = 0; i < a.nparams; i++) finite &= isfinite(sk.params[i]);
        CHECK(finite);
        CHECK(memcmp(a.params, sk.params, a.nparams * sizeof(float)) != 0);
    }
    an_free(sk.params);

    if (root && a.params) {
        /* the final checkpoint holds what the run ended with, under the official names */
        an_ckpt_path(a_dir, 8, path, sizeof path);
        an_ckpt_state s;
        st = an_h5_read_checkpoint_state(path, &s);
        CHECK_MSG(st == AN_OK, "%s", an_error_message());
        if (!st) {
            CHECK(s.step == 8 && s.world_size == P && s.steps_per_epoch == 6 && s.schedule_steps == 12);
            CHECK(strstr(s.config_text, "checkpoint_every: 2") != NULL);
            CHECK(strstr(s.metrics_text, "\"kind\":\"train\",\"step\":8") != NULL);
            an_config cfg;
            an_supernet net;
            CHECK(an_config_parse(&cfg, s.config_text, strlen(s.config_text), "stored", 0, NULL) == AN_OK);
            CHECK(an_supernet_create(&net, &cfg.space) == AN_OK);
            st = an_h5_read_checkpoint_tensors(path, &net, NULL);
            CHECK_MSG(st == AN_OK, "%s", an_error_message());
            CHECK(memcmp(net.w, a.params, a.nparams * sizeof(float)) == 0);
            CHECK(!strcmp(net.params[0].name, "first_conv.conv.conv.weight"));

            /* one flipped byte inside a tensor: the checksum catches it */
            const an_param *cls = &net.params[net.nparams - 2];
            snprintf(path2, sizeof path2, "%s/flipped.h5", dir);
            CHECK(copy_file(path, path2) == 0);
            CHECK_MSG(flip_tensor_byte(path2, net.w + cls->offset) == 0, "tensor %s not found in the file", cls->name);
            st = an_h5_read_checkpoint_tensors(path2, &net, NULL);
            CHECK(st == AN_ERR_FORMAT);
            CHECK_MSG(strstr(an_error_message(), "damaged file: checksum") != NULL, "%s", an_error_message());
            /* truncated: half the file */
            snprintf(path2, sizeof path2, "%s/truncated.h5", dir);
            CHECK(copy_file(path, path2) == 0 && truncate(path2, file_size(path) / 2) == 0);
            an_ckpt_state tmp;
            st = an_h5_read_checkpoint_state(path2, &tmp);
            CHECK(st != AN_OK);
            if (st == AN_OK) an_ckpt_state_free(&tmp);
            st = an_h5_read_checkpoint_tensors(path2, &net, NULL);
            CHECK_MSG(st == AN_ERR_FORMAT, "truncated: %s", an_error_message());
            /* not HDF5 at all, and missing */
            snprintf(path2, sizeof path2, "%s/tiny.yaml", dir);
            CHECK(an_h5_read_checkpoint_tensors(path2, &net, NULL) == AN_ERR_FORMAT);
            CHECK(strstr(an_error_message(), "is not an HDF5 file") != NULL);
            snprintf(path2, sizeof path2, "%s/train.h5", dir);
            CHECK(an_h5_read_checkpoint_tensors(path2, &net, NULL) == AN_ERR_FORMAT);
            CHECK(strstr(an_error_message(), "is not an alphanet checkpoint") != NULL);
            CHECK(an_h5_read_checkpoint_tensors("no/such/ckpt.h5", &net, NULL) == AN_ERR_IO);
            an_supernet_free(&net);
            /* a checkpoint of another space: a wider head */
            char *sets[] = {"space.head.mix_width=[32, 64]"};
            an_config other;
            CHECK(an_config_parse(&other, s.config_text, strlen(s.config_text), "stored", 1, sets) == AN_OK);
            CHECK(an_supernet_create(&net, &other.space) == AN_OK);
            st = an_h5_read_checkpoint_tensors(path, &net, NULL);
            CHECK(st == AN_ERR_FORMAT);
            CHECK_MSG(strstr(an_error_message(), "has shape 48x") != NULL &&
                      strstr(an_error_message(), "another search space") != NULL, "%s", an_error_message());
            an_supernet_free(&net);
            /* a missing dataset: a checkpoint written without the classifier's bias */
            CHECK(an_supernet_create(&net, &cfg.space) == AN_OK);
            net.nparams--;
            snprintf(path2, sizeof path2, "%s/missing.h5", dir);
            CHECK(an_h5_write_checkpoint(path2, &s, &net, net.w) == AN_OK);
            net.nparams++;
            st = an_h5_read_checkpoint_tensors(path2, &net, NULL);
            CHECK(st == AN_ERR_FORMAT);
            char expect[128];
            snprintf(expect, sizeof expect, "/params has %d entries but this search space has %d", net.nparams - 1,
                     net.nparams);
            CHECK_MSG(strstr(an_error_message(), expect) != NULL, "%s", an_error_message());
            an_supernet_free(&net);
            an_ckpt_state_free(&s);
        }
        /* the stopped run's newest checkpoint damaged: flip a byte of its first tensor */
        an_ckpt_path(c_dir, 4, path, sizeof path);
        an_ckpt_state s4;
        an_config cfg;
        an_supernet net;
        if (an_h5_read_checkpoint_state(path, &s4) == AN_OK) {
            an_config_parse(&cfg, s4.config_text, strlen(s4.config_text), "stored", 0, NULL);
            an_supernet_create(&net, &cfg.space);
            CHECK(an_h5_read_checkpoint_tensors(path, &net, NULL) == AN_OK);
            CHECK(flip_tensor_byte(path, net.w + net.params[net.nparams - 2].offset) == 0);
            an_supernet_free(&net);
            an_ckpt_state_free(&s4);
        } else {
            CHECK_MSG(0, "%s", an_error_message());
        }
    }
    an_comm_barrier(&c);
    /* auto-resume skips the damaged checkpoint 4, resumes from 2, and still ends identical */
    an_run_info c2 = {0};
    st = run(&g, c_dir, "auto", 8, &c2, NULL);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    if (a.params && c2.params)
        CHECK_MSG(memcmp(a.params, c2.params, a.nparams * sizeof(float)) == 0, "fallback resume differs");
    an_free(c2.params);

    if (P > 1 && root) {
        /* a checkpoint of P ranks resumed by one process: it works, a different (valid) result */
        an_run_info one = {0};
        an_group single = an_group_single();
        char d_dir[200], cmd[1000];
        snprintf(d_dir, sizeof d_dir, "%s/d", dir);
        snprintf(cmd, sizeof cmd, "mkdir -p '%s/checkpoints' && cp '%s/checkpoints/ckpt-000000004.h5' '%s/checkpoints/'",
                 d_dir, a_dir, d_dir);
        CHECK(system(cmd) == 0);
        st = run(&single, d_dir, "auto", 8, &one, NULL);
        CHECK_MSG(st == AN_OK, "%s", an_error_message());
        if (one.params && a.params) {
            double diff = 0;
            int finite = 1;
            for (size_t i = 0; i < a.nparams; i++) diff += fabs(one.params[i] - a.params[i]), finite &= isfinite(one.params[i]);
            CHECK(finite);
            CHECK_MSG(diff > 0, "1 process after a %d-rank checkpoint should differ (batch statistics)", P);
            CHECK(one.steps_done == 8);
        }
        an_free(one.params);
    }
    an_free(a.params);
    an_free(b2.params);
    int rc = t_failed ? 1 : 0;
    if (root || t_failed) rc = TEST_SUMMARY();
    an_comm_finalize(&c);
    return rc;
}

/* test_threads.c - kernel threading does not change results: a whole sandwich step of the
 * default Fashion-MNIST space (batch 48, large enough for every threaded kernel to fork) on 1 and
 * 2 threads gives bit-identical gradients and updated parameters (more threads than cores would
 * only make the test slow: BLIS's barriers spin). Kernels split channels
 * (or elements) over threads and BLIS splits GEMM rows and columns, never a sum. Nor does the
 * workspace's history: the step run again in the same workspace gives the same gradients. */
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/config.h"
#include "alphanet/kernels/gemm.h"
#include "alphanet/nn/space.h"
#include "alphanet/nn/subnet.h"
#include "alphanet/nn/supernet.h"
#include "alphanet/rng.h"
#include "alphanet/train/step.h"
#include "test.h"

/* one step on `threads` threads from a fresh initialisation; returns gradient and parameters */
static void step(const an_config *cfg, int threads, float **grad, float **w, size_t *count)
{
    an_gemm_set_threads(threads);
    CHECK(an_kernel_threads() == threads);
    an_supernet net;
    an_trainer tr;
    const int n = cfg->train.batch;
    if (an_supernet_create(&net, &cfg->space) || an_trainer_create(&tr, cfg, &net, n)) {
        fprintf(stderr, "%s\n", an_error_message());
        exit(1);
    }
    an_supernet_init(&net, 7);
    const int R = cfg->space.resolution.v[cfg->space.resolution.n - 1], K = cfg->space.classes;
    float *x = malloc(sizeof(float) * R * R * n);
    int *labels = malloc(sizeof(int) * n);
    for (int i = 0; i < R * R * n; i++) x[i] = an_hash_uniform(5, 0, (uint64_t)i) * 2 - 1;
    for (int i = 0; i < n; i++) labels[i] = i % K;
    an_plan plan = {.nsub = 4};
    an_rng rng;
    an_rng_seed(&rng, 3);
    an_arch_largest(&cfg->space, &plan.arch[0]);
    an_arch_sample(&cfg->space, &rng, &plan.arch[1]);
    an_arch_sample(&cfg->space, &rng, &plan.arch[2]);
    an_arch_smallest(&cfg->space, &plan.arch[3]);
    an_substats st[AN_MAX_SUBNETS];
    memset(st, 0, sizeof st);
    CHECK_MSG(an_step_local(&tr, &plan, x, R, R, labels, n, 0, n, 5, 1.0, st) == AN_OK, "%s", an_error_message());
    *count = net.total;
    *grad = malloc(sizeof(float) * net.total);
    memcpy(*grad, tr.grad, sizeof(float) * net.total);
    /* the same step again in the same workspace: in the first subnet's pass the arenas grew
     * chunk by chunk from 8 MB (to a tape of about 120 MB and 30 MB of scratch) and gave back
     * the pages left dead in the older chunks; the second step runs in one chunk per arena. The
     * same bits. */
    size_t fwd1, bwd1;
    an_net_ws_arenas(tr.ws, &fwd1, &bwd1);
    CHECK_MSG(fwd1 > ((size_t)16 << 20) && bwd1 > ((size_t)16 << 20),
              "%d threads: arenas of %zu and %zu bytes needed no more than a first chunk", threads, fwd1, bwd1);
    memset(st, 0, sizeof st);
    CHECK_MSG(an_step_local(&tr, &plan, x, R, R, labels, n, 0, n, 5, 1.0, st) == AN_OK, "%s", an_error_message());
    CHECK_MSG(!memcmp(*grad, tr.grad, sizeof(float) * net.total),
              "%d threads: the step's gradients differ between the first pass and the second", threads);
    an_step_apply(&tr, 0.1);
    *w = malloc(sizeof(float) * net.total);
    memcpy(*w, net.w, sizeof(float) * net.total);
    free(x);
    free(labels);
    an_trainer_free(&tr);
    an_supernet_free(&net);
}

int main(void)
{
    an_config cfg;
    char *sets[] = {"train.batch=48"};
    CHECK_MSG(an_config_load(&cfg, CONFIG_DIR "/fmnist.yaml", 1, sets) == AN_OK, "%s", an_error_message());
    float *g1, *w1;
    size_t n1;
    step(&cfg, 1, &g1, &w1, &n1);
    int nonzero = 0;
    for (size_t i = 0; i < n1; i++) nonzero += g1[i] != 0.0f;
    /* at initialisation every residual branch ends in a zero BN gamma: ~20% of the entries move */
    CHECK_MSG(nonzero > (int)(n1 / 10), "only %d of %zu gradient entries are non-zero", nonzero, n1);
    for (int t = 2; t <= 2; t++) {
        float *g, *w;
        size_t n;
        step(&cfg, t, &g, &w, &n);
        size_t diff = 0, first = n;
        for (size_t i = 0; i < n; i++)
            if (memcmp(&g[i], &g1[i], sizeof(float)) != 0) diff++, first = first < n ? first : i;
        CHECK_MSG(n == n1 && diff == 0, "%d threads: %zu of %zu gradient entries differ from 1 thread (first %zu: %g vs %g)",
                  t, diff, n, first, first < n ? g[first] : 0.0, first < n ? g1[first] : 0.0);
        CHECK_MSG(!memcmp(w, w1, sizeof(float) * n), "%d threads: parameters after the update differ", t);
        free(g);
        free(w);
    }
    free(g1);
    free(w1);
    return TEST_SUMMARY();
}

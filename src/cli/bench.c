/* bench.c - `alphanet bench kernels`: forward and backward speed of every GEMM-backed and
 * direct kernel on the layer shapes of the default Fashion-MNIST search space's largest subnet
 * (resolution 28), next to BLIS's own sgemm on a square problem, measured in the same run.
 * Timings are medians of repeated runs after a warm-up; GFLOP/s counts 2 flops per MAC. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alphanet/common.h"
#include "alphanet/kernels/act.h"
#include "alphanet/kernels/bn.h"
#include "alphanet/kernels/conv.h"
#include "alphanet/kernels/dwconv.h"
#include "alphanet/kernels/gemm.h"
#include "alphanet/kernels/layout.h"
#include "alphanet/io/config.h"
#include "alphanet/train/step.h"
#include "cli.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef enum { K_CONV1X1, K_CONV, K_DW, K_BN_SWISH } kind;

typedef struct {
    const char *name;
    kind k;
    int cin, cout, h, ks, s;
} shape;

typedef struct {
    const shape *sh;
    int n;
    float *x, *y, *dx, *dy, *w, *dw, *col, *aux1, *aux2;
} job;

/* MACs of the forward pass. */
static double job_macs(const shape *s, int n)
{
    const int ho = an_conv_out(s->h, s->ks, s->s);
    switch (s->k) {
    case K_CONV1X1:
    case K_CONV: return (double)s->cin * s->cout * s->ks * s->ks * ho * ho * n;
    case K_DW: return (double)s->cin * s->ks * s->ks * ho * ho * n;
    case K_BN_SWISH: return 0.0;
    }
    return 0.0;
}

static void run(const job *j, int backward)
{
    const shape *s = j->sh;
    const int n = j->n;
    const ptrdiff_t p = (ptrdiff_t)n * s->h * s->h;
    switch (s->k) {
    case K_CONV1X1:
        if (!backward) an_conv1x1_forward(j->y, j->x, j->w, s->cin, s->cout, s->cin, p);
        else an_conv1x1_backward(j->dx, j->dw, j->dy, j->x, j->w, s->cin, s->cout, s->cin, p);
        break;
    case K_CONV:
        if (!backward) an_conv2d_forward(j->y, j->x, j->w, s->cin * s->ks * s->ks, s->cout, s->cin, n, s->h, s->h, s->ks, s->s, j->col);
        else an_conv2d_backward(j->dx, j->dw, j->dy, j->x, j->w, s->cin * s->ks * s->ks, s->cout, s->cin, n, s->h, s->h, s->ks, s->s, j->col);
        break;
    case K_DW:
        if (!backward) an_dwconv_forward(j->y, j->x, j->w, s->ks * s->ks, s->ks, s->cin, n, s->h, s->h, s->ks, s->s);
        else an_dwconv_backward(j->dx, j->dw, j->dy, j->x, j->w, s->ks * s->ks, s->ks, s->cin, n, s->h, s->h, s->ks, s->s);
        break;
    case K_BN_SWISH:
        if (!backward) {
            an_bn_train_forward(j->y, j->aux1, j->aux2, j->x, j->w, j->w + s->cin, s->cin, p, AN_BN_EPS);
            an_swish_forward(j->y, j->y, (size_t)(s->cin * p));
        } else {
            an_swish_backward(j->dx, j->dy, j->x, (size_t)(s->cin * p));
            an_bn_train_backward(j->dx, j->dw, j->dw + s->cin, j->dy, j->x, j->aux1, j->aux2, j->w, s->cin, p);
        }
        break;
    }
}

/* Median seconds per call of fn over `reps` timed batches of `inner` calls. */
static double time_it(const job *j, int backward, double budget)
{
    run(j, backward); /* warm-up */
    double t0 = an_now();
    int inner = 0;
    do {
        run(j, backward);
        inner++;
    } while (an_now() - t0 < budget / 10 && inner < 1000000);
    double samples[7];
    for (int r = 0; r < 7; r++) {
        double a = an_now();
        for (int i = 0; i < inner; i++) run(j, backward);
        samples[r] = (an_now() - a) / inner;
    }
    qsort(samples, 7, sizeof samples[0], cmp_double);
    return samples[3];
}

static float *fill(size_t n)
{
    float *p = an_alloc(n * sizeof(float) + 64);
    if (!p) {
        fprintf(stderr, "alphanet bench: %s\n", an_error_message());
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    return p;
}

static double sgemm_gflops(int m, int n, int k, double budget)
{
    float *a = fill((size_t)m * k), *b = fill((size_t)k * n), *c = fill((size_t)m * n);
    an_sgemm(m, n, k, 1.0f, a, k, 1, b, n, 1, 0.0f, c, n, 1);
    double samples[5];
    for (int r = 0; r < 5; r++) {
        int reps = 0;
        double t0 = an_now();
        do {
            an_sgemm(m, n, k, 1.0f, a, k, 1, b, n, 1, 0.0f, c, n, 1);
            reps++;
        } while (an_now() - t0 < budget / 5);
        samples[r] = 2.0 * m * n * k * reps / (an_now() - t0) * 1e-9;
    }
    an_free(a); an_free(b); an_free(c);
    qsort(samples, 5, sizeof samples[0], cmp_double);
    return samples[2];
}

static int bench_kernels(int argc, char **argv)
{
    int n = 64, quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: alphanet bench kernels [--batch N (64)] [--quick]\n"
                   "Threads: BLIS_NUM_THREADS / OMP_NUM_THREADS (default 1).\n");
            return 0;
        } else {
            fprintf(stderr, "alphanet bench kernels: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (n < 1 || n > 4096) {
        fprintf(stderr, "alphanet bench kernels: --batch must be in 1..4096\n");
        return 2;
    }
    const double budget = quick ? 0.05 : 0.5;
    /* The largest subnet of configs/fmnist.yaml at resolution 28: stem, first block of each
     * stage (expand / depthwise / project) and the head. */
    static const shape shapes[] = {
        {"stem conv3x3 1->16 28", K_CONV, 1, 16, 28, 3, 1},
        {"mb1 dw5x5 16 28", K_DW, 16, 16, 28, 5, 1},
        {"mb1 project 16->16 28", K_CONV1X1, 16, 16, 28, 1, 1},
        {"mb2 expand 16->96 28", K_CONV1X1, 16, 96, 28, 1, 1},
        {"mb2 dw5x5 s2 96 28", K_DW, 96, 96, 28, 5, 2},
        {"mb2 project 96->24 14", K_CONV1X1, 96, 24, 14, 1, 1},
        {"mb2 expand 24->144 14", K_CONV1X1, 24, 144, 14, 1, 1},
        {"mb2 dw5x5 144 14", K_DW, 144, 144, 14, 5, 1},
        {"mb3 dw5x5 s2 144 14", K_DW, 144, 144, 14, 5, 2},
        {"mb3 project 144->32 7", K_CONV1X1, 144, 32, 7, 1, 1},
        {"mb3 expand 32->192 7", K_CONV1X1, 32, 192, 7, 1, 1},
        {"mb4 expand 40->240 4", K_CONV1X1, 40, 240, 4, 1, 1},
        {"mb5 expand 56->336 4", K_CONV1X1, 56, 336, 4, 1, 1},
        {"mb5 dw5x5 336 4", K_DW, 336, 336, 4, 5, 1},
        {"mb6 expand 72->432 2", K_CONV1X1, 72, 432, 2, 1, 1},
        {"head expand 96->576 2", K_CONV1X1, 96, 576, 2, 1, 1},
        {"bn+swish 96 28", K_BN_SWISH, 96, 96, 28, 1, 1},
        {"bn+swish 144 14", K_BN_SWISH, 144, 144, 14, 1, 1},
    };
    const int nshapes = (int)(sizeof shapes / sizeof shapes[0]);

    const double peak = sgemm_gflops(1024, 1024, 1024, quick ? 0.2 : 1.0);
    const double convlike = sgemm_gflops(96, n * 28 * 28, 16, quick ? 0.2 : 1.0);
    printf("BLIS kernels: %s\n", an_gemm_kernel_name());
    printf("BLIS sgemm 1024^3: %.1f GFLOP/s; conv-shaped 96 x %d x 16: %.1f GFLOP/s\n", peak, n * 28 * 28, convlike);
    printf("batch %d; times are medians per call; %% = share of the square sgemm speed\n\n", n);
    printf("%-26s %10s %10s %9s %9s %6s\n", "layer", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s", "fwd %");
    for (int i = 0; i < nshapes; i++) {
        const shape *s = &shapes[i];
        const int ho = an_conv_out(s->h, s->ks, s->s);
        job j = {.sh = s, .n = n};
        size_t xin = (size_t)s->cin * n * s->h * s->h, yout = (size_t)s->cout * n * ho * ho;
        size_t wsz = s->k == K_DW ? (size_t)s->cin * s->ks * s->ks : (size_t)s->cout * s->cin * s->ks * s->ks;
        if (s->k == K_BN_SWISH) wsz = 2 * (size_t)s->cin;
        j.x = fill(xin); j.dx = fill(xin); j.y = fill(yout); j.dy = fill(yout);
        j.w = fill(wsz); j.dw = fill(wsz);
        j.col = s->k == K_CONV ? fill(an_conv2d_col_size(s->cin, n, s->h, s->h, s->ks, s->s)) : NULL;
        j.aux1 = fill((size_t)s->cin); j.aux2 = fill((size_t)s->cin);
        double tf = time_it(&j, 0, budget), tb = time_it(&j, 1, budget);
        double macs = job_macs(s, n);
        if (macs > 0)
            printf("%-26s %10.3f %10.3f %9.1f %9.1f %5.0f%%\n", s->name, tf * 1e3, tb * 1e3, 2 * macs / tf * 1e-9,
                   4 * macs / tb * 1e-9, 100.0 * 2 * macs / tf * 1e-9 / peak);
        else
            printf("%-26s %10.3f %10.3f %9s %9s %6s\n", s->name, tf * 1e3, tb * 1e3, "-", "-", "-");
        an_free(j.x); an_free(j.dx); an_free(j.y); an_free(j.dy); an_free(j.w); an_free(j.dw);
        an_free(j.col); an_free(j.aux1); an_free(j.aux2);
    }
    return 0;
}

/* `alphanet bench step CONFIG [--batch N] [--steps K] [--set k=v]...`: the sandwich step
 * (largest, two fixed random and the smallest subnet, losses, backward, clip and SGD) on random
 * images, after warm-up; median of K steps. */
static int bench_step(int argc, char **argv)
{
    const char *path = NULL;
    int batch = 64, steps = 10;
    char *sets[32];
    int nset = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--set") && i + 1 < argc && nset < 32) sets[nset++] = argv[++i];
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: alphanet bench step CONFIG [--batch N (64)] [--steps K (10)] [--set k=v]...\n"
                   "Threads: BLIS_NUM_THREADS / OMP_NUM_THREADS.\n");
            return 0;
        } else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr, "alphanet bench step: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (!path || batch < 1 || steps < 1) {
        fprintf(stderr, "usage: alphanet bench step CONFIG [--batch N] [--steps K]\n");
        return 2;
    }
    an_config cfg;
    if (an_config_load(&cfg, path, nset, sets)) {
        fprintf(stderr, "alphanet bench step: %s\n", an_error_message());
        return 2;
    }
    cfg.train.batch = batch;
    an_supernet net;
    an_trainer tr;
    if (an_supernet_create(&net, &cfg.space) || an_trainer_create(&tr, &cfg, &net, batch)) {
        fprintf(stderr, "alphanet bench step: %s\n", an_error_message());
        return 1;
    }
    an_supernet_init(&net, 1);
    const int R = cfg.space.resolution.v[cfg.space.resolution.n - 1], C = cfg.space.in_channels, K = cfg.space.classes;
    float *x = fill((size_t)C * R * R * batch);
    int *labels = malloc(sizeof(int) * batch);
    for (int j = 0; j < batch; j++) labels[j] = j % K;
    an_plan plan = {.nsub = 4};
    an_rng rng;
    an_rng_seed(&rng, 2024);
    an_arch_largest(&cfg.space, &plan.arch[0]);
    an_arch_sample(&cfg.space, &rng, &plan.arch[1]);
    an_arch_sample(&cfg.space, &rng, &plan.arch[2]);
    an_arch_smallest(&cfg.space, &plan.arch[3]);
    double flops = 0;
    for (int s = 0; s < 4; s++) flops += 3 * 2 * an_arch_flops(&cfg.space, &plan.arch[s]) * batch;
    double *ms = malloc(sizeof(double) * steps);
    an_substats st[AN_MAX_SUBNETS];
    for (int i = -2; i < steps; i++) {
        memset(st, 0, sizeof st);
        double t0 = an_now();
        if (an_step_local(&tr, &plan, x, R, R, labels, batch, 0, batch, i + 2, 1.0, st)) {
            fprintf(stderr, "alphanet bench step: %s\n", an_error_message());
            return 1;
        }
        an_step_apply(&tr, 0.01);
        if (i >= 0) ms[i] = (an_now() - t0) * 1e3;
    }
    qsort(ms, steps, sizeof ms[0], cmp_double);
    const double med = ms[steps / 2];
    printf("config %s, batch %d, BLIS kernels %s, supernet %zu parameters\n", path, batch, an_gemm_kernel_name(),
           net.total);
    for (int s = 0; s < 4; s++) {
        char a[AN_ARCH_TEXT_MAX];
        an_arch_format(&plan.arch[s], a, sizeof a);
        printf("  subnet %d: %7.2f MFLOPs  %s\n", s, an_arch_flops(&cfg.space, &plan.arch[s]) / 1e6, a);
    }
    printf("step: %.1f ms (median of %d; min %.1f, max %.1f), %.0f images/s, %.1f GFLOP/s, workspace %.0f MB\n", med,
           steps, ms[0], ms[steps - 1], batch / med * 1e3, flops / med * 1e-6, an_net_ws_bytes(tr.ws) / 1e6);
    free(ms);
    free(labels);
    an_free(x);
    an_trainer_free(&tr);
    an_supernet_free(&net);
    return 0;
}

int cli_bench(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "kernels")) return bench_kernels(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "step")) return bench_step(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "comm")) return cli_bench_comm(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "checkpoint")) return cli_bench_checkpoint(argc - 1, argv + 1);
    fprintf(stderr, "usage: alphanet bench kernels [--batch N] [--quick]\n"
                    "       alphanet bench step CONFIG [--batch N] [--steps K]\n"
                    "       mpirun -np P alphanet bench comm [--max-bytes B] [--reps N]\n"
                    "       alphanet bench checkpoint CONFIG [--dir D] [--reps N]\n");
    return 2;
}

/* bench.c - `alphanet bench kernels`: forward and backward speed of every GEMM-backed and
 * direct kernel on the layer shapes of the default Fashion-MNIST search space's largest subnet
 * (resolution 28; with --imagenet, the ImageNet space's at 224), next to BLIS's own sgemm on a square problem, measured in the same run.
 * Timings are medians of repeated runs after a warm-up; GFLOP/s counts 2 flops per MAC. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alphanet/common.h"
#include "alphanet/kernels/act.h"
#include "alphanet/kernels/bn.h"
#include "alphanet/kernels/conv.h"
#include "alphanet/kernels/dwbn.h"
#include "alphanet/kernels/dwconv.h"
#include "alphanet/kernels/gemm.h"
#include "alphanet/kernels/layout.h"
#include "alphanet/io/config.h"
#include "alphanet/train/step.h"
#include "alphanet/train/group.h"
#include "alphanet/dist/comm.h"
#include "alphanet/prof.h"
#include "alphanet/rng.h"
#include "cli.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The first value of "key\t: value" in /proc/cpuinfo into out (empty if absent). */
static void cpuinfo_value(const char *key, char *out, size_t n)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    const size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl)) continue;
        const char *v = line + kl;
        while (*v == ' ' || *v == '\t') v++;
        if (*v != ':') continue; /* a longer key: "model name" when asked for "model" */
        for (v++; *v == ' '; v++) {}
        snprintf(out, n, "%s", v);
        out[strcspn(out, "\n")] = '\0';
        break;
    }
    fclose(f);
}

/* The size of cpu0's cache at that index in sysfs ("2048K"), or "?". */
static void cache_size(int index, char *out, size_t n)
{
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
    snprintf(out, n, "?");
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (fgets(out, (int)n, f)) out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

/* What a benchmark ran on, for the record next to its numbers: the CPU's name, family and model
 * (names such as "Intel(R) Xeon(R) Processor" do not say which), online CPUs, L2 and L3 of cpu0.
 * Double quotes and backslashes become spaces, so the text can go into JSON as it is. */
static void machine_text(char *out, size_t n)
{
    char name[128], fam[16], model[16], l2[32], l3[32];
    cpuinfo_value("model name", name, sizeof name);
    cpuinfo_value("cpu family", fam, sizeof fam);
    cpuinfo_value("model", model, sizeof model);
    cache_size(2, l2, sizeof l2);
    cache_size(3, l3, sizeof l3);
    snprintf(out, n, "%s, family %s model %s, %ld CPUs, L2 %s, L3 %s", name[0] ? name : "unknown CPU",
             fam[0] ? fam : "?", model[0] ? model : "?", sysconf(_SC_NPROCESSORS_ONLN), l2, l3);
    for (char *c = out; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) *c = ' ';
}

/* K_LAYERS / K_CHAIN: a block's middle (expansion BN + swish, depthwise, BN + swish) layer by
 * layer or chained channel by channel (dwbn.h); cin = channels, h = input size. A row with
 * `as` > 0 runs cin channels and reports the time scaled to `as` channels: a few channels
 * stay in L2 from call to call, so the row shows the same work without waiting for memory. */
typedef enum { K_CONV1X1, K_CONV, K_DW, K_BN_SWISH, K_LAYERS, K_CHAIN } kind;

typedef struct {
    const char *name;
    kind k;
    int cin, cout, h, ks, s;
    int as;
} shape;

typedef struct {
    const shape *sh;
    int n;
    float *x, *y, *dx, *dy, *w, *dw, *col, *aux1, *aux2;
    float *e, *pre, *gd, *ge, *work, *prm, *gprm; /* K_LAYERS, K_CHAIN */
} job;

/* MACs of the forward pass. */
static double job_macs(const shape *s, int n)
{
    const int ho = an_conv_out(s->h, s->ks, s->s);
    switch (s->k) {
    case K_CONV1X1:
    case K_CONV: return (double)s->cin * s->cout * s->ks * s->ks * ho * ho * n;
    case K_DW: return (double)s->cin * s->ks * s->ks * ho * ho * n;
    case K_BN_SWISH:
    case K_LAYERS:
    case K_CHAIN: return 0.0;
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
        else an_conv1x1_backward(j->dx, 1, j->dw, j->dy, j->x, j->w, s->cin, s->cout, s->cin, p);
        break;
    case K_CONV:
        if (!backward) an_conv2d_forward(j->y, j->x, j->w, s->cin * s->ks * s->ks, s->cout, s->cin, n, s->h, s->h, s->ks, s->s, j->col);
        else an_conv2d_backward(j->dx, j->dw, j->dy, j->x, j->w, s->cin * s->ks * s->ks, s->cout, s->cin, n, s->h, s->h, s->ks, s->s, j->col);
        break;
    case K_DW:
        if (!backward) an_dwconv_forward(j->y, j->x, j->w, s->ks * s->ks, s->ks, s->cin, n, s->h, s->h, s->ks, s->s);
        else an_dwconv_backward(j->dx, 1, j->dw, j->dy, j->x, j->w, s->ks * s->ks, s->ks, s->cin, n, s->h, s->h, s->ks, s->s);
        break;
    case K_BN_SWISH:
        if (!backward) {
            an_bn_train_forward(j->y, j->aux1, j->aux2, j->x, j->w, j->w + s->cin, s->cin, p, AN_BN_EPS);
            an_swish_forward(j->y, j->y, (size_t)(s->cin * p));
        } else {
            an_swish_backward(j->dx, j->dy, j->x, (size_t)(s->cin * p));
            an_bn_train_backward(j->dx, 1, j->dw, j->dw + s->cin, j->dy, j->x, j->aux1, j->aux2, j->w, s->cin, p);
        }
        break;
    case K_LAYERS:
    case K_CHAIN: {
        const int c = s->cin, ho = an_conv_out(s->h, s->ks, s->s);
        const ptrdiff_t po = (ptrdiff_t)n * ho * ho;
        float *st = j->aux1, *pr = j->prm, *gp = j->gprm; /* statistics: e mean, e rstd, d mean, d rstd */
        const an_dwbn l = {.c = c, .n = n, .h = s->h, .wd = s->h, .k = s->ks, .s = s->s, .w = j->w,
                           .wcs = s->ks * s->ks, .wrs = s->ks, .e_gamma = pr, .e_beta = pr + c,
                           .d_gamma = pr + 2 * c, .d_beta = pr + 3 * c};
        if (s->k == K_CHAIN && !backward)
            an_dwbn_train_forward(&l, j->x, st, st + c, NULL, j->pre, j->y, st + 2 * c, st + 3 * c, AN_BN_EPS, j->work);
        else if (s->k == K_CHAIN)
            an_dwbn_train_backward(&l, j->dx, j->dw, gp, gp + c, gp + 2 * c, gp + 3 * c, j->dy, j->x, st, st + c, NULL,
                                   j->pre, st + 2 * c, st + 3 * c, j->y, j->work); /* d_act again, as training does */
        else if (!backward) {
            an_bn_swish_train_forward(j->e, st, st + c, j->x, pr, pr + c, c, p, AN_BN_EPS);
            an_dwconv_forward(j->pre, j->e, j->w, s->ks * s->ks, s->ks, c, n, s->h, s->h, s->ks, s->s);
            an_bn_swish_train_forward(j->y, st + 2 * c, st + 3 * c, j->pre, pr + 2 * c, pr + 3 * c, c, po, AN_BN_EPS);
        } else {
            an_bn_swish_train_backward(j->gd, 0, gp + 2 * c, gp + 3 * c, j->dy, j->pre, st + 2 * c, st + 3 * c,
                                       pr + 2 * c, pr + 3 * c, c, po);
            an_dwconv_backward(j->ge, 0, j->dw, j->gd, j->e, j->w, s->ks * s->ks, s->ks, c, n, s->h, s->h, s->ks, s->s);
            an_bn_swish_train_backward(j->dx, 0, gp, gp + c, j->ge, j->x, st, st + c, pr, pr + c, c, p);
        }
        break;
    }
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
    int n = -1, quick = 0, imagenet = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--imagenet")) imagenet = 1;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: alphanet bench kernels [--batch N (64; 16 with --imagenet)] [--imagenet] [--quick]\n"
                   "Layers of the largest subnet of configs/fmnist.yaml at 28 x 28, or with --imagenet of\n"
                   "configs/alphanet-imagenet.yaml at 224 x 224.\n"
                   "Threads: BLIS_NUM_THREADS / OMP_NUM_THREADS (default 1).\n");
            return 0;
        } else {
            fprintf(stderr, "alphanet bench kernels: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (n == -1) n = imagenet ? 16 : 64;
    if (n < 1 || n > 4096) {
        fprintf(stderr, "alphanet bench kernels: --batch must be in 1..4096\n");
        return 2;
    }
    const double budget = quick ? 0.05 : 0.5;
    /* The largest subnet of configs/fmnist.yaml at resolution 28: stem, first block of each
     * stage (expand / depthwise / project) and the head. */
    static const shape shapes[] = {
        {"stem conv3x3 1->16 28", K_CONV, 1, 16, 28, 3, 1, 0},
        {"mb1 dw5x5 16 28", K_DW, 16, 16, 28, 5, 1, 0},
        {"mb1 project 16->16 28", K_CONV1X1, 16, 16, 28, 1, 1, 0},
        {"mb2 expand 16->96 28", K_CONV1X1, 16, 96, 28, 1, 1, 0},
        {"mb2 dw5x5 s2 96 28", K_DW, 96, 96, 28, 5, 2, 0},
        {"mb2 project 96->24 14", K_CONV1X1, 96, 24, 14, 1, 1, 0},
        {"mb2 expand 24->144 14", K_CONV1X1, 24, 144, 14, 1, 1, 0},
        {"mb2 dw5x5 144 14", K_DW, 144, 144, 14, 5, 1, 0},
        {"mb3 dw5x5 s2 144 14", K_DW, 144, 144, 14, 5, 2, 0},
        {"mb3 project 144->32 7", K_CONV1X1, 144, 32, 7, 1, 1, 0},
        {"mb3 expand 32->192 7", K_CONV1X1, 32, 192, 7, 1, 1, 0},
        {"mb4 expand 40->240 4", K_CONV1X1, 40, 240, 4, 1, 1, 0},
        {"mb5 expand 56->336 4", K_CONV1X1, 56, 336, 4, 1, 1, 0},
        {"mb5 dw5x5 336 4", K_DW, 336, 336, 4, 5, 1, 0},
        {"mb6 expand 72->432 2", K_CONV1X1, 72, 432, 2, 1, 1, 0},
        {"head expand 96->576 2", K_CONV1X1, 96, 576, 2, 1, 1, 0},
        {"bn+swish 96 28", K_BN_SWISH, 96, 96, 28, 1, 1, 0},
        {"bn+swish 144 14", K_BN_SWISH, 144, 144, 14, 1, 1, 0},
        {"mb2 bn-dw5x5 s2-bn 96 28", K_LAYERS, 96, 96, 28, 5, 2, 0},
        {"  the same, chained", K_CHAIN, 96, 96, 28, 5, 2, 0},
        {"  chained, in L2 (2 x 48)", K_CHAIN, 2, 2, 28, 5, 2, 96},
        {"mb2 bn-dw5x5-bn 144 14", K_LAYERS, 144, 144, 14, 5, 1, 0},
        {"  the same, chained", K_CHAIN, 144, 144, 14, 5, 1, 0},
        {"  chained, in L2 (4 x 36)", K_CHAIN, 4, 4, 14, 5, 1, 144},
    };
    /* The largest subnet of configs/alphanet-imagenet.yaml at resolution 224: the stem, the first
     * block of each stage (and mb5's second, 128 -> 768 channels) and the head (widths 24, 24, 32,
     * 40, 72, 128, 216, 224; expansion 1 in mb1, 6 elsewhere). */
    static const shape shapes_in[] = {
        {"stem conv3x3 s2 3->24 224", K_CONV, 3, 24, 224, 3, 2, 0},
        {"mb1 dw5x5 24 112", K_DW, 24, 24, 112, 5, 1, 0},
        {"mb1 project 24->24 112", K_CONV1X1, 24, 24, 112, 1, 1, 0},
        {"mb2 expand 24->144 112", K_CONV1X1, 24, 144, 112, 1, 1, 0},
        {"mb2 dw5x5 s2 144 112", K_DW, 144, 144, 112, 5, 2, 0},
        {"mb2 project 144->32 56", K_CONV1X1, 144, 32, 56, 1, 1, 0},
        {"mb3 expand 32->192 56", K_CONV1X1, 32, 192, 56, 1, 1, 0},
        {"mb3 dw5x5 s2 192 56", K_DW, 192, 192, 56, 5, 2, 0},
        {"mb4 expand 40->240 28", K_CONV1X1, 40, 240, 28, 1, 1, 0},
        {"mb5 expand 72->432 14", K_CONV1X1, 72, 432, 14, 1, 1, 0},
        {"mb5.2 dw5x5 768 14", K_DW, 768, 768, 14, 5, 1, 0},
        {"mb6 expand 128->768 14", K_CONV1X1, 128, 768, 14, 1, 1, 0},
        {"mb7 expand 216->1296 7", K_CONV1X1, 216, 1296, 7, 1, 1, 0},
        {"head expand 224->1344 7", K_CONV1X1, 224, 1344, 7, 1, 1, 0},
        {"bn+swish 144 112", K_BN_SWISH, 144, 144, 112, 1, 1, 0},
        {"mb2 bn-dw5x5 s2-bn 144 112", K_LAYERS, 144, 144, 112, 5, 2, 0},
        {"  the same, chained", K_CHAIN, 144, 144, 112, 5, 2, 0},
        {"mb3 bn-dw5x5 s2-bn 192 56", K_LAYERS, 192, 192, 56, 5, 2, 0},
        {"  the same, chained", K_CHAIN, 192, 192, 56, 5, 2, 0},
    };
    const shape *list = imagenet ? shapes_in : shapes;
    const int nshapes = imagenet ? (int)(sizeof shapes_in / sizeof shapes_in[0]) : (int)(sizeof shapes / sizeof shapes[0]);

    const double peak = sgemm_gflops(1024, 1024, 1024, quick ? 0.2 : 1.0);
    const int cm = imagenet ? 144 : 96, cn = n * (imagenet ? 112 * 112 : 28 * 28), ck = imagenet ? 24 : 16;
    const double convlike = sgemm_gflops(cm, cn, ck, quick ? 0.2 : 1.0);
    char machine[320];
    machine_text(machine, sizeof machine);
    printf("machine: %s\n", machine);
    printf("BLIS kernels: %s\n", an_gemm_kernel_name());
    printf("BLIS sgemm 1024^3: %.1f GFLOP/s; conv-shaped %d x %d x %d: %.1f GFLOP/s\n", peak, cm, cn, ck, convlike);
    printf("batch %d; times are medians per call; %% = share of the square sgemm speed; \"in L2 (c x r)\": c channels,\n"
           "which stay in L2 from call to call, the time multiplied by r\n\n", n);
    printf("%-26s %10s %10s %9s %9s %6s\n", "layer", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s", "fwd %");
    for (int i = 0; i < nshapes; i++) {
        const shape *s = &list[i];
        const int ho = an_conv_out(s->h, s->ks, s->s);
        job j = {.sh = s, .n = n};
        size_t xin = (size_t)s->cin * n * s->h * s->h, yout = (size_t)s->cout * n * ho * ho;
        size_t wsz = s->k == K_DW ? (size_t)s->cin * s->ks * s->ks : (size_t)s->cout * s->cin * s->ks * s->ks;
        if (s->k == K_BN_SWISH) wsz = 2 * (size_t)s->cin;
        j.x = fill(xin); j.dx = fill(xin); j.y = fill(yout); j.dy = fill(yout);
        j.w = fill(wsz); j.dw = fill(wsz);
        j.col = s->k == K_CONV ? fill(an_conv2d_col_size(s->cin, n, s->h, s->h, s->ks, s->s)) : NULL;
        j.aux1 = fill(4 * (size_t)s->cin); j.aux2 = fill((size_t)s->cin);
        if (s->k == K_LAYERS || s->k == K_CHAIN) {
            const an_dwbn l = {.c = s->cin, .n = n, .h = s->h, .wd = s->h, .k = s->ks, .s = s->s};
            j.e = fill(xin); j.pre = fill(yout); j.gd = fill(yout); j.ge = fill(xin);
            j.work = fill(an_dwbn_work_floats(&l, 1)); j.prm = fill(4 * (size_t)s->cin); j.gprm = fill(4 * (size_t)s->cin);
            for (int ch = 0; ch < s->cin; ch++) j.prm[ch] += 1.0f, j.prm[2 * s->cin + ch] += 1.0f; /* gammas near 1 */
        }
        const double rep = s->as > 0 ? (double)s->as / s->cin : 1.0; /* the time for `as` channels */
        double tf = time_it(&j, 0, budget) * rep, tb = time_it(&j, 1, budget) * rep;
        double macs = job_macs(s, n);
        if (macs > 0)
            printf("%-26s %10.3f %10.3f %9.1f %9.1f %5.0f%%\n", s->name, tf * 1e3, tb * 1e3, 2 * macs / tf * 1e-9,
                   4 * macs / tb * 1e-9, 100.0 * 2 * macs / tf * 1e-9 / peak);
        else
            printf("%-26s %10.3f %10.3f %9s %9s %6s\n", s->name, tf * 1e3, tb * 1e3, "-", "-", "-");
        an_free(j.x); an_free(j.dx); an_free(j.y); an_free(j.dy); an_free(j.w); an_free(j.dw);
        an_free(j.col); an_free(j.aux1); an_free(j.aux2);
        an_free(j.e); an_free(j.pre); an_free(j.gd); an_free(j.ge); an_free(j.work); an_free(j.prm); an_free(j.gprm);
    }
    return 0;
}

/* Resident memory of this process now (/proc/self/statm), in bytes; 0 if unknown. */
static double rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return (double)res * (double)sysconf(_SC_PAGESIZE);
}

/* Resident memory of this process on transparent huge pages (AnonHugePages of
 * /proc/self/smaps_rollup), in bytes; 0 if unknown. */
static double huge_now(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %lf kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024.0;
}

/* The g GEMM shapes that took the longest in the timed steps (an_gemm_shapes), per step. */
static void print_gemm_shapes(int g, int steps, double mean_ms)
{
    static an_gemm_shape_time t[AN_GEMM_SHAPES_MAX];
    const int all = an_gemm_shapes(t, AN_GEMM_SHAPES_MAX);
    double total = 0;
    int other = 0;
    for (int i = 0; i < all; i++) {
        total += t[i].seconds;
        other |= t[i].m == 0; /* the entry for shapes beyond the table */
    }
    printf("GEMM shapes on rank 0: %s%d shapes, %.2f ms per step in an_sgemm; the %d longest (A, B: n normal, t "
           "transposed):\n", other ? "more than " : "", other ? all - 1 : all, total * 1e3 / steps, g < all ? g : all);
    printf("  %6s %7s %6s  A B  %-8s %9s %9s %9s %6s %8s\n", "m", "n", "k", "route", "calls/st", "ms/step", "ms/call",
           "step%", "GFLOP/s");
    for (int i = 0; i < all && i < g; i++) {
        const double per_step = t[i].seconds * 1e3 / steps, per_call = t[i].seconds * 1e3 / (double)t[i].calls;
        if (t[i].m == 0) {
            printf("  %6s %7s %6s  - -  %-8s %9.1f %9.3f %9.3f %5.1f%% %8s\n", "-", "-", "-", t[i].route,
                   (double)t[i].calls / steps, per_step, per_call, 100 * per_step / mean_ms, "-");
            continue;
        }
        const double flop = 2.0 * t[i].m * t[i].n * (double)t[i].k * (double)t[i].calls;
        printf("  %6d %7d %6d  %c %c  %-8s %9.1f %9.3f %9.3f %5.1f%% %8.1f\n", t[i].m, t[i].n, t[i].k, t[i].ta, t[i].tb,
               t[i].route, (double)t[i].calls / steps, per_step, per_call, 100 * per_step / mean_ms,
               t[i].seconds > 0 ? flop / t[i].seconds * 1e-9 : 0.0);
    }
}

/* `alphanet bench step CONFIG [--batch N] [--steps K] [--warmup W] [--gemm-shapes G] [--json]
 * [--set k=v]...`: the sandwich step (largest, two fixed random and the smallest subnet, losses,
 * backward, gradient allreduce when run on several ranks, clip and SGD) on random images, after
 * warm-up; median of K steps, the time by kind of work, BLIS's sgemm speed in the same run,
 * memory against need; with G > 0, the G GEMM shapes that took the longest on rank 0. */
static int bench_step(int argc, char **argv)
{
    const char *path = NULL;
    int batch = 64, steps = 10, warmup = 2, json = 0, gemm_shapes = 0;
    char *sets[32];
    int nset = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--gemm-shapes") && i + 1 < argc) gemm_shapes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--set") && i + 1 < argc && nset < 32) sets[nset++] = argv[++i];
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: [mpirun -np P] alphanet bench step CONFIG [--batch N (64)] [--steps K (10)] [--warmup W (2)]\n"
                   "                                [--gemm-shapes G (0)] [--json] [--set k=v]...\n"
                   "The global batch is split over the P ranks. Threads per rank: BLIS_NUM_THREADS / OMP_NUM_THREADS.\n"
                   "--gemm-shapes G lists the G GEMM shapes that took the longest in the timed steps on rank 0.\n"
                   "--json adds one JSON object as the last line.\n");
            return 0;
        } else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr, "alphanet bench step: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (!path || batch < 1 || steps < 1 || warmup < 0 || gemm_shapes < 0) {
        fprintf(stderr, "usage: [mpirun -np P] alphanet bench step CONFIG [--batch N] [--steps K] [--warmup W]\n"
                        "                                [--gemm-shapes G] [--json] [--set k=v]...\n");
        return 2;
    }
    an_config cfg;
    if (an_config_load(&cfg, path, nset, sets)) {
        fprintf(stderr, "alphanet bench step: %s\n", an_error_message());
        return 2;
    }
    an_comm c;
    if (an_comm_init(&c, NULL, NULL)) {
        fprintf(stderr, "alphanet bench step: %s\n", an_error_message());
        return 1;
    }
    if (batch < c.size) {
        if (c.rank == 0) fprintf(stderr, "alphanet bench step: --batch %d is smaller than the %d ranks\n", batch, c.size);
        an_comm_finalize(&c);
        return 2;
    }
    cli_check_threads("bench step", c.rank);
    an_group g = an_comm_group(&c);
    const int P = c.size, n = batch / P + (c.rank < batch % P), n_max = batch / P + (batch % P > 0);
    const long sample0 = (long)c.rank * (batch / P) + (c.rank < batch % P ? c.rank : batch % P);
    const double rss0 = rss_now();
    cfg.train.batch = batch;
    an_supernet net;
    an_trainer tr;
    an_status st = an_supernet_create(&net, &cfg.space);
    if (!st) st = an_trainer_create(&tr, &cfg, &net, n_max);
    if ((st = an_comm_agree(&c, st))) {
        if (c.rank == 0) fprintf(stderr, "alphanet bench step: %s\n", an_error_message());
        an_comm_finalize(&c);
        return 1;
    }
    an_supernet_init(&net, 1);
    const int R = cfg.space.resolution.v[cfg.space.resolution.n - 1], C = cfg.space.in_channels, K = cfg.space.classes;
    float *x = fill((size_t)C * R * R * n_max);
    int *labels = malloc(sizeof(int) * n_max);
    for (int j = 0; j < n; j++) labels[j] = (int)((sample0 + j) % K);
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
    an_substats sst[AN_MAX_SUBNETS];
    size_t ws_before = 0, heap_before = 0;
    struct rusage ru0, ru1;
    for (int i = -warmup; i < steps && !st; i++) {
        if (i == 0) { /* the timed steps: profile on, and watch for allocations and page faults */
            an_prof_reset();
            an_prof_enabled = 1;
            if (gemm_shapes > 0) an_gemm_shapes_start();
            ws_before = an_net_ws_bytes(tr.ws);
            struct mallinfo2 mi = mallinfo2();
            heap_before = mi.uordblks + mi.hblkhd;
            getrusage(RUSAGE_SELF, &ru0);
        }
        memset(sst, 0, sizeof sst);
        const double t0 = an_now();
        st = an_step_local(&tr, &plan, x, R, R, labels, n, sample0, batch, i + warmup, 1.0, sst);
        if (!st && P > 1) AN_PROF(AN_PROF_COMM, st = g.sum_f32(g.ctx, tr.grad, net.total));
        if (!st) an_step_apply(&tr, 0.01);
        if (i >= 0) ms[i] = (an_now() - t0) * 1e3;
    }
    an_prof_enabled = 0;
    an_gemm_shapes_stop();
    getrusage(RUSAGE_SELF, &ru1);
    struct mallinfo2 mi = mallinfo2();
    const double heap_growth = (double)(mi.uordblks + mi.hblkhd) - (double)heap_before;
    const double ws_growth = (double)an_net_ws_bytes(tr.ws) - (double)ws_before;
    if ((st = an_comm_agree(&c, st))) {
        if (c.rank == 0) fprintf(stderr, "alphanet bench step: %s\n", an_error_message());
        an_comm_finalize(&c);
        return 1;
    }
    /* BLIS's sgemm on every rank at once, with the same threads: the machine's GEMM speed */
    an_comm_barrier(&c);
    double sg[1] = {sgemm_gflops(1024, 1024, 1024, 0.5)};
    g.sum_f64(g.ctx, sg, 1);
    /* memory: this rank's peak against what the step needs */
    size_t fwd = 0, bwd = 0;
    an_net_ws_arenas(tr.ws, &fwd, &bwd);
    const double state = 3.0 * net.total * sizeof(float), inputs = (double)C * R * R * n_max * sizeof(float);
    const double need = state + (double)fwd + (double)bwd + inputs;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double mem[5] = {ru.ru_maxrss * 1024.0, rss0, (double)(ru1.ru_minflt - ru0.ru_minflt) / steps,
                     heap_growth + ws_growth, -huge_now()};
    double mem_max[5];
    for (int k = 0; k < 5; k++) { /* the worst rank (of the first 64); the fewest huge pages */
        double v[64] = {0};
        const int q = P < 64 ? P : 64;
        if (c.rank < q) v[c.rank] = mem[k];
        g.sum_f64(g.ctx, v, (size_t)q);
        mem_max[k] = v[0];
        for (int r = 1; r < q; r++) mem_max[k] = v[r] > mem_max[k] ? v[r] : mem_max[k];
    }
    qsort(ms, steps, sizeof ms[0], cmp_double);
    const double med = ms[steps / 2];
    double mean = 0;
    for (int i = 0; i < steps; i++) mean += ms[i] / steps;
    if (c.rank == 0) {
        const double huge_mb = (0.0 - mem_max[4]) / 1e6; /* the fewest (stored negated); 0.0 - keeps -0.0 away */
        char machine[320];
        machine_text(machine, sizeof machine);
        printf("config %s, batch %d on %d rank(s) x %d thread(s), BLIS kernels %s, supernet %zu parameters\n", path,
               batch, P, an_kernel_threads(), an_gemm_kernel_name(), net.total);
        printf("machine: %s\n", machine);
        for (int s = 0; s < 4; s++) {
            char a[AN_ARCH_TEXT_MAX];
            an_arch_format(&plan.arch[s], a, sizeof a);
            printf("  subnet %d: %10.6f MFLOPs  %s\n", s, an_arch_flops(&cfg.space, &plan.arch[s]) / 1e6, a);
        }
        const double gf = flops / med * 1e-6;
        printf("step: %.1f ms (median of %d; min %.1f, max %.1f), %.1f images/s, %.1f GFLOP/s = %.0f%% of sgemm's "
               "%.1f GFLOP/s (1024^3, same ranks and threads)\n",
               med, steps, ms[0], ms[steps - 1], batch / med * 1e3, gf, 100 * gf / sg[0], sg[0]);
        printf("time by kind of work on rank 0 (mean step %.1f ms):\n", mean);
        double sum = 0;
        for (int k = 0; k < AN_PROF_KINDS; k++) {
            const double t = an_prof_seconds[k] * 1e3 / steps;
            sum += t;
            printf("  %-20s %8.2f ms %5.1f%%\n", an_prof_name((an_prof_kind)k), t, 100 * t / mean);
        }
        printf("  %-20s %8.2f ms %5.1f%%\n", "unprofiled", mean - sum, 100 * (mean - sum) / mean);
        /* each subnet's passes, which hold the kinds above but the loss, allreduce and update */
        printf("time by subnet on rank 0 (%d samples; GFLOP/s from the FLOPs counter, x2 forward, x4 backward):\n",
               n);
        printf("  subnet  forward ms  GFLOP/s  backward ms  GFLOP/s\n");
        for (int s = 0; s < 4; s++) {
            const double f = an_prof_subnet_seconds[s][0] * 1e3 / steps, b = an_prof_subnet_seconds[s][1] * 1e3 / steps;
            const double mf = an_arch_flops(&cfg.space, &plan.arch[s]) * n * 1e-6; /* per pass, MFLOP */
            printf("  %6d  %10.2f  %7.1f  %11.2f  %7.1f\n", s, f, f > 0 ? 2 * mf / f : 0.0, b,
                   b > 0 ? 4 * mf / b : 0.0);
        }
        if (gemm_shapes > 0) print_gemm_shapes(gemm_shapes, steps, mean);
        printf("memory per rank (worst rank): peak resident %.1f MB; the step needs %.1f MB = parameters, gradients and "
               "momentum %.1f + tape kept for backward %.1f + workspace %.1f + images %.1f; process before "
               "allocating %.1f MB; (peak - that) / need = %.2f\n",
               mem_max[0] / 1e6, need / 1e6, state / 1e6, fwd / 1e6, bwd / 1e6, inputs / 1e6, mem_max[1] / 1e6,
               (mem_max[0] - mem_max[1]) / need);
        printf("during the timed steps: %.1f page faults per step, %.0f bytes of new heap or workspace; %.1f MB resident "
               "on huge pages (fewest of any rank)\n", mem_max[2], mem_max[3], huge_mb);
        if (json) {
            printf("{\"impl\": \"alphanet\", \"machine\": \"%s\", \"ranks\": %d, \"threads\": %d, \"batch\": %d, \"steps\": %d, "
                   "\"ms_median\": %.3f, \"ms_min\": %.3f, \"ms_max\": %.3f, \"images_per_s\": %.3f, \"gflops\": %.3f, "
                   "\"sgemm_gflops\": %.3f, \"peak_rss_mb\": %.2f, \"need_mb\": %.2f, \"base_rss_mb\": %.2f, "
                   "\"faults_per_step\": %.1f, \"new_bytes\": %.0f, \"huge_mb\": %.2f, \"mflops\": [",
                   machine, P, an_kernel_threads(), batch, steps, med, ms[0], ms[steps - 1], batch / med * 1e3, gf, sg[0],
                   mem_max[0] / 1e6, need / 1e6, mem_max[1] / 1e6, mem_max[2], mem_max[3], huge_mb);
            for (int s = 0; s < 4; s++) printf("%s%.6f", s ? ", " : "", an_arch_flops(&cfg.space, &plan.arch[s]) / 1e6);
            printf("], \"breakdown_ms\": {");
            for (int k = 0; k < AN_PROF_KINDS; k++)
                printf("\"%s\": %.3f, ", an_prof_name((an_prof_kind)k), an_prof_seconds[k] * 1e3 / steps);
            printf("\"unprofiled\": %.3f}, \"subnet_ms\": [", mean - sum);
            for (int s = 0; s < 4; s++)
                printf("%s[%.3f, %.3f]", s ? ", " : "", an_prof_subnet_seconds[s][0] * 1e3 / steps,
                       an_prof_subnet_seconds[s][1] * 1e3 / steps);
            printf("]}\n");
        }
    }
    free(ms);
    free(labels);
    an_free(x);
    an_trainer_free(&tr);
    an_supernet_free(&net);
    an_comm_finalize(&c);
    return 0;
}

int cli_bench(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "kernels")) return bench_kernels(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "step")) return bench_step(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "comm")) return cli_bench_comm(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "checkpoint")) return cli_bench_checkpoint(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "data")) return cli_bench_data(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "records")) return cli_bench_records(argc - 1, argv + 1);
    fprintf(stderr, "usage: alphanet bench kernels [--batch N] [--imagenet] [--quick]\n"
                    "       [mpirun -np P] alphanet bench step CONFIG [--batch N] [--steps K] [--warmup W] [--gemm-shapes G]\n"
                    "                                    [--json] [--set k=v]...\n"
                    "       mpirun -np P alphanet bench comm [--max-bytes B] [--reps N]\n"
                    "       alphanet bench checkpoint CONFIG [--dir D] [--reps N]\n"
                    "       alphanet bench data CONFIG [--set k=v]... [--batch B] [--batches N] [--workers LIST]\n"
                    "       [mpirun -np P] alphanet bench records DIR [--split S] [--batch B] [--batches N]\n");
    return 2;
}

/* bench_comm.c - `alphanet bench comm`: time of the gradient allreduce against message size, on
 * the ranks it is started with (mpirun -np P alphanet bench comm), and a fit of the usual model
 * t(bytes) = alpha + beta x bytes (latency and inverse bandwidth), least squares in relative
 * error. Rank 0 prints; every rep starts after a barrier and takes the slowest rank's time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alphanet/common.h"
#include "alphanet/dist/comm.h"
#include "cli.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cli_bench_comm(int argc, char **argv)
{
    long max_bytes = 64L << 20;
    int reps = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--max-bytes") && i + 1 < argc) max_bytes = atol(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: mpirun -np P alphanet bench comm [--max-bytes B (64 MiB)] [--reps N (20)]\n"
                   "Times MPI allreduce-sum of float32 buffers of 4 bytes .. B, fits alpha + beta x bytes.\n");
            return 0;
        } else {
            fprintf(stderr, "alphanet bench comm: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (max_bytes < 4 || reps < 3) {
        fprintf(stderr, "alphanet bench comm: --max-bytes must be >= 4 and --reps >= 3\n");
        return 2;
    }
    an_comm c;
    if (an_comm_init(&c, NULL, NULL)) {
        fprintf(stderr, "alphanet bench comm: %s\n", an_error_message());
        return 1;
    }
    float *buf = malloc((size_t)max_bytes);
    double *t = malloc(sizeof(double) * reps), *tr = malloc(sizeof(double) * (size_t)c.size);
    if (!buf || !t || !tr) {
        fprintf(stderr, "alphanet bench comm: out of memory\n");
        an_comm_finalize(&c);
        return 1;
    }
    memset(buf, 0, (size_t)max_bytes);
    double xs[40], ys[40];
    int np = 0, rc = 0;
    if (c.rank == 0)
        printf("allreduce-sum of float32 on %d rank(s), median of %d (slowest rank per rep)\n%12s %12s %12s\n", c.size,
               reps, "bytes", "time (us)", "GB/s (alg)");
    for (long bytes = 4; bytes <= max_bytes && np < 40; bytes *= 4) {
        const size_t n = (size_t)bytes / 4;
        for (int r = -2; r < reps; r++) {
            if (an_comm_barrier(&c)) goto fail;
            const double t0 = an_now();
            if (an_comm_allreduce_sum_f32(&c, buf, n, 1.0f)) goto fail;
            const double dt = an_now() - t0;
            /* the slowest rank's time: a sum over ranks of one-hot entries, then the max */
            for (int q = 0; q < c.size; q++) tr[q] = q == c.rank ? dt : 0;
            if (an_comm_allreduce_sum_f64(&c, tr, (size_t)c.size)) goto fail;
            double mx = 0;
            for (int q = 0; q < c.size; q++) mx = tr[q] > mx ? tr[q] : mx;
            if (r >= 0) t[r] = mx;
        }
        qsort(t, (size_t)reps, sizeof t[0], cmp_double);
        xs[np] = (double)bytes, ys[np] = t[reps / 2];
        if (c.rank == 0) printf("%12ld %12.2f %12.3f\n", bytes, ys[np] * 1e6, bytes / ys[np] * 1e-9);
        np++;
    }
    if (c.rank == 0) {
        /* weighted least squares of y = a + b x with weights 1/y^2 (relative error) */
        double s0 = 0, s1 = 0, s2 = 0, sy = 0, sxy = 0;
        for (int i = 0; i < np; i++) {
            const double w = 1.0 / (ys[i] * ys[i]);
            s0 += w, s1 += w * xs[i], s2 += w * xs[i] * xs[i], sy += w * ys[i], sxy += w * xs[i] * ys[i];
        }
        const double det = s0 * s2 - s1 * s1;
        const double a = (s2 * sy - s1 * sxy) / det, b = (s0 * sxy - s1 * sy) / det;
        double worst = 0;
        for (int i = 0; i < np; i++) worst = fmax(worst, fabs(a + b * xs[i] - ys[i]) / ys[i]);
        printf("fit: alpha = %.2f us, beta = %.4f ns/byte (%.2f GB/s); worst relative misfit %.0f%%\n", a * 1e6, b * 1e9,
               1e-9 / b, 100 * worst);
        printf("fit-line: ranks %d alpha_us %.4f beta_ns_per_byte %.6f\n", c.size, a * 1e6, b * 1e9);
    }
    goto done;
fail:
    fprintf(stderr, "alphanet bench comm: %s\n", an_error_message());
    rc = 1;
done:
    free(buf);
    free(t);
    free(tr);
    an_comm_finalize(&c);
    return rc;
}

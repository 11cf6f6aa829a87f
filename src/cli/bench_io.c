/* bench_io.c - `alphanet bench checkpoint CONFIG [--dir D] [--reps N]`: time to write (flushed to
 * disk) and to read (every tensor checksummed) a checkpoint of CONFIG's supernet, next to the raw
 * sequential write speed of the same folder (write + fsync of as many bytes), measured in the
 * same run. Medians of N repetitions. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alphanet/common.h"
#include "alphanet/io/config.h"
#include "alphanet/io/h5.h"
#include "alphanet/nn/supernet.h"
#include "cli.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* write + fsync of `bytes` from buf in 4 MiB pieces; seconds, or -1 */
static double raw_write(const char *path, const char *buf, size_t bytes)
{
    const double t0 = an_now();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    for (size_t off = 0; off < bytes;) {
        size_t n = bytes - off < (4u << 20) ? bytes - off : (4u << 20);
        ssize_t w = write(fd, buf + off, n);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    int ok = fsync(fd) == 0;
    close(fd);
    return ok ? an_now() - t0 : -1;
}

int cli_bench_checkpoint(int argc, char **argv)
{
    const char *path = NULL, *dir = "/tmp";
    int reps = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: alphanet bench checkpoint CONFIG [--dir D (/tmp)] [--reps N (5)]\n");
            return 0;
        } else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr, "alphanet bench checkpoint: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (!path || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: alphanet bench checkpoint CONFIG [--dir D] [--reps N]\n");
        return 2;
    }
    an_config cfg;
    if (an_config_load(&cfg, path, 0, NULL)) {
        fprintf(stderr, "alphanet bench checkpoint: %s\n", an_error_message());
        return 2;
    }
    an_supernet net;
    float *mom = NULL;
    if (an_supernet_create(&net, &cfg.space) || !(mom = an_calloc(net.total * sizeof(float)))) {
        fprintf(stderr, "alphanet bench checkpoint: %s\n", an_error_message());
        return 1;
    }
    an_supernet_init(&net, 1);
    for (size_t i = 0; i < net.total; i++) mom[i] = 1e-3f * net.w[i];
    char ck[4096], raw[4096];
    snprintf(ck, sizeof ck, "%s/alphanet-bench-%ld.h5", dir, (long)getpid());
    snprintf(raw, sizeof raw, "%s/alphanet-bench-%ld.raw", dir, (long)getpid());
    an_ckpt_state s = {.step = 1, .steps_per_epoch = 1, .schedule_steps = 1, .world_size = 1, .micro_batches = 1};
    snprintf(s.software, sizeof s.software, "alphanet %s", an_version());
    s.config_text = "bench";
    s.metrics_text = "";
    double *tw = malloc(sizeof(double) * reps), *tr = malloc(sizeof(double) * reps), *traw = malloc(sizeof(double) * reps);
    int rc = 1;
    char *buf = NULL;
    size_t bytes = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = an_now();
        if (an_h5_write_checkpoint(ck, &s, &net, mom)) goto fail;
        tw[r] = an_now() - t0;
        t0 = an_now();
        if (an_h5_read_checkpoint_tensors(ck, &net, mom)) goto fail;
        tr[r] = an_now() - t0;
        if (!buf) {
            struct stat sb;
            stat(ck, &sb);
            bytes = (size_t)sb.st_size;
            buf = malloc(bytes);
            if (!buf) goto fail;
            memset(buf, 0x5a, bytes);
        }
        if ((traw[r] = raw_write(raw, buf, bytes)) < 0) {
            an_error(AN_ERR_IO, "raw write to '%s' failed: %s", raw, strerror(errno));
            goto fail;
        }
    }
    qsort(tw, reps, sizeof(double), cmp_double);
    qsort(tr, reps, sizeof(double), cmp_double);
    qsort(traw, reps, sizeof(double), cmp_double);
    const double mb = bytes / 1e6;
    printf("checkpoint of %s: %zu parameters, %.1f MB file, folder %s, median of %d\n", path, net.total, mb, dir, reps);
    printf("%-34s %10s %10s\n", "", "seconds", "MB/s");
    printf("%-34s %10.3f %10.0f\n", "checkpoint write (+fsync, rename)", tw[reps / 2], mb / tw[reps / 2]);
    printf("%-34s %10.3f %10.0f\n", "checkpoint read (checksummed)", tr[reps / 2], mb / tr[reps / 2]);
    printf("%-34s %10.3f %10.0f\n", "raw sequential write (+fsync)", traw[reps / 2], mb / traw[reps / 2]);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "alphanet bench checkpoint: %s\n", an_error_message());
out:
    unlink(ck);
    unlink(raw);
    free(buf);
    free(tw);
    free(tr);
    free(traw);
    an_free(mom);
    an_supernet_free(&net);
    return rc;
}

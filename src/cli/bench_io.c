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
#include <zlib.h>

#include "alphanet/common.h"
#include "alphanet/dist/comm.h"
#include "alphanet/io/batch.h"
#include "alphanet/io/config.h"
#include "alphanet/io/h5.h"
#include "alphanet/io/records.h"
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

/* `alphanet bench data CONFIG [--set k=v]... [--batch B] [--batches N] [--workers LIST]`: images
 * per second the input pipeline of CONFIG's data delivers to one rank (read, decode, augment,
 * normalise; training and evaluation batches), for each number of decoding threads in LIST. */
int cli_bench_data(int argc, char **argv)
{
    const char *path = NULL, *wlist = "1,2";
    int batch = 32, batches = 8, nset = 0;
    char *sets[32];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batches") && i + 1 < argc) batches = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--workers") && i + 1 < argc) wlist = argv[++i];
        else if (!strcmp(argv[i], "--set") && i + 1 < argc && nset < 32) sets[nset++] = argv[++i];
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: alphanet bench data CONFIG [--set section.key=value]... [--batch B (32)] [--batches N (8)]\n"
                   "                          [--workers LIST (1,2)]\n");
            return 0;
        } else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr, "alphanet bench data: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (!path || batch < 1 || batches < 1) {
        fprintf(stderr, "usage: alphanet bench data CONFIG [--set k=v]... [--batch B] [--batches N] [--workers LIST]\n");
        return 2;
    }
    an_config cfg;
    if (an_config_load(&cfg, path, nset, sets)) {
        fprintf(stderr, "alphanet bench data: %s\n", an_error_message());
        return 2;
    }
    an_dataset train, test;
    if (an_data_load(&cfg, &train, NULL, &test)) {
        fprintf(stderr, "alphanet bench data: %s\n", an_error_message());
        return 1;
    }
    const char *kind = train.rec ? (train.rec->encoding == AN_ENC_JPEG ? "JPEG records" : "raw-pixel records")
                                 : train.synthetic ? "synthetic images" : "images in memory";
    printf("input pipeline of %s: %s (%s), %ld training images, delivered at %dx%dx%d, augment %s; batch %d, %d batches\n",
           path, cfg.data.dataset, kind, train.n, train.h, train.w, train.c, an_augment_name(train.augment), batch, batches);
    printf("%8s %14s %14s %14s\n", "workers", "train img/s", "eval img/s", "ms per batch");
    long *perm = malloc((size_t)train.n * sizeof(long)), *idx = malloc((size_t)batch * sizeof(long));
    float *x = an_alloc((size_t)train.c * train.h * train.w * batch * sizeof(float));
    int *labels = malloc((size_t)batch * sizeof(int));
    int rc = 1;
    if (!perm || !idx || !x || !labels) goto out;
    an_epoch_order(perm, train.n, 1, 0);
    for (const char *p = wlist; *p;) {
        char *end;
        const long w = strtol(p, &end, 10);
        if (end == p || w < 1 || w > 256) {
            fprintf(stderr, "alphanet bench data: --workers takes a list like 1,2\n");
            rc = 2;
            goto out;
        }
        p = *end == ',' ? end + 1 : end;
        an_data_cfg dc = cfg.data;
        dc.workers = (int)w;
        double sec[2] = {0, 0};
        for (int tr = 1; tr >= 0; tr--) {
            const an_dataset *d = tr ? &train : &test;
            /* one batch of warm-up (page cache, buffers), then the timed ones */
            for (int b = -1; b < batches; b++) {
                for (int j = 0; j < batch; j++)
                    idx[j] = tr ? perm[((long)(b + 1) * batch + j) % train.n] : ((long)(b + 1) * batch + j) % d->n;
                const double t0 = an_now();
                if (an_make_batch(x, labels, d, idx, batch, &dc, tr, 1, 0)) {
                    fprintf(stderr, "alphanet bench data: %s\n", an_error_message());
                    goto out;
                }
                if (b >= 0) sec[tr] += an_now() - t0;
            }
        }
        const double n = (double)batch * batches;
        printf("%8ld %14.0f %14.0f %14.1f\n", w, n / sec[1], n / sec[0], 1e3 * sec[1] / batches);
        fflush(stdout);
    }
    rc = 0;
out:
    free(perm);
    free(idx);
    an_free(x);
    free(labels);
    an_dataset_free(&train);
    an_dataset_free(&test);
    return rc;
}

/* ---- bench records: pread against MPI-IO ---- */

typedef struct {
    long shard_of;
    int64_t off, len;
    long rec;
} range;

static int cmp_range(const void *a, const void *b)
{
    const range *x = a, *y = b;
    if (x->shard_of != y->shard_of) return x->shard_of < y->shard_of ? -1 : 1;
    return (x->off > y->off) - (x->off < y->off);
}

static void evict(const an_records *r)
{
    for (int k = 0; k < r->nshards; k++) posix_fadvise(r->fd[k], 0, 0, POSIX_FADV_DONTNEED);
}

/* `[mpirun -np P] alphanet bench records DIR [--split S] [--batch B] [--batches N]`: every rank
 * reads its part of N global batches of a random epoch order, by three methods: pread() per
 * record (what training does), MPI-IO reads per record, and one collective MPI-IO read per shard
 * and batch; each with a cold page cache (the shards' pages dropped) and a warm one. */
int cli_bench_records(int argc, char **argv)
{
    const char *dir = NULL, *split = "train";
    int batch = 256, batches = 8;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batches") && i + 1 < argc) batches = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--split") && i + 1 < argc) split = argv[++i];
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: [mpirun -np P] alphanet bench records DIR [--split train|test] [--batch B (256)] [--batches N (8)]\n");
            return 0;
        } else if (argv[i][0] != '-' && !dir) dir = argv[i];
        else {
            fprintf(stderr, "alphanet bench records: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (!dir || batch < 1 || batches < 1) {
        fprintf(stderr, "usage: alphanet bench records DIR [--split S] [--batch B] [--batches N]\n");
        return 2;
    }
    an_comm comm;
    if (an_comm_init(&comm, NULL, NULL)) {
        fprintf(stderr, "alphanet bench records: %s\n", an_error_message());
        return 1;
    }
    const int P = comm.size, root = comm.rank == 0;
    an_records r;
    an_status st = an_records_open(&r, dir, split);
    if ((st = an_comm_agree(&comm, st))) {
        if (root) fprintf(stderr, "alphanet bench records: %s\n", an_error_message());
        an_comm_finalize(&comm);
        return 1;
    }
    if ((long)batch * batches > r.n) batches = (int)(r.n / batch) > 0 ? (int)(r.n / batch) : 1;
    if (batch > r.n) batch = (int)r.n;
    an_comm_file **mf = calloc((size_t)r.nshards, sizeof *mf);
    long *perm = malloc((size_t)r.n * sizeof(long));
    range *rg = malloc((size_t)batch * sizeof(range));
    int64_t *off = malloc((size_t)batch * sizeof(int64_t)), *len = malloc((size_t)batch * sizeof(int64_t));
    size_t cap = 0, buf_cap = 0;
    uint8_t *one = NULL, *buf = NULL;
    if (!mf || !perm || !rg || !off || !len) st = an_error(AN_ERR_NOMEM, "out of memory");
    if ((st = an_comm_agree(&comm, st))) goto out;
    for (int k = 0; k < r.nshards && !st; k++) { /* collective: every rank opens every shard */
        char path[1200];
        an_records_shard_path(path, sizeof path, dir, split, k, r.nshards);
        st = an_comm_file_open(&comm, path, &mf[k]);
    }
    if ((st = an_comm_agree(&comm, st))) goto out;
    an_epoch_order(perm, r.n, 3, 0);
    static const char *const names[3] = {"pread per record", "MPI-IO per record", "MPI-IO collective"};
    double res[3][2][2]; /* method, cold/warm, {seconds summed over ranks, bytes summed} */
    memset(res, 0, sizeof res);
    for (int pass = 0; pass < 2; pass++)
        for (int m = 0; m < 3; m++) {
            if (pass == 0) evict(&r);
            if ((st = an_comm_barrier(&comm))) goto out;
            /* a rank's own failure (a CRC mismatch, memory) is kept in `local` and agreed on after
             * the pass; the collective method keeps taking part in every read until then */
            an_status local = AN_OK;
            double t = 0, bytes = 0;
            for (int b = 0; b < batches && (m == 2 || !local); b++) {
                int first, count;
                an_shard(batch, P, comm.rank, NULL, &first, &count);
                for (int j = 0; j < count; j++) {
                    const long i = perm[(long)b * batch + first + j];
                    int lo;
                    long q;
                    an_records_locate(&r, i, &lo, &q);
                    const an_records_shard *s = &r.shard[lo];
                    rg[j] = (range){lo, s->data_addr + s->offsets[q], s->offsets[q + 1] - s->offsets[q], i};
                }
                qsort(rg, (size_t)count, sizeof *rg, cmp_range);
                size_t need = 0;
                for (int j = 0; j < count; j++) need += (size_t)rg[j].len;
                if (need > buf_cap) {
                    free(buf);
                    buf = malloc(need);
                    buf_cap = buf ? need : 0;
                    if (!buf && !local) local = an_error(AN_ERR_NOMEM, "out of memory for %zu bytes of records", need);
                }
                if (local) count = 0; /* nothing more to read here, but still part of the collective reads */
                const double t0 = an_now();
                if (m == 0) {
                    for (int j = 0; j < count && !local; j++) {
                        size_t l = 0;
                        local = an_records_read(&r, rg[j].rec, &one, &cap, &l, NULL);
                        bytes += (double)l;
                    }
                } else {
                    size_t at = 0;
                    for (int k = 0, j = 0; k < r.nshards && (m == 2 || !local); k++) {
                        int n = 0;
                        while (j + n < count && rg[j + n].shard_of == k) off[n] = rg[j + n].off, len[n] = rg[j + n].len, n++;
                        an_status e2 = AN_OK;
                        if (n || m == 2) e2 = an_comm_file_read_ranges(mf[k], n, off, len, n ? buf + at : buf, m == 2);
                        if (e2 && !local) local = e2;
                        for (int e = 0; e < n && !e2; e++) {
                            const an_records_shard *s = &r.shard[k];
                            const long q = rg[j + e].rec - s->first;
                            if ((uint32_t)crc32(0L, buf + at, (uInt)len[e]) != s->crc[q] && !local)
                                local = an_error(AN_ERR_FORMAT, "record %ld: CRC mismatch after an MPI-IO read", rg[j + e].rec);
                            at += (size_t)len[e];
                        }
                        j += n;
                    }
                    bytes += (double)at;
                }
                t += an_now() - t0;
            }
            double v[2] = {t, bytes};
            if ((st = an_comm_agree(&comm, local)) || (st = an_comm_allreduce_sum_f64(&comm, v, 2))) goto out;
            res[m][pass][0] = v[0], res[m][pass][1] = v[1];
        }
    if (root) {
        printf("records of %s/%s: %ld images in %d shard(s); %d rank(s), each reading its part of %d batches of %d\n", dir,
               split, r.n, r.nshards, P, batches, batch);
        printf("%-20s %14s %12s %14s %12s\n", "per rank", "cold img/s", "cold MB/s", "warm img/s", "warm MB/s");
        const double imgs = (double)batch * batches;
        for (int m = 0; m < 3; m++) {
            printf("%-20s", names[m]);
            for (int pass = 0; pass < 2; pass++) {
                const double sec = res[m][pass][0] / P; /* mean seconds per rank */
                printf(" %14.0f %12.1f", imgs / P / sec, res[m][pass][1] / P / sec / 1e6);
            }
            putchar('\n');
        }
    }
out:
    if (st && (root || strncmp(an_error_message(), "rank ", 5))) fprintf(stderr, "alphanet bench records: %s\n", an_error_message());
    for (int k = 0; mf && k < r.nshards; k++) an_comm_file_close(mf[k]);
    free(mf);
    free(perm);
    free(rg);
    free(off);
    free(len);
    free(one);
    free(buf);
    an_records_close(&r);
    an_comm_finalize(&comm);
    return st ? 1 : 0;
}

/* data.c - `alphanet data import idx|folder`: converts Fashion-MNIST's IDX files into this
 * project's HDF5 image format version 1 (train.h5, test.h5), or a folder tree of photos into
 * record shards, version 2 (records.h), on all ranks of the job with a progress bar. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alphanet/dist/comm.h"
#include "alphanet/io/dataset.h"
#include "alphanet/io/h5.h"
#include "alphanet/io/import.h"
#include "cli.h"

static const char data_usage[] =
    "usage: alphanet data import idx [--dir DIR] [--classes K] [--mean M --std S] --out OUTDIR\n"
    "       [mpirun -np P] alphanet data import folder --src DIR --out OUTDIR [--size S] [--quality Q]\n"
    "              [--encoding jpeg|raw] [--shard-images N] [--channels 1|3] [--mean M,M,M --std S,S,S]\n"
    "\n"
    "Converts the IDX files of DIR (default /usr/share/datasets/fashion-mnist: train-images-idx3-ubyte.gz,\n"
    "train-labels-idx1-ubyte.gz, t10k-*) into OUTDIR/train.h5 and OUTDIR/test.h5 (format\n"
    "alphanet-images v1, readable with h5dump and h5py). Train on them with data.dataset: hdf5 and\n"
    "data.dir: OUTDIR. Defaults: 10 classes, mean 0.2860, std 0.3530 (Fashion-MNIST).\n"
    "\n"
    "folder: converts DIR/train/<class>/*.{jpg,jpeg,png} and DIR/val/<class>/* (or DIR/test/...) into\n"
    "OUTDIR/train-SSSSS-of-NNNNN.h5 and OUTDIR/test-SSSSS-of-NNNNN.h5 (alphanet-images v2, one record per\n"
    "image; docs/formats.md). Classes are the training sub-folders in byte order. Images whose shorter\n"
    "side exceeds S (default 320) are resized to S (antialiased) and stored as JPEG of quality Q (default\n"
    "90); JPEGs that need no resize are kept as they are. --encoding raw stores pixels instead.\n"
    "N images per shard (default 5000). Ranks convert whole shards, in parallel. Defaults: 3 channels,\n"
    "ImageNet's mean 0.485,0.456,0.406 and std 0.229,0.224,0.225. Train with data.dataset: hdf5, data.dir:\n"
    "OUTDIR.\n";

static int import_folder(int argc, char **argv);

int cli_data(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(data_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++) /* `data import idx --help`, `data import folder -h`, ... */
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(data_usage, stdout);
            return 0;
        }
    if (!strcmp(argv[1], "import") && argc >= 3 && !strcmp(argv[2], "folder")) return import_folder(argc, argv);
    if (strcmp(argv[1], "import") || argc < 3 || strcmp(argv[2], "idx")) {
        fprintf(stderr, "alphanet data: unknown subcommand (expected 'import idx' or 'import folder')\n\n%s", data_usage);
        return 2;
    }
    const char *dir = "/usr/share/datasets/fashion-mnist", *out = NULL;
    int classes = 10;
    float mean = 0.2860f, std = 0.3530f;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--classes") && i + 1 < argc) classes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mean") && i + 1 < argc) mean = strtof(argv[++i], NULL);
        else if (!strcmp(argv[i], "--std") && i + 1 < argc) std = strtof(argv[++i], NULL);
        else {
            fprintf(stderr, "alphanet data import: unknown option '%s'\n\n%s", argv[i], data_usage);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "alphanet data import: --out OUTDIR is required\n");
        return 2;
    }
    if (classes < 2 || classes > 256 || !(std > 0)) {
        fprintf(stderr, "alphanet data import: --classes must be in 2..256 and --std positive\n");
        return 2;
    }
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "alphanet data import: cannot create '%s': %s\n", out, strerror(errno));
        return 1;
    }
    static const char *const split[2] = {"train", "t10k"}, *const name[2] = {"train", "test"};
    for (int s = 0; s < 2; s++) {
        char img[4096], lab[4096], dst[4096], src[8300];
        snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, split[s]);
        snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, split[s]);
        snprintf(dst, sizeof dst, "%s/%s.h5", out, name[s]);
        snprintf(src, sizeof src, "%s + %s", img, lab);
        an_dataset d;
        if (an_idx_load(&d, img, lab, classes) || an_h5_write_images(dst, &d, &mean, &std, src)) {
            fprintf(stderr, "alphanet data import: %s\n", an_error_message());
            an_dataset_free(&d);
            return 1;
        }
        printf("%s: %ld images %dx%dx%d, %d classes\n", dst, d.n, d.h, d.w, d.c, classes);
        an_dataset_free(&d);
    }
    return 0;
}

/* ---- import folder ---- */

typedef struct {
    const an_comm *comm;
    const char *out;
    an_import_opts o;
    float mean[4], std[4];
    int shard_images;
} folder_job;

/* a comma-separated list of exactly n floats */
static int parse_floats(const char *txt, float *v, int n)
{
    const char *p = txt;
    for (int i = 0; i < n; i++) {
        char *end;
        v[i] = strtof(p, &end);
        if (end == p) return -1;
        p = end;
        if (i + 1 < n) {
            if (*p != ',') return -1;
            p++;
        }
    }
    return *p ? -1 : 0;
}

static void progress(const char *split, long done, long total, double t0, int tty, int *last_tenth)
{
    const double dt = an_now() - t0, rate = done / (dt > 1e-9 ? dt : 1e-9), eta = rate > 0 ? (total - done) / rate : 0;
    const int pct = total ? (int)(100 * done / total) : 100, width = 30, fill = total ? (int)(width * done / total) : width;
    if (tty) {
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r%-5s [%s] %3d%% %ld/%ld images, %.0f img/s, ETA %.0f s   ", split, bar, pct, done, total, rate,
                eta);
        if (done == total) fputc('\n', stderr);
    } else if (pct / 10 > *last_tenth || done == total) {
        *last_tenth = pct / 10;
        fprintf(stderr, "%s: %3d%% %ld/%ld images, %.0f img/s, ETA %.0f s\n", split, pct, done, total, rate, eta);
    }
    fflush(stderr);
}

/* converts one split; every rank takes shards rank, rank + P, ... */
static an_status import_split(const folder_job *jb, const an_folder_list *l, const char *split, const char *source,
                              double *bytes_out)
{
    const an_comm *c = jb->comm;
    const int P = c->size, r = c->rank;
    const long n = l->n;
    int shards = (int)((n + jb->shard_images - 1) / jb->shard_images);
    if (shards < 1) shards = 1;
    an_records_shard s = {0};
    size_t cap = 0;
    const long most = (n + shards - 1) / shards + 1;
    s.offsets = calloc((size_t)most + 1, sizeof(int64_t));
    s.labels = malloc((size_t)most * sizeof(int32_t));
    s.shapes = malloc((size_t)most * 3 * sizeof(int32_t));
    s.crc = malloc((size_t)most * sizeof(uint32_t));
    an_status st = s.offsets && s.labels && s.shapes && s.crc ? AN_OK : an_error(AN_ERR_NOMEM, "out of memory");
    s.class_names = l->class_names;
    s.classes = l->classes, s.channels = jb->o.channels, s.encoding = jb->o.encoding, s.shards = shards, s.total = n;
    memcpy(s.mean, jb->mean, sizeof s.mean);
    memcpy(s.std, jb->std, sizeof s.std);
    snprintf(s.source, sizeof s.source, "%.500s", source);
    int cur = r;          /* this rank's shard being converted */
    long next = 0;        /* its next image (global index) */
    double written = 0;
    const double t0 = an_now();
    int tty = isatty(2), tenth = -1, finished = cur >= shards;
    if (!finished) next = (long)cur * n / shards;
    for (;;) {
        /* up to 8 images of the current shard, then everybody reports */
        for (int k = 0; k < 8 && !st && !finished; k++) {
            const long lo = (long)cur * n / shards, hi = (long)(cur + 1) * n / shards;
            if (next == lo) s.n = 0, s.offsets[0] = 0, s.first = lo, s.shard = cur;
            if (next < hi) st = an_import_image(&s, &cap, l->paths[next], l->labels[next], &jb->o), next++;
            if (!st && next == hi) {
                char path[4200];
                an_records_shard_path(path, sizeof path, jb->out, split, cur, shards);
                if (!(st = an_h5_write_records(path, &s))) written += (double)s.offsets[s.n];
                cur += P;
                finished = cur >= shards;
                if (!finished) next = (long)cur * n / shards;
            }
        }
        if ((st = an_comm_agree(c, st))) break;
        double v[2] = {0, finished ? 0 : 1};
        /* images done by this rank: its finished shards and the current one's progress */
        for (int q = r; q < shards && q < cur; q += P) v[0] += (double)((long)(q + 1) * n / shards - (long)q * n / shards);
        if (!finished) v[0] += (double)(next - (long)cur * n / shards);
        if ((st = an_comm_allreduce_sum_f64(c, v, 2))) break;
        if (r == 0) progress(split, (long)v[0], n, t0, tty, &tenth);
        if (v[1] == 0) break;
    }
    double b = written;
    if (!st) st = an_comm_allreduce_sum_f64(c, &b, 1);
    *bytes_out = b;
    if (st) /* remove what this run wrote, so no partial set is left behind */
        for (int q = r; q < shards; q += P) {
            char path[4200];
            an_records_shard_path(path, sizeof path, jb->out, split, q, shards);
            unlink(path);
        }
    s.class_names = NULL;
    an_records_shard_free(&s);
    return st;
}

static int import_folder(int argc, char **argv)
{
    const char *src = NULL, *out = NULL, *enc = "jpeg";
    folder_job jb = {.o = {.size = 320, .quality = 90, .encoding = AN_ENC_JPEG, .channels = 3}, .shard_images = 5000,
                     .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}};
    const char *mean_txt = NULL, *std_txt = NULL;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        long x = 0;
        if (v) x = strtol(v, &end, 10);
        const int num = v && end && end != v && !*end;
        if (!strcmp(a, "--src") && v) src = v, i++;
        else if (!strcmp(a, "--out") && v) out = v, i++;
        else if (!strcmp(a, "--encoding") && v) enc = v, i++;
        else if (!strcmp(a, "--mean") && v) mean_txt = v, i++;
        else if (!strcmp(a, "--std") && v) std_txt = v, i++;
        else if (!strcmp(a, "--size") && num && x >= 0 && x <= 65535) jb.o.size = (int)x, i++;
        else if (!strcmp(a, "--quality") && num && x >= 1 && x <= 100) jb.o.quality = (int)x, i++;
        else if (!strcmp(a, "--shard-images") && num && x >= 1 && x <= 100000000) jb.shard_images = (int)x, i++;
        else if (!strcmp(a, "--channels") && num && (x == 1 || x == 3)) jb.o.channels = (int)x, i++;
        else {
            fprintf(stderr, "alphanet data import folder: bad option '%s'%s%s (see --help)\n", a, v ? " " : "", v ? v : "");
            return 2;
        }
    }
    if (!src || !out) {
        fprintf(stderr, "alphanet data import folder: --src DIR and --out OUTDIR are required\n");
        return 2;
    }
    if (strcmp(enc, "jpeg") && strcmp(enc, "raw")) {
        fprintf(stderr, "alphanet data import folder: --encoding must be jpeg or raw (got '%s')\n", enc);
        return 2;
    }
    jb.o.encoding = !strcmp(enc, "raw") ? AN_ENC_RAW : AN_ENC_JPEG;
    if (jb.o.channels == 1 && !mean_txt) jb.mean[0] = 0.449f, jb.std[0] = 0.226f;
    if ((mean_txt && parse_floats(mean_txt, jb.mean, jb.o.channels)) || (std_txt && parse_floats(std_txt, jb.std, jb.o.channels))) {
        fprintf(stderr, "alphanet data import folder: --mean and --std take %d comma-separated numbers\n", jb.o.channels);
        return 2;
    }
    for (int c = 0; c < jb.o.channels; c++)
        if (!(jb.std[c] > 0)) {
            fprintf(stderr, "alphanet data import folder: --std entries must be positive\n");
            return 2;
        }
    an_comm comm;
    if (an_comm_init(&comm, NULL, NULL) != AN_OK) {
        fprintf(stderr, "alphanet data import folder: %s\n", an_error_message());
        return 1;
    }
    jb.comm = &comm;
    jb.out = out;
    const int root = comm.rank == 0;
    an_folder_list train = {0}, test = {0};
    char tdir[4200], vdir[4200];
    snprintf(tdir, sizeof tdir, "%s/train", src);
    snprintf(vdir, sizeof vdir, "%s/val", src);
    if (access(vdir, F_OK) != 0) snprintf(vdir, sizeof vdir, "%s/test", src);
    int code = 2;
    an_status st = an_folder_scan(&train, tdir, NULL);
    if (!st) st = an_folder_scan(&test, vdir, &train);
    if (!st && root && mkdir(out, 0777) != 0 && errno != EEXIST)
        st = an_error(AN_ERR_IO, "cannot create '%s': %s", out, strerror(errno));
    if (!st && root)
        for (int s = 0; s < 2 && !st; s++)
            if (an_records_exist(out, s ? "test" : "train"))
                st = an_error(AN_ERR_ARG, "'%s' already has %s shards: remove them or choose another --out (nothing was "
                              "changed)", out, s ? "test" : "train");
    if ((st = an_comm_agree(&comm, st))) goto done;
    code = 1;
    if (root)
        printf("alphanet data import folder: %s -> %s: %d classes, %ld training and %ld test images; %s, shorter side <= %d; "
               "%d rank(s)\n", src, out, train.classes, train.n, test.n, jb.o.encoding == AN_ENC_JPEG ? "JPEG" : "raw pixels",
               jb.o.size, comm.size);
    fflush(stdout);
    for (int s = 0; s < 2 && !st; s++) {
        const double t0 = an_now();
        double bytes = 0;
        const an_folder_list *l = s ? &test : &train;
        st = import_split(&jb, l, s ? "test" : "train", s ? vdir : tdir, &bytes);
        const double dt = an_now() - t0;
        const int shards = (int)((l->n + jb.shard_images - 1) / jb.shard_images);
        if (!st && root)
            printf("%s: %ld images in %d shard(s), %.1f MB (%.1f KB per image), %.1f s (%.0f images/s)\n",
                   s ? "test" : "train", l->n, shards, bytes / 1e6, bytes / 1e3 / (double)l->n, dt, l->n / (dt > 0 ? dt : 1));
    }
done:
    if (st && (root || comm.size == 1 || strncmp(an_error_message(), "rank ", 5)))
        fprintf(stderr, "alphanet data import folder: %s\n", an_error_message());
    an_folder_list_free(&train);
    an_folder_list_free(&test);
    an_comm_finalize(&comm);
    return st ? (st == AN_ERR_ARG ? 2 : code) : 0;
}

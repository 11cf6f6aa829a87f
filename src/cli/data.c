/* data.c - `alphanet data import idx ...`: converts Fashion-MNIST's IDX files into this project's
 * HDF5 image format (h5.h, docs/formats.md), train.h5 and test.h5 in an output folder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alphanet/io/dataset.h"
#include "alphanet/io/h5.h"
#include "cli.h"

static const char data_usage[] =
    "usage: alphanet data import idx [--dir DIR] [--classes K] [--mean M --std S] --out OUTDIR\n"
    "\n"
    "Converts the IDX files of DIR (default /usr/share/datasets/fashion-mnist: train-images-idx3-ubyte.gz,\n"
    "train-labels-idx1-ubyte.gz, t10k-*) into OUTDIR/train.h5 and OUTDIR/test.h5 (format\n"
    "alphanet-images v1, readable with h5dump and h5py). Train on them with data.dataset: hdf5 and\n"
    "data.dir: OUTDIR. Defaults: 10 classes, mean 0.2860, std 0.3530 (Fashion-MNIST).\n";

int cli_data(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(data_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "import") || argc < 3 || strcmp(argv[2], "idx")) {
        fprintf(stderr, "alphanet data: unknown subcommand (only 'import idx' exists)\n\n%s", data_usage);
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

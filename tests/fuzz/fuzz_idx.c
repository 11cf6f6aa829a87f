/* fuzz_idx.c - libFuzzer harness for the IDX readers (Fashion-MNIST's format, raw or gzip): the
 * input is split into an image file and a label file (first byte: where), written to a temporary
 * folder and loaded; any content must load or fail with a message, never crash, leak or
 * allocate absurd memory; a loaded set must be consistent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alphanet/io/dataset.h"

static char dir[64];

static void put(const char *path, const unsigned char *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n) fwrite(d, 1, n, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/alphanet-fuzz-idx-%ld", (long)getpid());
        char cmd[128];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
        if (system(cmd) != 0) abort();
    }
    if (size < 1) return 0;
    const size_t cut = 1 + (size_t)data[0] * (size - 1) / 255;
    char img[128], lab[128];
    snprintf(img, sizeof img, "%s/images", dir);
    snprintf(lab, sizeof lab, "%s/labels", dir);
    put(img, data + 1, cut - 1);
    put(lab, data + cut, size - cut);
    an_dataset d;
    if (an_idx_load(&d, img, lab, 10) != AN_OK) {
        if (!an_error_message()[0]) abort();
        return 0;
    }
    if (d.n < 0 || d.h < 1 || d.w < 1 || d.c < 1) abort();
    for (long i = 0; i < d.n; i++)
        if (d.labels[i] < 0 || d.labels[i] >= 10) abort();
    an_dataset_free(&d);
    return 0;
}

/* tiny.c - see tiny.h. */
#include "tiny.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include <sys/stat.h>

#include "alphanet/io/h5.h"

void t_tiny_supernet(an_config *c, an_supernet *net, unsigned seed)
{
    if (an_config_load(c, FIXTURE_DIR "/supernet/tiny.yaml", 0, NULL) || an_supernet_create(net, &c->space)) {
        fprintf(stderr, "FIXTURE ERROR: tiny supernet: %s\n", an_error_message());
        exit(2);
    }
    an_supernet_init(net, seed);
    for (int i = 0; i < net->nparams; i++)
        if (strstr(net->params[i].name, ".bn.")) {
            const an_param *p = &net->params[i];
            const int gamma = strstr(p->name, ".weight") != NULL;
            t_fill(net->w + p->offset, p->count, (unsigned)i + 1000u * seed, gamma ? 0.5f : -0.2f, gamma ? 1.5f : 0.2f);
        }
}

#define TOY_IMG 16

static an_status toy_split(const char *path, long n, unsigned seed)
{
    an_dataset d = {.n = n, .h = TOY_IMG, .w = TOY_IMG, .c = 1, .classes = 10};
    d.images = malloc((size_t)n * TOY_IMG * TOY_IMG);
    d.labels = malloc((size_t)n * sizeof(int32_t));
    if (!d.images || !d.labels) return AN_ERR_NOMEM;
    srand(seed);
    for (long i = 0; i < n; i++) {
        const int c = (int)((i * 7 + seed) % 10);
        d.labels[i] = c;
        for (int p = 0; p < TOY_IMG * TOY_IMG; p++)
            d.images[i * TOY_IMG * TOY_IMG + p] = (uint8_t)(rand() % 64 + (p / TOY_IMG == 1 + c ? 160 : 0));
    }
    const float mean = 0.2f, std = 0.3f;
    an_status st = an_h5_write_images(path, &d, &mean, &std, "tests/support/tiny.c");
    free(d.images);
    free(d.labels);
    return st;
}

int t_toy_run_setup(const char *dir, const char *extra)
{
    char path[600];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/train.h5", dir);
    if (toy_split(path, 96, 1)) return -1;
    snprintf(path, sizeof path, "%s/test.h5", dir);
    if (toy_split(path, 40, 2)) return -1;
    snprintf(path, sizeof path, "%s/tiny.yaml", dir);
    FILE *in = fopen(FIXTURE_DIR "/supernet/tiny.yaml", "r"), *out = fopen(path, "w");
    if (!in || !out) {
        if (in) fclose(in);
        if (out) fclose(out);
        return -1;
    }
    char line[512];
    while (fgets(line, sizeof line, in))
        if (strncmp(line, "  batch:", 8) != 0) fputs(line, out); /* batch 16 below */
    fprintf(out,
            "  epochs: 2\n  max_steps: 6\n  warmup_epochs: 0.5\n  batch: 16\n"
            "data: {dataset: hdf5, dir: %s, validation: 0, crop_padding: 2, hflip: true, mean: [0.2], std: [0.3]}\n"
            "eval: {every_epochs: 0, calib_batches: 1, batch: 20}\n%s",
            dir, extra ? extra : "");
    fclose(in);
    return fclose(out) == 0 ? 0 : -1;
}

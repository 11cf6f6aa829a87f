/* dataset.c - IDX readers and the config-driven loading of training/validation/test sets. */
#include "alphanet/io/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "alphanet/io/h5.h"

void an_dataset_free(an_dataset *d)
{
    an_free(d->images);
    an_free(d->labels);
    memset(d, 0, sizeof *d);
}

static an_status rd(gzFile f, void *buf, size_t bytes, const char *path, const char *what)
{
    size_t got = 0;
    while (got < bytes) {
        unsigned chunk = bytes - got > (1u << 30) ? (1u << 30) : (unsigned)(bytes - got);
        int r = gzread(f, (char *)buf + got, chunk);
        if (r <= 0) {
            int err;
            const char *m = gzerror(f, &err);
            return an_error(AN_ERR_FORMAT, "%s: truncated or unreadable while reading %s (%zu of %zu bytes; %s)", path,
                            what, got, bytes, err ? m : "end of file");
        }
        got += (size_t)r;
    }
    return AN_OK;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads the IDX header: magic 0x000008XX (unsigned bytes) with `ndim` dimensions. */
static an_status idx_header(gzFile f, const char *path, int ndim, uint32_t *dims)
{
    unsigned char h[4];
    an_status st = rd(f, h, 4, path, "the IDX magic number");
    if (st) return st;
    if (h[0] != 0 || h[1] != 0 || h[2] != 0x08)
        return an_error(AN_ERR_FORMAT, "%s: not an IDX file of unsigned bytes (magic %02x %02x %02x %02x)", path, h[0],
                        h[1], h[2], h[3]);
    if (h[3] != ndim)
        return an_error(AN_ERR_FORMAT, "%s: IDX file has %d dimensions, expected %d (%s)", path, h[3], ndim,
                        ndim == 3 ? "images" : "labels");
    for (int i = 0; i < ndim; i++) {
        unsigned char b[4];
        if ((st = rd(f, b, 4, path, "the IDX dimensions"))) return st;
        dims[i] = be32(b);
    }
    return AN_OK;
}

static gzFile open_gz(const char *path, an_status *st)
{
    gzFile f = gzopen(path, "rb");
    if (!f) *st = an_error(AN_ERR_IO, "cannot open '%s': %s", path, strerror(errno ? errno : ENOENT));
    return f;
}

an_status an_idx_load(an_dataset *d, const char *images_path, const char *labels_path, int classes)
{
    memset(d, 0, sizeof *d);
    an_status st = AN_OK;
    gzFile fi = open_gz(images_path, &st);
    if (!fi) return st;
    gzFile fl = open_gz(labels_path, &st);
    if (!fl) {
        gzclose(fi);
        return st;
    }
    uint32_t di[3] = {0}, dl[1] = {0};
    if ((st = idx_header(fi, images_path, 3, di))) goto out;
    if ((st = idx_header(fl, labels_path, 1, dl))) goto out;
    if (di[0] == 0 || di[1] == 0 || di[2] == 0 || di[1] > 4096 || di[2] > 4096 || di[0] > 100000000u) {
        st = an_error(AN_ERR_FORMAT, "%s: implausible image set shape %u x %u x %u", images_path, di[0], di[1], di[2]);
        goto out;
    }
    if (dl[0] != di[0]) {
        st = an_error(AN_ERR_FORMAT, "%s has %u images but %s has %u labels", images_path, di[0], labels_path, dl[0]);
        goto out;
    }
    char what[600];
    snprintf(what, sizeof what, "%s (%u images of %u x %u)", images_path, di[0], di[1], di[2]);
    if ((st = an_check_memory((double)di[0] * di[1] * di[2] + 4.0 * di[0], what))) goto out;
    d->n = di[0];
    d->h = (int)di[1];
    d->w = (int)di[2];
    d->c = 1;
    d->classes = classes;
    const size_t bytes = (size_t)d->n * d->h * d->w;
    d->images = an_alloc(bytes);
    d->labels = an_alloc((size_t)d->n * sizeof(int32_t));
    uint8_t *raw = malloc((size_t)d->n);
    if (!d->images || !d->labels || !raw) {
        free(raw);
        st = an_error(AN_ERR_NOMEM, "cannot allocate %zu bytes for %s", bytes, images_path);
        goto out;
    }
    if ((st = rd(fi, d->images, bytes, images_path, "the pixels")) || (st = rd(fl, raw, (size_t)d->n, labels_path, "the labels"))) {
        free(raw);
        goto out;
    }
    for (long i = 0; i < d->n; i++) {
        if (raw[i] >= classes) {
            st = an_error(AN_ERR_FORMAT, "%s: label %d of image %ld is out of range (the space has %d classes)",
                          labels_path, raw[i], i, classes);
            free(raw);
            goto out;
        }
        d->labels[i] = raw[i];
    }
    free(raw);
out:
    gzclose(fi);
    gzclose(fl);
    if (st) an_dataset_free(d);
    return st;
}

/* Moves the last k images of a into b (copies) and shrinks a. */
static an_status split_tail(an_dataset *a, an_dataset *b, long k)
{
    memset(b, 0, sizeof *b);
    const size_t px = (size_t)a->h * a->w * a->c;
    *b = (an_dataset){.n = k, .h = a->h, .w = a->w, .c = a->c, .classes = a->classes};
    b->images = an_alloc(k * px + 1);
    b->labels = an_alloc((size_t)k * sizeof(int32_t) + 1);
    if (!b->images || !b->labels) {
        an_dataset_free(b);
        return an_error(AN_ERR_NOMEM, "cannot allocate the validation split");
    }
    memcpy(b->images, a->images + (size_t)(a->n - k) * px, (size_t)k * px);
    memcpy(b->labels, a->labels + (a->n - k), (size_t)k * sizeof(int32_t));
    a->n -= k;
    return AN_OK;
}

an_status an_data_load(const an_config *cfg, an_dataset *train, an_dataset *val, an_dataset *test)
{
    const an_data_cfg *dc = &cfg->data;
    const int classes = cfg->space.classes;
    char a[AN_PATH_MAX + 64], b[AN_PATH_MAX + 64];
    an_status st;
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (val) memset(val, 0, sizeof *val);
    if (!strcmp(dc->dataset, "fashion-mnist")) {
        snprintf(a, sizeof a, "%s/train-images-idx3-ubyte.gz", dc->dir);
        snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte.gz", dc->dir);
        if ((st = an_idx_load(train, a, b, classes))) goto hint;
        snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte.gz", dc->dir);
        snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte.gz", dc->dir);
        if ((st = an_idx_load(test, a, b, classes))) goto hint;
    } else {
        snprintf(a, sizeof a, "%s/train.h5", dc->dir);
        if ((st = an_h5_read_images(a, train, NULL, NULL))) goto fail;
        snprintf(a, sizeof a, "%s/test.h5", dc->dir);
        if ((st = an_h5_read_images(a, test, NULL, NULL))) goto fail;
        for (int s = 0; s < 2; s++) {
            an_dataset *d = s ? test : train;
            for (long i = 0; i < d->n; i++)
                if (d->labels[i] < 0 || d->labels[i] >= classes) {
                    st = an_error(AN_ERR_FORMAT, "%s/%s.h5: label %d of image %ld is out of range (the space has %d classes)",
                                  dc->dir, s ? "test" : "train", d->labels[i], i, classes);
                    goto fail;
                }
        }
    }
    if (train->c != cfg->space.in_channels || test->c != cfg->space.in_channels) {
        st = an_error(AN_ERR_FORMAT, "the data has %d channel(s) but space.in_channels is %d", train->c,
                      cfg->space.in_channels);
        goto fail;
    }
    if (train->h != test->h || train->w != test->w || train->h != train->w) {
        st = an_error(AN_ERR_FORMAT, "training images are %dx%d and test images %dx%d: square images of one size expected",
                      train->h, train->w, test->h, test->w);
        goto fail;
    }
    if (dc->limit > 0 && dc->limit < train->n) train->n = dc->limit;
    if (dc->test_limit > 0 && dc->test_limit < test->n) test->n = dc->test_limit;
    if (val && dc->validation > 0) {
        if (dc->validation >= train->n) {
            st = an_error(AN_ERR_ARG, "data.validation (%d) must be smaller than the %ld training images", dc->validation,
                          train->n);
            goto fail;
        }
        if ((st = split_tail(train, val, dc->validation))) goto fail;
    }
    return AN_OK;
hint:
    if (!strcmp(dc->dataset, "fashion-mnist")) {
        char why[900];
        snprintf(why, sizeof why, "%s", an_error_message());
        st = an_error(st, "%s (Fashion-MNIST comes from Debian's package dataset-fashion-mnist; data.dir is '%s')", why,
                      dc->dir);
    }
fail:
    an_dataset_free(train);
    an_dataset_free(test);
    if (val) an_dataset_free(val);
    return st;
}

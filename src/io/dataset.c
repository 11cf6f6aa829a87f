/* dataset.c - IDX readers and the config-driven loading of training/validation/test sets. */
#include "alphanet/io/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "alphanet/io/h5.h"
#include "alphanet/rng.h"

void an_dataset_free(an_dataset *d)
{
    if (!d->view) {
        an_free(d->images);
        if (!d->rec) an_free(d->labels);
    }
    if (d->rec_owned) {
        an_records_close(d->rec_owned);
        free(d->rec_owned);
    }
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

/* Moves the last k images of a into b (copies in memory; a view of the same records or
 * synthetic images otherwise) and shrinks a. */
static an_status split_tail(an_dataset *a, an_dataset *b, long k)
{
    memset(b, 0, sizeof *b);
    if (a->rec || a->synthetic) {
        *b = *a;
        b->rec_owned = NULL;
        b->view = 1;
        b->n = k;
        b->base = a->base + a->n - k;
        b->labels = a->labels + (a->n - k);
        a->n -= k;
        return AN_OK;
    }
    const int sh = a->src_h ? a->src_h : a->h, sw = a->src_w ? a->src_w : a->w;
    const size_t px = (size_t)sh * sw * a->c;
    *b = (an_dataset){.n = k, .h = a->h, .w = a->w, .c = a->c, .classes = a->classes, .src_h = sh, .src_w = sw,
                      .augment = a->augment};
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

/* data.image_size, or the space's largest resolution */
static int default_size(const an_config *cfg)
{
    return cfg->data.image_size > 0 ? cfg->data.image_size : cfg->space.resolution.v[cfg->space.resolution.n - 1];
}

static int access_ok(const char *dir, const char *name)
{
    char p[AN_PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* random labels and images drawn from the index (batch.c), `base` apart for train and test */
static an_status synthetic_set(an_dataset *d, long n, long base, const an_config *cfg)
{
    const int S = cfg->data.image_size > 0 ? cfg->data.image_size : default_size(cfg);
    *d = (an_dataset){.n = n, .h = S, .w = S, .c = cfg->space.in_channels, .classes = cfg->space.classes,
                      .synthetic = 1, .base = base};
    if (!(d->labels = an_alloc((size_t)n * sizeof(int32_t))))
        return an_error(AN_ERR_NOMEM, "out of memory for %ld synthetic labels", n);
    for (long i = 0; i < n; i++)
        d->labels[i] = (int32_t)(an_hash3(0x5EEDull, 0x1AB0000ull, (uint64_t)(base + i)) % (uint64_t)d->classes);
    return AN_OK;
}

static an_status records_set(an_dataset *d, const char *dir, const char *split, const an_config *cfg)
{
    an_records *r = calloc(1, sizeof *r);
    if (!r) return an_error(AN_ERR_NOMEM, "out of memory");
    an_status st = an_records_open(r, dir, split);
    if (st) {
        free(r);
        return st;
    }
    if (r->classes > cfg->space.classes) {
        st = an_error(AN_ERR_FORMAT, "the %s shards in '%s' have %d classes but space.classes is %d", split, dir, r->classes,
                      cfg->space.classes);
        an_records_close(r);
        free(r);
        return st;
    }
    const int S = cfg->data.image_size > 0 ? cfg->data.image_size : default_size(cfg);
    *d = (an_dataset){.n = r->n, .h = S, .w = S, .c = r->channels, .classes = cfg->space.classes, .labels = r->labels,
                      .rec = r, .rec_owned = r};
    return AN_OK;
}

/* data.augment and data.image_size against the kind of data */
static an_status resolve_augment(const an_config *cfg, an_dataset *train, an_dataset *test)
{
    const an_data_cfg *dc = &cfg->data;
    const int in_memory = !train->rec && !train->synthetic;
    int aug = dc->augment;
    if (aug == AN_AUG_AUTO) aug = in_memory ? AN_AUG_PAD_CROP : AN_AUG_RRC;
    if (aug == AN_AUG_PAD_CROP && !in_memory)
        return an_error(AN_ERR_ARG, "data.augment: pad-crop needs images of one size in memory (fashion-mnist or a "
                        "version 1 HDF5 set); photos take random-resized-crop");
    for (int s = 0; s < 2; s++) {
        an_dataset *d = s ? test : train;
        d->augment = aug;
        if (in_memory) {
            d->src_h = d->h, d->src_w = d->w;
            if (aug == AN_AUG_PAD_CROP) {
                if (dc->image_size > 0 && dc->image_size != d->h)
                    return an_error(AN_ERR_ARG, "data.image_size (%d) differs from the %dx%d images: pad-crop keeps the "
                                    "size (set data.augment: random-resized-crop to resize)", dc->image_size, d->h, d->w);
            } else if (dc->image_size > 0) {
                d->h = d->w = dc->image_size;
            }
        }
    }
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
    } else if (!strcmp(dc->dataset, "synthetic")) {
        for (int s = 0; s < 2; s++)
            if ((st = synthetic_set(s ? test : train, s ? (dc->synthetic_images + 9) / 10 : dc->synthetic_images,
                                    s ? 1L << 40 : 0, cfg)))
                goto fail;
    } else if (access_ok(dc->dir, "train.h5") || !an_records_exist(dc->dir, "train")) {
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
    } else {
        for (int s = 0; s < 2; s++)
            if ((st = records_set(s ? test : train, dc->dir, s ? "test" : "train", cfg))) goto fail;
    }
    if ((st = resolve_augment(cfg, train, test))) goto fail;
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

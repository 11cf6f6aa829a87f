/* test_data.c - the data path:
 *   - IDX readers on files the test writes (raw and gzip'ed), and every kind of bad file: wrong
 *     magic, truncated, image/label count mismatch, label out of range, missing file;
 *   - the HDF5 image format round trip, and damaged or foreign HDF5 files: wrong element types,
 *     wrong ranks, disagreeing counts, missing attributes, absurd sizes (an error before any
 *     allocation), labels out of range;
 *   - epoch order (a permutation, a pure function of seed and epoch), shards (a partition of the
 *     batch for any rank count, weighted or not), augmentation (a pure function of seed, epoch and
 *     sample index, whatever batch or position the sample is in) and normalisation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hdf5.h>
#include <zlib.h>

#include "alphanet/io/batch.h"
#include "alphanet/io/dataset.h"
#include "alphanet/io/h5.h"
#include "test.h"

static char dir[256];

/* Writes an HDF5 file shaped like an image set but hostile: /images of element type `ti`, rank
 * `ri` and dims `di` (chunked and never written, so absurd sizes cost nothing), /labels of
 * `nl` int32 labels all equal to `label` (up to 1000 written), and the format attributes unless `no_format`. */
static void write_h5(const char *name, hid_t ti, int ri, const hsize_t *di, hsize_t nl, int label, int no_format)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (!no_format) {
        hid_t sp = H5Screate(H5S_SCALAR), ts = H5Tcopy(H5T_C_S1);
        H5Tset_size(ts, strlen("alphanet-images"));
        hid_t a = H5Acreate2(f, "format", ts, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, ts, "alphanet-images");
        H5Aclose(a);
        const int one = 1, ten = 10;
        a = H5Acreate2(f, "version", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_INT, &one);
        H5Aclose(a);
        a = H5Acreate2(f, "classes", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_INT, &ten);
        H5Aclose(a);
        H5Tclose(ts);
        H5Sclose(sp);
    }
    hid_t sp = H5Screate_simple(ri, di, NULL), pl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[4] = {1, 1, 1, 1};
    H5Pset_chunk(pl, ri, chunk);
    hid_t d = H5Dcreate2(f, "images", ti, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    H5Dclose(d);
    H5Pclose(pl);
    H5Sclose(sp);
    sp = H5Screate_simple(1, &nl, NULL);
    pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(pl, 1, chunk);
    d = H5Dcreate2(f, "labels", H5T_STD_I32LE, sp, H5P_DEFAULT, nl ? pl : H5P_DEFAULT, H5P_DEFAULT);
    if (nl <= 1000) { /* larger label sets stay unwritten, like the images */
        int32_t lab[1000];
        for (hsize_t i = 0; i < nl; i++) lab[i] = label;
        H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab);
    }
    H5Pclose(pl);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
}

/* an_h5_read_images of dir/name must end with status `want`, and a failure with a message
 * holding the file name and `what`. */
static void expect_h5_fail(const char *name, an_status want, const char *what)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    an_dataset d;
    an_status st = an_h5_read_images(path, &d, NULL, NULL);
    const char *msg = st ? an_error_message() : "";
    CHECK_MSG(st == want && (st == AN_OK || (strstr(msg, path) && strstr(msg, what))),
              "%s: status %d, message '%s' (wanted '%s')", name, st, msg, what);
    if (st == AN_OK) an_dataset_free(&d);
}

static void put32(unsigned char *b, unsigned v) { b[0] = v >> 24, b[1] = v >> 16, b[2] = v >> 8, b[3] = v; }

/* writes an IDX file: images (ndim 3) or labels (ndim 1), optionally gzip'ed, with overrides */
static void write_idx(const char *name, int ndim, unsigned n, int h, const unsigned char *data, size_t bytes, int gz,
                      unsigned char magic3)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unsigned char hdr[16] = {0, 0, 0x08, magic3};
    put32(hdr + 4, n);
    size_t hl = 8;
    if (ndim == 3) {
        put32(hdr + 8, (unsigned)h);
        put32(hdr + 12, (unsigned)h);
        hl = 16;
    }
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, hdr, (unsigned)hl);
        if (bytes) gzwrite(f, data, (unsigned)bytes);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(hdr, 1, hl, f);
        fwrite(data, 1, bytes, f);
        fclose(f);
    }
}

static void expect_fail(const char *img, const char *lab, const char *must)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/%s", dir, img);
    snprintf(b, sizeof b, "%s/%s", dir, lab);
    an_dataset d;
    an_status st = an_idx_load(&d, a, b, 10);
    CHECK_MSG(st != AN_OK && strstr(an_error_message(), must), "%s + %s: status %d, '%s' (wanted '%s')", img, lab, st,
              an_error_message(), must);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/alphanet_test_data_%d", (int)getpid());
    CHECK(mkdir(dir, 0700) == 0);
    enum { N = 50, H = 6 };
    unsigned char pix[N * H * H], lab[N];
    for (int i = 0; i < N * H * H; i++) pix[i] = (unsigned char)(i * 37 % 251);
    for (int i = 0; i < N; i++) lab[i] = (unsigned char)(i % 10);
    write_idx("img.gz", 3, N, H, pix, sizeof pix, 1, 3);
    write_idx("lab.gz", 1, N, 0, lab, sizeof lab, 1, 1);
    write_idx("img.raw", 3, N, H, pix, sizeof pix, 0, 3);
    write_idx("lab.raw", 1, N, 0, lab, sizeof lab, 0, 1);
    for (int gz = 0; gz < 2; gz++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/img.%s", dir, gz ? "gz" : "raw");
        snprintf(b, sizeof b, "%s/lab.%s", dir, gz ? "gz" : "raw");
        an_dataset d;
        CHECK_MSG(an_idx_load(&d, a, b, 10) == AN_OK, "%s", an_error_message());
        CHECK(d.n == N && d.h == H && d.w == H && d.c == 1);
        CHECK(!memcmp(d.images, pix, sizeof pix));
        int ok = 1;
        for (int i = 0; i < N; i++) ok &= d.labels[i] == lab[i];
        CHECK(ok);
        an_dataset_free(&d);
    }
    /* bad files */
    write_idx("badmagic", 3, N, H, pix, sizeof pix, 1, 9);
    expect_fail("badmagic", "lab.gz", "dimensions, expected 3");
    write_idx("trunc", 3, N, H, pix, sizeof pix / 2, 1, 3);
    expect_fail("trunc", "lab.gz", "truncated");
    write_idx("lab49", 1, N - 1, 0, lab, N - 1, 1, 1);
    expect_fail("img.gz", "lab49", "has 50 images but");
    unsigned char badlab[N];
    memcpy(badlab, lab, N);
    badlab[7] = 12;
    write_idx("labrange", 1, N, 0, badlab, N, 1, 1);
    expect_fail("img.gz", "labrange", "label 12 of image 7 is out of range");
    expect_fail("nonexistent", "lab.gz", "cannot open");
    {
        char path[512];
        snprintf(path, sizeof path, "%s/text", dir);
        FILE *f = fopen(path, "w");
        fputs("hello world, not IDX", f);
        fclose(f);
        expect_fail("text", "lab.gz", "not an IDX file");
    }

    /* HDF5 round trip and damage */
    an_dataset d;
    char a[512], b[512], h5[512];
    snprintf(a, sizeof a, "%s/img.gz", dir);
    snprintf(b, sizeof b, "%s/lab.gz", dir);
    an_idx_load(&d, a, b, 10);
    snprintf(h5, sizeof h5, "%s/set.h5", dir);
    float mean = 0.25f, sd = 0.5f, m2[4] = {0}, s2[4] = {0};
    CHECK_MSG(an_h5_write_images(h5, &d, &mean, &sd, "test") == AN_OK, "%s", an_error_message());
    an_dataset e;
    CHECK_MSG(an_h5_read_images(h5, &e, m2, s2) == AN_OK, "%s", an_error_message());
    CHECK(e.n == N && e.h == H && e.c == 1 && e.classes == 10 && !memcmp(e.images, d.images, sizeof pix) &&
          !memcmp(e.labels, d.labels, N * sizeof(int32_t)) && m2[0] == 0.25f && s2[0] == 0.5f);
    an_dataset_free(&e);
    {
        /* flip bytes in the middle of the file: the checksum (or HDF5's own checks) must catch it */
        FILE *f = fopen(h5, "r+b");
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        int caught = 0;
        for (long off = len / 3; off < len && !caught; off += len / 7) {
            fseek(f, off, SEEK_SET);
            int c = fgetc(f);
            fseek(f, off, SEEK_SET);
            fputc(c ^ 0x5a, f);
            fflush(f);
            an_status st = an_h5_read_images(h5, &e, NULL, NULL);
            if (st != AN_OK) caught = 1;
            else an_dataset_free(&e);
        }
        fclose(f);
        CHECK_MSG(caught, "byte flips in the HDF5 file went unnoticed");
        CHECK(strstr(an_error_message(), h5) != NULL);
        /* truncation */
        CHECK(an_h5_write_images(h5, &d, &mean, &sd, "test") == AN_OK);
        CHECK(truncate(h5, len / 2) == 0);
        CHECK(an_h5_read_images(h5, &e, NULL, NULL) != AN_OK);
        /* not HDF5 at all */
        char txt[512];
        snprintf(txt, sizeof txt, "%s/text", dir);
        CHECK(an_h5_read_images(txt, &e, NULL, NULL) == AN_ERR_FORMAT && strstr(an_error_message(), "not an HDF5 file"));
        /* a failed write leaves no file behind and an existing file intact */
        CHECK(an_h5_write_images(h5, &d, &mean, &sd, "test") == AN_OK);
        char bad[600];
        snprintf(bad, sizeof bad, "%s/no/such/folder/x.h5", dir);
        CHECK(an_h5_write_images(bad, &d, &mean, &sd, "test") == AN_ERR_IO);
        CHECK(an_h5_read_images(h5, &e, NULL, NULL) == AN_OK);
        an_dataset_free(&e);
    }


    /* hostile HDF5 image sets: each a clear error naming the file, none allocating */
    {
        const hsize_t ok4[4] = {8, 6, 6, 1}, r3[3] = {8, 6, 6}, huge[4] = {200000000, 1024, 1024, 3},
                      wide[4] = {8, 100000, 6, 1}, none[4] = {0, 6, 6, 1};
        write_h5("float.h5", H5T_IEEE_F32LE, 4, ok4, 8, 1, 0);
        expect_h5_fail("float.h5", AN_ERR_FORMAT, "/images must be 8-bit integers");
        write_h5("rank3.h5", H5T_STD_U8LE, 3, r3, 8, 1, 0);
        expect_h5_fail("rank3.h5", AN_ERR_FORMAT, "must have rank 4");
        write_h5("count.h5", H5T_STD_U8LE, 4, ok4, 7, 1, 0);
        expect_h5_fail("count.h5", AN_ERR_FORMAT, "8 images but 7 labels");
        write_h5("huge.h5", H5T_STD_U8LE, 4, huge, 200000000, 1, 0);
        expect_h5_fail("huge.h5", AN_ERR_NOMEM, "(200000000 images of 1024 x 1024 x 3) would need 629146.4 GB of memory");
        write_h5("wide.h5", H5T_STD_U8LE, 4, wide, 8, 1, 0);
        expect_h5_fail("wide.h5", AN_ERR_FORMAT, "implausible image shape 8 x 100000 x 6 x 1");
        write_h5("empty.h5", H5T_STD_U8LE, 4, none, 0, 1, 0);
        expect_h5_fail("empty.h5", AN_ERR_FORMAT, "implausible image shape 0 x");
        write_h5("noformat.h5", H5T_STD_U8LE, 4, ok4, 8, 1, 1);
        expect_h5_fail("noformat.h5", AN_ERR_FORMAT, "not an image dataset");
        /* a well-formed file reads; its labels are then range-checked against the space */
        write_h5("fine.h5", H5T_STD_U8LE, 4, ok4, 8, 3, 0);
        expect_h5_fail("fine.h5", AN_OK, "");
    }

    /* epoch order */
    long p1[N], p2[N], p3[N];
    an_epoch_order(p1, N, 5, 0);
    an_epoch_order(p2, N, 5, 0);
    an_epoch_order(p3, N, 5, 1);
    int seen[N] = {0}, same = 1, differ = 0;
    for (int i = 0; i < N; i++) {
        seen[p1[i]]++;
        same &= p1[i] == p2[i];
        differ += p1[i] != p3[i];
    }
    int perm = 1;
    for (int i = 0; i < N; i++) perm &= seen[i] == 1;
    CHECK(perm && same && differ > N / 2);
    /* shards partition the batch */
    const double w[4] = {1, 2, 0.5, 1.5};
    for (int B = 1; B <= 37; B += 6)
        for (int P = 1; P <= 4 && P <= B; P++)
            for (int weighted = 0; weighted < 2; weighted++) {
                int next = 0, ok = 1;
                for (int r = 0; r < P; r++) {
                    int f, c;
                    an_shard(B, P, r, weighted ? w : NULL, &f, &c);
                    ok &= f == next && c >= 0;
                    if (!weighted) ok &= c == B / P || c == B / P + 1;
                    next = f + c;
                }
                CHECK_MSG(ok && next == B, "shards of B=%d over P=%d (weighted %d)", B, P, weighted);
            }
    /* augmentation: per sample, whatever its position in the batch */
    an_data_cfg dc = {.crop_padding = 2, .hflip = 1, .nchannels_norm = 1, .mean = {0.25f}, .std = {0.5f}};
    long ia[4] = {3, 10, 17, 42}, ib[2] = {42, 3};
    float xa[H * H * 4], xb[H * H * 2];
    int la[4], lb[2];
    an_make_batch(xa, la, &d, ia, 4, &dc, 1, 9, 2);
    an_make_batch(xb, lb, &d, ib, 2, &dc, 1, 9, 2);
    int aug_ok = la[0] == d.labels[3] && lb[0] == d.labels[42];
    for (int i = 0; i < H * H; i++) aug_ok &= xa[i * 4 + 3] == xb[i * 2 + 0] && xa[i * 4 + 0] == xb[i * 2 + 1];
    CHECK_MSG(aug_ok, "augmentation of a sample depends on its batch");
    /* different epochs give different crops for most samples; eval mode is exact normalisation */
    float xc[H * H * 4];
    an_make_batch(xc, la, &d, ia, 4, &dc, 1, 9, 3);
    CHECK(memcmp(xa, xc, sizeof xa) != 0);
    an_make_batch(xc, la, &d, ia, 4, &dc, 0, 9, 3);
    int norm_ok = 1;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < H * H; i++) {
            const float v = (d.images[ia[j] * H * H + i] / 255.0f - 0.25f) / 0.5f;
            norm_ok &= fabsf(xc[i * 4 + j] - v) < 1e-6f;
        }
    CHECK(norm_ok);
    an_dataset_free(&d);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return TEST_SUMMARY();
}

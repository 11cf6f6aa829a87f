/* test_records.c - record shards (records.h) read on P = 1 or 2 ranks (this program runs under
 * mpirun -np P). Rank 0 writes a split of raw-pixel records of mixed sizes over uneven shards;
 * then every rank
 *   - opens the set: counts, labels, shapes and every record's bytes equal what was written;
 *   - makes this rank's shard of a global training batch (RandomResizedCrop + flip) and of an
 *     evaluation batch: summed over ranks they equal the whole batch made by one process, bit
 *     for bit, whatever P (the augmentation depends on (seed, epoch, sample) only);
 *   - the same batch twice is identical, another epoch differs, 1 and 2 decoding workers agree;
 *   - the background prefetcher gives the batch get() asks for, even after a wrong prediction;
 *   - a set with a shard from another import, or a missing one, or a shard whose offsets, labels
 *     or shapes are inconsistent, is refused with the shard's name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "alphanet/dist/comm.h"
#include "alphanet/io/batch.h"
#include "alphanet/io/h5.h"
#include "alphanet/io/prefetch.h"
#include "alphanet/rng.h"
#include "test.h"

#define N 37
#define SHARDS 3
#define S 20

static int side(long i, int which) { return 9 + (int)((i * (which ? 7 : 13)) % 23); }
static uint8_t pixel(long i, int y, int x, int c) { return (uint8_t)(i * 31 + y * 7 + x * 3 + c * 50 + (x * y) % 17); }

/* damage (in shard 1): 0 none, 1 offsets going backwards, 2 a label out of range, 3 a raw record
 * whose size disagrees with its shape */
static an_status write_split(const char *dir, const char *split, long first_shard_n, int damage)
{
    long bounds[SHARDS + 1] = {0, first_shard_n, first_shard_n + 5, N};
    for (int k = 0; k < SHARDS; k++) {
        an_records_shard s = {0};
        const long n = bounds[k + 1] - bounds[k];
        s.n = n, s.first = bounds[k], s.total = N, s.shard = k, s.shards = SHARDS, s.channels = 3, s.classes = 5;
        s.encoding = AN_ENC_RAW;
        s.offsets = calloc((size_t)n + 1, sizeof(int64_t));
        s.labels = malloc((size_t)n * sizeof(int32_t));
        s.shapes = malloc((size_t)n * 3 * sizeof(int32_t));
        s.crc = malloc((size_t)n * sizeof(uint32_t));
        s.class_names = calloc(5, AN_CLASS_NAME_MAX);
        size_t bytes = 0;
        for (long j = 0; j < n; j++) bytes += (size_t)side(bounds[k] + j, 0) * side(bounds[k] + j, 1) * 3;
        s.data = malloc(bytes);
        for (int c = 0; c < 5; c++) snprintf(s.class_names[c], AN_CLASS_NAME_MAX, "c%d", c);
        for (int c = 0; c < 3; c++) s.mean[c] = 0.5f, s.std[c] = 0.25f;
        size_t at = 0;
        for (long j = 0; j < n; j++) {
            const long i = bounds[k] + j;
            const int h = side(i, 0), w = side(i, 1);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++) s.data[at + ((size_t)y * w + x) * 3 + c] = pixel(i, y, x, c);
            s.labels[j] = (int32_t)(i % 5);
            s.shapes[3 * j] = h, s.shapes[3 * j + 1] = w, s.shapes[3 * j + 2] = 3;
            s.crc[j] = (uint32_t)crc32(0L, s.data + at, (uInt)((size_t)h * w * 3));
            at += (size_t)h * w * 3;
            s.offsets[j + 1] = (int64_t)at;
        }
        if (k == 1 && damage == 1) s.offsets[2] = s.offsets[1] - 1;
        if (k == 1 && damage == 2) s.labels[1] = 5;
        if (k == 1 && damage == 3) s.shapes[3] += 1;
        char path[512];
        an_records_shard_path(path, sizeof path, dir, split, k, SHARDS);
        an_status st = an_h5_write_records(path, &s);
        an_records_shard_free(&s);
        if (st) return st;
    }
    return AN_OK;
}

static const char config_text[] =
    "space:\n  in_channels: 3\n  classes: 5\n  resolutions: [16, 20]\n  stem: {width: [8], stride: 1}\n"
    "  stages:\n    - {name: a, width: [8], depth: [1], kernel: [3], expand: [1], stride: 1, se: false}\n"
    "  head: {expand: 2, mix_width: [16]}\n"
    "data: {dataset: hdf5, validation: 0, image_size: 20, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}\n";

int main(int argc, char **argv)
{
    an_comm c;
    if (an_comm_init(&c, &argc, &argv) != AN_OK) return 1;
    const int P = c.size, root = c.rank == 0;
    char dir[128];
    snprintf(dir, sizeof dir, "records_np%d", P);
    an_status st = AN_OK;
    if (root) {
        mkdir(dir, 0777);
        st = write_split(dir, "train", 11, 0);
        if (!st) st = write_split(dir, "test", 20, 0);
    }
    st = an_comm_agree(&c, st);
    CHECK_MSG(st == AN_OK, "writing shards: %s", an_error_message());
    if (st) return t_summary(__FILE__);

    /* the set, record by record */
    an_records r;
    st = an_records_open(&r, dir, "train");
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    if (!st) {
        CHECK(r.n == N && r.nshards == SHARDS && r.channels == 3 && r.classes == 5 && r.encoding == AN_ENC_RAW);
        CHECK(!strcmp(r.class_names[4], "c4"));
        int bad = 0;
        uint8_t *buf = NULL;
        size_t cap = 0, len = 0;
        for (long i = 0; i < N; i++) {
            int32_t sh[3];
            if (an_records_read(&r, i, &buf, &cap, &len, sh) || r.labels[i] != i % 5 || sh[0] != side(i, 0) ||
                sh[1] != side(i, 1) || len != (size_t)sh[0] * sh[1] * 3) {
                bad++;
                continue;
            }
            for (int y = 0; y < sh[0]; y++)
                for (int x = 0; x < sh[1]; x++)
                    for (int ch = 0; ch < 3; ch++) bad += buf[((size_t)y * sh[1] + x) * 3 + ch] != pixel(i, y, x, ch);
        }
        CHECK_MSG(bad == 0, "%d records or pixels differ", bad);
        free(buf);
        an_records_close(&r);
    }

    /* batches: this rank's shard against the whole batch */
    an_config cfg;
    char set[200];
    snprintf(set, sizeof set, "data.dir=%s", dir);
    char *sets[1] = {set};
    st = an_config_parse(&cfg, config_text, sizeof config_text - 1, "test", 1, sets);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    an_dataset train, test;
    st = st ? st : an_data_load(&cfg, &train, NULL, &test);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    if (st) return t_summary(__FILE__);
    CHECK(train.n == N && test.n == N && train.h == S && train.augment == AN_AUG_RRC && train.rec && !train.images);
    const int B = 16;
    const size_t per = (size_t)3 * S * S;
    long perm[N], idx[B];
    an_epoch_order(perm, N, 7, 1);
    for (int tr = 1; tr >= 0; tr--) {
        float *whole = malloc(per * B * sizeof(float)), *sum = calloc(per * B, sizeof(float));
        int lw[B], ls[B];
        CHECK(an_make_batch(whole, lw, tr ? &train : &test, perm, B, &cfg.data, tr, 7, 1) == AN_OK);
        int first, count;
        an_shard(B, P, c.rank, NULL, &first, &count);
        float *mine = malloc(per * (count ? count : 1) * sizeof(float));
        int lm[B];
        CHECK(an_make_batch(mine, lm, tr ? &train : &test, perm + first, count, &cfg.data, tr, 7, 1) == AN_OK);
        /* scatter this rank's columns into the CHWN batch, sum over ranks */
        for (size_t e = 0; e < per; e++)
            for (int j = 0; j < count; j++) sum[e * B + first + j] = mine[e * count + j];
        double lab[B];
        for (int j = 0; j < B; j++) lab[j] = j >= first && j < first + count ? lm[j - first] : 0;
        CHECK(an_comm_allreduce_sum_f32(&c, sum, per * B, 1.0f) == AN_OK);
        CHECK(an_comm_allreduce_sum_f64(&c, lab, B) == AN_OK);
        CHECK_MSG(!memcmp(whole, sum, per * B * sizeof(float)), "%s batch: ranks' shards differ from the whole batch",
                  tr ? "training" : "evaluation");
        int lab_ok = 1;
        for (int j = 0; j < B; j++) lab_ok &= lab[j] == lw[j] && lw[j] == perm[j] % 5;
        CHECK(lab_ok);
        if (tr) {
            /* repeatable, epoch-dependent, independent of the number of workers */
            float *again = malloc(per * B * sizeof(float));
            an_data_cfg two = cfg.data;
            two.workers = 2;
            CHECK(an_make_batch(again, ls, &train, perm, B, &two, 1, 7, 1) == AN_OK);
            CHECK(!memcmp(whole, again, per * B * sizeof(float)));
            CHECK(an_make_batch(again, ls, &train, perm, B, &cfg.data, 1, 7, 2) == AN_OK);
            CHECK(memcmp(whole, again, per * B * sizeof(float)) != 0);
            /* the prefetcher: a right and a wrong prediction */
            an_prefetch *pf = NULL;
            CHECK(an_prefetch_create(&pf, &train, &cfg.data, B, 1) == AN_OK);
            float *x;
            int *l;
            an_prefetch_submit(pf, perm, B, 1, 7, 1);
            CHECK(an_prefetch_get(pf, perm, B, 1, 7, 1, &x, &l) == AN_OK && !memcmp(x, whole, per * B * sizeof(float)));
            for (int j = 0; j < B; j++) idx[j] = perm[(j + 3) % N];
            an_prefetch_submit(pf, idx, B, 1, 7, 1);
            CHECK(an_prefetch_get(pf, perm, B, 1, 7, 1, &x, &l) == AN_OK && !memcmp(x, whole, per * B * sizeof(float)));
            an_prefetch_free(pf);
            free(again);
        }
        free(whole);
        free(sum);
        free(mine);
    }
    an_dataset_free(&train);
    an_dataset_free(&test);

    /* inconsistent sets */
    if (root) {
        char other[160], a[512], b[512];
        snprintf(other, sizeof other, "%s/other", dir);
        mkdir(other, 0777);
        CHECK(write_split(other, "train", 12, 0) == AN_OK); /* other shard bounds */
        an_records_shard_path(a, sizeof a, other, "train", 1, SHARDS);
        an_records_shard_path(b, sizeof b, dir, "train", 1, SHARDS);
        CHECK(rename(a, b) == 0);
        st = an_records_open(&r, dir, "train");
        CHECK_MSG(st == AN_ERR_FORMAT && strstr(an_error_message(), "train-00001-of-00003.h5") &&
                      strstr(an_error_message(), "does not belong"), "%s", an_error_message());
        if (!st) an_records_close(&r);
        remove(b);
        st = an_records_open(&r, dir, "train");
        CHECK_MSG(st == AN_ERR_IO && strstr(an_error_message(), "train-00001-of-00003.h5"), "%s", an_error_message());
        if (!st) an_records_close(&r);
        for (int damage = 1; damage <= 3; damage++) {
            char bad[160];
            snprintf(bad, sizeof bad, "%s/bad%d", dir, damage);
            mkdir(bad, 0777);
            CHECK(write_split(bad, "train", 11, damage) == AN_OK);
            st = an_records_open(&r, bad, "train");
            CHECK_MSG(st == AN_ERR_FORMAT && strstr(an_error_message(), "train-00001-of-00003.h5") &&
                          strstr(an_error_message(), "record 1 is inconsistent"), "damage %d: %s", damage,
                      an_error_message());
            if (!st) an_records_close(&r);
        }
    }
    an_comm_finalize(&c);
    return t_summary(__FILE__);
}

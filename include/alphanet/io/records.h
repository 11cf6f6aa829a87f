/* records.h - large image sets as shards of encoded records ("alphanet-images" version 2).
 *
 * A split (train, test) is a set of HDF5 files DIR/<split>-SSSSS-of-NNNNN.h5, each holding a
 * contiguous run of the split's images in global order (docs/formats.md):
 *   /data        uint8 [bytes]   the records, one after the other (contiguous layout)
 *   /offsets     int64 [n + 1]   record i is data[offsets[i] .. offsets[i + 1])
 *   /labels      int32 [n]
 *   /shapes      int32 [n][3]    height, width, channels of each decoded image
 *   /crc32       uint32 [n]      zlib CRC-32 of each record, checked on every read
 *   /class_names string [classes]
 *   attributes: format "alphanet-images", version 2, encoding ("jpeg" or "raw": uint8
 *   [h][w][c] pixels), channels, classes, shard, shards, first (global index of record 0),
 *   total (images in the split), mean, std (float32 [channels]), source.
 * Readers load the small index arrays of every shard and then read single records with pread()
 * at the file address of /data: no HDF5 call on the hot path, so prefetch threads read in
 * parallel, and each rank reads only the records of its own samples.
 */
#ifndef ALPHANET_IO_RECORDS_H
#define ALPHANET_IO_RECORDS_H

#include <stdint.h>

#include "alphanet/common.h"

enum { AN_ENC_RAW = 0, AN_ENC_JPEG = 1 };
#define AN_CLASS_NAME_MAX 128
#define AN_RECORD_MAX (1 << 28) /* bytes a record may have */

typedef struct {
    long n;            /* records in this shard */
    long first, total; /* global index of record 0; records in the whole split */
    int shard, shards;
    int channels, classes, encoding;
    int64_t *offsets;  /* [n + 1] */
    int32_t *labels;   /* [n] */
    int32_t *shapes;   /* [n][3] */
    uint32_t *crc;     /* [n] */
    uint8_t *data;     /* writer: the records (offsets[n] bytes); reader: NULL */
    int64_t data_addr; /* reader: file address of /data */
    char (*class_names)[AN_CLASS_NAME_MAX]; /* [classes] */
    float mean[4], std[4];
    char source[512];
} an_records_shard;

void an_records_shard_free(an_records_shard *s);

/* The set of shards of one split, opened for reading. */
typedef struct {
    int nshards;
    an_records_shard *shard;
    int *fd;
    long n;          /* records in the split */
    int32_t *labels; /* [n], global order */
    int channels, classes, encoding;
    char (*class_names)[AN_CLASS_NAME_MAX];
    float mean[4], std[4];
    char dir[1024], split[32];
} an_records;

/* "DIR/<split>-SSSSS-of-NNNNN.h5" */
void an_records_shard_path(char *out, size_t cap, const char *dir, const char *split, int shard, int shards);
/* 1 if DIR has shards of `split` (the first one exists), else 0. */
int an_records_exist(const char *dir, const char *split);
/* Opens every shard of the split and checks that they form one consistent set. */
an_status an_records_open(an_records *r, const char *dir, const char *split);
void an_records_close(an_records *r);
/* The shard holding record i (global index, 0 <= i < r->n) and i's index in it. */
void an_records_locate(const an_records *r, long i, int *shard, long *j);
/* Reads record i (global index) into *buf (grown as needed; *cap its size), checks its CRC and
 * sets *len, and (if shape != NULL) its stored h, w, c. Safe to call from several threads. */
an_status an_records_read(const an_records *r, long i, uint8_t **buf, size_t *cap, size_t *len, int32_t shape[3]);

#endif

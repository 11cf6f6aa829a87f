/* records.c - the shards of a record image set: discovery, consistency, and reads of single
 * records with pread() (see records.h; the HDF5 side is in h5.c). */
#include "alphanet/io/records.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "alphanet/io/h5.h"

void an_records_shard_free(an_records_shard *s)
{
    free(s->offsets);
    free(s->labels);
    free(s->shapes);
    free(s->crc);
    free(s->data);
    free(s->class_names);
    memset(s, 0, sizeof *s);
}

void an_records_shard_path(char *out, size_t cap, const char *dir, const char *split, int shard, int shards)
{
    snprintf(out, cap, "%s/%s-%05d-of-%05d.h5", dir, split, shard, shards);
}

/* the shard count from the name of shard 0, or 0 when there is none (several counts: -1) */
static int find_shards(const char *dir, const char *split)
{
    char pat[1200];
    snprintf(pat, sizeof pat, "%s/%s-00000-of-*.h5", dir, split);
    glob_t g;
    int n = 0;
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *of = strrchr(g.gl_pathv[i], '-');
            int k = 0;
            if (of && sscanf(of + 1, "%d.h5", &k) == 1 && k > 0) n = n ? -1 : k;
        }
        globfree(&g);
    }
    return n;
}

int an_records_exist(const char *dir, const char *split) { return find_shards(dir, split) != 0; }

void an_records_close(an_records *r)
{
    for (int k = 0; k < r->nshards; k++) {
        an_records_shard_free(&r->shard[k]);
        if (r->fd && r->fd[k] >= 0) close(r->fd[k]);
    }
    free(r->shard);
    free(r->fd);
    free(r->labels);
    memset(r, 0, sizeof *r);
}

an_status an_records_open(an_records *r, const char *dir, const char *split)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    snprintf(r->split, sizeof r->split, "%s", split);
    const int shards = find_shards(dir, split);
    if (shards == 0)
        return an_error(AN_ERR_IO, "no %s shards in '%s' (expected %s/%s-00000-of-NNNNN.h5; make them with alphanet data "
                        "import)", split, dir, dir, split);
    if (shards < 0)
        return an_error(AN_ERR_FORMAT, "'%s' has %s shards of two different sets (%s-00000-of-*.h5 twice): remove the "
                        "stale one", dir, split, split);
    r->shard = calloc((size_t)shards, sizeof *r->shard);
    r->fd = malloc((size_t)shards * sizeof(int));
    if (!r->shard || !r->fd) {
        free(r->shard);
        free(r->fd);
        memset(r, 0, sizeof *r);
        return an_error(AN_ERR_NOMEM, "out of memory");
    }
    for (int k = 0; k < shards; k++) r->fd[k] = -1;
    r->nshards = shards;
    an_status st = AN_OK;
    char path[1200];
    long next = 0;
    for (int k = 0; k < shards && !st; k++) {
        an_records_shard *s = &r->shard[k];
        an_records_shard_path(path, sizeof path, dir, split, k, shards);
        if ((st = an_h5_read_records_index(path, s))) break;
        const an_records_shard *s0 = &r->shard[0];
        if (s->shard != k || s->shards != shards || s->first != next || s->total != s0->total ||
            s->channels != s0->channels || s->classes != s0->classes || s->encoding != s0->encoding) {
            st = an_error(AN_ERR_FORMAT,
                          "'%s' does not belong with shard 0 (it says shard %d of %d, records %ld.. of %ld, %d channels, "
                          "%d classes; expected shard %d of %d from record %ld of %ld, %d channels, %d classes)",
                          path, s->shard, s->shards, s->first, s->total, s->channels, s->classes, k, shards, next,
                          s0->total, s0->channels, s0->classes);
            break;
        }
        next += s->n;
        if ((r->fd[k] = open(path, O_RDONLY)) < 0) st = an_error(AN_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    }
    if (!st && next != r->shard[0].total)
        st = an_error(AN_ERR_FORMAT, "the %d %s shards in '%s' hold %ld records, but they say the set has %ld", shards, split,
                      dir, next, r->shard[0].total);
    if (!st && !(r->labels = malloc((size_t)next * sizeof(int32_t))))
        st = an_error(AN_ERR_NOMEM, "out of memory for %ld labels", next);
    if (st) {
        an_records_close(r);
        return st;
    }
    const an_records_shard *s0 = &r->shard[0];
    r->n = next;
    r->channels = s0->channels, r->classes = s0->classes, r->encoding = s0->encoding;
    r->class_names = s0->class_names;
    memcpy(r->mean, s0->mean, sizeof r->mean);
    memcpy(r->std, s0->std, sizeof r->std);
    for (int k = 0; k < shards; k++)
        memcpy(r->labels + r->shard[k].first, r->shard[k].labels, (size_t)r->shard[k].n * sizeof(int32_t));
    return AN_OK;
}

void an_records_locate(const an_records *r, long i, int *shard, long *j)
{
    int lo = 0, hi = r->nshards - 1; /* the last shard with first <= i */
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (r->shard[mid].first <= i) lo = mid;
        else hi = mid - 1;
    }
    *shard = lo;
    *j = i - r->shard[lo].first;
}

an_status an_records_read(const an_records *r, long i, uint8_t **buf, size_t *cap, size_t *len, int32_t shape[3])
{
    if (i < 0 || i >= r->n) return an_error(AN_ERR_INTERNAL, "record %ld of %ld requested", i, r->n);
    int lo;
    long j;
    an_records_locate(r, i, &lo, &j);
    const an_records_shard *s = &r->shard[lo];
    const size_t n = (size_t)(s->offsets[j + 1] - s->offsets[j]);
    if (n > *cap) {
        uint8_t *p = realloc(*buf, n);
        if (!p) return an_error(AN_ERR_NOMEM, "out of memory for a record of %zu bytes", n);
        *buf = p;
        *cap = n;
    }
    size_t got = 0;
    while (got < n) {
        const ssize_t k = pread(r->fd[lo], *buf + got, n - got, (off_t)(s->data_addr + s->offsets[j] + (int64_t)got));
        if (k <= 0) {
            char path[1200];
            an_records_shard_path(path, sizeof path, r->dir, r->split, lo, r->nshards);
            return an_error(AN_ERR_IO, "'%s': reading record %ld failed: %s", path, j,
                            k < 0 ? strerror(errno) : "the file is truncated");
        }
        got += (size_t)k;
    }
    if ((uint32_t)crc32(0L, *buf, (uInt)n) != s->crc[j]) {
        char path[1200];
        an_records_shard_path(path, sizeof path, r->dir, r->split, lo, r->nshards);
        return an_error(AN_ERR_FORMAT, "'%s': record %ld (image %ld of the %s set) fails its CRC-32 check: the file is damaged",
                        path, j, i, r->split);
    }
    *len = n;
    if (shape) memcpy(shape, s->shapes + 3 * j, 3 * sizeof(int32_t));
    return AN_OK;
}

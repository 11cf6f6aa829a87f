/* h5.c - the project's only HDF5 code (see h5.h). HDF5's automatic error printing is turned off;
 * failures become an_status values with messages naming the file and the object. */
#include "alphanet/io/h5.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define IMAGES_FORMAT "alphanet-images"

static void quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t attr_scalar(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, mem_type, v);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return r;
}

static herr_t attr_int(hid_t obj, const char *name, int v) { return attr_scalar(obj, name, H5T_NATIVE_INT, H5T_NATIVE_INT, &v); }

static herr_t attr_long(hid_t obj, const char *name, long v)
{
    const long long x = v;
    return attr_scalar(obj, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &x);
}

static herr_t attr_floats(hid_t obj, const char *name, const float *v, int n)
{
    hsize_t d = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &d, NULL);
    hid_t a = H5Acreate2(obj, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_FLOAT, v);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return r;
}

static herr_t attr_str(hid_t obj, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(s) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, t, s);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return r;
}

/* 1 if attribute a holds exactly one element (a scalar or a one-element array) */
static int one_element(hid_t a)
{
    hid_t sp = H5Aget_space(a);
    const int ok = sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1;
    if (sp >= 0) H5Sclose(sp);
    return ok;
}

static int read_attr_str(hid_t obj, const char *name, char *out, size_t cap)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    int ok = -1;
    if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) && one_element(a)) {
        size_t sz = H5Tget_size(t);
        char *buf = calloc(1, sz + 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz);
        if (buf && H5Aread(a, mt, buf) >= 0) {
            snprintf(out, cap, "%s", buf);
            ok = 0;
        }
        H5Tclose(mt);
        free(buf);
    }
    H5Tclose(t);
    H5Aclose(a);
    return ok;
}

/* a scalar attribute read as mem_type; -1 if absent or unreadable */
static int read_attr_scalar(hid_t obj, const char *name, hid_t mem_type, void *v)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    int r = one_element(a) && H5Aread(a, mem_type, v) >= 0 ? 0 : -1;
    H5Aclose(a);
    return r;
}

static int read_attr_int(hid_t obj, const char *name, int *v) { return read_attr_scalar(obj, name, H5T_NATIVE_INT, v); }

static int read_attr_floats(hid_t obj, const char *name, float *v, int max)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    int r = -1;
    if (n > 0 && n <= max) r = H5Aread(a, H5T_NATIVE_FLOAT, v) < 0 ? -1 : (int)n;
    H5Sclose(sp);
    H5Aclose(a);
    return r;
}


static int read_attr_long(hid_t obj, const char *name, long *v)
{
    long long x = 0;
    const int r = read_attr_scalar(obj, name, H5T_NATIVE_LLONG, &x);
    *v = (long)x;
    return r;
}

/* fsync a path (file or directory); errors ignored where the platform refuses directories */
static int fsync_path(const char *path, int dir)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

static void parent_dir(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash) snprintf(out, cap, ".");
    else if (slash == out) out[1] = '\0';
    else *slash = '\0';
}

/* Closes f, written under the temporary name tmp, and puts it in place: with `durable`, flushed
 * to disk (file and folder) so a crash cannot leave a damaged file under the final name. On any
 * failure (st already set, or here) tmp is removed and path left as it was. */
static an_status commit_file(hid_t f, an_status st, const char *tmp, const char *path, int durable)
{
    if (H5Fclose(f) < 0 && !st) st = an_error(AN_ERR_IO, "closing '%s' failed (disk full?)", tmp);
    if (!st && durable && fsync_path(tmp, 0) != 0)
        st = an_error(AN_ERR_IO, "cannot flush '%s' to disk: %s", tmp, strerror(errno));
    if (!st && rename(tmp, path) != 0) st = an_error(AN_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (st) {
        unlink(tmp);
        return st;
    }
    if (durable) {
        char dir[4096];
        parent_dir(path, dir, sizeof dir);
        fsync_path(dir, 1);
    }
    return AN_OK;
}

/* Creates `path` in the HDF5 1.10 file format: its chunk indexes are a fraction of the default
 * format's for the many small single-chunk tensors of a checkpoint (h5py and h5dump of HDF5 >=
 * 1.10 read it). */
static hid_t create_v110(const char *path)
{
    hid_t fa = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fa, H5F_LIBVER_V110, H5F_LIBVER_V110);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fa);
    H5Pclose(fa);
    return f;
}

/* Creates the file that commit_file() puts in place: `path` under a temporary name, written to
 * tmp. v110: with the checkpoint format's version bounds. Returns the file, or -1 with an error
 * naming the file (`kind`, e.g. "checkpoint ", says what it is). */
static hid_t create_tmp(const char *path, char *tmp, size_t cap, int v110, const char *kind)
{
    snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    hid_t f = v110 ? create_v110(tmp) : H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) an_error(AN_ERR_IO, "cannot create %s'%s' (folder missing or not writable?)", kind, tmp);
    return f;
}

an_status an_h5_write_images(const char *path, const an_dataset *d, const float *mean, const float *std,
                             const char *source)
{
    quiet();
    char tmp[4096];
    hid_t f = create_tmp(path, tmp, sizeof tmp, 0, "");
    if (f < 0) return AN_ERR_IO;
    an_status st = AN_OK;
    hsize_t dims[4] = {(hsize_t)d->n, (hsize_t)d->h, (hsize_t)d->w, (hsize_t)d->c};
    hsize_t chunk[4] = {d->n < 256 ? (hsize_t)d->n : 256, dims[1], dims[2], dims[3]};
    hid_t sp = H5Screate_simple(4, dims, NULL);
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(pl, 4, chunk);
    H5Pset_fletcher32(pl);
    hid_t ds = H5Dcreate2(f, "images", H5T_STD_U8LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->images) < 0)
        st = an_error(AN_ERR_IO, "writing /images of '%s' failed (disk full?)", tmp);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    H5Pclose(pl);
    if (!st) {
        hsize_t nl = (hsize_t)d->n, cl = d->n < 65536 ? (hsize_t)d->n : 65536;
        sp = H5Screate_simple(1, &nl, NULL);
        pl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(pl, 1, &cl);
        H5Pset_fletcher32(pl);
        ds = H5Dcreate2(f, "labels", H5T_STD_I32LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
        if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->labels) < 0)
            st = an_error(AN_ERR_IO, "writing /labels of '%s' failed (disk full?)", tmp);
        if (ds >= 0) H5Dclose(ds);
        H5Sclose(sp);
        H5Pclose(pl);
    }
    if (!st && (attr_str(f, "format", IMAGES_FORMAT) < 0 || attr_int(f, "version", 1) < 0 ||
                attr_int(f, "classes", d->classes) < 0 || attr_floats(f, "mean", mean, d->c) < 0 ||
                attr_floats(f, "std", std, d->c) < 0 || attr_str(f, "source", source ? source : "") < 0))
        st = an_error(AN_ERR_IO, "writing the attributes of '%s' failed", tmp);
    return commit_file(f, st, tmp, path, 1);
}

an_status an_h5_read_images(const char *path, an_dataset *d, float *mean, float *std)
{
    quiet();
    memset(d, 0, sizeof *d);
    if (access(path, R_OK) != 0) return an_error(AN_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return an_error(AN_ERR_FORMAT, "'%s' is not an HDF5 file (or it is damaged)", path);
    an_status st = AN_OK;
    char fmt[64] = "";
    int version = 0, classes = 0;
    hid_t di = -1, dl = -1, si = -1, sl = -1;
    if (read_attr_str(f, "format", fmt, sizeof fmt) < 0 || strcmp(fmt, IMAGES_FORMAT) != 0) {
        st = an_error(AN_ERR_FORMAT, "'%s': not an image dataset (attribute format is '%s', expected '%s')", path, fmt,
                      IMAGES_FORMAT);
        goto out;
    }
    if (read_attr_int(f, "version", &version) < 0 || version != 1) {
        st = an_error(AN_ERR_FORMAT, "'%s': image dataset version %d is not supported (this program reads version 1)",
                      path, version);
        goto out;
    }
    read_attr_int(f, "classes", &classes);
    if (H5Lexists(f, "images", H5P_DEFAULT) <= 0 || H5Lexists(f, "labels", H5P_DEFAULT) <= 0) {
        st = an_error(AN_ERR_FORMAT, "'%s': missing dataset /images or /labels", path);
        goto out;
    }
    di = H5Dopen2(f, "images", H5P_DEFAULT);
    dl = H5Dopen2(f, "labels", H5P_DEFAULT);
    si = H5Dget_space(di);
    sl = H5Dget_space(dl);
    hsize_t dims[4] = {0}, nl = 0;
    hid_t ti = H5Dget_type(di), tl = H5Dget_type(dl);
    const int ok_types = H5Tget_class(ti) == H5T_INTEGER && H5Tget_size(ti) == 1 && H5Tget_class(tl) == H5T_INTEGER;
    H5Tclose(ti);
    H5Tclose(tl);
    if (!ok_types) {
        st = an_error(AN_ERR_FORMAT, "'%s': /images must be 8-bit integers and /labels integers", path);
        goto out;
    }
    if (H5Sget_simple_extent_ndims(si) != 4 || H5Sget_simple_extent_ndims(sl) != 1) {
        st = an_error(AN_ERR_FORMAT, "'%s': /images must have rank 4 [n][h][w][c] and /labels rank 1", path);
        goto out;
    }
    H5Sget_simple_extent_dims(si, dims, NULL);
    H5Sget_simple_extent_dims(sl, &nl, NULL);
    if (dims[0] != nl) {
        st = an_error(AN_ERR_FORMAT, "'%s': %llu images but %llu labels", path, (unsigned long long)dims[0],
                      (unsigned long long)nl);
        goto out;
    }
    if (dims[0] < 1 || dims[1] < 1 || dims[1] > 8192 || dims[2] < 1 || dims[2] > 8192 || dims[3] < 1 || dims[3] > 16) {
        st = an_error(AN_ERR_FORMAT, "'%s': implausible image shape %llu x %llu x %llu x %llu", path,
                      (unsigned long long)dims[0], (unsigned long long)dims[1], (unsigned long long)dims[2],
                      (unsigned long long)dims[3]);
        goto out;
    }
    char what[600];
    snprintf(what, sizeof what, "'%s' (%llu images of %llu x %llu x %llu)", path, (unsigned long long)dims[0],
             (unsigned long long)dims[1], (unsigned long long)dims[2], (unsigned long long)dims[3]);
    if ((st = an_check_memory((double)dims[0] * dims[1] * dims[2] * dims[3] + 4.0 * dims[0], what))) goto out;
    *d = (an_dataset){.n = (long)dims[0], .h = (int)dims[1], .w = (int)dims[2], .c = (int)dims[3], .classes = classes};
    const size_t bytes = (size_t)dims[0] * dims[1] * dims[2] * dims[3];
    d->images = an_alloc(bytes + 1);
    d->labels = an_alloc((size_t)d->n * sizeof(int32_t) + 1);
    if (!d->images || !d->labels) {
        st = an_error(AN_ERR_NOMEM, "'%s': cannot allocate %zu bytes for the images", path, bytes);
        goto out;
    }
    if (H5Dread(di, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->images) < 0 ||
        H5Dread(dl, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->labels) < 0) {
        st = an_error(AN_ERR_FORMAT, "'%s': reading the data failed (damaged file: checksum or truncation)", path);
        goto out;
    }
    if (mean) read_attr_floats(f, "mean", mean, 4);
    if (std) read_attr_floats(f, "std", std, 4);
out:
    if (si >= 0) H5Sclose(si);
    if (sl >= 0) H5Sclose(sl);
    if (di >= 0) H5Dclose(di);
    if (dl >= 0) H5Dclose(dl);
    H5Fclose(f);
    if (st) an_dataset_free(d);
    return st;
}

/* ---- record shards (version 2) ---- */

/* a dataset written whole; contiguous layout (no chunks, no filter) */
static herr_t write_array(hid_t f, const char *name, hid_t ftype, hid_t mtype, int rank, const hsize_t *dims, const void *v)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(f, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = ds < 0 ? -1 : H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    return r;
}

an_status an_h5_write_records(const char *path, const an_records_shard *s)
{
    quiet();
    char tmp[4096];
    hid_t f = create_tmp(path, tmp, sizeof tmp, 0, "");
    if (f < 0) return AN_ERR_IO;
    an_status st = AN_OK;
    const hsize_t n = (hsize_t)s->n, n1 = n + 1, bytes = (hsize_t)s->offsets[s->n], sh[2] = {n, 3};
    if (write_array(f, "data", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, &bytes, s->data) < 0 ||
        write_array(f, "offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n1, s->offsets) < 0 ||
        write_array(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &n, s->labels) < 0 ||
        write_array(f, "shapes", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, sh, s->shapes) < 0 ||
        write_array(f, "crc32", H5T_STD_U32LE, H5T_NATIVE_UINT32, 1, &n, s->crc) < 0)
        st = an_error(AN_ERR_IO, "writing the records of '%s' failed (disk full?)", tmp);
    if (!st) {
        size_t longest = 1;
        for (int k = 0; k < s->classes; k++)
            if (strlen(s->class_names[k]) + 1 > longest) longest = strlen(s->class_names[k]) + 1;
        char *names = calloc((size_t)s->classes, longest);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, longest);
        H5Tset_strpad(t, H5T_STR_NULLTERM);
        const hsize_t nc = (hsize_t)s->classes;
        if (names)
            for (int k = 0; k < s->classes; k++) memcpy(names + (size_t)k * longest, s->class_names[k], strlen(s->class_names[k]));
        if (!names || write_array(f, "class_names", t, t, 1, &nc, names) < 0)
            st = an_error(AN_ERR_IO, "writing /class_names of '%s' failed", tmp);
        H5Tclose(t);
        free(names);
    }
    if (!st && (attr_str(f, "format", IMAGES_FORMAT) < 0 || attr_int(f, "version", 2) < 0 ||
                attr_str(f, "encoding", s->encoding == AN_ENC_JPEG ? "jpeg" : "raw") < 0 ||
                attr_int(f, "channels", s->channels) < 0 || attr_int(f, "classes", s->classes) < 0 ||
                attr_int(f, "shard", s->shard) < 0 || attr_int(f, "shards", s->shards) < 0 ||
                attr_long(f, "first", s->first) < 0 || attr_long(f, "total", s->total) < 0 ||
                attr_floats(f, "mean", s->mean, s->channels) < 0 || attr_floats(f, "std", s->std, s->channels) < 0 ||
                attr_str(f, "source", s->source) < 0))
        st = an_error(AN_ERR_IO, "writing the attributes of '%s' failed", tmp);
    return commit_file(f, st, tmp, path, 1);
}

/* reads a whole 1-D or 2-D dataset of `count` elements (checked) into a new buffer */
static void *read_array(hid_t f, const char *name, hid_t mtype, size_t esize, hsize_t count, int cols)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return NULL;
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT), sp = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    const int rank = H5Sget_simple_extent_ndims(sp);
    void *v = NULL;
    if (rank == (cols ? 2 : 1) && H5Sget_simple_extent_dims(sp, dims, NULL) == rank && dims[0] == count &&
        (!cols || dims[1] == (hsize_t)cols)) {
        v = malloc(esize * count * (cols ? cols : 1) + 1);
        if (v && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
            free(v);
            v = NULL;
        }
    }
    H5Sclose(sp);
    H5Dclose(ds);
    return v;
}

an_status an_h5_read_records_index(const char *path, an_records_shard *s)
{
    quiet();
    memset(s, 0, sizeof *s);
    if (access(path, R_OK) != 0) return an_error(AN_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return an_error(AN_ERR_FORMAT, "'%s' is not an HDF5 file (or it is damaged)", path);
    an_status st = AN_OK;
    char fmt[64] = "", enc[32] = "";
    int version = 0;
    if (read_attr_str(f, "format", fmt, sizeof fmt) < 0 || strcmp(fmt, IMAGES_FORMAT) != 0) {
        st = an_error(AN_ERR_FORMAT, "'%s': not an image dataset (attribute format is '%s', expected '%s')", path, fmt,
                      IMAGES_FORMAT);
        goto out;
    }
    if (read_attr_int(f, "version", &version) < 0 || version != 2) {
        st = an_error(AN_ERR_FORMAT, "'%s': a record shard must have version 2 (this file has version %d)", path, version);
        goto out;
    }
    if (read_attr_str(f, "encoding", enc, sizeof enc) < 0 || (strcmp(enc, "jpeg") && strcmp(enc, "raw"))) {
        st = an_error(AN_ERR_FORMAT, "'%s': attribute encoding is '%s' (expected 'jpeg' or 'raw')", path, enc);
        goto out;
    }
    s->encoding = !strcmp(enc, "jpeg") ? AN_ENC_JPEG : AN_ENC_RAW;
    if (read_attr_int(f, "channels", &s->channels) < 0 || read_attr_int(f, "classes", &s->classes) < 0 ||
        read_attr_int(f, "shard", &s->shard) < 0 || read_attr_int(f, "shards", &s->shards) < 0 ||
        read_attr_long(f, "first", &s->first) < 0 || read_attr_long(f, "total", &s->total) < 0) {
        st = an_error(AN_ERR_FORMAT, "'%s': missing attribute (channels, classes, shard, shards, first or total)", path);
        goto out;
    }
    if ((s->channels != 1 && s->channels != 3) || s->classes < 1 || s->classes > 100000 || s->shards < 1 ||
        s->shard < 0 || s->shard >= s->shards || s->first < 0 || s->total < 1 || s->first >= s->total) {
        st = an_error(AN_ERR_FORMAT, "'%s': implausible attributes (channels %d, classes %d, shard %d of %d, first %ld of %ld)",
                      path, s->channels, s->classes, s->shard, s->shards, s->first, s->total);
        goto out;
    }
    read_attr_floats(f, "mean", s->mean, 4);
    read_attr_floats(f, "std", s->std, 4);
    read_attr_str(f, "source", s->source, sizeof s->source);
    if (H5Lexists(f, "labels", H5P_DEFAULT) <= 0 || H5Lexists(f, "data", H5P_DEFAULT) <= 0) {
        st = an_error(AN_ERR_FORMAT, "'%s': missing dataset /data or /labels", path);
        goto out;
    }
    {
        hid_t ds = H5Dopen2(f, "labels", H5P_DEFAULT), sp = H5Dget_space(ds);
        hsize_t n = 0;
        if (H5Sget_simple_extent_ndims(sp) == 1) H5Sget_simple_extent_dims(sp, &n, NULL);
        H5Sclose(sp);
        H5Dclose(ds);
        if (n < 1 || (long)n > s->total - s->first) {
            st = an_error(AN_ERR_FORMAT, "'%s': %llu labels for a shard starting at record %ld of %ld", path,
                          (unsigned long long)n, s->first, s->total);
            goto out;
        }
        s->n = (long)n;
    }
    char what[600];
    snprintf(what, sizeof what, "the index of '%s' (%ld records)", path, s->n);
    if ((st = an_check_memory(32.0 * s->n + AN_CLASS_NAME_MAX * (double)s->classes, what))) goto out;
    const hsize_t n = (hsize_t)s->n;
    s->labels = read_array(f, "labels", H5T_NATIVE_INT32, 4, n, 0);
    s->offsets = read_array(f, "offsets", H5T_NATIVE_INT64, 8, n + 1, 0);
    s->shapes = read_array(f, "shapes", H5T_NATIVE_INT32, 4, n, 3);
    s->crc = read_array(f, "crc32", H5T_NATIVE_UINT32, 4, n, 0);
    if (!s->labels || !s->offsets || !s->shapes || !s->crc) {
        st = an_error(AN_ERR_FORMAT, "'%s': /labels, /offsets [n+1], /shapes [n][3] and /crc32 must exist with %ld records",
                      path, s->n);
        goto out;
    }
    {
        hid_t ds = H5Dopen2(f, "data", H5P_DEFAULT), sp = H5Dget_space(ds), t = H5Dget_type(ds);
        hsize_t bytes = 0;
        const int ok = H5Sget_simple_extent_ndims(sp) == 1 && H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 1;
        if (ok) H5Sget_simple_extent_dims(sp, &bytes, NULL);
        const haddr_t addr = H5Dget_offset(ds);
        H5Tclose(t);
        H5Sclose(sp);
        H5Dclose(ds);
        if (!ok || addr == HADDR_UNDEF) {
            st = an_error(AN_ERR_FORMAT, "'%s': /data must be a contiguous 1-D uint8 dataset", path);
            goto out;
        }
        s->data_addr = (int64_t)addr;
        if (s->offsets[0] != 0 || (hsize_t)s->offsets[s->n] != bytes) {
            st = an_error(AN_ERR_FORMAT, "'%s': /offsets must run from 0 to the size of /data (%llu bytes)", path,
                          (unsigned long long)bytes);
            goto out;
        }
        for (long i = 0; i < s->n; i++) {
            const int32_t *sh = s->shapes + 3 * i;
            if (s->offsets[i + 1] <= s->offsets[i] || s->offsets[i + 1] - s->offsets[i] > AN_RECORD_MAX ||
                s->labels[i] < 0 || s->labels[i] >= s->classes || sh[0] < 1 || sh[1] < 1 || sh[0] > 65535 ||
                sh[1] > 65535 || sh[2] != s->channels ||
                (s->encoding == AN_ENC_RAW && s->offsets[i + 1] - s->offsets[i] != (int64_t)sh[0] * sh[1] * sh[2])) {
                st = an_error(AN_ERR_FORMAT, "'%s': record %ld is inconsistent (bytes %lld, label %d, shape %d x %d x %d)",
                              path, i, (long long)(s->offsets[i + 1] - s->offsets[i]), s->labels[i], sh[0], sh[1], sh[2]);
                goto out;
            }
        }
    }
    s->class_names = calloc((size_t)s->classes, AN_CLASS_NAME_MAX);
    if (!s->class_names) {
        st = an_error(AN_ERR_NOMEM, "'%s': out of memory", path);
        goto out;
    }
    if (H5Lexists(f, "class_names", H5P_DEFAULT) > 0) {
        hid_t ds = H5Dopen2(f, "class_names", H5P_DEFAULT), sp = H5Dget_space(ds), t = H5Dget_type(ds);
        hsize_t nc = 0;
        if (H5Sget_simple_extent_ndims(sp) == 1) H5Sget_simple_extent_dims(sp, &nc, NULL);
        const size_t len = H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) ? H5Tget_size(t) : 0;
        char *buf = len && nc == (hsize_t)s->classes ? calloc(nc, len) : NULL;
        if (buf && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
            for (int k = 0; k < s->classes; k++)
                snprintf(s->class_names[k], AN_CLASS_NAME_MAX, "%.*s", (int)len, buf + (size_t)k * len);
        free(buf);
        H5Tclose(t);
        H5Sclose(sp);
        H5Dclose(ds);
    }
out:
    H5Fclose(f);
    if (st) an_records_shard_free(s);
    return st;
}

/* ---- checkpoints (layout in docs/formats.md) ---- */

/* HDF5 1.10 crashes at exit when H5Fclose of a file on a full disk has failed, so the writers
 * first check that the folder has room for `bytes` (plus a margin): a full disk is then a clean
 * error before HDF5 touches it. */
static an_status check_room(const char *path, double bytes)
{
    char dir[4096];
    parent_dir(path, dir, sizeof dir);
    struct statvfs v;
    if (statvfs(dir, &v) != 0) return AN_OK; /* unknown: let the write report */
    const double avail = (double)v.f_bavail * (double)v.f_frsize, need = 1.05 * bytes + (1 << 20);
    if (avail < need)
        return an_error(AN_ERR_IO, "not enough room for '%s' in '%s': %.1f MB needed, %.1f MB free (disk full?)", path,
                        dir, need / 1e6, avail / 1e6);
    return AN_OK;
}

static double tensors_bytes(const an_supernet *net, int copies)
{
    return copies * 4.0 * (double)net->total + 8.0 * (double)net->bn_total + 3000.0 * (copies * net->nparams + 2 * net->nbn);
}

static herr_t attr_array(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *v, int n)
{
    hsize_t d = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &d, NULL);
    hid_t a = H5Acreate2(obj, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, mem_type, v);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return r;
}

/* a 1-D attribute of exactly n elements */
static int read_attr_array(hid_t obj, const char *name, hid_t mem_type, void *v, int n)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t sp = H5Aget_space(a);
    int r = H5Sget_simple_extent_npoints(sp) == n && H5Aread(a, mem_type, v) >= 0 ? 0 : -1;
    H5Sclose(sp);
    H5Aclose(a);
    return r;
}

/* A float32 dataset with the given shape, chunked as a whole and Fletcher-32 checksummed. */
static herr_t write_tensor(hid_t group, const char *name, int ndim, const hsize_t *dims, const float *v)
{
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(pl, 0); /* reproducible files */
    H5Pset_chunk(pl, ndim, dims);
    H5Pset_fletcher32(pl);
    hid_t ds = H5Dcreate2(group, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    herr_t r = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(pl);
    H5Sclose(sp);
    return r;
}

/* A text as a 1-D dataset of bytes (h5py: f["config"][()].tobytes().decode()). */
static herr_t write_text(hid_t f, const char *name, const char *text)
{
    hsize_t n = strlen(text ? text : "");
    hsize_t chunk = n > 0 ? (n < (1u << 20) ? n : (1u << 20)) : 1;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(pl, 1, &chunk);
    H5Pset_fletcher32(pl);
    hid_t ds = H5Dcreate2(f, name, H5T_STD_U8LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    herr_t r = ds < 0 ? -1 : (n ? H5Dwrite(ds, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) : 0);
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(pl);
    H5Sclose(sp);
    return r;
}

static an_status read_text(hid_t f, const char *path, const char *name, char **out)
{
    *out = NULL;
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return an_error(AN_ERR_FORMAT, "'%s': missing dataset /%s", path, name);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds);
    hsize_t n = 0;
    an_status st = AN_OK;
    if (H5Sget_simple_extent_ndims(sp) != 1) st = an_error(AN_ERR_FORMAT, "'%s': /%s must be 1-D text", path, name);
    else {
        H5Sget_simple_extent_dims(sp, &n, NULL);
        if (n > ((hsize_t)1 << 31)) st = an_error(AN_ERR_FORMAT, "'%s': /%s is implausibly large", path, name);
        else if (!(*out = malloc((size_t)n + 1))) st = an_error(AN_ERR_NOMEM, "'%s': cannot allocate /%s", path, name);
        else if (n && H5Dread(ds, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
            st = an_error(AN_ERR_FORMAT, "'%s': reading /%s failed (damaged file: checksum or truncation)", path, name);
        else (*out)[n] = '\0';
    }
    H5Sclose(sp);
    H5Dclose(ds);
    if (st) {
        free(*out);
        *out = NULL;
    }
    return st;
}

an_status an_h5_write_checkpoint(const char *path, const an_ckpt_state *s, const an_supernet *net, const float *mom)
{
    quiet();
    char tmp[4096];
    an_status room = check_room(path, tensors_bytes(net, 2) + (s->config_text ? strlen(s->config_text) : 0) +
                                          (s->metrics_text ? strlen(s->metrics_text) : 0));
    if (room) return room;
    hid_t f = create_tmp(path, tmp, sizeof tmp, 1, "checkpoint ");
    if (f < 0) return AN_ERR_IO;
    an_status st = AN_OK;
    hid_t gs = H5Gcreate2(f, "state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t gp = H5Gcreate2(f, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t gm = H5Gcreate2(f, "momentum", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t gb = H5Gcreate2(f, "buffers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (gs < 0 || gp < 0 || gm < 0 || gb < 0) st = an_error(AN_ERR_IO, "cannot create groups in '%s'", tmp);
    if (!st && (attr_str(f, "format", AN_CKPT_FORMAT) < 0 || attr_int(f, "version", AN_CKPT_VERSION) < 0 ||
                attr_str(f, "software", s->software) < 0 || attr_str(f, "created", s->created) < 0 ||
                attr_long(gs, "step", s->step) < 0 || attr_long(gs, "steps_per_epoch", s->steps_per_epoch) < 0 ||
                attr_long(gs, "schedule_steps", s->schedule_steps) < 0 ||
                attr_int(gs, "world_size", s->world_size) < 0 || attr_int(gs, "micro_batches", s->micro_batches) < 0 ||
                attr_long(gs, "seed", s->seed) < 0 ||
                attr_array(gs, "coordinator_rng", H5T_STD_U64LE, H5T_NATIVE_UINT64, s->coord_rng, 4) < 0 ||
                attr_array(gs, "data_digest", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, s->data_digest, 2) < 0 ||
                attr_array(gs, "train_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &s->train_seconds, 1) < 0))
        st = an_error(AN_ERR_IO, "writing the attributes of '%s' failed (disk full?)", tmp);
    for (int i = 0; !st && i < net->nparams; i++) {
        const an_param *p = &net->params[i];
        hsize_t dims[4];
        for (int d = 0; d < p->ndim; d++) dims[d] = (hsize_t)p->shape[d];
        if (write_tensor(gp, p->name, p->ndim, dims, net->w + p->offset) < 0 ||
            write_tensor(gm, p->name, p->ndim, dims, mom + p->offset) < 0)
            st = an_error(AN_ERR_IO, "writing '%s' into '%s' failed (disk full?)", p->name, tmp);
    }
    for (int i = 0; !st && i < net->nbn; i++) {
        const an_bn_buf *b = &net->bn[i];
        char name[AN_NAME_MAX + 16];
        hsize_t dims = (hsize_t)b->channels;
        snprintf(name, sizeof name, "%s.running_mean", b->name);
        herr_t r = write_tensor(gb, name, 1, &dims, net->bn_mean + b->offset);
        snprintf(name, sizeof name, "%s.running_var", b->name);
        if (r < 0 || write_tensor(gb, name, 1, &dims, net->bn_var + b->offset) < 0)
            st = an_error(AN_ERR_IO, "writing '%s' into '%s' failed (disk full?)", b->name, tmp);
    }
    if (!st && (write_text(f, "config", s->config_text) < 0 || write_text(f, "metrics", s->metrics_text) < 0))
        st = an_error(AN_ERR_IO, "writing the config and metrics into '%s' failed (disk full?)", tmp);
    if (gs >= 0) H5Gclose(gs);
    if (gp >= 0) H5Gclose(gp);
    if (gm >= 0) H5Gclose(gm);
    if (gb >= 0) H5Gclose(gb);
    return commit_file(f, st, tmp, path, 1);
}

static an_status open_checkpoint(const char *path, hid_t *f)
{
    quiet();
    if (access(path, R_OK) != 0) return an_error(AN_ERR_IO, "cannot open checkpoint '%s': %s", path, strerror(errno));
    *f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*f < 0) return an_error(AN_ERR_FORMAT, "'%s' is not an HDF5 file (or it is damaged or truncated)", path);
    char fmt[64] = "";
    int version = 0;
    if (read_attr_str(*f, "format", fmt, sizeof fmt) < 0 || strcmp(fmt, AN_CKPT_FORMAT) != 0) {
        H5Fclose(*f);
        return an_error(AN_ERR_FORMAT, "'%s' is not an alphanet checkpoint (attribute format is '%s')", path, fmt);
    }
    if (read_attr_int(*f, "version", &version) < 0 || version != AN_CKPT_VERSION) {
        H5Fclose(*f);
        return an_error(AN_ERR_FORMAT, "'%s': checkpoint version %d is not supported (this program reads version %d)",
                        path, version, AN_CKPT_VERSION);
    }
    return AN_OK;
}

an_status an_h5_read_checkpoint_state(const char *path, an_ckpt_state *s)
{
    memset(s, 0, sizeof *s);
    hid_t f;
    an_status st = open_checkpoint(path, &f);
    if (st) return st;
    hid_t gs = H5Lexists(f, "state", H5P_DEFAULT) > 0 ? H5Gopen2(f, "state", H5P_DEFAULT) : -1;
    if (gs < 0) st = an_error(AN_ERR_FORMAT, "'%s': missing group /state", path);
    else if (read_attr_long(gs, "step", &s->step) < 0 || read_attr_long(gs, "steps_per_epoch", &s->steps_per_epoch) < 0 ||
             read_attr_long(gs, "schedule_steps", &s->schedule_steps) < 0 ||
             read_attr_int(gs, "world_size", &s->world_size) < 0 ||
             read_attr_int(gs, "micro_batches", &s->micro_batches) < 0 || read_attr_long(gs, "seed", &s->seed) < 0 ||
             read_attr_array(gs, "coordinator_rng", H5T_NATIVE_UINT64, s->coord_rng, 4) < 0 ||
             read_attr_array(gs, "data_digest", H5T_NATIVE_DOUBLE, s->data_digest, 2) < 0 ||
             read_attr_array(gs, "train_seconds", H5T_NATIVE_DOUBLE, &s->train_seconds, 1) < 0)
        st = an_error(AN_ERR_FORMAT, "'%s': /state lacks an attribute or has one of the wrong type", path);
    else if (s->step < 0 || s->steps_per_epoch < 1 || s->world_size < 1 || s->micro_batches < 1)
        st = an_error(AN_ERR_FORMAT, "'%s': /state has impossible values (step %ld, world size %d)", path, s->step,
                      s->world_size);
    if (gs >= 0) H5Gclose(gs);
    read_attr_str(f, "software", s->software, sizeof s->software);
    read_attr_str(f, "created", s->created, sizeof s->created);
    if (!st) st = read_text(f, path, "config", &s->config_text);
    if (!st) st = read_text(f, path, "metrics", &s->metrics_text);
    H5Fclose(f);
    if (st) an_ckpt_state_free(s);
    return st;
}

/* Reads group/name into dst after checking its shape against the expected one. */
static an_status read_tensor(hid_t g, const char *path, const char *group, const char *name, int ndim, const int *shape,
                             float *dst)
{
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
        return an_error(AN_ERR_FORMAT, "'%s': missing /%s/%s (a checkpoint of another search space?)", path, group, name);
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds), ty = H5Dget_type(ds);
    hsize_t dims[8] = {0};
    const int nd = H5Sget_simple_extent_ndims(sp);
    an_status st = AN_OK;
    int same = nd == ndim && nd <= 8;
    if (same) H5Sget_simple_extent_dims(sp, dims, NULL);
    for (int d = 0; same && d < nd; d++) same = dims[d] == (hsize_t)shape[d];
    if (!same) {
        char want[64] = "", got[64] = "";
        for (int d = 0; d < ndim; d++) snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", d ? "x" : "", shape[d]);
        for (int d = 0; d < nd && d < 8; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", d ? "x" : "", (unsigned long long)dims[d]);
        st = an_error(AN_ERR_FORMAT, "'%s': /%s/%s has shape %s but this search space needs %s (a checkpoint of another "
                      "search space?)", path, group, name, got, want);
    } else if (H5Tget_class(ty) != H5T_FLOAT) {
        st = an_error(AN_ERR_FORMAT, "'%s': /%s/%s is not a floating-point dataset", path, group, name);
    } else if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
        st = an_error(AN_ERR_FORMAT, "'%s': reading /%s/%s failed (damaged file: checksum or truncation)", path, group,
                      name);
    }
    H5Tclose(ty);
    H5Sclose(sp);
    H5Dclose(ds);
    return st;
}

static an_status count_members(hid_t g, const char *path, const char *group, long expect)
{
    H5G_info_t info = {0};
    if (H5Gget_info(g, &info) < 0 || (long)info.nlinks != expect)
        return an_error(AN_ERR_FORMAT, "'%s': /%s has %llu entries but this search space has %ld (a checkpoint of another "
                        "search space?)", path, group, (unsigned long long)info.nlinks, expect);
    return AN_OK;
}

an_status an_h5_read_checkpoint_tensors(const char *path, an_supernet *net, float *mom)
{
    hid_t f;
    an_status st = open_checkpoint(path, &f);
    if (st) return st;
    const char *groups[3] = {"params", "momentum", "buffers"};
    hid_t g[3] = {-1, -1, -1};
    for (int i = 0; i < 3 && !st; i++) {
        if (H5Lexists(f, groups[i], H5P_DEFAULT) <= 0) st = an_error(AN_ERR_FORMAT, "'%s': missing group /%s", path, groups[i]);
        else g[i] = H5Gopen2(f, groups[i], H5P_DEFAULT);
    }
    if (!st) st = count_members(g[0], path, "params", net->nparams);
    if (!st) st = count_members(g[1], path, "momentum", net->nparams);
    if (!st) st = count_members(g[2], path, "buffers", 2L * net->nbn);
    for (int i = 0; !st && i < net->nparams; i++) {
        const an_param *p = &net->params[i];
        st = read_tensor(g[0], path, "params", p->name, p->ndim, p->shape, net->w + p->offset);
        if (!st && mom) st = read_tensor(g[1], path, "momentum", p->name, p->ndim, p->shape, mom + p->offset);
    }
    for (int i = 0; !st && i < net->nbn; i++) {
        const an_bn_buf *b = &net->bn[i];
        char name[AN_NAME_MAX + 16];
        snprintf(name, sizeof name, "%s.running_mean", b->name);
        st = read_tensor(g[2], path, "buffers", name, 1, &b->channels, net->bn_mean + b->offset);
        snprintf(name, sizeof name, "%s.running_var", b->name);
        if (!st) st = read_tensor(g[2], path, "buffers", name, 1, &b->channels, net->bn_var + b->offset);
    }
    for (int i = 0; i < 3; i++)
        if (g[i] >= 0) H5Gclose(g[i]);
    H5Fclose(f);
    return st;
}

/* ---- per-sample logits of an evaluation ---- */

an_status an_h5_write_logits(const char *path, const float *logits, const int32_t *labels, long n, int classes,
                             const char *arch, const char *split, double top1)
{
    quiet();
    char tmp[4096];
    hid_t f = create_tmp(path, tmp, sizeof tmp, 0, "");
    if (f < 0) return AN_ERR_IO;
    an_status st = AN_OK;
    hsize_t dims[2] = {(hsize_t)n, (hsize_t)classes};
    if (write_tensor(f, "logits", 2, dims, logits) < 0) st = an_error(AN_ERR_IO, "writing /logits of '%s' failed", tmp);
    if (!st) {
        hsize_t nl = (hsize_t)n;
        hid_t sp = H5Screate_simple(1, &nl, NULL);
        hid_t ds = H5Dcreate2(f, "labels", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels) < 0)
            st = an_error(AN_ERR_IO, "writing /labels of '%s' failed", tmp);
        if (ds >= 0) H5Dclose(ds);
        H5Sclose(sp);
    }
    if (!st && (attr_str(f, "format", "alphanet-logits") < 0 || attr_int(f, "version", 1) < 0 ||
                attr_str(f, "arch", arch) < 0 || attr_str(f, "split", split) < 0 ||
                attr_array(f, "top1", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &top1, 1) < 0))
        st = an_error(AN_ERR_IO, "writing the attributes of '%s' failed", tmp);
    return commit_file(f, st, tmp, path, 0);
}

/* ---- exported subnets (layout in docs/formats.md) ---- */

#define SUBNET_FORMAT "alphanet-subnet"

/* Floats in the largest parameter tensor a subnet file holds: the size of one transfer buffer. */
static size_t max_slice_count(const an_supernet *net, const an_subnet_slices *sl)
{
    size_t maxc = 0;
    for (int i = 0; i < sl->nparams; i++)
        if (net->params[sl->p[i].param].count > maxc) maxc = net->params[sl->p[i].param].count;
    return maxc;
}

an_status an_h5_write_subnet(const char *path, const an_supernet *net, const an_subnet_slices *sl, const char *arch,
                             const char *config_text, double mflops, double mparams, const char *source, long step)
{
    quiet();
    char tmp[4096];
    an_status room = check_room(path, tensors_bytes(net, 1) + strlen(config_text ? config_text : ""));
    if (room) return room;
    hid_t f = create_tmp(path, tmp, sizeof tmp, 1, "");
    if (f < 0) return AN_ERR_IO;
    an_status st = AN_OK;
    float *buf = malloc(max_slice_count(net, sl) * sizeof(float) + 1);
    hid_t gp = H5Gcreate2(f, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t gb = H5Gcreate2(f, "buffers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (!buf || gp < 0 || gb < 0) st = an_error(AN_ERR_IO, "cannot create groups in '%s'", tmp);
    char sw[64];
    snprintf(sw, sizeof sw, "alphanet %s", an_version());
    if (!st && (attr_str(f, "format", SUBNET_FORMAT) < 0 || attr_int(f, "version", 1) < 0 || attr_str(f, "arch", arch) < 0 ||
                attr_int(f, "classes", net->space.classes) < 0 || attr_int(f, "in_channels", net->space.in_channels) < 0 ||
                attr_array(f, "mflops", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &mflops, 1) < 0 ||
                attr_array(f, "mparams", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &mparams, 1) < 0 ||
                attr_str(f, "software", sw) < 0 || attr_str(f, "source", source ? source : "") < 0 ||
                attr_long(f, "step", step) < 0))
        st = an_error(AN_ERR_IO, "writing the attributes of '%s' failed", tmp);
    for (int i = 0; !st && i < sl->nparams; i++) {
        const an_param *p = &net->params[sl->p[i].param];
        hsize_t dims[4];
        for (int d = 0; d < p->ndim; d++) dims[d] = (hsize_t)sl->p[i].shape[d];
        an_slice_extract(p, sl->p[i].shape, net->w + p->offset, buf);
        if (write_tensor(gp, p->name, p->ndim, dims, buf) < 0)
            st = an_error(AN_ERR_IO, "writing '%s' into '%s' failed (disk full?)", p->name, tmp);
    }
    for (int i = 0; !st && i < sl->nbn; i++) {
        const an_bn_buf *b = &net->bn[sl->b[i].bn];
        char name[AN_NAME_MAX + 16];
        hsize_t dims = (hsize_t)sl->b[i].channels;
        snprintf(name, sizeof name, "%s.running_mean", b->name);
        herr_t r = write_tensor(gb, name, 1, &dims, net->bn_mean + b->offset);
        snprintf(name, sizeof name, "%s.running_var", b->name);
        if (r < 0 || write_tensor(gb, name, 1, &dims, net->bn_var + b->offset) < 0)
            st = an_error(AN_ERR_IO, "writing '%s' into '%s' failed (disk full?)", b->name, tmp);
    }
    if (!st && write_text(f, "config", config_text) < 0) st = an_error(AN_ERR_IO, "writing /config into '%s' failed", tmp);
    free(buf);
    if (gp >= 0) H5Gclose(gp);
    if (gb >= 0) H5Gclose(gb);
    return commit_file(f, st, tmp, path, 1);
}

int an_h5_is_subnet(const char *path)
{
    quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return 0;
    char fmt[64] = "";
    read_attr_str(f, "format", fmt, sizeof fmt);
    H5Fclose(f);
    return !strcmp(fmt, SUBNET_FORMAT);
}

an_status an_h5_read_subnet_header(const char *path, char **config_text, char *arch, size_t cap)
{
    quiet();
    *config_text = NULL;
    if (access(path, R_OK) != 0) return an_error(AN_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return an_error(AN_ERR_FORMAT, "'%s' is not an HDF5 file (or it is damaged)", path);
    char fmt[64] = "";
    int version = 0;
    an_status st = AN_OK;
    if (read_attr_str(f, "format", fmt, sizeof fmt) < 0 || strcmp(fmt, SUBNET_FORMAT) != 0)
        st = an_error(AN_ERR_FORMAT, "'%s' is not an exported subnet (attribute format is '%s')", path, fmt);
    else if (read_attr_int(f, "version", &version) < 0 || version != 1)
        st = an_error(AN_ERR_FORMAT, "'%s': subnet version %d is not supported (this program reads version 1)", path, version);
    else if (read_attr_str(f, "arch", arch, cap) < 0)
        st = an_error(AN_ERR_FORMAT, "'%s': missing attribute arch", path);
    if (!st) st = read_text(f, path, "config", config_text);
    H5Fclose(f);
    return st;
}

an_status an_h5_read_subnet_tensors(const char *path, an_supernet *net, const an_subnet_slices *sl)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return an_error(AN_ERR_FORMAT, "'%s' is not an HDF5 file (or it is damaged)", path);
    an_status st = AN_OK;
    float *buf = malloc(max_slice_count(net, sl) * sizeof(float) + 1);
    hid_t gp = H5Lexists(f, "params", H5P_DEFAULT) > 0 ? H5Gopen2(f, "params", H5P_DEFAULT) : -1;
    hid_t gb = H5Lexists(f, "buffers", H5P_DEFAULT) > 0 ? H5Gopen2(f, "buffers", H5P_DEFAULT) : -1;
    if (!buf || gp < 0 || gb < 0) st = an_error(AN_ERR_FORMAT, "'%s': missing group /params or /buffers", path);
    if (!st) st = count_members(gp, path, "params", sl->nparams);
    if (!st) st = count_members(gb, path, "buffers", 2L * sl->nbn);
    memset(net->w, 0, net->total * sizeof(float));
    for (int i = 0; !st && i < sl->nparams; i++) {
        const an_param *p = &net->params[sl->p[i].param];
        st = read_tensor(gp, path, "params", p->name, p->ndim, sl->p[i].shape, buf);
        if (!st) an_slice_insert(p, sl->p[i].shape, buf, net->w + p->offset);
    }
    for (int i = 0; !st && i < sl->nbn; i++) {
        const an_bn_buf *b = &net->bn[sl->b[i].bn];
        char name[AN_NAME_MAX + 16];
        snprintf(name, sizeof name, "%s.running_mean", b->name);
        st = read_tensor(gb, path, "buffers", name, 1, &sl->b[i].channels, net->bn_mean + b->offset);
        snprintf(name, sizeof name, "%s.running_var", b->name);
        if (!st) st = read_tensor(gb, path, "buffers", name, 1, &sl->b[i].channels, net->bn_var + b->offset);
    }
    free(buf);
    if (gp >= 0) H5Gclose(gp);
    if (gb >= 0) H5Gclose(gb);
    H5Fclose(f);
    return st;
}

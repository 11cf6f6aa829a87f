/* h5.c - the project's only HDF5 code (see h5.h). HDF5's automatic error printing is turned off;
 * failures become an_status values with messages naming the file and the object. */
#include "alphanet/io/h5.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMAGES_FORMAT "alphanet-images"

static void quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t attr_int(hid_t obj, const char *name, int v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_INT, &v);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return r;
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

static int read_attr_str(hid_t obj, const char *name, char *out, size_t cap)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    int ok = -1;
    if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t)) {
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

static int read_attr_int(hid_t obj, const char *name, int *v)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    int r = H5Aread(a, H5T_NATIVE_INT, v) < 0 ? -1 : 0;
    H5Aclose(a);
    return r;
}

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

an_status an_h5_write_images(const char *path, const an_dataset *d, const float *mean, const float *std,
                             const char *source)
{
    quiet();
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return an_error(AN_ERR_IO, "cannot create '%s' (folder missing or not writable?)", tmp);
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
    if (H5Fclose(f) < 0 && !st) st = an_error(AN_ERR_IO, "closing '%s' failed (disk full?)", tmp);
    if (!st && fsync_path(tmp, 0) != 0) st = an_error(AN_ERR_IO, "cannot flush '%s' to disk: %s", tmp, strerror(errno));
    if (!st && rename(tmp, path) != 0) st = an_error(AN_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (st) {
        unlink(tmp);
        return st;
    }
    char dir[4096];
    parent_dir(path, dir, sizeof dir);
    fsync_path(dir, 1);
    return AN_OK;
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
    if (dims[1] < 1 || dims[1] > 8192 || dims[2] < 1 || dims[2] > 8192 || dims[3] < 1 || dims[3] > 16 ||
        dims[0] > ((hsize_t)1 << 40) / (dims[1] * dims[2] * dims[3])) {
        st = an_error(AN_ERR_FORMAT, "'%s': implausible image shape %llu x %llu x %llu x %llu", path,
                      (unsigned long long)dims[0], (unsigned long long)dims[1], (unsigned long long)dims[2],
                      (unsigned long long)dims[3]);
        goto out;
    }
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

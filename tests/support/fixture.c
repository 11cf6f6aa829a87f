/* fixture.c - see fixture.h. Test-only code: failures abort the test program loudly. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must be defined by the build"
#endif

static void die(const char *what, const char *path)
{
    fprintf(stderr, "FIXTURE ERROR: %s (%s)\n", what, path);
    exit(2);
}

static uint32_t rd_u32(FILE *fp, const char *path)
{
    unsigned char b[4];
    if (fread(b, 1, 4, fp) != 4) die("truncated file", path);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

fx_file *fx_load(const char *rel)
{
    fx_file *f = calloc(1, sizeof *f);
    if (!f) die("out of memory", rel);
    snprintf(f->path, sizeof f->path, "%s/%s", FIXTURE_DIR, rel);
    FILE *fp = fopen(f->path, "rb");
    if (!fp) die("cannot open fixture (regenerate with tests/ref scripts?)", f->path);
    char magic[8];
    if (fread(magic, 1, 8, fp) != 8 || memcmp(magic, "ANFX0001", 8) != 0) die("bad magic", f->path);
    uint32_t n = rd_u32(fp, f->path);
    if (n > 10000) die("absurd tensor count", f->path);
    f->ntensors = (int)n;
    f->t = calloc(n ? n : 1, sizeof *f->t);
    if (!f->t) die("out of memory", f->path);
    for (uint32_t i = 0; i < n; i++) {
        fx_tensor *t = &f->t[i];
        uint32_t len = rd_u32(fp, f->path);
        if (len == 0 || len >= sizeof t->name) die("bad tensor name length", f->path);
        if (fread(t->name, 1, len, fp) != len) die("truncated name", f->path);
        t->name[len] = '\0';
        t->dtype = (int)rd_u32(fp, f->path);
        if (t->dtype < 0 || t->dtype > 2) die("bad dtype", f->path);
        t->ndim = (int)rd_u32(fp, f->path);
        if (t->ndim < 0 || t->ndim > 8) die("bad ndim", f->path);
        t->count = 1;
        for (int d = 0; d < t->ndim; d++) {
            t->dims[d] = (int)rd_u32(fp, f->path);
            t->count *= (size_t)t->dims[d];
        }
        size_t esz = t->dtype == 2 ? 1 : 4;
        if (t->count > ((size_t)1 << 28)) die("absurd tensor size", f->path);
        t->data = malloc(t->count * esz + 1);
        if (!t->data) die("out of memory", f->path);
        if (fread(t->data, esz, t->count, fp) != t->count) die("truncated data", f->path);
    }
    fclose(fp);
    return f;
}

void fx_free(fx_file *f)
{
    if (!f) return;
    for (int i = 0; i < f->ntensors; i++) free(f->t[i].data);
    free(f->t);
    free(f);
}

int fx_has(const fx_file *f, const char *name)
{
    for (int i = 0; i < f->ntensors; i++)
        if (strcmp(f->t[i].name, name) == 0) return 1;
    return 0;
}

const fx_tensor *fx_get(const fx_file *f, const char *name)
{
    for (int i = 0; i < f->ntensors; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    fprintf(stderr, "FIXTURE ERROR: tensor '%s' missing in %s\n", name, f->path);
    exit(2);
}

static const fx_tensor *typed(const fx_file *f, const char *name, int dtype, size_t *count)
{
    const fx_tensor *t = fx_get(f, name);
    if (t->dtype != dtype) {
        fprintf(stderr, "FIXTURE ERROR: tensor '%s' in %s has dtype %d, expected %d\n", name, f->path, t->dtype, dtype);
        exit(2);
    }
    if (count) *count = t->count;
    return t;
}

const float *fx_f32(const fx_file *f, const char *name, size_t *count) { return typed(f, name, 0, count)->data; }
const int32_t *fx_i32(const fx_file *f, const char *name, size_t *count) { return typed(f, name, 1, count)->data; }
const uint8_t *fx_u8(const fx_file *f, const char *name, size_t *count) { return typed(f, name, 2, count)->data; }

int fx_int(const fx_file *f, const char *name)
{
    size_t n;
    const int32_t *v = fx_i32(f, name, &n);
    if (n != 1) { fprintf(stderr, "FIXTURE ERROR: '%s' is not a scalar in %s\n", name, f->path); exit(2); }
    return v[0];
}

float fx_float(const fx_file *f, const char *name)
{
    size_t n;
    const float *v = fx_f32(f, name, &n);
    if (n != 1) { fprintf(stderr, "FIXTURE ERROR: '%s' is not a scalar in %s\n", name, f->path); exit(2); }
    return v[0];
}

void *fx_xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

float *fx_nchw_to_chwn(const float *src, int n, int c, int h, int w)
{
    float *dst = fx_xmalloc(sizeof(float) * (size_t)n * c * h * w);
    for (int j = 0; j < n; j++)
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    dst[(((size_t)ch * h + y) * w + x) * n + j] = src[(((size_t)j * c + ch) * h + y) * w + x];
    return dst;
}

float *fx_images(const fx_file *f, const char *name, int *n, int *c, int *h, int *w)
{
    const fx_tensor *t = fx_get(f, name);
    if (t->dtype != 0 || t->ndim != 4) {
        fprintf(stderr, "FIXTURE ERROR: %s in %s is not f32 4-D\n", name, f->path);
        exit(2);
    }
    *n = t->dims[0], *c = t->dims[1], *h = t->dims[2], *w = t->dims[3];
    return fx_nchw_to_chwn(t->data, *n, *c, *h, *w);
}

int fx_names(const fx_file *f, const char *blob, char ***out)
{
    size_t len;
    const uint8_t *u = fx_u8(f, blob, &len);
    char *buf = fx_xmalloc(len + 1);
    memcpy(buf, u, len);
    buf[len] = 0;
    int cnt = 0;
    for (size_t i = 0; i < len; i++) cnt += buf[i] == '\n';
    char **names = fx_xmalloc(sizeof(char *) * (size_t)(cnt + 1));
    int k = 0;
    char *s = buf;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n') {
            buf[i] = 0;
            names[k++] = s;
            s = buf + i + 1;
        }
    if (s != buf + len) {
        fprintf(stderr, "FIXTURE ERROR: %s in %s does not end with a newline\n", blob, f->path);
        exit(2);
    }
    names[cnt] = NULL;
    if (!cnt) free(buf); /* names[0] owns the buffer otherwise */
    *out = names;
    return cnt;
}

void fx_names_free(char **names)
{
    if (names) free(names[0]);
    free(names);
}

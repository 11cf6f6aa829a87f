/* import.c - folder listing and conversion of one photo into a record (see import.h). */
#include "alphanet/io/import.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#include "alphanet/io/image.h"

void an_folder_list_free(an_folder_list *l)
{
    for (long i = 0; i < l->n; i++) free(l->paths[i]);
    free(l->paths);
    free(l->labels);
    free(l->class_names);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* sorted names of the entries of dir that are folders (want_dirs) or regular files */
static an_status list_dir(const char *dir, int want_dirs, char ***out, long *n)
{
    *out = NULL, *n = 0;
    DIR *d = opendir(dir);
    if (!d) return an_error(AN_ERR_IO, "cannot open folder '%s': %s", dir, strerror(errno));
    long cap = 0;
    char **v = NULL;
    an_status st = AN_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ., .. and hidden files */
        char p[8192];
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue;
        struct stat sb;
        if (stat(p, &sb) != 0) continue;
        if (want_dirs ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **w = realloc(v, (size_t)cap * sizeof *w);
            if (!w) {
                st = an_error(AN_ERR_NOMEM, "out of memory listing '%s'", dir);
                break;
            }
            v = w;
        }
        if (!(v[*n] = strdup(e->d_name))) {
            st = an_error(AN_ERR_NOMEM, "out of memory listing '%s'", dir);
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (st) {
        for (long i = 0; i < *n; i++) free(v[i]);
        free(v);
        *n = 0;
        return st;
    }
    if (*n > 1) qsort(v, (size_t)*n, sizeof *v, cmp_str);
    *out = v;
    return AN_OK;
}

static int image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png");
}

an_status an_folder_scan(an_folder_list *l, const char *split_dir, const an_folder_list *classes)
{
    memset(l, 0, sizeof *l);
    char **cls = NULL;
    long ncls = 0, cap = 0;
    an_status st = list_dir(split_dir, 1, &cls, &ncls);
    if (st) return st;
    if (ncls == 0) {
        free(cls);
        return an_error(AN_ERR_FORMAT, "'%s' has no class folders (expected %s/<class>/<image>.jpg)", split_dir, split_dir);
    }
    if (!classes && ncls > 100000) st = an_error(AN_ERR_FORMAT, "'%s' has %ld class folders (at most 100000)", split_dir, ncls);
    l->classes = classes ? classes->classes : (int)ncls;
    if (!st && !(l->class_names = calloc((size_t)l->classes, AN_CLASS_NAME_MAX)))
        st = an_error(AN_ERR_NOMEM, "out of memory");
    for (long k = 0; !st && k < l->classes; k++) {
        if (classes) memcpy(l->class_names[k], classes->class_names[k], AN_CLASS_NAME_MAX);
        else if (strlen(cls[k]) >= AN_CLASS_NAME_MAX)
            st = an_error(AN_ERR_FORMAT, "class folder name '%s' is longer than %d bytes", cls[k], AN_CLASS_NAME_MAX - 1);
        else snprintf(l->class_names[k], AN_CLASS_NAME_MAX, "%s", cls[k]);
    }
    for (long k = 0; !st && k < ncls; k++) {
        int label = (int)k;
        if (classes) {
            label = -1;
            for (int j = 0; j < classes->classes; j++)
                if (!strcmp(classes->class_names[j], cls[k])) label = j;
            if (label < 0) {
                st = an_error(AN_ERR_FORMAT, "'%s/%s': class '%s' is not among the %d training classes", split_dir, cls[k],
                              cls[k], classes->classes);
                break;
            }
        }
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", split_dir, cls[k]);
        char **files = NULL;
        long nf = 0;
        if ((st = list_dir(sub, 0, &files, &nf))) break;
        for (long i = 0; i < nf; i++) {
            if (!st && image_name(files[i])) {
                if (l->n == cap) {
                    cap = cap ? 2 * cap : 1024;
                    char **p = realloc(l->paths, (size_t)cap * sizeof *p);
                    int32_t *q = p ? realloc(l->labels, (size_t)cap * sizeof *q) : NULL;
                    if (p) l->paths = p;
                    if (q) l->labels = q;
                    if (!p || !q) st = an_error(AN_ERR_NOMEM, "out of memory listing '%s'", sub);
                }
                if (!st) {
                    const size_t len = strlen(sub) + strlen(files[i]) + 2;
                    if (!(l->paths[l->n] = malloc(len))) st = an_error(AN_ERR_NOMEM, "out of memory");
                    else {
                        snprintf(l->paths[l->n], len, "%s/%s", sub, files[i]);
                        l->labels[l->n++] = label;
                    }
                }
            }
            free(files[i]);
        }
        free(files);
    }
    for (long k = 0; k < ncls; k++) free(cls[k]);
    free(cls);
    if (!st && l->n == 0)
        st = an_error(AN_ERR_FORMAT, "'%s' has no images (*.jpg, *.jpeg, *.png) in its class folders", split_dir);
    if (st) an_folder_list_free(l);
    return st;
}

static an_status read_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return an_error(AN_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size <= 0 || sb.st_size > (1L << 30)) {
        fclose(f);
        return an_error(AN_ERR_FORMAT, "'%s': empty or larger than 1 GB", path);
    }
    *len = (size_t)sb.st_size;
    *buf = malloc(*len);
    if (!*buf) {
        fclose(f);
        return an_error(AN_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    const size_t got = fread(*buf, 1, *len, f);
    fclose(f);
    if (got != *len) {
        free(*buf);
        *buf = NULL;
        return an_error(AN_ERR_IO, "'%s': short read", path);
    }
    return AN_OK;
}

static an_status append(an_records_shard *s, size_t *cap, const uint8_t *bytes, size_t len, int h, int w, int c)
{
    if (len > AN_RECORD_MAX)
        return an_error(AN_ERR_FORMAT, "a record of %zu bytes (%d x %d x %d) is larger than the %d MB a record may have: "
                        "use a smaller --size", len, w, h, c, AN_RECORD_MAX >> 20);
    const size_t at = (size_t)s->offsets[s->n];
    if (at + len > *cap) {
        size_t nc = *cap ? *cap : 1 << 20;
        while (nc < at + len) nc *= 2;
        uint8_t *p = realloc(s->data, nc);
        if (!p) return an_error(AN_ERR_NOMEM, "out of memory for a shard of %zu bytes", nc);
        s->data = p;
        *cap = nc;
    }
    memcpy(s->data + at, bytes, len);
    s->offsets[s->n + 1] = (int64_t)(at + len);
    s->shapes[3 * s->n] = h, s->shapes[3 * s->n + 1] = w, s->shapes[3 * s->n + 2] = c;
    s->crc[s->n] = (uint32_t)crc32(0L, bytes, (uInt)len);
    s->n++;
    return AN_OK;
}

an_status an_import_image(an_records_shard *s, size_t *cap, const char *path, int32_t label, const an_import_opts *o)
{
    uint8_t *raw = NULL, *enc = NULL;
    size_t len = 0, elen = 0;
    an_image im = {0}, small = {0};
    float *plane = NULL;
    an_status st = read_file(path, &raw, &len);
    if (st) return st;
    if ((st = an_image_decode(&im, raw, len, o->channels, path))) goto out;
    const int shorter = im.h < im.w ? im.h : im.w, C = o->channels;
    const an_image *keep = &im;
    if (o->size > 0 && shorter > o->size) {
        /* torchvision's Resize(size) geometry, antialiased, rounded to uint8 */
        int rh, rw, top, left;
        an_eval_geometry(im.h, im.w, o->size, o->size, &rh, &rw, &top, &left);
        small = (an_image){.h = rh, .w = rw, .c = C, .px = malloc((size_t)rh * rw * C), .cap = (size_t)rh * rw * C};
        plane = malloc((size_t)rh * rw * C * sizeof(float));
        if (!small.px || !plane) {
            st = an_error(AN_ERR_NOMEM, "'%s': out of memory resizing", path);
            goto out;
        }
        an_resample_ws ws = {0};
        const int failed = an_image_resample_ws(&ws, plane, im.px, im.h, im.w, C, 0, 0, im.h, im.w, rh, rw, 0, 0, rh, rw);
        an_resample_ws_free(&ws);
        if (failed) {
            st = an_error(AN_ERR_NOMEM, "'%s': out of memory resizing", path);
            goto out;
        }
        for (int c = 0; c < C; c++)
            for (size_t i = 0; i < (size_t)rh * rw; i++) {
                const float v = nearbyintf(plane[(size_t)c * rh * rw + i]);
                small.px[i * C + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        keep = &small;
    }
    s->labels[s->n] = label;
    if (o->encoding == AN_ENC_RAW) {
        st = append(s, cap, keep->px, (size_t)keep->h * keep->w * C, keep->h, keep->w, C);
    } else if (keep == &im && raw[0] == 0xFF && raw[1] == 0xD8) {
        st = append(s, cap, raw, len, im.h, im.w, C); /* a JPEG of the right size: kept as it is */
    } else {
        if ((st = an_image_encode_jpeg(&enc, &elen, keep, o->quality))) goto out;
        st = append(s, cap, enc, elen, keep->h, keep->w, C);
    }
out:
    free(raw);
    free(enc);
    free(plane);
    an_image_free(&im);
    an_image_free(&small);
    return st;
}

/* image.c - JPEG/PNG decoding and JPEG encoding (libjpeg-turbo, libpng), antialiased bilinear
 * resampling and torchvision's crop geometry (see image.h). */
#include "alphanet/io/image.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>
#include <jerror.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

void an_image_free(an_image *im)
{
    free(im->px);
    memset(im, 0, sizeof *im);
}

/* larger photos than this are taken for damaged headers (ImageNet's largest has 16 M pixels) */
#define MAX_PIXELS (100L * 1000 * 1000)

static an_status check_size(long h, long w, const char *what)
{
    if (h <= 0 || w <= 0 || h > 65535 || w > 65535 || h * w > MAX_PIXELS)
        return an_error(AN_ERR_FORMAT, "%s: implausible image size %ld x %ld (at most %ld pixels)", what, w, h, MAX_PIXELS);
    return AN_OK;
}

static an_status reserve(an_image *im, int h, int w, int c, const char *what)
{
    const size_t need = (size_t)h * w * c;
    an_status st = check_size(h, w, what);
    if (st) return st;
    if (need > im->cap) {
        uint8_t *p = realloc(im->px, need);
        if (!p) return an_error(AN_ERR_NOMEM, "%s: cannot allocate %zu bytes for the pixels", what, need);
        im->px = p;
        im->cap = need;
    }
    im->h = h, im->w = w, im->c = c;
    return AN_OK;
}

/* ---- JPEG ---- */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    int truncated; /* libjpeg warned of a premature end of the file */
} jerr_mgr;

static void jerr_exit(j_common_ptr cinfo)
{
    jerr_mgr *e = (jerr_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* Warnings such as extraneous bytes before a marker are not errors (PIL ignores them too); a
 * premature end of the file is: libjpeg would fill the missing rows with grey. */
static void jerr_quiet(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) ((jerr_mgr *)cinfo->err)->truncated = 1;
}

static an_status decode_jpeg(an_image *im, const uint8_t *bytes, size_t len, int channels, const char *what)
{
    struct jpeg_decompress_struct ci;
    jerr_mgr je;
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    je.pub.emit_message = jerr_quiet;
    je.truncated = 0;
    volatile an_status st = AN_OK;
    uint8_t *volatile row = NULL;
    if (setjmp(je.jump)) {
        jpeg_destroy_decompress(&ci);
        free(row);
        return an_error(AN_ERR_FORMAT, "%s: bad JPEG: %s", what, je.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, bytes, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    if ((st = check_size((long)ci.image_height, (long)ci.image_width, what))) {
        jpeg_destroy_decompress(&ci);
        return st;
    }
    const int cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
    if (cmyk) ci.out_color_space = JCS_CMYK;
    else ci.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&ci);
    if ((st = reserve(im, (int)ci.output_height, (int)ci.output_width, channels, what))) {
        jpeg_destroy_decompress(&ci);
        return st;
    }
    if (cmyk && !(row = malloc((size_t)ci.output_width * 4))) {
        jpeg_destroy_decompress(&ci);
        return an_error(AN_ERR_NOMEM, "%s: out of memory", what);
    }
    while (ci.output_scanline < ci.output_height) {
        uint8_t *dst = im->px + (size_t)ci.output_scanline * im->w * channels;
        JSAMPROW r = cmyk ? row : dst;
        jpeg_read_scanlines(&ci, &r, 1);
        if (cmyk) {
            /* Adobe's inverted CMYK, as libjpeg delivers it: R = C * K / 255 and so on */
            for (int x = 0; x < im->w; x++) {
                const unsigned k = row[4 * x + 3];
                const unsigned rgb[3] = {row[4 * x] * k / 255, row[4 * x + 1] * k / 255, row[4 * x + 2] * k / 255};
                if (channels == 3) dst[3 * x] = (uint8_t)rgb[0], dst[3 * x + 1] = (uint8_t)rgb[1], dst[3 * x + 2] = (uint8_t)rgb[2];
                else dst[x] = (uint8_t)((299 * rgb[0] + 587 * rgb[1] + 114 * rgb[2] + 500) / 1000);
            }
        }
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(row);
    if (je.truncated) return an_error(AN_ERR_FORMAT, "%s: truncated JPEG (the file ends before the image data does)", what);
    return AN_OK;
}

an_status an_image_encode_jpeg(uint8_t **out, size_t *len, const an_image *im, int quality)
{
    struct jpeg_compress_struct ci;
    jerr_mgr je;
    unsigned char *volatile buf = NULL;
    unsigned long size = 0;
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    je.pub.emit_message = jerr_quiet;
    if (setjmp(je.jump)) {
        jpeg_destroy_compress(&ci);
        free(buf);
        return an_error(AN_ERR_INTERNAL, "JPEG encoding failed: %s", je.msg);
    }
    jpeg_create_compress(&ci);
    unsigned char *b = NULL;
    jpeg_mem_dest(&ci, &b, &size);
    ci.image_width = (JDIMENSION)im->w;
    ci.image_height = (JDIMENSION)im->h;
    ci.input_components = im->c;
    ci.in_color_space = im->c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW r = im->px + (size_t)ci.next_scanline * im->w * im->c;
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    buf = b;
    jpeg_destroy_compress(&ci);
    *out = buf;
    *len = size;
    return AN_OK;
}

/* ---- PNG ---- */

static an_status decode_png(an_image *im, const uint8_t *bytes, size_t len, int channels, const char *what)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, bytes, len))
        return an_error(AN_ERR_FORMAT, "%s: bad PNG: %s", what, pi.message);
    /* read with alpha and drop it (as PIL's convert("RGB") does) rather than compositing; 16-bit
     * samples are sRGB-encoded like 8-bit ones (PIL's view), not linear (libpng's default) */
    pi.format = channels == 1 ? PNG_FORMAT_GA : PNG_FORMAT_RGBA;
    pi.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    an_status st = reserve(im, (int)pi.height, (int)pi.width, channels, what);
    uint8_t *tmp = st ? NULL : malloc(PNG_IMAGE_SIZE(pi));
    if (st || !tmp) {
        png_image_free(&pi);
        return st ? st : an_error(AN_ERR_NOMEM, "%s: out of memory", what);
    }
    if (!png_image_finish_read(&pi, NULL, tmp, 0, NULL)) {
        free(tmp);
        return an_error(AN_ERR_FORMAT, "%s: bad PNG: %s", what, pi.message);
    }
    const size_t n = (size_t)im->h * im->w;
    const int sc = channels + 1;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < channels; c++) im->px[i * channels + c] = tmp[i * sc + c];
    free(tmp);
    return AN_OK;
}

an_status an_image_decode(an_image *im, const uint8_t *bytes, size_t len, int channels, const char *what)
{
    if (channels != 1 && channels != 3) return an_error(AN_ERR_ARG, "%s: %d channels requested (1 or 3)", what, channels);
    if (len >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
        return decode_jpeg(im, bytes, len, channels, what);
    if (len >= 8 && !memcmp(bytes, "\x89PNG\r\n\x1a\n", 8)) return decode_png(im, bytes, len, channels, what);
    return an_error(AN_ERR_FORMAT, "%s: neither a JPEG nor a PNG image (%zu bytes)", what, len);
}

/* ---- resampling ---- */

/* The taps of output samples [first, first + count) of a resize from `in` to `out` samples:
 * start[i], taps per sample *ntaps (a fixed stride; unused taps have weight 0), weights w. As
 * aten's antialiased bilinear: centre scale * (i + 0.5), support max(scale, 1), triangle filter
 * of width support, weights normalised to sum 1. */
static int axis_taps(int in, int out, int first, int count, int *start, float *w, int stride)
{
    const double scale = (double)in / out, support = scale >= 1 ? scale : 1.0, inv = scale >= 1 ? 1 / scale : 1.0;
    int maxt = 0;
    for (int k = 0; k < count; k++) {
        const int i = first + k;
        const double centre = scale * (i + 0.5);
        long lo = (long)(centre - support + 0.5);
        if (lo < 0) lo = 0;
        long hi = (long)(centre + support + 0.5);
        if (hi > in) hi = in;
        int n = (int)(hi - lo);
        if (n > stride) n = stride;
        double tw[stride > 0 ? stride : 1], total = 0;
        for (int j = 0; j < n; j++) {
            const double x = fabs((j + lo - centre + 0.5) * inv);
            tw[j] = x < 1 ? 1 - x : 0;
            total += tw[j];
        }
        start[k] = (int)lo;
        for (int j = 0; j < stride; j++) w[(size_t)k * stride + j] = j < n ? (float)(total > 0 ? tw[j] / total : 0) : 0.0f;
        if (n > maxt) maxt = n;
    }
    return maxt;
}

static int max_taps(int in, int out)
{
    const double scale = (double)in / out, support = scale >= 1 ? scale : 1.0;
    return (int)ceil(2 * support) + 2;
}

void an_resample_ws_free(an_resample_ws *ws)
{
    free(ws->buf);
    memset(ws, 0, sizeof *ws);
}

static void *ws_get(an_resample_ws *ws, size_t bytes)
{
    if (bytes > ws->cap) {
        void *p = realloc(ws->buf, bytes);
        if (!p) return NULL;
        ws->buf = p;
        ws->cap = bytes;
    }
    return ws->buf;
}

int an_image_resample_ws(an_resample_ws *ws, float *out, const uint8_t *src, int sh, int sw, int c, int by, int bx, int bh,
                         int bw, int oh, int ow, int wy, int wx, int wh, int ww)
{
    const int sx = max_taps(bw, ow), sy = max_taps(bh, oh);
    /* layout of the workspace: x taps, y taps, then the horizontally filtered rows [bh][ww][c] */
    const size_t bytes = (size_t)ww * (sizeof(int) + sx * sizeof(float)) + (size_t)wh * (sizeof(int) + sy * sizeof(float)) +
                         (size_t)bh * ww * c * sizeof(float) + 64;
    char *p = ws_get(ws, bytes);
    if (!p) return -1;
    float *wx_w = (float *)p;
    float *wy_w = wx_w + (size_t)ww * sx;
    float *tmp = wy_w + (size_t)wh * sy;
    int *x0 = (int *)(tmp + (size_t)bh * ww * c);
    int *y0 = x0 + ww;
    axis_taps(bw, ow, wx, ww, x0, wx_w, sx);
    axis_taps(bh, oh, wy, wh, y0, wy_w, sy);
    /* only the box rows some output row reads */
    int rlo = bh, rhi = 0;
    for (int k = 0; k < wh; k++) {
        if (y0[k] < rlo) rlo = y0[k];
        int last = y0[k] + sy;
        if (last > bh) last = bh;
        if (last > rhi) rhi = last;
    }
    (void)sw;
    for (int r = rlo; r < rhi; r++) {
        const uint8_t *row = src + ((size_t)(by + r) * sw + bx) * c;
        float *t = tmp + (size_t)r * ww * c;
        for (int k = 0; k < ww; k++) {
            const float *wk = wx_w + (size_t)k * sx;
            const uint8_t *s = row + (size_t)x0[k] * c;
            int n = bw - x0[k];
            if (n > sx) n = sx;
            for (int ch = 0; ch < c; ch++) {
                float acc = 0;
                for (int j = 0; j < n; j++) acc += wk[j] * s[j * c + ch];
                t[k * c + ch] = acc;
            }
        }
    }
    for (int k = 0; k < wh; k++) {
        const float *wk = wy_w + (size_t)k * sy;
        int n = bh - y0[k];
        if (n > sy) n = sy;
        for (int ch = 0; ch < c; ch++) {
            float *o = out + ((size_t)ch * wh + k) * ww;
            for (int x = 0; x < ww; x++) o[x] = 0;
            for (int j = 0; j < n; j++) {
                const float wj = wk[j];
                if (wj == 0) continue;
                const float *t = tmp + (size_t)(y0[k] + j) * ww * c + ch;
                for (int x = 0; x < ww; x++) o[x] += wj * t[(size_t)x * c];
            }
        }
    }
    return 0;
}

void an_image_resample(float *out, const uint8_t *src, int sh, int sw, int c, int by, int bx, int bh, int bw, int oh,
                       int ow, int wy, int wx, int wh, int ww)
{
    an_resample_ws ws = {0};
    if (an_image_resample_ws(&ws, out, src, sh, sw, c, by, bx, bh, bw, oh, ow, wy, wx, wh, ww))
        memset(out, 0, (size_t)c * wh * ww * sizeof(float));
    an_resample_ws_free(&ws);
}

/* ---- torchvision geometry ---- */

/* Python's round() of a float64: half to even */
static long pyround(double v)
{
    const double r = nearbyint(v); /* the default rounding mode rounds half to even */
    return (long)r;
}

void an_rrc_params(int h, int w, const double scale[2], const double ratio[2], const double *u, int *top, int *left,
                   int *ch, int *cw)
{
    const double area = (double)h * w, lr0 = log(ratio[0]), lr1 = log(ratio[1]);
    for (int k = 0; k < 10; k++) {
        const double target = area * (scale[0] + (scale[1] - scale[0]) * u[4 * k]);
        const double ar = exp(lr0 + (lr1 - lr0) * u[4 * k + 1]);
        const long cwk = pyround(sqrt(target * ar)), chk = pyround(sqrt(target / ar));
        if (cwk > 0 && cwk <= w && chk > 0 && chk <= h) {
            *ch = (int)chk, *cw = (int)cwk;
            *top = (int)floor(u[4 * k + 2] * (double)(h - chk + 1));
            *left = (int)floor(u[4 * k + 3] * (double)(w - cwk + 1));
            if (*top > h - *ch) *top = h - *ch;
            if (*left > w - *cw) *left = w - *cw;
            return;
        }
    }
    const double in_ratio = (double)w / h;
    long fw, fh;
    if (in_ratio < ratio[0]) fw = w, fh = pyround(fw / ratio[0]);
    else if (in_ratio > ratio[1]) fh = h, fw = pyround(fh * ratio[1]);
    else fw = w, fh = h;
    *ch = (int)fh, *cw = (int)fw;
    *top = (int)((h - fh) / 2), *left = (int)((w - fw) / 2);
}

void an_eval_geometry(int h, int w, int size, int crop, int *rh, int *rw, int *top, int *left)
{
    if (h <= w) {
        *rh = size;
        *rw = (int)((long)size * w / h);
    } else {
        *rw = size;
        *rh = (int)((long)size * h / w);
    }
    *top = (int)pyround((*rh - crop) / 2.0);
    *left = (int)pyround((*rw - crop) / 2.0);
}

/* make_photos.c - writes a small image folder in the class-per-folder layout for the input tests:
 *
 *   make_photos OUTDIR [CLASSES] [PER_CLASS] [MIN_SIDE MAX_SIDE]
 *
 * OUTDIR/train/class_K/img_NNN.{jpg,png} (PER_CLASS per class) and OUTDIR/val/class_K/ (a third
 * as many). Sizes are drawn between MIN_SIDE and MAX_SIDE (default 24..160) for each side, so
 * aspect ratios vary. The kinds cycle through: RGB JPEG, greyscale JPEG, CMYK JPEG, RGB PNG, RGBA
 * PNG, greyscale PNG, 16-bit RGB PNG. The content (a colour per class, gradients, noise) lets a
 * network learn the classes. Deterministic.
 */
#include <stdio.h> /* before jpeglib.h */

#include <errno.h>
#include <jpeglib.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint64_t state = 0x9E3779B97F4A7C15ull;
static unsigned rnd(unsigned n)
{
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return (unsigned)(state % n);
}

static void mk(const char *p)
{
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_photos: cannot create %s: %s\n", p, strerror(errno));
        exit(1);
    }
}

static void write_jpeg(const char *path, const uint8_t *px, int h, int w, int c, J_COLOR_SPACE cs)
{
    FILE *f = fopen(path, "wb");
    if (!f) exit(1);
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr je;
    ci.err = jpeg_std_error(&je);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w, ci.image_height = (JDIMENSION)h, ci.input_components = c, ci.in_color_space = cs;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 92, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW r = (JSAMPROW)(px + (size_t)ci.next_scanline * w * c);
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
}

static void write_png(const char *path, const void *px, int h, int w, png_uint_32 format)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION, pi.width = (png_uint_32)w, pi.height = (png_uint_32)h, pi.format = format;
    if (!png_image_write_to_file(&pi, path, 0, px, 0, NULL)) {
        fprintf(stderr, "make_photos: %s: %s\n", path, pi.message);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: make_photos OUTDIR [CLASSES] [PER_CLASS] [MIN_SIDE MAX_SIDE]\n");
        return 2;
    }
    const char *out = argv[1];
    const int classes = argc > 2 ? atoi(argv[2]) : 4, per = argc > 3 ? atoi(argv[3]) : 12;
    const int lo = argc > 5 ? atoi(argv[4]) : 24, hi = argc > 5 ? atoi(argv[5]) : 160;
    mk(out);
    long count = 0;
    for (int split = 0; split < 2; split++) {
        char sdir[4096];
        snprintf(sdir, sizeof sdir, "%s/%s", out, split ? "val" : "train");
        mk(sdir);
        const int n = split ? (per + 2) / 3 : per;
        for (int k = 0; k < classes; k++) {
            char cdir[4200];
            snprintf(cdir, sizeof cdir, "%s/class_%02d", sdir, k);
            mk(cdir);
            const int base[3] = {(k * 97) % 256, (k * 57 + 80) % 256, (k * 151 + 160) % 256};
            for (int i = 0; i < n; i++) {
                const int h = lo + (int)rnd((unsigned)(hi - lo + 1)), w = lo + (int)rnd((unsigned)(hi - lo + 1));
                const int kind = (int)((count++) % 7);
                uint8_t *rgb = malloc((size_t)h * w * 4);
                uint16_t *rgb16 = malloc((size_t)h * w * 3 * sizeof(uint16_t));
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        for (int c = 0; c < 3; c++) {
                            int v = base[c] + (c == 0 ? y : c == 1 ? x : x + y) * 64 / (h + w) + (int)rnd(24) - 12;
                            v = v < 0 ? 0 : v > 255 ? 255 : v;
                            rgb[((size_t)y * w + x) * 3 + c] = (uint8_t)v;
                            rgb16[((size_t)y * w + x) * 3 + c] = (uint16_t)(v * 257 + (int)rnd(200));
                        }
                char path[4400];
                snprintf(path, sizeof path, "%s/img_%03d.%s", cdir, i, kind < 3 ? "jpg" : "png");
                uint8_t *tmp = malloc((size_t)h * w * 4);
                if (kind == 0) write_jpeg(path, rgb, h, w, 3, JCS_RGB);
                else if (kind == 1 || kind == 5) {
                    for (size_t p = 0; p < (size_t)h * w; p++)
                        tmp[p] = (uint8_t)((299 * rgb[3 * p] + 587 * rgb[3 * p + 1] + 114 * rgb[3 * p + 2]) / 1000);
                    if (kind == 1) write_jpeg(path, tmp, h, w, 1, JCS_GRAYSCALE);
                    else write_png(path, tmp, h, w, PNG_FORMAT_GRAY);
                } else if (kind == 2) {
                    /* Adobe-style inverted CMYK: C = R, M = G, Y = B, K = 255 */
                    for (size_t p = 0; p < (size_t)h * w; p++) {
                        tmp[4 * p] = rgb[3 * p], tmp[4 * p + 1] = rgb[3 * p + 1], tmp[4 * p + 2] = rgb[3 * p + 2];
                        tmp[4 * p + 3] = 255;
                    }
                    write_jpeg(path, tmp, h, w, 4, JCS_CMYK);
                } else if (kind == 3) write_png(path, rgb, h, w, PNG_FORMAT_RGB);
                else if (kind == 4) {
                    for (size_t p = 0; p < (size_t)h * w; p++) {
                        memcpy(tmp + 4 * p, rgb + 3 * p, 3);
                        tmp[4 * p + 3] = (uint8_t)(128 + p % 128);
                    }
                    write_png(path, tmp, h, w, PNG_FORMAT_RGBA);
                } else write_png(path, rgb16, h, w, PNG_FORMAT_RGB | PNG_FORMAT_FLAG_LINEAR);
                free(tmp);
                free(rgb);
                free(rgb16);
            }
        }
    }
    printf("%s: %ld images, %d classes\n", out, count, classes);
    return 0;
}

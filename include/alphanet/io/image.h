/* image.h - decoding, encoding and resampling of photos, and the ImageNet-style augmentation.
 *
 * Decoding: JPEG (libjpeg-turbo, any colour space it knows, CMYK included) and PNG (libpng, any
 * bit depth, palette, alpha dropped), to uint8 [h][w][c] with c = 1 (grey) or 3 (RGB).
 *
 * Resampling follows torch.nn.functional.interpolate(mode="bilinear", antialias=True,
 * align_corners=False) on float images, which is also torchvision's tensor resize with
 * antialias=True and, up to PIL's per-pass rounding to uint8, PIL's bilinear resize: a separable
 * triangle filter whose support widens by the scale factor when shrinking. Output is float in
 * pixel units (0..255), planar [c][h][w].
 */
#ifndef ALPHANET_IO_IMAGE_H
#define ALPHANET_IO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "alphanet/common.h"

typedef struct {
    int h, w, c;
    uint8_t *px; /* [h][w][c] */
    size_t cap;  /* bytes allocated at px (reused by later decodes) */
} an_image;

/* Decodes a JPEG or PNG (told apart by their magic bytes) into im, converted to `channels`
 * (1 or 3) channels; im's buffer is reused when large enough. `what` names the image in errors. */
an_status an_image_decode(an_image *im, const uint8_t *bytes, size_t len, int channels, const char *what);
/* Encodes im as a baseline JPEG of the given quality (1..100); *out is malloc'ed. */
an_status an_image_encode_jpeg(uint8_t **out, size_t *len, const an_image *im, int quality);
void an_image_free(an_image *im);

/* Resizes the box (by, bx, bh, bw) of src [sh][sw][c] to an oh x ow image and writes its window
 * of rows [wy, wy + wh) and columns [wx, wx + ww) into out[c][wh][ww]. */
void an_image_resample(float *out, const uint8_t *src, int sh, int sw, int c, int by, int bx, int bh, int bw, int oh,
                       int ow, int wy, int wx, int wh, int ww);

/* The same with a reusable workspace (grown as needed; no allocation once it is large enough).
 * Returns 0, or -1 when the workspace cannot grow. */
typedef struct {
    void *buf;
    size_t cap;
} an_resample_ws;
int an_image_resample_ws(an_resample_ws *ws, float *out, const uint8_t *src, int sh, int sw, int c, int by, int bx, int bh,
                         int bw, int oh, int ow, int wy, int wx, int wh, int ww);
void an_resample_ws_free(an_resample_ws *ws);

/* torchvision's RandomResizedCrop.get_params with its random draws given: u[0..40) uniforms in
 * [0, 1), four per attempt (area fraction, log aspect ratio, top, left) for ten attempts, then the
 * central fallback. scale = {min, max} area fraction, ratio = {min, max} aspect ratio w/h. */
void an_rrc_params(int h, int w, const double scale[2], const double ratio[2], const double *u, int *top, int *left,
                   int *ch, int *cw);

/* torchvision's Resize(size) with an int size (shorter side to `size`, the longer one to
 * int(size * long / short)), then CenterCrop(crop) (offsets rounded half to even, as Python's
 * round). Gives the resized size and the crop's offset in it. */
void an_eval_geometry(int h, int w, int size, int crop, int *rh, int *rw, int *top, int *left);

#endif

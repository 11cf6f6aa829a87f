/* fuzz_image.c - libFuzzer harness for the photo decoders (JPEG through libjpeg-turbo, PNG
 * through libpng, told apart by their magic bytes): the first byte picks 1 or 3 channels, the
 * rest is the file. Any content must decode or fail with a message, never crash, leak or
 * allocate absurd memory; a decoded image is then resampled (a training crop and an evaluation
 * centre crop), whose output must be finite and within the pixel range. */
#include <math.h>
#include <stdlib.h>

#include "alphanet/io/image.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1) return 0;
    const int channels = data[0] & 1 ? 3 : 1;
    an_image im = {0};
    if (an_image_decode(&im, data + 1, size - 1, channels, "fuzz input") != AN_OK) {
        if (!an_error_message()[0]) abort();
        an_image_free(&im);
        return 0;
    }
    if (im.h < 1 || im.w < 1 || im.c != channels) abort();
    if ((long)im.h * im.w > 4L << 20) { /* a header's huge size decodes to filler: resampling it only costs time */
        an_image_free(&im);
        return 0;
    }
    float out[3 * 8 * 8];
    const double scale[2] = {0.08, 1.0}, ratio[2] = {0.75, 4.0 / 3.0};
    double u[40];
    for (int k = 0; k < 40; k++) u[k] = (double)data[k % size] / 256.0;
    int top, left, ch, cw, rh, rw;
    an_rrc_params(im.h, im.w, scale, ratio, u, &top, &left, &ch, &cw);
    if (top < 0 || left < 0 || ch < 1 || cw < 1 || top + ch > im.h || left + cw > im.w) abort();
    an_image_resample(out, im.px, im.h, im.w, channels, top, left, ch, cw, 8, 8, 0, 0, 8, 8);
    for (int i = 0; i < channels * 64; i++)
        if (!(out[i] >= -1e-3f && out[i] <= 255.001f)) abort();
    an_eval_geometry(im.h, im.w, 10, 8, &rh, &rw, &top, &left);
    if (top >= 0 && left >= 0 && top + 8 <= rh && left + 8 <= rw)
        an_image_resample(out, im.px, im.h, im.w, channels, 0, 0, im.h, im.w, rh, rw, top, left, 8, 8);
    an_image_free(&im);
    return 0;
}

/* batch.c - epoch order, sharding, augmentation and normalisation (see batch.h). */
#include "alphanet/io/batch.h"

#include <math.h>
#include <string.h>

#include "alphanet/rng.h"

void an_epoch_order(long *perm, long n, uint64_t seed, long epoch)
{
    an_rng r;
    an_rng_seed(&r, an_hash3(seed, 0xE90C0000ull, (uint64_t)epoch));
    for (long i = 0; i < n; i++) perm[i] = i;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)(an_rng_uniform(&r) * (double)(i + 1));
        if (j > i) j = i;
        long t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

void an_shard(int B, int P, int r, const double *weights, int *first, int *count)
{
    if (!weights) {
        const int base = B / P, extra = B % P;
        *first = r * base + (r < extra ? r : extra);
        *count = base + (r < extra ? 1 : 0);
        return;
    }
    /* cumulative rounding: boundaries at round(B * sum_{q<r} w_q / sum w) */
    double total = 0, before = 0;
    for (int q = 0; q < P; q++) total += weights[q];
    for (int q = 0; q < r; q++) before += weights[q];
    const int lo = (int)floor(B * before / total + 0.5), hi = (int)floor(B * (before + weights[r]) / total + 0.5);
    *first = lo;
    *count = hi - lo;
}

#define STREAM_AUGMENT 0xA7600000ull

void an_make_batch(float *x, int *labels, const an_dataset *d, const long *idx, int nb, const an_data_cfg *dc, int train,
                   uint64_t seed, long epoch)
{
    const int H = d->h, W = d->w, C = d->c, pad = train ? dc->crop_padding : 0;
    float scale[4], shift[4];
    for (int c = 0; c < C; c++) {
        scale[c] = 1.0f / (255.0f * dc->std[c]);
        shift[c] = -dc->mean[c] / dc->std[c];
    }
    for (int j = 0; j < nb; j++) {
        const long id = idx[j];
        const uint8_t *img = d->images + (size_t)id * H * W * C;
        labels[j] = d->labels[id];
        int oy = 0, ox = 0, flip = 0;
        if (train) {
            const uint64_t r = an_hash3(seed, STREAM_AUGMENT + (uint64_t)epoch, (uint64_t)id);
            if (pad > 0) {
                oy = (int)((r & 0xffff) % (uint64_t)(2 * pad + 1)) - pad;
                ox = (int)(((r >> 16) & 0xffff) % (uint64_t)(2 * pad + 1)) - pad;
            }
            flip = dc->hflip && ((r >> 32) & 1);
        }
        for (int y = 0; y < H; y++)
            for (int xx = 0; xx < W; xx++) {
                const int sy = y + oy, sx0 = flip ? W - 1 - xx : xx, sx = sx0 + ox;
                for (int c = 0; c < C; c++) {
                    float v = 0.0f; /* zero padding, in pixel space */
                    if (sy >= 0 && sy < H && sx >= 0 && sx < W) v = img[((size_t)sy * W + sx) * C + c];
                    x[(((size_t)c * H + y) * W + xx) * nb + j] = v * scale[c] + shift[c];
                }
            }
    }
}

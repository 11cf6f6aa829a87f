/* batch.c - epoch order, sharding, augmentation and normalisation (see batch.h). */
#include "alphanet/io/batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/image.h"
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
#define STREAM_SYNTH 0x5E7E0000ull

/* zero-padded random crop and flip of a fixed-size image (the small-image recipe) */
static void pad_crop(float *x, int nb, int j, const uint8_t *img, int H, int W, int C, int pad, int train, uint64_t r,
                     int hflip, const float *scale, const float *shift)
{
    int oy = 0, ox = 0, flip = 0;
    if (train) {
        if (pad > 0) {
            oy = (int)((r & 0xffff) % (uint64_t)(2 * pad + 1)) - pad;
            ox = (int)(((r >> 16) & 0xffff) % (uint64_t)(2 * pad + 1)) - pad;
        }
        flip = hflip && ((r >> 32) & 1);
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

/* per-thread buffers of the photo path */
typedef struct {
    uint8_t *rec;
    size_t rec_cap;
    an_image im;
    an_resample_ws rs;
    float *plane; /* [c][h][w] */
} worker;

/* a synthetic image: smooth random gradients plus noise, from the sample index alone */
static void synth_image(an_image *im, int h, int w, int c, long index)
{
    const uint64_t r = an_hash3(0x5EEDull, STREAM_SYNTH, (uint64_t)index);
    for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++)
            for (int ch = 0; ch < c; ch++) {
                const unsigned base = (unsigned)((r >> (8 * ch)) & 0xff);
                const unsigned noise = (unsigned)(an_hash3((uint64_t)index, (uint64_t)ch, (uint64_t)y * 65536 + xx) & 63);
                im->px[((size_t)y * w + xx) * c + ch] = (uint8_t)((base + (unsigned)(y + xx) / 2 + noise) & 0xff);
            }
}

/* one sample of the photo path into column j of x */
static an_status photo_sample(worker *wk, float *x, int nb, int j, const an_dataset *d, long id, const an_data_cfg *dc,
                              int train, uint64_t seed, long epoch, const float *scale, const float *shift)
{
    const int S = d->h, C = d->c;
    const uint8_t *px;
    int sh, sw;
    an_status st;
    if (d->rec) {
        size_t len;
        int32_t shape[3];
        if ((st = an_records_read(d->rec, d->base + id, &wk->rec, &wk->rec_cap, &len, shape))) return st;
        if (d->rec->encoding == AN_ENC_JPEG) {
            char what[96];
            snprintf(what, sizeof what, "record %ld of the %s set", d->base + id, d->rec->split);
            if ((st = an_image_decode(&wk->im, wk->rec, len, C, what))) return st;
            px = wk->im.px, sh = wk->im.h, sw = wk->im.w;
        } else {
            px = wk->rec, sh = shape[0], sw = shape[1];
        }
    } else if (d->synthetic) {
        const size_t need = (size_t)S * S * C;
        if (wk->im.cap < need) {
            free(wk->im.px);
            if (!(wk->im.px = malloc(need))) return an_error(AN_ERR_NOMEM, "out of memory for a synthetic image");
            wk->im.cap = need;
        }
        synth_image(&wk->im, S, S, C, d->base + id);
        px = wk->im.px, sh = S, sw = S;
    } else {
        sh = d->src_h ? d->src_h : d->h, sw = d->src_w ? d->src_w : d->w;
        px = d->images + (size_t)id * sh * sw * C;
    }
    int flip = 0;
    if (train) {
        an_rng r;
        an_rng_seed(&r, an_hash3(seed, STREAM_AUGMENT + (uint64_t)epoch, (uint64_t)(d->base + id)));
        double u[40];
        for (int k = 0; k < 40; k++) u[k] = an_rng_uniform(&r);
        flip = dc->hflip && an_rng_uniform(&r) < 0.5;
        const double sc[2] = {dc->scale[0], dc->scale[1]}, ra[2] = {dc->ratio[0], dc->ratio[1]};
        int top, left, ch, cw;
        an_rrc_params(sh, sw, sc, ra, u, &top, &left, &ch, &cw);
        if (an_image_resample_ws(&wk->rs, wk->plane, px, sh, sw, C, top, left, ch, cw, S, S, 0, 0, S, S))
            return an_error(AN_ERR_NOMEM, "out of memory for resampling");
    } else {
        const int size = (int)lround(S / (double)dc->eval_crop);
        int rh, rw, top, left;
        an_eval_geometry(sh, sw, size, S, &rh, &rw, &top, &left);
        /* an image smaller than the crop after resizing (eval_crop > 1 is not allowed, so only
         * by rounding) keeps its centre */
        if (top < 0) top = 0;
        if (left < 0) left = 0;
        if (top + S > rh) rh = top + S;
        if (left + S > rw) rw = left + S;
        if (an_image_resample_ws(&wk->rs, wk->plane, px, sh, sw, C, 0, 0, sh, sw, rh, rw, top, left, S, S))
            return an_error(AN_ERR_NOMEM, "out of memory for resampling");
    }
    for (int c = 0; c < C; c++)
        for (int y = 0; y < S; y++) {
            const float *p = wk->plane + ((size_t)c * S + y) * S;
            float *o = x + (((size_t)c * S + y) * S) * nb + j;
            if (flip)
                for (int xx = 0; xx < S; xx++) o[(size_t)xx * nb] = p[S - 1 - xx] * scale[c] + shift[c];
            else
                for (int xx = 0; xx < S; xx++) o[(size_t)xx * nb] = p[xx] * scale[c] + shift[c];
        }
    return AN_OK;
}

an_status an_make_batch(float *x, int *labels, const an_dataset *d, const long *idx, int nb, const an_data_cfg *dc,
                        int train, uint64_t seed, long epoch)
{
    const int C = d->c;
    float scale[4], shift[4];
    for (int c = 0; c < C; c++) {
        scale[c] = 1.0f / (255.0f * dc->std[c]);
        shift[c] = -dc->mean[c] / dc->std[c];
    }
    for (int j = 0; j < nb; j++) labels[j] = d->labels[idx[j]];
    if (d->augment != AN_AUG_RRC) {
        for (int j = 0; j < nb; j++) {
            const long id = idx[j];
            const uint64_t r = train ? an_hash3(seed, STREAM_AUGMENT + (uint64_t)epoch, (uint64_t)id) : 0;
            pad_crop(x, nb, j, d->images + (size_t)id * d->h * d->w * C, d->h, d->w, C, train ? dc->crop_padding : 0,
                     train, r, dc->hflip, scale, shift);
        }
        return AN_OK;
    }
    an_status first = AN_OK;
    char msg[1024] = "";
    const int nt = dc->workers < nb ? dc->workers : nb;
#pragma omp parallel num_threads(nt > 0 ? nt : 1)
    {
        worker wk = {0};
        wk.plane = malloc((size_t)C * d->h * d->w * sizeof(float));
        an_status mine = wk.plane ? AN_OK : an_error(AN_ERR_NOMEM, "out of memory for a batch worker");
#pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < nb; j++)
            if (!mine) mine = photo_sample(&wk, x, nb, j, d, idx[j], dc, train, seed, epoch, scale, shift);
        if (mine) {
#pragma omp critical(an_batch_error)
            if (!first) {
                first = mine;
                snprintf(msg, sizeof msg, "%s", an_error_message());
            }
        }
        free(wk.rec);
        an_image_free(&wk.im);
        an_resample_ws_free(&wk.rs);
        free(wk.plane);
    }
    return first ? an_error(first, "%s", msg) : AN_OK;
}

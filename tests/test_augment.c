/* test_augment.c - image resampling and augmentation geometry (include/alphanet/io/image.h)
 * against the torchvision golden reference, plus reference-free properties of the resampler.
 *
 * The fixtures in tests/fixtures/augment/ are written by tests/ref/augment_ref.py (run it with
 * /usr/bin/python3 to regenerate; its header documents every tensor and the torchvision semantics);
 * their MANIFEST lists them, and every listed file is checked:
 *   resample_<name>.anfx  an_image_resample against F.interpolate(bilinear, antialias=True) of the
 *                         cropped box (= torchvision's resized_crop), float64, stored as float32;
 *                         compared with a relative tolerance of 1e-5 of the array's largest value
 *                         (pixel units 0..255: ~2.5e-3 absolute);
 *   geometry.anfx         an_eval_geometry against Resize(size) + CenterCrop(crop), exactly;
 *   eval_<name>.anfx      the eval pipeline (an_eval_geometry, then an_image_resample of the whole
 *                         image to (rh, rw), window (top, left, crop, crop)) against
 *                         T.Resize(size, antialias=True) + T.CenterCrop(crop);
 *   rrc.anfx              an_rrc_params against RandomResizedCrop.get_params with the uniforms
 *                         injected, exactly (the uniforms, scale and ratio are float32 values widened
 *                         to double, as the reference computed them).
 * Every resample output buffer is pre-filled with NaN (a missed element fails the comparison) and
 * followed by guard elements that must survive (an overrun fails).
 *
 * Reference-free checks (no fixtures): a constant image resamples to that constant for any box,
 * output size and window; the identity resize (out = box size) reproduces the box's pixels
 * exactly; and every output lies within [min, max] of its box's pixels (the bilinear triangle
 * filter has non-negative weights, shrinking and enlarging alike), over many random boxes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/image.h"
#include "fixture.h"
#include "test.h"

#define GUARD 8
#define GUARD_VALUE 12345.0f
#define RESAMPLE_RTOL 1e-5
#define BOUND_TOL 1e-3 /* pixel units, for the [min, max] property */

static int n_resample, n_eval, n_geometry, n_rrc;

/* ---------------------------------------------------------------------------------------------- */
/* helpers */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static uint64_t g_rng = 0x243F6A8885A308D3ull;

static uint32_t rnd32(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 32);
}

/* uniform integer in [lo, hi] */
static int rnd_int(int lo, int hi)
{
    return lo + (int)(rnd32() % (uint32_t)(hi - lo + 1));
}

/* A buffer of n floats, NaN-filled, with GUARD guard elements after it. */
static float *out_buffer(size_t n)
{
    float *p = xmalloc((n + GUARD) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    for (size_t i = 0; i < GUARD; i++) p[n + i] = GUARD_VALUE;
    return p;
}

static int guards_intact(const float *p, size_t n)
{
    for (size_t i = 0; i < GUARD; i++)
        if (p[n + i] != GUARD_VALUE) return 0;
    return 1;
}

/* Resamples and checks the guard; returns the malloc'ed output [c][wh][ww]. */
static float *resample(const uint8_t *src, int sh, int sw, int c, int by, int bx, int bh, int bw, int oh, int ow,
                       int wy, int wx, int wh, int ww, const char *what)
{
    size_t n = (size_t)c * wh * ww;
    float *out = out_buffer(n);
    an_image_resample(out, src, sh, sw, c, by, bx, bh, bw, oh, ow, wy, wx, wh, ww);
    CHECK_MSG(guards_intact(out, n), "%s: an_image_resample wrote past its %zu outputs", what, n);
    return out;
}

/* (iii) every output of channel k within [min, max] of the box's channel-k pixels. */
static void check_bounds(const float *out, const uint8_t *src, int sw, int c, int by, int bx, int bh, int bw, int wh,
                         int ww, const char *what)
{
    int bad = 0;
    double worst = 0.0;
    for (int k = 0; k < c; k++) {
        int lo = 255, hi = 0;
        for (int y = by; y < by + bh; y++)
            for (int x = bx; x < bx + bw; x++) {
                int v = src[((size_t)y * sw + x) * c + k];
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
        for (size_t i = 0; i < (size_t)wh * ww; i++) {
            double v = out[(size_t)k * wh * ww + i];
            double ex = v < lo ? lo - v : v > hi ? v - hi : 0.0;
            if (!(v >= lo - BOUND_TOL && v <= hi + BOUND_TOL)) {
                bad++;
                if (!(ex <= worst)) worst = isnan(ex) ? INFINITY : ex;
            }
        }
    }
    CHECK_MSG(bad == 0, "%s: %d outputs outside [min, max] of their box's pixels (worst by %.6g)", what, bad, worst);
}

static int32_t i32_at(const fx_file *f, const char *name, size_t expect, size_t i)
{
    size_t n;
    const int32_t *p = fx_i32(f, name, &n);
    if (n != expect) {
        fprintf(stderr, "FIXTURE ERROR: %s in %s has %zu elements, expected %zu\n", name, f->path, n, expect);
        exit(2);
    }
    return p[i];
}

static void fixture_error(const fx_file *f, const char *what)
{
    fprintf(stderr, "FIXTURE ERROR: %s in %s\n", what, f->path);
    exit(2);
}

/* ---------------------------------------------------------------------------------------------- */
/* fixtures */

static void test_resample_fixture(const char *rel)
{
    fx_file *f = fx_load(rel);
    const fx_tensor *st = fx_get(f, "src");
    if (st->dtype != 2 || st->ndim != 3) fixture_error(f, "src is not u8 [h][w][c]");
    int sh = st->dims[0], sw = st->dims[1], c = st->dims[2];
    int by = i32_at(f, "box", 4, 0), bx = i32_at(f, "box", 4, 1), bh = i32_at(f, "box", 4, 2),
        bw = i32_at(f, "box", 4, 3);
    int oh = i32_at(f, "out_size", 2, 0), ow = i32_at(f, "out_size", 2, 1);
    int wy = i32_at(f, "window", 4, 0), wx = i32_at(f, "window", 4, 1), wh = i32_at(f, "window", 4, 2),
        ww = i32_at(f, "window", 4, 3);
    size_t n;
    const float *expect = fx_f32(f, "expect", &n);
    if (n != (size_t)c * wh * ww) fixture_error(f, "expect has the wrong size");
    const uint8_t *src = st->data;

    float *out = resample(src, sh, sw, c, by, bx, bh, bw, oh, ow, wy, wx, wh, ww, rel);
    CHECK_CLOSE(rel, out, expect, n, RESAMPLE_RTOL);
    check_bounds(out, src, sw, c, by, bx, bh, bw, wh, ww, rel);
    free(out);
    fx_free(f);
    n_resample++;
}

static void test_geometry_fixture(const char *rel)
{
    fx_file *f = fx_load(rel);
    int n = fx_int(f, "n");
    size_t cnt;
    const int32_t *cases = fx_i32(f, "cases", &cnt);
    if (cnt != (size_t)n * 4) fixture_error(f, "cases has the wrong size");
    const int32_t *ex = fx_i32(f, "expect", &cnt);
    if (cnt != (size_t)n * 4) fixture_error(f, "expect has the wrong size");
    for (int i = 0; i < n; i++) {
        const int32_t *q = cases + (size_t)i * 4, *e = ex + (size_t)i * 4;
        int h = q[0], w = q[1], size = q[2], crop = q[3];
        int rh = -1, rw = -1, top = -1, left = -1;
        an_eval_geometry(h, w, size, crop, &rh, &rw, &top, &left);
        CHECK_MSG(rh == e[0] && rw == e[1] && top == e[2] && left == e[3],
                  "%s case %d: h %d w %d size %d crop %d: got rh %d rw %d top %d left %d, expected %d %d %d %d", rel, i,
                  h, w, size, crop, rh, rw, top, left, e[0], e[1], e[2], e[3]);
        n_geometry++;
    }
    fx_free(f);
}

static void test_eval_fixture(const char *rel)
{
    fx_file *f = fx_load(rel);
    const fx_tensor *st = fx_get(f, "src");
    if (st->dtype != 2 || st->ndim != 3) fixture_error(f, "src is not u8 [h][w][c]");
    int h = st->dims[0], w = st->dims[1], c = st->dims[2];
    if (i32_at(f, "geom", 4, 0) != h || i32_at(f, "geom", 4, 1) != w) fixture_error(f, "geom does not match src");
    int size = i32_at(f, "geom", 4, 2), crop = i32_at(f, "geom", 4, 3);
    int e[4];
    for (int j = 0; j < 4; j++) e[j] = i32_at(f, "expect_geom", 4, (size_t)j);
    size_t n;
    const float *expect = fx_f32(f, "expect", &n);
    if (n != (size_t)c * crop * crop) fixture_error(f, "expect has the wrong size");

    int rh = -1, rw = -1, top = -1, left = -1;
    an_eval_geometry(h, w, size, crop, &rh, &rw, &top, &left);
    int geom_ok = rh == e[0] && rw == e[1] && top == e[2] && left == e[3];
    CHECK_MSG(geom_ok, "%s: got rh %d rw %d top %d left %d, expected %d %d %d %d", rel, rh, rw, top, left, e[0], e[1],
              e[2], e[3]);
    /* on a geometry failure, the pixels are still checked at the expected geometry */
    if (!geom_ok) rh = e[0], rw = e[1], top = e[2], left = e[3];
    float *out = resample(st->data, h, w, c, 0, 0, h, w, rh, rw, top, left, crop, crop, rel);
    CHECK_CLOSE(rel, out, expect, n, RESAMPLE_RTOL);
    free(out);
    fx_free(f);
    n_eval++;
}

static void test_rrc_fixture(const char *rel)
{
    fx_file *f = fx_load(rel);
    int n = fx_int(f, "n");
    size_t cnt;
    const int32_t *hs = fx_i32(f, "h", &cnt);
    if (cnt != (size_t)n) fixture_error(f, "h has the wrong size");
    const int32_t *ws = fx_i32(f, "w", &cnt);
    if (cnt != (size_t)n) fixture_error(f, "w has the wrong size");
    const float *sc = fx_f32(f, "scale", &cnt);
    if (cnt != (size_t)n * 2) fixture_error(f, "scale has the wrong size");
    const float *ra = fx_f32(f, "ratio", &cnt);
    if (cnt != (size_t)n * 2) fixture_error(f, "ratio has the wrong size");
    const float *uf = fx_f32(f, "u", &cnt);
    if (cnt != (size_t)n * 40) fixture_error(f, "u has the wrong size");
    const int32_t *ex = fx_i32(f, "expect", &cnt);
    if (cnt != (size_t)n * 4) fixture_error(f, "expect has the wrong size");
    const int32_t *att = fx_i32(f, "attempt", &cnt);
    if (cnt != (size_t)n) fixture_error(f, "attempt has the wrong size");

    for (int i = 0; i < n; i++) {
        double scale[2] = {sc[2 * i], sc[2 * i + 1]}, ratio[2] = {ra[2 * i], ra[2 * i + 1]}, u[40];
        for (int j = 0; j < 40; j++) u[j] = uf[(size_t)i * 40 + j];
        int top = -1, left = -1, ch = -1, cw = -1;
        an_rrc_params(hs[i], ws[i], scale, ratio, u, &top, &left, &ch, &cw);
        const int32_t *e = ex + (size_t)i * 4;
        CHECK_MSG(top == e[0] && left == e[1] && ch == e[2] && cw == e[3],
                  "%s case %d: h %d w %d scale (%.9g, %.9g) ratio (%.9g, %.9g): got top %d left %d ch %d cw %d, "
                  "expected %d %d %d %d (%s %d)",
                  rel, i, hs[i], ws[i], scale[0], scale[1], ratio[0], ratio[1], top, left, ch, cw, e[0], e[1], e[2],
                  e[3], att[i] < 0 ? "central fallback" : "accepted at attempt", att[i]);
        n_rrc++;
    }
    fx_free(f);
}

static void run_manifest(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/augment/MANIFEST", FIXTURE_DIR);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "FIXTURE ERROR: cannot open %s (regenerate with tests/ref/augment_ref.py)\n", path);
        exit(2);
    }
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#') continue;
        char rel[600];
        snprintf(rel, sizeof rel, "augment/%s", line);
        if (strncmp(line, "resample_", 9) == 0) test_resample_fixture(rel);
        else if (strncmp(line, "eval_", 5) == 0) test_eval_fixture(rel);
        else if (strcmp(line, "geometry.anfx") == 0) test_geometry_fixture(rel);
        else if (strcmp(line, "rrc.anfx") == 0) test_rrc_fixture(rel);
        else CHECK_MSG(0, "unknown fixture %s in %s", line, path);
    }
    fclose(fp);
    /* a truncated MANIFEST must not pass quietly */
    CHECK_MSG(n_resample >= 24, "only %d resample fixtures", n_resample);
    CHECK_MSG(n_eval >= 4, "only %d eval fixtures", n_eval);
    CHECK_MSG(n_geometry >= 64, "only %d geometry cases", n_geometry);
    CHECK_MSG(n_rrc >= 200, "only %d rrc cases", n_rrc);
}

/* ---------------------------------------------------------------------------------------------- */
/* reference-free checks */

/* (i) a constant image (a different constant per channel, 0 and 255 included) stays constant. */
static void test_constant(void)
{
    enum { SH = 23, SW = 31, C = 3 };
    static const uint8_t val[C] = {0, 137, 255};
    uint8_t *src = xmalloc(SH * SW * C);
    for (int i = 0; i < SH * SW; i++)
        for (int k = 0; k < C; k++) src[i * C + k] = val[k];
    /* by bx bh bw, oh ow, wy wx wh ww */
    static const int cases[][10] = {
        {0, 0, SH, SW, 3, 4, 0, 0, 3, 4},       /* factor ~7.7 down */
        {0, 0, SH, SW, 1, 1, 0, 0, 1, 1},       /* everything to one pixel */
        {4, 6, 5, 4, 17, 19, 0, 0, 17, 19},     /* up */
        {2, 1, 20, 9, 7, 30, 1, 2, 5, 25},      /* mixed, sub-window */
        {11, 30, 12, 1, 4, 6, 0, 0, 4, 6},      /* 1-pixel-wide box at the right border */
        {22, 0, 1, 1, 5, 5, 2, 2, 3, 3},        /* single pixel, enlarged */
        {0, 0, SH, SW, SH, SW, 0, 0, SH, SW},   /* identity */
        {3, 5, 13, 17, 29, 11, 7, 3, 20, 8},    /* up in h, down in w, sub-window */
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int *q = cases[t];
        char what[64];
        snprintf(what, sizeof what, "constant image, case %zu", t);
        size_t plane = (size_t)q[8] * q[9], n = C * plane;
        float *out = resample(src, SH, SW, C, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], what);
        float *ref = xmalloc(n * sizeof *ref);
        for (int k = 0; k < C; k++)
            for (size_t i = 0; i < plane; i++) ref[k * plane + i] = val[k];
        CHECK_CLOSE(what, out, ref, n, RESAMPLE_RTOL);
        free(ref);
        free(out);
    }
    free(src);
}

/* (ii) out size = box size reproduces the box exactly (weights 1 and 0), also through a window. */
static void test_identity(void)
{
    enum { SH = 29, SW = 41 };
    for (int c = 1; c <= 3; c += 2) {
        uint8_t *src = xmalloc((size_t)SH * SW * c);
        for (int i = 0; i < SH * SW * c; i++) src[i] = (uint8_t)rnd32();
        static const int cases[][8] = {
            /* by bx bh bw, wy wx wh ww */
            {0, 0, SH, SW, 0, 0, SH, SW},
            {3, 5, 20, 30, 0, 0, 20, 30},
            {0, 40, 29, 1, 0, 0, 29, 1},
            {28, 0, 1, 41, 0, 0, 1, 41},
            {1, 2, 25, 37, 4, 6, 17, 25},
        };
        for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
            const int *q = cases[t];
            char what[64];
            snprintf(what, sizeof what, "identity resize, c %d, case %zu", c, t);
            float *out = resample(src, SH, SW, c, q[0], q[1], q[2], q[3], q[2], q[3], q[4], q[5], q[6], q[7], what);
            int bad = 0;
            for (int k = 0; k < c; k++)
                for (int y = 0; y < q[6]; y++)
                    for (int x = 0; x < q[7]; x++) {
                        float want = src[((size_t)(q[0] + q[4] + y) * SW + q[1] + q[5] + x) * c + k];
                        if (out[((size_t)k * q[6] + y) * q[7] + x] != want) bad++;
                    }
            CHECK_MSG(bad == 0, "%s: %d outputs differ from the source pixels", what, bad);
            free(out);
        }
        free(src);
    }
}

/* (iii) over random boxes, sizes and windows (shrinking, enlarging, mixed), outputs stay within
 * their box's [min, max]. */
static void test_bounds_random(void)
{
    enum { SH = 47, SW = 66 };
    for (int c = 1; c <= 3; c += 2) {
        uint8_t *src = xmalloc((size_t)SH * SW * c);
        for (int y = 0; y < SH; y++)
            for (int x = 0; x < SW; x++)
                for (int k = 0; k < c; k++) {
                    /* smooth + noise, with saturated patches so 0 and 255 occur */
                    int v = 40 + 3 * y + 2 * x - 60 * k + (int)(rnd32() % 61) - 30;
                    if ((x / 8 + y / 8) % 5 == 0) v = (x + y) % 2 ? 255 : 0;
                    src[((size_t)y * SW + x) * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
        for (int t = 0; t < 300; t++) {
            int bh = rnd_int(1, SH), bw = rnd_int(1, SW);
            int by = rnd_int(0, SH - bh), bx = rnd_int(0, SW - bw);
            int mode = t % 3; /* 0 shrink, 1 enlarge, 2 anything */
            int oh = mode == 0 ? rnd_int(1, bh) : mode == 1 ? rnd_int(bh, 3 * bh) : rnd_int(1, 2 * SH);
            int ow = mode == 0 ? rnd_int(1, bw) : mode == 1 ? rnd_int(bw, 3 * bw) : rnd_int(1, 2 * SW);
            int wh = rnd_int(1, oh), ww = rnd_int(1, ow);
            int wy = rnd_int(0, oh - wh), wx = rnd_int(0, ow - ww);
            char what[160];
            snprintf(what, sizeof what, "bounds, c %d, box (%d %d %d %d) -> %d x %d, window (%d %d %d %d)", c, by,
                     bx, bh, bw, oh, ow, wy, wx, wh, ww);
            float *out = resample(src, SH, SW, c, by, bx, bh, bw, oh, ow, wy, wx, wh, ww, what);
            check_bounds(out, src, SW, c, by, bx, bh, bw, wh, ww, what);
            free(out);
        }
        free(src);
    }
}

int main(void)
{
    run_manifest();
    printf("fixtures: %d resample, %d eval, %d geometry cases, %d rrc cases\n", n_resample, n_eval, n_geometry,
           n_rrc);
    test_constant();
    test_identity();
    test_bounds_random();
    return TEST_SUMMARY();
}

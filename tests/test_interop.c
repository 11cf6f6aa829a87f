/* test_interop.c - checkpoints and exported subnets between PyTorch and the C code.
 *
 * The fixtures in tests/fixtures/interop/ (tests/ref/README.md) are written by
 * tests/ref/interop_ref.py: supernet.h5 is a random supernet of tiny.yaml given as the official
 * AttentiveNAS state_dict (3-channel stem, BN running statistics, num_batches_tracked) and
 * converted by jobs/torch_interop.py's state_dict_to_checkpoint; logits.anfx holds an image
 * batch (NCHW, 16 x 16), three arch strings and the PyTorch reference's logits of each subnet
 * with BN in inference mode (running statistics, eps 1e-5).
 *
 *   - an_ckpt_load reads the Python-written checkpoint (attribute types, tensor names, counts and
 *     shapes, checksums); its state is what state_dict_to_checkpoint documents (step 0, world size
 *     1, micro-batches 1, seed = train.seed, zero generator state, digest and time, zero momentum,
 *     empty metrics, /config = tiny.yaml's text);
 *   - per arch: an AN_BN_INFER forward of the batch, logits against the reference within
 *     RT_LOGITS x max(max|ref|, 1) (the tolerance of test_golden_calibration.c);
 *   - per arch: an export (an_subnet_slices_make + an_h5_write_subnet, into interop_test/ in the
 *     build folder) against the committed tests/fixtures/interop/subnet_<i>.h5: both read with
 *     an_h5_read_subnet_tensors into fresh supernets, parameters and BN buffers equal bit for bit;
 *     the committed file's arch and config; and an inference from the committed file alone gives
 *     bit for bit the logits of the full supernet. `interop_ref.py --check` loads the same
 *     committed files with torch_interop.load_subnet and compares them with the reference.
 *
 * The committed subnet files are (re)written by running this test with ALPHANET_WRITE_INTEROP=1
 * (after interop_ref.py has written supernet.h5):
 *     ALPHANET_WRITE_INTEROP=1 ctest --test-dir build -R test_interop
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alphanet/io/checkpoint.h"
#include "alphanet/io/config.h"
#include "alphanet/io/h5.h"
#include "alphanet/nn/space.h"
#include "alphanet/nn/subnet.h"
#include "alphanet/nn/supernet.h"
#include "fixture.h"
#include "test.h"

/* inference logits: max|got - ref| / max(max|ref|, 1) (float32 torch reaches ~1.4e-6) */
#define RT_LOGITS 2e-5
#define MAX_ARCHS 8

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) { fprintf(stderr, "FIXTURE ERROR: cannot read %s: %s\n", path, strerror(errno)); exit(2); }
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = fx_xmalloc((size_t)len + 1);
    if (fread(s, 1, (size_t)len, fp) != (size_t)len) { fprintf(stderr, "FIXTURE ERROR: reading %s\n", path); exit(2); }
    s[len] = 0;
    fclose(fp);
    return s;
}

/* The '\n'-terminated strings of uint8 tensor `blob` (in place in one allocation). */
static int split_lines(const fx_file *f, const char *blob, char **out, int max, char **buf)
{
    size_t len;
    const uint8_t *u = fx_u8(f, blob, &len);
    *buf = fx_xmalloc(len + 1);
    memcpy(*buf, u, len);
    (*buf)[len] = 0;
    int k = 0;
    char *s = *buf;
    for (size_t i = 0; i < len; i++)
        if ((*buf)[i] == '\n') {
            (*buf)[i] = 0;
            if (k == max) { fprintf(stderr, "FIXTURE ERROR: more than %d lines in %s\n", max, blob); exit(2); }
            out[k++] = s;
            s = *buf + i + 1;
        }
    if (s != *buf + len) { fprintf(stderr, "FIXTURE ERROR: %s does not end with a newline\n", blob); exit(2); }
    return k;
}

/* max|got - ref| / max(max|ref|, 1); *at = the worst index */
static double logit_err(const float *got, const float *ref, size_t cnt, size_t *at)
{
    double scale = 1.0, worst = 0;
    *at = 0;
    for (size_t k = 0; k < cnt; k++) scale = fmax(scale, fabs((double)ref[k]));
    for (size_t k = 0; k < cnt; k++) {
        double d = fabs((double)got[k] - ref[k]);
        if (isnan(d)) d = INFINITY;
        if (d > worst) worst = d, *at = k;
    }
    return worst / scale;
}

/* Reads subnet file `path` with the slices of `sl` into a fresh supernet of space `sp`. */
static int read_subnet(const char *path, const an_space *sp, const an_subnet_slices *sl, an_supernet *out)
{
    if (an_supernet_create(out, sp) != AN_OK) return -1;
    an_status st = an_h5_read_subnet_tensors(path, out, sl);
    CHECK_MSG(st == AN_OK, "%s", an_error_message());
    return st == AN_OK ? 0 : -1;
}

int main(void)
{
    const char *ckpt = FIXTURE_DIR "/interop/supernet.h5";
    const char *regen = getenv("ALPHANET_WRITE_INTEROP");
    const int write_fixtures = regen && *regen && strcmp(regen, "0") != 0;
    fx_file *f = fx_load("interop/logits.anfx");

    /* the checkpoint written by torch_interop.state_dict_to_checkpoint, through the C reader */
    an_config cfg;
    an_supernet net;
    an_ckpt_state state;
    an_status st = an_ckpt_load(ckpt, 0, NULL, &cfg, &net, &state);
    CHECK_MSG(st == AN_OK, "an_ckpt_load: %s", an_error_message());
    if (st) {
        fx_free(f);
        return TEST_SUMMARY();
    }
    char *yaml = read_file(FIXTURE_DIR "/supernet/tiny.yaml");
    CHECK(state.step == 0 && state.steps_per_epoch == 1 && state.schedule_steps == 0);
    CHECK(state.world_size == 1 && state.micro_batches == 1);
    CHECK_MSG(state.seed == cfg.train.seed && state.seed == 3, "seed %ld, config %ld", state.seed, cfg.train.seed);
    CHECK(!state.coord_rng[0] && !state.coord_rng[1] && !state.coord_rng[2] && !state.coord_rng[3]);
    CHECK(state.data_digest[0] == 0 && state.data_digest[1] == 0 && state.train_seconds == 0);
    CHECK_MSG(!strcmp(state.config_text, yaml), "/config is not tiny.yaml's text");
    CHECK(state.metrics_text && state.metrics_text[0] == 0);
    CHECK_MSG(!strcmp(state.software, "alphanet torch_interop.py") && !strcmp(state.created, "2000-01-01T00:00:00Z"),
              "software '%s', created '%s'", state.software, state.created);
    {
        an_supernet again;
        CHECK(an_supernet_create(&again, &cfg.space) == AN_OK);
        float *mom = an_alloc(net.total * sizeof(float) + 64);
        for (size_t k = 0; k < net.total; k++) mom[k] = NAN;
        CHECK_MSG(an_h5_read_checkpoint_tensors(ckpt, &again, mom) == AN_OK, "%s", an_error_message());
        int zero = 1;
        for (int i = 0; i < net.nparams; i++)
            for (size_t k = 0; k < net.params[i].count; k++) zero &= mom[net.params[i].offset + k] == 0.0f;
        CHECK_MSG(zero, "the momentum is not zero");
        CHECK(memcmp(again.w, net.w, net.total * sizeof(float)) == 0);
        an_free(mom);
        an_supernet_free(&again);
    }
    /* the BN running variances must be positive (inference divides by them) */
    {
        int pos = 1;
        for (int i = 0; i < net.nbn; i++)
            for (int c = 0; c < net.bn[i].channels; c++) pos &= net.bn_var[net.bn[i].offset + c] > 0;
        CHECK(pos);
    }

    /* the batch and the archs */
    const fx_tensor *tx = fx_get(f, "x");
    if (tx->dtype != 0 || tx->ndim != 4) { fprintf(stderr, "FIXTURE ERROR: x is not f32 4-D\n"); exit(2); }
    const int n = tx->dims[0], C = tx->dims[1], H = tx->dims[2], W = tx->dims[3], K = cfg.space.classes;
    CHECK(C == cfg.space.in_channels && H == W && n == fx_int(f, "n"));
    float *x = fx_nchw_to_chwn(tx->data, n, C, H, W);
    char *archs[MAX_ARCHS], *abuf;
    const int na = split_lines(f, "archs", archs, MAX_ARCHS, &abuf);
    CHECK(na == fx_int(f, "narchs") && na >= 1);

    if (mkdir("interop_test", 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "FIXTURE ERROR: cannot create interop_test: %s\n", strerror(errno));
        exit(2);
    }
    an_net_ws *ws;
    CHECK(an_net_ws_create(&ws) == AN_OK);
    float *z = fx_xmalloc(sizeof(float) * (size_t)n * K), *z2 = fx_xmalloc(sizeof(float) * (size_t)n * K);
    const an_fwd_opts inf = {.bn = AN_BN_INFER};
    double worst = 0;
    for (int i = 0; i < na; i++) {
        an_arch arch;
        char text[AN_ARCH_TEXT_MAX], tn[32];
        st = an_arch_parse(&cfg.space, archs[i], &arch);
        CHECK_MSG(st == AN_OK, "arch %d '%s': %s", i, archs[i], an_error_message());
        if (st) continue;
        an_arch_format(&arch, text, sizeof text);
        CHECK_MSG(!strcmp(text, archs[i]), "arch %d: '%s' formats as '%s'", i, archs[i], text);

        /* inference logits of the checkpoint's supernet against the reference */
        st = an_subnet_forward(ws, &net, &arch, x, H, W, n, &inf, z);
        CHECK_MSG(st == AN_OK, "forward of arch %d: %s", i, an_error_message());
        size_t cnt, at;
        const float *ref = fx_f32(f, (snprintf(tn, sizeof tn, "logits/%d", i), tn), &cnt);
        if (cnt != (size_t)n * K) { fprintf(stderr, "FIXTURE ERROR: %s has %zu entries\n", tn, cnt); exit(2); }
        const double e = logit_err(z, ref, cnt, &at);
        worst = fmax(worst, e);
        printf("arch %d: %-50s logits vs reference: max rel err %.3g (tolerance %.1g)\n", i, archs[i], e, RT_LOGITS);
        CHECK_MSG(e <= RT_LOGITS, "arch %d logits[%zu][%zu] = %.9g, ref %.9g: rel err %.3g > %.3g", i, at / K, at % K,
                  (double)z[at], (double)ref[at], e, RT_LOGITS);

        /* the export against the committed file */
        an_subnet_slices sl;
        CHECK(an_subnet_slices_make(&net, &arch, &sl) == AN_OK);
        char mine[64], committed[sizeof FIXTURE_DIR + 64];
        snprintf(mine, sizeof mine, "interop_test/subnet_%d.h5", i);
        snprintf(committed, sizeof committed, "%s/interop/subnet_%d.h5", FIXTURE_DIR, i);
        const double mf = an_arch_flops(&cfg.space, &arch) / 1e6, mp = an_arch_params(&cfg.space, &arch) / 1e6;
        for (int w = 0; w < 1 + write_fixtures; w++) {
            st = an_h5_write_subnet(w ? committed : mine, &net, &sl, text, state.config_text, mf, mp, "supernet.h5",
                                    state.step);
            CHECK_MSG(st == AN_OK, "%s", an_error_message());
            if (w) printf("wrote %s\n", committed);
        }
        char *ctext = NULL, carch[AN_ARCH_TEXT_MAX] = "";
        st = an_h5_read_subnet_header(committed, &ctext, carch, sizeof carch);
        if (st) {
            fprintf(stderr, "FIXTURE ERROR: %s: %s (write it with ALPHANET_WRITE_INTEROP=1, see the top of %s)\n",
                    committed, an_error_message(), __FILE__);
            an_subnet_slices_free(&sl);
            continue;
        }
        CHECK_MSG(!strcmp(carch, text), "%s: arch '%s', expected '%s'", committed, carch, text);
        CHECK_MSG(ctext && !strcmp(ctext, yaml), "%s: /config is not tiny.yaml's text", committed);
        free(ctext);
        an_supernet a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        if (!read_subnet(mine, &cfg.space, &sl, &a) && !read_subnet(committed, &cfg.space, &sl, &b)) {
            long dw = 0, dm = 0, dv = 0;
            for (size_t k = 0; k < a.total; k++) dw += memcmp(&a.w[k], &b.w[k], sizeof(float)) != 0;
            for (size_t k = 0; k < a.bn_total; k++) {
                dm += memcmp(&a.bn_mean[k], &b.bn_mean[k], sizeof(float)) != 0;
                dv += memcmp(&a.bn_var[k], &b.bn_var[k], sizeof(float)) != 0;
            }
            printf("        export = %s: %d parameter tensors, %d BNs; %ld / %ld / %ld floats differ "
                   "(w / mean / var)\n", committed, sl.nparams, sl.nbn, dw, dm, dv);
            CHECK_MSG(dw == 0 && dm == 0 && dv == 0,
                      "arch %d: the export differs from %s in %ld parameters, %ld running means, %ld running variances",
                      i, committed, dw, dm, dv);
            /* the committed file alone gives the supernet's logits */
            st = an_subnet_forward(ws, &b, &arch, x, H, W, n, &inf, z2);
            CHECK_MSG(st == AN_OK, "%s", an_error_message());
            CHECK_MSG(memcmp(z, z2, sizeof(float) * (size_t)n * K) == 0, "arch %d: the logits of %s differ", i,
                      committed);
        }
        an_supernet_free(&a);
        an_supernet_free(&b);
        an_subnet_slices_free(&sl);
    }
    printf("worst logits rel err %.3g over %d archs\n", worst, na);
    free(z);
    free(z2);
    free(abuf);
    free(x);
    free(yaml);
    an_net_ws_free(ws);
    an_supernet_free(&net);
    an_ckpt_state_free(&state);
    fx_free(f);
    return TEST_SUMMARY();
}

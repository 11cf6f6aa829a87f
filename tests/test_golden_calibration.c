/* test_golden_calibration.c - BN calibration and calibrated inference against the PyTorch reference.
 *
 * The fixture tests/fixtures/supernet/calibration.anfx is written by tests/ref/supernet_ref.py
 * (gen_calibration; contents in tests/ref/README.md): tiny.yaml's supernet with random parameters
 * (BN gammas and betas drawn away from 1 / 0), three calibration batches of different sizes and
 * distributions, an evaluation batch, and per subnet (a middle one, then the largest) the running
 * mean and running variance of every active BN channel after calibration (docs/algorithm.md section 5:
 * equal-weight average over batches of the batch mean and the UNBIASED batch variance) and the
 * logits of the evaluation batch in inference mode (running statistics, eps 1e-5).
 *
 * Per subnet, in the fixture's order and on one supernet (as an evaluation would run them):
 *   - an_calib_begin, one AN_BN_CALIB forward per batch, then the accumulator counts of
 *     an_calib_sums: every BN the subnet uses saw every batch with its active width, the others
 *     nothing;
 *   - an_calib_finish: each active channel's running mean and variance against the reference;
 *     channels and BN layers the subnet does not use are left bit for bit as they were (before
 *     the first subnet they hold NaN, so an inference that read one would produce NaN logits);
 *   - an AN_BN_INFER forward of the evaluation batch: logits.
 *
 * Tolerances, set a few times above what float32 torch reaches on the same fixture (the script's
 * --f32 mode): running means within 7.3e-7 x max(|mean|, std) per channel, running variances
 * within 2.5e-6 relative per channel, inference logits within 1.4e-6 x max(max|logit|, 1).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/config.h"
#include "alphanet/nn/space.h"
#include "alphanet/nn/subnet.h"
#include "alphanet/nn/supernet.h"
#include "fixture.h"
#include "test.h"

/* running mean: |got - ref| / max(|ref|, sqrt(ref var), STAT_FLOOR) per channel (a mean error
 * matters relative to the channel's spread: BN subtracts it before dividing by the std) */
#define RT_MEAN 1e-4
/* running variance: |got - ref| / max(ref, STAT_FLOOR) per channel (variances here are >= 2e-3) */
#define RT_VAR 1e-4
/* absolute floor of both scales: only a degenerate (near-constant) channel would reach it */
#define STAT_FLOOR 1e-6
/* inference logits: max|got - ref| / max(max|ref|, 1) */
#define RT_LOGITS 2e-5

/* ------------------------------------------------------------------------------------------- */
/* bookkeeping: worst error per check, printed as a table at the end */

typedef struct {
    char name[40], where[96];
    double worst, tol;
    int count;
} stat_row;
static stat_row g_rows[32];
static int g_nrows;

static void record(const char *name, const char *where, double err, double tol)
{
    stat_row *r = NULL;
    for (int i = 0; i < g_nrows && !r; i++)
        if (strcmp(g_rows[i].name, name) == 0) r = &g_rows[i];
    if (!r) {
        if (g_nrows == (int)(sizeof g_rows / sizeof g_rows[0])) return;
        r = &g_rows[g_nrows++];
        snprintf(r->name, sizeof r->name, "%s", name);
        r->worst = -1.0;
        r->tol = tol;
        r->count = 0;
    }
    if (isnan(err)) err = INFINITY;
    if (err > r->worst) {
        r->worst = err;
        snprintf(r->where, sizeof r->where, "%s", where);
    }
    r->count++;
}

/* ------------------------------------------------------------------------------------------- */
/* fixture helpers (the conventions of test_golden_supernet.c; the shared ones in support/fixture.h) */

/* Loads param/<j> into net->w by official name, checking index and shape. Returns failures. */
static int load_params(an_supernet *net, const fx_file *f, char **names, int nnames)
{
    int bad = 0;
    CHECK_MSG(net->nparams == nnames, "the C supernet has %d parameter tensors, the fixture %d", net->nparams, nnames);
    for (int j = 0; j < nnames; j++) {
        char tn[32];
        snprintf(tn, sizeof tn, "param/%d", j);
        const fx_tensor *t = fx_get(f, tn);
        const int i = an_supernet_find(net, names[j]);
        int ok = i == j && t->dtype == 0;
        if (ok) {
            const an_param *p = &net->params[i];
            ok = t->ndim == p->ndim && t->count == p->count;
            for (int d = 0; ok && d < t->ndim; d++) ok = t->dims[d] == p->shape[d];
            if (ok) memcpy(net->w + p->offset, t->data, p->count * sizeof(float));
        }
        CHECK_MSG(ok, "parameter %d '%s': C index %d, or dtype / shape differ", j, names[j], i);
        bad += !ok;
    }
    return bad;
}

/* The BN buffer table against the fixture's BN modules: same names in the same order, each as
 * wide as its gamma. Returns failures. */
static int check_bn_table(const an_supernet *net, char **bn_names, int nbn)
{
    int bad = 0;
    CHECK_MSG(net->nbn == nbn, "the C supernet has %d BN layers, the fixture %d", net->nbn, nbn);
    if (net->nbn != nbn) return 1;
    for (int i = 0; i < nbn; i++) {
        char gname[AN_NAME_MAX + 16];
        snprintf(gname, sizeof gname, "%s.weight", bn_names[i]);
        const int g = an_supernet_find(net, gname);
        const int ok = strcmp(net->bn[i].name, bn_names[i]) == 0 && g >= 0 &&
                       (size_t)net->bn[i].channels == net->params[g].count &&
                       net->bn[i].offset + (size_t)net->bn[i].channels <= net->bn_total;
        CHECK_MSG(ok, "BN %d: C '%s' (%d channels), fixture '%s'", i, net->bn[i].name, net->bn[i].channels, bn_names[i]);
        bad += !ok;
    }
    return bad;
}

static void arch_of(const an_space *sp, const int32_t *r, an_arch *a)
{
    memset(a, 0, sizeof *a);
    a->resolution = r[0];
    a->stem_width = r[1];
    a->nstages = sp->nstages;
    for (int s = 0; s < sp->nstages; s++) {
        a->stage[s].width = r[2 + 4 * s];
        a->stage[s].depth = r[3 + 4 * s];
        a->stage[s].kernel = r[4 + 4 * s];
        a->stage[s].expand = r[5 + 4 * s];
    }
    a->mix_width = r[2 + 4 * sp->nstages];
}

/* ------------------------------------------------------------------------------------------- */
/* one subnet: calibrate, compare the statistics, infer, compare the logits */

typedef struct {
    int nb;
    float *x[8];
    int n[8], h, w;
    float *xe;
    int ne;
} batches;

static void run_arch(an_supernet *net, an_net_ws *ws, const fx_file *f, int ai, const an_arch *a, const batches *B,
                     char **bn_names)
{
    const int nbn = net->nbn, K = net->space.classes;
    char text[AN_ARCH_TEXT_MAX], tn[48], where[160];
    an_arch_format(a, text, sizeof text);
    printf("== arch %d: %s\n", ai, text);
    size_t cnt;
    const int32_t *active = fx_i32(f, (snprintf(tn, sizeof tn, "bn_active/%d", ai), tn), &cnt);
    if (cnt != (size_t)nbn) { fprintf(stderr, "FIXTURE ERROR: %s has %zu entries\n", tn, cnt); exit(2); }

    /* the statistics before: what calibration must leave alone */
    float *mean0 = fx_xmalloc(sizeof(float) * net->bn_total), *var0 = fx_xmalloc(sizeof(float) * net->bn_total);
    memcpy(mean0, net->bn_mean, sizeof(float) * net->bn_total);
    memcpy(var0, net->bn_var, sizeof(float) * net->bn_total);

    int nmax = B->ne;
    for (int b = 0; b < B->nb; b++) nmax = B->n[b] > nmax ? B->n[b] : nmax;
    float *logits = fx_xmalloc(sizeof(float) * (size_t)nmax * K);
    CHECK_MSG(an_calib_begin(ws, net) == AN_OK, "%s", an_error_message());
    an_fwd_opts cal = {.bn = AN_BN_CALIB}, inf = {.bn = AN_BN_INFER};
    for (int b = 0; b < B->nb; b++) {
        an_status e = an_subnet_forward(ws, net, a, B->x[b], B->h, B->w, B->n[b], &cal, logits);
        CHECK_MSG(e == AN_OK, "calibration forward of batch %d: %s", b, an_error_message());
    }
    /* the accumulators: batches per BN, then active channels summed over batches */
    double *sm, *sv, *count;
    an_calib_sums(ws, net, &sm, &sv, &count);
    for (int i = 0; i < nbn; i++) {
        const double want_b = active[i] ? B->nb : 0, want_c = (double)active[i] * B->nb;
        const int ok = count[i] == want_b && count[nbn + i] == want_c;
        CHECK_MSG(ok, "arch %d BN %s: the calibration counted %g batches / %g channels, expected %g / %g", ai,
                  bn_names[i], count[i], count[nbn + i], want_b, want_c);
    }
    an_calib_finish(ws, net);

    for (int i = 0; i < nbn; i++) {
        const an_bn_buf *bb = &net->bn[i];
        const float *gm = net->bn_mean + bb->offset, *gv = net->bn_var + bb->offset;
        const int c = active[i];
        if (c < 0 || c > bb->channels) { fprintf(stderr, "FIXTURE ERROR: bn_active/%d[%d] = %d\n", ai, i, c); exit(2); }
        if (c > 0) {
            const float *rm = fx_f32(f, (snprintf(tn, sizeof tn, "mean/%d/%d", ai, i), tn), &cnt);
            if (cnt != (size_t)c) { fprintf(stderr, "FIXTURE ERROR: %s has %zu channels, not %d\n", tn, cnt, c); exit(2); }
            const float *rv = fx_f32(f, (snprintf(tn, sizeof tn, "var/%d/%d", ai, i), tn), &cnt);
            if (cnt != (size_t)c) { fprintf(stderr, "FIXTURE ERROR: %s has %zu channels, not %d\n", tn, cnt, c); exit(2); }
            double em = 0, ev = 0;
            int wm = 0, wv = 0;
            for (int ch = 0; ch < c; ch++) {
                const double sd = sqrt(fmax((double)rv[ch], 0.0));
                const double sm_ = fmax(fmax(fabs((double)rm[ch]), sd), STAT_FLOOR);
                const double sv_ = fmax((double)rv[ch], STAT_FLOOR);
                double e1 = fabs((double)gm[ch] - rm[ch]) / sm_, e2 = fabs((double)gv[ch] - rv[ch]) / sv_;
                if (isnan(e1)) e1 = INFINITY;
                if (isnan(e2)) e2 = INFINITY;
                if (e1 > em) em = e1, wm = ch;
                if (e2 > ev) ev = e2, wv = ch;
            }
            snprintf(where, sizeof where, "a%d %s[%d]", ai, bn_names[i], wm);
            record("running_mean", where, em, RT_MEAN);
            CHECK_MSG(em <= RT_MEAN, "arch %d %s.running_mean[%d] = %.9g, ref %.9g (ref var %.9g): rel err %.3g > %.3g",
                      ai, bn_names[i], wm, (double)gm[wm], (double)rm[wm], (double)rv[wm], em, RT_MEAN);
            snprintf(where, sizeof where, "a%d %s[%d]", ai, bn_names[i], wv);
            record("running_var", where, ev, RT_VAR);
            CHECK_MSG(ev <= RT_VAR, "arch %d %s.running_var[%d] = %.9g, ref %.9g: rel err %.3g > %.3g", ai, bn_names[i],
                      wv, (double)gv[wv], (double)rv[wv], ev, RT_VAR);
        }
        /* the channels beyond the active width, and whole unused layers: untouched */
        const size_t rest = (size_t)(bb->channels - c) * sizeof(float);
        const int same = memcmp(gm + c, mean0 + bb->offset + c, rest) == 0 && memcmp(gv + c, var0 + bb->offset + c, rest) == 0;
        CHECK_MSG(same, "arch %d %s: calibration changed channels %d..%d, which the subnet does not use", ai,
                  bn_names[i], c, bb->channels - 1);
    }

    /* calibrated inference on the evaluation batch */
    an_status e = an_subnet_forward(ws, net, a, B->xe, B->h, B->w, B->ne, &inf, logits);
    CHECK_MSG(e == AN_OK, "inference forward: %s", an_error_message());
    const float *ref = fx_f32(f, (snprintf(tn, sizeof tn, "logits/%d", ai), tn), &cnt);
    if (cnt != (size_t)B->ne * K) { fprintf(stderr, "FIXTURE ERROR: %s has %zu entries\n", tn, cnt); exit(2); }
    double scale = 1.0, worst = 0;
    size_t wi = 0;
    for (size_t k = 0; k < cnt; k++) scale = fmax(scale, fabs((double)ref[k]));
    for (size_t k = 0; k < cnt; k++) {
        double d = fabs((double)logits[k] - ref[k]);
        if (isnan(d)) d = INFINITY;
        if (d > worst) worst = d, wi = k;
    }
    snprintf(where, sizeof where, "a%d logits[%zu][%zu]", ai, wi / K, wi % K);
    record("inference logits", where, worst / scale, RT_LOGITS);
    CHECK_MSG(worst / scale <= RT_LOGITS, "arch %d inference logits[%zu][%zu] = %.9g, ref %.9g: rel err %.3g > %.3g", ai,
              wi / K, wi % K, (double)logits[wi], (double)ref[wi], worst / scale, RT_LOGITS);
    free(logits);
    free(mean0);
    free(var0);
}

int main(void)
{
    fx_file *f = fx_load("supernet/calibration.anfx");
    an_config cfg;
    an_status st = an_config_load(&cfg, FIXTURE_DIR "/supernet/tiny.yaml", 0, NULL);
    CHECK_MSG(st == AN_OK, "tiny.yaml: %s", an_error_message());
    if (st) return TEST_SUMMARY();
    const an_space *sp = &cfg.space;
    CHECK(fx_int(f, "arch_len") == 3 + 4 * sp->nstages);

    an_supernet net;
    CHECK_MSG(an_supernet_create(&net, sp) == AN_OK, "%s", an_error_message());
    char **names, **bn_names;
    const int nnames = fx_names(f, "names", &names), nbn = fx_names(f, "bn_names", &bn_names);
    CHECK(nnames == fx_int(f, "nparams") && nbn == fx_int(f, "nbn"));
    if (load_params(&net, f, names, nnames) || check_bn_table(&net, bn_names, nbn)) {
        fprintf(stderr, "calibration: parameter or BN table mismatch, skipping the numeric checks\n");
        goto done;
    }

    batches B;
    memset(&B, 0, sizeof B);
    B.nb = fx_int(f, "nbatches");
    if (B.nb < 1 || B.nb > 8) { fprintf(stderr, "FIXTURE ERROR: nbatches = %d\n", B.nb); exit(2); }
    for (int b = 0; b < B.nb; b++) {
        char tn[32];
        int c, h, w;
        snprintf(tn, sizeof tn, "x/%d", b);
        B.x[b] = fx_images(f, tn, &B.n[b], &c, &h, &w);
        CHECK(c == sp->in_channels && (b == 0 || (h == B.h && w == B.w)));
        B.h = h, B.w = w;
    }
    {
        int c, h, w;
        B.xe = fx_images(f, "x_eval", &B.ne, &c, &h, &w);
        CHECK(c == sp->in_channels && h == B.h && w == B.w && B.ne == fx_int(f, "n_eval"));
    }
    size_t cnt;
    const int32_t *av = fx_i32(f, "archs", &cnt);
    const int na = fx_int(f, "narchs");
    if (cnt != (size_t)na * fx_int(f, "arch_len")) { fprintf(stderr, "FIXTURE ERROR: archs\n"); exit(2); }

    /* NaN everywhere: a calibrated inference that read a statistic the calibration did not write
     * would give NaN logits */
    for (size_t k = 0; k < net.bn_total; k++) net.bn_mean[k] = net.bn_var[k] = NAN;
    an_net_ws *ws;
    CHECK(an_net_ws_create(&ws) == AN_OK);
    for (int a = 0; a < na; a++) {
        an_arch arch;
        arch_of(sp, av + (size_t)a * fx_int(f, "arch_len"), &arch);
        CHECK_MSG(an_arch_validate(sp, &arch) == AN_OK, "archs[%d]: %s", a, an_error_message());
        run_arch(&net, ws, f, a, &arch, &B, bn_names);
    }
    an_net_ws_free(ws);
    for (int b = 0; b < B.nb; b++) free(B.x[b]);
    free(B.xe);

    printf("\n%-18s %6s %11s %9s  %s\n", "check", "count", "max rel err", "tol", "worst at");
    for (int i = 0; i < g_nrows; i++)
        printf("%-18s %6d %11.3g %9.2g  %s%s\n", g_rows[i].name, g_rows[i].count, g_rows[i].worst, g_rows[i].tol,
               g_rows[i].where, g_rows[i].worst <= g_rows[i].tol ? "" : "  FAIL");
done:
    fx_names_free(names);
    fx_names_free(bn_names);
    an_supernet_free(&net);
    fx_free(f);
    return TEST_SUMMARY();
}

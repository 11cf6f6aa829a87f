/* test_golden_supernet.c - the C supernet and sandwich step against the PyTorch reference.
 *
 * The fixtures in tests/fixtures/supernet/ are written by tests/ref/supernet_ref.py (a functional
 * re-implementation of the official AttentiveNAS supernet and AlphaNet sandwich step, checked
 * against the official code; conventions in tests/ref/README.md). Everything below is compared
 * against float64 references rounded to float32.
 *
 * Per sandwich fixture (alpha, kl, none; the same x, labels, archs and initial parameters):
 *   - the config: tiny.yaml with --set overrides built from the fixture's hyperparameter scalars;
 *     a scalar the config cannot express, or a value that does not load back, fails;
 *   - the parameter table: every official name is found by an_supernet_find at the same index,
 *     with the same shape (this checks naming, order and layout), and the weight-decay flag
 *     follows the reference's rule (no ".bn" and no ".bias" in the name);
 *   - archs: an_arch_format + an_arch_parse round-trip, subnet 0 = largest, last = smallest;
 *   - the dropout / drop-connect masks the hash gives (diagnostic for the masks below);
 *   - forward of each subnet in AN_BN_TRAIN mode with the trainer's options: logits, and subnet
 *     0's stem activation;
 *   - dlogits and losses of the loss functions applied to the C logits (C teacher);
 *   - the full step (an_step_local): per-subnet losses, alpha statistics, the summed gradient of
 *     every parameter (alpha only: kl/none store no gradients), then an_step_apply: parameters.
 * The curve fixture: 20 steps (momentum carried), per-step losses and the final parameters.
 *
 * Tolerances are relative to the largest magnitude of the reference array (with a floor, see
 * each), set a few times above what the same computation in float32 torch reaches (the
 * script's --f32 mode, quoted at each #define): the C code sums in other orders.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/config.h"
#include "alphanet/kernels/distill.h"
#include "alphanet/kernels/softmax.h"
#include "alphanet/nn/space.h"
#include "alphanet/nn/subnet.h"
#include "alphanet/nn/supernet.h"
#include "alphanet/rng.h"
#include "alphanet/train/step.h"
#include "fixture.h"
#include "test.h"

/* float32 torch (--f32): logits within 2.6e-6 absolute of logits of a few units (max |logit|
 * ~3-10), i.e. ~1e-6 relative. */
#define RT_LOGITS 2e-5
/* the stem is one 3x3 conv + BN + swish: a few float roundings */
#define RT_STEM 1e-5
/* losses within 5e-7 (float32 torch); relative to max(|loss|, 1) */
#define RT_LOSS 1e-5
/* dlogits within 1.3e-7 of entries up to ~0.1 (1/n): ~1e-6 relative */
#define RT_DLOGITS 2e-5
/* the alpha statistics are means over 8 samples of quantities of order 0.1-3 */
#define RT_STAT 1e-5
/* gradients: float32 torch 7e-6 x max(max|grad|, 0.01) per tensor */
#define RT_GRAD 5e-5
/* parameters after one step: float32 torch 2.3e-6 x max(max|param|, 0.01) per tensor */
#define RT_AFTER 2e-5
/* curve: float32 torch stays within 1e-5 of the losses (max(|loss|, 1) ~ 2) and 1.1e-4 x max|param|
 * of the final parameters, over 20 steps whose roundings compound through the momentum */
#define RT_CURVE_LOSS 1e-4
#define RT_FINAL 5e-4
/* floor of the per-tensor gradient scale, as a fraction of the largest |gradient| in the whole
 * network: see grad_floor() */
#define GRAD_FLOOR_FRAC 1e-2
/* floor of the per-tensor parameter scale (the README's 0.01) */
#define PARAM_FLOOR 1e-2

/* ------------------------------------------------------------------------------------------- */
/* bookkeeping: worst relative error per check, printed as a table at the end */

typedef struct {
    char name[48];
    double worst, tol;
    int count;
} stat_row;
static stat_row g_rows[96];
static int g_nrows;

static void record(const char *name, double err, double tol)
{
    for (int i = 0; i < g_nrows; i++)
        if (strcmp(g_rows[i].name, name) == 0) {
            if (!(err <= g_rows[i].worst)) g_rows[i].worst = err;
            g_rows[i].count++;
            return;
        }
    if (g_nrows < (int)(sizeof g_rows / sizeof g_rows[0])) {
        stat_row *r = &g_rows[g_nrows++];
        snprintf(r->name, sizeof r->name, "%s", name);
        r->worst = err;
        r->tol = tol;
        r->count = 1;
    }
}

/* max_i |a_i - b_i| / max(max_i |b_i|, floor); NaN -> inf. *wi = worst index. */
static double rel_err(const float *a, const float *b, size_t n, double floor, size_t *wi)
{
    double scale = floor > 0 ? floor : 1e-30, worst = 0.0;
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)b[i]) > scale) scale = fabs((double)b[i]);
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= worst)) { worst = isnan(d) ? INFINITY : d; w = i; }
    }
    if (wi) *wi = w;
    return worst / scale;
}

/* Array check recorded under `check`; `label` says which array. Returns the error. */
static double cmp_arr(const char *check, const char *label, const float *got, const float *ref, size_t n, double floor,
                      double rtol)
{
    size_t wi;
    double e = rel_err(got, ref, n, floor, &wi);
    record(check, e, rtol);
    CHECK_MSG(e <= rtol, "%s: rel err %.3g > %.3g, worst [%zu] %.9g vs ref %.9g", label, e, rtol, wi,
              n ? (double)got[wi] : 0.0, n ? (double)ref[wi] : 0.0);
    return e;
}

/* Scalar check: |a - b| / max(|b|, floor). */
static void cmp_scalar(const char *check, const char *label, double got, double ref, double floor, double rtol)
{
    double s = fabs(ref) > floor ? fabs(ref) : floor, e = fabs(got - ref) / s;
    if (isnan(e)) e = INFINITY;
    record(check, e, rtol);
    CHECK_MSG(e <= rtol, "%s: %.9g vs ref %.9g (rel %.3g > %.3g)", label, got, ref, e, rtol);
}

/* ------------------------------------------------------------------------------------------- */
/* fixture helpers */

static const fx_tensor *need(const fx_file *f, const char *name, int dtype)
{
    const fx_tensor *t = fx_get(f, name);
    if (t->dtype != dtype) {
        fprintf(stderr, "FIXTURE ERROR: %s in %s has dtype %d, expected %d\n", name, f->path, t->dtype, dtype);
        exit(2);
    }
    return t;
}

/* Block group of a parameter name, for localising errors: "stem", "blocks.N", "head". */
static void group_of(const char *name, char *g, size_t cap)
{
    if (strncmp(name, "first_conv.", 11) == 0) snprintf(g, cap, "stem");
    else if (strncmp(name, "blocks.", 7) == 0) {
        int b = atoi(name + 7);
        snprintf(g, cap, "blocks.%d", b);
    } else snprintf(g, cap, "head");
}

/* ------------------------------------------------------------------------------------------- */
/* config from the fixture's hyperparameters */

/* Shortest decimal that reads back as the same float. */
static void fmt_float(char *buf, size_t cap, float v)
{
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, cap, "%.*g", p, (double)v);
        if ((float)strtod(buf, NULL) == v) return;
    }
}

/* Scalars that describe the case, not a hyperparameter of train. */
static int is_case_scalar(const char *name)
{
    static const char *const meta[] = {"nsub", "arch_len", "nparams", "n", "step", "lr", "steps",
                                       "nbatches", "lr_warmup", NULL};
    for (int i = 0; meta[i]; i++)
        if (strcmp(name, meta[i]) == 0) return 1;
    return 0;
}

/* Loads tiny.yaml with overrides that set every hyperparameter of the fixture; checks each
 * value back in cfg->train. Returns 0 on success. */
static int config_for(const fx_file *f, an_config *cfg)
{
    static const char *const float_keys[] = {"momentum", "weight_decay", "label_smoothing", "grad_clip", "dropout",
                                             "drop_connect", "alpha_min", "alpha_max", "iw_clip", NULL};
    static const char *const int_keys[] = {"seed", "nesterov", "num_random", "sandwich", "distill", NULL};
    char store[40][128];
    char *sets[40];
    int nset = 0, bad = 0;
    for (int i = 0; i < f->ntensors; i++) {
        const fx_tensor *t = &f->t[i];
        if (strchr(t->name, '/') || t->count != 1 || t->ndim != 1 || is_case_scalar(t->name)) continue;
        if (t->dtype == 2) continue;
        char val[48] = "";
        const char *key = NULL;
        for (int k = 0; float_keys[k] && !key; k++)
            if (strcmp(t->name, float_keys[k]) == 0) key = float_keys[k];
        for (int k = 0; int_keys[k] && !key; k++)
            if (strcmp(t->name, int_keys[k]) == 0) key = int_keys[k];
        if (strcmp(t->name, "lr_base") == 0) key = "lr";
        if (!key) {
            CHECK_MSG(0, "%s: hyperparameter '%s' has no train.* key in the config", f->path, t->name);
            bad++;
            continue;
        }
        if (t->dtype == 0) fmt_float(val, sizeof val, ((const float *)t->data)[0]);
        else {
            int v = ((const int32_t *)t->data)[0];
            if (strcmp(key, "distill") == 0) {
                if (v < 0 || v > 2) { CHECK_MSG(0, "%s: distill = %d is not 0|1|2", f->path, v); bad++; continue; }
                snprintf(val, sizeof val, "%s", an_distill_name((an_distill_kind)v));
            } else if (strcmp(key, "nesterov") == 0 || strcmp(key, "sandwich") == 0)
                snprintf(val, sizeof val, "%s", v ? "true" : "false");
            else snprintf(val, sizeof val, "%d", v);
        }
        snprintf(store[nset], sizeof store[nset], "train.%s=%s", key, val);
        sets[nset] = store[nset];
        nset++;
    }
    snprintf(store[nset], sizeof store[nset], "train.batch=%d", fx_int(f, "n"));
    sets[nset] = store[nset];
    nset++;
    an_status st = an_config_load(cfg, FIXTURE_DIR "/supernet/tiny.yaml", nset, sets);
    CHECK_MSG(st == AN_OK, "%s: the config cannot express the fixture's hyperparameters: %s", f->path,
              an_error_message());
    if (st != AN_OK) return 1;
    /* read back */
    const an_train_cfg *tc = &cfg->train;
#define BACKF(field) CHECK_MSG((float)tc->field == fx_float(f, #field), "%s: train." #field " = %.9g, fixture %.9g", \
                               f->path, (double)tc->field, (double)fx_float(f, #field))
#define BACKI(field) CHECK_MSG((long)tc->field == (long)fx_int(f, #field), "%s: train." #field " = %ld, fixture %d", \
                               f->path, (long)tc->field, fx_int(f, #field))
    BACKF(momentum); BACKF(weight_decay); BACKF(label_smoothing); BACKF(grad_clip); BACKF(dropout);
    BACKF(drop_connect); BACKF(alpha_min); BACKF(alpha_max); BACKF(iw_clip);
    BACKI(seed); BACKI(nesterov); BACKI(num_random); BACKI(sandwich); BACKI(distill);
#undef BACKF
#undef BACKI
    CHECK_MSG(fx_int(f, "nsub") == 1 + tc->num_random + (tc->sandwich ? 1 : 0), "%s: nsub %d vs 1 + %d random + %d",
              f->path, fx_int(f, "nsub"), tc->num_random, tc->sandwich);
    CHECK(tc->distill_warmup_epochs == 0); /* the step is run with distill_w = 1 */
    return bad;
}

/* ------------------------------------------------------------------------------------------- */
/* parameters */

/* Checks the C table against the fixture's names (count, order, shapes, decay flags) and loads
 * `prefix`/<j> from f into base (layout of net->w). Returns the number of failures. */
static int load_params(const an_supernet *net, const fx_file *f, const char *prefix, char **names, int nnames,
                       float *base)
{
    int bad = 0;
    for (int j = 0; j < nnames; j++) {
        char tn[64];
        snprintf(tn, sizeof tn, "%s/%d", prefix, j);
        const fx_tensor *t = need(f, tn, 0);
        int i = an_supernet_find(net, names[j]);
        if (i < 0) {
            CHECK_MSG(0, "parameter %d '%s' has no tensor of that name in the C supernet", j, names[j]);
            bad++;
            continue;
        }
        const an_param *p = &net->params[i];
        CHECK_MSG(i == j, "parameter '%s' is at index %d in C, %d in the official state_dict", names[j], i, j);
        int same = t->ndim == p->ndim && t->count == p->count;
        for (int d = 0; same && d < t->ndim; d++) same = t->dims[d] == p->shape[d];
        if (!same) {
            char a[64] = "", b[64] = "";
            for (int d = 0; d < t->ndim; d++) snprintf(a + strlen(a), sizeof a - strlen(a), "%s%d", d ? "x" : "", t->dims[d]);
            for (int d = 0; d < p->ndim; d++) snprintf(b + strlen(b), sizeof b - strlen(b), "%s%d", d ? "x" : "", p->shape[d]);
            CHECK_MSG(0, "parameter '%s': C shape %s, official %s", names[j], b, a);
            bad++;
            continue;
        }
        t_passed++;
        memcpy(base + p->offset, t->data, p->count * sizeof(float));
    }
    return bad;
}

static void check_table(const an_supernet *net, char **names, int nnames, int nparams)
{
    CHECK_MSG(nnames == nparams, "names lists %d tensors, nparams = %d", nnames, nparams);
    CHECK_MSG(net->nparams == nparams, "the C supernet has %d parameter tensors, the official one %d", net->nparams,
              nparams);
    /* tensors in table order, disjoint, inside net->w (each may be padded for alignment) */
    size_t end = 0;
    int disjoint = 1;
    for (int i = 0; i < net->nparams; i++) {
        const an_param *p = &net->params[i];
        disjoint &= p->offset >= end;
        end = p->offset + p->count;
        int decay = !strstr(p->name, ".bn") && !strstr(p->name, ".bias");
        CHECK_MSG(p->decay == decay, "'%s': decay flag %d, the reference decays it: %d", p->name, p->decay, decay);
    }
    CHECK_MSG(disjoint && end <= net->total, "parameter tensors overlap or exceed net->total");
}

/* ------------------------------------------------------------------------------------------- */
/* archs */

static int load_archs(const an_space *sp, const fx_file *f, const char *name, int arch_len, an_arch *out, int max)
{
    size_t cnt;
    const int32_t *v = fx_i32(f, name, &cnt);
    if (cnt % (size_t)arch_len) { fprintf(stderr, "FIXTURE ERROR: %s is not a multiple of %d\n", name, arch_len); exit(2); }
    int na = (int)(cnt / (size_t)arch_len), ns = (arch_len - 3) / 4;
    CHECK_MSG(ns == sp->nstages && arch_len == 3 + 4 * ns, "arch_len %d for a space of %d stages", arch_len, sp->nstages);
    if (na > max) { fprintf(stderr, "FIXTURE ERROR: %s has %d archs\n", name, na); exit(2); }
    for (int i = 0; i < na; i++) {
        const int32_t *r = v + (size_t)i * arch_len;
        an_arch *a = &out[i];
        memset(a, 0, sizeof *a);
        a->resolution = r[0];
        a->stem_width = r[1];
        a->nstages = ns;
        for (int s = 0; s < ns; s++) {
            a->stage[s].width = r[2 + 4 * s];
            a->stage[s].depth = r[3 + 4 * s];
            a->stage[s].kernel = r[4 + 4 * s];
            a->stage[s].expand = r[5 + 4 * s];
        }
        a->mix_width = r[2 + 4 * ns];
        char text[AN_ARCH_TEXT_MAX];
        an_arch_format(a, text, sizeof text);
        an_arch b;
        an_status st = an_arch_parse(sp, text, &b);
        CHECK_MSG(st == AN_OK, "%s[%d] '%s' does not parse: %s", name, i, text, an_error_message());
        CHECK_MSG(st == AN_OK && an_arch_equal(a, &b), "%s[%d] '%s' does not round-trip", name, i, text);
        CHECK_MSG(an_arch_validate(sp, a) == AN_OK, "%s[%d] '%s': %s", name, i, text, an_error_message());
    }
    return na;
}

/* Sandwich order: subnet 0 the largest, the last the smallest. */
static void check_sandwich_order(const an_space *sp, const an_arch *a, int nsub, const char *what)
{
    an_arch big, small;
    an_arch_largest(sp, &big);
    an_arch_smallest(sp, &small);
    CHECK_MSG(an_arch_equal(&a[0], &big), "%s: subnet 0 is not an_arch_largest", what);
    CHECK_MSG(an_arch_equal(&a[nsub - 1], &small), "%s: the last subnet is not an_arch_smallest", what);
}

/* ------------------------------------------------------------------------------------------- */
/* masks (diagnostic: the hash and stream conventions the forward relies on) */

static void check_masks(const fx_file *f, const an_train_cfg *tc, int step, int n, int mix)
{
    size_t cnt;
    const uint8_t *md = fx_u8(f, "mask/dropout", &cnt);
    CHECK((size_t)n * mix == cnt);
    int ok = 1;
    const uint64_t sd = (uint64_t)tc->seed;
    const uint64_t sdrop = ((uint64_t)step + 1) << 32 | AN_STREAM_DROPOUT;
    for (int g = 0; g < n && (size_t)n * mix == cnt; g++)
        for (int c = 0; c < mix; c++)
            ok &= (an_hash_uniform(sd, sdrop, (uint64_t)g * mix + c) < (float)(1 - tc->dropout)) == md[g * mix + c];
    CHECK_MSG(ok, "dropout mask differs from the hash");
    size_t nb;
    const int32_t *blocks = fx_i32(f, "dc_blocks", &nb);
    const float *rates = fx_f32(f, "dc_rates", &nb);
    const uint8_t *mdc = fx_u8(f, "mask/dc", &cnt);
    CHECK(cnt == nb * (size_t)n);
    ok = 1;
    for (size_t i = 0; i < nb && cnt == nb * (size_t)n; i++) {
        const uint64_t s = ((uint64_t)step + 1) << 32 | AN_STREAM_DROP_CONNECT(blocks[i]);
        for (int g = 0; g < n; g++) ok &= (an_hash_uniform(sd, s, (uint64_t)g) < 1.0f - rates[i]) == mdc[i * n + g];
    }
    CHECK_MSG(ok, "drop-connect masks differ from the hash");
}

/* ------------------------------------------------------------------------------------------- */
/* one sandwich fixture */

/* Largest |x| over the fixture tensors prefix/0 .. prefix/(np-1). */
static double global_max(const fx_file *f, const char *prefix, int np)
{
    double m = 0;
    for (int j = 0; j < np; j++) {
        char tn[64];
        snprintf(tn, sizeof tn, "%s/%d", prefix, j);
        size_t cnt;
        const float *v = fx_f32(f, tn, &cnt);
        for (size_t k = 0; k < cnt; k++) m = fmax(m, fabs((double)v[k]));
    }
    return m;
}

/* The gradient floor. A float32 gradient entry carries rounding noise of order eps x (the sizes
 * of the terms summed into it), and those terms are set by the network's gradient scale, not by
 * the entry's own tensor: the project-BN biases of blocks 3, 4, 6 are analytically zero (every
 * consumer of the residual stream after them is a 1x1 conv followed by BN) and come out as pure
 * noise, ~1e-17 in the reference and ~1e-8 in float32, so their relative error against their own
 * max is meaningless. 1% of the largest gradient in the network (which is > 1 here: 2 elements
 * are clipped) is the README's max(max|grad|, 0.01) scaled to the network and keeps every tensor
 * whose gradient is not degenerate measured against its own scale. */
static double grad_floor(const fx_file *f, int np) { return GRAD_FLOOR_FRAC * global_max(f, "grad", np); }

static void check_grad_and_after(const an_supernet *net, const float *grad, const fx_file *f, char **names, int np)
{
    const double floor = grad_floor(f, np);
    int nzero = 0;
    for (int j = 0; j < np; j++) {
        int i = an_supernet_find(net, names[j]);
        if (i < 0) continue;
        const an_param *p = &net->params[i];
        char tn[64], check[48], g[32], label[160];
        snprintf(tn, sizeof tn, "grad/%d", j);
        size_t cnt;
        const float *ref = fx_f32(f, tn, &cnt);
        if (cnt != p->count) continue; /* shape failure already reported */
        group_of(names[j], g, sizeof g);
        snprintf(check, sizeof check, "grad %s", g);
        snprintf(label, sizeof label, "grad %s", names[j]);
        cmp_arr(check, label, grad + p->offset, ref, cnt, floor, RT_GRAD);
        /* exactly zero in the reference (no subnet can use it): exactly zero in C */
        int refzero = 1, czero = 1;
        for (size_t k = 0; k < cnt; k++) refzero &= ref[k] == 0.0f, czero &= grad[p->offset + k] == 0.0f;
        if (refzero) {
            nzero++;
            CHECK_MSG(czero, "%s: the reference gradient is exactly 0, C's is not", names[j]);
        }
    }
    CHECK_MSG(nzero == 4, "%d tensors with an exactly-zero reference gradient, the README lists 4", nzero);
}

static void check_params(const char *check, const an_supernet *net, const fx_file *f, const char *prefix, char **names,
                         int np, double rtol)
{
    for (int j = 0; j < np; j++) {
        int i = an_supernet_find(net, names[j]);
        if (i < 0) continue;
        const an_param *p = &net->params[i];
        char tn[64], label[160];
        snprintf(tn, sizeof tn, "%s/%d", prefix, j);
        size_t cnt;
        const float *ref = fx_f32(f, tn, &cnt);
        if (cnt != p->count) continue;
        snprintf(label, sizeof label, "%s %s", prefix, names[j]);
        cmp_arr(check, label, net->w + p->offset, ref, cnt, PARAM_FLOOR, rtol);
    }
}

/* f: the sandwich fixture; pf: where its initial parameters are (f itself for alpha). */
static void run_sandwich(const char *tag, const fx_file *f, const fx_file *pf)
{
    printf("== sandwich_%s\n", tag);
    an_config cfg;
    if (config_for(f, &cfg)) return;
    const an_space *sp = &cfg.space;
    const int K = sp->classes, nparams = fx_int(f, "nparams"), nsub = fx_int(f, "nsub");
    const int step = fx_int(f, "step");
    const float lr = fx_float(f, "lr");
    CHECK(K == 10 && nsub <= AN_MAX_SUBNETS);

    an_supernet net;
    CHECK_MSG(an_supernet_create(&net, sp) == AN_OK, "%s", an_error_message());
    char **names, **pnames;
    int nnames = fx_names(f, "names", &names), npn = fx_names(pf, "names", &pnames);
    CHECK(npn == nnames);
    for (int j = 0; j < nnames && j < npn; j++) CHECK_MSG(strcmp(names[j], pnames[j]) == 0, "names differ at %d", j);
    fx_names_free(pnames);
    check_table(&net, names, nnames, nparams);
    if (load_params(&net, pf, "param", names, nnames, net.w)) {
        fprintf(stderr, "sandwich_%s: parameter table mismatch, skipping the numeric checks\n", tag);
        fx_names_free(names);
        an_supernet_free(&net);
        return;
    }

    int n, C, H, W;
    float *x = fx_images(f, "x", &n, &C, &H, &W);
    CHECK(C == sp->in_channels && n == fx_int(f, "n"));
    size_t nl;
    const int32_t *labels = fx_i32(f, "labels", &nl);
    CHECK(nl == (size_t)n);
    an_arch archs[AN_MAX_SUBNETS];
    int na = load_archs(sp, f, "archs", fx_int(f, "arch_len"), archs, AN_MAX_SUBNETS);
    CHECK(na == nsub);
    check_sandwich_order(sp, archs, nsub, tag);
    check_masks(f, &cfg.train, step, n, archs[0].mix_width);

    /* ---- forward of each subnet, with the trainer's options */
    float *logits = fx_xmalloc(sizeof(float) * (size_t)nsub * n * K);
    an_net_ws *ws;
    CHECK(an_net_ws_create(&ws) == AN_OK);
    for (int s = 0; s < nsub; s++) {
        an_fwd_opts o = {.bn = AN_BN_TRAIN,
                         .dropout = s == 0 ? (float)cfg.train.dropout : 0.0f,
                         .drop_connect = s == 0 ? (float)cfg.train.drop_connect : 0.0f,
                         .seed = (uint64_t)cfg.train.seed,
                         .step = (uint64_t)step,
                         .sample0 = 0};
        float *z = logits + (size_t)s * n * K;
        an_status e = an_subnet_forward(ws, &net, &archs[s], x, H, W, n, &o, z);
        CHECK_MSG(e == AN_OK, "forward of subnet %d: %s", s, an_error_message());
        char tn[32], label[96];
        snprintf(tn, sizeof tn, "logits/%d", s);
        snprintf(label, sizeof label, "%s logits/%d", tag, s);
        size_t cnt;
        const float *ref = fx_f32(f, tn, &cnt);
        CHECK(cnt == (size_t)n * K);
        cmp_arr("logits", label, z, ref, cnt, 1.0, RT_LOGITS);
        if (s == 0 && fx_has(f, "act/0/stem")) {
            int sc, sh, sw;
            const float *sa = an_net_ws_stem_output(ws, &sc, &sh, &sw);
            const fx_tensor *t = need(f, "act/0/stem", 0);
            CHECK_MSG(sa && t->ndim == 4 && t->dims[0] == n && t->dims[1] == sc && t->dims[2] == sh && t->dims[3] == sw,
                      "stem output shape");
            if (sa && t->ndim == 4 && t->dims[1] == sc && t->dims[2] == sh && t->dims[3] == sw) {
                float *ref_chwn = fx_nchw_to_chwn(t->data, n, sc, sh, sw);
                cmp_arr("stem act (s=0)", "act/0/stem", sa, ref_chwn, (size_t)n * sc * sh * sw, 1e-30, RT_STEM);
                free(ref_chwn);
            }
        }
    }
    an_net_ws_free(ws);

    /* ---- losses and dlogits from the loss functions, on the C logits with the C teacher */
    float *dz = fx_xmalloc(sizeof(float) * (size_t)n * K);
    const float *teacher = logits;
    for (int s = 0; s < nsub; s++) {
        const float *z = logits + (size_t)s * n * K;
        memset(dz, 0, sizeof(float) * (size_t)n * K);
        float loss;
        const float eps = (float)cfg.train.label_smoothing;
        if (s == 0 || cfg.train.distill == AN_DISTILL_NONE) loss = an_cross_entropy_ls(dz, z, labels, n, K, eps, 1.0f);
        else if (cfg.train.distill == AN_DISTILL_ALPHA)
            loss = an_alpha_divergence(dz, z, teacher, n, K, (float)cfg.train.alpha_min, (float)cfg.train.alpha_max,
                                       (float)cfg.train.iw_clip, 1.0f, NULL);
        else loss = an_kd_soft_ce(dz, z, teacher, n, K, 1.0f, NULL);
        char tn[32], label[96];
        snprintf(tn, sizeof tn, "dlogits/%d", s);
        snprintf(label, sizeof label, "%s dlogits/%d", tag, s);
        size_t cnt;
        const float *ref = fx_f32(f, tn, &cnt);
        CHECK(cnt == (size_t)n * K);
        cmp_arr("dlogits (loss fns)", label, dz, ref, cnt, 1e-30, RT_DLOGITS);
        snprintf(tn, sizeof tn, "loss/%d", s);
        snprintf(label, sizeof label, "%s loss/%d (loss fn)", tag, s);
        cmp_scalar("loss (loss fns)", label, loss, fx_float(f, tn), 1.0, RT_LOSS);
    }

    /* ---- the full step */
    an_trainer tr;
    CHECK_MSG(an_trainer_create(&tr, &cfg, &net, n) == AN_OK, "%s", an_error_message());
    an_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.nsub = nsub;
    for (int s = 0; s < nsub; s++) plan.arch[s] = archs[s];
    an_substats st[AN_MAX_SUBNETS];
    memset(st, 0, sizeof st);
    an_status e = an_step_local(&tr, &plan, x, H, W, labels, n, 0, n, step, 1.0, st);
    CHECK_MSG(e == AN_OK, "an_step_local: %s", an_error_message());
    /* the step's own forward agrees with the one above (same code, same inputs) */
    cmp_arr("step teacher == fwd", "tr.teacher vs forward logits/0", tr.teacher, logits, (size_t)n * K, 1.0, 1e-6);
    cmp_arr("step teacher == fwd", "tr.logits vs forward logits/last", tr.logits, logits + (size_t)(nsub - 1) * n * K,
            (size_t)n * K, 1.0, 1e-6);
    {
        char tn[32];
        snprintf(tn, sizeof tn, "dlogits/%d", nsub - 1);
        cmp_arr("dlogits (step, last)", "tr.dlogits (last subnet)", tr.dlogits, fx_f32(f, tn, NULL), (size_t)n * K, 1e-30,
                RT_DLOGITS);
    }
    for (int s = 0; s < nsub; s++) {
        char tn[32], label[96];
        snprintf(tn, sizeof tn, "loss/%d", s);
        snprintf(label, sizeof label, "%s step loss/%d", tag, s);
        CHECK(st[s].samples == n);
        cmp_scalar("loss (step)", label, st[s].samples > 0 ? st[s].loss_sum / st[s].samples : NAN, fx_float(f, tn), 1.0,
                   RT_LOSS);
        snprintf(tn, sizeof tn, "alphastat/%d", s);
        if (s == 0 || !fx_has(f, tn)) continue;
        size_t cnt;
        const float *ref = fx_f32(f, tn, &cnt);
        CHECK(cnt == 7);
        const an_distill_stats *d = &st[s].ds;
        CHECK_MSG(d->samples == n && d->weights == (long)n * K, "%s: stats counted %ld samples, %ld weights", tn,
                  d->samples, d->weights);
        const double ns = d->samples > 0 ? (double)d->samples : NAN, nw = d->weights > 0 ? (double)d->weights : NAN;
        const double got[7] = {d->divergence / ns, d->chose_min / ns, d->clipped / nw, d->h_teacher / ns,
                               d->h_student / ns, d->kl / ns, d->surrogate / ns};
        static const char *const what[7] = {"D", "chose_min", "clipped", "H(p)", "H(q)", "KL", "surrogate"};
        for (int k = 0; k < 7; k++) {
            snprintf(label, sizeof label, "%s alphastat/%d %s", tag, s, what[k]);
            /* the two fractions are counts: exact up to the float rounding of the reference */
            cmp_scalar(k == 1 || k == 2 ? "alphastat counts" : "alphastat values", label, got[k], ref[k], 1.0,
                       k == 1 || k == 2 ? 1e-7 : RT_STAT);
        }
    }
    if (fx_has(f, "grad/0")) {
        check_grad_and_after(&net, tr.grad, f, names, nnames);
        an_step_apply(&tr, lr);
        check_params("after (1 step)", &net, f, "after", names, nnames, RT_AFTER);
    }
    an_trainer_free(&tr);
    free(dz);
    free(logits);
    free(x);
    fx_names_free(names);
    an_supernet_free(&net);
}

/* ------------------------------------------------------------------------------------------- */
/* the 20-step curve */

static void run_curve(const fx_file *f)
{
    printf("== curve_alpha\n");
    an_config cfg;
    if (config_for(f, &cfg)) return;
    const an_space *sp = &cfg.space;
    const int nparams = fx_int(f, "nparams"), nsub = fx_int(f, "nsub");
    const int steps = fx_int(f, "steps"), nb = fx_int(f, "nbatches"), warm = fx_int(f, "lr_warmup");
    CHECK(nb >= 1 && nb <= 16 && nsub <= AN_MAX_SUBNETS);

    an_supernet net;
    CHECK_MSG(an_supernet_create(&net, sp) == AN_OK, "%s", an_error_message());
    char **names;
    int nnames = fx_names(f, "names", &names);
    check_table(&net, names, nnames, nparams);
    if (load_params(&net, f, "param", names, nnames, net.w)) {
        fprintf(stderr, "curve: parameter table mismatch, skipping\n");
        fx_names_free(names);
        an_supernet_free(&net);
        return;
    }
    float *xs[16];
    const int32_t *ls[16];
    int n = 0, H = 0, W = 0;
    for (int b = 0; b < nb; b++) {
        char tn[32];
        int C;
        snprintf(tn, sizeof tn, "x/%d", b);
        xs[b] = fx_images(f, tn, &n, &C, &H, &W);
        CHECK(C == sp->in_channels);
        snprintf(tn, sizeof tn, "labels/%d", b);
        size_t cnt;
        ls[b] = fx_i32(f, tn, &cnt);
        CHECK(cnt == (size_t)n);
    }
    an_arch *archs = fx_xmalloc(sizeof(an_arch) * (size_t)steps * nsub);
    int na = load_archs(sp, f, "archs", fx_int(f, "arch_len"), archs, steps * nsub);
    CHECK(na == steps * nsub);
    size_t cnt;
    const float *lrs = fx_f32(f, "lr", &cnt);
    CHECK(cnt == (size_t)steps);
    const float *loss = fx_f32(f, "loss", &cnt);
    CHECK(cnt == (size_t)steps * nsub);

    an_trainer tr;
    CHECK_MSG(an_trainer_create(&tr, &cfg, &net, n) == AN_OK, "%s", an_error_message());
    double worst_loss = 0;
    int worst_t = 0, worst_s = 0;
    for (int t = 0; t < steps; t++) {
        char what[32];
        snprintf(what, sizeof what, "curve %d", t);
        check_sandwich_order(sp, archs + (size_t)t * nsub, nsub, what);
        /* the schedule the trainer would use gives the stored learning rates */
        cmp_scalar("curve lr (an_lr_at)", what, an_lr_at(&cfg.train, t, steps, warm), lrs[t], 1e-30, 1e-6);
        an_plan plan;
        memset(&plan, 0, sizeof plan);
        plan.nsub = nsub;
        for (int s = 0; s < nsub; s++) plan.arch[s] = archs[(size_t)t * nsub + s];
        an_substats st[AN_MAX_SUBNETS];
        memset(st, 0, sizeof st);
        an_status e = an_step_local(&tr, &plan, xs[t % nb], H, W, ls[t % nb], n, 0, n, t, 1.0, st);
        CHECK_MSG(e == AN_OK, "curve step %d: %s", t, an_error_message());
        if (e) break;
        for (int s = 0; s < nsub; s++) {
            char label[64];
            const double got = st[s].loss_sum / st[s].samples, ref = loss[t * nsub + s];
            snprintf(label, sizeof label, "curve loss[%d][%d]", t, s);
            cmp_scalar("curve loss", label, got, ref, 1.0, RT_CURVE_LOSS);
            double err = fabs(got - ref) / fmax(fabs(ref), 1.0);
            if (!(err <= worst_loss)) worst_loss = err, worst_t = t, worst_s = s;
        }
        an_step_apply(&tr, lrs[t]);
    }
    printf("curve: worst loss error %.3g at step %d subnet %d\n", worst_loss, worst_t, worst_s);
    check_params("curve final", &net, f, "final", names, nnames, RT_FINAL);
    an_trainer_free(&tr);
    free(archs);
    for (int b = 0; b < nb; b++) free(xs[b]);
    fx_names_free(names);
    an_supernet_free(&net);
}

int main(void)
{
    fx_file *fa = fx_load("supernet/sandwich_alpha.anfx");
    fx_file *fk = fx_load("supernet/sandwich_kl.anfx");
    fx_file *fn = fx_load("supernet/sandwich_none.anfx");
    fx_file *fc = fx_load("supernet/curve_alpha.anfx");
    run_sandwich("alpha", fa, fa);
    run_sandwich("kl", fk, fa);
    run_sandwich("none", fn, fa);
    run_curve(fc);
    fx_free(fa);
    fx_free(fk);
    fx_free(fn);
    fx_free(fc);

    printf("\n%-26s %6s %11s %9s\n", "check", "count", "max rel err", "tol");
    for (int i = 0; i < g_nrows; i++)
        printf("%-26s %6d %11.3g %9.2g%s\n", g_rows[i].name, g_rows[i].count, g_rows[i].worst, g_rows[i].tol,
               g_rows[i].worst <= g_rows[i].tol ? "" : "  FAIL");
    return TEST_SUMMARY();
}

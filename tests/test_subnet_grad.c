/* test_subnet_grad.c - the whole subnet backward against central finite differences of its
 * forward, on the tiny test space: for L = <dlogits, logits(theta)>, sampled coordinates of every
 * parameter tensor the subnet uses, for the largest subnet (with dropout and drop-connect, whose
 * masks are a pure function of seed and step), a random subnet and the smallest one. Also:
 * parameters the subnet does not use get exactly zero gradient, and the forward is
 * deterministic. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/config.h"
#include "alphanet/nn/subnet.h"
#include "alphanet/nn/supernet.h"
#include "test.h"
#include "tiny.h"

static double objective(an_net_ws *ws, const an_supernet *net, const an_arch *a, const float *x, int h, int n,
                        const an_fwd_opts *o, float *logits, const float *dl)
{
    an_status st = an_subnet_forward(ws, net, a, x, h, h, n, o, logits);
    if (st) {
        fprintf(stderr, "forward: %s\n", an_error_message());
        exit(1);
    }
    double s = 0;
    for (int i = 0; i < n * net->space.classes; i++) s += (double)dl[i] * logits[i];
    return s;
}

static void check_arch(an_supernet *net, const char *arch_text, float dropout, float dc)
{
    an_arch a;
    CHECK_MSG(an_arch_parse(&net->space, arch_text, &a) == AN_OK, "%s", an_error_message());
    const int n = 6, h = 16, C = net->space.in_channels, K = net->space.classes;
    float *x = malloc(sizeof(float) * C * h * h * n), *logits = malloc(sizeof(float) * n * K),
          *dl = malloc(sizeof(float) * n * K), *grad = calloc(net->total, sizeof(float));
    t_fill(x, (size_t)C * h * h * n, 5, -1.5f, 1.5f);
    t_fill(dl, (size_t)n * K, 6, -1, 1);
    an_net_ws *ws;
    an_net_ws_create(&ws);
    an_fwd_opts o = {.bn = AN_BN_TRAIN, .dropout = dropout, .drop_connect = dc, .seed = 11, .step = 3, .sample0 = 0};
    double l0 = objective(ws, net, &a, x, h, n, &o, logits, dl);
    CHECK_MSG(an_subnet_backward(ws, net, dl, grad) == AN_OK, "%s", an_error_message());
    /* determinism */
    CHECK(objective(ws, net, &a, x, h, n, &o, logits, dl) == l0);
    int nchecked = 0, unused_zero = 1;
    /* finite differences of a float forward resolve derivatives down to about |L| * 1e-6 / eps;
     * below 5e-3 of the largest gradient, values are compared against that floor */
    double floor_abs = 0;
    for (size_t k = 0; k < net->total; k++) floor_abs = fmax(floor_abs, fabs(grad[k]));
    floor_abs *= 5e-3;
    for (int pi = 0; pi < net->nparams; pi++) {
        const an_param *p = &net->params[pi];
        float *g = grad + p->offset, *w = net->w + p->offset;
        double gmax = 0;
        for (size_t k = 0; k < p->count; k++) gmax = fmax(gmax, fabs(g[k]));
        if (gmax == 0) continue; /* unused by this subnet (checked below) */
        /* the 6 largest-gradient coordinates and 4 others */
        enum { NC = 10 };
        size_t idx[NC];
        int ni = 0;
        for (int r = 0; r < 6 && ni < NC; r++) {
            size_t best = 0;
            double bv = -1;
            for (size_t k = 0; k < p->count; k++) {
                int taken = 0;
                for (int q = 0; q < ni; q++) taken |= idx[q] == k;
                if (!taken && fabs(g[k]) > bv) { bv = fabs(g[k]); best = k; }
            }
            idx[ni++] = best;
        }
        for (int r = 0; ni < NC && r < 4; r++) idx[ni++] = (size_t)((r * 2654435761u + 7u) % p->count);
        double worst = 0, scale = floor_abs, fd_at_worst = 0;
        int wq = -1;
        for (int q = 0; q < ni; q++) {
            float keep = w[idx[q]];
            const float eps = 3e-3f * fmaxf(1.0f, fabsf(keep));
            w[idx[q]] = keep + eps;
            double lp = objective(ws, net, &a, x, h, n, &o, logits, dl);
            w[idx[q]] = keep - eps;
            double lm = objective(ws, net, &a, x, h, n, &o, logits, dl);
            w[idx[q]] = keep;
            const double cen = (lp - lm) / ((double)(keep + eps) - (double)(keep - eps));
            scale = fmax(scale, fabs(cen));
            const double e = fabs(g[idx[q]] - cen);
            if (e > worst) { worst = e; wq = q; fd_at_worst = cen; }
        }
        CHECK_MSG(worst <= 2e-2 * scale, "[%s] d %s [%zu]: analytic %.6g, central difference %.6g (err %.3g, scale %.3g)",
                  arch_text, p->name, wq >= 0 ? idx[wq] : 0, wq >= 0 ? g[idx[wq]] : 0.0f, fd_at_worst, worst, scale);
        nchecked++;
    }
    /* unused parameters: a block beyond the active depth has zero gradient everywhere */
    for (int b = 0; b < net->nblocks; b++) {
        const an_block *bl = &net->blocks[b];
        int d = b - net->stage_first[bl->stage];
        if (d < a.stage[bl->stage].depth) continue;
        const an_param *p = &net->params[bl->p_dw_w];
        for (size_t k = 0; k < p->count; k++) unused_zero &= grad[p->offset + k] == 0.0f;
    }
    CHECK_MSG(unused_zero, "inactive blocks received gradient");
    CHECK_MSG(nchecked > 10, "only %d tensors checked", nchecked);
    printf("%s: %d tensors checked, workspace %.1f MB\n", arch_text, nchecked, an_net_ws_bytes(ws) / 1e6);
    an_net_ws_free(ws);
    free(x); free(logits); free(dl); free(grad);
}

int main(void)
{
    an_config c;
    an_supernet net;
    t_tiny_supernet(&c, &net, 1);
    /* SE hidden units well inside the ReLU's linear part: a kink within the finite-difference
     * step would make the central difference meaningless (the ReLU branch itself is covered by
     * the golden tests against PyTorch) */
    for (int i = 0; i < net.nparams; i++)
        if (strstr(net.params[i].name, "se.fc.reduce.bias"))
            t_fill(net.w + net.params[i].offset, net.params[i].count, (unsigned)i, 0.8f, 1.2f);
    check_arch(&net, "max", 0.2f, 0.2f);
    check_arch(&net, "min", 0, 0);
    check_arch(&net, "r13 s16 8/2/3/1 16/1/5/4 24/2/3/3 32/2/5/4 h32", 0, 0);
    an_supernet_free(&net);
    return TEST_SUMMARY();
}

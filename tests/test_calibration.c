/* test_calibration.c - BN calibration wiring through a whole subnet: calibrating on exactly one
 * batch and then running inference on that same batch must reproduce the training-mode forward
 * of that batch (batch statistics), up to the unbiased (calibration) versus biased (training)
 * variance, a factor sqrt(m / (m - 1)) per layer that the tolerance allows for. Calibrating on
 * two batches must give the average of their statistics, so inference then differs from both.
 * Also: calibration does not touch the statistics of BN layers the subnet does not use, and an
 * inference or calibration forward, which keeps no tape, uses well under a training forward's
 * memory (the logits above check that what it releases is not still in use). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/config.h"
#include "alphanet/nn/subnet.h"
#include "alphanet/nn/supernet.h"
#include "test.h"
#include "tiny.h"

int main(void)
{
    an_config c;
    an_supernet net;
    t_tiny_supernet(&c, &net, 3);
    const int n = 64, h = 16, K = net.space.classes;
    float *x = malloc(sizeof(float) * h * h * n), *x2 = malloc(sizeof(float) * h * h * n);
    float *lt = malloc(sizeof(float) * n * K), *li = malloc(sizeof(float) * n * K);
    t_fill(x, (size_t)h * h * n, 1, -1.5f, 1.5f);
    t_fill(x2, (size_t)h * h * n, 2, -0.5f, 2.5f);
    an_net_ws *ws;
    an_net_ws_create(&ws);
    const char *archs[] = {"max", "min", "r13 s16 8/2/3/1 16/1/5/4 24/2/3/3 32/2/5/4 h32"};
    for (int k = 0; k < 3; k++) {
        an_arch a;
        CHECK(an_arch_parse(&net.space, archs[k], &a) == AN_OK);
        an_fwd_opts tr = {.bn = AN_BN_TRAIN}, cal = {.bn = AN_BN_CALIB}, inf = {.bn = AN_BN_INFER};
        CHECK(an_subnet_forward(ws, &net, &a, x, h, h, n, &tr, lt) == AN_OK);
        /* poison the statistics, calibrate on x, infer on x */
        for (size_t i = 0; i < net.bn_total; i++) net.bn_mean[i] = 1e3f, net.bn_var[i] = 1e-3f;
        CHECK(an_calib_begin(ws, &net) == AN_OK);
        CHECK(an_subnet_forward(ws, &net, &a, x, h, h, n, &cal, li) == AN_OK);
        an_calib_finish(ws, &net);
        CHECK(an_subnet_forward(ws, &net, &a, x, h, h, n, &inf, li) == AN_OK);
        char what[160];
        snprintf(what, sizeof what, "[%s] calibrated inference == training forward on the calibration batch", archs[k]);
        CHECK_CLOSE(what, li, lt, (size_t)n * K, 2e-2);
        /* layers beyond the subnet keep the poison: the last block's BN of a depth-1 stage */
        if (k == 1) {
            const an_block *b = &net.blocks[net.stage_first[0] + 1]; /* mb1 block 2: unused by the smallest */
            CHECK_MSG(net.bn_mean[net.bn[b->bn_dw].offset] == 1e3f, "calibration touched an unused BN layer");
        }
        /* two batches: the average of their statistics, not either one */
        CHECK(an_calib_begin(ws, &net) == AN_OK);
        CHECK(an_subnet_forward(ws, &net, &a, x, h, h, n, &cal, li) == AN_OK);
        CHECK(an_subnet_forward(ws, &net, &a, x2, h, h, n, &cal, li) == AN_OK);
        an_calib_finish(ws, &net);
        const an_bn_buf *stem = &net.bn[net.bn_stem];
        /* stem BN input of x and x2 differ in mean; the calibrated mean lies strictly between */
        float m1, m2;
        {
            CHECK(an_calib_begin(ws, &net) == AN_OK);
            an_subnet_forward(ws, &net, &a, x, h, h, n, &cal, li);
            an_calib_finish(ws, &net);
            m1 = net.bn_mean[stem->offset];
            CHECK(an_calib_begin(ws, &net) == AN_OK);
            an_subnet_forward(ws, &net, &a, x2, h, h, n, &cal, li);
            an_calib_finish(ws, &net);
            m2 = net.bn_mean[stem->offset];
            CHECK(an_calib_begin(ws, &net) == AN_OK);
            an_subnet_forward(ws, &net, &a, x, h, h, n, &cal, li);
            an_subnet_forward(ws, &net, &a, x2, h, h, n, &cal, li);
            an_calib_finish(ws, &net);
        }
        CHECK_REL("two-batch calibration is the average", net.bn_mean[stem->offset], 0.5 * (m1 + m2), 1e-5, 1e-3);
        CHECK(m1 != m2);
    }
    an_net_ws_free(ws);
    /* memory: the largest subnet's forward in each mode, each in a fresh workspace */
    {
        an_arch a;
        CHECK(an_arch_parse(&net.space, "max", &a) == AN_OK);
        const an_bn_mode modes[] = {AN_BN_TRAIN, AN_BN_CALIB, AN_BN_INFER};
        size_t peak[3];
        for (int k = 0; k < 3; k++) {
            an_net_ws *w1;
            CHECK(an_net_ws_create(&w1) == AN_OK);
            if (modes[k] == AN_BN_CALIB) CHECK(an_calib_begin(w1, &net) == AN_OK);
            an_fwd_opts o = {.bn = modes[k]};
            CHECK(an_subnet_forward(w1, &net, &a, x, h, h, n, &o, li) == AN_OK);
            peak[k] = an_net_ws_fwd_peak(w1);
            an_net_ws_free(w1);
        }
        printf("forward memory of the largest subnet: training %zu B, calibration %zu B, inference %zu B\n", peak[0],
               peak[1], peak[2]);
        /* what remains is the largest block's tensors, a good part of the whole on a net this small */
        CHECK_MSG(peak[1] * 10 < peak[0] * 6, "a calibration forward should use under 0.6 of a training forward's memory");
        CHECK_MSG(peak[2] * 10 < peak[0] * 6, "an inference forward should use under 0.6 of a training forward's memory");
    }
    an_supernet_free(&net);
    free(x); free(x2); free(lt); free(li);
    return TEST_SUMMARY();
}

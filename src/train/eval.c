/* eval.c - BN calibration and evaluation of one subnet (see eval.h). */
#include "alphanet/train/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/batch.h"
#include "alphanet/kernels/softmax.h"

an_status an_evaluate(an_supernet *net, an_net_ws *ws, const an_config *cfg, const an_arch *a, const an_dataset *calib,
                      const an_dataset *data, const an_group *g, an_eval_result *r, float *logits_out)
{
    const int B = cfg->eval.batch, K = net->space.classes, C = net->space.in_channels;
    const int H = data->h;
    memset(r, 0, sizeof *r);
    an_status st = AN_OK;
    float *x = an_alloc((size_t)C * H * H * B * sizeof(float)), *logits = an_alloc((size_t)B * K * sizeof(float));
    int *labels = malloc((size_t)B * sizeof(int));
    long *order = malloc((size_t)(calib && calib->n > 0 ? calib->n : 1) * sizeof(long));
    long *idx = malloc((size_t)B * sizeof(long));
    if (!x || !logits || !labels || !order || !idx) {
        st = an_error(AN_ERR_NOMEM, "out of memory (evaluation batch of %d)", B);
        goto out;
    }
    /* calibration (eval.calib_batches = 0: use the statistics the supernet holds, e.g. an export's) */
    an_fwd_opts o = {.bn = AN_BN_CALIB};
    if (cfg->eval.calib_batches > 0) {
        if ((st = an_calib_begin(ws, net))) goto out;
        an_epoch_order(order, calib->n, (uint64_t)cfg->train.seed, -1);
        long nb = calib->n / B;
        if (nb > cfg->eval.calib_batches) nb = cfg->eval.calib_batches;
        if (nb < 1) {
            st = an_error(AN_ERR_ARG, "BN calibration needs at least one batch of %d images (have %ld)", B, calib->n);
            goto out;
        }
        /* a rank's failure (a damaged record, say) is agreed on before the collectives, so
         * that no rank waits for it */
        an_status local = AN_OK;
        for (long b = g->rank; b < nb && !local; b += g->size) {
            local = an_make_batch(x, labels, calib, order + b * B, B, &cfg->data, 0, 0, 0);
            if (!local) local = an_subnet_forward(ws, net, a, x, H, H, B, &o, logits);
        }
        if ((st = g->agree(g->ctx, local))) goto out;
        double *sm, *sv, *cnt;
        an_calib_sums(ws, net, &sm, &sv, &cnt);
        if ((st = g->sum_f64(g->ctx, sm, net->bn_total)) || (st = g->sum_f64(g->ctx, sv, net->bn_total)) ||
            (st = g->sum_f64(g->ctx, cnt, 2 * (size_t)net->nbn)))
            goto out;
        an_calib_finish(ws, net);
    }
    /* inference over the evaluation set, chunks dealt round-robin */
    double acc[4] = {0, 0, 0, 0}; /* top1, top5, loss sum, count */
    o.bn = AN_BN_INFER;
    const long nchunks = (data->n + B - 1) / B;
    if (logits_out) memset(logits_out, 0, (size_t)data->n * K * sizeof(float));
    an_status local = AN_OK;
    for (long b = g->rank; b < nchunks && !local; b += g->size) {
        const int nb2 = (int)(data->n - b * B < B ? data->n - b * B : B);
        for (int j = 0; j < nb2; j++) idx[j] = b * B + j;
        if ((local = an_make_batch(x, labels, data, idx, nb2, &cfg->data, 0, 0, 0))) break;
        if ((local = an_subnet_forward(ws, net, a, x, H, H, nb2, &o, logits))) break;
        if (logits_out) memcpy(logits_out + (size_t)b * B * K, logits, (size_t)nb2 * K * sizeof(float));
        for (int j = 0; j < nb2; j++) {
            const float *z = logits + (size_t)j * K;
            int rank = 0;
            for (int k = 0; k < K; k++) rank += z[k] > z[labels[j]];
            acc[0] += rank == 0;
            acc[1] += rank < 5;
        }
        acc[2] += an_cross_entropy_ls(NULL, logits, labels, nb2, K, 0.0f, 1.0f) * nb2;
        acc[3] += nb2;
    }
    if ((st = g->agree(g->ctx, local))) goto out;
    if ((st = g->sum_f64(g->ctx, acc, 4))) goto out;
    if (logits_out && (st = g->sum_f32(g->ctx, logits_out, (size_t)data->n * K))) goto out;
    r->n = (long)acc[3];
    r->top1 = acc[3] > 0 ? acc[0] / acc[3] : 0;
    r->top5 = K > 5 && acc[3] > 0 ? acc[1] / acc[3] : 0;
    r->loss = acc[3] > 0 ? acc[2] / acc[3] : 0;
out:
    an_free(x);
    an_free(logits);
    free(labels);
    free(order);
    free(idx);
    return st;
}

/* step.c - the sandwich step and the optimizer (see step.h, docs/algorithm.md sections 2 and 4). */
#include "alphanet/train/step.h"

#include <math.h>
#include <string.h>

#include "alphanet/kernels/act.h"
#include "alphanet/kernels/gemm.h"
#include "alphanet/kernels/softmax.h"
#include "alphanet/prof.h"

an_status an_trainer_create(an_trainer *tr, const an_config *cfg, an_supernet *net, int n_max)
{
    memset(tr, 0, sizeof *tr);
    tr->cfg = cfg;
    tr->net = net;
    tr->n_max = n_max;
    const size_t k = (size_t)n_max * net->space.classes;
    tr->grad = an_calloc(net->total * sizeof(float));
    tr->mom = an_calloc(net->total * sizeof(float));
    tr->teacher = an_alloc(k * sizeof(float));
    tr->logits = an_alloc(k * sizeof(float));
    tr->dlogits = an_alloc(k * sizeof(float));
    if (!tr->grad || !tr->mom || !tr->teacher || !tr->logits || !tr->dlogits) {
        an_trainer_free(tr);
        return an_error(AN_ERR_NOMEM, "cannot allocate the optimizer state (%zu parameters)", net->total);
    }
    an_status st = an_net_ws_create(&tr->ws);
    if (st) an_trainer_free(tr);
    return st;
}

void an_trainer_free(an_trainer *tr)
{
    an_free(tr->grad);
    an_free(tr->mom);
    an_free(tr->teacher);
    an_free(tr->logits);
    an_free(tr->dlogits);
    an_net_ws_free(tr->ws);
    memset(tr, 0, sizeof *tr);
}

double an_lr_at(const an_train_cfg *t, long step, long total, long warmup)
{
    double scale = floor(t->batch / 256.0);
    const double base = t->lr * (scale > 1 ? scale : 1);
    double warm = 1.0;
    if (step < warmup && warmup > 0) {
        const double f = (double)step / (double)warmup;
        warm = 0.001 * (1.0 - f) + f;
    }
    const double pi = 3.14159265358979323846;
    const double cosine = total > 0 ? 0.5 * (1.0 + cos(pi * (double)step / (double)total)) : 1.0;
    return base * warm * cosine;
}

double an_distill_weight(long step, long ramp_steps)
{
    if (ramp_steps <= 0 || step >= ramp_steps) return 1.0;
    return (double)step / (double)ramp_steps;
}

static int argmax(const float *z, int k)
{
    int b = 0;
    for (int j = 1; j < k; j++)
        if (z[j] > z[b]) b = j;
    return b;
}

_Static_assert(AN_PROF_SUBNETS >= AN_MAX_SUBNETS, "the step profile must have a slot for every subnet of a plan");

an_status an_step_local(an_trainer *tr, const an_plan *plan, const float *x, int h, int w, const int *labels, int n,
                        long sample0, int n_global, long step, double distill_w, an_substats *st)
{
    const an_train_cfg *t = &tr->cfg->train;
    const an_supernet *net = tr->net;
    const int K = net->space.classes;
    if (n > tr->n_max) return an_error(AN_ERR_INTERNAL, "shard of %d samples exceeds the trainer's %d", n, tr->n_max);
    if (plan->nsub < 1 || plan->nsub > AN_MAX_SUBNETS) return an_error(AN_ERR_ARG, "plan with %d subnets", plan->nsub);
    an_zero(tr->grad, net->total);
    /* every loss is a mean over the GLOBAL batch: the local gradient is scaled by n / n_global */
    const float scale = (float)n / (float)n_global;
    for (int s = 0; s < plan->nsub; s++) {
        const int largest = s == 0;
        an_fwd_opts o = {.bn = AN_BN_TRAIN,
                         .dropout = largest ? (float)t->dropout : 0.0f,
                         .drop_connect = largest ? (float)t->drop_connect : 0.0f,
                         .seed = (uint64_t)t->seed,
                         .step = (uint64_t)step,
                         .sample0 = sample0};
        const double tf = an_prof_begin();
        an_status e = an_subnet_forward(tr->ws, net, &plan->arch[s], x, h, w, n, &o, tr->logits);
        an_prof_subnet_end(s, 0, tf);
        if (e) return e;
        memset(tr->dlogits, 0, (size_t)n * K * sizeof(float));
        float loss;
        const float eps = (float)t->label_smoothing;
        const double t0 = an_prof_begin();
        if (largest || t->distill == AN_DISTILL_NONE) {
            loss = an_cross_entropy_ls(tr->dlogits, tr->logits, labels, n, K, eps, scale);
        } else {
            const float wd = (float)distill_w;
            if (t->distill == AN_DISTILL_ALPHA)
                loss = wd * an_alpha_divergence(tr->dlogits, tr->logits, tr->teacher, n, K, (float)t->alpha_min,
                                                (float)t->alpha_max, (float)t->iw_clip, scale * wd, &st[s].ds);
            else
                loss = wd * an_kd_soft_ce(tr->dlogits, tr->logits, tr->teacher, n, K, scale * wd, &st[s].ds);
            if (wd < 1.0f)
                loss += (1 - wd) * an_cross_entropy_ls(tr->dlogits, tr->logits, labels, n, K, eps, scale * (1 - wd));
        }
        an_prof_end(AN_PROF_LOSS, t0);
        if (!isfinite(loss))
            return an_error(AN_ERR_NUMERIC, "step %ld: the loss of subnet %d is %g", step, s, (double)loss);
        st[s].loss_sum += (double)loss * n;
        st[s].samples += n;
        for (int i = 0; i < n; i++) st[s].correct += argmax(tr->logits + (size_t)i * K, K) == labels[i];
        if (largest) memcpy(tr->teacher, tr->logits, (size_t)n * K * sizeof(float));
        const double tb = an_prof_begin();
        e = an_subnet_backward(tr->ws, net, tr->dlogits, tr->grad);
        an_prof_subnet_end(s, 1, tb);
        if (e) return e;
    }
    return AN_OK;
}

void an_step_apply(an_trainer *tr, double lr)
{
    const an_train_cfg *t = &tr->cfg->train;
    const an_supernet *net = tr->net;
    const float clip = (float)t->grad_clip, mu = (float)t->momentum, lrf = (float)lr;
    const double t0 = an_prof_begin();
    const int nt = an_kernel_threads(); /* every element on its own: the same bits on any count */
#pragma omp parallel num_threads(nt) if (nt > 1 && net->total >= AN_PAR_MIN_WORK)
    for (int i = 0; i < net->nparams; i++) {
        const an_param *p = &net->params[i];
        float *restrict w = net->w + p->offset, *restrict m = tr->mom + p->offset;
        const float *restrict g = tr->grad + p->offset;
        const float wd = p->decay ? (float)t->weight_decay : 0.0f;
#pragma omp for schedule(static) nowait
        for (size_t k = 0; k < p->count; k++) {
            float gk = g[k];
            if (clip > 0) gk = gk > clip ? clip : (gk < -clip ? -clip : gk);
            float d = gk + wd * w[k];
            m[k] = mu * m[k] + d;
            if (t->nesterov) d += mu * m[k];
            else d = m[k];
            w[k] -= lrf * d;
        }
    }
    an_prof_end(AN_PROF_OPTIM, t0);
}

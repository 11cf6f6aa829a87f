/* search.c - the evolutionary search (see search.h). */
#include "alphanet/common.h"
#include "alphanet/search/search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alphanet/train/eval.h"

static int draw(an_rng *r, const an_choices *c) { return c->v[an_rng_below(r, (uint32_t)c->n)]; }

void an_arch_mutate(const an_space *s, an_rng *rng, const an_arch *parent, double p, an_arch *child)
{
    *child = *parent;
    if (an_rng_uniform(rng) < p) child->resolution = draw(rng, &s->resolution);
    if (an_rng_uniform(rng) < p) child->stem_width = draw(rng, &s->stem_width);
    for (int i = 0; i < s->nstages; i++) {
        const an_stage_space *g = &s->stage[i];
        an_stage_arch *a = &child->stage[i];
        if (an_rng_uniform(rng) < p) a->width = draw(rng, &g->width);
        if (an_rng_uniform(rng) < p) a->depth = draw(rng, &g->depth);
        if (an_rng_uniform(rng) < p) a->kernel = draw(rng, &g->kernel);
        if (an_rng_uniform(rng) < p) a->expand = draw(rng, &g->expand);
    }
    if (an_rng_uniform(rng) < p) child->mix_width = draw(rng, &s->mix_width);
}

void an_arch_crossover(const an_space *s, an_rng *rng, const an_arch *a, const an_arch *b, double p, an_arch *child)
{
    *child = *a;
    if (an_rng_uniform(rng) >= p) child->resolution = b->resolution;
    if (an_rng_uniform(rng) >= p) child->stem_width = b->stem_width;
    for (int i = 0; i < s->nstages; i++) {
        an_stage_arch *c = &child->stage[i];
        const an_stage_arch *y = &b->stage[i];
        if (an_rng_uniform(rng) >= p) c->width = y->width;
        if (an_rng_uniform(rng) >= p) c->depth = y->depth;
        if (an_rng_uniform(rng) >= p) c->kernel = y->kernel;
        if (an_rng_uniform(rng) >= p) c->expand = y->expand;
    }
    if (an_rng_uniform(rng) >= p) child->mix_width = b->mix_width;
}

void an_search_result_free(an_search_result *r)
{
    free(r->c);
    memset(r, 0, sizeof *r);
}

/* ---- evaluation tasks ---- */

typedef struct {
    an_config cfg;           /* eval.calib_batches = search.calib_batches */
    an_supernet *net;
    an_net_ws *ws;
    const an_dataset *calib, *data;
    const an_arch *archs;
    an_group one;
} task_ctx;

static an_status eval_task(void *wctx, int task, double *res)
{
    task_ctx *t = wctx;
    an_eval_result r;
    an_status st = an_evaluate(t->net, t->ws, &t->cfg, &t->archs[task], t->calib, t->data, &t->one, &r, NULL);
    res[0] = r.top1, res[1] = r.loss;
    return st;
}

/* ---- the coordinator's bookkeeping ---- */

static int seen(const an_search_result *r, const an_arch *pending, int np, const an_arch *a)
{
    for (int i = 0; i < r->n; i++)
        if (an_arch_equal(&r->c[i].arch, a)) return 1;
    for (int i = 0; i < np; i++)
        if (an_arch_equal(&pending[i], a)) return 1;
    return 0;
}

static const an_search_result *sort_res;
static int by_accuracy(const void *x, const void *y)
{
    const an_candidate *a = &sort_res->c[*(const int *)x], *b = &sort_res->c[*(const int *)y];
    if (a->top1 != b->top1) return a->top1 > b->top1 ? -1 : 1;
    if (a->mflops != b->mflops) return a->mflops < b->mflops ? -1 : 1;
    return *(const int *)x - *(const int *)y;
}

#define MAX_TRIES 20000

/* The next generation's candidates (root only); returns how many. */
static int propose(const an_config *cfg, an_rng *rng, const an_search_result *r, int gen, double lo, double hi,
                   an_arch *out, int cap)
{
    const an_space *s = &cfg->space;
    const an_search_cfg *sc = &cfg->search;
    int n = 0;
    if (gen == 0) {
        an_arch a;
        an_arch_smallest(s, &a);
        const double f = an_arch_flops(s, &a) / 1e6;
        if (f >= lo && f <= hi && n < cap) out[n++] = a;
        for (int tries = 0; n < sc->population && n < cap && tries < MAX_TRIES * sc->population; tries++) {
            an_arch_sample(s, rng, &a);
            const double fa = an_arch_flops(s, &a) / 1e6;
            if (fa >= lo && fa <= hi && !seen(r, out, n, &a)) out[n++] = a;
        }
        return n;
    }
    int *order = malloc(sizeof(int) * (size_t)(r->n > 0 ? r->n : 1));
    if (!order) return 0;
    for (int i = 0; i < r->n; i++) order[i] = i;
    sort_res = r;
    qsort(order, (size_t)r->n, sizeof(int), by_accuracy);
    const int np = r->n < sc->parents ? r->n : sc->parents;
    const int want = sc->mutations + sc->crossovers;
    for (int k = 0; k < want && n < cap && np > 0; k++) {
        for (int tries = 0; tries < MAX_TRIES; tries++) {
            an_arch child;
            if (k < sc->mutations) {
                an_arch_mutate(s, rng, &r->c[order[an_rng_below(rng, (uint32_t)np)]].arch, sc->mutate_prob, &child);
            } else {
                const an_arch *a = &r->c[order[an_rng_below(rng, (uint32_t)np)]].arch;
                const an_arch *b = &r->c[order[an_rng_below(rng, (uint32_t)np)]].arch;
                an_arch_crossover(s, rng, a, b, sc->crossover_prob, &child);
            }
            const double f = an_arch_flops(s, &child) / 1e6;
            if (f >= lo && f <= hi && !seen(r, out, n, &child)) {
                out[n++] = child;
                break;
            }
        }
    }
    free(order);
    return n;
}

int an_search_pareto(const an_search_result *r, double bucket_mflops, int *rows, int cap)
{
    int n = 0;
    for (int i = 0; i < r->n; i++) {
        const long b = (long)floor(r->c[i].mflops / bucket_mflops);
        int j = 0;
        while (j < n && (long)floor(r->c[rows[j]].mflops / bucket_mflops) != b) j++;
        if (j == n) {
            if (n == cap) continue;
            rows[n++] = i;
        } else {
            const an_candidate *cur = &r->c[rows[j]], *c = &r->c[i];
            if (c->top1 > cur->top1 || (c->top1 == cur->top1 && c->mflops < cur->mflops)) rows[j] = i;
        }
    }
    /* increasing FLOPs */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && r->c[rows[j]].mflops < r->c[rows[j - 1]].mflops; j--) {
            int t = rows[j];
            rows[j] = rows[j - 1], rows[j - 1] = t;
        }
    return n;
}

/* Broadcasts the candidates from the root and evaluates them as a farm; root gets results. */
static an_status evaluate_all(const an_group *g, task_ctx *t, an_arch *archs, int *n, double *results, double *busy,
                              double *idle)
{
    an_status st = g->bcast(g->ctx, n, sizeof *n, 0);
    if (st || *n == 0) return st;
    if ((st = g->bcast(g->ctx, archs, sizeof(an_arch) * (size_t)*n, 0))) return st;
    t->archs = archs;
    return g->farm(g->ctx, *n, 2, eval_task, t, results, busy, idle);
}

an_status an_search_run(const an_config *cfg, an_supernet *net, const an_dataset *calib, const an_dataset *val,
                        const an_dataset *test, const an_group *g, double lo, double hi, an_search_result *res,
                        FILE *progress)
{
    memset(res, 0, sizeof *res);
    const an_search_cfg *sc = &cfg->search;
    const an_space *s = &cfg->space;
    an_arch amin, amax;
    an_arch_smallest(s, &amin);
    an_arch_largest(s, &amax);
    const double fmin = an_arch_flops(s, &amin) / 1e6, fmax = an_arch_flops(s, &amax) / 1e6;
    if (!(lo <= hi) || hi < fmin || lo > fmax)
        return an_error(AN_ERR_ARG, "no subnet has %.3g..%.3g MFLOPs: the space spans %.3f (smallest) to %.3f (largest)",
                        lo, hi, fmin, fmax);
    const int cap = sc->population > sc->mutations + sc->crossovers ? sc->population : sc->mutations + sc->crossovers;
    task_ctx t = {.cfg = *cfg, .net = net, .calib = calib, .one = an_group_single()};
    t.cfg.eval.calib_batches = sc->calib_batches;
    an_dataset vlim = *val;
    if (sc->val_images > 0 && sc->val_images < vlim.n) vlim.n = sc->val_images;
    t.data = &vlim;
    an_arch *archs = malloc(sizeof(an_arch) * (size_t)cap);
    double *results = malloc(sizeof(double) * 2 * (size_t)cap);
    const int total_cap = sc->population + sc->generations * (sc->mutations + sc->crossovers) + 1;
    an_status st = an_net_ws_create(&t.ws);
    if (!st && (!archs || !results || (g->rank == 0 && !(res->c = calloc((size_t)total_cap, sizeof(an_candidate))))))
        st = an_error(AN_ERR_NOMEM, "out of memory (search of %d candidates)", total_cap);
    if ((st = g->agree(g->ctx, st))) goto out;
    an_rng rng;
    an_rng_seed(&rng, (uint64_t)sc->seed * 0x2545F4914F6CDD1Dull + 99);
    const double t0 = an_now();
    double busy = 0, idle = 0;
    for (int gen = 0; gen <= sc->generations; gen++) {
        int n = g->rank == 0 ? propose(cfg, &rng, res, gen, lo, hi, archs, cap) : 0;
        if ((st = evaluate_all(g, &t, archs, &n, results, &busy, &idle))) goto out;
        if (n == 0) break; /* nothing new can be proposed */
        if (g->rank == 0)
            for (int i = 0; i < n && res->n < total_cap; i++) {
                an_candidate *c = &res->c[res->n++];
                c->arch = archs[i];
                c->generation = gen;
                c->mflops = an_arch_flops(s, &archs[i]) / 1e6;
                c->mparams = an_arch_params(s, &archs[i]) / 1e6;
                c->top1 = results[2 * i], c->loss = results[2 * i + 1];
                c->test_top1 = -1;
            }
        if (g->rank == 0 && progress) {
            int best = 0;
            for (int i = 1; i < res->n; i++)
                if (res->c[i].top1 > res->c[best].top1) best = i;
            fprintf(progress, "  generation %d: %d new candidate(s), %d in all, best %.2f%% at %.2f MFLOPs, %.0f s\n", gen, n,
                    res->n, 100 * res->c[best].top1, res->c[best].mflops, an_now() - t0);
            fflush(progress);
        }
    }
    if (test) {
        /* the Pareto winners on the test set */
        int rows[256], n = 0;
        if (g->rank == 0) {
            n = an_search_pareto(res, sc->bucket_mflops, rows, 256);
            if (n > cap) n = cap;
            for (int i = 0; i < n; i++) archs[i] = res->c[rows[i]].arch;
        }
        t.data = test;
        if ((st = evaluate_all(g, &t, archs, &n, results, &busy, &idle))) goto out;
        if (g->rank == 0)
            for (int i = 0; i < n; i++) res->c[rows[i]].test_top1 = results[2 * i];
    }
    double bi[2] = {busy, idle};
    if ((st = g->sum_f64(g->ctx, bi, 2))) goto out;
    res->busy = bi[0], res->idle = bi[1];
    res->seconds = an_now() - t0;
out:
    an_net_ws_free(t.ws);
    free(archs);
    free(results);
    if (st) an_search_result_free(res);
    return st;
}

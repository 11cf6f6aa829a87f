/* distill.c - adaptive alpha-divergence and soft cross-entropy distillation (see distill.h). */
#include "alphanet/kernels/distill.h"

#include "alphanet/kernels/softmax.h"

#include <math.h>
#include <stddef.h>

typedef enum { BR_ZERO, BR_ONE, BR_GENERAL } branch;

static branch which(float a)
{
    if (fabsf(a) < 1e-3f) return BR_ZERO;
    if (fabsf(a - 1.0f) < 1e-3f) return BR_ONE;
    return BR_GENERAL;
}

/* Per-class term of branch `a`: adds to *d the class's share of D (before the general branch's
 * final affine map), returns c_j, sets *clip when the weight hit the clip. */
static double term(branch br, double a, double logc, double lq, double lp, double *d, int *clip)
{
    const double q = exp(lq), logw = lp - lq;
    *clip = 0;
    switch (br) {
    case BR_ZERO: {
        double logv = logw;
        if (logv > logc) { logv = logc; *clip = 1; }
        *d += q * -logv;
        return q * (logv - 1.0);
    }
    case BR_ONE: {
        const double p = exp(lp);
        *d += p * logw;
        return p;
    }
    case BR_GENERAL:
    default: {
        const double la = a * logw;
        double ai;
        if (la > logc) { ai = exp(logc); *clip = 1; }
        else ai = exp(la);
        *d += q * ai;
        return q * (ai / a + 1.0 / (a * (a - 1.0)));
    }
    }
}

static double finish_div(branch br, double a, double d)
{
    return br == BR_GENERAL ? (d - 1.0) / (a * (a - 1.0)) : d;
}

static double sample_div(const float *z, const float *t, int k, double lz, double lt, float alpha, double logc)
{
    const branch br = which(alpha);
    double d = 0.0;
    int clip;
    for (int j = 0; j < k; j++) term(br, alpha, logc, z[j] - lz, t[j] - lt, &d, &clip);
    return finish_div(br, alpha, d);
}

double an_alpha_div_one(const float *z, const float *t, int k, float alpha, float iw_clip)
{
    return sample_div(z, t, k, an_logsumexp(z, k), an_logsumexp(t, k), alpha, log((double)iw_clip));
}

static void add_entropies(an_distill_stats *st, const float *z, const float *t, int k, double lz, double lt)
{
    double hq = 0.0, hp = 0.0, kl = 0.0;
    for (int j = 0; j < k; j++) {
        const double lq = z[j] - lz, lp = t[j] - lt, q = exp(lq), p = exp(lp);
        hq -= q * lq;
        hp -= p * lp;
        kl += p * (lp - lq);
    }
    st->h_student += hq;
    st->h_teacher += hp;
    st->kl += kl;
}

float an_alpha_divergence(float *dz, const float *z, const float *t, int n, int k, float alpha_min,
                          float alpha_max, float iw_clip, float scale, an_distill_stats *st)
{
    const double logc = log((double)iw_clip);
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *zi = z + (ptrdiff_t)i * k, *ti = t + (ptrdiff_t)i * k;
        const double lz = an_logsumexp(zi, k), lt = an_logsumexp(ti, k);
        const double dmin = sample_div(zi, ti, k, lz, lt, alpha_min, logc);
        const double dmax = sample_div(zi, ti, k, lz, lt, alpha_max, logc);
        const int use_min = dmin > dmax;
        const float a = use_min ? alpha_min : alpha_max;
        const branch br = which(a);
        /* S = sum c, surrogate = -sum c log q, clip count */
        double s = 0.0, sur = 0.0, dd = 0.0;
        long clipped = 0;
        for (int j = 0; j < k; j++) {
            int clip;
            const double lq = zi[j] - lz;
            const double c = term(br, a, logc, lq, ti[j] - lt, &dd, &clip);
            s += c;
            sur -= c * lq;
            clipped += clip;
        }
        total += sur;
        if (dz) {
            const double g = (double)scale / n;
            float *di = dz + (ptrdiff_t)i * k;
            for (int j = 0; j < k; j++) {
                int clip;
                const double lq = zi[j] - lz, c = term(br, a, logc, lq, ti[j] - lt, &dd, &clip);
                di[j] += (float)(g * (exp(lq) * s - c));
            }
        }
        if (st) {
            st->samples++;
            st->divergence += use_min ? dmin : dmax;
            st->surrogate += sur;
            st->chose_min += use_min;
            st->clipped += clipped;
            st->weights += k;
            add_entropies(st, zi, ti, k, lz, lt);
        }
    }
    return (float)(total / n);
}

float an_kd_soft_ce(float *dz, const float *z, const float *t, int n, int k, float scale, an_distill_stats *st)
{
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *zi = z + (ptrdiff_t)i * k, *ti = t + (ptrdiff_t)i * k;
        const double lz = an_logsumexp(zi, k), lt = an_logsumexp(ti, k);
        double ce = 0.0;
        for (int j = 0; j < k; j++) ce -= exp(ti[j] - lt) * (zi[j] - lz);
        total += ce;
        if (dz) {
            const double g = (double)scale / n;
            float *di = dz + (ptrdiff_t)i * k;
            for (int j = 0; j < k; j++) di[j] += (float)(g * (exp(zi[j] - lz) - exp(ti[j] - lt)));
        }
        if (st) {
            const double kl0 = st->kl;
            st->samples++;
            st->surrogate += ce;
            st->weights += k;
            add_entropies(st, zi, ti, k, lz, lt);
            st->divergence += st->kl - kl0;
        }
    }
    return (float)(total / n);
}

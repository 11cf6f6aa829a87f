/* softmax.c - softmax, log-softmax and label-smoothed cross-entropy on [n][k] logits (see softmax.h).
 * Row sums are taken in double; the row maximum is subtracted first, so no exp overflows. */
#include "alphanet/kernels/softmax.h"

#include <math.h>
#include <stddef.h>

double an_logsumexp(const float *z, int k)
{
    float mx = z[0];
    for (int j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
    double s = 0.0;
    for (int j = 0; j < k; j++) s += exp((double)z[j] - mx);
    return mx + log(s);
}

void an_softmax_forward(float *p, const float *z, int n, int k)
{
    for (int i = 0; i < n; i++) {
        const float *zi = z + (ptrdiff_t)i * k;
        const double lse = an_logsumexp(zi, k);
        for (int j = 0; j < k; j++) p[(ptrdiff_t)i * k + j] = (float)exp((double)zi[j] - lse);
    }
}

void an_softmax_backward(float *dz, const float *dp, const float *p, int n, int k)
{
    for (int i = 0; i < n; i++) {
        const float *pi = p + (ptrdiff_t)i * k, *gi = dp + (ptrdiff_t)i * k;
        double dot = 0.0;
        for (int j = 0; j < k; j++) dot += (double)gi[j] * pi[j];
        for (int j = 0; j < k; j++) dz[(ptrdiff_t)i * k + j] += pi[j] * (float)(gi[j] - dot);
    }
}

void an_log_softmax_forward(float *lp, const float *z, int n, int k)
{
    for (int i = 0; i < n; i++) {
        const float *zi = z + (ptrdiff_t)i * k;
        const double lse = an_logsumexp(zi, k);
        for (int j = 0; j < k; j++) lp[(ptrdiff_t)i * k + j] = (float)((double)zi[j] - lse);
    }
}

void an_log_softmax_backward(float *dz, const float *dlp, const float *lp, int n, int k)
{
    for (int i = 0; i < n; i++) {
        const float *li = lp + (ptrdiff_t)i * k, *gi = dlp + (ptrdiff_t)i * k;
        double s = 0.0;
        for (int j = 0; j < k; j++) s += gi[j];
        for (int j = 0; j < k; j++) dz[(ptrdiff_t)i * k + j] += gi[j] - (float)(exp((double)li[j]) * s);
    }
}

float an_cross_entropy_ls(float *dz, const float *z, const int *labels, int n, int k, float eps, float scale)
{
    double total = 0.0;
    const double off = (double)eps / k, on = 1.0 - eps + off;
    for (int i = 0; i < n; i++) {
        const float *zi = z + (ptrdiff_t)i * k;
        const double lse = an_logsumexp(zi, k);
        const int y = labels[i];
        double sum_lp = 0.0;
        for (int j = 0; j < k; j++) sum_lp += (double)zi[j] - lse;
        total -= (1.0 - eps) * ((double)zi[y] - lse) + off * sum_lp;
        if (dz) {
            float *di = dz + (ptrdiff_t)i * k;
            const double g = (double)scale / n;
            for (int j = 0; j < k; j++) {
                const double t = j == y ? on : off;
                di[j] += (float)(g * (exp((double)zi[j] - lse) - t));
            }
        }
    }
    return (float)(total / n);
}

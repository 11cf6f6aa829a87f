/* test_distill.c - the distillation losses against their defining formulas, computed naively
 * here from p = softmax(t), q = softmax(z) and w = p / q in double:
 *   - the divergence at alpha = 0, 1, -1, 0.5 and 2 (clipped and not);
 *   - the adaptive choice (alpha_min branch only where D_min > D_max strictly);
 *   - the gradient: d/dz of the surrogate -sum c log q with c held constant, by central
 *     differences, and the closed forms of the default branches: (q - p)/B at alpha = 1 and
 *     c = q (1/2 - min(q/p, 5)) at alpha = -1;
 *   - statistics (entropies, KL, clip share, alpha_min share);
 *   - extreme logits (+-80 and disagreeing teacher) stay finite. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/kernels/distill.h"
#include "test.h"

static void softmax_d(double *p, const float *z, int k)
{
    double mx = z[0], s = 0.0;
    for (int j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
    for (int j = 0; j < k; j++) s += exp(z[j] - mx);
    for (int j = 0; j < k; j++) p[j] = exp(z[j] - mx) / s;
}

/* naive D and c for one sample at one alpha */
static double naive(const float *z, const float *t, int k, double a, double clip, double *c, int *nclip)
{
    double q[64], p[64], d = 0.0;
    softmax_d(q, z, k);
    softmax_d(p, t, k);
    *nclip = 0;
    for (int j = 0; j < k; j++) {
        double w = p[j] / q[j];
        if (fabs(a) < 1e-3) {
            double v = w < clip ? w : clip;
            *nclip += w > clip;
            d += q[j] * -log(v);
            c[j] = q[j] * (log(v) - 1.0);
        } else if (fabs(a - 1.0) < 1e-3) {
            d += q[j] * w * log(w);
            c[j] = p[j];
        } else {
            double ai = pow(w, a);
            *nclip += ai > clip;
            if (ai > clip) ai = clip;
            d += q[j] * ai;
            c[j] = q[j] * (ai / a + 1.0 / (a * (a - 1.0)));
        }
    }
    if (fabs(a) >= 1e-3 && fabs(a - 1.0) >= 1e-3) d = (d - 1.0) / (a * (a - 1.0));
    return d;
}

int main(void)
{
    enum { N = 6, K = 10 };
    float z[N * K], t[N * K];
    t_fill(z, N * K, 1, -3, 3);
    t_fill(t, N * K, 2, -4, 4);
    /* make sample 0's teacher sharp and sample 1's student sharp so both branches and clipping occur */
    t[3] = 9.0f;
    z[K + 5] = 8.0f;

    /* 1. divergence per alpha against the naive formula */
    const float alphas[] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, -0.5f};
    for (size_t a = 0; a < sizeof alphas / sizeof alphas[0]; a++)
        for (int i = 0; i < N; i++) {
            double c[K];
            int nc;
            double d_ref = naive(z + i * K, t + i * K, K, alphas[a], 5.0, c, &nc);
            double d = an_alpha_div_one(z + i * K, t + i * K, K, alphas[a], 5.0f);
            char what[64];
            snprintf(what, sizeof what, "D(alpha=%g) sample %d", alphas[a], i);
            CHECK_REL(what, d, d_ref, 1e-9, 1e-12);
        }

    /* 2. adaptive loss value, gradient, choice and statistics with the defaults (-1, 1, 5) */
    float dz[N * K];
    memset(dz, 0, sizeof dz);
    an_distill_stats st;
    memset(&st, 0, sizeof st);
    float loss = an_alpha_divergence(dz, z, t, N, K, -1.0f, 1.0f, 5.0f, 1.0f, &st);
    double sur_ref = 0.0, div_ref = 0.0, dz_ref[N * K], hp = 0.0, hq = 0.0, kl = 0.0;
    long chose_min = 0, clipped = 0;
    for (int i = 0; i < N; i++) {
        double cmin[K], cmax[K], q[K], p[K];
        int ncmin, ncmax;
        double dmin = naive(z + i * K, t + i * K, K, -1.0, 5.0, cmin, &ncmin);
        double dmax = naive(z + i * K, t + i * K, K, 1.0, 5.0, cmax, &ncmax);
        int use_min = dmin > dmax;
        chose_min += use_min;
        clipped += use_min ? ncmin : 0; /* alpha = 1 is never clipped */
        double *c = use_min ? cmin : cmax, s = 0.0;
        softmax_d(q, z + i * K, K);
        softmax_d(p, t + i * K, K);
        for (int j = 0; j < K; j++) {
            s += c[j];
            sur_ref -= c[j] * log(q[j]);
            hp -= p[j] * log(p[j]);
            hq -= q[j] * log(q[j]);
            kl += p[j] * log(p[j] / q[j]);
        }
        div_ref += use_min ? dmin : dmax;
        for (int j = 0; j < K; j++) {
            dz_ref[i * K + j] = (q[j] * s - c[j]) / N;
            /* closed forms of docs/algorithm.md for the default branches */
            double closed = use_min ? q[j] * (0.5 - fmin(q[j] / p[j], 5.0)) : p[j];
            CHECK_REL("closed-form c", c[j], closed, 1e-9, 1e-12);
        }
    }
    CHECK_MSG(chose_min > 0 && chose_min < N, "both branches should occur (chose_min = %ld)", chose_min);
    CHECK_MSG(clipped > 0, "some weights should hit the clip");
    CHECK_REL("adaptive surrogate", loss, sur_ref / N, 1e-6, 1e-6);
    float dzr[N * K];
    for (int i = 0; i < N * K; i++) dzr[i] = (float)dz_ref[i];
    CHECK_CLOSE("adaptive dz", dz, dzr, N * K, 1e-6);
    CHECK(st.samples == N && st.weights == N * K);
    CHECK(st.chose_min == chose_min);
    CHECK(st.clipped == clipped);
    CHECK_REL("divergence stat", st.divergence, div_ref, 1e-9, 1e-9);
    CHECK_REL("H(p)", st.h_teacher, hp, 1e-9, 1e-9);
    CHECK_REL("H(q)", st.h_student, hq, 1e-9, 1e-9);
    CHECK_REL("KL", st.kl, kl, 1e-9, 1e-9);

    /* 3. gradient by central differences of the surrogate with c frozen at the base point */
    {
        double cfix[N][K];
        for (int i = 0; i < N; i++) {
            double cmin[K], cmax[K];
            int nc;
            double dmin = naive(z + i * K, t + i * K, K, -1.0, 5.0, cmin, &nc);
            double dmax = naive(z + i * K, t + i * K, K, 1.0, 5.0, cmax, &nc);
            memcpy(cfix[i], dmin > dmax ? cmin : cmax, sizeof cmin);
        }
        float num[N * K];
        for (int idx = 0; idx < N * K; idx++) {
            double l[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                float zz[N * K];
                memcpy(zz, z, sizeof zz);
                zz[idx] += sgn ? -1e-2f : 1e-2f;
                double acc = 0.0;
                for (int i = 0; i < N; i++) {
                    double q[K];
                    softmax_d(q, zz + i * K, K);
                    for (int j = 0; j < K; j++) acc -= cfix[i][j] * log(q[j]);
                }
                l[sgn] = acc / N;
            }
            num[idx] = (float)((l[0] - l[1]) / ((double)(z[idx] + 1e-2f) - (double)(z[idx] - 1e-2f)));
        }
        CHECK_CLOSE("adaptive dz vs finite differences", dz, num, N * K, 1e-3);
    }

    /* 4. scale and accumulation */
    {
        float dz2[N * K];
        for (int i = 0; i < N * K; i++) dz2[i] = 1.0f;
        an_alpha_divergence(dz2, z, t, N, K, -1.0f, 1.0f, 5.0f, 0.5f, NULL);
        float expect[N * K];
        for (int i = 0; i < N * K; i++) expect[i] = 1.0f + 0.5f * dz[i];
        CHECK_CLOSE("scale 0.5, accumulate", dz2, expect, N * K, 1e-6);
    }

    /* 5. kl: soft cross-entropy, gradient (q - p) / n, divergence KL(p||q) */
    {
        float dk[N * K];
        memset(dk, 0, sizeof dk);
        an_distill_stats sk;
        memset(&sk, 0, sizeof sk);
        float l = an_kd_soft_ce(dk, z, t, N, K, 1.0f, &sk);
        double ce = 0.0;
        float ex[N * K];
        for (int i = 0; i < N; i++) {
            double q[K], p[K];
            softmax_d(q, z + i * K, K);
            softmax_d(p, t + i * K, K);
            for (int j = 0; j < K; j++) {
                ce -= p[j] * log(q[j]);
                ex[i * K + j] = (float)((q[j] - p[j]) / N);
            }
        }
        CHECK_REL("soft CE", l, ce / N, 1e-6, 1e-6);
        CHECK_CLOSE("soft CE dz", dk, ex, N * K, 1e-6);
        CHECK_REL("kl divergence stat", sk.divergence, kl, 1e-9, 1e-9);
        /* with alpha_max = 1, a sample on the alpha_max side has exactly the KD gradient */
    }

    /* 6. same alpha on both sides: behaves as the single-alpha loss (alpha = 1 gives KD) */
    {
        float d1[N * K], d2[N * K];
        memset(d1, 0, sizeof d1);
        memset(d2, 0, sizeof d2);
        an_alpha_divergence(d1, z, t, N, K, 1.0f, 1.0f, 5.0f, 1.0f, NULL);
        an_kd_soft_ce(d2, z, t, N, K, 1.0f, NULL);
        CHECK_CLOSE("alpha 1 == KD gradient", d1, d2, N * K, 1e-6);
    }

    /* 7. extreme logits: finite everything */
    {
        float ze[2 * K], te[2 * K], de[2 * K];
        for (int j = 0; j < K; j++) {
            ze[j] = j == 0 ? 80.0f : -80.0f;
            te[j] = j == K - 1 ? 80.0f : -80.0f; /* teacher disagrees completely */
            ze[K + j] = (float)(j * 17 % 7) * 20.0f - 60.0f;
            te[K + j] = -ze[K + j];
        }
        memset(de, 0, sizeof de);
        an_distill_stats se;
        memset(&se, 0, sizeof se);
        float l = an_alpha_divergence(de, ze, te, 2, K, -1.0f, 1.0f, 5.0f, 1.0f, &se);
        int finite = isfinite(l) && isfinite(se.divergence) && isfinite(se.kl) && isfinite(se.h_student);
        for (int j = 0; j < 2 * K; j++) finite &= isfinite(de[j]);
        CHECK_MSG(finite, "non-finite result on extreme logits (loss %g)", l);
        /* importance-weight clip: the gradient is bounded by a small multiple of C */
        float mx = 0.0f;
        for (int j = 0; j < 2 * K; j++) mx = fabsf(de[j]) > mx ? fabsf(de[j]) : mx;
        CHECK_MSG(mx < 10.0f, "gradient %g not bounded by the clip", mx);
        float lk = an_kd_soft_ce(de, ze, te, 2, K, 1.0f, NULL);
        CHECK(isfinite(lk));
    }
    return TEST_SUMMARY();
}

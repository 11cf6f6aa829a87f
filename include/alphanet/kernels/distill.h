/* distill.h - the distillation losses of AlphaNet's sandwich rule, on logits [n][k]:
 * student z, teacher t (constant: no gradient flows into the teacher).
 *
 * All three return the mean over the n samples of the per-sample surrogate loss whose gradient
 * is taken, and add scale * d(mean surrogate)/dz into dz (if dz is not NULL). They also add the
 * statistics of ALGORITHM.md section 1 into `st` (if not NULL), for logging and reduction over
 * ranks. Everything is computed from log-softmax in double, so finite logits give finite
 * results (no 0 * inf from importance weights of underflowed probabilities).
 *
 * Adaptive alpha-divergence (AlphaNet): q = softmax(z), p = softmax(t), w = p / q. For each
 * sample the divergence D_a is evaluated at a = alpha_min and a = alpha_max; the alpha_min
 * branch is used where D_min > D_max strictly. Per branch, with clip C = iw_clip:
 *   |a| < 1e-3:    v = min(w, C),   D = sum q (-log v),                 c = q (log v - 1)
 *   |a - 1| < 1e-3:                 D = sum p log w = KL(p || q),       c = p
 *   otherwise:     a_i = min(w^a, C), D = (sum q a_i - 1) / (a (a - 1)), c = q (a_i / a + 1 / (a (a - 1)))
 * surrogate L = -sum c log q, dL/dz_j = q_j sum_i c_i - c_j.
 */
#ifndef ALPHANET_KERNELS_DISTILL_H
#define ALPHANET_KERNELS_DISTILL_H

typedef struct {
    long samples;         /* samples accumulated */
    double divergence;    /* sum of the chosen divergence D (alpha); KL(p||q) (kl); CE (none) */
    double surrogate;     /* sum of the per-sample surrogate loss */
    long chose_min;       /* samples that used the alpha_min branch */
    long clipped;         /* importance weights (sample, class) that hit the clip, chosen branch */
    long weights;         /* importance weights counted (samples * classes) */
    double h_teacher;     /* sum of teacher entropies H(p) */
    double h_student;     /* sum of student entropies H(q) */
    double kl;            /* sum of KL(p || q) */
} an_distill_stats;

float an_alpha_divergence(float *dz, const float *z, const float *t, int n, int k, float alpha_min,
                          float alpha_max, float iw_clip, float scale, an_distill_stats *st);

/* Inplace distillation (the `kl` option): soft cross-entropy -sum p log q; gradient (q - p) / n.
 * The divergence it reports is KL(p || q), which differs from the loss by H(p). */
float an_kd_soft_ce(float *dz, const float *z, const float *t, int n, int k, float scale, an_distill_stats *st);

/* Divergence of one sample at one alpha (exposed for tests and analysis). */
double an_alpha_div_one(const float *z, const float *t, int k, float alpha, float iw_clip);

#endif

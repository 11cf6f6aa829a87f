/* softmax.h - softmax, log-softmax and label-smoothed cross-entropy over logits z [n][k]
 * (one row per sample). All are computed with the row maximum subtracted, so extreme logits give
 * finite results.
 */
#ifndef ALPHANET_KERNELS_SOFTMAX_H
#define ALPHANET_KERNELS_SOFTMAX_H

/* log(sum_j exp(z_j)) of one row of k logits, in double, with the maximum subtracted first. */
double an_logsumexp(const float *z, int k);

void an_softmax_forward(float *p, const float *z, int n, int k);
/* dz += p * (dp - sum_j dp_j p_j), per row, from the forward's output p. */
void an_softmax_backward(float *dz, const float *dp, const float *p, int n, int k);
void an_log_softmax_forward(float *lp, const float *z, int n, int k);
/* dz += dlp - softmax(z) * sum_j dlp_j, per row, from the forward's output lp. */
void an_log_softmax_backward(float *dz, const float *dlp, const float *lp, int n, int k);

/* Label-smoothed cross-entropy, mean over the n samples:
 *   target t = (1 - eps) * onehot(label) + eps / k,  loss = -(1/n) sum_i sum_j t_ij log softmax(z_i)_j.
 * Returns the loss. If dz is not NULL: dz += scale * (softmax(z) - t) / n.
 * labels must lie in [0, k). */
float an_cross_entropy_ls(float *dz, const float *z, const int *labels, int n, int k, float eps, float scale);

#endif

/* dwconv.h - depthwise k x k convolution (groups = channels, no bias), stride 1 or 2, padding k/2,
 * any odd k (3, 5 and 7 are used).
 *
 * x [c][h][wd][n], y [c][ho][wo][n] (CHWN, layout.h): each tap is a multiply-add over the n
 * samples of one pixel, contiguous, with the padding tests outside that loop.
 * Weight view: channel ch's k x k kernel starts at w + ch * wcs, rows wrs apart. For a kernel
 * stored as [C][1][K][K] and used whole: wcs = K*K, wrs = K. The active k x k centre crop of a
 * K x K kernel is the view an_dwconv_view(w, K, k) with the same strides: no copy.
 */
#ifndef ALPHANET_KERNELS_DWCONV_H
#define ALPHANET_KERNELS_DWCONV_H

#include <stddef.h>

/* Pointer to the first element of the centred k x k crop of K x K kernels (K, k odd, k <= K). */
static inline const float *an_dwconv_view(const float *w, int K, int k) { return w + (K - k) / 2 * (K + 1); }
static inline float *an_dwconv_view_mut(float *w, int K, int k) { return w + (K - k) / 2 * (K + 1); }

/* forward overwrites y. */
void an_dwconv_forward(float *y, const float *x, const float *w, ptrdiff_t wcs, ptrdiff_t wrs,
                       int c, int n, int h, int wd, int k, int s);
/* dx += (= when accumulate is 0; NULL to skip), dw += into the same view. */
void an_dwconv_backward(float *dx, int accumulate, float *dw, const float *dy, const float *x, const float *w,
                        ptrdiff_t wcs, ptrdiff_t wrs, int c, int n, int h, int wd, int k, int s);

void an_dwconv_forward_ref(float *y, const float *x, const float *w, ptrdiff_t wcs, ptrdiff_t wrs,
                           int c, int n, int h, int wd, int k, int s);
void an_dwconv_backward_ref(float *dx, float *dw, const float *dy, const float *x, const float *w,
                            ptrdiff_t wcs, ptrdiff_t wrs, int c, int n, int h, int wd, int k, int s);

#endif

/* window.h - private helper shared by the sliding-window kernels (conv, dwconv). */
#ifndef ALPHANET_KERNELS_WINDOW_H
#define ALPHANET_KERNELS_WINDOW_H

/* Output positions o in [lo, hi) whose input position o*s - pad + kk lies inside [0, in), for
 * `out` outputs. lo <= hi always; explicit floors because C division truncates toward zero. */
static inline void an_window_range(int *lo, int *hi, int in, int out, int pad, int kk, int s)
{
    int l = kk >= pad ? 0 : (pad - kk + s - 1) / s;
    int top = in - 1 + pad - kk; /* o * s <= top */
    int h = top < 0 ? 0 : top / s + 1;
    if (h > out) h = out;
    if (l > out) l = out;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

#endif

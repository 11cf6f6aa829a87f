/* test.c - see test.h. */
#include "test.h"

#include <stdint.h>

int t_passed = 0, t_failed = 0;

int t_close_arrays(const char *file, int line, const char *what, const float *a, const float *b, size_t n,
                   double rtol, double floor)
{
    double scale = floor, worst = 0.0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)b[i]) > scale) scale = fabs((double)b[i]);
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= worst)) { /* also catches NaN */
            worst = isnan(d) ? INFINITY : d;
            wi = i;
        }
    }
    if (n == 0 || worst <= rtol * scale) return 1;
    fprintf(stderr, "%s:%d: %s: max abs diff %.6g at [%zu] (%.9g vs %.9g), scale %.6g, rel %.3g > %.3g\n", file,
            line, what, worst, wi, (double)a[wi], (double)b[wi], scale, worst / scale, rtol);
    return 0;
}

int t_summary(const char *prog)
{
    printf("%s: %d passed, %d failed\n", prog, t_passed, t_failed);
    return t_failed ? 1 : (t_passed ? 0 : 1); /* a test that checked nothing fails */
}

void t_fill(float *x, size_t n, unsigned seed, float lo, float hi)
{
    uint64_t s = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
}

/* test.h - a minimal test harness. Each test program registers checks with the macros below
 * and ends with TEST_SUMMARY(), which prints "N passed, N failed" and returns non-zero on any
 * failure, so ctest sees it. A check that fails prints file, line and values. */
#ifndef ALPHANET_TESTS_TEST_H
#define ALPHANET_TESTS_TEST_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>

extern int t_passed, t_failed;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) t_passed++;                                                           \
        else { t_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
    } while (0)

#define CHECK_MSG(cond, ...)                                                            \
    do {                                                                                \
        if (cond) t_passed++;                                                           \
        else { t_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
               fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); }                     \
    } while (0)

/* Relative comparison of two arrays: passes when
 *   max_i |a_i - b_i| <= rtol * max(max_i |b_i|, floor)
 * i.e. the error is measured against the scale of the reference array, which is robust for
 * entries near zero. Prints the worst element on failure. */
int t_close_arrays(const char *file, int line, const char *what, const float *a, const float *b, size_t n,
                   double rtol, double floor);
#define CHECK_CLOSE(what, a, b, n, rtol) \
    do { if (t_close_arrays(__FILE__, __LINE__, (what), (a), (b), (n), (rtol), 1e-30)) t_passed++; else t_failed++; } while (0)

/* Scalar relative check: |a - b| <= rtol * max(|b|, floor). */
#define CHECK_REL(what, a, b, rtol, floor)                                               \
    do { double _a = (a), _b = (b), _s = fabs(_b) > (floor) ? fabs(_b) : (floor);        \
         if (fabs(_a - _b) <= (rtol) * _s && _a == _a) t_passed++;                       \
         else { t_failed++; fprintf(stderr, "%s:%d: %s: %.9g vs %.9g (rel %.3g > %.3g)\n", \
                __FILE__, __LINE__, (what), _a, _b, fabs(_a - _b) / _s, (double)(rtol)); } } while (0)

int t_summary(const char *prog);
#define TEST_SUMMARY() t_summary(__FILE__)

/* Deterministic pseudo-random fill in [lo, hi). */
void t_fill(float *x, size_t n, unsigned seed, float lo, float hi);

#endif

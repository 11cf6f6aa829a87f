/* test_space.c - search spaces, archs and FLOPs:
 *   - the FLOPs counter against AlphaNet's published figures on the ImageNet space
 *     (A0 = smallest = 203, A1 279, A4 444, A6 709, largest about 1939 MFLOPs, +-1);
 *   - the default Fashion-MNIST space: largest about 15.7 and smallest about 1.5 MFLOPs with 3
 *     input channels, slightly less with its own 1;
 *   - arch text round trips, presets, sampling stays inside the space and covers every choice,
 *     and invalid archs are rejected with a message naming the gene. */
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/config.h"
#include "alphanet/nn/space.h"
#include "test.h"

#ifndef CONFIG_DIR
#error "CONFIG_DIR must point at configs/"
#endif

static void load(an_config *c, const char *name, int nset, char *const *sets)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", CONFIG_DIR, name);
    an_status st = an_config_load(c, path, nset, sets);
    CHECK_MSG(st == AN_OK, "loading %s: %s", name, an_error_message());
    if (st) exit(1);
}

static double mflops(const an_space *s, const char *arch)
{
    an_arch a;
    an_status st = an_arch_parse(s, arch, &a);
    CHECK_MSG(st == AN_OK, "parse '%s': %s", arch, an_error_message());
    return an_arch_flops(s, &a) / 1e6;
}

int main(void)
{
    an_config c;
    load(&c, "alphanet-imagenet.yaml", 0, NULL);
    const an_space *s = &c.space;
    struct { const char *name; double mf; } pub[] = {{"a0", 203}, {"a1", 279}, {"a4", 444}, {"a6", 709}, {"max", 1939}};
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++) {
        double mf = mflops(s, pub[i].name);
        printf("ImageNet %-4s %8.2f MFLOPs (published %g)\n", pub[i].name, mf, pub[i].mf);
        CHECK_MSG(mf > pub[i].mf - 1.0 && mf < pub[i].mf + 1.0, "%s: %.2f MFLOPs, published %g", pub[i].name, mf,
                  pub[i].mf);
    }
    an_arch a0, amin;
    an_arch_parse(s, "a0", &a0);
    an_arch_smallest(s, &amin);
    CHECK_MSG(an_arch_equal(&a0, &amin), "A0 must be the smallest subnet");

    /* Fashion-MNIST space */
    an_config f;
    load(&f, "fmnist.yaml", 0, NULL);
    double fmax = mflops(&f.space, "max"), fmin = mflops(&f.space, "min");
    char *rgb[] = {"space.in_channels=3", "data.mean=[0.5, 0.5, 0.5]", "data.std=[0.5, 0.5, 0.5]"};
    an_config f3;
    load(&f3, "fmnist.yaml", 3, rgb);
    double fmax3 = mflops(&f3.space, "max"), fmin3 = mflops(&f3.space, "min");
    printf("fmnist largest %.2f (3 ch: %.2f), smallest %.2f (3 ch: %.2f) MFLOPs\n", fmax, fmax3, fmin, fmin3);
    CHECK_MSG(fabs(fmax3 - 15.7) < 0.15, "fmnist largest (3 channels) %.2f, expected about 15.7", fmax3);
    CHECK_MSG(fabs(fmin3 - 1.5) < 0.1, "fmnist smallest (3 channels) %.2f, expected about 1.5", fmin3);
    CHECK(fmax < fmax3 && fmin < fmin3);

    /* text form round trip */
    const char *txt = "r24 s8 16/2/3/1 24/1/5/4 32/3/3/6 40/2/5/3 48/1/3/4 72/2/5/6 80/1/3/6 h256";
    an_arch a, b;
    CHECK_MSG(an_arch_parse(&f.space, txt, &a) == AN_OK, "%s", an_error_message());
    char buf[AN_ARCH_TEXT_MAX];
    an_arch_format(&a, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, txt), "round trip gave '%s'", buf);
    CHECK(an_arch_parse(&f.space, buf, &b) == AN_OK && an_arch_equal(&a, &b));
    an_arch_largest(&f.space, &a);
    an_arch_format(&a, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "r28 s16 16/2/5/1 24/3/5/6 32/3/5/6 40/3/5/6 56/3/5/6 72/2/5/6 96/1/5/6 h320"), "largest: %s", buf);

    /* invalid archs: each message names the offending gene */
    struct { const char *arch, *must; } bad[] = {
        {"r30 s16 16/2/5/1 24/3/5/6 32/3/5/6 40/3/5/6 56/3/5/6 72/2/5/6 96/1/5/6 h320", "resolution 30"},
        {"r28 s16 16/4/5/1 24/3/5/6 32/3/5/6 40/3/5/6 56/3/5/6 72/2/5/6 96/1/5/6 h320", "mb1 depth 4"},
        {"r28 s16 16/2/5/1 24/3/7/6 32/3/5/6 40/3/5/6 56/3/5/6 72/2/5/6 96/1/5/6 h320", "mb2 kernel 7"},
        {"r28 s16 16/2/5/1 24/3/5/6 32/3/5/6 40/3/5/6 56/3/5/6 72/2/5/6 96/1/5/6", "'h<head mixing width>'"},
        {"r28 s16 16/2/5/1 24/3/5 32/3/5/6 40/3/5/6 56/3/5/6 72/2/5/6 96/1/5/6 h320", "stage 2 (mb2)"},
        {"r28 s16 16/2/5/1 24/3/5/6 32/3/5/6 40/3/5/6 56/3/5/6 72/2/5/6 96/1/5/6 h320 x", "trailing"},
        {"a4", "preset 'a4' (an ImageNet model) does not fit this space: resolution 256"},
        {"", "expected 'r<resolution>'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        an_status st = an_arch_parse(&f.space, bad[i].arch, &a);
        CHECK_MSG(st == AN_ERR_ARG && strstr(an_error_message(), bad[i].must), "'%s' -> '%s' (wanted '%s')", bad[i].arch,
                  an_error_message(), bad[i].must);
    }
    /* presets fit the ImageNet space only; "a4" there works */
    CHECK(an_arch_parse(s, "alphanet-a4", &a) == AN_OK && a.resolution == 256);

    /* sampling: inside the space, every choice of every gene drawn */
    an_rng rng;
    an_rng_seed(&rng, 42);
    int seen_res[AN_MAX_CHOICES] = {0}, seen_depth3 = 0, valid = 1;
    for (int i = 0; i < 2000; i++) {
        an_arch_sample(&f.space, &rng, &a);
        valid &= an_arch_validate(&f.space, &a) == AN_OK;
        for (int k = 0; k < f.space.resolution.n; k++) seen_res[k] += a.resolution == f.space.resolution.v[k];
        seen_depth3 += a.stage[1].depth == 3;
    }
    CHECK(valid);
    for (int k = 0; k < f.space.resolution.n; k++)
        CHECK_MSG(seen_res[k] > 2000 / 3 - 120 && seen_res[k] < 2000 / 3 + 120, "resolution %d drawn %d times",
                  f.space.resolution.v[k], seen_res[k]);
    CHECK_MSG(seen_depth3 > 2000 / 3 - 120 && seen_depth3 < 2000 / 3 + 120, "mb2 depth 3 drawn %d times", seen_depth3);
    /* the same seed gives the same sequence */
    an_rng r1, r2;
    an_rng_seed(&r1, 7);
    an_rng_seed(&r2, 7);
    an_arch_sample(&f.space, &r1, &a);
    an_arch_sample(&f.space, &r2, &b);
    CHECK(an_arch_equal(&a, &b));
    CHECK(an_make_divisible(16 * 6, 8) == 96 && an_make_divisible(144 / 4, 8) == 40 && an_make_divisible(3, 8) == 8 &&
          an_make_divisible(20, 8) == 24 && an_make_divisible(36, 8) == 40);
    return TEST_SUMMARY();
}

/* test_alloc.c - an_alloc's placement: small blocks on 64-byte lines; blocks of 4 MB or more
 * (the activation arenas, gradients, the dataset) on a 2 MB boundary and advised for transparent
 * huge pages (the kernel's "hg" flag on the block's mapping in /proc/self/smaps), unless
 * ALPHANET_HUGEPAGES=0. Whether Linux then grants huge pages depends on the machine (its THP
 * mode, free memory), so the test checks the advice, which is ours, not the grant. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/common.h"
#include "test.h"

/* Whether the mapping holding p carries VmFlag `flag`: 1 yes, 0 no, -1 mapping not found. */
static int vma_flag(const void *p, const char *flag)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    const uintptr_t a = (uintptr_t)p;
    char line[512];
    int inside = 0, found = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char dash;
        if (sscanf(line, "%lx%c%lx ", &lo, &dash, &hi) == 3 && dash == '-' && strchr(line, ' ')) {
            inside = a >= lo && a < hi;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            char want[8];
            snprintf(want, sizeof want, " %s", flag);
            char *s = line + 8;
            found = 0;
            for (char *q = strstr(s, want); q; q = strstr(q + 1, want))
                if (q[strlen(want)] == ' ' || q[strlen(want)] == '\n') found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

int main(void)
{
    const size_t big = ((size_t)8 << 20) + 100;
    /* turned off: no advice on a large block. First, as a freed block's memory may be handed out
     * again with the advice its earlier owner asked for. */
    setenv("ALPHANET_HUGEPAGES", "0", 1);
    char *o = an_alloc(big);
    CHECK(o != NULL);
    if (o) {
        memset(o, 5, big);
        CHECK_MSG(vma_flag(o, "hg") == 0, "ALPHANET_HUGEPAGES=0 still advised huge pages (%d)", vma_flag(o, "hg"));
    }
    an_free(o);
    unsetenv("ALPHANET_HUGEPAGES");

    /* small: 64-byte aligned, no advice asked */
    float *s = an_alloc(1000);
    CHECK(s && (uintptr_t)s % 64 == 0);
    if (s) memset(s, 1, 1000);
    an_free(s);

    /* large: 2 MB aligned, advised, usable to its last byte */
    char *b = an_alloc(big);
    CHECK(b && (uintptr_t)b % ((size_t)2 << 20) == 0);
    if (b) {
        memset(b, 7, big);
        CHECK(b[big - 1] == 7);
        CHECK_MSG(vma_flag(b, "hg") == 1, "an 8 MB block's mapping is not advised for huge pages (%d)",
                  vma_flag(b, "hg"));
        CHECK_MSG(vma_flag(b + big - 1, "hg") == 1, "the block's last byte lies outside the advised mapping");
    }
    an_free(b);

    /* calloc: zeroed, on the same placement */
    unsigned char *z = an_calloc((size_t)5 << 20);
    CHECK(z && (uintptr_t)z % ((size_t)2 << 20) == 0);
    if (z) {
        size_t nonzero = 0;
        for (size_t i = 0; i < ((size_t)5 << 20); i++) nonzero += z[i] != 0;
        CHECK(nonzero == 0);
    }
    an_free(z);

    /* just under the threshold: the ordinary placement */
    char *u = an_alloc(((size_t)4 << 20) - 128);
    CHECK(u && (uintptr_t)u % 64 == 0);
    if (u) memset(u, 3, ((size_t)4 << 20) - 128);
    an_free(u);

    return TEST_SUMMARY();
}

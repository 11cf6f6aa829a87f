/* prof.c - the step profile's accumulators (see prof.h). */
#include "alphanet/prof.h"

#include <string.h>

int an_prof_enabled;
double an_prof_seconds[AN_PROF_KINDS];
double an_prof_subnet_seconds[AN_PROF_SUBNETS][2];

const char *an_prof_name(an_prof_kind k)
{
    static const char *const names[AN_PROF_KINDS] = {"GEMM convolutions", "depthwise + its BN", "normalisation",
                                                     "activations", "squeeze-excite", "resize",
                                                     "loss", "optimizer", "communication", "other kernels"};
    return k >= 0 && k < AN_PROF_KINDS ? names[k] : "?";
}

void an_prof_reset(void)
{
    memset(an_prof_seconds, 0, sizeof an_prof_seconds);
    memset(an_prof_subnet_seconds, 0, sizeof an_prof_subnet_seconds);
}

/* fuzz_arch.c - libFuzzer harness for the arch parser on the default Fashion-MNIST space and the
 * ImageNet space: any text must parse or fail with a message; a parsed arch must be valid for
 * the space, format to text that parses back to the same arch, and have finite, positive FLOPs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/config.h"
#include "alphanet/nn/space.h"

static an_config spaces[2];
static int ready;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!ready) {
        if (an_config_load(&spaces[0], CONFIG_DIR "/fmnist.yaml", 0, NULL) ||
            an_config_load(&spaces[1], CONFIG_DIR "/alphanet-imagenet.yaml", 0, NULL)) {
            fprintf(stderr, "cannot load the configs: %s\n", an_error_message());
            abort();
        }
        ready = 1;
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    for (int k = 0; k < 2; k++) {
        const an_space *s = &spaces[k].space;
        an_arch a, b;
        if (an_arch_parse(s, text, &a) != AN_OK) {
            if (!an_error_message()[0]) abort();
            continue;
        }
        if (an_arch_validate(s, &a) != AN_OK) abort();
        char back[AN_ARCH_TEXT_MAX];
        an_arch_format(&a, back, sizeof back);
        if (an_arch_parse(s, back, &b) != AN_OK || !an_arch_equal(&a, &b)) {
            fprintf(stderr, "'%s' parsed, formatted as '%s', which does not parse back to it\n", text, back);
            abort();
        }
        const double f = an_arch_flops(s, &a);
        if (!(f > 0) || !isfinite(f)) abort();
    }
    free(text);
    return 0;
}

/* fuzz_config.c - libFuzzer harness for the YAML config loader: any input must load or fail
 * with a message, never crash or leak; a config that loads must dump to YAML that loads back
 * to the same dump (the round trip `alphanet train` relies on for config.yaml). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/config.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    an_config c;
    if (an_config_parse(&c, (const char *)data, size, "fuzz.yaml", 0, NULL) != AN_OK) {
        if (!an_error_message()[0]) abort(); /* a failure must say why */
        return 0;
    }
    char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    FILE *m = open_memstream(&a, &la);
    an_config_dump(&c, m);
    fclose(m);
    an_config d;
    if (an_config_parse(&d, a, la, "dump.yaml", 0, NULL) != AN_OK) {
        fprintf(stderr, "the dump of a valid config does not load: %s\n%s", an_error_message(), a);
        abort();
    }
    m = open_memstream(&b, &lb);
    an_config_dump(&d, m);
    fclose(m);
    if (la != lb || memcmp(a, b, la) != 0) {
        fprintf(stderr, "dump -> load -> dump changed the config:\n%s\n---\n%s", a, b);
        abort();
    }
    free(a);
    free(b);
    return 0;
}

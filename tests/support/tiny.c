/* tiny.c - see tiny.h. */
#include "tiny.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

void t_tiny_supernet(an_config *c, an_supernet *net, unsigned seed)
{
    if (an_config_load(c, FIXTURE_DIR "/supernet/tiny.yaml", 0, NULL) || an_supernet_create(net, &c->space)) {
        fprintf(stderr, "FIXTURE ERROR: tiny supernet: %s\n", an_error_message());
        exit(2);
    }
    an_supernet_init(net, seed);
    for (int i = 0; i < net->nparams; i++)
        if (strstr(net->params[i].name, ".bn.")) {
            const an_param *p = &net->params[i];
            const int gamma = strstr(p->name, ".weight") != NULL;
            t_fill(net->w + p->offset, p->count, (unsigned)i + 1000u * seed, gamma ? 0.5f : -0.2f, gamma ? 1.5f : 0.2f);
        }
}

/* tiny.h - the tiny test space (tests/fixtures/supernet/tiny.yaml) as a ready supernet: default
 * initialisation, then every BN gamma from U(0.5, 1.5) and beta from U(-0.2, 0.2), so that no
 * branch hides behind a zero project-BN gamma. Exits the test on failure. */
#ifndef ALPHANET_TESTS_TINY_H
#define ALPHANET_TESTS_TINY_H

#include "alphanet/io/config.h"
#include "alphanet/nn/supernet.h"

void t_tiny_supernet(an_config *c, an_supernet *net, unsigned seed);

#endif

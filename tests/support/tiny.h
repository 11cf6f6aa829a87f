/* tiny.h - the tiny test space (tests/fixtures/supernet/tiny.yaml) as a ready supernet: default
 * initialisation, then every BN gamma from U(0.5, 1.5) and beta from U(-0.2, 0.2), so that no
 * branch hides behind a zero project-BN gamma. Exits the test on failure. */
#ifndef ALPHANET_TESTS_TINY_H
#define ALPHANET_TESTS_TINY_H

#include "alphanet/io/config.h"
#include "alphanet/nn/supernet.h"

void t_tiny_supernet(an_config *c, an_supernet *net, unsigned seed);

/* A small training setup for whole runs on the tiny space: in folder `dir` (created), a
 * learnable toy image set (train.h5 with 96 and test.h5 with 40 16x16 grey images; class c is
 * a bright bar at row 1 + c, plus noise) and tiny.yaml: the tiny space, batch 16, 2 epochs
 * (12 steps) cut at 6 by train.max_steps, no evaluation during training, then `extra` (YAML
 * text appended at the end: further sections). Returns 0 on success. */
int t_toy_run_setup(const char *dir, const char *extra);

#endif

/* scratch.c - see scratch.h. */
#include "scratch.h"

#include <stdlib.h>

#define SLOTS 4

static _Thread_local float *buf[SLOTS];
static _Thread_local size_t cap[SLOTS];

float *an_scratch(int slot, size_t floats)
{
    if (slot < 0 || slot >= SLOTS) return NULL;
    if (floats <= cap[slot]) return buf[slot];
    size_t want = floats + floats / 4 + 1024;
    size_t bytes = (want * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (!p) return NULL;
    free(buf[slot]);
    buf[slot] = p;
    cap[slot] = bytes / sizeof(float);
    return p;
}

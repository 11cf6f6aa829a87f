/* common.c - error messages, aligned allocation and the version string (see common.h). */
#include "alphanet/common.h"

#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ALPHANET_VERSION
#define ALPHANET_VERSION "unknown"
#endif

static _Thread_local char err_buf[1024];

an_status an_error(an_status st, const char *fmt, ...)
{
    /* format into a temporary first: callers may pass an_error_message() as an argument */
    char tmp[sizeof err_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(err_buf, tmp, sizeof err_buf);
    return st;
}

const char *an_error_message(void) { return err_buf; }

const char *an_status_name(an_status st)
{
    switch (st) {
    case AN_OK: return "ok";
    case AN_ERR_ARG: return "invalid argument";
    case AN_ERR_NOMEM: return "out of memory";
    case AN_ERR_IO: return "I/O error";
    case AN_ERR_FORMAT: return "bad file format";
    case AN_ERR_NUMERIC: return "numerical error";
    case AN_ERR_COMM: return "communication error";
    case AN_ERR_INTERNAL: return "internal error";
    case AN_STOPPED: return "stopped on request";
    }
    return "unknown error";
}

void *an_alloc_at(size_t bytes, const char *file, int line)
{
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = rounded ? aligned_alloc(64, rounded) : NULL;
    if (!p && rounded) {
        an_error(AN_ERR_NOMEM, "cannot allocate %zu bytes (%s:%d)", bytes, file, line);
        return NULL;
    }
    return p;
}

void *an_calloc_at(size_t bytes, const char *file, int line)
{
    void *p = an_alloc_at(bytes, file, line);
    if (p) memset(p, 0, bytes);
    return p;
}

void an_free(void *p) { free(p); }

an_status an_check_memory(double bytes, const char *what)
{
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    const double have = pages > 0 && page > 0 ? (double)pages * page : 0;
    if (have > 0 && bytes > have)
        return an_error(AN_ERR_NOMEM, "%s would need %.1f GB of memory, this machine has %.1f GB", what, bytes / 1e9,
                        have / 1e9);
    return AN_OK;
}

const char *an_version(void) { return ALPHANET_VERSION; }

double an_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* common.c - error messages, aligned allocation and the version string (see common.h). */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "alphanet/common.h"

#include <sys/mman.h>
#include <time.h>
#include <stdarg.h>
#include <stdint.h>
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

/* Large blocks (the activation arenas, gradients and momentum, the dataset) start on a huge-page
 * boundary and are advised for transparent huge pages, which Linux grants in its default "madvise"
 * mode only on request. The kernels walk tensors of tens of MB whose channel rows lie hundreds
 * of KB apart; with 4 KB pages that is a TLB miss every few KB, each a page walk (two nested
 * ones in a VM). Measured in docs/design.md (Compute kernels, huge pages): a few percent on the
 * forward, more in a VM's slow phases. ALPHANET_HUGEPAGES=0 keeps the system's default pages. */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN ((size_t)4 << 20)

static int huge_pages_wanted(void)
{
    const char *e = getenv("ALPHANET_HUGEPAGES");
    return !(e && strcmp(e, "0") == 0);
}

void *an_alloc_at(size_t bytes, const char *file, int line)
{
    void *p = NULL;
    if (bytes <= SIZE_MAX - HUGE_PAGE) { /* else refused: the rounding below would wrap around */
        size_t rounded = (bytes + 63) / 64 * 64;
        if (rounded >= HUGE_MIN && huge_pages_wanted()) {
            rounded = (rounded + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
            p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
            if (p) (void)madvise(p, rounded, MADV_HUGEPAGE); /* a hint: without it, the default pages */
#endif
        } else if (rounded) {
            p = aligned_alloc(64, rounded);
        }
    }
    if (!p && bytes) {
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

void an_release_pages(void *p, size_t bytes)
{
    const long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || !p) return;
    const uintptr_t a = ((uintptr_t)p + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page,
                    b = ((uintptr_t)p + bytes) / (uintptr_t)page * (uintptr_t)page;
#ifdef MADV_DONTNEED
    if (b > a) (void)madvise((void *)a, b - a, MADV_DONTNEED);
#endif
}

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

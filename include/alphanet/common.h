/* common.h - status codes, error reporting and checked allocation shared by every module.
 *
 * Library code never exits: a function that can fail returns an an_status and records a
 * message with an_error(); only the command-line front end decides to print and exit.
 * The message buffer is per thread, so kernels running on OpenMP threads cannot clobber it.
 */
#ifndef ALPHANET_COMMON_H
#define ALPHANET_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    AN_OK = 0,
    AN_ERR_ARG,    /* bad argument, command line or config value */
    AN_ERR_NOMEM,  /* allocation failed or would be absurdly large */
    AN_ERR_IO,     /* file missing, unreadable, unwritable, truncated */
    AN_ERR_FORMAT, /* file readable but its content is wrong */
    AN_ERR_NUMERIC,/* NaN or Inf where a finite value was required */
    AN_ERR_COMM,   /* the distributed layer failed or another rank stopped */
    AN_ERR_INTERNAL,
    AN_STOPPED     /* not an error: stopped on request (a signal) after writing a checkpoint */
} an_status;

/* Records a printf-style message for the calling thread and returns `st`, so that
 * `return an_error(AN_ERR_IO, "cannot open %s", path);` reads naturally. */
an_status an_error(an_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last message ("" if none). */
const char *an_error_message(void);

/* A short name for a status ("I/O error", ...). */
const char *an_status_name(an_status st);

/* Allocation with 64-byte alignment (AVX-512 lines); blocks of 4 MB or more start on a 2 MB
 * boundary and are advised for transparent huge pages (unless ALPHANET_HUGEPAGES=0). Returns
 * NULL and records an error with the caller's file and line on failure. Free with an_free. */
void *an_alloc_at(size_t bytes, const char *file, int line);
void *an_calloc_at(size_t bytes, const char *file, int line);
#define an_alloc(bytes) an_alloc_at((bytes), __FILE__, __LINE__)
#define an_calloc(bytes) an_calloc_at((bytes), __FILE__, __LINE__)
void an_free(void *p);
/* Hands the whole pages inside [p, p + bytes) of a block from an_alloc back to the system, which
 * reads them as zeros when touched again: for memory that will not be used for a while (a no-op
 * where that cannot be done). */
void an_release_pages(void *p, size_t bytes);

/* AN_OK when `bytes` fit in the machine's physical memory; otherwise an AN_ERR_NOMEM error
 * "WHAT would need X GB of memory, this machine has Y GB". Readers call it with sizes taken
 * from file headers before allocating, so a damaged or absurd header is a message, not an
 * attempt to allocate (or an out-of-memory kill later). */
an_status an_check_memory(double bytes, const char *what);

/* Seconds on the monotonic clock (for timing; the origin is arbitrary). */
double an_now(void);

/* The project's version string, e.g. "0.1.0". */
const char *an_version(void);

#ifdef __cplusplus
}
#endif
#endif

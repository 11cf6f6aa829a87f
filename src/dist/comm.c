/* comm.c - the only translation unit that calls MPI (see comm.h). */
#include "alphanet/common.h"
#include "alphanet/dist/comm.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static an_status mpi_fail(int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return an_error(AN_ERR_COMM, "%s failed: %s", what, msg);
}

an_status an_comm_init(an_comm *c, int *argc, char ***argv)
{
    int inited = 0;
    MPI_Initialized(&inited);
    c->owns_mpi = 0;
    if (!inited) {
        int provided;
        int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Init_thread");
        c->owns_mpi = 1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    return AN_OK;
}

void an_comm_finalize(an_comm *c)
{
    if (c->owns_mpi) {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin) MPI_Finalize();
        c->owns_mpi = 0;
    }
}

/* MPI counts are int: large buffers go in chunks. */
#define CHUNK ((size_t)1 << 28)

an_status an_comm_allreduce_sum_f32(const an_comm *c, float *buf, size_t n, float scale)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce");
    }
    if (scale != 1.0f)
        for (size_t i = 0; i < n; i++) buf[i] *= scale;
    return AN_OK;
}

an_status an_comm_allreduce_sum_f64(const an_comm *c, double *buf, size_t n)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce");
    }
    return AN_OK;
}

an_status an_comm_bcast(const an_comm *c, void *buf, size_t n, int root)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK);
        int rc = MPI_Bcast((char *)buf + off, cnt, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Bcast");
    }
    return AN_OK;
}

an_status an_comm_agree(const an_comm *c, an_status local)
{
    /* MIN over (failed ? rank : INT_MAX) names the lowest failing rank; it then broadcasts its
     * status and message, so that every rank reports the same, first-hand error. */
    int mine = local == AN_OK ? INT_MAX : c->rank, culprit = INT_MAX;
    int rc = MPI_Allreduce(&mine, &culprit, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce (agreement)");
    if (culprit == INT_MAX) return AN_OK;
    struct {
        int status;
        char msg[AN_AGREE_MSG_MAX];
    } m = {0};
    if (c->rank == culprit) {
        m.status = (int)local;
        snprintf(m.msg, sizeof m.msg, "%s", an_error_message());
    }
    rc = MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, culprit, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Bcast (agreement)");
    if (c->size == 1) return an_error((an_status)m.status, "%s", m.msg);
    return an_error((an_status)m.status, "rank %d: %s", culprit, m.msg);
}

an_status an_comm_barrier(const an_comm *c)
{
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? AN_OK : mpi_fail(rc, "MPI_Barrier");
}

void an_comm_abort(const an_comm *c, int code) { MPI_Abort(MPI_COMM_WORLD, code); }

struct an_comm_file {
    MPI_File fh;
    char path[1024];
};

an_status an_comm_file_open(const an_comm *c, const char *path, an_comm_file **out)
{
    (void)c;
    an_comm_file *f = calloc(1, sizeof *f);
    if (!f) return an_error(AN_ERR_NOMEM, "out of memory");
    snprintf(f->path, sizeof f->path, "%s", path);
    int rc = MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &f->fh);
    if (rc != MPI_SUCCESS) {
        free(f);
        return mpi_fail(rc, "MPI_File_open");
    }
    *out = f;
    return AN_OK;
}

an_status an_comm_file_read_ranges(an_comm_file *f, int n, const int64_t *off, const int64_t *len, void *buf,
                                   int collective)
{
    int rc;
    if (!collective) {
        char *p = buf;
        for (int i = 0; i < n; i++) {
            if ((rc = MPI_File_read_at(f->fh, (MPI_Offset)off[i], p, (int)len[i], MPI_BYTE, MPI_STATUS_IGNORE)) !=
                MPI_SUCCESS)
                return mpi_fail(rc, "MPI_File_read_at");
            p += len[i];
        }
        return AN_OK;
    }
    /* an hindexed view of this rank's ranges; MPI wants them in increasing order, which the
     * caller's sorted offsets give */
    int *bl = malloc(sizeof(int) * (size_t)(n ? n : 1));
    MPI_Aint *disp = malloc(sizeof(MPI_Aint) * (size_t)(n ? n : 1));
    if (!bl || !disp) {
        free(bl);
        free(disp);
        return an_error(AN_ERR_NOMEM, "out of memory");
    }
    long long total = 0;
    for (int i = 0; i < n; i++) bl[i] = (int)len[i], disp[i] = (MPI_Aint)off[i], total += len[i];
    const long long asked = total;
    if (total > INT_MAX) { /* MPI counts are int: take part in the collective with nothing, then fail */
        n = 0;
        total = 0;
    }
    MPI_Datatype view = MPI_DATATYPE_NULL;
    rc = MPI_Type_create_hindexed(n, bl, disp, MPI_BYTE, &view);
    if (rc == MPI_SUCCESS) rc = MPI_Type_commit(&view);
    if (rc == MPI_SUCCESS) rc = MPI_File_set_view(f->fh, 0, MPI_BYTE, view, "native", MPI_INFO_NULL);
    if (rc == MPI_SUCCESS) rc = MPI_File_read_all(f->fh, buf, (int)total, MPI_BYTE, MPI_STATUS_IGNORE);
    /* back to the plain byte view, for read_at's absolute offsets */
    const int rc2 = MPI_File_set_view(f->fh, 0, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL);
    if (rc == MPI_SUCCESS) rc = rc2;
    if (view != MPI_DATATYPE_NULL) MPI_Type_free(&view);
    free(bl);
    free(disp);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_File_read_all");
    if (asked > INT_MAX) return an_error(AN_ERR_ARG, "%s: %lld bytes in one collective read (at most %d)", f->path, asked, INT_MAX);
    return AN_OK;
}

void an_comm_file_close(an_comm_file *f)
{
    if (!f) return;
    MPI_File_close(&f->fh);
    free(f);
}

/* ---- the group interface for the training code ---- */

static an_status g_sum_f32(void *ctx, float *buf, size_t n) { return an_comm_allreduce_sum_f32(ctx, buf, n, 1.0f); }
static an_status g_sum_f64(void *ctx, double *buf, size_t n) { return an_comm_allreduce_sum_f64(ctx, buf, n); }
static an_status g_bcast(void *ctx, void *buf, size_t n, int root) { return an_comm_bcast(ctx, buf, n, root); }
static an_status g_agree(void *ctx, an_status local) { return an_comm_agree(ctx, local); }

/* ---- the task farm ---- */

#define TAG_TASK 71
#define TAG_RESULT 72

an_status an_comm_farm(const an_comm *c, int ntasks, int nres, an_task_fn work, void *wctx, double *results,
                       double *busy, double *idle)
{
    if (c->size == 1) {
        const double t0 = an_now();
        an_status st = AN_OK;
        for (int t = 0; t < ntasks && st == AN_OK; t++) st = work(wctx, t, results + (size_t)t * nres);
        if (busy) *busy += an_now() - t0;
        return st;
    }
    an_status local = AN_OK;
    double *msg = malloc(sizeof(double) * (size_t)(nres + 2));
    if (!msg) local = an_error(AN_ERR_NOMEM, "out of memory (farm message)");
    if ((local = an_comm_agree(c, local))) {
        free(msg);
        return local;
    }
    int rc = MPI_SUCCESS;
    if (c->rank == 0) {
        /* coordinator: a task to every worker, then one more to whoever returns a result */
        int next = 0, active = 0, failed = 0;
        for (int w = 1; w < c->size && rc == MPI_SUCCESS; w++) {
            int task = next < ntasks ? next++ : -1;
            rc = MPI_Send(&task, 1, MPI_INT, w, TAG_TASK, MPI_COMM_WORLD);
            active += task >= 0;
        }
        while (active > 0 && rc == MPI_SUCCESS) {
            int flag = 0;
            MPI_Status ms;
            rc = MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &ms);
            if (rc != MPI_SUCCESS) break;
            if (!flag) { /* sleep instead of spinning: the coordinator shares cores with workers */
                struct timespec nap = {0, 200000};
                nanosleep(&nap, NULL);
                continue;
            }
            rc = MPI_Recv(msg, nres + 2, MPI_DOUBLE, ms.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS) break;
            active--;
            const int task = (int)msg[0];
            if (msg[1] != 0) failed = 1;
            else if (task >= 0 && task < ntasks) memcpy(results + (size_t)task * nres, msg + 2, sizeof(double) * nres);
            int give = !failed && next < ntasks ? next++ : -1;
            rc = MPI_Send(&give, 1, MPI_INT, ms.MPI_SOURCE, TAG_TASK, MPI_COMM_WORLD);
            active += give >= 0;
        }
    } else {
        for (;;) {
            int task;
            const double t0 = an_now();
            rc = MPI_Recv(&task, 1, MPI_INT, 0, TAG_TASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            const double t1 = an_now();
            if (idle) *idle += t1 - t0;
            if (rc != MPI_SUCCESS || task < 0) break;
            an_status st = local ? local : work(wctx, task, msg + 2);
            if (st && !local) local = st;
            if (busy) *busy += an_now() - t1;
            msg[0] = task, msg[1] = st != AN_OK;
            rc = MPI_Send(msg, nres + 2, MPI_DOUBLE, 0, TAG_RESULT, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS) break;
        }
    }
    free(msg);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "the task farm's messages");
    return an_comm_agree(c, local);
}

static an_status g_farm(void *ctx, int ntasks, int nres, an_task_fn work, void *wctx, double *results, double *busy,
                        double *idle)
{
    return an_comm_farm(ctx, ntasks, nres, work, wctx, results, busy, idle);
}

an_group an_comm_group(an_comm *c)
{
    return (an_group){.rank = c->rank, .size = c->size, .ctx = c, .sum_f32 = g_sum_f32, .sum_f64 = g_sum_f64,
                      .bcast = g_bcast, .agree = g_agree, .farm = g_farm};
}

/* test_comm.c - the communication layer on 1, 2 and 4 ranks: sums, averages, broadcast and the
 * failure agreement that turns one rank's error into the same status on every rank. */
#include <stdlib.h>
#include <string.h>

#include "alphanet/dist/comm.h"
#include "test.h"

int main(int argc, char **argv)
{
    an_comm c;
    if (an_comm_init(&c, &argc, &argv) != AN_OK) {
        fprintf(stderr, "init failed: %s\n", an_error_message());
        return 1;
    }
    const size_t n = 1000;
    float *buf = malloc(n * sizeof(float)), *expect = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        buf[i] = (float)(c.rank + 1) * (float)i;
        expect[i] = (float)i * (float)(c.size * (c.size + 1) / 2) / (float)c.size; /* mean of (r+1)*i */
    }
    CHECK(an_comm_allreduce_sum_f32(&c, buf, n, 1.0f / (float)c.size) == AN_OK);
    CHECK_CLOSE("allreduce average", buf, expect, n, 1e-6);

    double d[2] = {1.0, (double)c.rank};
    CHECK(an_comm_allreduce_sum_f64(&c, d, 2) == AN_OK);
    CHECK(d[0] == (double)c.size);
    CHECK(d[1] == (double)c.size * (c.size - 1) / 2);

    int token = c.rank == 0 ? 12345 : -1;
    CHECK(an_comm_bcast(&c, &token, sizeof token, 0) == AN_OK);
    CHECK(token == 12345);

    CHECK(an_comm_agree(&c, AN_OK) == AN_OK);
    /* the last rank fails: everyone gets its status and its own message */
    an_status st = AN_OK;
    if (c.rank == c.size - 1) st = an_error(AN_ERR_IO, "disk full on rank %d", c.rank);
    st = an_comm_agree(&c, st);
    CHECK(st == AN_ERR_IO);
    char expect_msg[128];
    if (c.size > 1) snprintf(expect_msg, sizeof expect_msg, "rank %d: disk full on rank %d", c.size - 1, c.size - 1);
    else snprintf(expect_msg, sizeof expect_msg, "disk full on rank 0");
    CHECK_MSG(strcmp(an_error_message(), expect_msg) == 0, "rank %d got '%s'", c.rank, an_error_message());
    /* two different failures: all ranks report the lowest failing rank's (rank 0's) */
    st = an_comm_agree(&c, c.rank == 0 ? an_error(AN_ERR_NUMERIC, "loss is NaN") : (c.size > 1 ? AN_ERR_ARG : AN_ERR_NUMERIC));
    CHECK(st == AN_ERR_NUMERIC);
    CHECK_MSG(strstr(an_error_message(), "loss is NaN") != NULL, "rank %d got '%s'", c.rank, an_error_message());
    CHECK(an_comm_barrier(&c) == AN_OK);

    free(buf);
    free(expect);
    int rc = t_failed ? 1 : 0;
    if (c.rank == 0 || t_failed) rc = TEST_SUMMARY();
    an_comm_finalize(&c);
    return rc;
}

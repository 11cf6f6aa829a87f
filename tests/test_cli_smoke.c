/* test_cli_smoke.c - runs the built `alphanet` binary (path in argv[1]) and checks that --version,
 * --help and a bad command behave: exit codes and the text users see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "alphanet/common.h"
#include "test.h"

static int run(const char *bin, const char *args, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t len = fread(out, 1, cap - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_cli_smoke PATH-TO-alphanet\n");
        return 2;
    }
    char out[8192], expect[128];
    CHECK(run(argv[1], "--version", out, sizeof out) == 0);
    snprintf(expect, sizeof expect, "alphanet %s\n", an_version());
    CHECK_MSG(strcmp(out, expect) == 0, "got '%s'", out);
    CHECK(run(argv[1], "--help", out, sizeof out) == 0);
    CHECK(strstr(out, "usage: alphanet") != NULL);
    CHECK(strstr(out, "bench") != NULL);
    CHECK(run(argv[1], "no-such-command", out, sizeof out) == 2);
    CHECK(strstr(out, "unknown command 'no-such-command'") != NULL);
    CHECK(run(argv[1], "", out, sizeof out) == 2);
    CHECK(run(argv[1], "bench kernels --bogus", out, sizeof out) == 2);
    CHECK(strstr(out, "unknown option '--bogus'") != NULL);
    /* the after-training commands: usage errors are status 2 with a message, missing files 1 */
    CHECK(run(argv[1], "search no.h5", out, sizeof out) == 2);
    CHECK(strstr(out, "--flops MIN:MAX is required") != NULL);
    CHECK(run(argv[1], "search no.h5 --flops 8:2", out, sizeof out) == 2);
    CHECK(strstr(out, "expected MIN:MAX") != NULL);
    CHECK(run(argv[1], "export no.h5 -o x.h5", out, sizeof out) == 2);
    CHECK(strstr(out, "--arch is required") != NULL);
    CHECK(run(argv[1], "eval", out, sizeof out) == 2);
    CHECK(strstr(out, "no checkpoint given") != NULL);
    CHECK(run(argv[1], "eval no/such.h5 --split train", out, sizeof out) == 2);
    CHECK(strstr(out, "--split must be test or val") != NULL);
    CHECK(run(argv[1], "info no/such.h5", out, sizeof out) == 1);
    CHECK(strstr(out, "cannot open checkpoint 'no/such.h5'") != NULL);
    CHECK(run(argv[1], "eval --help", out, sizeof out) == 0 && strstr(out, "usage: alphanet eval") != NULL);
    CHECK(run(argv[1], "search --help", out, sizeof out) == 0 && strstr(out, "usage: alphanet search") != NULL);
    CHECK(run(argv[1], "export --help", out, sizeof out) == 0 && strstr(out, "usage: alphanet export") != NULL);
    CHECK(run(argv[1], "train --help", out, sizeof out) == 0 && strstr(out, "--resume auto") != NULL);
    /* every command the top-level help lists takes --help: status 0 and its own usage */
    const char *cmds[] = {"train", "info", "eval", "search", "export", "data import idx", "data import folder",
                          "bench kernels", "bench step", "bench comm", "bench checkpoint", "bench data",
                          "bench records"};
    char top[8192], line[256];
    CHECK(run(argv[1], "--help", top, sizeof top) == 0);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        snprintf(line, sizeof line, "\n  %s ", cmds[i]);
        CHECK_MSG(strstr(top, line) != NULL, "the top-level help does not list '%s'", cmds[i]);
        snprintf(line, sizeof line, "%s --help", cmds[i]);
        const int rc = run(argv[1], line, out, sizeof out);
        snprintf(expect, sizeof expect, "alphanet %s ", cmds[i]);
        CHECK_MSG(rc == 0 && strstr(out, "usage:") != NULL && strstr(out, expect) != NULL,
                  "'%s': status %d, output '%.200s'", line, rc, out);
    }
    return TEST_SUMMARY();
}

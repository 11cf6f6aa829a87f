/* train.c - `alphanet train CONFIG [--set key=value]... [--quiet]`. Runs on one process or under
 * mpirun/srun (every rank runs this; rank 0 coordinates and reports). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/dist/comm.h"
#include "alphanet/io/config.h"
#include "alphanet/train/loop.h"
#include "cli.h"

static const char train_usage[] =
    "usage: alphanet train CONFIG [--set section.key=value]... [--resume auto|none|FILE] [--quiet]\n"
    "\n"
    "Trains the supernet of CONFIG (YAML; see docs/config.md) with AlphaNet's sandwich rule.\n"
    "Progress goes to stdout; the run folder (run.dir) receives config.yaml, metrics.jsonl and\n"
    "plans.log. Under mpirun -np P (or srun), P ranks train the same model on shards of each batch.\n"
    "\n"
    "  --set section.key=value   override a config key (repeatable), e.g. --set train.epochs=3\n"
    "  --resume auto             continue from the newest valid checkpoint in the run folder (a fresh\n"
    "                            start if there is none); FILE: from that checkpoint (= run.resume)\n"
    "  --quiet                   no progress lines\n"
    "\n"
    "SIGTERM, SIGUSR1 or SIGINT (Ctrl-C) on any rank: all ranks stop after the current step, write a\n"
    "checkpoint and exit with status 75 (a batch script requeues on it); a second SIGINT ends at once.\n"
    "Exit status: 0 done, 1 failed, 2 bad command line or config, 75 stopped with a checkpoint.\n";

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    if (stop_requested && sig == SIGINT) {
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
    }
    stop_requested = 1;
}

int cli_train(int argc, char **argv)
{
    const char *path = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets);
    int nset = 0, quiet = 0;
    const char *resume_set = NULL;
    if (!sets) return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(train_usage, stdout);
            free(sets);
            return 0;
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            sets[nset++] = argv[++i];
        } else if (!strncmp(argv[i], "--set=", 6)) {
            sets[nset++] = argv[i] + 6;
        } else if (!strcmp(argv[i], "--resume") && i + 1 < argc) {
            static char buf[AN_PATH_MAX + 16];
            snprintf(buf, sizeof buf, "run.resume=\"%s\"", argv[++i]);
            resume_set = buf;
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--set") || !strcmp(argv[i], "--resume")) {
            fprintf(stderr, "alphanet train: option '%s' needs a value\n\n%s", argv[i], train_usage);
            free(sets);
            return 2;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "alphanet train: unknown option '%s'\n\n%s", argv[i], train_usage);
            free(sets);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "alphanet train: more than one config given ('%s' and '%s')\n", path, argv[i]);
            free(sets);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "alphanet train: no config given\n\n%s", train_usage);
        free(sets);
        return 2;
    }
    if (resume_set) sets[nset++] = (char *)resume_set; /* after the --set options: the option wins */
    an_config cfg;
    if (an_config_load(&cfg, path, nset, sets) != AN_OK) {
        fprintf(stderr, "alphanet train: %s\n", an_error_message());
        free(sets);
        return 2;
    }
    free(sets);
    an_comm comm;
    if (an_comm_init(&comm, NULL, NULL) != AN_OK) {
        fprintf(stderr, "alphanet train: %s\n", an_error_message());
        return 1;
    }
    cli_check_threads("train", comm.rank);
    an_group g = an_comm_group(&comm);
    an_run_info info = {.quiet = quiet, .out = stdout, .stop_flag = &stop_requested};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    an_status st = AN_OK;
    const char *fault = getenv("ALPHANET_FAULT"); /* testing hook: see docs/design.md */
    if (fault && *fault) st = an_fault_parse(fault, &info.fault, &info.fault_rank, &info.fault_step);
    if (st == AN_OK) st = an_train_run(&cfg, &g, &info);
    /* Failures that the ranks agreed on carry the failing rank's message on every rank: rank 0
     * reports them. Other ranks speak only for errors of their own. */
    const int agreed = comm.size > 1 && !strncmp(an_error_message(), "rank ", 5);
    if (st == AN_STOPPED) {
        if (comm.rank == 0) fprintf(stderr, "alphanet train: %s\n", an_error_message());
    } else if (st != AN_OK && (comm.rank == 0 || !agreed)) {
        if (comm.size > 1 && !agreed) fprintf(stderr, "alphanet train (rank %d): %s\n", comm.rank, an_error_message());
        else fprintf(stderr, "alphanet train: %s\n", an_error_message());
    }
    an_comm_finalize(&comm);
    return st == AN_OK ? 0 : st == AN_STOPPED ? 75 : st == AN_ERR_ARG ? 2 : 1;
}

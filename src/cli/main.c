/* main.c - the `alphanet` command: dispatches subcommands. The only place that exits. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "alphanet/common.h"
#include "alphanet/kernels/gemm.h"
#include "cli.h"

void cli_check_threads(const char *cmd, int rank)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return;
    const int cpus = CPU_COUNT(&set), threads = an_kernel_threads();
    if (threads > cpus)
        fprintf(stderr,
                "alphanet %s: warning: rank %d runs %d threads (BLIS_NUM_THREADS / OMP_NUM_THREADS) but may use only "
                "%d CPU(s): expect it to be many times slower. mpirun binds each rank to one core: add --bind-to none "
                "or --map-by slot:PE=%d; under srun, give --cpus-per-task=%d.\n",
                cmd, rank, threads, cpus, threads, threads);
}

static const char usage[] =
    "usage: alphanet <command> [options]\n"
    "\n"
    "AlphaNet weight-sharing supernet training on CPU clusters (MPI + BLIS).\n"
    "\n"
    "commands:\n"
    "  train CONFIG [--set k=v]  train a supernet (configs/fmnist.yaml is the default job)\n"
    "  info CHECKPOINT           verify a checkpoint and summarise it\n"
    "  eval CHECKPOINT [--arch A] accuracy of subnets after BN calibration\n"
    "  search CHECKPOINT --flops MIN:MAX   evolutionary search under a FLOPs range\n"
    "  export CHECKPOINT --arch A -o F.h5  a standalone subnet with calibrated BN statistics\n"
    "  data import idx --out D   convert Fashion-MNIST's IDX files into HDF5 (train.h5, test.h5)\n"
    "  data import folder --src DIR --out D   convert a folder of JPEG/PNG photos into record shards\n"
    "  bench kernels [--imagenet] time the kernels on the default (or ImageNet) search space's\n"
    "                            shapes next to BLIS's own sgemm speed\n"
    "  bench step CONFIG         time one sandwich training step\n"
    "  bench comm                time the gradient allreduce against message size (under mpirun)\n"
    "  bench checkpoint CONFIG   time checkpoint writes and reads next to the disk's raw speed\n"
    "  bench data CONFIG         time the input pipeline (decoding, augmentation, workers)\n"
    "  bench records DIR         time reading record shards (pread and MPI-IO)\n"
    "\n"
    "options:\n"
    "  -h, --help                this help\n"
    "  -V, --version             print the version and exit\n"
    "\n"
    "Each command takes --help for its own options.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("alphanet %s\n", an_version());
        return 0;
    }
    if (!strcmp(cmd, "bench")) return cli_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cli_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cli_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "search")) return cli_search(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cli_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cli_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "data")) return cli_data(argc - 1, argv + 1);
    fprintf(stderr, "alphanet: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}

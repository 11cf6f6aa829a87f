/* cli.h - subcommand entry points. Each takes (argc, argv) with argv[0] = the subcommand name
 * and returns the process exit status. */
#ifndef ALPHANET_CLI_H
#define ALPHANET_CLI_H

int cli_bench(int argc, char **argv);
int cli_bench_comm(int argc, char **argv);
int cli_bench_checkpoint(int argc, char **argv);
int cli_bench_data(int argc, char **argv);
int cli_bench_records(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_data(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_search(int argc, char **argv);
int cli_export(int argc, char **argv);

/* Warns on stderr when this process has fewer CPUs than kernel threads (mpirun's default binding
 * of a multi-threaded rank to one core makes BLIS's spinning threads crawl). */
void cli_check_threads(const char *cmd, int rank);

#endif

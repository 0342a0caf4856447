/* Shared pieces of the `nnlab` command-line program.
 *
 * Exit statuses: 0 success, 1 runtime error, 2 usage error (unknown option,
 * bad value), 127 command not found (nnlab stats -- CMD). */
#ifndef NNLAB_CLI_H
#define NNLAB_CLI_H

#include <stdint.h>
#include <stdio.h>

enum { CLI_OK = 0, CLI_ERR = 1, CLI_USAGE = 2 };

/* One subcommand: `nnlab NAME ...`. argv[0] is the subcommand name. */
typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

/* Subcommands (one file each: src/cli/cmd_<name>.c). */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_predict(int argc, char **argv);

/* Messages on stderr, prefixed "nnlab <cmd>: ". usage_error adds a hint to
 * --help and returns CLI_USAGE. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_note(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsing: the whole string must be a number in [lo, hi].
 * Return 0 on success, -1 (message printed, caller returns CLI_USAGE) otherwise. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                     double *out);

/* Option matching for "--opt VALUE" and "--opt=VALUE". When argv[*i] matches
 * opt, sets *val (advancing *i for the separate form) and returns 1; returns -1
 * when the value is missing (message printed), 0 when argv[*i] is not opt. */
int cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *opt,
                  const char **val);

/* The compile-time options the environment asks for (NNLAB_FUSE=0,
 * NNLAB_CONV_DIRECT=1, NNLAB_WINO_TILE / NNLAB_WINO_DW_TILE = 2|4,
 * NNLAB_WINO_DX_TILE = 0 (direct)|2|4), to compare algorithms. Returns 0, or -1
 * with a message for a value it does not know. */
struct nl_compile_options;
int cli_compile_options_from_env(const char *cmd, struct nl_compile_options *opt);

/* 1 when stderr is a terminal (progress bars). */
int cli_stderr_tty(void);

/* The cores this process may run on (its CPU affinity; at least 1). */
int cli_cores(void);
/* Warns (once, on stderr) when --threads asks for more threads than cli_cores:
 * the run goes on, each extra thread only shares a core. */
void cli_warn_threads(const char *cmd, long threads);

/* Checks, before any work, that an output option can be written: the path is
 * not a directory, FIFO, device or socket (nor a link to one), and its
 * directory exists and is writable; what says what is written there ("a
 * model is saved"). what NULL: the option names a directory that files are
 * written into (it must exist and be writable). Returns 0, or -1 with err set
 * to a message naming the option and the reason. */
struct nl_error;
int cli_check_output(const char *opt, const char *path, const char *what, struct nl_error *err);

/* The data directory: --data (opt, may be NULL), else $NNLAB_DATA, else the
 * library's default (nl_data_dir: $XDG_CACHE_HOME/nnlab or ~/.cache/nnlab).
 * The messages say which of them was used. */
int cli_data_dir(const char *opt, char *out, size_t out_size, struct nl_error *err);
/* Adds to a dataset loader's "not found" message how to get the dataset
 * (`nnlab data fetch NAME`, --data / NNLAB_DATA); other errors are left as
 * they are. */
void cli_data_hint(struct nl_error *err, const char *dataset);

#endif

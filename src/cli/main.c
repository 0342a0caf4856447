/* nnlab: train networks in C, monitor resources, benchmark frameworks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "nnlab/core.h"

static const cli_command commands[] = {
    {"train", "train a workload and report accuracy, time and memory", cmd_train},
    {"eval", "evaluate a saved model on the test set", cmd_eval},
    {"models", "list the workloads with a summary of their layers", cmd_models},
    {"predict", "a saved model's outputs for the samples of a CSV or NPZ file", cmd_predict},
    {"data", "fetch, verify and locate datasets (cache with pinned hashes)", cmd_data},
    {"stats", "watch a process tree's CPU, memory, I/O and GPU use (UnixStats)", cmd_stats},
    {"bench", "run the contestants N times under the monitor: Table 1, figures, report", cmd_bench},
};
static const int ncommands = (int)(sizeof commands / sizeof commands[0]);

static void usage(FILE *f) {
    fprintf(f, "Usage: nnlab COMMAND [OPTIONS]\n"
               "       nnlab COMMAND --help\n\n"
               "Neural-network training in C, and honest side-by-side measurements.\n\n"
               "Commands:\n");
    for (int i = 0; i < ncommands; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nOptions:\n"
               "  -h, --help     show this help\n"
               "  -V, --version  show the version\n\n"
               "Environment:\n"
               "  NNLAB_DATA           data directory when --data is not given (default:\n"
               "                       $XDG_CACHE_HOME/nnlab, else ~/.cache/nnlab)\n"
               "  NNLAB_EVENTS         train: event log file when --events is not given\n"
               "  NNLAB_OFFLINE=1      never download (train, data fetch)\n"
               "  NNLAB_MIRROR         data: base URLs tried instead of the catalog's mirrors\n"
               "  NNLAB_FETCH_TIMEOUT  data: seconds to connect / without progress (30/60)\n"
               "  NNLAB_FETCH_RETRIES  data: tries per URL (3)\n"
               "  NNLAB_FETCH_BACKOFF  data: first pause between tries in seconds (1, doubling)\n"
               "  NNLAB_CATALOG        a file with extra datasets for data and train\n"
               "  NNLAB_NVML_LIB       stats, bench: the NVML library to load for GPU figures\n"
               "  NNLAB_ROOT           bench: the source tree with peers/ and bench/\n"
               "  NNLAB_FUSE=0, NNLAB_CONV_DIRECT=1, NNLAB_WINO_TILE, NNLAB_WINO_DW_TILE,\n"
               "  NNLAB_WINO_DX_TILE   train, eval: kernel choices, to compare algorithms\n"
               "  OMP_WAIT_POLICY, GOMP_SPINCOUNT, OPENBLAS_CORETYPE: see 'man nnlab'\n\n"
               "Exit status: 0 success, 1 runtime error, 2 usage error.\n");
}

/* One setting that must be in the environment before OpenBLAS loads, so
 * nnlab sets it when the user has not and re-executes itself once:
 *
 * OpenBLAS picks its kernels from the CPU model, and a release older than the
 * CPU falls back to a generic SSE3 core: Debian 12's OpenBLAS 0.3.21 runs
 * "Prescott" kernels on a Xeon of 2023 (model 207), 4.6x below the AVX-512
 * ones (measured: SGEMM 32 against 150 GFLOP/s on one core). When the core
 * OpenBLAS chose has no AVX2 but the CPU has it, nnlab sets OPENBLAS_CORETYPE
 * (SkylakeX with AVX-512, else Haswell) unless the user set it. It stays set
 * for the programs nnlab starts, so a peer that links the same OpenBLAS
 * (PyTorch, NumPy) gets the same kernels in `nnlab bench`.
 *
 * (Threads need no setting: nnlab's own pool, src/core/parallel.c, spins only
 * a few microseconds before it sleeps.) */
static void tune_runtime(char **argv) {
    if (getenv("NNLAB_OMP_TUNED")) {
        /* The re-executed process: OpenBLAS has read the setting. */
        unsetenv("NNLAB_OMP_TUNED");
        return;
    }
    const char *core = getenv("OPENBLAS_CORETYPE") ? NULL : nl_blas_core_fix();
    if (!core) return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv("NNLAB_OMP_TUNED", "blas", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: go on with the defaults */
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("NNLAB_OMP_TUNED");
}

int main(int argc, char **argv) {
    tune_runtime(argv);
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *c = argv[1];
    if (!strcmp(c, "-h") || !strcmp(c, "--help") || !strcmp(c, "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(c, "-V") || !strcmp(c, "--version")) {
        printf("nnlab %s\nBLAS: %s\n", nl_version(), nl_blas_info());
        return CLI_OK;
    }
    for (int i = 0; i < ncommands; i++)
        if (!strcmp(c, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "nnlab: unknown command '%s'\nTry 'nnlab --help' for the list of commands.\n",
            c);
    return CLI_USAGE;
}

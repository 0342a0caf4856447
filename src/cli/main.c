/* nnlab: train networks in C, monitor resources, benchmark frameworks. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "nnlab/core.h"

static const cli_command commands[] = {
    {"train", "train a workload and report accuracy, time and memory", cmd_train},
    {"eval", "evaluate a saved model on the test set", cmd_eval},
    {"models", "list the workloads with a summary of their layers", cmd_models},
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
               "Environment: NNLAB_DATA (data directory), NNLAB_EVENTS (event log file).\n");
}

int main(int argc, char **argv) {
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

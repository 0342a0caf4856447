/* Where a model comes from on the command line: a word ending in .nnm or
 * containing '/' is a model file, any other word the name of a shipped model
 * (models/NAME.nnm, embedded in the library; the study's four workloads among
 * them). The file's batch, epochs, seed, optimizer, schedule and dataset lines
 * are the defaults the command's options override. */
#ifndef NNLAB_CLI_MODELSRC_H
#define NNLAB_CLI_MODELSRC_H

#include <stddef.h>

#include "nnlab/data.h"
#include "nnlab/model.h"

typedef struct cli_model_src {
    nl_nnm nnm;
    /* the name saved models and results carry: the shipped name, else the
       path (its last 63 bytes' file name when the path is longer) */
    char name[64];
    int is_file;
} cli_model_src;

/* 1 when word names a model file rather than a shipped model. */
int cli_model_is_file(const char *word);

/* Resolves word into *out: CLI_OK; CLI_USAGE for an unknown name (message
 * printed, listing the shipped ones); CLI_ERR for a file that cannot be read
 * or parsed (message printed). */
int cli_model_resolve(const char *cmd, const char *word, cli_model_src *out);

/* The dataset a saved model's workload name points to (a shipped model or a
 * readable .nnm file with a dataset line) into out; 0, or -1 when none. */
int cli_model_dataset(const char *word, char *out, size_t n);

/* Checks that the model takes samples of the dataset's shape (when the row
 * gives it): 0, or -1 with a message naming both in err. */
int cli_model_fits(const cli_model_src *ms, const nl_dataset_info *ds, nl_error *err);

/* Writes the shipped models' names, "a, b, c", into out. */
void cli_model_names(char *out, size_t n);

#endif

/* The own-data options of `nnlab train` (--train-data, --test-data, --label,
 * --val-split) and the table inputs of `nnlab predict`: CSV or NPZ files
 * loaded for a model (its input shape, its loss: classes or values). */
#ifndef NNLAB_CLI_OWNDATA_H
#define NNLAB_CLI_OWNDATA_H

#include <stdio.h>

#include "nnlab/data.h"
#include "nnlab/model.h"

typedef struct cli_owndata {
    const char *train_path; /* --train-data (NULL: a built-in dataset) */
    const char *test_path;  /* --test-data */
    const char *label;      /* --label (NULL: "label") */
    double val_split;       /* --val-split (0: none) */
} cli_owndata;

/* Matches argv[*i] against the options: 1 consumed (with its value), 0 not
 * one of them, -1 a usage error (message printed). */
int cli_owndata_option(const char *cmd, int argc, char **argv, int *i, cli_owndata *o);

/* Checks the combination (with --dataset given or not): 0, or a usage error
 * printed and CLI_USAGE returned. */
int cli_owndata_check(const char *cmd, const cli_owndata *o, const char *dataset_opt);

/* The help lines of the options. */
void cli_owndata_help(FILE *f);

/* The table options for data that model m takes: its input shape; class
 * labels below its outputs for cross-entropy, as many float targets as its
 * outputs for mse; with inputs_only, neither (prediction). */
nl_table_options cli_owndata_table_options(const nl_model *m, const char *label, int inputs_only);

/* Loads --train-data and --test-data (when given) for model m. */
nl_status cli_owndata_load(const cli_owndata *o, const nl_model *m, nl_dataset *train,
                           nl_dataset *test, nl_error *err);

/* --val-split: moves the last part of train into test (which must be empty);
 * nothing without the option. */
nl_status cli_owndata_split(const cli_owndata *o, nl_dataset *train, nl_dataset *test,
                            nl_error *err);

#endif

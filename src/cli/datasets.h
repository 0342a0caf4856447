/* Dataset and workload names for the CLI: a dataset name becomes a row of the
 * core's table (nl_datasets), or, for an IDX entry of the dataset store's
 * catalog (NNLAB_CATALOG included) that the table does not have, a row made
 * from that entry and read by the generic IDX loader. */
#ifndef NNLAB_CLI_DATASETS_H
#define NNLAB_CLI_DATASETS_H

#include <stddef.h>
#include <stdio.h>

#include "nnlab/data.h"
#include "nnlab/model.h"

typedef struct cli_dataset {
    nl_dataset_info info; /* the row to load (nl_dataset_load_info) */
    const char *files[4]; /* IDX files of a catalog entry (info.files points here) */
} cli_dataset;

/* Resolves name into *out. NL_ENOTFOUND lists the names that can be trained
 * on; NL_EINVAL says why a catalog entry cannot be (or a bad NNLAB_CATALOG). */
nl_status cli_dataset_resolve(const char *name, cli_dataset *out, nl_error *err);

/* Writes "a, b, c" (the trainable datasets: the table, then the catalog's
 * other IDX entries) into out. */
void cli_dataset_names(char *out, size_t n);

/* Prints the datasets (shape, classes, description), the catalog's IDX
 * entries and the input each workload takes: the end of `--help`. */
void cli_print_datasets(FILE *f);

/* Writes the workload names, "a, b, c", into out. */
void cli_workload_names(char *out, size_t n);

/* Checks that workload wi can take samples of the dataset's shape (when the
 * row gives it): 0, or -1 with a message naming both in err. */
int cli_workload_fits(const nl_workload_info *wi, const nl_dataset_info *ds, nl_error *err);

#endif

/* Internal pieces shared by the table loaders (csv.c, npz.c, table.c). */
#ifndef NNLAB_DATA_TABLE_H
#define NNLAB_DATA_TABLE_H

#include <stddef.h>

#include "nnlab/data.h"

/* The default bound on a table's bytes (nl_table_options.max_bytes == 0). */
#define NL_TABLE_MAX_BYTES ((size_t)16 << 30)

/* The sample shape of samples of `features` floats, checked against the
 * options' input shape: file_hwc is the shape the file gives (a rank-4 NPZ x),
 * or NULL for a flat table. Writes out[3] (h, w, c), or NL_EFORMAT naming
 * name and what. */
nl_status nl_table_shape(const char *name, const char *what, size_t features, const int *file_hwc,
                         const nl_table_options *opt, int out[3], nl_error *err);

/* NULL when v is a class index below bound (1..256), else what is wrong
 * with it ("not an integer", "negative", ...). */
const char *nl_table_label_problem(double v, int bound);

/* The class bound of the options: num_classes, or 256 when not given. */
int nl_table_class_bound(const nl_table_options *opt);

/* Checks the options themselves (NL_EINVAL naming the field). */
nl_status nl_table_check_options(const nl_table_options *opt, nl_error *err);

/* Reads a whole regular file (a FIFO or device is refused), at most max
 * bytes: the buffer grows with what read returns. *out gets a NUL after the
 * data (malloc'd). */
nl_status nl_table_read_file(const char *path, size_t max, char **out, size_t *len, nl_error *err);

#endif

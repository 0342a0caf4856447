/* nnlab/data.h - datasets in memory and their loaders.
 *
 * Images stay as u8 in memory, one sample after another, each sample in HWC
 * order (height, width, channels: the NHWC layout every nnlab layer uses).
 * Scaling to float happens per batch (nl_batch_gather). */
#ifndef NNLAB_DATA_H
#define NNLAB_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nnlab/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dataset holds its samples one of two ways: images (u8, scaled by 1/255
 * per batch: the built-in datasets) or x (floats used as they are: a user's
 * CSV or NPZ file); exactly one of the two is non-NULL. Targets are class
 * labels (labels, for cross-entropy) or float values (y, `targets` floats a
 * sample, for mse); exactly one of those is non-NULL. */
typedef struct nl_dataset {
    size_t n;        /* number of samples */
    int h, w, c;     /* per-sample shape, stored HWC */
    int num_classes; /* labels are in [0, num_classes); 0 when the targets are values */
    uint8_t *images; /* n * h * w * c bytes, or NULL */
    uint8_t *labels; /* n bytes, or NULL */
    float *x;        /* n * h * w * c floats, or NULL */
    float *y;        /* n * targets floats, or NULL */
    int targets;     /* floats per sample in y (0 with labels) */
} nl_dataset;

static inline size_t nl_dataset_sample_size(const nl_dataset *d) {
    return (size_t)d->h * (size_t)d->w * (size_t)d->c;
}

NL_API void nl_dataset_free(nl_dataset *d);

/* Keeps the first n samples (n >= d->n leaves it unchanged). */
NL_API void nl_dataset_truncate(nl_dataset *d, size_t n);

/* ---- IDX (MNIST family) --------------------------------------------- */

/* Reads a whole file, transparently gunzipping when it starts with the gzip
 * magic. *out is malloc'd. max_bytes bounds the decompressed size. */
NL_API nl_status nl_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                              nl_error *err);

/* Parses an IDX u8 file held in memory. Checks magic (0x00 0x00 0x08 rank),
 * rank == expected_rank, dimensions (no overflow), exact size. dims gets the
 * rank dimensions. name is used in messages. On success *data points into buf. */
NL_API nl_status nl_idx_parse(const char *name, const uint8_t *buf, size_t len, int expected_rank,
                              uint32_t dims[3], const uint8_t **data, nl_error *err);

/* Loads an image file (rank 3) and a label file (rank 1) into d. Checks that
 * counts agree and every label is < num_classes. Either path may end in .gz. */
NL_API nl_status nl_idx_load(const char *images_path, const char *labels_path, int num_classes,
                             nl_dataset *d, nl_error *err);

/* Split of a dataset inside a data directory. */
typedef enum nl_split { NL_SPLIT_TRAIN = 0, NL_SPLIT_TEST = 1 } nl_split;

/* Loads DIR/<subdir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
 * subdir is "mnist", "fashion-mnist", ... A missing file gives NL_ENOTFOUND
 * naming every path tried. */
NL_API nl_status nl_mnist_load(const char *dir, const char *subdir, nl_split split, nl_dataset *d,
                               nl_error *err);

/* ---- named datasets (src/data/datasets.c) --------------------------------- */

typedef struct nl_dataset_info nl_dataset_info;

/* Loads one split of the dataset described by info from the data directory. */
typedef nl_status (*nl_dataset_loader)(const char *dir, const nl_dataset_info *info, nl_split split,
                                       nl_dataset *d, nl_error *err);

/* A dataset the loaders know: one row of the table (nl_datasets), or one made
 * by a program for a dataset the table does not have (an IDX entry of the
 * dataset store's catalog: load = nl_idx_dataset_load). */
struct nl_dataset_info {
    const char *name;         /* "mnist", "cifar100-coarse", ... */
    nl_dataset_loader load;   /* the loader of its format */
    const char *subdir;       /* its directory in the data directory */
    int h, w, c;              /* sample shape (HWC); 0: given by the files (IDX) */
    int num_classes;          /* labels are < num_classes */
    const char *catalog;      /* the dataset store's entry that fetches it (nnlab data) */
    const char *description;  /* one line for humans */
    const char *const *files; /* IDX: train images, train labels, test images, test labels,
                                 names in subdir (each read raw or as NAME.gz); NULL: MNIST's */
    int variant;              /* loader-specific: nl_cifar100_labels for CIFAR-100 */
};

/* The built-in datasets, terminated by a row whose name is NULL. */
NL_API const nl_dataset_info *nl_datasets(void);
/* NULL when name is not in the table. */
NL_API const nl_dataset_info *nl_dataset_find(const char *name);

/* Loads a dataset of the table by name (NL_ENOTFOUND lists the known names). */
NL_API nl_status nl_dataset_load(const char *dir, const char *dataset, nl_split split,
                                 nl_dataset *d, nl_error *err);
/* Loads the dataset info describes, then checks the loaded samples against
 * its shape (when given) and class count. */
NL_API nl_status nl_dataset_load_info(const char *dir, const nl_dataset_info *info, nl_split split,
                                      nl_dataset *d, nl_error *err);

/* The generic IDX loader: DIR/<subdir>/<files[2*split]> and <files[2*split+1]>
 * (raw or .gz), labels < info->num_classes. */
NL_API nl_status nl_idx_dataset_load(const char *dir, const nl_dataset_info *info, nl_split split,
                                     nl_dataset *d, nl_error *err);

/* Resolves the data directory: explicit_dir (may be NULL; it must be a
 * directory), else the per-user cache $XDG_CACHE_HOME/nnlab, else
 * $HOME/.cache/nnlab (these need not exist yet). Writes into out. The library
 * reads no NNLAB_* variable: a program that offers one (the CLI's NNLAB_DATA)
 * passes its value as explicit_dir. */
NL_API nl_status nl_data_dir(const char *explicit_dir, char *out, size_t out_size, nl_error *err);

/* ---- batching ----------------------------------------------------------- */

/* Gathers samples idx[0..count) from d into out (count * sample_size floats:
 * images scaled by 1/255, x as it is), and their labels into labels (when the
 * dataset has labels; labels may be NULL otherwise). Uses the threads. */
NL_API void nl_batch_gather(const nl_dataset *d, const uint32_t *idx, int count, float *out,
                            uint8_t *labels);
/* Gathers the float targets of samples idx[0..count) into y (count * targets
 * floats). Nothing when the dataset has no y. */
NL_API void nl_batch_gather_y(const nl_dataset *d, const uint32_t *idx, int count, float *y);

/* Hints the CPU to start loading samples idx[0..count) (the next batch: a
 * shuffled batch is scattered over the whole dataset, so its first touch is a
 * cache miss per line otherwise). */
NL_API void nl_batch_prefetch(const nl_dataset *d, const uint32_t *idx, int count);

/* ---- the user's own data: CSV and NPZ tables (src/data/csv.c, npz.c, table.c) ----
 *
 * A table becomes a dataset with x (features as they are, never scaled) and
 * the targets the options ask for. CSV: a header row, then one sample a row;
 * the label column holds the target, every other column is a numeric feature
 * (CRLF line ends, spaces around cells and blank trailing lines are fine; no
 * quoting). NPZ: arrays x and y as numpy.savez / savez_compressed write them
 * (dtypes float32, float64, uint8, int64, little-endian, C order); x is
 * [n][features] or [n][H][W][C], y is [n] (or [n][k] for values).
 * Bad data is NL_EFORMAT naming the file, the row and column (CSV) or the
 * array and element (NPZ), and what was expected; nothing is loaded. */
typedef enum nl_table_targets {
    NL_TABLE_CLASSES = 0, /* class indices (integral, 0..255) into labels */
    NL_TABLE_VALUES = 1,  /* float targets (mse) into y, `targets` a sample */
    NL_TABLE_INPUTS = 2,  /* inputs only (prediction): the label column or y is ignored when
                             present, and the dataset gets neither labels nor y */
} nl_table_targets;

typedef struct nl_table_options {
    const char *label; /* CSV: the target column's name (NULL: "label") */
    int targets;       /* nl_table_targets */
    int h, w, c;       /* the model's input: a rank-4 x must be [n][h][w][c], a flat one must
                          have h*w*c features (the dataset takes this shape); all 0: not checked,
                          a flat table becomes 1 x 1 x features */
    int num_classes;   /* classes: labels must be below it (1..256); 0: max label + 1 */
    int num_targets;   /* values: floats a sample y must have; 0: any */
    size_t max_bytes;  /* largest CSV file, or NPZ array uncompressed, read; 0: 16 GiB */
} nl_table_options;

/* Zeroed options: classes, column "label", shape not checked. */
NL_API nl_table_options nl_table_defaults(void);

/* Parses CSV text held in memory (name is used in messages). */
NL_API nl_status nl_csv_parse(const char *name, const char *buf, size_t len,
                              const nl_table_options *opt, nl_dataset *d, nl_error *err);
/* Reads path (a regular file: a FIFO or a device is refused) and parses it. */
NL_API nl_status nl_csv_load(const char *path, const nl_table_options *opt, nl_dataset *d,
                             nl_error *err);
/* Reads an NPZ archive held in memory / from path (a regular file). A
 * truncated or corrupted archive, a missing array, a bad .npy header, a
 * declared shape that the bytes do not fill exactly, a wrong dtype or
 * Fortran order are errors; memory grows with the bytes that arrive, never
 * with what a header declares. */
NL_API nl_status nl_npz_parse(const char *name, const void *buf, size_t len,
                              const nl_table_options *opt, nl_dataset *d, nl_error *err);
NL_API nl_status nl_npz_load(const char *path, const nl_table_options *opt, nl_dataset *d,
                             nl_error *err);
/* nl_csv_load or nl_npz_load by the name's extension (.csv, .npz; any case). */
NL_API nl_status nl_table_load(const char *path, const nl_table_options *opt, nl_dataset *d,
                               nl_error *err);

/* Holds out the last `fraction` (0 < fraction < 1) of d's samples, as Keras's
 * validation_split does (d keeps the first floor(n * (1 - fraction))): they
 * move into *held (zeroed first), d keeps the rest. NL_EINVAL, d unchanged,
 * when either part would be empty. */
NL_API nl_status nl_dataset_split(nl_dataset *d, double fraction, nl_dataset *held, nl_error *err);

/* ---- CIFAR-10 (src/data/cifar.c) ---------------------------------------- */

/* Bytes per record of the binary version: label, then the R, G, B planes. */
#define NL_CIFAR10_RECORD_BYTES 3073
/* Records in each official batch file. */
#define NL_CIFAR10_RECORDS_PER_FILE 10000

/* Loads the train split (data_batch_1..5.bin, 50000 images) or the test split
 * (test_batch.bin, 10000 images) of CIFAR-10, binary version, from
 * DIR/cifar-10-batches-bin/, or, when that directory does not exist, from
 * DIR/cifar-10-binary.tar.gz read in place (gzip and tar parsed as a stream,
 * nothing unpacked to disk). Images become HWC 32x32x3, labels 0..9.
 * Validates the record size (3073 bytes), the record count of every file,
 * the labels, missing or unexpected batch files and truncated archive
 * members; messages name the file (and member) and the record. A missing file
 * is NL_ENOTFOUND, bad content NL_EFORMAT. */
NL_API nl_status nl_cifar10_load(const char *dir, nl_split split, nl_dataset *d, nl_error *err);

/* The same with another number of records per batch file (tests, subsets). */
NL_API nl_status nl_cifar10_load_ex(const char *dir, nl_split split, size_t records_per_file,
                                    nl_dataset *d, nl_error *err);

/* ---- CIFAR-100 (src/data/cifar.c) ---------------------------------------- */

/* Bytes per record of the binary version: coarse label, fine label, R, G, B. */
#define NL_CIFAR100_RECORD_BYTES  3074
#define NL_CIFAR100_TRAIN_RECORDS 50000
#define NL_CIFAR100_TEST_RECORDS  10000

/* Which of the two labels of a record a CIFAR-100 dataset gets. */
typedef enum nl_cifar100_labels {
    NL_CIFAR100_FINE = 0,   /* 100 classes */
    NL_CIFAR100_COARSE = 1, /* 20 superclasses */
} nl_cifar100_labels;

/* Loads the train split (train.bin, 50000 images) or the test split
 * (test.bin, 10000 images) of CIFAR-100, binary version, from
 * DIR/cifar-100-binary/, or, when that directory does not exist, from
 * DIR/cifar-100-binary.tar.gz read in place. Images become HWC 32x32x3;
 * labels are the fine (0..99) or coarse (0..19) ones, and both label bytes of
 * every record are checked. Errors as nl_cifar10_load. */
NL_API nl_status nl_cifar100_load(const char *dir, nl_split split, nl_cifar100_labels labels,
                                  nl_dataset *d, nl_error *err);

/* The same with another number of records in the split's file (tests, subsets;
 * the other split's file in an archive is checked for whole records only). */
NL_API nl_status nl_cifar100_load_ex(const char *dir, nl_split split, nl_cifar100_labels labels,
                                     size_t records, nl_dataset *d, nl_error *err);

#ifdef __cplusplus
}
#endif
#endif

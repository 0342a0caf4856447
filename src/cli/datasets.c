/* Dataset and workload names for the CLI (see datasets.h). */
#include "cli/datasets.h"

#include <stdio.h>
#include <string.h>

#include "nnlab/fetch.h"

/* 1 when name contains a, or b (may be NULL). */
static int has_any(const char *name, const char *a, const char *b) {
    return strstr(name, a) || (b && strstr(name, b));
}

/* The four IDX files of a catalog entry, told apart by their names: train or
 * test (t10k), images (idx3) or labels (idx1). */
static int idx_files(const nl_data_info *d, const char *files[4]) {
    memset(files, 0, 4 * sizeof *files);
    for (int i = 0; i < d->nmembers; i++) {
        const char *n = d->members[i].name;
        const int train = has_any(n, "train", NULL), test = has_any(n, "t10k", "test");
        const int img = has_any(n, "images", "idx3"), lab = has_any(n, "labels", "idx1");
        if (train == test || img == lab) continue;
        const int k = (test ? 2 : 0) + (lab ? 1 : 0);
        if (files[k]) return -1; /* two candidates: ambiguous */
        files[k] = n;
    }
    for (int k = 0; k < 4; k++)
        if (!files[k]) return -1;
    return 0;
}

nl_status cli_dataset_resolve(const char *name, cli_dataset *out, nl_error *err) {
    memset(out, 0, sizeof *out);
    const nl_dataset_info *row = nl_dataset_find(name);
    if (row) {
        out->info = *row;
        return NL_OK;
    }
    nl_status st = nl_catalog_init(err);
    if (st) return st;
    const nl_data_info *d = nl_catalog_find(name);
    if (d && d->kind != NL_DATA_IDX)
        return nl_error_set(err, NL_EINVAL,
                            "dataset '%s' (catalog entry, kind %s) cannot be trained on: only the "
                            "built-in CIFAR datasets and IDX catalog entries can",
                            name, d->kind == NL_DATA_CIFAR10 ? "cifar10" : "cifar100");
    if (d && idx_files(d, out->files))
        return nl_error_set(err, NL_EINVAL,
                            "dataset '%s' (catalog entry): cannot tell its train/test image and "
                            "label files apart; its members must be named like MNIST's "
                            "({train,t10k}-{images-idx3,labels-idx1}-ubyte): one name each with "
                            "train or t10k/test, and images/idx3 or labels/idx1",
                            name);
    if (d) {
        out->info = (nl_dataset_info){.name = d->name,
                                      .load = nl_idx_dataset_load,
                                      .subdir = d->subdir,
                                      .num_classes = d->num_classes,
                                      .catalog = d->name,
                                      .description = d->title,
                                      .files = out->files};
        return NL_OK;
    }
    char known[1024];
    cli_dataset_names(known, sizeof known);
    return nl_error_set(err, NL_ENOTFOUND, "unknown dataset '%s' (known: %s)", name, known);
}

static void append(char *out, size_t n, size_t *k, const char *name) {
    if (*k >= n) return;
    int w = snprintf(out + *k, n - *k, "%s%s", *k ? ", " : "", name);
    if (w > 0) *k += (size_t)w;
}

void cli_dataset_names(char *out, size_t n) {
    size_t k = 0;
    out[0] = '\0';
    for (const nl_dataset_info *r = nl_datasets(); r->name; r++) append(out, n, &k, r->name);
    nl_error e = {0};
    if (nl_catalog_init(&e) != NL_OK) return;
    for (int i = 0; i < nl_catalog_count(); i++) {
        const nl_data_info *d = nl_catalog_get(i);
        const char *files[4];
        if (d && d->kind == NL_DATA_IDX && !nl_dataset_find(d->name) && !idx_files(d, files))
            append(out, n, &k, d->name);
    }
}

void cli_workload_names(char *out, size_t n) {
    size_t k = 0;
    out[0] = '\0';
    for (const nl_workload_info *w = nl_workloads(); w->name; w++) append(out, n, &k, w->name);
}

int cli_workload_fits(const nl_workload_info *wi, const nl_dataset_info *ds, nl_error *err) {
    if (!ds->h || (ds->h == wi->h && ds->w == wi->w && ds->c == wi->c)) return 0;
    nl_error_set(err, NL_EINVAL,
                 "workload '%s' takes %dx%dx%d inputs (%d values), dataset '%s' has %dx%dx%d "
                 "samples (%d values)",
                 wi->name, wi->h, wi->w, wi->c, wi->h * wi->w * wi->c, ds->name, ds->h, ds->w,
                 ds->c, ds->h * ds->w * ds->c);
    return -1;
}

void cli_print_datasets(FILE *f) {
    fprintf(f, "\nDatasets (--dataset NAME; the last layer gets one unit per class):\n");
    for (const nl_dataset_info *r = nl_datasets(); r->name; r++)
        fprintf(f, "  %-16s %dx%dx%d, %3d classes  %s\n", r->name, r->h, r->w, r->c, r->num_classes,
                r->description);
    fprintf(f, "  and every IDX entry of the catalog (NNLAB_CATALOG) whose members are named\n"
               "  like MNIST's: the shape comes from its files, the classes from the entry");
    nl_error e = {0};
    int any = 0;
    if (nl_catalog_init(&e) == NL_OK)
        for (int i = 0; i < nl_catalog_count(); i++) {
            const nl_data_info *d = nl_catalog_get(i);
            const char *files[4];
            if (d && d->kind == NL_DATA_IDX && !nl_dataset_find(d->name) && !idx_files(d, files))
                fprintf(f, "%s%s", any++ ? ", " : " (now: ", d->name);
        }
    fprintf(f, "%s.\nA missing dataset is fetched by its catalog entry ('nnlab data list').\n",
            any ? ")" : "");
    fprintf(f, "Workloads take:");
    for (const nl_workload_info *w = nl_workloads(); w->name; w++)
        fprintf(f, "%s %s %dx%dx%d", w == nl_workloads() ? "" : ",", w->name, w->h, w->w, w->c);
    fprintf(f, ".\n");
}

/* The datasets the loaders know, as one table: adding a dataset is one row
 * here (plus its loader, for a new format). `catalog` links a row to the
 * dataset store's entry that fetches its files (src/store/catalog.c). */
#include <stdio.h>
#include <string.h>

#include "nnlab/data.h"

static nl_status load_cifar10(const char *dir, const nl_dataset_info *info, nl_split split,
                              nl_dataset *d, nl_error *err) {
    (void)info;
    return nl_cifar10_load(dir, split, d, err);
}

static nl_status load_cifar100(const char *dir, const nl_dataset_info *info, nl_split split,
                               nl_dataset *d, nl_error *err) {
    return nl_cifar100_load(dir, split, (nl_cifar100_labels)info->variant, d, err);
}

static const nl_dataset_info datasets[] = {
    {"mnist", nl_idx_dataset_load, "mnist", 28, 28, 1, 10, "mnist",
     "MNIST handwritten digits (60000 train, 10000 test)", NULL, 0},
    {"fashion-mnist", nl_idx_dataset_load, "fashion-mnist", 28, 28, 1, 10, "fashion-mnist",
     "Fashion-MNIST, Zalando (60000 train, 10000 test)", NULL, 0},
    {"kmnist", nl_idx_dataset_load, "kmnist", 28, 28, 1, 10, "kmnist",
     "Kuzushiji-MNIST (60000 train, 10000 test)", NULL, 0},
    {"cifar10", load_cifar10, "cifar-10-batches-bin", 32, 32, 3, 10, "cifar10",
     "CIFAR-10, binary version (50000 train, 10000 test)", NULL, 0},
    {"cifar100", load_cifar100, "cifar-100-binary", 32, 32, 3, 100, "cifar100",
     "CIFAR-100, binary version, fine labels (50000 train, 10000 test)", NULL, NL_CIFAR100_FINE},
    {"cifar100-coarse", load_cifar100, "cifar-100-binary", 32, 32, 3, 20, "cifar100",
     "CIFAR-100, binary version, coarse labels (superclasses)", NULL, NL_CIFAR100_COARSE},
    {NULL, NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0},
};

const nl_dataset_info *nl_datasets(void) {
    return datasets;
}

const nl_dataset_info *nl_dataset_find(const char *name) {
    for (const nl_dataset_info *i = datasets; name && i->name; i++)
        if (!strcmp(i->name, name)) return i;
    return NULL;
}

nl_status nl_dataset_load_info(const char *dir, const nl_dataset_info *info, nl_split split,
                               nl_dataset *d, nl_error *err) {
    memset(d, 0, sizeof *d);
    if (!info || !info->load)
        return nl_error_set(err, NL_EINVAL, "dataset '%s' has no loader",
                            info && info->name ? info->name : "(null)");
    nl_status st = info->load(dir, info, split, d, err);
    if (st) return st;
    const char *bad = NULL;
    if (info->h && (d->h != info->h || d->w != info->w || d->c != info->c))
        bad = "shape";
    else if (info->num_classes && d->num_classes != info->num_classes)
        bad = "class count";
    if (bad) {
        st = nl_error_set(err, NL_EFORMAT,
                          "%s: the loaded %s split has %dx%dx%d samples in %d classes, the "
                          "dataset is declared %dx%dx%d in %d classes (%s differs)",
                          info->name, split == NL_SPLIT_TEST ? "test" : "train", d->h, d->w, d->c,
                          d->num_classes, info->h, info->w, info->c, info->num_classes, bad);
        nl_dataset_free(d);
    }
    return st;
}

nl_status nl_dataset_load(const char *dir, const char *dataset, nl_split split, nl_dataset *d,
                          nl_error *err) {
    const nl_dataset_info *info = nl_dataset_find(dataset);
    if (info) return nl_dataset_load_info(dir, info, split, d, err);
    memset(d, 0, sizeof *d);
    char known[512] = "";
    size_t k = 0;
    for (const nl_dataset_info *i = datasets; i->name && k < sizeof known; i++) {
        int n = snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "", i->name);
        if (n < 0) break;
        k += (size_t)n;
    }
    return nl_error_set(err, NL_ENOTFOUND, "unknown dataset '%s' (known: %s)",
                        dataset ? dataset : "(null)", known);
}

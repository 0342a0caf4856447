/* Named datasets -> loaders. */
#include <string.h>

#include "nnlab/data.h"

nl_status nl_dataset_load(const char *dir, const char *dataset, nl_split split, nl_dataset *d,
                          nl_error *err) {
    if (!strcmp(dataset, "mnist") || !strcmp(dataset, "fashion-mnist") ||
        !strcmp(dataset, "kmnist"))
        return nl_mnist_load(dir, dataset, split, d, err);
    if (!strcmp(dataset, "cifar10")) return nl_cifar10_load(dir, split, d, err);
    return nl_error_set(err, NL_ENOTFOUND,
                        "unknown dataset '%s' (known: mnist, fashion-mnist, kmnist, cifar10)",
                        dataset);
}

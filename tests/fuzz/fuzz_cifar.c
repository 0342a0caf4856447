/* CIFAR-10 batch files: the input is test_batch.bin of a directory whose
 * batches hold (first byte % 4) + 1 records each, loaded with
 * nl_cifar10_load_ex. */
#include <stdint.h>

#include "fuzz_util.h"
#include "nnlab/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const size_t per_file = (size_t)(data[0] % 4) + 1;
    data++, size--;
    fz_mkdir("c");
    fz_mkdir("c/cifar-10-batches-bin");
    fz_write("c/cifar-10-batches-bin/test_batch.bin", data, size);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", fz_path("c"));
    nl_error err = {0};
    nl_dataset d;
    memset(&d, 0, sizeof d);
    if (nl_cifar10_load_ex(dir, NL_SPLIT_TEST, per_file, &d, &err) == NL_OK) {
        if (d.n > 0 && d.labels[d.n - 1] > 9) abort(); /* the loader checks labels */
        nl_dataset_free(&d);
    }
    return 0;
}

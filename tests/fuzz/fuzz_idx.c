/* IDX files: the in-memory parser on raw bytes (first byte: the rank wanted),
 * and nl_idx_load on the input as an image file, written raw or gzipped (so
 * mutations reach the IDX parser behind a valid gzip stream), next to a fixed
 * label file. */
#include <stdint.h>

#include "fuzz_util.h"
#include "nnlab/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    data++, size--;
    nl_error err = {0};
    uint32_t dims[3];
    const uint8_t *payload;
    (void)nl_idx_parse("fuzz", data, size, (mode & 1) ? 3 : 1, dims, &payload, &err);

    /* as a file: labels for 3 samples, classes 0..9 */
    static const uint8_t labels[] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3};
    fz_write("labels-idx1-ubyte", labels, sizeof labels);
    const char *img = (mode & 2) ? "images-idx3-ubyte.gz" : "images-idx3-ubyte";
    if (mode & 2) {
        size_t gn;
        uint8_t *gz = (mode & 4) ? NULL : fz_gzip(data, size, &gn);
        fz_write(img, gz ? gz : data, gz ? gn : size); /* mode & 4: the bytes as a gzip stream */
        free(gz);
    } else {
        fz_write(img, data, size);
    }
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s", fz_path(img));
    snprintf(lp, sizeof lp, "%s", fz_path("labels-idx1-ubyte"));
    nl_dataset d;
    memset(&d, 0, sizeof d);
    if (nl_idx_load(ip, lp, 10, &d, &err) == NL_OK) nl_dataset_free(&d);
    unlink(ip);
    return 0;
}

/* The tar reader behind a valid gzip stream: the input is a raw tar whose
 * header checksums are fixed up here, gzipped, then (1) unpacked by the store's
 * nl_untar_gz (src/store/tar.c) and (2) read in place by the CIFAR-10 loader
 * as DIR/cifar-10-binary.tar.gz. Both stay the entry points when the tar
 * reader moves to src/core/tar.c; an nl_tar_open_mem target can be added then. */
#include <dirent.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "nnlab/data.h"
#include "store/store_internal.h"

static void empty_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    char p[1024];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
            continue;
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        if (unlink(p) != 0) abort(); /* only regular files may come out of an archive */
    }
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    uint8_t *tar = malloc(size ? size : 1);
    memcpy(tar, data, size);
    fz_fix_tar(tar, size);
    size_t gn;
    uint8_t *gz = fz_gzip(tar, size, &gn);
    free(tar);
    fz_mkdir("t");
    fz_write("t/cifar-10-binary.tar.gz", gz, gn);
    free(gz);
    char archive[512], out[512], dir[512];
    snprintf(archive, sizeof archive, "%s", fz_path("t/cifar-10-binary.tar.gz"));
    snprintf(out, sizeof out, "%s", fz_path("out"));
    snprintf(dir, sizeof dir, "%s", fz_path("t"));
    fz_mkdir("out");
    nl_error err = {0};
    int count = 0;
    (void)nl_untar_gz(archive, "cifar-10-batches-bin", out, &count, &err);
    empty_dir(out);
    nl_dataset d;
    memset(&d, 0, sizeof d);
    if (nl_cifar10_load_ex(dir, NL_SPLIT_TEST, 2, &d, &err) == NL_OK) nl_dataset_free(&d);
    return 0;
}

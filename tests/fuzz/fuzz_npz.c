/* NPZ tables: a mode byte, then either (bit 0 set) the bytes of a whole
 * archive (nl_npz_parse), or a 2-byte little-endian length L, L bytes of
 * x.npy and the rest as y.npy, zipped here with libzip (bit 1: deflated) into
 * a file read by nl_npz_load, so mutations reach the .npy parser behind a
 * valid archive. Bits 2-3: classes, values or inputs only; bit 4: the input
 * shape 2x2x1 given. */
#include <stdint.h>
#include <zip.h>

#include "fuzz_util.h"
#include "nnlab/data.h"

static void check(nl_status st, nl_dataset *d) {
    if (st == NL_OK) {
        const size_t ss = nl_dataset_sample_size(d);
        volatile float sum = 0;
        for (size_t i = 0; i < d->n * ss; i++) sum += d->x[i];
        if (d->labels)
            for (size_t i = 0; i < d->n; i++)
                if (d->labels[i] >= d->num_classes) abort();
        if (d->y)
            for (size_t i = 0; i < d->n * (size_t)d->targets; i++) sum += d->y[i];
        (void)sum;
        nl_dataset_free(d);
    } else if (d->x || d->labels || d->y || d->n) {
        abort(); /* an error loads nothing */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    data++, size--;
    nl_table_options o = nl_table_defaults();
    o.targets = ((mode >> 2) & 3) % 3;
    if (mode & 16) o.h = 2, o.w = 2, o.c = 1;
    o.max_bytes = 1 << 22;
    nl_dataset d;
    nl_error err = {0};
    if (mode & 1) {
        check(nl_npz_parse("fuzz.npz", data, size, &o, &d, &err), &d);
        return 0;
    }
    if (size < 2) return 0;
    size_t lx = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2, size -= 2;
    if (lx > size) lx = size;
    const char *path = fz_path("t.npz");
    int ze = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
    if (!z) abort();
    const char *names[2] = {"x.npy", "y.npy"};
    const uint8_t *parts[2] = {data, data + lx};
    const size_t lens[2] = {lx, size - lx};
    for (int i = 0; i < 2; i++) {
        zip_source_t *s =
            zip_source_buffer(z, lens[i] ? parts[i] : (const uint8_t *)"", lens[i], 0);
        zip_int64_t k = s ? zip_file_add(z, names[i], s, ZIP_FL_OVERWRITE) : -1;
        if (k < 0) abort();
        zip_set_file_compression(z, (zip_uint64_t)k, (mode & 2) ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
    if (zip_close(z) != 0) abort();
    check(nl_npz_load(path, &o, &d, &err), &d);
    unlink(path);
    return 0;
}

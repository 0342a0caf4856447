/* CSV tables: a mode byte (bits 0-1: classes, values or inputs only; bit 2:
 * the input shape 2x2x1 given; bit 3: 3 classes given; bit 4: the label
 * column named "y"; bit 5: through a file, nl_csv_load), then the text. */
#include <stdint.h>

#include "fuzz_util.h"
#include "nnlab/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    data++, size--;
    nl_table_options o = nl_table_defaults();
    o.targets = (mode & 3) % 3;
    if (mode & 4) o.h = 2, o.w = 2, o.c = 1;
    if (mode & 8) o.num_classes = 3;
    if (mode & 16) o.label = "y";
    o.max_bytes = 1 << 20;
    nl_dataset d;
    nl_error err = {0};
    nl_status st;
    if (mode & 32) {
        fz_write("t.csv", data, size);
        st = nl_csv_load(fz_path("t.csv"), &o, &d, &err);
    } else {
        st = nl_csv_parse("fuzz.csv", (const char *)data, size, &o, &d, &err);
    }
    if (st == NL_OK) {
        /* what was loaded is complete: every sample readable */
        const size_t ss = nl_dataset_sample_size(&d);
        volatile float sum = 0;
        for (size_t i = 0; i < d.n * ss; i++) sum += d.x[i];
        if (d.labels)
            for (size_t i = 0; i < d.n; i++)
                if (d.labels[i] >= d.num_classes) abort();
        if (d.y)
            for (size_t i = 0; i < d.n; i++) sum += d.y[i];
        (void)sum;
        nl_dataset_free(&d);
    } else if (d.x || d.labels || d.y || d.n) {
        abort(); /* an error loads nothing */
    }
    return 0;
}

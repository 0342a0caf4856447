/* Catalog files (NNLAB_CATALOG): nl_catalog_load on the input, then a lookup
 * and verify of every entry it added against an empty data directory. */
#include <stdint.h>

#include "fuzz_util.h"
#include "nnlab/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write("fuzz.cat", data, size);
    fz_mkdir("data");
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s", fz_path("fuzz.cat"));
    snprintf(dir, sizeof dir, "%s", fz_path("data"));
    nl_error err = {0};
    const int before = nl_catalog_count();
    if (nl_catalog_load(path, &err) == NL_OK) {
        static nl_verify_report r;
        for (int i = before; i < nl_catalog_count(); i++) {
            const nl_data_info *d = nl_catalog_get(i);
            (void)nl_data_download_size(d);
            (void)nl_data_verify(dir, d->name, 1, &r, &err);
        }
    } else if (nl_catalog_count() != before) {
        abort(); /* a failed file adds nothing */
    }
    nl_catalog_reset();
    return 0;
}

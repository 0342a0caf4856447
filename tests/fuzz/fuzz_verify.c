/* nnlab data verify's single pass over a file (src/store/verify.c): the input
 * as an MNIST member, raw or as a .gz download (first byte), hashed and
 * checked for structure, then judged. */
#include <stdint.h>

#include "fuzz_util.h"
#include "nnlab/fetch.h"
#include "store/store_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    data++, size--;
    static const nl_data_info *mn;
    nl_error err = {0};
    if (!mn && nl_catalog_lookup("mnist", &mn, &err) != NL_OK) abort();
    const int k = mode % (mn->nmembers > 0 ? mn->nmembers : 1);
    fz_write("member", data, size);
    nl_file_check c;
    memset(&c, 0, sizeof c);
    c.info = mn;
    c.member = &mn->members[k];
    c.gz = (mode >> 2) & 1;
    c.want_md5 = 1;
    char detail[640];
    if (nl_check_file(fz_path("member"), &c, &err) == NL_OK && c.exists) {
        if (c.gz)
            (void)nl_judge_download(mn, &mn->downloads[k], c.member, &c, detail, sizeof detail);
        else
            (void)nl_judge_member(mn, c.member, &c, detail, sizeof detail, NULL);
    }
    return 0;
}

/* A program on the tools library: checks a dataset in a data directory against
 * the hashes pinned in nnlab's catalog (no network), like `nnlab data verify`.
 *
 *   cc data_verify.c $(pkg-config --cflags --libs nnlab-tools) -o data_verify
 *   ./data_verify DATA_DIR [DATASET]      (DATASET: mnist by default)
 */
#include <stdio.h>

#include <nnlab/core.h>
#include <nnlab/fetch.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_DIR [DATASET]\n", argv[0]);
        return 2;
    }
    const char *dataset = argc > 2 ? argv[2] : "mnist";
    nl_error err = {0};
    static nl_verify_report rep;
    if (nl_catalog_init(&err) || nl_data_verify(argv[1], dataset, 0, &rep, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    printf("nnlab %s, %d datasets in the catalog\n", nl_version(), nl_catalog_count());
    for (int i = 0; i < rep.nitems; i++)
        printf("  %-10s %s\n", nl_verdict_name(rep.items[i].verdict), rep.items[i].file);
    printf("%s: %s\n", dataset, rep.summary);
    return rep.verdict == NL_VERDICT_OK ? 0 : 1;
}

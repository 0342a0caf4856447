/* Contestants files (--contestants-file): nl_bench_contestants_parse on the
 * input, then every command template expanded with and without values, and
 * each contestant as a rank variant. */
#include <stdint.h>

#include "fuzz_util.h"
#include "nnlab/bench.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    nl_bench_contestant *list = NULL;
    size_t n = 0;
    nl_error err = {0};
    if (nl_bench_contestants_parse(text, "fuzz.txt", &list, &n, &err) == NL_OK) {
        const nl_bench_vars full = {"mnist",  "/d",     "3",    "0",  "/e",     "2",     "100",
                                    "32",     "nnlab",  "/r",   "/o", "/m.nnm", "mnist", "/t.csv",
                                    "/u.csv", "target", "cuda", "2",  "/h"};
        const nl_bench_vars none = {0};
        for (size_t i = 0; i < n; i++) {
            char **argv = NULL;
            if (nl_bench_expand(list[i].command, &full, &argv, &err) == NL_OK)
                nl_bench_argv_free(argv);
            argv = NULL;
            if (nl_bench_expand(list[i].command, &none, &argv, &err) == NL_OK)
                nl_bench_argv_free(argv);
            nl_bench_contestant v;
            if (nl_bench_contestant_multiprocess(&list[i]))
                (void)nl_bench_contestant_ranks(&list[i], 2, 1, &v, &err);
        }
    }
    free(list);
    free(text);
    return 0;
}

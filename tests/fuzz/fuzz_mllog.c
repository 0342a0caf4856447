/* Event lines (MLLOG) of a contestant: nl_bench_timeline_parse on the input,
 * whole and split at the first byte's position (two chunks, as two files). */
#include <stdint.h>

#include "fuzz_util.h"
#include "nnlab/bench.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nl_bench_timeline tl;
    nl_bench_timeline_init(&tl);
    nl_bench_timeline_parse(&tl, (const char *)data, size);
    if (tl.epochs < 0 || tl.epochs > NL_BENCH_MAX_EPOCHS) abort();
    if (size > 1) {
        size_t cut = data[0] % size;
        nl_bench_timeline_init(&tl);
        nl_bench_timeline_parse(&tl, (const char *)data + 1, cut);
        nl_bench_timeline_parse(&tl, (const char *)data + 1 + cut, size - 1 - cut);
        if (tl.epochs < 0 || tl.epochs > NL_BENCH_MAX_EPOCHS) abort();
    }
    return 0;
}

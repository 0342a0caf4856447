/* Parallel loops (parallel.h) on the OpenMP threads: chunks are claimed one at
 * a time, so a thread that is late or descheduled only delays the chunks it
 * has claimed. */
#include <omp.h>

#include "core/parallel.h"

void nl_parallel_for(size_t n, size_t grain, nl_range_fn fn, void *ctx) {
    if (grain == 0) grain = 1;
    const size_t chunks = nl_parallel_chunks(n, grain);
    if (chunks == 0) return;
    if (chunks == 1 || omp_get_max_threads() == 1) {
        for (size_t k = 0; k < chunks; k++) {
            const size_t b = k * grain, e = b + grain < n ? b + grain : n;
            fn(ctx, b, e, k);
        }
        return;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t k = 0; k < chunks; k++) {
        const size_t b = k * grain, e = b + grain < n ? b + grain : n;
        fn(ctx, b, e, k);
    }
}

int nl_parallel_threads(void) {
    const int t = omp_get_max_threads();
    return t > 0 ? t : 1;
}

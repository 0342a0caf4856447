/* The library's threads: one entry point for parallel loops.
 *
 * A loop over [0, n) is cut into fixed chunks of `grain` items (the last may be
 * shorter); every chunk runs exactly once, on whichever thread claims it, and
 * nl_parallel_for returns when all have run. Chunk boundaries depend only on n
 * and grain, never on the threads, so code whose chunks write disjoint outputs
 * (or whose partial sums are added in chunk order afterwards) gives the same
 * bits whatever the scheduling. */
#ifndef NNLAB_CORE_PARALLEL_H
#define NNLAB_CORE_PARALLEL_H

#include <stddef.h>

/* Runs items [begin, end) of the loop; chunk is the chunk's index. */
typedef void (*nl_range_fn)(void *ctx, size_t begin, size_t end, size_t chunk);

/* Runs fn over [0, n) in chunks of grain items (grain 0 is taken as 1). A loop
 * of one chunk runs on the calling thread. */
void nl_parallel_for(size_t n, size_t grain, nl_range_fn fn, void *ctx);

/* Chunks nl_parallel_for makes of n items with this grain. */
static inline size_t nl_parallel_chunks(size_t n, size_t grain) {
    if (grain == 0) grain = 1;
    return (n + grain - 1) / grain;
}

/* Threads the parallel loops may use (>= 1). */
int nl_parallel_threads(void);

#endif

/* The library's threads: one entry point for parallel loops.
 *
 * A loop over [0, n) is cut into fixed chunks of `grain` items (the last may be
 * shorter); every chunk runs exactly once, on whichever thread claims it, and
 * nl_parallel_for returns when all have run. Chunk boundaries depend only on n
 * and grain, never on the threads, so code whose chunks write disjoint outputs
 * (or whose partial sums are added in chunk order afterwards) gives the same
 * bits whatever the scheduling.
 *
 * Underneath is a persistent pool of nnlab's own threads (parallel.c): the
 * calling thread runs chunks too, and a loop ends when its chunks are done; it
 * never waits for a thread that has not started on one, so a descheduled
 * thread delays at most the chunk it is running. A call from inside a chunk,
 * or while another thread of the program runs a loop, runs its chunks in
 * order on the calling thread (same boundaries, same results). The calling
 * thread's floating-point mode (MXCSR) is applied on the pool's threads for
 * every loop. */
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

/* Sets the threads (n <= 0: the CPUs this process may run on); the pool's
 * threads are started on the next loop that needs them. Returns the number
 * in effect. Not to be called from inside a loop. */
int nl_parallel_set_threads(int n);

/* 1 on a thread that is running a chunk. */
int nl_parallel_in_loop(void);

/* How many parts to cut n items into for a loop whose parts each need a
 * partial result of their own (at most max_parts): 1 with one thread, else
 * about two per thread, so that a thread that is late leaves its parts to the
 * others; never more than n. Depends only on n, max_parts and the thread count. */
size_t nl_parallel_parts(size_t n, size_t max_parts);

/* The grain that cuts n items into at most parts chunks, a multiple of align
 * (align 0 is taken as 1) where n allows. */
size_t nl_parallel_grain(size_t n, size_t parts, size_t align);

/* The grain for a loop whose items are independent (no partial results):
 * one chunk when worth is 0 (too little work to wake threads for) or with
 * one thread, else nl_parallel_parts(n, 64) chunks. */
size_t nl_parallel_grain_even(size_t n, int worth);

/* Reduction: fn(ctx, begin, end, chunk) writes its chunk's width partial sums
 * to parts + chunk * width (parts holds nl_parallel_chunks(n, grain) * width
 * doubles); then out[k] = the chunk partials added in chunk order. The same
 * bits for any thread count and scheduling. */
void nl_parallel_reduce(size_t n, size_t grain, nl_range_fn fn, void *ctx, double *parts,
                        size_t width, double *out);

/* Test hook: the pool's worker `worker` (1 .. threads - 1) sleeps ms
 * milliseconds after it wakes for a loop, before it claims any chunk (0: no
 * delay). For tests of a thread that the kernel has descheduled. */
void nl_parallel_test_hold(int worker, unsigned ms);

/* Test hook: chunks run by the pool's workers (not the calling thread) since
 * the pool started. */
unsigned long nl_parallel_test_worker_chunks(void);

#endif

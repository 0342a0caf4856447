/* Deterministic load balancing over the images of a batch.
 *
 * A layer that sums over images (a convolution's bias and weight gradients,
 * the fused batch norm's statistics) cuts the batch into nl_chunks(batch)
 * fixed chunks of consecutive images (nl_chunk_range). Each chunk sums its own
 * images, in order, into its own partial, and the partials are added in chunk
 * order: the result depends neither on which thread ran which chunk nor on
 * the number of threads.
 *
 * Which thread runs which chunk (nl_sched): thread t first takes the chunks
 * of its own contiguous block, front to back, as a static split would; when
 * its block is done it takes the last chunks of the other threads' blocks,
 * back to front. On two equally fast cores this is the static split, so an
 * image stays on the thread that made its input in the layer before (in that
 * core's cache); when one core runs slower (a busy sibling on the host: 10-20%
 * on the development VM), the faster thread takes over the end of its work
 * instead of waiting for it at the barrier.
 *
 * Claims are atomic exchanges on one flag per chunk. An owner claims a prefix
 * of its block and stops at the first chunk already claimed; a thief claims a
 * suffix and stops the same way; so every chunk is run exactly once. */
#ifndef NNLAB_LAYERS_SCHED_H
#define NNLAB_LAYERS_SCHED_H

#include <stdatomic.h>

#define NL_MAX_CHUNKS 16

static inline int nl_chunks(int batch) {
    return batch < NL_MAX_CHUNKS ? (batch < 1 ? 1 : batch) : NL_MAX_CHUNKS;
}

/* Images [lo, hi) of chunk k of nch. */
static inline void nl_chunk_range(int batch, int nch, int k, int *lo, int *hi) {
    *lo = (int)((long long)batch * k / nch);
    *hi = (int)((long long)batch * (k + 1) / nch);
}

/* The chunks of one parallel loop: set up by nl_sched_init before the
 * parallel region, shared by its threads. */
typedef struct nl_sched {
    atomic_uchar claimed[NL_MAX_CHUNKS];
    int nch;
} nl_sched;

/* A thread's place in the loop (private). */
typedef struct nl_sched_cursor {
    int t, nth; /* this thread, the team's size */
    int victim; /* 0: own block; v > 0: thread (t + v) % nth's */
    int pos;    /* next chunk to try; -1: the victim's last */
} nl_sched_cursor;

static inline void nl_sched_init(nl_sched *s, int nch) {
    s->nch = nch;
    for (int k = 0; k < NL_MAX_CHUNKS; k++) atomic_init(&s->claimed[k], 0);
}

static inline nl_sched_cursor nl_sched_start(const nl_sched *s, int t, int nth) {
    nl_sched_cursor c = {t, nth, 0, (int)((long long)s->nch * t / nth)};
    return c;
}

/* The next chunk for this thread, or -1 when every chunk is taken. */
static inline int nl_sched_next(nl_sched *s, nl_sched_cursor *c) {
    for (; c->victim < c->nth; c->victim++, c->pos = -1) {
        const int v = (c->t + c->victim) % c->nth;
        const int lo = (int)((long long)s->nch * v / c->nth);
        const int hi = (int)((long long)s->nch * (v + 1) / c->nth);
        if (c->victim == 0) {
            if (c->pos < hi &&
                !atomic_exchange_explicit(&s->claimed[c->pos], 1, memory_order_relaxed))
                return c->pos++;
            continue;
        }
        if (c->pos < 0) c->pos = hi - 1;
        if (c->pos >= lo && !atomic_exchange_explicit(&s->claimed[c->pos], 1, memory_order_relaxed))
            return c->pos--;
    }
    return -1;
}

#endif

/* The chunk scheduler (src/layers/sched.h): every chunk runs exactly once,
 * whatever the interleaving of the threads; equally fast threads keep their
 * static blocks; a faster thread takes the end of a slower one's block. */
#include <omp.h>
#include <stdlib.h>

#include "check.h"
#include "core/rng.h"
#include "layers/sched.h"

#define MAXT 6

/* Runs the loop of nth simulated threads, choosing which one advances next
 * with pick (returns a thread that has not finished). Records who got each
 * chunk, in claim order per thread. Returns 1 when every chunk was claimed
 * exactly once and every thread finished. */
typedef int (*pick_fn)(const int *done, int nth, int step, nl_rng *r);

static int run_sim(int nch, int nth, pick_fn pick, nl_rng *r, int owner[NL_MAX_CHUNKS],
                   int got[MAXT][NL_MAX_CHUNKS], int ngot[MAXT]) {
    nl_sched s;
    nl_sched_init(&s, nch);
    nl_sched_cursor cur[MAXT];
    int done[MAXT] = {0}, left = nth;
    for (int t = 0; t < nth; t++) cur[t] = nl_sched_start(&s, t, nth), ngot[t] = 0;
    for (int k = 0; k < NL_MAX_CHUNKS; k++) owner[k] = -1;
    int ok = 1;
    for (int step = 0; left > 0 && step < 10000; step++) {
        const int t = pick(done, nth, step, r);
        const int k = nl_sched_next(&s, &cur[t]);
        if (k < 0) {
            done[t] = 1, left--;
            continue;
        }
        if (k >= nch || owner[k] >= 0) ok = 0; /* out of range or claimed twice */
        if (k < nch) owner[k] = t;
        got[t][ngot[t]++] = k;
    }
    for (int k = 0; k < nch; k++) ok &= owner[k] >= 0;
    return ok && left == 0;
}

static int pick_random(const int *done, int nth, int step, nl_rng *r) {
    (void)step;
    for (;;) {
        const int t = (int)(nl_rng_uniform(r) * nth) % nth;
        if (!done[t]) return t;
    }
}

static int pick_round_robin(const int *done, int nth, int step, nl_rng *r) {
    (void)r;
    for (int i = 0; i < nth; i++) {
        const int t = (step + i) % nth;
        if (!done[t]) return t;
    }
    return 0;
}

/* thread 0 advances three times for every advance of the others */
static int pick_fast_zero(const int *done, int nth, int step, nl_rng *r) {
    (void)r;
    if (step % (nth + 2) < 3 && !done[0]) return 0;
    for (int i = 0; i < nth; i++) {
        const int t = (step + i) % nth;
        if (!done[t]) return t;
    }
    return 0;
}

static void every_chunk_once(void) {
    nl_rng r;
    nl_rng_seed(&r, 11);
    int owner[NL_MAX_CHUNKS], got[MAXT][NL_MAX_CHUNKS], ngot[MAXT];
    int bad = 0, runs = 0;
    for (int nch = 1; nch <= NL_MAX_CHUNKS; nch++)
        for (int nth = 1; nth <= MAXT; nth++)
            for (int rep = 0; rep < 50; rep++, runs++)
                bad += !run_sim(nch, nth, pick_random, &r, owner, got, ngot);
    CHECK_MSG(bad == 0, "%d of %d random interleavings lost or repeated a chunk", bad, runs);
}

static void equal_speed_is_static(void) {
    int owner[NL_MAX_CHUNKS], got[MAXT][NL_MAX_CHUNKS], ngot[MAXT];
    for (int nth = 1; nth <= 4; nth++) {
        const int nch = 4 * nth; /* equal blocks of 4 */
        CHECK(run_sim(nch, nth, pick_round_robin, NULL, owner, got, ngot));
        int same = 1;
        for (int k = 0; k < nch; k++) same &= owner[k] == k / 4;
        CHECK_MSG(same, "%d threads at the same speed must keep their static blocks", nth);
    }
}

static void fast_thread_steals_the_end(void) {
    int owner[NL_MAX_CHUNKS], got[MAXT][NL_MAX_CHUNKS], ngot[MAXT];
    CHECK(run_sim(16, 2, pick_fast_zero, NULL, owner, got, ngot));
    /* thread 0: its block 0..7 in order, then thread 1's last chunks backwards */
    int order = ngot[0] > 8;
    for (int i = 0; i < 8; i++) order &= got[0][i] == i;
    for (int i = 8; i < ngot[0]; i++) order &= got[0][i] == 15 - (i - 8);
    CHECK_MSG(order, "thread 0 took %d chunks, not its block then thread 1's end", ngot[0]);
    /* thread 1: a prefix of its block, in order */
    int prefix = ngot[1] + ngot[0] == 16;
    for (int i = 0; i < ngot[1]; i++) prefix &= got[1][i] == 8 + i;
    CHECK(prefix);
}

/* real threads racing for the chunks */
static void threads_race(void) {
    int bad = 0;
    for (int nt = 2; nt <= 4; nt++)
        for (int rep = 0; rep < 300; rep++) {
            const int nch = 1 + rep % NL_MAX_CHUNKS;
            int count[NL_MAX_CHUNKS] = {0};
            nl_sched s;
            nl_sched_init(&s, nch);
#pragma omp parallel num_threads(nt)
            {
                nl_sched_cursor c = nl_sched_start(&s, omp_get_thread_num(), omp_get_num_threads());
                for (int k; (k = nl_sched_next(&s, &c)) >= 0;) {
#pragma omp atomic
                    count[k]++;
                }
            }
            for (int k = 0; k < nch; k++) bad += count[k] != 1;
        }
    CHECK_MSG(bad == 0, "%d chunks not run exactly once by racing threads", bad);
}

static void chunk_ranges(void) {
    CHECK(nl_chunks(0) == 1 && nl_chunks(5) == 5 && nl_chunks(32) == NL_MAX_CHUNKS);
    for (int B = 1; B <= 70; B++) {
        const int nch = nl_chunks(B);
        int next = 0, ok = 1;
        for (int k = 0; k < nch; k++) {
            int lo, hi;
            nl_chunk_range(B, nch, k, &lo, &hi);
            ok &= lo == next && hi > lo;
            next = hi;
        }
        CHECK_MSG(ok && next == B, "batch %d: chunks must tile the batch", B);
    }
}

int main(void) {
    chunk_ranges();
    every_chunk_once();
    equal_speed_is_static();
    fast_thread_steals_the_end();
    threads_race();
    CHECK_DONE();
}

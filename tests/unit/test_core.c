/* Core services: the flush-to-zero mode training runs in, and the OpenBLAS
 * core-type fallback. */
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "core/blas_core.h"
#include "core/fpmode.h"
#include "core/parallel.h"
#include "nnlab/core.h"

/* A subnormal operand times 1: zero under DAZ, itself otherwise. */
static float subnormal_times_one(void) {
    volatile float tiny = 1e-39f, one = 1.0f;
    return tiny * one;
}

/* A parallel loop of 32 chunks of 1 ms each (long enough that the pool's
 * worker claims some): how many saw subnormals flushed. */
static int flushed[32];
static void flush_chunk(void *ctx, size_t lo, size_t hi, size_t k) {
    (void)ctx, (void)lo, (void)hi;
    const struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
    flushed[k] = subnormal_times_one() == 0.0f;
}
static int threads_flushing(void) {
    /* until the worker took part (a loaded machine may start it late) */
    int tries = 0;
    for (unsigned long w0;; tries++) {
        w0 = nl_parallel_test_worker_chunks();
        nl_parallel_for(32, 1, flush_chunk, NULL);
        if (nl_parallel_test_worker_chunks() > w0 || tries == 50) break;
    }
    CHECK_MSG(tries < 50, "the pool's worker ran no chunk in 50 loops");
    int n = 0;
    for (int k = 0; k < 32; k++) n += flushed[k];
    return n == 32 ? 2 : n == 0 ? 0 : 1; /* 2: every thread flushes */
}

static void test_fpmode(void) {
    nl_set_threads(2);
    CHECK(subnormal_times_one() != 0.0f);
    CHECK(threads_flushing() == 0);
    nl_fpmode outer, inner;
    nl_fpmode_flush(&outer);
#if defined(__SSE__) || defined(__x86_64__)
    CHECK(subnormal_times_one() == 0.0f);
    CHECK_MSG(threads_flushing() == 2, "not every chunk flushes (%d)", threads_flushing());
    nl_fpmode_flush(&inner); /* nested: restores to flushing */
    nl_fpmode_restore(&inner);
    CHECK(subnormal_times_one() == 0.0f);
    CHECK(threads_flushing() == 2);
#else
    (void)inner;
#endif
    nl_fpmode_restore(&outer);
    CHECK(subnormal_times_one() != 0.0f);
    CHECK(threads_flushing() == 0);
}

static void test_blas_core_fix(void) {
    /* kernels with AVX2 or better, or unknown names: never overridden */
    CHECK(nl_openblas_core_fix("Haswell") == NULL);
    CHECK(nl_openblas_core_fix("SkylakeX") == NULL);
    CHECK(nl_openblas_core_fix("Zen") == NULL);
    CHECK(nl_openblas_core_fix(NULL) == NULL);
    /* a generic fallback on a CPU with AVX2 gets the CPU's own kernels */
    const char *fix = nl_openblas_core_fix("Prescott");
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        CHECK(fix && !strcmp(fix, "SkylakeX"));
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        CHECK(fix && !strcmp(fix, "Haswell"));
    else
        CHECK(fix == NULL);
#else
    CHECK(fix == NULL);
#endif
    /* the linked OpenBLAS reports a core name */
    CHECK(nl_blas_core_name() && nl_blas_core_name()[0]);
}

int main(void) {
    test_fpmode();
    test_blas_core_fix();
    CHECK_DONE();
}

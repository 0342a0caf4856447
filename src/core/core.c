/* Version, threads (nnlab's pool, core/parallel.h; OpenBLAS single-threaded), clocks. */
#include "nnlab/core.h"

#include "core/blas_core.h"
#include "core/parallel.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Declared by OpenBLAS (not always in cblas.h). */
extern void openblas_set_num_threads(int);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

const char *nl_version(void) {
    return NNLAB_VERSION;
}

/* BLAS runs inside the pool's chunks (core/gemm.c), on one thread each. */
int nl_set_threads(int n) {
    openblas_set_num_threads(1);
    return nl_parallel_set_threads(n);
}

int nl_get_threads(void) {
    return nl_parallel_threads();
}

const char *nl_blas_info(void) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s (core %s)", openblas_get_config(), openblas_get_corename());
    return buf;
}

const char *nl_blas_core_name(void) {
    return openblas_get_corename();
}

const char *nl_blas_core_fix(void) {
    return nl_openblas_core_fix(openblas_get_corename());
}

double nl_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int64_t nl_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double nl_peak_rss_mib(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
    return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

/* Version, threads (one OpenMP pool for nnlab loops and OpenBLAS), clocks. */
#include "nnlab/core.h"

#include "core/blas_core.h"

#include <cblas.h>
#include <omp.h>
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

static int g_threads = 0;

int nl_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
    g_threads = n;
    return n;
}

int nl_get_threads(void) {
    return g_threads > 0 ? g_threads : omp_get_max_threads();
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

/* Which OPENBLAS_CORETYPE to ask for when OpenBLAS fell back to generic
 * kernels: a release older than the CPU model does not know it and picks a
 * core without AVX2 (Debian 12's OpenBLAS 0.3.21 runs "Prescott" SSE3 kernels
 * on a Xeon of 2023, model 207: SGEMM 32 instead of 150 GFLOP/s on one core).
 * corename is openblas_get_corename(). Returns "SkylakeX" (AVX-512) or
 * "Haswell" (AVX2 + FMA) when the CPU has more than the chosen core uses,
 * else NULL. Header-only so that the benchmark programs, which link OpenBLAS
 * but not nnlab, ask the same question. */
#ifndef NNLAB_BLAS_CORE_H
#define NNLAB_BLAS_CORE_H

#include <stddef.h>
#include <strings.h>

static inline const char *nl_openblas_core_fix(const char *corename) {
#if defined(__x86_64__) && defined(__GNUC__)
    /* OpenBLAS core types without AVX2 kernels */
    static const char *const old[] = {"Prescott", "Core2",     "Penryn",     "Dunnington",
                                      "Nehalem",  "Atom",      "Katmai",     "Northwood",
                                      "Banias",   "Barcelona", "Sandybridge"};
    int is_old = 0;
    for (size_t i = 0; corename && i < sizeof old / sizeof *old; i++)
        if (!strcasecmp(corename, old[i])) is_old = 1;
    if (!is_old) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#else
    (void)corename;
#endif
    return NULL;
}

#endif

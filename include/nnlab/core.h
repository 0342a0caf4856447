/* nnlab/core.h - library version, threads, timing. */
#ifndef NNLAB_CORE_H
#define NNLAB_CORE_H

#include <stdint.h>

#include "nnlab/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NNLAB_VERSION "0.1.0"

NL_API const char *nl_version(void);

/* Sets the threads of nnlab's pool, which runs its loops (BLAS is called on
 * these threads, single-threaded itself). n <= 0 means all the cores this
 * process may run on (the default). Returns the number in effect. Not to be
 * called while another thread of the program is training. */
NL_API int nl_set_threads(int n);
NL_API int nl_get_threads(void);

/* Short description of the BLAS in use, e.g. "OpenBLAS 0.3.21 (openmp) Zen". */
NL_API const char *nl_blas_info(void);

/* The CPU core type the BLAS chose its kernels for, e.g. "Haswell". */
NL_API const char *nl_blas_core_name(void);
/* When the BLAS fell back to kernels without AVX2 on a CPU that has AVX2
 * (an OpenBLAS older than the CPU model), the OPENBLAS_CORETYPE that would
 * give the right ones ("SkylakeX", "Haswell"); else NULL. It takes effect
 * only in a process started with it in the environment. */
NL_API const char *nl_blas_core_fix(void);

/* Monotonic clock in seconds; wall clock in milliseconds since the epoch. */
NL_API double nl_now(void);
NL_API int64_t nl_wall_ms(void);

/* Peak resident set size of this process in MiB (from getrusage). */
NL_API double nl_peak_rss_mib(void);

#ifdef __cplusplus
}
#endif
#endif

/* The benchmark programs measure with the BLAS kernels the nnlab command
 * uses: when OpenBLAS fell back to generic kernels on a CPU it does not know
 * (core/blas_core.h), set OPENBLAS_CORETYPE as src/cli/main.c does and
 * re-execute once. Children inherit it, so peers that link the same OpenBLAS
 * (PyTorch, NumPy) get the same kernels. */
#ifndef NNLAB_BENCH_BLAS_ENV_H
#define NNLAB_BENCH_BLAS_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/blas_core.h"

extern char *openblas_get_corename(void);

static inline void bench_fix_blas_core(char **argv) {
    if (getenv("OPENBLAS_CORETYPE")) return;
    const char *core = nl_openblas_core_fix(openblas_get_corename());
    if (!core) return;
    fprintf(stderr,
            "%s: OpenBLAS chose core %s for this CPU; re-running with OPENBLAS_CORETYPE=%s\n",
            argv[0], openblas_get_corename(), core);
    setenv("OPENBLAS_CORETYPE", core, 1);
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");
}

#endif

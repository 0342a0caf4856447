/* Flush-to-zero mode for training and evaluation (see fpmode.h). */
#include "core/fpmode.h"

#include <omp.h>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define FTZ_DAZ 0x8040u /* MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero */

/* Sets MXCSR on this thread and on every thread of the pool the next parallel
 * regions will use (libgomp keeps the team's threads from region to region). */
static void set_all(unsigned csr) {
    _mm_setcsr(csr);
#pragma omp parallel
    _mm_setcsr(csr);
}

void nl_fpmode_flush(nl_fpmode *saved) {
    saved->csr = _mm_getcsr();
    set_all(saved->csr | FTZ_DAZ);
}

void nl_fpmode_restore(const nl_fpmode *saved) {
    set_all(saved->csr);
}
#else
void nl_fpmode_flush(nl_fpmode *saved) {
    saved->csr = 0;
}
void nl_fpmode_restore(const nl_fpmode *saved) {
    (void)saved;
}
#endif

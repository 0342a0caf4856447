/* Flush-to-zero mode for training and evaluation (see fpmode.h). */
#include "core/fpmode.h"

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define FTZ_DAZ 0x8040u /* MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero */

/* Sets MXCSR on this thread; the pool's threads take the calling thread's
 * MXCSR for every parallel loop (core/parallel.h). */
void nl_fpmode_flush(nl_fpmode *saved) {
    saved->csr = _mm_getcsr();
    _mm_setcsr(saved->csr | FTZ_DAZ);
}

void nl_fpmode_restore(const nl_fpmode *saved) {
    _mm_setcsr(saved->csr);
}
#else
void nl_fpmode_flush(nl_fpmode *saved) {
    saved->csr = 0;
}
void nl_fpmode_restore(const nl_fpmode *saved) {
    (void)saved;
}
#endif

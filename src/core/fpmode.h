/* Denormals flushed to zero while nnlab trains or evaluates.
 *
 * Adam's first moment decays by beta1 = 0.9 every step; for a weight whose
 * gradient is almost always zero (an MNIST border pixel that a few digits
 * touch) it passes through the subnormal range after a few hundred steps and
 * stays there. x86 cores from Intel handle subnormal operands with a microcode
 * assist of ~100 cycles per instruction: measured here (Xeon, model 207), the
 * Adam step took half of an MNIST epoch and the epoch ran 3x slower than on an
 * AMD core that handles them in hardware. Flushing them (MXCSR FTZ and DAZ, what
 * XLA and oneDNN do by default) changes results only below 1.2e-38.
 *
 * nl_fpmode_flush sets FTZ|DAZ on the calling thread, saving its mode;
 * nl_fpmode_restore puts it back. The pool's threads run every parallel loop
 * in the calling thread's mode (core/parallel.h). Nestable: an inner pair restores what the outer one set. No-op
 * where the architecture has no such mode (or nnlab does not know it). */
#ifndef NNLAB_FPMODE_H
#define NNLAB_FPMODE_H

typedef struct nl_fpmode {
    unsigned csr;
} nl_fpmode;

void nl_fpmode_flush(nl_fpmode *saved);
void nl_fpmode_restore(const nl_fpmode *saved);

#endif

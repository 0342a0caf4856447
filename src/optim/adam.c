/* Adam and AdamW (decoupled weight decay, Loshchilov & Hutter).
 * Elementwise, so splitting across threads never changes the result. */
#include <math.h>

#include "optim/optim_impl.h"

void adam_step(nl_optimizer *o, float *restrict p, const float *restrict g) {
    const float b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps, lr = o->cfg.lr;
    const float c1 = 1.0f / (1.0f - powf(b1, (float)o->t));
    const float c2 = 1.0f / (1.0f - powf(b2, (float)o->t));
    const float decay = o->cfg.kind == NL_OPT_ADAMW ? 1.0f - lr * o->cfg.weight_decay : 1.0f;
    float *restrict m = o->m, *restrict v = o->v;
    const long n = (long)o->n;
#pragma omp parallel for simd schedule(static) if (n >= 65536)
    for (long i = 0; i < n; i++) {
        const float gi = g[i];
        const float mi = b1 * m[i] + (1.0f - b1) * gi;
        const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - lr * (mi * c1) / (sqrtf(vi * c2) + eps);
    }
}

/* SGD with optional (heavy-ball, PyTorch-style) momentum. */
#include "optim/optim_impl.h"

void sgd_step(nl_optimizer *o, float *restrict p, const float *restrict g) {
    const float lr = o->cfg.lr, mu = o->cfg.momentum;
    const long n = (long)o->n;
    if (mu == 0.0f || !o->m) {
#pragma omp parallel for simd schedule(static) if (n >= 65536)
        for (long i = 0; i < n; i++) p[i] -= lr * g[i];
        return;
    }
    float *restrict u = o->m;
#pragma omp parallel for simd schedule(static) if (n >= 65536)
    for (long i = 0; i < n; i++) {
        u[i] = mu * u[i] + g[i];
        p[i] -= lr * u[i];
    }
}

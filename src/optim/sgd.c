/* SGD with optional (heavy-ball, PyTorch-style) momentum. */
#include "optim/optim_impl.h"

typedef struct sgd_job {
    float lr, mu;
    float *p, *u;
    const float *g;
} sgd_job;

static void sgd_range(const void *arg, long lo, long hi) {
    const sgd_job *j = arg;
    float *restrict p = j->p, *restrict u = j->u;
    const float *restrict g = j->g;
    const float lr = j->lr, mu = j->mu;
    if (!u) {
#pragma omp simd
        for (long i = lo; i < hi; i++) p[i] -= lr * g[i];
        return;
    }
#pragma omp simd
    for (long i = lo; i < hi; i++) {
        u[i] = mu * u[i] + g[i];
        p[i] -= lr * u[i];
    }
}

void sgd_step(nl_optimizer *o, float lr, float *restrict p, const float *restrict g) {
    sgd_job j = {.lr = lr, .mu = o->cfg.momentum, .p = p, .g = g, .u = NULL};
    if (j.mu != 0.0f) j.u = o->m;
    optim_for_ranges(o, sgd_range, &j);
}

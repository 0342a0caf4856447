/* Finite-difference gradient check for one layer through its ops table.
 *
 * L(in, params) = sum(out * R) for a fixed random R, so dL/dout = R. The
 * analytic din and dparams from backward are compared with central
 * differences (h = 3e-3; the computation is float, so the check
 * uses relative error against max(|analytic|, |numeric|, 1e-2)). */
#ifndef NNLAB_GRADCHECK_H
#define NNLAB_GRADCHECK_H

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "layers/layer.h"

#define GC_TOL 2e-2

typedef struct gc_result {
    double max_err_in, max_err_param; /* worst relative errors */
    int checked_in, checked_param;
    int bad_in, bad_param; /* probes with relative error > GC_TOL (kinks of
                              relu/max may make a few probes disagree) */
    int ok;                /* plan succeeded */
} gc_result;

/* Fraction of the inputs set to exactly zero (sparse-input code paths). */
static double gc_sparsity = 0.0;

static double gc_loss(const nl_layer *l, nl_layer_ctx *c, const float *R, size_t nout) {
    l->ops->forward(l, c);
    double s = 0.0;
    for (size_t i = 0; i < nout; i++) s += (double)c->out[i] * R[i];
    return s;
}

static double gc_relerr(double a, double n) {
    double d = fabs(a - n), s = fmax(fmax(fabs(a), fabs(n)), 1e-2);
    return d / s;
}

/* Runs the check for spec on input shape `in` with `batch` samples.
 * max_checks bounds the number of input / parameter elements probed.
 * input_scale scales the random inputs (uniform in [-scale, scale]). */
/* The compile-time options every layer the checks build gets (zeroed: auto);
 * tests set them to check each algorithm. */
static nl_compile_options gc_options;

static gc_result gradcheck_layer(const nl_layer_spec *spec, nl_shape in, int batch, int max_checks,
                                 float input_scale, uint64_t seed) {
    gc_result res = {0};
    nl_layer l = {0};
    l.spec = *spec;
    l.opt = gc_options;
    l.in = in;
    l.ops = nl_layer_ops_find(spec->kind);
    nl_error err = {0};
    if (!l.ops || l.ops->plan(&l, &err) != NL_OK) return res;
    res.ok = 1;
    const size_t nin = (size_t)batch * nl_shape_size(in),
                 nout = (size_t)batch * nl_shape_size(l.out);
    const size_t nscr = l.ops->scratch_floats ? l.ops->scratch_floats(&l, batch) : 0;
    float *x = calloc(nin, 4), *din = calloc(nin, 4), *R = calloc(nout, 4);
    float *out = calloc(nout + 1, 4), *dout = calloc(nout + 1, 4);
    float *p = calloc(l.nparams + 1, 4), *g = calloc(l.nparams + 1, 4);
    float *st = calloc(l.nstate + 1, 4), *st0 = calloc(l.nstate + 1, 4);
    float *scr = calloc(nscr + 1, 4);
    nl_rng r;
    nl_rng_seed(&r, seed);
    for (size_t i = 0; i < nin; i++) {
        x[i] = (2 * nl_rng_uniform(&r) - 1) * input_scale;
        if (nl_rng_uniform(&r) < gc_sparsity) x[i] = 0.0f;
    }
    for (size_t i = 0; i < nout; i++) R[i] = 2 * nl_rng_uniform(&r) - 1;
    if (l.ops->init) l.ops->init(&l, p, st, seed + 1);
    /* Perturb parameters away from their initial values (e.g. BN gamma = 1). */
    for (size_t i = 0; i < l.nparams; i++) p[i] += 0.3f * (2 * nl_rng_uniform(&r) - 1);
    memcpy(st0, st, (l.nstate + 1) * 4);

    nl_layer_ctx c = {0};
    c.batch = batch;
    c.training = 1;
    c.in = x;
    c.out = out;
    c.params = p;
    c.grads = g;
    c.state = st;
    c.scratch = scr;
    c.seed = seed;
    c.step = 7;
    gc_loss(&l, &c, R, nout);
    memcpy(dout, R, nout * 4);
    c.dout = dout;
    c.din = din;
    l.ops->backward(&l, &c);
    const float h = 3e-3f;
    int stride_in = (int)(nin / (size_t)max_checks) + 1;
    for (size_t i = 0; i < nin; i += (size_t)stride_in) {
        float v = x[i];
        memcpy(st, st0, (l.nstate + 1) * 4);
        x[i] = v + h;
        double lp = gc_loss(&l, &c, R, nout);
        memcpy(st, st0, (l.nstate + 1) * 4);
        x[i] = v - h;
        double lm = gc_loss(&l, &c, R, nout);
        x[i] = v;
        double e = gc_relerr(din[i], (lp - lm) / (2.0 * h));
        if (e > res.max_err_in) res.max_err_in = e;
        res.bad_in += e > GC_TOL;
        res.checked_in++;
    }
    int stride_p = (int)(l.nparams / (size_t)max_checks) + 1;
    for (size_t i = 0; i < l.nparams; i += (size_t)stride_p) {
        float v = p[i];
        memcpy(st, st0, (l.nstate + 1) * 4);
        p[i] = v + h;
        double lp = gc_loss(&l, &c, R, nout);
        memcpy(st, st0, (l.nstate + 1) * 4);
        p[i] = v - h;
        double lm = gc_loss(&l, &c, R, nout);
        p[i] = v;
        double e = gc_relerr(g[i], (lp - lm) / (2.0 * h));
        if (e > res.max_err_param) res.max_err_param = e;
        res.bad_param += e > GC_TOL;
        res.checked_param++;
    }
    free(x), free(din), free(R), free(out), free(dout), free(p), free(g), free(st), free(st0);
    free(scr);
    return res;
}

/* Passes when at most 10% of the probes disagree: a probe whose perturbation
 * moves a ReLU or max-pool input across its kink legitimately disagrees (a few
 * percent of probes here); a wrong gradient fails nearly every probe. */
#define GC_PASSED(r)                                                                               \
    ((r).ok && (r).bad_in * 10 <= (r).checked_in && (r).bad_param * 10 <= (r).checked_param)

#endif

/* Inverted dropout: in training, each element is kept with probability
 * 1 - rate and scaled by 1/(1 - rate); at evaluation it is the identity.
 *
 * The mask comes from a counter-based hash of (seed, step, layer, element), so
 * it does not depend on how threads split the work (nor, with the batch's
 * first sample in the global batch, on how processes split the batch). It is stored as floats
 * (0 or 1/(1-rate)) in the layer's scratch for the backward pass.
 *   forward:  out = in * mask        backward: din = dout * mask */
#include <string.h>

#include "core/parallel.h"
#include "core/rng.h"
#include "layers/layer.h"

/* Elements per chunk; shorter arrays run on one thread. */
#define DROPOUT_GRAIN 16384
#define DROPOUT_PAR   65536

typedef struct dropout_job {
    float *out, *mask;
    const float *in, *dout, *cmask;
    float scale;
    uint32_t threshold;
    uint64_t key, base; /* base: the batch's first element in the global batch */
} dropout_job;

static void dropout_fwd_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const dropout_job *j = ctx;
    (void)chunk;
    /* locals, so that the stores cannot alias the job and the loop vectorises */
    float *out = j->out, *restrict mask = j->mask;
    const float *in = j->in; /* may be out: each element is read before it is written */
    const uint64_t key = j->key, base = j->base;
    const uint32_t threshold = j->threshold;
    const float scale = j->scale;
    for (size_t i = lo; i < hi; i++) {
        const uint32_t u = (uint32_t)(nl_hash2(key, base + i) >> 40);
        const float m = u >= threshold ? scale : 0.0f;
        mask[i] = m;
        out[i] = in[i] * m;
    }
}

static void dropout_bwd_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const dropout_job *j = ctx;
    (void)chunk;
    float *restrict din = j->out;
    const float *restrict dout = j->dout, *restrict mask = j->cmask;
    for (size_t i = lo; i < hi; i++) din[i] = dout[i] * mask[i];
}

void dropout_forward(float *out, float *mask, const float *in, size_t n, float rate, uint64_t key,
                     uint64_t base) {
    dropout_job j = {0};
    j.out = out, j.mask = mask, j.in = in, j.key = key, j.base = base;
    j.scale = 1.0f / (1.0f - rate);
    /* keep when the top 24 bits are >= rate * 2^24 */
    j.threshold = (uint32_t)((double)rate * 16777216.0);
    nl_parallel_for(n, n >= DROPOUT_PAR ? DROPOUT_GRAIN : n, dropout_fwd_chunk, &j);
}

void dropout_backward(float *din, const float *dout, const float *mask, size_t n) {
    dropout_job j = {0};
    j.out = din, j.dout = dout, j.cmask = mask;
    nl_parallel_for(n, n >= DROPOUT_PAR ? DROPOUT_GRAIN : n, dropout_bwd_chunk, &j);
}

static nl_status plan(nl_layer *l, nl_error *err) {
    if (!(l->spec.rate >= 0.0f && l->spec.rate < 1.0f))
        return nl_error_set(err, NL_EINVAL, "dropout: rate must be in [0, 1) (got %g)",
                            (double)l->spec.rate);
    l->out = l->in;
    return NL_OK;
}

static size_t scratch_floats(const nl_layer *l, int max_batch) {
    return (size_t)max_batch * nl_shape_size(l->in);
}

static void forward(const nl_layer *l, const nl_layer_ctx *c) {
    const size_t n = (size_t)c->batch * nl_shape_size(l->in);
    if (!c->training || l->spec.rate == 0.0f) {
        if (c->out != c->in) memcpy(c->out, c->in, n * sizeof(float));
        return;
    }
    uint64_t key = nl_hash2(nl_hash2(c->seed, c->step), (uint64_t)c->layer_index);
    dropout_forward(c->out, c->scratch, c->in, n, l->spec.rate, key,
                    c->sample0 * nl_shape_size(l->in));
}

static void backward(const nl_layer *l, const nl_layer_ctx *c) {
    if (!c->din) return;
    const size_t n = (size_t)c->batch * nl_shape_size(l->in);
    if (l->spec.rate == 0.0f) {
        if (c->din != c->dout) memcpy(c->din, c->dout, n * sizeof(float));
        return;
    }
    dropout_backward(c->din, c->dout, c->scratch, n);
}

const nl_layer_ops nl_dropout_ops = {
    .kind = NL_LAYER_DROPOUT,
    .name = "dropout",
    .plan = plan,
    .scratch_floats = scratch_floats,
    .forward = forward,
    .backward = backward,
};

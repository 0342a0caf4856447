/* ReLU as a layer of its own (dense and conv2d can also fuse it).
 *   forward:  out = max(in, 0)        backward: din = dout * (in > 0) */
#include "core/parallel.h"
#include "layers/layer.h"

/* Elements per chunk; shorter arrays run on one thread. */
#define RELU_GRAIN 16384
#define RELU_PAR   65536

typedef struct relu_job {
    float *out;
    const float *in, *dout;
} relu_job;

static void relu_fwd_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const relu_job *j = ctx;
    (void)chunk;
    for (size_t i = lo; i < hi; i++) j->out[i] = j->in[i] > 0.0f ? j->in[i] : 0.0f;
}

static void relu_bwd_chunk(void *ctx, size_t lo, size_t hi, size_t chunk) {
    const relu_job *j = ctx;
    (void)chunk;
    for (size_t i = lo; i < hi; i++) j->out[i] = j->in[i] > 0.0f ? j->dout[i] : 0.0f;
}

void relu_forward(float *out, const float *in, size_t n) {
    relu_job j = {out, in, NULL};
    nl_parallel_for(n, n >= RELU_PAR ? RELU_GRAIN : n, relu_fwd_chunk, &j);
}

void relu_backward(float *din, const float *dout, const float *in, size_t n) {
    relu_job j = {din, in, dout};
    nl_parallel_for(n, n >= RELU_PAR ? RELU_GRAIN : n, relu_bwd_chunk, &j);
}

static nl_status plan(nl_layer *l, nl_error *err) {
    l->out = l->in;
    return NL_OK;
}

static void forward(const nl_layer *l, const nl_layer_ctx *c) {
    relu_forward(c->out, c->in, (size_t)c->batch * nl_shape_size(l->in));
}

static void backward(const nl_layer *l, const nl_layer_ctx *c) {
    if (c->din) relu_backward(c->din, c->dout, c->in, (size_t)c->batch * nl_shape_size(l->in));
}

const nl_layer_ops nl_relu_ops = {
    .kind = NL_LAYER_RELU,
    .name = "relu",
    .plan = plan,
    .forward = forward,
    .backward = backward,
};

/* ReLU as a layer of its own (dense and conv2d can also fuse it).
 *   forward:  out = max(in, 0)        backward: din = dout * (in > 0) */
#include "layers/layer.h"

void relu_forward(float *out, const float *in, size_t n) {
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void relu_backward(float *din, const float *dout, const float *in, size_t n) {
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (size_t i = 0; i < n; i++) din[i] = in[i] > 0.0f ? dout[i] : 0.0f;
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

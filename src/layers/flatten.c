/* Flatten: [B][H][W][C] -> [B][H*W*C]. Activations are already contiguous NHWC,
 * so this is a copy forward and backward (HWC order, as Keras flattens
 * channels-last tensors). */
#include <string.h>

#include "layers/layer.h"

static nl_status plan(nl_layer *l, nl_error *err) {
    l->out = (nl_shape){1, 1, (int)nl_shape_size(l->in)};
    return NL_OK;
}

static void forward(const nl_layer *l, const nl_layer_ctx *c) {
    if (c->out != c->in) memcpy(c->out, c->in, (size_t)c->batch * nl_shape_size(l->in) * 4);
}

static void backward(const nl_layer *l, const nl_layer_ctx *c) {
    if (c->din && c->din != c->dout)
        memcpy(c->din, c->dout, (size_t)c->batch * nl_shape_size(l->in) * 4);
}

const nl_layer_ops nl_flatten_ops = {
    .kind = NL_LAYER_FLATTEN,
    .name = "flatten",
    .plan = plan,
    .forward = forward,
    .backward = backward,
    .in_place = 1,
};

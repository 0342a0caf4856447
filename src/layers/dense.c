/* Dense (fully connected) layer with an optional fused ReLU.
 *
 *   forward:  out[B,O] = act(in[B,I] . W^T + b[O])          W is [O][I]
 *   backward: dz = dout * act'(out);  dW[O,I] = dz^T . in;  db = sum_b dz;  din = dz . W
 *
 * Parameters in the slab: W [O][I] (one row per output unit) then b [O].
 * With T threads, thread t owns output units [t*O/T, (t+1)*O/T): it computes
 * those columns of out, those rows of dW and (with the optimizer's static
 * split of the slab) updates those rows, so its slice of W, dW and the
 * optimizer moments stays in its own core's cache from step to step.
 * NL_ACT_SOFTMAX is handled by the loss (src/layers/softmax_xent.c): here the
 * layer emits logits. */
#include <string.h>

#include "core/gemm.h"
#include "layers/layer.h"

void dense_forward(float *out, const float *in, const float *w, const float *b, int B, int I,
                   int O, int relu) {
    /* out = broadcast(b), then out += in . W in one GEMM over the whole batch. */
#pragma omp parallel for schedule(static) if (B * O >= 4096)
    for (int r = 0; r < B; r++) memcpy(out + (size_t)r * O, b, (size_t)O * sizeof(float));
    nl_gemm_split(NL_SPLIT_N, 0, 1, B, O, I, 1.0f, in, I, w, I, 1.0f, out, O);
    if (relu) {
        const size_t n = (size_t)B * O;
#pragma omp parallel for schedule(static) if (n >= 16384)
        for (size_t i = 0; i < n; i++) out[i] = out[i] > 0.0f ? out[i] : 0.0f;
    }
}

/* dout is turned into dz in place when relu is fused. din may be NULL. */
void dense_backward(float *din, float *dw, float *db, float *dout, const float *in,
                    const float *out, const float *w, int B, int I, int O, int relu) {
    if (relu) {
        const size_t n = (size_t)B * O;
#pragma omp parallel for schedule(static) if (n >= 16384)
        for (size_t i = 0; i < n; i++)
            if (out[i] <= 0.0f) dout[i] = 0.0f;
    }
    /* db[o] = sum over the batch, in a fixed order. */
    for (int o = 0; o < O; o++) db[o] = 0.0f;
    for (int r = 0; r < B; r++) {
        const float *d = dout + (size_t)r * O;
        for (int o = 0; o < O; o++) db[o] += d[o];
    }
    nl_gemm_split(NL_SPLIT_M, 1, 0, O, I, B, 1.0f, dout, O, in, I, 0.0f, dw, I);
    if (din) nl_gemm(0, 0, B, I, O, 1.0f, dout, O, w, I, 0.0f, din, I);
}

static nl_status plan(nl_layer *l, nl_error *err) {
    if (l->spec.units <= 0)
        return nl_error_set(err, NL_EINVAL, "dense: units must be positive (got %d)",
                            l->spec.units);
    if (l->spec.act != NL_ACT_NONE && l->spec.act != NL_ACT_RELU && l->spec.act != NL_ACT_SOFTMAX)
        return nl_error_set(err, NL_EINVAL, "dense: unknown activation %d", l->spec.act);
    const size_t I = nl_shape_size(l->in);
    l->out = (nl_shape){1, 1, l->spec.units};
    l->nparams = I * (size_t)l->spec.units + (size_t)l->spec.units;
    return NL_OK;
}

static void init(const nl_layer *l, float *params, float *state, uint64_t seed) {
    const int I = (int)nl_shape_size(l->in), O = l->spec.units;
    nl_glorot_uniform(params, (size_t)I * O, I, O, seed);
    memset(params + (size_t)I * O, 0, (size_t)O * sizeof(float));
}

static void forward(const nl_layer *l, const nl_layer_ctx *c) {
    const int I = (int)nl_shape_size(l->in), O = l->spec.units;
    dense_forward(c->out, c->in, c->params, c->params + (size_t)I * O, c->batch, I, O,
                  l->spec.act == NL_ACT_RELU);
}

static void backward(const nl_layer *l, const nl_layer_ctx *c) {
    const int I = (int)nl_shape_size(l->in), O = l->spec.units;
    dense_backward(c->din, c->grads, c->grads + (size_t)I * O, c->dout, c->in, c->out, c->params,
                   c->batch, I, O, l->spec.act == NL_ACT_RELU);
}

const nl_layer_ops nl_dense_ops = {
    .kind = NL_LAYER_DENSE,
    .name = "dense",
    .plan = plan,
    .init = init,
    .forward = forward,
    .backward = backward,
};

/* Activations (src/layers/activation.c): one table, the only place that says
 * what each nl_act means to the layers and the model, and the code of the
 * element-wise activations.
 *
 * A layer whose kernels apply an activation (nl_layer_ops.fuses_act: dense,
 * conv2d) looks its spec.act up here once, in its plan, and keeps the flags it
 * needs in nl_layer (relu); the model records in each step the activation the
 * step applies (nl_step.act, layers/step.h). ReLU is applied inside the
 * layers' kernels; the other element-wise activations (tanh, sigmoid, gelu,
 * leakyrelu: nl_activation.elementwise) by nl_act_forward over the layer's
 * output in place, and their derivative by nl_act_backward on its output
 * gradient. The activation layer (NL_LAYER_ACTIVATION, nl_activation_ops)
 * runs the same code between two buffers.
 *
 * Derivatives: relu, tanh, sigmoid and leakyrelu from the output y
 * (leakyrelu's alpha is positive, so y > 0 exactly where the input is);
 * gelu from the pre-activation x, which a fused gelu keeps in its layer's
 * scratch (nl_act_keep_floats). */
#ifndef NNLAB_LAYERS_ACTIVATION_H
#define NNLAB_LAYERS_ACTIVATION_H

#include <stddef.h>

#include "layers/layer.h"
#include "nnlab/model.h"

typedef struct nl_activation {
    nl_act act;
    const char *name; /* "none", "relu", "softmax", "tanh", "sigmoid", "gelu", "leakyrelu" */
    int relu;         /* out = max(z, 0), applied by the layer's kernels; its derivative
                         zeroes the gradient where out <= 0 */
    int with_loss;    /* only on the last layer: applied by the loss (softmax
                         cross-entropy), not by the layer */
    int elementwise;  /* applied by nl_act_forward after the layer's kernels */
    int keeps_input;  /* its derivative needs the pre-activation (gelu) */
} nl_activation;

/* The table entry of act; NULL when act is not a known activation. */
const nl_activation *nl_activation_find(int act);

/* The element-wise activation dense or conv2d layer l applies after its
 * kernels (nl_activation.elementwise), or NULL (none, relu, softmax). */
const nl_activation *nl_act_fused(const nl_layer *l);

/* The leakyrelu slope of a spec: spec.alpha, 0 meaning the default 0.01. */
float nl_act_alpha(const nl_layer_spec *spec);

/* Checks spec.alpha for activation a (leakyrelu: finite and >= 0); what is
 * the layer named in the message. */
nl_status nl_act_check(const nl_activation *a, const nl_layer_spec *spec, const char *what,
                       nl_error *err);

/* Floats of pre-activation a fused activation keeps for n outputs (0 unless
 * keeps_input). */
size_t nl_act_keep_floats(const nl_activation *a, size_t n);

/* y[i] = a(x[i]) for i < n (y may be x); keep (may be NULL unless
 * a->keeps_input) gets x. Vectorised, on the calling thread. */
void nl_act_forward_range(const nl_activation *a, float alpha, const float *x, float *y,
                          float *keep, size_t n);
/* din[i] = dout[i] * a'(x[i]) for i < n (din may be dout), a' from the output
 * y (and the pre-activation x for gelu; x is read only then). */
void nl_act_backward_range(const nl_activation *a, float alpha, float *din, const float *dout,
                           const float *x, const float *y, size_t n);

/* The same on the library's threads (nl_parallel_for: fixed chunks, each
 * element computed alone, so the same bits for any thread count). Not from
 * inside a parallel region. */
void nl_act_forward(const nl_activation *a, float alpha, const float *x, float *y, float *keep,
                    size_t n);
void nl_act_backward(const nl_activation *a, float alpha, float *din, const float *dout,
                     const float *x, const float *y, size_t n);

#endif

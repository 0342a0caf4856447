/* Activations (src/layers/activation.c): one table, the only place that says
 * what each nl_act means to the layers and the model.
 *
 * A layer whose kernels apply an activation (nl_layer_ops.fuses_act: dense,
 * conv2d) looks its spec.act up here once, in its plan, and keeps the flags it
 * needs in nl_layer (relu); the model records in each step the activation the
 * step applies (nl_step.act, layers/step.h). */
#ifndef NNLAB_LAYERS_ACTIVATION_H
#define NNLAB_LAYERS_ACTIVATION_H

#include "nnlab/model.h"

typedef struct nl_activation {
    nl_act act;
    const char *name; /* "none", "relu", "softmax" */
    int relu;         /* out = max(z, 0), applied by the layer's kernels; its derivative
                         zeroes the gradient where out <= 0 */
    int with_loss;    /* only on the last layer: applied by the loss (softmax
                         cross-entropy), not by the layer */
} nl_activation;

/* The table entry of act; NULL when act is not a known activation. */
const nl_activation *nl_activation_find(int act);

#endif

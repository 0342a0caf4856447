/* Steps: what the model runs. Compile lowers the layer list into steps, each
 * one layer or a few layers run as one by a forward/backward of their own
 * (a fusion: an intermediate output that is never stored, a pass over memory
 * saved). The model's loops run the steps in order and know nothing of what
 * is inside them.
 *
 * Lowering (nl_steps_lower, src/layers/registry.c): at each layer the step
 * kinds of its table are tried in order, and the first whose matches() accepts
 * the layers there takes them; the last kind, one layer, always does. A new
 * fusion is one file with its nl_step_ops and one row of that table.
 *
 * Memory (planned by the model from the steps): the step's input and output
 * activations and, in backward, their gradients (dout of its last layer, din
 * of its first, NULL for the model's first step) are the model's buffers. Of
 * the layers inside, only the outputs the step kind names in stored get a
 * buffer (read by its own backward); the others are never written, their in /
 * out in the contexts are NULL, and no gradient inside a step is stored: the
 * interior dout / din are NULL. */
#ifndef NNLAB_LAYERS_STEP_H
#define NNLAB_LAYERS_STEP_H

#include "layers/activation.h"
#include "layers/layer.h"

#define NL_STEP_MAX_LAYERS 4

typedef struct nl_step nl_step;

typedef struct nl_step_ops {
    const char *name; /* NULL: one layer, named as the layer */
    int count;        /* layers in the step (<= NL_STEP_MAX_LAYERS) */
    /* Whether the planned layers L[0 .. count) (ops, in, out set) form this step. */
    int (*matches)(const nl_layer *L);
    /* Bit j: the output of the step's layer j is stored (read by the step's
       backward). The last layer's output always is. */
    unsigned stored;
    /* L: the step's count layers; c: their contexts, as above. */
    void (*forward)(const nl_step *s, const nl_layer *L, const nl_layer_ctx *c);
    void (*backward)(const nl_step *s, const nl_layer *L, const nl_layer_ctx *c);
} nl_step_ops;

struct nl_step {
    const nl_step_ops *ops;
    int first, count;         /* layers [first, first + count) */
    const nl_activation *act; /* the activation the step applies: that of its first layer
                                 with ops->fuses_act, else "none" */
    int in_place;             /* one in-place layer: din is dout */
    int gout, gin;            /* the model's gradient buffers (0, 1) of dout and din; gin -1:
                                 none (the first step) */
};

/* Step kinds, one per file. */
extern const nl_step_ops nl_step_layer;        /* one layer (registry.c) */
extern const nl_step_ops nl_step_bn_pool;      /* batchnorm -> maxpool2d (batchnorm_maxpool.c) */
extern const nl_step_ops nl_step_conv_bn_pool; /* conv2d -> batchnorm -> maxpool2d
                                                  (conv_bn_pool.c) */

/* Lowers the n planned layers L into steps[] (room for n); one layer per step
 * when may_fuse is 0. Sets ops, first, count, act and in_place (the model
 * plans the gradient buffers). Returns the number of steps. */
int nl_steps_lower(const nl_layer *L, int n, int may_fuse, nl_step *steps);

/* The step's name: its kind's, or its layer's (L: the layers lowered). */
const char *nl_step_name(const nl_step *s, const nl_layer *L);

#endif

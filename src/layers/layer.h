/* Internal layer interface.
 *
 * Each layer lives in src/layers/<layer>.c and provides a paired
 * <layer>_forward / <layer>_backward over raw float* (shapes in comments),
 * plus an nl_layer_ops table that the model uses to plan and dispatch.
 *
 * Memory: the model owns everything. For a layer it provides
 *   in/out     activations [batch][in_size] / [batch][out_size] (NHWC per sample)
 *   din/dout   their gradients; dout may be overwritten by backward; din is NULL
 *              for the first layer (no input gradient is needed there)
 *   params     this layer's slice of the parameter slab, grads the same of the
 *              gradient slab (backward writes, it does not accumulate)
 *   state      non-trainable state (batch-norm running statistics)
 *   scratch    per-layer scratch of scratch_floats(max_batch) floats, kept
 *              between forward and backward of the same training step
 * The model runs the layers as steps (layers/step.h): a layer alone, or a few
 * layers as one with their own forward/backward; in and out of a layer inside
 * such a step may be NULL when that step never stores them.
 * Threading: layers parallelise themselves with nl_parallel_for (core/parallel.h)
 * over disjoint outputs, or over fixed parts whose partials are added in part
 * order, so results are identical run after run for a fixed thread count. */
#ifndef NNLAB_LAYER_H
#define NNLAB_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "nnlab/error.h"
#include "nnlab/model.h"

typedef struct nl_shape {
    int h, w, c;
} nl_shape;

static inline size_t nl_shape_size(nl_shape s) {
    return (size_t)s.h * (size_t)s.w * (size_t)s.c;
}

typedef struct nl_layer {
    nl_layer_spec spec;
    nl_shape in, out;
    size_t param_off, nparams; /* slice of the parameter / gradient slabs */
    size_t state_off, nstate;  /* slice of the state slab */
    size_t scratch_off;        /* slice of the scratch arena */
    int relu;                  /* its kernels apply a ReLU to the output (dense, conv2d: set by
                                  plan from the activation table, activation.h) */
    nl_compile_options opt;    /* the model's compile-time choices (zeroed: auto) */
    const struct nl_layer_ops *ops;
    struct {
        int fwd, dw, dx; /* conv2d's algorithms, chosen by its plan from opt and the shapes:
                            the Winograd output tile (2 or 4) of the forward pass, the weight
                            gradient and the input gradient; 0: the direct implicit GEMM */
    } conv_tiles;
} nl_layer;

typedef struct nl_layer_ctx {
    int batch;       /* samples in this batch (<= planned max batch) */
    int training;    /* 1: training forward (dropout, batch statistics) */
    const float *in; /* [batch][in_size] */
    float *out;      /* [batch][out_size] */
    float *din;      /* [batch][in_size] or NULL */
    float *dout;     /* [batch][out_size], may be overwritten */
    const float *params;
    float *grads;
    float *state;
    float *scratch;
    uint64_t seed;    /* dropout: per-run seed */
    uint64_t step;    /* dropout: step counter, so masks differ per step */
    uint64_t sample0; /* dropout: the batch's first sample in the step's global batch */
    nl_sum_fn bn_sum; /* batch norm: sums over every process (NULL: this one's statistics) */
    void *bn_user;
    int layer_index;
} nl_layer_ctx;

typedef struct nl_layer_ops {
    nl_layer_kind kind;
    const char *name;
    /* Validates the spec against the input shape; sets out, nparams, nstate. */
    nl_status (*plan)(nl_layer *l, nl_error *err);
    /* Floats of scratch needed for a batch of max_batch (may be NULL: none). */
    size_t (*scratch_floats)(const nl_layer *l, int max_batch);
    /* Initialises params/state (may be NULL: nothing to initialise). */
    void (*init)(const nl_layer *l, float *params, float *state, uint64_t seed);
    void (*forward)(const nl_layer *l, const nl_layer_ctx *ctx);
    void (*backward)(const nl_layer *l, const nl_layer_ctx *ctx);
    /* 1 when forward may run with in == out (no separate output buffer). */
    int in_place;
    /* 1 when plan takes spec.act: the kernels apply the activation (activation.h). */
    int fuses_act;
} nl_layer_ops;

/* Registry (src/layers/registry.c). */
const nl_layer_ops *nl_layer_ops_find(int kind);

/* Fills w[0..n) with glorot-uniform values, limit sqrt(6/(fan_in+fan_out)),
 * from a stream determined by seed. */
void nl_glorot_uniform(float *w, size_t n, int fan_in, int fan_out, uint64_t seed);

/* Layer ops tables, one per file. */
extern const nl_layer_ops nl_dense_ops;
extern const nl_layer_ops nl_relu_ops;
extern const nl_layer_ops nl_dropout_ops;
extern const nl_layer_ops nl_flatten_ops;
extern const nl_layer_ops nl_conv2d_ops;
extern const nl_layer_ops nl_batchnorm_ops;
extern const nl_layer_ops nl_maxpool2d_ops;
extern const nl_layer_ops nl_avgpool2d_ops;
extern const nl_layer_ops nl_globalavgpool2d_ops;
extern const nl_layer_ops nl_activation_ops;

#endif

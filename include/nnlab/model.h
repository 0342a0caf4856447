/* nnlab/model.h - the model builder, named workloads and model files.
 *
 * A model is a pipeline of layers in the spirit of Axon:
 *
 *     nl_model *m = nl_model_new(28, 28, 1);            // input H, W, C
 *     nl_model_dense(m, 128, NL_ACT_RELU);
 *     nl_model_dropout(m, 0.5f);
 *     nl_model_dense(m, 10, NL_ACT_SOFTMAX);             // softmax is fused into the loss
 *     nl_model_compile(m, 32, &err);                     // plans memory for batch 32
 *
 * Activations are NHWC floats ([batch][h][w][c]); a dense layer sees its input
 * as [batch][h*w*c]. All trainable parameters live in one slab (params), their
 * gradients in a second slab of the same size; non-trainable state (batch-norm
 * running statistics) in a third. Builder errors are sticky: the first one is
 * kept and returned by nl_model_compile. */
#ifndef NNLAB_MODEL_H
#define NNLAB_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nnlab/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nl_act {
    NL_ACT_NONE = 0, /* "linear" in model files */
    NL_ACT_RELU = 1,
    NL_ACT_SOFTMAX = 2, /* only on the last layer: fused with cross-entropy */
    NL_ACT_TANH = 3,
    NL_ACT_SIGMOID = 4,
    NL_ACT_GELU = 5,      /* tanh approximation (Keras, PyTorch approximate="tanh") */
    NL_ACT_LEAKYRELU = 6, /* slope nl_layer_spec.alpha below zero */
} nl_act;

typedef enum nl_padding { NL_PAD_VALID = 0, NL_PAD_SAME = 1 } nl_padding;

typedef enum nl_layer_kind {
    NL_LAYER_DENSE = 1,
    NL_LAYER_RELU = 2,
    NL_LAYER_DROPOUT = 3,
    NL_LAYER_FLATTEN = 4,
    NL_LAYER_CONV2D = 5,
    NL_LAYER_BATCHNORM = 6,
    NL_LAYER_MAXPOOL2D = 7,
    NL_LAYER_AVGPOOL2D = 8,       /* kernel, stride; no padding */
    NL_LAYER_GLOBALAVGPOOL2D = 9, /* H x W x C -> 1 x 1 x C */
    NL_LAYER_ACTIVATION = 10,     /* the activation spec.act as a layer of its own */
} nl_layer_kind;

/* The loss the model is trained with (nl_model_set_loss). */
typedef enum nl_loss {
    NL_LOSS_CROSSENTROPY = 0, /* softmax cross-entropy on class labels: the last layer ends in
                                 softmax (fused with the loss) */
    NL_LOSS_MSE = 1,          /* mean squared error on float targets, one per output; no
                                 softmax anywhere in the output */
} nl_loss;

/* Hyperparameters of one layer: the architecture record stored in model files. */
typedef struct nl_layer_spec {
    int32_t kind;    /* nl_layer_kind */
    int32_t units;   /* dense: output features; conv2d: filters */
    int32_t act;     /* nl_act fused after dense/conv2d */
    int32_t kernel;  /* conv2d / maxpool: square kernel size */
    int32_t stride;  /* conv2d / maxpool */
    int32_t padding; /* conv2d: nl_padding */
    float rate;      /* dropout: drop probability */
    float eps;       /* batchnorm */
    float momentum;  /* batchnorm: weight of the new batch statistic (PyTorch convention) */
    float alpha;     /* leakyrelu (as act or layer): slope below zero (0: the default 0.01) */
} nl_layer_spec;

typedef struct nl_model nl_model;

/* Compile-time choices of algorithm. A zeroed struct means "auto" everywhere:
 * what the library measured to be fastest for each layer's shape. The other
 * values exist to compare algorithms and to test each of them. */
typedef enum nl_conv_algo {
    NL_CONV_AUTO = 0,   /* Winograd for 3x3 stride 1 with >= 8 channels, else direct */
    NL_CONV_DIRECT = 1, /* implicit GEMM for every convolution */
} nl_conv_algo;

typedef struct nl_compile_options {
    int no_fuse;      /* 1: every step one layer (default 0: layers fused into one step
                         where a fusion applies: a convolution, batch norm and max pool,
                         or batch norm and max pool) */
    int conv_algo;    /* nl_conv_algo */
    int wino_tile;    /* Winograd output tile of the forward pass: 0 auto, 2 or 4 */
    int wino_dw_tile; /* ... of the weight gradient: 0 auto, 2 or 4 */
    int wino_dx_tile; /* ... of the input gradient: 0 auto, 2 or 4, -1 direct */
} nl_compile_options;

/* Builder ------------------------------------------------------------------ */
NL_API nl_model *nl_model_new(int h, int w, int c);
NL_API void nl_model_free(nl_model *m);
NL_API void nl_model_dense(nl_model *m, int units, nl_act act);
NL_API void nl_model_relu(nl_model *m);
NL_API void nl_model_dropout(nl_model *m, float rate);
NL_API void nl_model_flatten(nl_model *m);
NL_API void nl_model_conv2d(nl_model *m, int filters, int kernel, int stride, nl_padding pad,
                            nl_act act);
NL_API void nl_model_batchnorm(nl_model *m, float eps, float momentum);
NL_API void nl_model_maxpool2d(nl_model *m, int kernel, int stride);
/* Average pooling, K x K windows with stride S, no padding. */
NL_API void nl_model_avgpool2d(nl_model *m, int kernel, int stride);
/* The mean over each image: H x W x C -> 1 x 1 x C. */
NL_API void nl_model_globalavgpool2d(nl_model *m);
/* An activation as a layer of its own; alpha: leakyrelu's slope (0: 0.01).
 * softmax only as the last layer, with the crossentropy loss. */
NL_API void nl_model_activation(nl_model *m, nl_act act, float alpha);
/* Sets the rate of every dropout layer, before compile (0: dropout off, e.g.
 * to compare training with another implementation step by step). NL_EINVAL
 * for a rate outside [0, 1) or a compiled model. */
NL_API nl_status nl_model_set_dropout(nl_model *m, float rate, nl_error *err);
/* Appends any layer from its spec (used by the model-file loader). */
NL_API void nl_model_add(nl_model *m, const nl_layer_spec *spec);
/* Sets the loss before compile (default NL_LOSS_CROSSENTROPY); compile checks
 * that the last layers fit it. */
NL_API void nl_model_set_loss(nl_model *m, nl_loss loss);
NL_API nl_loss nl_model_loss_kind(const nl_model *m);

/* Computes shapes, allocates the parameter/gradient/state slabs and plans the
 * activation memory for batches of up to max_batch samples. No allocation
 * happens after this in forward/backward. */
NL_API nl_status nl_model_compile(nl_model *m, int max_batch, nl_error *err);
/* The layer whose check failed in the last nl_model_compile (its index), or -1
 * when it failed for another reason or did not fail (the model-file reader
 * names that layer's line). */
NL_API int nl_model_error_layer(const nl_model *m);

/* Sets the compile-time choices (copied). Before compile they apply to it;
 * after it the memory plan is redone for them (parameters are kept).
 * NL_EINVAL names the field when a value is out of range. */
NL_API nl_status nl_model_set_options(nl_model *m, const nl_compile_options *opt, nl_error *err);

/* Makes room for batches of up to max_batch (grows the activation memory,
 * never shrinks it; parameters are kept). */
NL_API nl_status nl_model_set_max_batch(nl_model *m, int max_batch, nl_error *err);

/* Glorot-uniform weights, zero biases, BN gamma 1 / beta 0, running mean 0 / var 1. */
NL_API void nl_model_init(nl_model *m, uint64_t seed);

/* Introspection ------------------------------------------------------------ */
NL_API int nl_model_num_layers(const nl_model *m);
NL_API const nl_layer_spec *nl_model_layer_spec(const nl_model *m, int i);
NL_API const char *nl_layer_kind_name(int kind);
/* "none", "relu", "softmax", "tanh", "sigmoid", "gelu", "leakyrelu"; NULL when
 * act is not an activation. */
NL_API const char *nl_act_name(int act);
/* Output shape of layer i (i = -1: the input). */
NL_API void nl_model_layer_shape(const nl_model *m, int i, int *h, int *w, int *c);
NL_API size_t nl_model_layer_params(const nl_model *m, int i);
NL_API size_t nl_model_num_params(const nl_model *m);
NL_API size_t nl_model_num_state(const nl_model *m);
/* The classes of a crossentropy model (its outputs once compiled; before, the
 * units of a dense last layer, else 0); 0 for an mse model. */
NL_API int nl_model_num_classes(const nl_model *m);
/* Floats the model outputs per sample (its last layer's output size): the
 * classes for cross-entropy, the targets for mse. */
NL_API int nl_model_num_outputs(const nl_model *m);
NL_API size_t nl_model_input_size(const nl_model *m);
/* Floats in the parameter (= gradient) slab: >= num_params, since each layer's
 * slice starts 64-byte aligned. Optimizers step over the whole slab. */
NL_API size_t nl_model_param_slab_size(const nl_model *m);
/* Offset of layer i's parameters / state in their slabs. */
NL_API size_t nl_model_layer_param_offset(const nl_model *m, int i);
NL_API size_t nl_model_layer_state_offset(const nl_model *m, int i);
NL_API size_t nl_model_layer_state(const nl_model *m, int i);
NL_API float *nl_model_params(nl_model *m);
NL_API float *nl_model_grads(nl_model *m);
NL_API float *nl_model_state(nl_model *m);
/* Bytes of activation/scratch memory planned by compile. */
NL_API size_t nl_model_activation_bytes(const nl_model *m);

/* Compute -------------------------------------------------------------------- */

/* Forward pass on x ([batch][input_size]); returns the logits ([batch][classes]),
 * valid until the next call. training enables dropout and batch statistics. */
NL_API const float *nl_model_forward(nl_model *m, const float *x, int batch, int training);

/* Softmax cross-entropy on the logits of the last forward pass: returns the mean
 * loss over the batch, counts correct predictions, and (when backward is
 * non-zero) runs the backward pass, leaving dL/dparams in the gradient slab.
 * The model's loss must be NL_LOSS_CROSSENTROPY (else it returns NAN and does
 * nothing). */
NL_API float nl_model_loss_backward(nl_model *m, const uint8_t *labels, int batch, int backward,
                                    int *correct);

/* Mean squared error of the last forward pass against targets
 * ([batch][nl_model_num_outputs] floats): mean over the batch and the outputs
 * of (y - t)^2 (PyTorch's MSELoss, Keras's mse); when backward is non-zero
 * runs the backward pass as nl_model_loss_backward does. The model's loss
 * must be NL_LOSS_MSE (else it returns NAN and does nothing). */
NL_API float nl_model_loss_backward_values(nl_model *m, const float *targets, int batch,
                                           int backward);

/* Step counter used to derive per-step dropout masks (set by the trainer). */
NL_API void nl_model_set_step(nl_model *m, uint64_t step, uint64_t seed);

/* Data-parallel training (nl_train_dist, docs/distributed.md): the batches
 * that follow are samples first, first + 1, ... of the step's global batch,
 * and dropout masks are the ones of those places (0, the default: a whole
 * batch). Set by the trainer. */
NL_API void nl_model_set_sample_offset(nl_model *m, uint64_t first);

/* Synchronised batch norm: sum(user, v, n) replaces v[0..n) by its sum over
 * every process (the same on each). Set, the batch-norm layers of a training
 * pass take their statistics over the slices of every process, as one
 * process would over the whole batch; NULL (the default): each its own. */
typedef void (*nl_sum_fn)(void *user, double *v, size_t n);
NL_API void nl_model_set_bn_sync(nl_model *m, nl_sum_fn sum, void *user);

/* Workloads ------------------------------------------------------------------ */
typedef struct nl_workload_info {
    const char *name;
    const char *dataset; /* the dataset it is defined on ("mnist", "cifar10") */
    const char *description;
    const char *optimizer; /* default optimizer name */
    float lr;              /* default learning rate */
    int h, w, c;           /* the input it takes (HWC) */
    int classes;           /* outputs on its own dataset */
    /* Adds the layers after the input, the last with `classes` units. */
    void (*build)(nl_model *m, int classes);
} nl_workload_info;

/* The known workloads, terminated by a row whose name is NULL. */
NL_API const nl_workload_info *nl_workloads(void);
NL_API const nl_workload_info *nl_workload_find(const char *name);
/* Builds (not compiled) the model of a workload for its own dataset. */
NL_API nl_status nl_workload_build(const char *name, nl_model **out, nl_error *err);
/* Builds it for data of shape h x w x c with `classes` classes: NL_EINVAL
 * naming both shapes when the input is not the workload's. */
NL_API nl_status nl_workload_build_for(const char *name, int h, int w, int c, int classes,
                                       nl_model **out, nl_error *err);

/* Model files (.nnm) ----------------------------------------------------------
 * A plain-text model: one directive a line (docs/model-file.md). nl_nnm_parse
 * checks the syntax, every value's range and the shapes layer by layer;
 * nl_nnm_build makes the model (not compiled), nl_nnm_compile compiles it and
 * names the directive a failure comes from ("FILE:LINE:COL: ..."). */
#include "nnlab/optim.h"

enum { NL_NNM_MAX_LAYERS = 256, NL_NNM_MAX_BYTES = 1 << 20 };

/* What a file set (nl_nnm.set): the rest keeps its default. */
enum {
    NL_NNM_SET_LOSS = 1 << 0,
    NL_NNM_SET_OPTIMIZER = 1 << 1,
    NL_NNM_SET_SCHEDULE = 1 << 2,
    NL_NNM_SET_BATCH = 1 << 3,
    NL_NNM_SET_EPOCHS = 1 << 4,
    NL_NNM_SET_SEED = 1 << 5,
    NL_NNM_SET_DATASET = 1 << 6,
};

typedef struct nl_nnm_layer {
    nl_layer_spec spec;
    int line, col;         /* of its directive (1-based) */
    int act_line, act_col; /* of its activation word (0: none given) */
    char text[48];         /* the directive as written, for messages */
} nl_nnm_layer;

typedef struct nl_nnm {
    char name[256];        /* the file name messages start with */
    char description[256]; /* the comment lines before the first directive, joined */
    int h, w, c;           /* input ("input N" is 1 x 1 x N) */
    int input_line;        /* 0: no input yet */
    int nlayers;
    nl_nnm_layer layers[NL_NNM_MAX_LAYERS];
    nl_loss loss;          /* [crossentropy] */
    nl_optim_config optim; /* [adam, nl_optim_defaults] */
    nl_schedule schedule;  /* [constant] */
    int batch;             /* [32] */
    int epochs;            /* [3] */
    uint64_t seed;         /* [0] */
    char dataset[64];      /* "" when the file names none */
    unsigned set;          /* NL_NNM_SET_* */
    size_t params;         /* trainable parameters */
    size_t state;          /* non-trainable (batch norm's running statistics) */
    size_t values;         /* floats per sample of the input and every layer's output */
} nl_nnm;

/* Parses len bytes of text (need not be NUL-terminated); name (may be NULL)
 * starts every message. NL_EFORMAT names the line, column, word and what was
 * expected; *out is then partly filled. */
NL_API nl_status nl_nnm_parse(const char *name, const char *text, size_t len, nl_nnm *out,
                              nl_error *err);
/* Reads and parses a regular file of at most NL_NNM_MAX_BYTES. */
NL_API nl_status nl_nnm_load(const char *path, nl_nnm *out, nl_error *err);
/* Adds the input and layers to a new model and sets the loss (not compiled):
 * one model layer per nl_nnm layer. classes > 0 gives the last layer that many
 * units (a dataset with another class count); 0 keeps the file's. */
NL_API nl_status nl_nnm_build(const nl_nnm *f, int classes, nl_model **out, nl_error *err);
/* nl_model_compile on a model nl_nnm_build made from f; a failure at a layer
 * is reported as "FILE:LINE:COL: DIRECTIVE on a HxWxC input: ...". */
NL_API nl_status nl_nnm_compile(const nl_nnm *f, nl_model *m, int max_batch, nl_error *err);
/* Builds and compiles f at batch 1, then frees it: NL_OK when it trains. */
NL_API nl_status nl_nnm_check(const nl_nnm *f, nl_error *err);

/* The model files shipped with nnlab (models/NAME.nnm, embedded at build time and
 * installed to share/nnlab/models), by name (the file name without .nnm). */
typedef struct nl_shipped_model {
    const char *name;
    const char *text;
    size_t len;
} nl_shipped_model;
/* Terminated by a row whose name is NULL; sorted by name. */
NL_API const nl_shipped_model *nl_shipped_models(void);
NL_API const nl_shipped_model *nl_shipped_model_find(const char *name);

#ifdef __cplusplus
}
#endif
#endif

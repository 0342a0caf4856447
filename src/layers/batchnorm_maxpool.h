/* Batch normalisation followed by max pooling, as one step (src/layers/batchnorm_maxpool.c).
 * The model calls these for a batchnorm layer whose next layer is a maxpool2d
 * (nl_layer.fused_next): cb is the batch-norm layer's context, cp the pool's.
 *   forward:  reads cb->in; writes cp->out, the pool's scratch (winners), the
 *             batch norm's scratch (mean, istd) and, in training, its running
 *             statistics. cb->out (the batch-norm output) is not written.
 *   backward: reads cp->dout and cb->in; writes the batch norm's gradients and
 *             cb->din (when not NULL); cb->dout is not used.
 * With batchnorm_maxpool_tiled, neither part reads cb->in outside _image and
 * _dx_image: a convolution before the pair may hand its output over image by
 * image instead of storing it (nl_layer_ctx.out_fn, dout_fn). */
#ifndef NNLAB_LAYERS_BATCHNORM_MAXPOOL_H
#define NNLAB_LAYERS_BATCHNORM_MAXPOOL_H

#include "layers/layer.h"

void batchnorm_maxpool_forward(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                               const nl_layer_ctx *cp);
void batchnorm_maxpool_backward(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                                const nl_layer_ctx *cp);

/* Backward in two parts, for a convolution before the pair that takes its
 * output gradient image by image (nl_layer_ctx.dout_fn):
 *   _params:   the batch norm's gradients and the dx coefficients (kept in its
 *              scratch); parallel inside;
 *   _dx_image: dx of image b into dx [H][W][C] from the pair's input x of that
 *              image, as a dout_fn with args a batchnorm_maxpool_args (the
 *              contexts must outlive the calls). */
typedef struct batchnorm_maxpool_args {
    const nl_layer *bn, *pool;
    const nl_layer_ctx *cb, *cp;
    int relu; /* x is a ReLU's output: _dx_image writes the gradient before that
                 ReLU (zero where x <= 0), and the producer skips its own mask */
} batchnorm_maxpool_args;

void batchnorm_maxpool_backward_params(const nl_layer *bn, const nl_layer *pool,
                                       const nl_layer_ctx *cb, const nl_layer_ctx *cp);
void batchnorm_maxpool_dx_image(void *args, int b, const float *x, float *dx);

/* Whether the pool's windows tile its input (kernel == stride) and the channels
 * are whole vectors: then forward runs image by image, in three parts that a
 * convolution before the pair can drive without storing its output:
 *   _begin:  before the images (one thread);
 *   _image:  image b, x [H][W][C], by thread t (t < 16, each thread's images in
 *            order); args a batchnorm_maxpool_args; the signature of
 *            nl_layer_ctx.out_fn;
 *   _finish: after every image (parallel inside). */
int batchnorm_maxpool_tiled(const nl_layer *bn, const nl_layer *pool);
void batchnorm_maxpool_begin(const nl_layer *bn, const nl_layer_ctx *cb);
void batchnorm_maxpool_image(void *args, int b, int t, const float *x);
void batchnorm_maxpool_finish(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                              const nl_layer_ctx *cp);

/* Whether the model may fuse layer a with the layer b after it: a batchnorm
 * followed by a maxpool2d. */
int batchnorm_maxpool_fusable(const nl_layer *a, const nl_layer *b);

/* Sets fused_next and feeds_next of the n planned layers L (ops, in, out set):
 * every batchnorm -> maxpool2d pair fused, and a layer with ops->dout_fn_ok
 * before a pair whose windows tile its input feeding it image by image. None
 * when may_fuse is 0. Returns 1 when anything is fused. */
int batchnorm_maxpool_plan(nl_layer *L, int n, int may_fuse);

#endif

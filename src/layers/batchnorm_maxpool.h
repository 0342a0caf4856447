/* Batch normalisation followed by max pooling, as one (src/layers/batchnorm_maxpool.c):
 * the step kind nl_step_bn_pool (layers/step.h) runs these, and so does the
 * convolution step before such a pair (conv_bn_pool.c). cb is the batch-norm
 * layer's context, cp the pool's.
 *   forward:  reads cb->in; writes cp->out, the pool's scratch (winners), the
 *             batch norm's scratch (mean, istd) and, in training, its running
 *             statistics. cb->out (the batch-norm output) is not written.
 *   backward: reads cp->dout and cb->in; writes the batch norm's gradients and
 *             cb->din (when not NULL); cb->dout is not used.
 * With batchnorm_maxpool_tiled, neither part reads cb->in outside _image and
 * _dx_image: a convolution before the pair may hand its output over image by
 * image as it makes it (conv2d.h: conv2d_forward_to, conv2d_backward_from). */
#ifndef NNLAB_LAYERS_BATCHNORM_MAXPOOL_H
#define NNLAB_LAYERS_BATCHNORM_MAXPOOL_H

#include "layers/layer.h"

void batchnorm_maxpool_forward(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                               const nl_layer_ctx *cp);
void batchnorm_maxpool_backward(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                                const nl_layer_ctx *cp);

/* Backward in two parts, for a convolution before the pair that takes its
 * output gradient image by image (a conv2d_dout_source):
 *   _params:   the batch norm's gradients and the dx coefficients (kept in its
 *              scratch); parallel inside;
 *   _dx_image: dx of image b into dx [H][W][C] from the pair's input x of that
 *              image, as a conv2d_dout_source with args a
 *              batchnorm_maxpool_args (the contexts must outlive the calls). */
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
 *   _image:  image b, x [H][W][C], by part t (t < 16, each part's images in
 *            order); args a batchnorm_maxpool_args; a conv2d_image_sink;
 *   _finish: after every image (parallel inside). */
int batchnorm_maxpool_tiled(const nl_layer *bn, const nl_layer *pool);
void batchnorm_maxpool_begin(const nl_layer *bn, const nl_layer_ctx *cb);
void batchnorm_maxpool_image(void *args, int b, int t, const float *x);
void batchnorm_maxpool_finish(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                              const nl_layer_ctx *cp);

/* Whether layer a and the layer b after it are a batchnorm and a maxpool2d
 * over its output: the pair this file runs as one. */
int batchnorm_maxpool_fusable(const nl_layer *a, const nl_layer *b);

#endif

/* A convolution followed by a batchnorm -> maxpool2d pair, as one step
 * (layers/step.h): the pair as in batchnorm_maxpool.c, driven image by image
 * by the convolution (conv2d.h), so that neither the batch-norm output nor
 * the gradient of the convolution's output is ever stored.
 *
 *   forward:  when the pool's windows tile its input (batchnorm_maxpool_tiled),
 *             the convolution hands each image's output to the pair as soon as
 *             it is made, pooled while in cache; else the convolution, then
 *             the pair. The convolution's output is stored: the pair's
 *             backward and the convolution's read it.
 *   backward: the batch norm's gradients and dx coefficients, then the
 *             convolution's backward, asking the pair for its input gradient
 *             (the convolution's output gradient) image by image. When the
 *             step applies a ReLU (the convolution's, nl_step.act), the pair
 *             applies its derivative as it makes that gradient and the
 *             convolution skips its own mask. */
#include "layers/batchnorm_maxpool.h"
#include "layers/conv2d.h"
#include "layers/step.h"

static int step_matches(const nl_layer *L) {
    return L[0].spec.kind == NL_LAYER_CONV2D && batchnorm_maxpool_fusable(&L[1], &L[2]);
}

static void step_forward(const nl_step *s, const nl_layer *L, const nl_layer_ctx *c) {
    (void)s;
    const nl_layer *conv = &L[0], *bn = &L[1], *pool = &L[2];
    if (!batchnorm_maxpool_tiled(bn, pool)) {
        conv2d_forward_to(conv, &c[0], NULL, NULL);
        batchnorm_maxpool_forward(bn, pool, &c[1], &c[2]);
        return;
    }
    const batchnorm_maxpool_args args = {bn, pool, &c[1], &c[2], 0};
    batchnorm_maxpool_begin(bn, &c[1]);
    conv2d_forward_to(conv, &c[0], batchnorm_maxpool_image, (void *)&args);
    batchnorm_maxpool_finish(bn, pool, &c[1], &c[2]);
}

static void step_backward(const nl_step *s, const nl_layer *L, const nl_layer_ctx *c) {
    const nl_layer *conv = &L[0], *bn = &L[1], *pool = &L[2];
    batchnorm_maxpool_backward_params(bn, pool, &c[1], &c[2]);
    const int relu = s->act->relu;
    const batchnorm_maxpool_args args = {bn, pool, &c[1], &c[2], relu};
    conv2d_backward_from(conv, &c[0], batchnorm_maxpool_dx_image, (void *)&args, relu);
}

/* The batch-norm output (layer 1) is never stored; the convolution's is. */
const nl_step_ops nl_step_conv_bn_pool = {
    .name = "conv2d+bn+pool",
    .count = 3,
    .matches = step_matches,
    .stored = 1 | 4,
    .forward = step_forward,
    .backward = step_backward,
};

/* Batch normalisation followed by max pooling, as one step (src/layers/batchnorm_maxpool.c).
 * The model calls these for a batchnorm layer whose next layer is a maxpool2d
 * (nl_layer.fused_next): cb is the batch-norm layer's context, cp the pool's.
 *   forward:  reads cb->in; writes cp->out, the pool's scratch (winners), the
 *             batch norm's scratch (mean, istd) and, in training, its running
 *             statistics. cb->out (the batch-norm output) is not written.
 *   backward: reads cp->dout; writes the batch norm's gradients and cb->din
 *             (when not NULL); cb->dout is not used. */
#ifndef NNLAB_LAYERS_BATCHNORM_MAXPOOL_H
#define NNLAB_LAYERS_BATCHNORM_MAXPOOL_H

#include "layers/layer.h"

void batchnorm_maxpool_forward(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                               const nl_layer_ctx *cp);
void batchnorm_maxpool_backward(const nl_layer *bn, const nl_layer *pool, const nl_layer_ctx *cb,
                                const nl_layer_ctx *cp);

/* Whether the model may fuse layer a with the layer b after it: a batchnorm
 * followed by a maxpool2d. */
int batchnorm_maxpool_fusable(const nl_layer *a, const nl_layer *b);

#endif

/* The convolution's entry points for a step that fuses it with the layers
 * after it (src/layers/conv_bn_pool.c); nl_conv2d_ops runs them with neither.
 *
 *   conv2d_forward_to:    as the layer's forward; when sink is not NULL,
 *                         sink(arg, b, t, y) is also called for part t (< 16)
 *                         with image b's output y (stored in c->out) as soon as
 *                         it is made, each part's images in order, while y is
 *                         in cache.
 *   conv2d_backward_from: as the layer's backward; when source is not NULL,
 *                         c->dout is not read: source(arg, b, y, buf) writes
 *                         image b's output gradient [out_size] into buf, given
 *                         y, the layer's output of image b. source_relu: that
 *                         gradient already has the layer's ReLU derivative
 *                         applied (zero where y <= 0). */
#ifndef NNLAB_LAYERS_CONV2D_H
#define NNLAB_LAYERS_CONV2D_H

#include "layers/layer.h"

typedef void (*conv2d_image_sink)(void *arg, int b, int t, const float *y);
typedef void (*conv2d_dout_source)(void *arg, int b, const float *y, float *buf);

void conv2d_forward_to(const nl_layer *l, const nl_layer_ctx *c, conv2d_image_sink sink, void *arg);
void conv2d_backward_from(const nl_layer *l, const nl_layer_ctx *c, conv2d_dout_source source,
                          void *arg, int source_relu);

#endif

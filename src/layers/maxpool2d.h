/* Max pooling's forward with a per-channel affine applied first (src/layers/maxpool2d.c),
 * for the fused batch norm + max pool of src/layers/batchnorm_maxpool.c. */
#ifndef NNLAB_LAYERS_MAXPOOL2D_H
#define NNLAB_LAYERS_MAXPOOL2D_H

#include <stdint.h>

#include "layers/layer.h"

/* The forward of pooling layer l on `batch` images of scale[c] * in + shift[c]:
 * in [B][H][W][C] -> out [B][OH][OW][C], idx [B][OH][OW][C] (the winners'
 * offsets within their image, as the layer's scratch holds them for backward). */
void maxpool2d_forward_affine(const nl_layer *l, int batch, float *out, int32_t *idx,
                              const float *in, const float *scale, const float *shift);

#endif

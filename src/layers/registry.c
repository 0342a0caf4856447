/* Layer kinds -> ops tables. A new layer adds its table here. */
#include "layers/layer.h"

static const nl_layer_ops *const all_ops[] = {
    &nl_dense_ops,  &nl_relu_ops,      &nl_dropout_ops,   &nl_flatten_ops,
    &nl_conv2d_ops, &nl_batchnorm_ops, &nl_maxpool2d_ops,
};

const nl_layer_ops *nl_layer_ops_find(int kind) {
    for (size_t i = 0; i < sizeof all_ops / sizeof all_ops[0]; i++)
        if ((int)all_ops[i]->kind == kind) return all_ops[i];
    return NULL;
}

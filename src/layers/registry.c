/* Layer kinds -> ops tables, and the step kinds the model lowers layers into
 * (step.h). A new layer adds its ops table here; a new fusion its step kind. */
#include "layers/step.h"

static const nl_layer_ops *const all_ops[] = {
    &nl_dense_ops,           &nl_relu_ops,       &nl_dropout_ops,   &nl_flatten_ops,
    &nl_conv2d_ops,          &nl_batchnorm_ops,  &nl_maxpool2d_ops, &nl_avgpool2d_ops,
    &nl_globalavgpool2d_ops, &nl_activation_ops,
};

const nl_layer_ops *nl_layer_ops_find(int kind) {
    for (size_t i = 0; i < sizeof all_ops / sizeof all_ops[0]; i++)
        if ((int)all_ops[i]->kind == kind) return all_ops[i];
    return NULL;
}

/* ---- one layer as a step ---- */

static int layer_matches(const nl_layer *L) {
    (void)L;
    return 1;
}

static void layer_forward(const nl_step *s, const nl_layer *L, const nl_layer_ctx *c) {
    (void)s;
    L->ops->forward(L, c);
}

static void layer_backward(const nl_step *s, const nl_layer *L, const nl_layer_ctx *c) {
    (void)s;
    L->ops->backward(L, c);
}

const nl_step_ops nl_step_layer = {
    .name = NULL,
    .count = 1,
    .matches = layer_matches,
    .stored = 1,
    .forward = layer_forward,
    .backward = layer_backward,
};

/* ---- the fusion rule ---- */

/* Tried in order at each layer: the first that matches takes its layers. The
 * longer fusion first (a convolution before a batchnorm -> maxpool2d pair goes
 * with it); one layer, last, always matches. */
static const nl_step_ops *const step_kinds[] = {
    &nl_step_conv_bn_pool,
    &nl_step_bn_pool,
    &nl_step_layer,
};

static const nl_activation *step_activation(const nl_layer *L, int count) {
    for (int j = 0; j < count; j++)
        if (L[j].ops->fuses_act) {
            const nl_activation *a = nl_activation_find(L[j].spec.act);
            if (a) return a;
        }
    return nl_activation_find(NL_ACT_NONE);
}

int nl_steps_lower(const nl_layer *L, int n, int may_fuse, nl_step *steps) {
    const size_t nkinds = sizeof step_kinds / sizeof step_kinds[0];
    int k = 0;
    for (int i = 0; i < n; k++) {
        const nl_step_ops *ops = &nl_step_layer;
        for (size_t r = 0; may_fuse && r < nkinds; r++)
            if (i + step_kinds[r]->count <= n && step_kinds[r]->matches(&L[i])) {
                ops = step_kinds[r];
                break;
            }
        nl_step *s = &steps[k];
        s->ops = ops;
        s->first = i;
        s->count = ops->count;
        s->act = step_activation(&L[i], ops->count);
        s->in_place = ops->count == 1 && L[i].ops->in_place;
        s->gout = 0, s->gin = -1;
        i += ops->count;
    }
    return k;
}

const char *nl_step_name(const nl_step *s, const nl_layer *L) {
    return s->ops->name ? s->ops->name : L[s->first].ops->name;
}

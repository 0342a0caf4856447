/* The named workloads of design.md: every contestant implements these exactly.
 * Common to all: inputs scaled to [0,1], batch 32, 3 epochs, glorot-uniform
 * weights, zero biases, softmax cross-entropy. */
#include <string.h>

#include "nnlab/model.h"

static const nl_workload_info workloads[] = {
    {"mnist", "mnist", "Axon's MNIST MLP (the study's Elixir model): 784 -> dense 128 relu -> "
     "dropout 0.5 -> dense 10 softmax", "adam", 1e-3f},
    {"mnist-keras-paper", "mnist", "the study's Keras MNIST model: dense 128 relu -> dense 128 "
     "relu -> dropout 0.5 -> dense 10 softmax", "adam", 1e-3f},
    {"cifar10", "cifar10", "Axon's CIFAR-10 CNN (the study's Elixir model): conv 32 relu -> BN -> "
     "pool -> conv 64 relu -> BN -> pool -> dense 64 relu -> dropout 0.5 -> dense 10 softmax",
     "adam", 1e-3f},
    {"cifar10-keras-paper", "cifar10", "the study's Keras CIFAR-10 model: conv 32 relu -> pool -> "
     "conv 64 relu -> pool -> dense 64 relu -> dense 10 softmax, SGD lr 0.01", "sgd", 1e-2f},
    {NULL, NULL, NULL, NULL, 0.0f},
};

const nl_workload_info *nl_workloads(void) { return workloads; }

const nl_workload_info *nl_workload_find(const char *name) {
    for (const nl_workload_info *w = workloads; w->name; w++)
        if (!strcmp(w->name, name)) return w;
    return NULL;
}

nl_status nl_workload_build(const char *name, nl_model **out, nl_error *err) {
    *out = NULL;
    const nl_workload_info *w = nl_workload_find(name ? name : "");
    if (!w) {
        return nl_error_set(err, NL_ENOTFOUND,
                            "unknown workload '%s' (known: mnist, mnist-keras-paper, cifar10, "
                            "cifar10-keras-paper)",
                            name ? name : "(null)");
    }
    nl_model *m = NULL;
    if (!strcmp(w->name, "mnist")) {
        m = nl_model_new(28, 28, 1);
        nl_model_dense(m, 128, NL_ACT_RELU);
        nl_model_dropout(m, 0.5f);
        nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    } else if (!strcmp(w->name, "mnist-keras-paper")) {
        m = nl_model_new(28, 28, 1);
        nl_model_dense(m, 128, NL_ACT_RELU);
        nl_model_dense(m, 128, NL_ACT_RELU);
        nl_model_dropout(m, 0.5f);
        nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    } else if (!strcmp(w->name, "cifar10")) {
        m = nl_model_new(32, 32, 3);
        nl_model_conv2d(m, 32, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
        nl_model_batchnorm(m, 1e-5f, 0.1f);
        nl_model_maxpool2d(m, 2, 2);
        nl_model_conv2d(m, 64, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
        nl_model_batchnorm(m, 1e-5f, 0.1f);
        nl_model_maxpool2d(m, 2, 2);
        nl_model_flatten(m);
        nl_model_dense(m, 64, NL_ACT_RELU);
        nl_model_dropout(m, 0.5f);
        nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    } else { /* cifar10-keras-paper */
        m = nl_model_new(32, 32, 3);
        nl_model_conv2d(m, 32, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
        nl_model_maxpool2d(m, 2, 2);
        nl_model_conv2d(m, 64, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
        nl_model_maxpool2d(m, 2, 2);
        nl_model_flatten(m);
        nl_model_dense(m, 64, NL_ACT_RELU);
        nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    }
    if (!m) return nl_error_set(err, NL_ENOMEM, "out of memory building workload '%s'", name);
    *out = m;
    return NL_OK;
}

/* The named workloads of design.md: every contestant implements these exactly.
 * Common to all: inputs scaled to [0,1], batch 32, 3 epochs, glorot-uniform
 * weights, zero biases, softmax cross-entropy. One table: adding a workload is
 * one row and its builder. The last layer has one unit per class of the
 * dataset trained on (10 on the workload's own dataset). */
#include <stdio.h>
#include <string.h>

#include "nnlab/model.h"

static void mnist_mlp(nl_model *m, int classes) {
    nl_model_dense(m, 128, NL_ACT_RELU);
    nl_model_dropout(m, 0.5f);
    nl_model_dense(m, classes, NL_ACT_SOFTMAX);
}

static void mnist_keras_paper(nl_model *m, int classes) {
    nl_model_dense(m, 128, NL_ACT_RELU);
    nl_model_dense(m, 128, NL_ACT_RELU);
    nl_model_dropout(m, 0.5f);
    nl_model_dense(m, classes, NL_ACT_SOFTMAX);
}

static void cifar_cnn(nl_model *m, int classes) {
    nl_model_conv2d(m, 32, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    nl_model_batchnorm(m, 1e-5f, 0.1f);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_conv2d(m, 64, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    nl_model_batchnorm(m, 1e-5f, 0.1f);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_flatten(m);
    nl_model_dense(m, 64, NL_ACT_RELU);
    nl_model_dropout(m, 0.5f);
    nl_model_dense(m, classes, NL_ACT_SOFTMAX);
}

static void cifar_keras_paper(nl_model *m, int classes) {
    nl_model_conv2d(m, 32, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_conv2d(m, 64, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_flatten(m);
    nl_model_dense(m, 64, NL_ACT_RELU);
    nl_model_dense(m, classes, NL_ACT_SOFTMAX);
}

static const nl_workload_info workloads[] = {
    {"mnist", "mnist",
     "Axon's MNIST MLP (the study's Elixir model): 784 -> dense 128 relu -> dropout 0.5 -> dense "
     "10 softmax",
     "adam", 1e-3f, 28, 28, 1, 10, mnist_mlp},
    {"mnist-keras-paper", "mnist",
     "the study's Keras MNIST model: dense 128 relu -> dense 128 relu -> dropout 0.5 -> dense 10 "
     "softmax",
     "adam", 1e-3f, 28, 28, 1, 10, mnist_keras_paper},
    {"cifar10", "cifar10",
     "Axon's CIFAR-10 CNN (the study's Elixir model): conv 32 relu -> BN -> pool -> conv 64 relu "
     "-> BN -> pool -> dense 64 relu -> dropout 0.5 -> dense 10 softmax",
     "adam", 1e-3f, 32, 32, 3, 10, cifar_cnn},
    {"cifar10-keras-paper", "cifar10",
     "the study's Keras CIFAR-10 model: conv 32 relu -> pool -> conv 64 relu -> pool -> dense 64 "
     "relu -> dense 10 softmax, SGD lr 0.01",
     "sgd", 1e-2f, 32, 32, 3, 10, cifar_keras_paper},
    {NULL, NULL, NULL, NULL, 0.0f, 0, 0, 0, 0, NULL},
};

const nl_workload_info *nl_workloads(void) {
    return workloads;
}

const nl_workload_info *nl_workload_find(const char *name) {
    for (const nl_workload_info *w = workloads; name && w->name; w++)
        if (!strcmp(w->name, name)) return w;
    return NULL;
}

nl_status nl_workload_build_for(const char *name, int h, int w, int c, int classes, nl_model **out,
                                nl_error *err) {
    *out = NULL;
    const nl_workload_info *wi = nl_workload_find(name);
    if (!wi) {
        char known[256] = "";
        size_t k = 0;
        for (const nl_workload_info *x = workloads; x->name && k < sizeof known; x++) {
            int n = snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "", x->name);
            if (n < 0) break;
            k += (size_t)n;
        }
        return nl_error_set(err, NL_ENOTFOUND, "unknown workload '%s' (known: %s)",
                            name ? name : "(null)", known);
    }
    if (h != wi->h || w != wi->w || c != wi->c)
        return nl_error_set(err, NL_EINVAL,
                            "workload '%s' takes %dx%dx%d inputs (%d values), the data has "
                            "%dx%dx%d (%lld values)",
                            wi->name, wi->h, wi->w, wi->c, wi->h * wi->w * wi->c, h, w, c,
                            (long long)h * w * c);
    if (classes < 2 || classes > 65536)
        return nl_error_set(err, NL_EINVAL, "workload '%s': %d classes, expected 2..65536",
                            wi->name, classes);
    nl_model *m = nl_model_new(h, w, c);
    if (!m) return nl_error_set(err, NL_ENOMEM, "out of memory building workload '%s'", name);
    wi->build(m, classes);
    *out = m;
    return NL_OK;
}

nl_status nl_workload_build(const char *name, nl_model **out, nl_error *err) {
    const nl_workload_info *wi = nl_workload_find(name);
    if (!wi) return nl_workload_build_for(name, 0, 0, 0, 0, out, err);
    return nl_workload_build_for(name, wi->h, wi->w, wi->c, wi->classes, out, err);
}

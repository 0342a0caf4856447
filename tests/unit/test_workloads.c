/* The workload table (src/model/workloads.c) and the dataset table
 * (src/data/datasets.c): every workload builds for its own dataset and for
 * another class count, an input of another shape is refused naming both,
 * every dataset row is complete and its name unique. Each workload, now read
 * from its shipped .nnm file, trains to parameters bit-identical to the
 * hand-written builder it replaced (kept here, and only here). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "nnlab/core.h"
#include "nnlab/data.h"
#include "nnlab/model.h"
#include "nnlab/train.h"

/* ---- the builders before the model files ---- */
static void old_mnist_mlp(nl_model *m, int classes) {
    nl_model_dense(m, 128, NL_ACT_RELU);
    nl_model_dropout(m, 0.5f);
    nl_model_dense(m, classes, NL_ACT_SOFTMAX);
}
static void old_mnist_keras_paper(nl_model *m, int classes) {
    nl_model_dense(m, 128, NL_ACT_RELU);
    nl_model_dense(m, 128, NL_ACT_RELU);
    nl_model_dropout(m, 0.5f);
    nl_model_dense(m, classes, NL_ACT_SOFTMAX);
}
static void old_cifar_cnn(nl_model *m, int classes) {
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
static void old_cifar_keras_paper(nl_model *m, int classes) {
    nl_model_conv2d(m, 32, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_conv2d(m, 64, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_flatten(m);
    nl_model_dense(m, 64, NL_ACT_RELU);
    nl_model_dense(m, classes, NL_ACT_SOFTMAX);
}
static const struct {
    const char *name;
    void (*build)(nl_model *, int);
    nl_optim_kind opt;
    float lr;
    int h, w, c;
} old[] = {
    {"mnist", old_mnist_mlp, NL_OPT_ADAM, 1e-3f, 28, 28, 1},
    {"mnist-keras-paper", old_mnist_keras_paper, NL_OPT_ADAM, 1e-3f, 28, 28, 1},
    {"cifar10", old_cifar_cnn, NL_OPT_ADAM, 1e-3f, 32, 32, 3},
    {"cifar10-keras-paper", old_cifar_keras_paper, NL_OPT_SGD, 1e-2f, 32, 32, 3},
};

/* Trains m (compiled for batch 8) for 2 epochs of 40 random samples; returns
 * its parameters and state (malloc'd, params then state). */
static float *train_small(nl_model *m, const nl_optim_config *oc, int h, int w, int c,
                          size_t *nfloats) {
    nl_error err = {0};
    nl_dataset d = {0};
    d.n = 40, d.h = h, d.w = w, d.c = c, d.num_classes = 10;
    const size_t in = (size_t)h * w * c;
    d.images = malloc(d.n * in);
    d.labels = malloc(d.n);
    nl_rng r;
    nl_rng_seed(&r, 7);
    for (size_t i = 0; i < d.n * in; i++) d.images[i] = (uint8_t)nl_rng_below(&r, 256);
    for (size_t i = 0; i < d.n; i++) d.labels[i] = (uint8_t)nl_rng_below(&r, 10);
    nl_model_init(m, 3);
    nl_optimizer o;
    CHECK(nl_optim_init(&o, oc, nl_model_param_slab_size(m), &err) == NL_OK);
    nl_train_config tc = nl_train_defaults();
    tc.epochs = 2, tc.batch = 8, tc.seed = 5;
    CHECK_MSG(nl_train(m, &o, &d, NULL, &tc, NULL, NULL, &err) == NL_OK, "%s", err.msg);
    const size_t np = nl_model_param_slab_size(m), ns = nl_model_num_state(m);
    float *out = malloc((np + ns + 1) * sizeof *out);
    memcpy(out, nl_model_params(m), np * sizeof *out);
    if (ns) memcpy(out + np, nl_model_state(m), ns * sizeof *out);
    *nfloats = np + ns;
    nl_optim_free(&o);
    nl_dataset_free(&d);
    return out;
}

static void test_same_as_old_builders(void) {
    nl_error err = {0};
    nl_set_threads(2);
    for (size_t k = 0; k < sizeof old / sizeof old[0]; k++) {
        nl_model *a = nl_model_new(old[k].h, old[k].w, old[k].c), *b = NULL;
        old[k].build(a, 10);
        const nl_shipped_model *s = nl_shipped_model_find(old[k].name);
        static nl_nnm f;
        CHECK_MSG(s && nl_nnm_parse(old[k].name, s->text, s->len, &f, &err) == NL_OK, "%s",
                  err.msg);
        CHECK(nl_nnm_build(&f, 0, &b, &err) == NL_OK);
        /* the same layers and the optimizer the workload had */
        CHECK(nl_model_num_layers(a) == nl_model_num_layers(b));
        for (int i = 0; i < nl_model_num_layers(a) && i < nl_model_num_layers(b); i++)
            CHECK_MSG(!memcmp(nl_model_layer_spec(a, i), nl_model_layer_spec(b, i),
                              sizeof(nl_layer_spec)),
                      "%s layer %d", old[k].name, i);
        nl_optim_config oc = nl_optim_defaults(old[k].opt);
        oc.lr = old[k].lr;
        CHECK_MSG(!memcmp(&oc, &f.optim, sizeof oc), "%s: optimizer", old[k].name);
        CHECK(f.batch == 32 && f.epochs == 3 && f.seed == 0);
        CHECK(nl_model_compile(a, 8, &err) == NL_OK && nl_nnm_compile(&f, b, 8, &err) == NL_OK);
        size_t na = 0, nb = 0;
        float *pa = train_small(a, &oc, old[k].h, old[k].w, old[k].c, &na);
        float *pb = train_small(b, &f.optim, old[k].h, old[k].w, old[k].c, &nb);
        CHECK_MSG(na == nb && !memcmp(pa, pb, na * sizeof *pa),
                  "%s: parameters differ after training", old[k].name);
        free(pa);
        free(pb);
        nl_model_free(a);
        nl_model_free(b);
    }
}

static int last_units(nl_model *m) {
    int h, w, c;
    nl_model_layer_shape(m, nl_model_num_layers(m) - 1, &h, &w, &c);
    return h * w * c;
}

int main(void) {
    nl_error err = {0};
    nl_model *m = NULL;
    int n = 0;
    for (const nl_workload_info *w = nl_workloads(); w->name; w++, n++) {
        CHECK(w->dataset && w->description && w->optimizer && w->lr > 0 && w->build);
        const nl_dataset_info *d = nl_dataset_find(w->dataset);
        CHECK_MSG(d && d->h == w->h && d->w == w->w && d->c == w->c && d->num_classes == w->classes,
                  "%s: its dataset %s does not match its input", w->name, w->dataset);
        CHECK_MSG(nl_workload_build(w->name, &m, &err) == NL_OK, "%s", err.msg);
        CHECK(nl_model_compile(m, 4, &err) == NL_OK);
        CHECK(last_units(m) == w->classes);
        nl_model_free(m);
        CHECK(nl_workload_build_for(w->name, w->h, w->w, w->c, 100, &m, &err) == NL_OK);
        CHECK(nl_model_compile(m, 4, &err) == NL_OK);
        CHECK(last_units(m) == 100);
        nl_model_free(m);
    }
    CHECK(n == 4);
    /* mnist's MLP for 5 classes: 784*128+128 + 128*5+5 */
    CHECK(nl_workload_build_for("mnist", 28, 28, 1, 5, &m, &err) == NL_OK);
    CHECK(nl_model_compile(m, 8, &err) == NL_OK);
    CHECK(nl_model_num_params(m) == 101125);
    nl_model_free(m);
    /* the CIFAR CNN for CIFAR-100: 64*100+100 in the last layer instead of 64*10+10 */
    size_t p10, p100;
    CHECK(nl_workload_build("cifar10", &m, &err) == NL_OK && nl_model_compile(m, 2, &err) == NL_OK);
    p10 = nl_model_num_params(m);
    nl_model_free(m);
    CHECK(nl_workload_build_for("cifar10", 32, 32, 3, 100, &m, &err) == NL_OK &&
          nl_model_compile(m, 2, &err) == NL_OK);
    p100 = nl_model_num_params(m);
    nl_model_free(m);
    CHECK(p100 - p10 == 64 * 90 + 90);
    /* an input that is not the workload's */
    CHECK(nl_workload_build_for("mnist", 32, 32, 3, 10, &m, &err) == NL_EINVAL && m == NULL);
    CHECK_CONTAINS(err.msg, "workload 'mnist' takes 28x28x1 inputs (784 values)");
    CHECK_CONTAINS(err.msg, "32x32x3 (3072 values)");
    CHECK(nl_workload_build_for("cifar10", 28, 28, 1, 10, &m, &err) == NL_EINVAL);
    CHECK(nl_workload_build_for("mnist", 28, 28, 1, 1, &m, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "1 classes");
    CHECK(nl_workload_build_for("resnet", 28, 28, 1, 10, &m, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "known: mnist, mnist-keras-paper, cifar10, cifar10-keras-paper");

    /* dataset rows: complete, names unique, the unknown one listed */
    int rows = 0;
    for (const nl_dataset_info *d = nl_datasets(); d->name; d++, rows++) {
        CHECK_MSG(d->load && d->subdir && d->catalog && d->description && d->h > 0 && d->w > 0 &&
                      d->c > 0 && d->num_classes >= 2,
                  "row %s", d->name);
        CHECK(nl_dataset_find(d->name) == d);
    }
    CHECK(rows == 6);
    CHECK(!strcmp(nl_dataset_find("cifar100-coarse")->catalog, "cifar100"));
    nl_dataset ds;
    CHECK(nl_dataset_load("/nonexistent", "svhn", NL_SPLIT_TRAIN, &ds, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "unknown dataset 'svhn' (known: mnist, fashion-mnist, kmnist, "
                            "cifar10, cifar100, cifar100-coarse)");
    CHECK(nl_dataset_load("/nonexistent", "cifar100", NL_SPLIT_TRAIN, &ds, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "CIFAR-100 not found");
    test_same_as_old_builders();
    CHECK_DONE();
}

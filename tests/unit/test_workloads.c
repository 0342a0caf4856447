/* The workload table (src/model/workloads.c) and the dataset table
 * (src/data/datasets.c): every workload builds for its own dataset and for
 * another class count, an input of another shape is refused naming both,
 * every dataset row is complete and its name unique. */
#include <string.h>

#include "check.h"
#include "nnlab/data.h"
#include "nnlab/model.h"

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
    CHECK_DONE();
}

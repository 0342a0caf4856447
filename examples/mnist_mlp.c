/* A complete program on the public API: build the study's MNIST model with the
 * builder, train it for one epoch and print the test accuracy.
 *
 *   cc mnist_mlp.c $(pkg-config --cflags --libs nnlab) -o mnist_mlp
 *   ./mnist_mlp DATA_DIR [LIMIT]
 */
#include <stdio.h>
#include <stdlib.h>

#include <nnlab/core.h>
#include <nnlab/data.h>
#include <nnlab/model.h>
#include <nnlab/optim.h>
#include <nnlab/train.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_DIR [LIMIT]\n", argv[0]);
        return 2;
    }
    nl_error err = {0};
    nl_dataset train = {0}, test = {0};
    nl_optimizer opt = {0};
    nl_model *m = nl_model_new(28, 28, 1);
    nl_model_dense(m, 128, NL_ACT_RELU);
    nl_model_dropout(m, 0.5f);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);

    nl_optim_config oc = nl_optim_defaults(NL_OPT_ADAM);
    nl_train_config tc = nl_train_defaults();
    tc.epochs = 1;
    nl_epoch_stats stats;
    int rc = 1;
    if (nl_model_compile(m, tc.batch, &err) ||
        nl_mnist_load(argv[1], "mnist", NL_SPLIT_TRAIN, &train, &err) ||
        nl_mnist_load(argv[1], "mnist", NL_SPLIT_TEST, &test, &err) ||
        nl_optim_init(&opt, &oc, nl_model_param_slab_size(m), &err))
        goto out;
    if (argc > 2) nl_dataset_truncate(&train, (size_t)atol(argv[2]));
    nl_model_init(m, 1);
    if (nl_train(m, &opt, &train, &test, &tc, NULL, &stats, &err)) goto out;
    printf("trained on %zu samples: loss %.4f, test accuracy %.4f\n", stats.samples, stats.loss,
           stats.test_accuracy);
    rc = 0;
out:
    if (rc) fprintf(stderr, "error: %s\n", err.msg);
    nl_optim_free(&opt);
    nl_model_free(m);
    nl_dataset_free(&train);
    nl_dataset_free(&test);
    return rc;
}

/* nnlab eval --model FILE: test accuracy of a saved model. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/datasets.h"
#include "cli/modelsrc.h"
#include "nnlab/core.h"
#include "nnlab/data.h"
#include "nnlab/train.h"

static const char *CMD = "eval";

static void usage(FILE *f) {
    fprintf(f,
            "Usage: nnlab eval --model FILE [OPTIONS]\n\n"
            "Evaluates a model saved by 'nnlab train --save' on the test set of its\n"
            "workload's dataset (or --dataset, which a model trained with 'nnlab train\n"
            "--dataset' needs) and prints the test accuracy and loss. The model's input\n"
            "shape and outputs must match the dataset's shape and classes.\n\n"
            "Options:\n"
            "  --model FILE     the model file to evaluate (required)\n"
            "  --data DIR       data directory (default: $NNLAB_DATA, else $XDG_CACHE_HOME/nnlab\n"
            "                   or ~/.cache/nnlab)\n"
            "  --dataset NAME   evaluate on this dataset instead of the workload's\n"
            "  --threads N      threads for nnlab and BLAS (default: all cores)\n"
            "  --json           print one JSON object with the results on stdout\n"
            "  -h, --help       show this help\n\n"
            "Exit status: 0 success, 1 runtime error (missing data, bad model file), 2 usage\n"
            "error.\n");
}

int cmd_eval(int argc, char **argv) {
    const char *model_path = NULL, *data_opt = NULL, *dataset_opt = NULL;
    long threads = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return CLI_OK;
        }
        if ((r = cli_opt_value(CMD, argc, argv, &i, "--model", &v))) {
            if (r < 0) return CLI_USAGE;
            model_path = v;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--data", &v))) {
            if (r < 0) return CLI_USAGE;
            data_opt = v;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--dataset", &v))) {
            if (r < 0) return CLI_USAGE;
            dataset_opt = v;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--threads", &v))) {
            if (r < 0 || cli_parse_int(CMD, "--threads", v, 1, 1024, &threads)) return CLI_USAGE;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else {
            return cli_usage_error(CMD, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!model_path) return cli_usage_error(CMD, "missing --model FILE");
    if (threads) cli_warn_threads(CMD, threads);
    nl_set_threads((int)threads);
    nl_error err = {0};
    nl_model *m = NULL;
    nl_dataset test = {0};
    char workload[64] = "", dir[4096];
    double acc = 0, loss = 0;
    int rc = CLI_ERR;
    nl_compile_options copt;
    if (cli_compile_options_from_env(CMD, &copt)) return CLI_USAGE;
    if (nl_model_load(model_path, NL_EVAL_BATCH, &m, NULL, workload, sizeof workload, &err) ||
        nl_model_set_options(m, &copt, &err))
        goto fail;
    /* the dataset of the model it was trained as: a shipped model or a .nnm file */
    char model_dataset[64];
    const char *dataset = dataset_opt ? dataset_opt
                          : !cli_model_dataset(workload, model_dataset, sizeof model_dataset)
                              ? model_dataset
                              : NULL;
    if (!dataset) {
        nl_error_set(&err, NL_EINVAL,
                     "%s: trained as '%s', which is no shipped model nor a model file with a "
                     "dataset line; pass --dataset",
                     model_path, workload);
        goto fail;
    }
    cli_dataset ds;
    if (cli_dataset_resolve(dataset, &ds, &err) || cli_data_dir(data_opt, dir, sizeof dir, &err))
        goto fail;
    if (nl_dataset_load_info(dir, &ds.info, NL_SPLIT_TEST, &test, &err)) {
        cli_data_hint(&err, ds.info.catalog ? ds.info.catalog : ds.info.name);
        goto fail;
    }
    int ih, iw, ic, oh, ow, oc;
    nl_model_layer_shape(m, -1, &ih, &iw, &ic);
    nl_model_layer_shape(m, nl_model_num_layers(m) - 1, &oh, &ow, &oc);
    if (ih != test.h || iw != test.w || ic != test.c || oh * ow * oc != test.num_classes) {
        nl_error_set(&err, NL_EINVAL,
                     "%s takes %dx%dx%d inputs and has %d outputs; dataset '%s' has %dx%dx%d "
                     "samples in %d classes%s",
                     model_path, ih, iw, ic, oh * ow * oc, ds.info.name, test.h, test.w, test.c,
                     test.num_classes,
                     dataset_opt ? "" : " (pass the dataset it was trained on: --dataset)");
        goto fail;
    }
    if (nl_evaluate(m, &test, NL_EVAL_BATCH, &acc, &loss, &err)) goto fail;
    if (json)
        printf("{\"model\": \"%s\", \"workload\": \"%s\", \"dataset\": \"%s\", \"samples\": %zu, "
               "\"test_accuracy\": %.4f, \"test_loss\": %.6f}\n",
               model_path, workload, dataset, test.n, acc, loss);
    else
        printf("%s (%s) on %s: test accuracy %.4f, test loss %.4f (%zu samples)\n", model_path,
               workload, dataset, acc, loss, test.n);
    rc = CLI_OK;
    goto done;
fail:
    cli_error(CMD, "%s", err.msg);
done:
    nl_model_free(m);
    nl_dataset_free(&test);
    return rc;
}

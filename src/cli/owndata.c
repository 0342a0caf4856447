/* The own-data options of `nnlab train` and the table inputs of predict. */
#include "cli/owndata.h"

#include <string.h>

#include "cli/cli.h"

int cli_owndata_option(const char *cmd, int argc, char **argv, int *i, cli_owndata *o) {
    const char *v = NULL;
    int r;
    if ((r = cli_opt_value(cmd, argc, argv, i, "--train-data", &v))) {
        if (r > 0) o->train_path = v;
    } else if ((r = cli_opt_value(cmd, argc, argv, i, "--test-data", &v))) {
        if (r > 0) o->test_path = v;
    } else if ((r = cli_opt_value(cmd, argc, argv, i, "--label", &v))) {
        if (r > 0 && !*v) {
            cli_usage_error(cmd, "--label needs a column name");
            return -1;
        }
        if (r > 0) o->label = v;
    } else if ((r = cli_opt_value(cmd, argc, argv, i, "--val-split", &v))) {
        double f = 0;
        if (r > 0 && cli_parse_double(cmd, "--val-split", v, 0, 1, &f)) return -1;
        if (r > 0 && !(f > 0 && f < 1)) {
            cli_usage_error(cmd, "--val-split %s: expected a fraction between 0 and 1, exclusive",
                            v);
            return -1;
        }
        if (r > 0) o->val_split = f;
    }
    return r;
}

int cli_owndata_check(const char *cmd, const cli_owndata *o, const char *dataset_opt) {
    if (o->val_split > 0 && o->test_path)
        return cli_usage_error(cmd, "--val-split and --test-data: pick one");
    if (o->test_path && !o->train_path)
        return cli_usage_error(cmd, "--test-data needs --train-data");
    if (o->label && !o->train_path)
        return cli_usage_error(cmd, "--label needs --train-data (a CSV file's target column)");
    if (o->train_path && dataset_opt)
        return cli_usage_error(cmd, "--dataset and --train-data: pick one");
    if (o->train_path && !o->test_path && !(o->val_split > 0))
        return cli_usage_error(cmd, "--train-data needs an evaluation set: --test-data PATH or "
                                    "--val-split F");
    return CLI_OK;
}

void cli_owndata_help(FILE *f) {
    fputs("  --train-data PATH  train on your own data: a .csv file (a header row; the column\n"
          "                     'label' holds the target: a class index 0..255 for a\n"
          "                     cross-entropy model, a number for mse; every other column a\n"
          "                     numeric feature, used as it is) or a .npz file with arrays x\n"
          "                     ([n][features] or [n][H][W][C]) and y, as numpy.savez writes\n"
          "                     them (float32, float64, uint8, int64). The features must fill\n"
          "                     the model's input (H*W*C of them)\n"
          "  --test-data PATH   the evaluation set for --train-data (same format)\n"
          "  --label COL        the target column of a CSV file (default 'label')\n"
          "  --val-split F      hold out the last fraction F (0 < F < 1) of the training data\n"
          "                     as the evaluation set, as Keras's validation_split does\n"
          "                     (instead of --test-data, or of a built-in dataset's test set)\n",
          f);
}

nl_table_options cli_owndata_table_options(const nl_model *m, const char *label, int inputs_only) {
    nl_table_options t = nl_table_defaults();
    t.label = label;
    nl_model_layer_shape(m, -1, &t.h, &t.w, &t.c);
    if (inputs_only) {
        t.targets = NL_TABLE_INPUTS;
    } else if (nl_model_loss_kind(m) == NL_LOSS_MSE) {
        t.targets = NL_TABLE_VALUES;
        t.num_targets = nl_model_num_outputs(m);
    } else {
        t.targets = NL_TABLE_CLASSES;
        const int k = nl_model_num_outputs(m);
        t.num_classes = k > 256 ? 256 : k;
    }
    return t;
}

nl_status cli_owndata_load(const cli_owndata *o, const nl_model *m, nl_dataset *train,
                           nl_dataset *test, nl_error *err) {
    const nl_table_options t = cli_owndata_table_options(m, o->label, 0);
    nl_status st = nl_table_load(o->train_path, &t, train, err);
    if (st) return st;
    if (o->test_path && (st = nl_table_load(o->test_path, &t, test, err))) {
        nl_dataset_free(train);
        return st;
    }
    return NL_OK;
}

nl_status cli_owndata_split(const cli_owndata *o, nl_dataset *train, nl_dataset *test,
                            nl_error *err) {
    if (!(o->val_split > 0)) return NL_OK;
    nl_status st = nl_dataset_split(train, o->val_split, test, err);
    if (st) nl_error_prefix(err, "--val-split: ");
    return st;
}

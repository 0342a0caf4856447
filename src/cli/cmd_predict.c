/* nnlab predict --model FILE INPUT: a saved model's outputs for every sample
 * of a CSV or NPZ file, as CSV. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/owndata.h"
#include "core/path.h"
#include "nnlab/core.h"
#include "nnlab/data.h"
#include "nnlab/train.h"

static const char *CMD = "predict";

static void usage(FILE *f) {
    fprintf(f, "Usage: nnlab predict --model FILE INPUT [--output FILE] [--batch N] [--label COL]\n"
               "                     [--threads N]\n\n"
               "Runs a model saved by 'nnlab train --save' on every sample of INPUT and writes\n"
               "one CSV row per sample, in the order of INPUT, after a header row:\n"
               "  a classifier (cross-entropy, softmax output): class,p0,...,pK-1 - the most\n"
               "    probable class and the softmax probabilities of the K classes;\n"
               "  a regression model (mse): y0,...,yK-1 - its K outputs.\n\n"
               "INPUT is a .csv file (a header row, one numeric feature a column; the target\n"
               "column 'label' or --label COL may be there and is ignored) or a .npz file with\n"
               "an array x (y ignored), as 'nnlab train --train-data' takes them. Features are\n"
               "used as they are: scale them as the training data was.\n\n"
               "Options:\n"
               "  --model FILE    the model file (required)\n"
               "  --output FILE   write the CSV to FILE (written to a temporary file, synced and\n"
               "                  renamed into place; an existing FILE must be a regular file);\n"
               "                  default: stdout\n"
               "  --batch N       samples a forward pass (default 32)\n"
               "  --label COL     the CSV column to ignore as the target (default 'label')\n"
               "  --threads N     threads for nnlab and BLAS (default: all cores)\n"
               "  -h, --help      show this help\n");
}

/* 1 when m's outputs are class scores: its loss is cross-entropy and its last
 * layer ends in softmax (a file that does not record the loss: the softmax). */
static int is_classifier(const nl_model *m) {
    if (nl_model_loss_kind(m) == NL_LOSS_MSE) return 0;
    const int n = nl_model_num_layers(m);
    const nl_layer_spec *s = n > 0 ? nl_model_layer_spec(m, n - 1) : NULL;
    return s && s->act == NL_ACT_SOFTMAX &&
           (s->kind == NL_LAYER_DENSE || s->kind == NL_LAYER_CONV2D ||
            s->kind == NL_LAYER_ACTIVATION);
}

/* Writes the rows of samples [0, d->n) to f; -1 on a write error. */
static int write_rows(FILE *f, nl_model *m, const nl_dataset *d, int batch, int classify) {
    const int k = nl_model_num_outputs(m);
    const size_t ss = nl_dataset_sample_size(d);
    float *x = malloc((size_t)batch * ss * sizeof(float));
    uint32_t *idx = malloc((size_t)batch * sizeof *idx);
    double *p = malloc((size_t)k * sizeof *p);
    int rc = 0;
    if (!x || !idx || !p) {
        free(x), free(idx), free(p);
        errno = ENOMEM;
        return -1;
    }
    if (classify) {
        fputs("class", f);
        for (int j = 0; j < k; j++) fprintf(f, ",p%d", j);
    } else {
        for (int j = 0; j < k; j++) fprintf(f, "%sy%d", j ? "," : "", j);
    }
    fputc('\n', f);
    for (size_t s = 0; s < d->n && rc == 0; s += (size_t)batch) {
        const int b = (int)(d->n - s < (size_t)batch ? d->n - s : (size_t)batch);
        for (int i = 0; i < b; i++) idx[i] = (uint32_t)(s + (size_t)i);
        nl_batch_gather(d, idx, b, x, NULL);
        const float *out = nl_model_forward(m, x, b, 0);
        for (int i = 0; i < b; i++) {
            const float *o = out + (size_t)i * (size_t)k;
            if (classify) {
                /* softmax in double; the class is the first largest logit */
                int best = 0;
                for (int j = 1; j < k; j++)
                    if (o[j] > o[best]) best = j;
                double sum = 0;
                for (int j = 0; j < k; j++) sum += p[j] = exp((double)o[j] - (double)o[best]);
                fprintf(f, "%d", best);
                for (int j = 0; j < k; j++) fprintf(f, ",%.7g", p[j] / sum);
            } else {
                for (int j = 0; j < k; j++) fprintf(f, "%s%.9g", j ? "," : "", (double)o[j]);
            }
            if (fputc('\n', f) == EOF) {
                rc = -1;
                break;
            }
        }
    }
    if (ferror(f)) rc = -1;
    free(x), free(idx), free(p);
    return rc;
}

int cmd_predict(int argc, char **argv) {
    const char *model_path = NULL, *input = NULL, *output = NULL, *label = NULL;
    long batch = NL_EVAL_BATCH, threads = 0;
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
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--output", &v))) {
            if (r < 0) return CLI_USAGE;
            output = v;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--label", &v))) {
            if (r < 0) return CLI_USAGE;
            label = v;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--batch", &v))) {
            if (r < 0 || cli_parse_int(CMD, "--batch", v, 1, 65536, &batch)) return CLI_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--threads", &v))) {
            if (r < 0 || cli_parse_int(CMD, "--threads", v, 1, 1024, &threads)) return CLI_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        } else if (!input) {
            input = argv[i];
        } else {
            return cli_usage_error(CMD, "unexpected argument '%s' (one INPUT file)", argv[i]);
        }
    }
    if (!model_path) return cli_usage_error(CMD, "missing --model FILE");
    if (!input) return cli_usage_error(CMD, "missing INPUT (a .csv or .npz file)");
    nl_set_threads((int)threads);
    nl_compile_options copt;
    if (cli_compile_options_from_env(CMD, &copt)) return CLI_USAGE;

    nl_error err = {0};
    nl_model *m = NULL;
    nl_dataset d = {0};
    FILE *f = NULL;
    char tmp[4096] = "";
    int rc = CLI_ERR;
    if (nl_model_load(model_path, (int)batch, &m, NULL, NULL, 0, &err) ||
        nl_model_set_options(m, &copt, &err))
        goto fail;
    const int classify = is_classifier(m);
    const nl_table_options topt = cli_owndata_table_options(m, label, 1);
    if (nl_table_load(input, &topt, &d, &err)) goto fail;
    if (output) {
        struct stat st;
        if (lstat(output, &st) == 0 && !S_ISREG(st.st_mode)) {
            nl_error_set(&err, NL_EINVAL, "--output %s: is %s; only a regular file is replaced",
                         output, nl_file_type_name((unsigned)st.st_mode));
            goto fail;
        }
        if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", output) >= (int)sizeof tmp) {
            nl_error_set(&err, NL_EINVAL, "--output: path too long: %s", output);
            tmp[0] = '\0';
            goto fail;
        }
        int fd = mkstemp(tmp);
        if (fd < 0) {
            nl_error_set(&err, NL_EIO, "--output %s: cannot create a temporary file: %s", output,
                         strerror(errno));
            tmp[0] = '\0';
            goto fail;
        }
        (void)fchmod(fd, 0644);
        f = fdopen(fd, "w");
        if (!f) {
            close(fd);
            nl_error_set(&err, NL_EIO, "%s: %s", tmp, strerror(errno));
            goto fail;
        }
    }
    if (write_rows(f ? f : stdout, m, &d, (int)batch, classify) != 0) {
        nl_error_set(&err, NL_EIO, "%s: write error: %s", output ? tmp : "stdout", strerror(errno));
        goto fail;
    }
    if (f) {
        FILE *g = f;
        f = NULL;
        if (fflush(g) != 0 || fsync(fileno(g)) != 0) {
            nl_error_set(&err, NL_EIO, "%s: write error: %s", tmp, strerror(errno));
            fclose(g);
            goto fail;
        }
        if (fclose(g) != 0) {
            nl_error_set(&err, NL_EIO, "%s: write error: %s", tmp, strerror(errno));
            goto fail;
        }
        if (rename(tmp, output) != 0) {
            nl_error_set(&err, NL_EIO, "--output %s: cannot rename %s into place: %s", output, tmp,
                         strerror(errno));
            goto fail;
        }
        tmp[0] = '\0';
        char dir[4096];
        nl_dirname(output, dir, sizeof dir);
        nl_fsync_dir(dir);
    } else if (fflush(stdout) != 0) {
        nl_error_set(&err, NL_EIO, "stdout: write error: %s", strerror(errno));
        goto fail;
    }
    rc = CLI_OK;
    goto done;
fail:
    cli_error(CMD, "%s", err.msg);
done:
    if (f) fclose(f);
    if (tmp[0]) unlink(tmp);
    nl_model_free(m);
    nl_dataset_free(&d);
    return rc;
}

/* nnlab models [NAME|FILE.nnm ...]: the shipped models, or a Keras-style
 * summary of each model named. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/modelsrc.h"
#include "nnlab/model.h"
#include "nnlab/optim.h"

static const char *CMD = "models";

enum { W_NAME = 44, W_SHAPE = 22, W_PARAM = 12, W_ALL = W_NAME + W_SHAPE + W_PARAM };

static void shape_str(char *out, size_t n, int h, int w, int c) {
    if (h == 1 && w == 1)
        snprintf(out, n, "(None, %d)", c);
    else
        snprintf(out, n, "(None, %d, %d, %d)", h, w, c);
}

/* 1234567 -> "1,234,567" */
static const char *commas(char *out, size_t n, size_t v) {
    char d[32];
    int len = snprintf(d, sizeof d, "%zu", v), k = 0;
    for (int i = 0; i < len && (size_t)k + 2 < n; i++) {
        if (i && (len - i) % 3 == 0) out[k++] = ',';
        out[k++] = d[i];
    }
    out[k] = '\0';
    return out;
}

/* The Keras class name of a layer. */
static const char *keras_type(const nl_layer_spec *s) {
    switch (s->kind) {
    case NL_LAYER_DENSE:
        return "Dense";
    case NL_LAYER_RELU:
        return "ReLU";
    case NL_LAYER_DROPOUT:
        return "Dropout";
    case NL_LAYER_FLATTEN:
        return "Flatten";
    case NL_LAYER_CONV2D:
        return "Conv2D";
    case NL_LAYER_BATCHNORM:
        return "BatchNormalization";
    case NL_LAYER_MAXPOOL2D:
        return "MaxPooling2D";
    case NL_LAYER_AVGPOOL2D:
        return "AveragePooling2D";
    case NL_LAYER_GLOBALAVGPOOL2D:
        return "GlobalAveragePooling2D";
    case NL_LAYER_ACTIVATION:
        return "Activation";
    default:
        return "Layer";
    }
}

static const char *act_label(int act) {
    switch (act) {
    case NL_ACT_RELU:
        return "relu";
    case NL_ACT_SOFTMAX:
        return "softmax";
    case NL_ACT_TANH:
        return "tanh";
    case NL_ACT_SIGMOID:
        return "sigmoid";
    case NL_ACT_GELU:
        return "gelu";
    case NL_ACT_LEAKYRELU:
        return "leakyrelu";
    default:
        return NULL;
    }
}

static void rule(char ch) {
    for (int i = 0; i < W_ALL; i++) putchar(ch);
    putchar('\n');
}

/* "dense", "dense_1", ...: each word numbered as Keras numbers its layers. */
typedef struct name_counts {
    const char *word[64];
    int count[64];
    int n;
} name_counts;

static void layer_name(char *out, size_t n, const char *word, const char *type, const char *act,
                       name_counts *nc) {
    int j = 0;
    while (j < nc->n && strcmp(nc->word[j], word)) j++;
    if (j == nc->n && nc->n < 64) nc->word[nc->n++] = word, nc->count[j] = 0;
    const int k = j < 64 ? nc->count[j]++ : 0;
    char base[48];
    if (k)
        snprintf(base, sizeof base, "%s_%d", word, k);
    else
        snprintf(base, sizeof base, "%s", word);
    if (act)
        snprintf(out, n, "%s (%s, %s)", base, type, act);
    else
        snprintf(out, n, "%s (%s)", base, type);
}

static int summary(const cli_model_src *ms) {
    const nl_nnm *f = &ms->nnm;
    nl_error err = {0};
    nl_model *m = NULL;
    if (nl_nnm_build(f, 0, &m, &err) || nl_nnm_compile(f, m, 1, &err)) {
        cli_error(CMD, "%s", err.msg);
        nl_model_free(m);
        return CLI_ERR;
    }
    printf("Model: \"%s\"%s%s%s\n", ms->name, f->dataset[0] ? " (dataset " : "", f->dataset,
           f->dataset[0] ? ")" : "");
    if (f->description[0]) printf("%s\n", f->description);
    printf("loss %s; %s lr %g; batch %d, %d epoch%s, seed %llu\n",
           f->loss == NL_LOSS_MSE ? "mse" : "crossentropy", nl_optim_name(f->optim.kind),
           (double)f->optim.lr, f->batch, f->epochs, f->epochs == 1 ? "" : "s",
           (unsigned long long)f->seed);
    rule('_');
    printf("%-*s%-*s%*s\n", W_NAME, " Layer (type)", W_SHAPE, "Output Shape", W_PARAM, "Param #");
    rule('=');
    char shp[64], name[96], num[32];
    name_counts nc = {0};
    int implicit = 0;
    int h, w, c;
    nl_model_layer_shape(m, -1, &h, &w, &c);
    shape_str(shp, sizeof shp, h, w, c);
    printf(" %-*s%-*s%*s\n", W_NAME - 1, "input (InputLayer)", W_SHAPE, shp, W_PARAM, "0");
    for (int i = 0; i < nl_model_num_layers(m); i++) {
        const nl_layer_spec *s = nl_model_layer_spec(m, i);
        int ih, iw, ic;
        nl_model_layer_shape(m, i - 1, &ih, &iw, &ic);
        if (s->kind == NL_LAYER_DENSE && !(ih == 1 && iw == 1)) {
            /* a dense layer flattens its input: the Flatten row Keras shows */
            layer_name(name, sizeof name, "flatten", "Flatten", NULL, &nc);
            strncat(name, " *", sizeof name - strlen(name) - 1);
            shape_str(shp, sizeof shp, 1, 1, ih * iw * ic);
            printf(" %-*s%-*s%*s\n", W_NAME - 1, name, W_SHAPE, shp, W_PARAM, "0");
            implicit = 1;
        }
        const char *act = s->kind == NL_LAYER_ACTIVATION ? NULL : act_label(s->act);
        const char *word = s->kind == NL_LAYER_ACTIVATION && act_label(s->act)
                               ? act_label(s->act)
                               : nl_layer_kind_name(s->kind);
        layer_name(name, sizeof name, word, keras_type(s), act, &nc);
        nl_model_layer_shape(m, i, &h, &w, &c);
        shape_str(shp, sizeof shp, h, w, c);
        /* as Keras counts them: batch norm's moving statistics included */
        const size_t p = nl_model_layer_params(m, i) + nl_model_layer_state(m, i);
        printf(" %-*s%-*s%*s\n", W_NAME - 1, name, W_SHAPE, shp, W_PARAM,
               commas(num, sizeof num, p));
    }
    rule('=');
    const size_t tr = nl_model_num_params(m), st = nl_model_num_state(m);
    char b[32];
    printf("Total params: %s (%s bytes)\n", commas(num, sizeof num, tr + st),
           commas(b, sizeof b, (tr + st) * sizeof(float)));
    printf("Trainable params: %s (%s bytes)\n", commas(num, sizeof num, tr),
           commas(b, sizeof b, tr * sizeof(float)));
    printf("Non-trainable params: %s (%s bytes)\n", commas(num, sizeof num, st),
           commas(b, sizeof b, st * sizeof(float)));
    rule('_');
    if (implicit) printf("* a dense layer flattens its input\n");
    putchar('\n');
    nl_model_free(m);
    return CLI_OK;
}

static void list_models(void) {
    printf("Shipped models ('nnlab models NAME' for a summary, 'nnlab train NAME'; a model\n"
           "file of your own works wherever a name does: FILE.nnm, docs/model-file.md):\n\n");
    printf("  %-22s %-10s %s\n", "NAME", "DATASET", "DESCRIPTION");
    static nl_nnm f;
    for (const nl_shipped_model *s = nl_shipped_models(); s->name; s++) {
        nl_error err = {0};
        if (nl_nnm_parse(s->name, s->text, s->len, &f, &err)) {
            printf("  %-22s %-10s (%s)\n", s->name, "?", err.msg);
            continue;
        }
        printf("  %-22s %-10s %s\n", s->name, f.dataset[0] ? f.dataset : "-", f.description);
    }
}

int cmd_models(int argc, char **argv) {
    int nwords = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("Usage: nnlab models [NAME|FILE.nnm ...]\n\n"
                   "Without arguments lists the shipped models: name, dataset, description.\n"
                   "With names or model files prints a Keras-style summary of each: every\n"
                   "layer's output shape and parameters, the trainable and non-trainable\n"
                   "parameters (batch norm's moving statistics) and their size in bytes.\n"
                   "A word ending in .nnm or containing '/' is a model file.\n");
            return CLI_OK;
        }
        if (argv[i][0] == '-') return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
        nwords++;
    }
    if (!nwords) {
        list_models();
        return CLI_OK;
    }
    /* every name is checked before anything is printed */
    for (int i = 1; i < argc; i++)
        if (!cli_model_is_file(argv[i]) && !nl_shipped_model_find(argv[i])) {
            static cli_model_src ms;
            return cli_model_resolve(CMD, argv[i], &ms);
        }
    int rc = CLI_OK;
    for (int i = 1; i < argc; i++) {
        static cli_model_src ms;
        int r = cli_model_resolve(CMD, argv[i], &ms);
        if (r == CLI_OK) r = summary(&ms);
        if (r != CLI_OK) rc = r;
    }
    return rc;
}

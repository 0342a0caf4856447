/* --resume and the --json history of `nnlab train` (checkpoint.h). */
#include "cli/checkpoint.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* "dense 128 relu" and the like: enough to tell two layers apart. */
static void describe_layer(const nl_layer_spec *s, char *out, size_t n) {
    const char *act = nl_act_name(s->act);
    snprintf(out, n,
             "%s units=%d act=%s kernel=%d stride=%d padding=%d rate=%g eps=%g "
             "momentum=%g alpha=%g",
             nl_layer_kind_name(s->kind), s->units, act ? act : "?", s->kernel, s->stride,
             s->padding, (double)s->rate, (double)s->eps, (double)s->momentum, (double)s->alpha);
}

static int same_spec(const nl_layer_spec *a, const nl_layer_spec *b) {
    return a->kind == b->kind && a->units == b->units && a->act == b->act &&
           a->kernel == b->kernel && a->stride == b->stride && a->padding == b->padding &&
           !memcmp(&a->rate, &b->rate, sizeof a->rate) &&
           !memcmp(&a->eps, &b->eps, sizeof a->eps) &&
           !memcmp(&a->momentum, &b->momentum, sizeof a->momentum) &&
           !memcmp(&a->alpha, &b->alpha, sizeof a->alpha);
}

static const char *loss_name(nl_loss l) {
    return l == NL_LOSS_MSE ? "mse" : "crossentropy";
}

/* NL_OK when got (stored as `stored` in path) is the architecture of want. */
static nl_status same_model(const char *path, const char *stored, const nl_model *got,
                            const char *workload, const nl_model *want, nl_error *err) {
    int h1, w1, c1, h2, w2, c2;
    nl_model_layer_shape(got, -1, &h1, &w1, &c1);
    nl_model_layer_shape(want, -1, &h2, &w2, &c2);
    const int L1 = nl_model_num_layers(got), L2 = nl_model_num_layers(want);
    char a[256], b[256];
    if (h1 != h2 || w1 != w2 || c1 != c2)
        return nl_error_set(err, NL_EINVAL,
                            "--resume %s: its model ('%s') takes %dx%dx%d inputs, the model of "
                            "'%s' %dx%dx%d",
                            path, stored, h1, w1, c1, workload, h2, w2, c2);
    if (L1 != L2)
        return nl_error_set(err, NL_EINVAL,
                            "--resume %s: its model ('%s') has %d layers, the model of '%s' %d",
                            path, stored, L1, workload, L2);
    for (int i = 0; i < L1; i++) {
        const nl_layer_spec *s1 = nl_model_layer_spec(got, i), *s2 = nl_model_layer_spec(want, i);
        if (same_spec(s1, s2)) continue;
        describe_layer(s1, a, sizeof a);
        describe_layer(s2, b, sizeof b);
        return nl_error_set(err, NL_EINVAL,
                            "--resume %s: layer %d of its model ('%s') is %s; of the model of "
                            "'%s' %s",
                            path, i, stored, a, workload, b);
    }
    if (nl_model_loss_kind(got) != nl_model_loss_kind(want))
        return nl_error_set(err, NL_EINVAL,
                            "--resume %s: its model ('%s') is trained with %s, the model of '%s' "
                            "with %s",
                            path, stored, loss_name(nl_model_loss_kind(got)), workload,
                            loss_name(nl_model_loss_kind(want)));
    return NL_OK;
}

nl_status ckpt_resume(const char *path, const char *workload, int max_batch, nl_model **m,
                      nl_optimizer *opt, nl_train_state *state, nl_error *err) {
    nl_model *got = NULL;
    char stored[64] = "";
    int has = 0;
    nl_status st = nl_model_load_checkpoint(path, max_batch, &got, opt, stored, sizeof stored,
                                            state, &has, err);
    if (st) return nl_error_prefix(err, "--resume");
    if (!has || opt->n == 0) {
        st = nl_error_set(
            err, NL_EINVAL,
            "--resume %s: the file holds no %s: resume takes a file written by "
            "--save or --save-every-epoch",
            path, !has ? "training state (epochs done, shuffle position)" : "optimizer state");
        goto fail;
    }
    if ((st = same_model(path, stored[0] ? stored : "unnamed", got, workload, *m, err))) goto fail;
    nl_model_free(*m);
    *m = got;
    return NL_OK;
fail:
    nl_optim_free(opt);
    memset(opt, 0, sizeof *opt);
    nl_model_free(got);
    return st;
}

void ckpt_json_number(FILE *f, const char *fmt, double v) {
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("null", f);
}

static void list(FILE *f, const char *key, const nl_epoch_stats *st, int first, int epochs,
                 size_t field, const char *fmt, int *sep) {
    fprintf(f, "%s\"%s\": [", *sep ? ", " : "", key);
    for (int e = first; e < epochs; e++) {
        double v;
        memcpy(&v, (const char *)&st[e] + field, sizeof v);
        if (e > first) fputs(", ", f);
        ckpt_json_number(f, fmt, v);
    }
    fputc(']', f);
    *sep = 1;
}

void ckpt_json_history(FILE *f, const nl_epoch_stats *stats, int first, int epochs, int has_test,
                       int mse) {
    int sep = 0;
    fputs("\"history\": {", f);
    list(f, "loss", stats, first, epochs, offsetof(nl_epoch_stats, loss), "%.17g", &sep);
    if (!mse)
        list(f, "accuracy", stats, first, epochs, offsetof(nl_epoch_stats, accuracy), "%.17g",
             &sep);
    if (has_test) {
        list(f, "test_loss", stats, first, epochs, offsetof(nl_epoch_stats, test_loss), "%.17g",
             &sep);
        if (!mse)
            list(f, "test_accuracy", stats, first, epochs, offsetof(nl_epoch_stats, test_accuracy),
                 "%.17g", &sep);
    }
    list(f, "epoch_seconds", stats, first, epochs, offsetof(nl_epoch_stats, train_seconds), "%.4f",
         &sep);
    fputc('}', f);
}

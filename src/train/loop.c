/* The training loop and evaluation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fpmode.h"
#include "core/rng.h"
#include "nnlab/core.h"
#include "nnlab/train.h"

nl_train_config nl_train_defaults(void) {
    nl_train_config c = {.epochs = 3, .batch = 32, .eval_batch = 0, .seed = 0, .shuffle = 1};
    return c;
}

nl_status nl_check_dataset(const nl_model *m, const nl_dataset *d, const char *what,
                           nl_error *err) {
    int h, w, c;
    nl_model_layer_shape(m, -1, &h, &w, &c);
    if (d->h != h || d->w != w || d->c != c)
        return nl_error_set(err, NL_EINVAL,
                            "%s samples are %dx%dx%d but the model expects %dx%dx%d (HxWxC)", what,
                            d->h, d->w, d->c, h, w, c);
    if (d->num_classes > nl_model_num_classes(m))
        return nl_error_set(err, NL_EINVAL, "%s has %d classes but the model outputs %d", what,
                            d->num_classes, nl_model_num_classes(m));
    if (d->n == 0) return nl_error_set(err, NL_EINVAL, "%s has no samples", what);
    if (d->n > UINT32_MAX) return nl_error_set(err, NL_EINVAL, "%s has too many samples", what);
    return NL_OK;
}

static nl_status evaluate(nl_model *m, const nl_dataset *d, int batch, double *accuracy,
                          double *loss, nl_error *err) {
    nl_status st = nl_check_dataset(m, d, "evaluation set", err);
    if (st) return st;
    if (batch <= 0) batch = 256;
    st = nl_model_set_max_batch(m, batch, err);
    if (st) return st;
    const size_t ss = nl_dataset_sample_size(d);
    float *x = malloc((size_t)batch * ss * sizeof(float));
    uint32_t *idx = malloc((size_t)batch * sizeof *idx);
    uint8_t *lab = malloc((size_t)batch);
    if (!x || !idx || !lab) {
        free(x), free(idx), free(lab);
        return nl_error_set(err, NL_ENOMEM, "out of memory for an evaluation batch of %d", batch);
    }
    size_t right = 0;
    double total = 0.0;
    for (size_t s = 0; s < d->n; s += (size_t)batch) {
        int b = (int)(d->n - s < (size_t)batch ? d->n - s : (size_t)batch);
        for (int i = 0; i < b; i++) idx[i] = (uint32_t)(s + (size_t)i);
        nl_batch_gather(d, idx, b, x, lab);
        nl_model_forward(m, x, b, 0);
        int c = 0;
        total += (double)nl_model_loss_backward(m, lab, b, 0, &c) * b;
        right += (size_t)c;
    }
    free(x), free(idx), free(lab);
    if (accuracy) *accuracy = (double)right / (double)d->n;
    if (loss) *loss = total / (double)d->n;
    return NL_OK;
}

static nl_status train_run(nl_model *m, nl_optimizer *opt, const nl_dataset *train,
                           const nl_dataset *test, const nl_train_config *cfg,
                           const nl_train_hooks *hooks, nl_epoch_stats *stats, nl_error *err) {
    static const nl_train_hooks no_hooks = {0};
    if (!hooks) hooks = &no_hooks;
    if (cfg->epochs <= 0 || cfg->batch <= 0)
        return nl_error_set(err, NL_EINVAL, "epochs (%d) and batch (%d) must be positive",
                            cfg->epochs, cfg->batch);
    nl_status st = nl_check_dataset(m, train, "training set", err);
    if (st) return st;
    if (test && (st = nl_check_dataset(m, test, "test set", err))) return st;
    if (opt->n != nl_model_param_slab_size(m))
        return nl_error_set(err, NL_EINVAL, "optimizer has %zu parameters, the model %zu", opt->n,
                            nl_model_param_slab_size(m));
    const int eval_batch = cfg->eval_batch > 0 ? cfg->eval_batch : 256;
    const int max_batch = cfg->batch > eval_batch ? cfg->batch : eval_batch;
    if ((st = nl_model_set_max_batch(m, max_batch, err))) return st;

    const size_t n = train->n, ss = nl_dataset_sample_size(train);
    const int B = cfg->batch;
    const int steps = (int)((n + (size_t)B - 1) / (size_t)B);
    uint32_t *perm = malloc(n * sizeof *perm);
    float *x = malloc((size_t)B * ss * sizeof(float));
    uint8_t *lab = malloc((size_t)B);
    if (!perm || !x || !lab) {
        free(perm), free(x), free(lab);
        return nl_error_set(err, NL_ENOMEM, "out of memory for the training buffers");
    }
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    nl_rng rng;
    nl_rng_seed(&rng, nl_hash2(cfg->seed, 0x5348554646ULL)); /* "SHUFF" */
    float *params = nl_model_params(m);
    const float *grads = nl_model_grads(m);
    uint64_t global_step = opt->t;
    char meta[256];

    for (int e = 1; e <= cfg->epochs && st == NL_OK; e++) {
        /* MLPerf's blocks: one epoch each, closed after its evaluation */
        snprintf(meta, sizeof meta, "{\"first_epoch_num\": %d, \"epoch_count\": 1}", e);
        nl_event(cfg->events, "INTERVAL_START", "block_start", NULL, meta);
        snprintf(meta, sizeof meta, "{\"epoch_num\": %d}", e);
        nl_event(cfg->events, "INTERVAL_START", "epoch_start", NULL, meta);
        if (hooks->epoch_start) hooks->epoch_start(hooks->user, e, cfg->epochs, steps);
        if (cfg->shuffle) nl_shuffle_u32(perm, n, &rng);
        const double t0 = nl_now();
        double loss_sum = 0.0;
        size_t right = 0, seen = 0;
        for (int s = 0; s < steps; s++) {
            if (hooks->should_stop && hooks->should_stop(hooks->user)) {
                st = nl_error_set(err, NL_EINTR, "training interrupted in epoch %d at step %d/%d",
                                  e, s, steps);
                break;
            }
            const int b = (int)(n - seen < (size_t)B ? n - seen : (size_t)B);
            nl_batch_gather(train, perm + seen, b, x, lab);
            if (seen + (size_t)b < n) {
                size_t left = n - seen - (size_t)b;
                nl_batch_prefetch(train, perm + seen + b,
                                  (int)(left < (size_t)B ? left : (size_t)B));
            }
            nl_model_set_step(m, global_step++, cfg->seed);
            nl_model_forward(m, x, b, 1);
            int c = 0;
            float l = nl_model_loss_backward(m, lab, b, 1, &c);
            nl_optim_step(opt, params, grads);
            loss_sum += (double)l * b;
            right += (size_t)c;
            seen += (size_t)b;
            if (hooks->step_end) hooks->step_end(hooks->user, opt->t, l);
            if (hooks->step)
                hooks->step(hooks->user, e, s + 1, steps, seen, loss_sum / (double)seen,
                            (double)right / (double)seen, nl_now() - t0);
        }
        if (st) break;
        nl_epoch_stats es = {.epoch = e, .samples = seen};
        es.train_seconds = nl_now() - t0;
        es.loss = loss_sum / (double)seen;
        es.accuracy = (double)right / (double)seen;
        snprintf(meta, sizeof meta,
                 "{\"epoch_num\": %d, \"samples\": %zu, \"loss\": %.6f, \"accuracy\": %.6f}", e,
                 seen, es.loss, es.accuracy);
        nl_event(cfg->events, "INTERVAL_END", "epoch_stop", NULL, meta);
        if (test) {
            snprintf(meta, sizeof meta, "{\"epoch_num\": %d}", e);
            nl_event(cfg->events, "INTERVAL_START", "eval_start", NULL, meta);
            const double t1 = nl_now();
            st = evaluate(m, test, eval_batch, &es.test_accuracy, &es.test_loss, err);
            if (st) break;
            es.eval_seconds = nl_now() - t1;
            nl_event(cfg->events, "INTERVAL_END", "eval_stop", NULL, meta);
            char val[64];
            snprintf(val, sizeof val, "%.6f", es.test_accuracy);
            nl_event(cfg->events, "POINT_IN_TIME", "eval_accuracy", val, meta);
        }
        snprintf(meta, sizeof meta, "{\"first_epoch_num\": %d, \"epoch_count\": 1}", e);
        nl_event(cfg->events, "INTERVAL_END", "block_stop", NULL, meta);
        if (stats) stats[e - 1] = es;
        if (hooks->epoch_end) hooks->epoch_end(hooks->user, &es);
    }
    free(perm), free(x), free(lab);
    return st;
}

/* Both run with denormals flushed to zero (core/fpmode.h: why), and give the
 * caller's threads their floating-point mode back. */
nl_status nl_evaluate(nl_model *m, const nl_dataset *d, int batch, double *accuracy, double *loss,
                      nl_error *err) {
    nl_fpmode fp;
    nl_fpmode_flush(&fp);
    nl_status st = evaluate(m, d, batch, accuracy, loss, err);
    nl_fpmode_restore(&fp);
    return st;
}

nl_status nl_train(nl_model *m, nl_optimizer *opt, const nl_dataset *train, const nl_dataset *test,
                   const nl_train_config *cfg, const nl_train_hooks *hooks, nl_epoch_stats *stats,
                   nl_error *err) {
    nl_fpmode fp;
    nl_fpmode_flush(&fp);
    nl_status st = train_run(m, opt, train, test, cfg, hooks, stats, err);
    nl_fpmode_restore(&fp);
    return st;
}

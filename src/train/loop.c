/* The training loop and evaluation. */
#include <math.h>
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
    if (!d->images == !d->x)
        return nl_error_set(err, NL_EINVAL,
                            "%s has %s: exactly one of images (u8) and x (float) must be set", what,
                            d->x ? "both images and x" : "neither images nor x");
    if (nl_model_loss_kind(m) == NL_LOSS_MSE) {
        if (!d->y || d->labels)
            return nl_error_set(err, NL_EINVAL,
                                "%s has class labels, but the model is trained with mse, which "
                                "needs float targets (y)",
                                what);
        if (d->targets != nl_model_num_outputs(m))
            return nl_error_set(err, NL_EINVAL,
                                "%s has %d targets per sample but the model outputs %d", what,
                                d->targets, nl_model_num_outputs(m));
    } else {
        if (!d->labels || d->y)
            return nl_error_set(err, NL_EINVAL,
                                "%s has float targets (y), but the model is trained with "
                                "crossentropy, which needs class labels",
                                what);
        if (d->num_classes > nl_model_num_classes(m))
            return nl_error_set(err, NL_EINVAL, "%s has %d classes but the model outputs %d", what,
                                d->num_classes, nl_model_num_classes(m));
    }
    if (d->n == 0) return nl_error_set(err, NL_EINVAL, "%s has no samples", what);
    if (d->n > UINT32_MAX) return nl_error_set(err, NL_EINVAL, "%s has too many samples", what);
    return NL_OK;
}

/* Batch buffers of one pass over a dataset: samples, and labels or targets. */
typedef struct batch_buf {
    float *x, *y; /* y: mse only */
    uint8_t *lab; /* crossentropy only */
} batch_buf;

static void batch_free(batch_buf *bb) {
    free(bb->x), free(bb->y), free(bb->lab);
    bb->x = bb->y = NULL, bb->lab = NULL;
}

static int batch_alloc(batch_buf *bb, const nl_model *m, const nl_dataset *d, int batch) {
    memset(bb, 0, sizeof *bb);
    bb->x = malloc((size_t)batch * nl_dataset_sample_size(d) * sizeof(float));
    if (nl_model_loss_kind(m) == NL_LOSS_MSE)
        bb->y = malloc((size_t)batch * (size_t)d->targets * sizeof(float));
    else
        bb->lab = malloc((size_t)batch);
    if (bb->x && (bb->y || bb->lab)) return 1;
    batch_free(bb);
    return 0;
}

static void batch_gather(const nl_dataset *d, const uint32_t *idx, int b, batch_buf *bb) {
    nl_batch_gather(d, idx, b, bb->x, bb->lab);
    if (bb->y) nl_batch_gather_y(d, idx, b, bb->y);
}

/* The loss of the last forward pass (mse or cross-entropy, by the buffers),
 * with its backward pass when backward is non-zero. */
static float batch_loss(nl_model *m, const batch_buf *bb, int b, int backward, int *correct) {
    if (bb->y) return nl_model_loss_backward_values(m, bb->y, b, backward);
    return nl_model_loss_backward(m, bb->lab, b, backward, correct);
}

/* A data-parallel run (nl_train_dist) or NULL. */
static const nl_train_dist *dist_of(const nl_train_config *cfg) {
    return cfg && cfg->dist && cfg->dist->size > 1 ? cfg->dist : NULL;
}

/* This process's slice [*lo, *hi) of n items (all of them without dist). */
static void dist_slice(const nl_train_dist *dist, size_t n, size_t *lo, size_t *hi) {
    *lo = dist ? n * (size_t)dist->rank / (size_t)dist->size : 0;
    *hi = dist ? n * (size_t)(dist->rank + 1) / (size_t)dist->size : n;
}

static nl_status evaluate(nl_model *m, const nl_dataset *d, int batch, double *accuracy,
                          double *loss, const nl_train_dist *dist, nl_error *err) {
    nl_status st = nl_check_dataset(m, d, "evaluation set", err);
    if (st) return st;
    if (batch <= 0) batch = NL_EVAL_BATCH;
    st = nl_model_set_max_batch(m, batch, err);
    if (st) return st;
    batch_buf bb;
    uint32_t *idx = malloc((size_t)batch * sizeof *idx);
    if (!idx || !batch_alloc(&bb, m, d, batch)) {
        free(idx);
        return nl_error_set(err, NL_ENOMEM, "out of memory for an evaluation batch of %d", batch);
    }
    size_t right = 0, lo, hi;
    double total = 0.0;
    dist_slice(dist, d->n, &lo, &hi); /* a rank evaluates its share of the set */
    for (size_t s = lo; s < hi; s += (size_t)batch) {
        int b = (int)(hi - s < (size_t)batch ? hi - s : (size_t)batch);
        for (int i = 0; i < b; i++) idx[i] = (uint32_t)(s + (size_t)i);
        batch_gather(d, idx, b, &bb);
        nl_model_forward(m, bb.x, b, 0);
        int c = 0;
        total += (double)batch_loss(m, &bb, b, 0, &c) * b;
        right += (size_t)c;
    }
    const int mse = bb.y != NULL;
    free(idx);
    batch_free(&bb);
    if (dist) {
        double v[2] = {total, (double)right};
        if ((st = dist->sum_doubles(dist->user, v, 2, err))) return st;
        total = v[0], right = (size_t)v[1];
    }
    if (accuracy) *accuracy = mse ? NAN : (double)right / (double)d->n;
    if (loss) *loss = total / (double)d->n;
    return NL_OK;
}

/* The shuffle RNG of a run before its first epoch. */
static void shuffle_rng_seed(nl_rng *rng, uint64_t seed) {
    nl_rng_seed(rng, nl_hash2(seed, 0x5348554646ULL)); /* "SHUFF" */
}

/* Advances rng as nl_shuffle_u32 of n elements does, without the elements. */
static void shuffle_skip(nl_rng *rng, uint64_t n) {
    for (uint64_t i = n; i > 1; i--) (void)nl_rng_below(rng, i);
}

void nl_train_state_at(const nl_train_config *cfg, uint64_t samples, int epoch,
                       nl_train_state *out) {
    memset(out, 0, sizeof *out);
    out->epoch = epoch;
    out->epochs = cfg->epochs;
    out->batch = cfg->batch;
    out->shuffle = cfg->shuffle;
    out->seed = cfg->seed;
    out->samples = samples;
    out->schedule = cfg->schedule;
    nl_rng rng;
    shuffle_rng_seed(&rng, cfg->seed);
    if (cfg->shuffle)
        for (int e = 0; e < epoch; e++) shuffle_skip(&rng, samples);
    memcpy(out->rng, rng.s, sizeof out->rng);
}

/* The checkpoint r fits this run (cfg on n samples, steps a epoch, opt). */
static nl_status check_resume(const nl_train_state *r, const nl_train_config *cfg, size_t n,
                              int steps, const nl_optimizer *opt, nl_error *err) {
    if (r->epoch < 0) return nl_error_set(err, NL_EINVAL, "resume: %d epochs completed", r->epoch);
    if (r->epoch >= cfg->epochs)
        return nl_error_set(err, NL_EINVAL,
                            "resume: the checkpoint has completed %d epochs and the run is for %d "
                            "in total: nothing left to train (epochs counts from the start)",
                            r->epoch, cfg->epochs);
    if (r->seed != cfg->seed)
        return nl_error_set(err, NL_EINVAL,
                            "resume: the checkpoint's seed is %llu, this run's %llu",
                            (unsigned long long)r->seed, (unsigned long long)cfg->seed);
    if (r->batch != cfg->batch)
        return nl_error_set(err, NL_EINVAL, "resume: the checkpoint's batch is %d, this run's %d",
                            r->batch, cfg->batch);
    if (!r->shuffle != !cfg->shuffle)
        return nl_error_set(err, NL_EINVAL, "resume: the checkpoint was trained %s, this run %s",
                            r->shuffle ? "shuffled" : "without shuffling",
                            cfg->shuffle ? "shuffles" : "does not shuffle");
    if (r->samples != (uint64_t)n)
        return nl_error_set(err, NL_EINVAL,
                            "resume: the checkpoint was trained on %llu samples an epoch, this "
                            "training set has %zu",
                            (unsigned long long)r->samples, n);
    const nl_schedule *a = &r->schedule, *b = &cfg->schedule;
    if (a->kind != b->kind || a->warmup != b->warmup || a->step_size != b->step_size ||
        memcmp(&a->gamma, &b->gamma, sizeof a->gamma) != 0)
        return nl_error_set(err, NL_EINVAL,
                            "resume: the checkpoint's schedule is %s (warmup %d, step_size %d, "
                            "gamma %g), this run's %s (warmup %d, step_size %d, gamma %g)",
                            nl_schedule_name(a->kind), a->warmup, a->step_size, (double)a->gamma,
                            nl_schedule_name(b->kind), b->warmup, b->step_size, (double)b->gamma);
    const uint64_t want = (uint64_t)r->epoch * (uint64_t)steps;
    if (opt->t != want)
        return nl_error_set(err, NL_EINVAL,
                            "resume: the optimizer has taken %llu steps, %d epochs of %d steps "
                            "are %llu",
                            (unsigned long long)opt->t, r->epoch, steps, (unsigned long long)want);
    nl_train_state at;
    nl_train_state_at(cfg, n, r->epoch, &at);
    if (memcmp(at.rng, r->rng, sizeof at.rng) != 0)
        return nl_error_set(err, NL_EINVAL,
                            "resume: the checkpoint's shuffle RNG position is not the one of seed "
                            "%llu after %d epochs of %zu samples (a checkpoint of another run)",
                            (unsigned long long)cfg->seed, r->epoch, n);
    return NL_OK;
}

/* One training step on a gathered batch: forward, the loss and its gradient,
 * then the optimizer at learning rate lr; *loss_sum is the loss times b.
 * Data-parallel, b is this rank's slice of a global batch of global_b: its
 * mean gradient, weighted by b / global_b, is summed across ranks between
 * the backward pass and the update, and so are the loss and the count. */
static nl_status train_step(nl_model *m, nl_optimizer *opt, const batch_buf *bb, int b,
                            int global_b, float lr, const nl_train_dist *dist, double *loss_sum,
                            int *correct, nl_error *err) {
    float *g = nl_model_grads(m);
    if (!dist) {
        nl_model_forward(m, bb->x, b, 1);
        *loss_sum = (double)batch_loss(m, bb, b, 1, correct) * b;
        nl_optim_step_lr(opt, lr, nl_model_params(m), g);
        return NL_OK;
    }
    const size_t n = nl_model_param_slab_size(m);
    int c = 0;
    nl_model_forward(m, bb->x, b, 1);
    double v[2] = {(double)batch_loss(m, bb, b, 1, &c) * b, (double)c};
    const float w = (float)b / (float)global_b;
    for (size_t i = 0; i < n; i++) g[i] *= w;
    nl_status st = dist->sum_floats(dist->user, g, n, err);
    if (!st) st = dist->sum_doubles(dist->user, v, 2, err);
    if (st) return st;
    *loss_sum = v[0];
    *correct = (int)v[1];
    nl_optim_step_lr(opt, lr, nl_model_params(m), g);
    return NL_OK;
}

/* A JSON number with six decimals, or null when v is not finite (JSON has no NaN). */
static void json_number(char *buf, size_t size, double v) {
    if (isfinite(v))
        snprintf(buf, size, "%.6f", v);
    else
        snprintf(buf, size, "null");
}

static nl_status train_run(nl_model *m, nl_optimizer *opt, const nl_dataset *train,
                           const nl_dataset *test, const nl_train_config *cfg,
                           const nl_train_hooks *hooks, nl_epoch_stats *stats, nl_error *err) {
    static const nl_train_hooks no_hooks = {0};
    if (!hooks) hooks = &no_hooks;
    if (cfg->epochs <= 0 || cfg->batch <= 0)
        return nl_error_set(err, NL_EINVAL, "epochs (%d) and batch (%d) must be positive",
                            cfg->epochs, cfg->batch);
    nl_status st = nl_schedule_check(&cfg->schedule, err);
    if (st) return st;
    if ((st = nl_check_dataset(m, train, "training set", err))) return st;
    if (test && (st = nl_check_dataset(m, test, "test set", err))) return st;
    if (opt->n != nl_model_param_slab_size(m))
        return nl_error_set(err, NL_EINVAL, "optimizer has %zu parameters, the model %zu", opt->n,
                            nl_model_param_slab_size(m));
    const size_t n = train->n;
    const int B = cfg->batch;
    const int steps = (int)((n + (size_t)B - 1) / (size_t)B);
    const int start = cfg->resume ? cfg->resume->epoch : 0;
    if (cfg->resume && (st = check_resume(cfg->resume, cfg, n, steps, opt, err))) return st;
    const int eval_batch = cfg->eval_batch > 0          ? cfg->eval_batch
                           : cfg->batch > NL_EVAL_BATCH ? cfg->batch
                                                        : NL_EVAL_BATCH;
    const int max_batch = cfg->batch > eval_batch ? cfg->batch : eval_batch;
    if ((st = nl_model_set_max_batch(m, max_batch, err))) return st;
    const nl_train_dist *dist = dist_of(cfg);
    const size_t last = n % (size_t)B ? n % (size_t)B : (size_t)B; /* the last batch */
    if (dist && last < (size_t)dist->size)
        return nl_error_set(err, NL_EINVAL,
                            "%d processes and a batch of %zu samples (%s): every process needs "
                            "at least one sample of every batch",
                            dist->size, last,
                            last < (size_t)B ? "the last batch of the epoch" : "--batch");
    float *state = nl_model_state(m);
    const size_t nstate = nl_model_num_state(m);
    if (dist &&
        ((st = dist->broadcast(dist->user, nl_model_params(m), nl_model_param_slab_size(m), err)) ||
         (nstate && (st = dist->broadcast(dist->user, state, nstate, err)))))
        return st;

    uint32_t *perm = malloc(n * sizeof *perm);
    batch_buf bb;
    if (!perm || !batch_alloc(&bb, m, train, B)) {
        free(perm);
        return nl_error_set(err, NL_ENOMEM, "out of memory for the training buffers");
    }
    const int mse = bb.y != NULL;
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    nl_rng rng;
    shuffle_rng_seed(&rng, cfg->seed);
    /* a resume replays the shuffles of the epochs done: each epoch reshuffles
     * the previous epoch's order */
    if (cfg->shuffle)
        for (int e = 0; e < start; e++) nl_shuffle_u32(perm, n, &rng);
    const uint64_t total_steps = (uint64_t)cfg->epochs * (uint64_t)steps;
    uint64_t global_step = opt->t;
    char meta[256];

    for (int e = start + 1; e <= cfg->epochs && st == NL_OK; e++) {
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
            size_t lo, hi; /* this rank's slice of the batch (all of it in one process) */
            dist_slice(dist, (size_t)b, &lo, &hi);
            batch_gather(train, perm + seen + lo, (int)(hi - lo), &bb);
            if (seen + (size_t)b < n) {
                size_t left = n - seen - (size_t)b, nlo, nhi;
                dist_slice(dist, left < (size_t)B ? left : (size_t)B, &nlo, &nhi);
                nl_batch_prefetch(train, perm + seen + b + nlo, (int)(nhi - nlo));
            }
            const float lr =
                nl_schedule_lr(&cfg->schedule, opt->cfg.lr, opt->t, (uint64_t)steps, total_steps);
            nl_model_set_step(m, global_step++, cfg->seed);
            nl_model_set_sample_offset(m, lo);
            /* DDP's buffers: every rank normalises with rank 0's running statistics */
            if (dist && nstate && (st = dist->broadcast(dist->user, state, nstate, err))) break;
            int c = 0;
            double lsum = 0.0;
            if ((st = train_step(m, opt, &bb, (int)(hi - lo), b, lr, dist, &lsum, &c, err))) break;
            const float l = (float)(lsum / b);
            loss_sum += lsum;
            right += (size_t)c;
            seen += (size_t)b;
            if (hooks->step_end) hooks->step_end(hooks->user, opt->t, l);
            if (hooks->step)
                hooks->step(hooks->user, e, s + 1, steps, seen, loss_sum / (double)seen,
                            mse ? NAN : (double)right / (double)seen, nl_now() - t0);
        }
        if (st) break;
        nl_epoch_stats es = {.epoch = e, .samples = seen};
        es.train_seconds = nl_now() - t0;
        es.loss = loss_sum / (double)seen;
        es.accuracy = mse ? NAN : (double)right / (double)seen;
        char acc[32];
        json_number(acc, sizeof acc, es.accuracy);
        snprintf(meta, sizeof meta,
                 "{\"epoch_num\": %d, \"samples\": %zu, \"loss\": %.6f, \"accuracy\": %s}", e, seen,
                 es.loss, acc);
        nl_event(cfg->events, "INTERVAL_END", "epoch_stop", NULL, meta);
        if (test) {
            snprintf(meta, sizeof meta, "{\"epoch_num\": %d}", e);
            nl_event(cfg->events, "INTERVAL_START", "eval_start", NULL, meta);
            const double t1 = nl_now();
            st = evaluate(m, test, eval_batch, &es.test_accuracy, &es.test_loss, dist, err);
            if (st) break;
            es.eval_seconds = nl_now() - t1;
            nl_event(cfg->events, "INTERVAL_END", "eval_stop", NULL, meta);
            char val[64];
            json_number(val, sizeof val, mse ? es.test_loss : es.test_accuracy);
            nl_event(cfg->events, "POINT_IN_TIME", mse ? "eval_loss" : "eval_accuracy", val, meta);
        }
        snprintf(meta, sizeof meta, "{\"first_epoch_num\": %d, \"epoch_count\": 1}", e);
        nl_event(cfg->events, "INTERVAL_END", "block_stop", NULL, meta);
        if (stats) stats[e - 1] = es;
        if (hooks->epoch_end) hooks->epoch_end(hooks->user, &es);
        if (hooks->epoch_state) {
            nl_train_state ts = {.epoch = e,
                                 .epochs = cfg->epochs,
                                 .batch = B,
                                 .shuffle = cfg->shuffle,
                                 .seed = cfg->seed,
                                 .samples = n,
                                 .schedule = cfg->schedule};
            memcpy(ts.rng, rng.s, sizeof ts.rng);
            hooks->epoch_state(hooks->user, &ts);
        }
    }
    free(perm);
    batch_free(&bb);
    return st;
}

/* Both run with denormals flushed to zero (core/fpmode.h: why), and give the
 * caller's threads their floating-point mode back. */
nl_status nl_evaluate(nl_model *m, const nl_dataset *d, int batch, double *accuracy, double *loss,
                      nl_error *err) {
    nl_fpmode fp;
    nl_fpmode_flush(&fp);
    nl_status st = evaluate(m, d, batch, accuracy, loss, NULL, err);
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

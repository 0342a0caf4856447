/* The training loop's options for step-by-step comparisons: shuffling off
 * (batches in dataset order), the step_end hook (every step's own loss and the
 * optimizer's step), nl_model_set_dropout; the learning-rate schedule applied
 * per step; mse training on float targets; resume from a checkpoint, bit for
 * bit the uninterrupted run. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "nnlab/core.h"
#include "nnlab/train.h"
#include "testutil.h"

#define N_SAMPLES       100
#define BATCH           8
#define STEPS_PER_EPOCH ((N_SAMPLES + BATCH - 1) / BATCH) /* the last batch has 4 */
#define EPOCHS          2

/* 10 classes: class k lights pixel block k. */
static void synth(nl_dataset *d, size_t n, uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->n = n, d->h = 6, d->w = 5, d->c = 1, d->num_classes = 10;
    d->images = malloc(n * 30);
    d->labels = malloc(n);
    nl_rng r;
    nl_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int k = (int)nl_rng_below(&r, 10);
        d->labels[i] = (uint8_t)k;
        for (int p = 0; p < 30; p++)
            d->images[i * 30 + p] =
                (uint8_t)(p / 3 == k ? 200 + nl_rng_below(&r, 55) : nl_rng_below(&r, 90));
    }
}

static nl_model *small_model(void) {
    nl_model *m = nl_model_new(6, 5, 1);
    nl_model_dense(m, 16, NL_ACT_RELU);
    nl_model_dropout(m, 0.5f);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    return m;
}

typedef struct steps_seen {
    int calls;
    uint64_t step[EPOCHS * STEPS_PER_EPOCH];
    float loss[EPOCHS * STEPS_PER_EPOCH];
} steps_seen;

static void on_step_end(void *user, uint64_t step, float loss) {
    steps_seen *s = user;
    if (s->calls < EPOCHS * STEPS_PER_EPOCH) {
        s->step[s->calls] = step;
        s->loss[s->calls] = loss;
    }
    s->calls++;
}

/* Trains a fresh small model (init seed 5, dropout 0) with cfg seed and shuffle. */
static void run(const nl_dataset *tr, uint64_t seed, int shuffle, steps_seen *seen,
                nl_epoch_stats st[EPOCHS]) {
    nl_error err = {0};
    nl_model *m = small_model();
    CHECK(nl_model_set_dropout(m, 0.0f, &err) == NL_OK);
    CHECK(nl_model_compile(m, BATCH, &err) == NL_OK);
    nl_model_init(m, 5);
    nl_optim_config oc = nl_optim_defaults(NL_OPT_ADAM);
    nl_optimizer o;
    CHECK(nl_optim_init(&o, &oc, nl_model_param_slab_size(m), &err) == NL_OK);
    nl_train_config tc = nl_train_defaults();
    tc.epochs = EPOCHS, tc.batch = BATCH, tc.seed = seed, tc.shuffle = shuffle;
    nl_train_hooks hooks = {.user = seen, .step_end = on_step_end};
    CHECK_MSG(nl_train(m, &o, tr, NULL, &tc, &hooks, st, &err) == NL_OK, "%s", err.msg);
    nl_optim_free(&o);
    nl_model_free(m);
}

static void test_step_end_and_order(void) {
    nl_dataset tr;
    synth(&tr, N_SAMPLES, 11);
    steps_seen a = {0}, b = {0}, c = {0};
    nl_epoch_stats sa[EPOCHS], sb[EPOCHS], sc[EPOCHS];
    run(&tr, 1, 0, &a, sa);
    run(&tr, 2, 0, &b, sb);
    run(&tr, 2, 1, &c, sc);

    /* every step once, numbered by the optimizer across epochs */
    CHECK(a.calls == EPOCHS * STEPS_PER_EPOCH);
    int in_order = 1;
    for (int i = 0; i < a.calls && i < EPOCHS * STEPS_PER_EPOCH; i++)
        in_order &= a.step[i] == (uint64_t)(i + 1);
    CHECK(in_order);

    /* the epoch's mean loss is the batch-weighted mean of its steps' losses */
    for (int e = 0; e < EPOCHS; e++) {
        double sum = 0;
        for (int s = 0; s < STEPS_PER_EPOCH; s++) {
            int b_ = s < STEPS_PER_EPOCH - 1 ? BATCH : N_SAMPLES - BATCH * (STEPS_PER_EPOCH - 1);
            sum += (double)a.loss[e * STEPS_PER_EPOCH + s] * b_;
        }
        CHECK_NEAR(sum / N_SAMPLES, sa[e].loss, 1e-12);
    }

    /* without shuffling the seed changes nothing (dropout is off); with it, it does */
    CHECK(memcmp(a.loss, b.loss, sizeof a.loss) == 0);
    CHECK(memcmp(b.loss, c.loss, sizeof b.loss) != 0);

    /* without shuffling the first step is the first BATCH samples in dataset order */
    nl_error err = {0};
    nl_model *m = small_model();
    CHECK(nl_model_set_dropout(m, 0.0f, &err) == NL_OK);
    CHECK(nl_model_compile(m, BATCH, &err) == NL_OK);
    nl_model_init(m, 5);
    float x[BATCH * 30];
    uint8_t lab[BATCH];
    uint32_t idx[BATCH];
    for (int i = 0; i < BATCH; i++) idx[i] = (uint32_t)i;
    nl_batch_gather(&tr, idx, BATCH, x, lab);
    nl_model_forward(m, x, BATCH, 1);
    int correct = 0;
    float l0 = nl_model_loss_backward(m, lab, BATCH, 0, &correct);
    CHECK_MSG(l0 == a.loss[0], "%.9g vs %.9g", (double)l0, (double)a.loss[0]);
    nl_model_free(m);
    nl_dataset_free(&tr);
}

static void test_set_dropout(void) {
    nl_error err = {0};
    nl_model *m = small_model();
    CHECK(nl_model_set_dropout(m, 1.0f, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "[0, 1)");
    CHECK(nl_model_set_dropout(m, -0.1f, &err) == NL_EINVAL);
    CHECK(nl_model_layer_spec(m, 1)->rate == 0.5f); /* unchanged by the failures */
    CHECK(nl_model_set_dropout(m, 0.25f, &err) == NL_OK);
    CHECK(nl_model_layer_spec(m, 1)->rate == 0.25f);
    CHECK(nl_model_set_dropout(m, 0.0f, &err) == NL_OK);
    CHECK(nl_model_compile(m, 4, &err) == NL_OK);
    CHECK(nl_model_set_dropout(m, 0.5f, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "compiled");
    CHECK(nl_model_layer_spec(m, 1)->rate == 0.0f);

    /* rate 0: training and evaluation forward passes are the same */
    nl_model_init(m, 3);
    float x[4 * 30], y[4 * 10];
    for (int i = 0; i < 4 * 30; i++) x[i] = (float)(i % 7) / 7.0f;
    nl_model_set_step(m, 9, 1);
    memcpy(y, nl_model_forward(m, x, 4, 1), sizeof y);
    CHECK(memcmp(y, nl_model_forward(m, x, 4, 0), sizeof y) == 0);
    nl_model_free(m);
}

/* The loop's step s runs at nl_schedule_lr(s, steps a epoch, epochs x steps):
 * a hand-written loop with the same batches gives the same parameters. */
static void test_schedule_in_loop(void) {
    nl_dataset tr;
    synth(&tr, N_SAMPLES, 3);
    const nl_schedule schedules[] = {{.kind = NL_SCHED_COSINE, .warmup = 5},
                                     {.kind = NL_SCHED_STEP, .step_size = 1, .gamma = 0.5f}};
    for (int k = 0; k < 2; k++) {
        nl_error err = {0};
        nl_model *a = small_model(), *b = small_model();
        CHECK(nl_model_set_dropout(a, 0.0f, &err) == NL_OK &&
              nl_model_set_dropout(b, 0.0f, &err) == NL_OK);
        CHECK(nl_model_compile(a, BATCH, &err) == NL_OK &&
              nl_model_compile(b, BATCH, &err) == NL_OK);
        nl_model_init(a, 5), nl_model_init(b, 5);
        nl_optim_config oc = nl_optim_defaults(NL_OPT_SGD);
        oc.lr = 0.2f, oc.momentum = 0.5f;
        nl_optimizer oa, ob;
        CHECK(nl_optim_init(&oa, &oc, nl_model_param_slab_size(a), &err) == NL_OK);
        CHECK(nl_optim_init(&ob, &oc, nl_model_param_slab_size(b), &err) == NL_OK);
        nl_train_config tc = nl_train_defaults();
        tc.epochs = EPOCHS, tc.batch = BATCH, tc.shuffle = 0, tc.schedule = schedules[k];
        CHECK_MSG(nl_train(a, &oa, &tr, NULL, &tc, NULL, NULL, &err) == NL_OK, "%s", err.msg);
        /* by hand: batches in order, the rate of each step from the formula */
        float x[BATCH * 30];
        uint8_t lab[BATCH];
        uint32_t idx[BATCH];
        uint64_t s = 0;
        const uint64_t T = (uint64_t)EPOCHS * STEPS_PER_EPOCH;
        for (int e = 0; e < EPOCHS; e++)
            for (int i = 0; i < N_SAMPLES; i += BATCH, s++) {
                const int n = N_SAMPLES - i < BATCH ? N_SAMPLES - i : BATCH;
                for (int j = 0; j < n; j++) idx[j] = (uint32_t)(i + j);
                nl_batch_gather(&tr, idx, n, x, lab);
                nl_model_set_step(b, s, 0);
                nl_model_forward(b, x, n, 1);
                int c;
                nl_model_loss_backward(b, lab, n, 1, &c);
                nl_optim_step_lr(&ob, nl_schedule_lr(&schedules[k], oc.lr, s, STEPS_PER_EPOCH, T),
                                 nl_model_params(b), nl_model_grads(b));
            }
        CHECK_MSG(!memcmp(nl_model_params(a), nl_model_params(b),
                          nl_model_param_slab_size(a) * sizeof(float)),
                  "schedule %s: the loop's parameters differ from the hand-written loop's",
                  nl_schedule_name(schedules[k].kind));
        CHECK(oa.cfg.lr == oc.lr); /* the base rate is kept */
        /* a bad schedule is refused before anything is trained */
        tc.schedule.warmup = -3;
        CHECK(nl_train(a, &oa, &tr, NULL, &tc, NULL, NULL, &err) == NL_EINVAL);
        CHECK_CONTAINS(err.msg, "warmup");
        nl_optim_free(&oa), nl_optim_free(&ob);
        nl_model_free(a), nl_model_free(b);
    }
    nl_dataset_free(&tr);
}

/* A synthetic regression: y = A x + c with 4 features and 2 targets. */
static void synth_regression(nl_dataset *d, size_t n, uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->n = n, d->h = 1, d->w = 1, d->c = 4, d->targets = 2;
    d->x = malloc(n * 4 * sizeof(float));
    d->y = malloc(n * 2 * sizeof(float));
    nl_rng r;
    nl_rng_seed(&r, seed);
    static const float A[2][4] = {{0.5f, -1.0f, 0.25f, 2.0f}, {-0.75f, 0.5f, 1.5f, 0.0f}};
    static const float c[2] = {0.3f, -0.2f};
    for (size_t i = 0; i < n; i++) {
        float *x = d->x + i * 4, *y = d->y + i * 2;
        for (int k = 0; k < 4; k++) x[k] = nl_rng_uniform(&r) * 2.0f - 1.0f;
        for (int t = 0; t < 2; t++) {
            y[t] = c[t];
            for (int k = 0; k < 4; k++) y[t] += A[t][k] * x[k];
        }
    }
}

static nl_model *regression_model(void) {
    nl_model *m = nl_model_new(1, 1, 4);
    nl_model_dense(m, 16, NL_ACT_RELU);
    nl_model_dense(m, 2, NL_ACT_NONE);
    nl_model_set_loss(m, NL_LOSS_MSE);
    return m;
}

static void test_mse_training(void) {
    nl_error err = {0};
    nl_dataset tr, te;
    synth_regression(&tr, 512, 1);
    synth_regression(&te, 128, 2);
    nl_model *m = regression_model();
    CHECK_MSG(nl_model_compile(m, 32, &err) == NL_OK, "%s", err.msg);
    nl_model_init(m, 4);
    nl_optim_config oc = nl_optim_defaults(NL_OPT_ADAM);
    oc.lr = 0.01f;
    nl_optimizer o;
    CHECK(nl_optim_init(&o, &oc, nl_model_param_slab_size(m), &err) == NL_OK);
    double before = 0;
    CHECK(nl_evaluate(m, &te, 64, NULL, &before, &err) == NL_OK);
    enum { E = 20 };
    nl_epoch_stats st[E];
    nl_train_config tc = nl_train_defaults();
    tc.epochs = E, tc.batch = 32, tc.seed = 3;
    CHECK_MSG(nl_train(m, &o, &tr, &te, &tc, NULL, st, &err) == NL_OK, "%s", err.msg);
    printf("mse: test loss %.5f before, %.5f after %d epochs (train %.5f -> %.5f)\n", before,
           st[E - 1].test_loss, E, st[0].loss, st[E - 1].loss);
    CHECK(st[E - 1].loss < st[0].loss / 10);
    CHECK(st[E - 1].test_loss < before / 20);
    CHECK(isnan(st[0].accuracy) && isnan(st[E - 1].test_accuracy));
    /* nl_evaluate: the mean squared error over samples and outputs, by hand */
    double acc = 0, loss = 0;
    CHECK(nl_evaluate(m, &te, 50, &acc, &loss, &err) == NL_OK);
    CHECK(isnan(acc));
    CHECK_NEAR(loss, st[E - 1].test_loss, 1e-6);
    double sum = 0;
    for (size_t i = 0; i < te.n; i++) {
        const float *y = nl_model_forward(m, te.x + i * 4, 1, 0);
        for (int t = 0; t < 2; t++) {
            const double e = (double)y[t] - (double)te.y[i * 2 + t];
            sum += e * e;
        }
    }
    CHECK_NEAR(loss, sum / (double)(te.n * 2), 1e-6);

    /* datasets that do not fit the loss */
    nl_dataset lab;
    synth(&lab, 10, 1);
    lab.h = 1, lab.w = 1, lab.c = 4; /* the shape fits, the targets do not */
    CHECK(nl_check_dataset(m, &lab, "mine", &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "mine has class labels");
    CHECK_CONTAINS(err.msg, "mse");
    te.targets = 3;
    CHECK(nl_check_dataset(m, &te, "test set", &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "3 targets per sample but the model outputs 2");
    te.targets = 2;
    nl_model *ce = nl_model_new(1, 1, 4);
    nl_model_dense(ce, 3, NL_ACT_SOFTMAX);
    CHECK(nl_model_compile(ce, 4, &err) == NL_OK);
    CHECK(nl_check_dataset(ce, &te, "test set", &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "crossentropy, which needs class labels");
    float *keep = te.x;
    te.x = NULL;
    CHECK(nl_check_dataset(m, &te, "test set", &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "neither images nor x");
    te.x = keep;
    nl_model_free(ce);
    lab.h = 6, lab.w = 5, lab.c = 1;
    nl_dataset_free(&lab);
    nl_optim_free(&o);
    nl_model_free(m);
    nl_dataset_free(&tr);
    nl_dataset_free(&te);
}

typedef struct run_out {
    float *params;
    nl_optimizer opt;
    nl_epoch_stats st[3];
} run_out;

typedef struct saver {
    nl_train_state last;
    int save_at; /* save a checkpoint after this epoch (0: none) */
    const char *path;
    const nl_model *m;
    const nl_optimizer *o;
    nl_status st;
} saver;

static void on_state(void *user, const nl_train_state *s) {
    saver *sv = user;
    sv->last = *s;
    nl_error err = {0};
    if (s->epoch == sv->save_at)
        sv->st = nl_model_save_checkpoint(sv->path, sv->m, "small", sv->o, s, &err);
}

/* Trains small_model (dropout on, shuffled, with a test set) for `epochs`
 * epochs with schedule sch from scratch (from NULL) or from the checkpoint
 * file `from`; saves a checkpoint to `save` after epoch save_at. */
static nl_status resume_run(const nl_dataset *tr, const nl_dataset *te, int epochs, nl_schedule sch,
                            const char *from, const char *save, int save_at, run_out *out,
                            nl_error *err) {
    nl_model *m = NULL;
    nl_optimizer o = {0};
    nl_train_state rs;
    int has = 0;
    memset(out, 0, sizeof *out);
    if (from) {
        nl_status st = nl_model_load_checkpoint(from, BATCH, &m, &o, NULL, 0, &rs, &has, err);
        if (st) return st;
        CHECK(has == 1);
    } else {
        m = small_model();
        CHECK(nl_model_compile(m, BATCH, err) == NL_OK);
        nl_model_init(m, 5);
        nl_optim_config oc = nl_optim_defaults(NL_OPT_ADAMW);
        CHECK(nl_optim_init(&o, &oc, nl_model_param_slab_size(m), err) == NL_OK);
    }
    nl_train_config tc = nl_train_defaults();
    tc.epochs = epochs, tc.batch = BATCH, tc.seed = 21;
    tc.schedule = sch;
    tc.resume = from ? &rs : NULL;
    saver sv = {.save_at = save_at, .path = save, .m = m, .o = &o};
    nl_train_hooks hooks = {.user = &sv, .epoch_state = on_state};
    nl_status st = nl_train(m, &o, tr, te, &tc, &hooks, out->st, err);
    if (st == NL_OK) {
        nl_train_state at;
        nl_train_state_at(&tc, tr->n, epochs, &at);
        CHECK(!memcmp(&at, &sv.last, sizeof at) && sv.last.epoch == epochs);
        CHECK(sv.st == NL_OK);
        out->params = malloc(nl_model_param_slab_size(m) * sizeof(float));
        memcpy(out->params, nl_model_params(m), nl_model_param_slab_size(m) * sizeof(float));
        out->opt = o;
    } else {
        nl_optim_free(&o);
    }
    nl_model_free(m);
    return st;
}

static void check_same(const run_out *a, const run_out *b, const char *what) {
    const size_t P = a->opt.n;
    CHECK(b->params && b->opt.n == P);
    if (!b->params) return;
    CHECK_MSG(!memcmp(a->params, b->params, P * sizeof(float)),
              "%s: resumed parameters differ from the uninterrupted run's", what);
    CHECK_MSG(!memcmp(a->opt.m, b->opt.m, P * 4) && !memcmp(a->opt.v, b->opt.v, P * 4), "%s", what);
    CHECK(a->opt.t == b->opt.t && a->opt.t == 3 * STEPS_PER_EPOCH);
    CHECK_MSG(a->st[2].loss == b->st[2].loss, "%s: %.17g vs %.17g", what, a->st[2].loss,
              b->st[2].loss);
    CHECK(a->st[2].test_loss == b->st[2].test_loss);
    CHECK(a->st[2].test_accuracy == b->st[2].test_accuracy);
    CHECK(b->st[0].epoch == 0 && b->st[2].epoch == 3); /* only epoch 3 was trained */
}

/* 3 epochs in one run equal 2 epochs, a checkpoint file, and 1 more epoch
 * resumed from it: parameters, optimizer state and losses, bit for bit. */
static void test_resume(void) {
    nl_error err = {0};
    nl_dataset tr, te;
    synth(&tr, N_SAMPLES, 8);
    synth(&te, 40, 9);
    /* a schedule that does not depend on the total: a 2-epoch run, resumed
     * with 3 epochs in total (as Keras's initial_epoch) */
    const nl_schedule step = {.kind = NL_SCHED_STEP, .warmup = 7, .step_size = 1, .gamma = 0.5f};
    run_out full, first, rest;
    CHECK_MSG(resume_run(&tr, &te, 3, step, NULL, NULL, 0, &full, &err) == NL_OK, "%s", err.msg);
    CHECK_MSG(resume_run(&tr, &te, 2, step, NULL, tu_path("ck2.nnlab"), 2, &first, &err) == NL_OK,
              "%s", err.msg);
    CHECK_MSG(resume_run(&tr, &te, 3, step, tu_path("ck2.nnlab"), NULL, 0, &rest, &err) == NL_OK,
              "%s", err.msg);
    check_same(&full, &rest, "step schedule");
    CHECK(full.st[1].loss == first.st[1].loss);
    /* and the 2-epoch run is not the 3-epoch one */
    CHECK(memcmp(full.params, first.params, full.opt.n * sizeof(float)) != 0);
    /* cosine depends on the total: a 3-epoch run's checkpoint after epoch 2
     * (what --save-every-epoch keeps), resumed */
    const nl_schedule cosine = {.kind = NL_SCHED_COSINE, .warmup = 7};
    run_out cfull, crest;
    CHECK_MSG(resume_run(&tr, &te, 3, cosine, NULL, tu_path("ckc.nnlab"), 2, &cfull, &err) == NL_OK,
              "%s", err.msg);
    CHECK_MSG(resume_run(&tr, &te, 3, cosine, tu_path("ckc.nnlab"), NULL, 0, &crest, &err) == NL_OK,
              "%s", err.msg);
    check_same(&cfull, &crest, "cosine schedule");
    CHECK(memcmp(full.params, cfull.params, full.opt.n * sizeof(float)) != 0);

    /* a checkpoint that is not of this run: named, nothing trained */
    nl_dataset small = tr;
    small.n = N_SAMPLES - 1;
    run_out bad;
    CHECK(resume_run(&small, &te, 3, step, tu_path("ck2.nnlab"), NULL, 0, &bad, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "trained on 100 samples an epoch, this training set has 99");
    CHECK(resume_run(&tr, &te, 2, step, tu_path("ck2.nnlab"), NULL, 0, &bad, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "nothing left to train");
    nl_model *m = NULL;
    nl_optimizer o;
    nl_train_state rs;
    int has = 0;
    CHECK(nl_model_load_checkpoint(tu_path("ck2.nnlab"), BATCH, &m, &o, NULL, 0, &rs, &has, &err) ==
          NL_OK);
    CHECK(has && rs.epoch == 2 && rs.epochs == 2 && rs.seed == 21 && rs.batch == BATCH &&
          rs.samples == N_SAMPLES && rs.schedule.kind == NL_SCHED_STEP && rs.schedule.warmup == 7 &&
          rs.schedule.gamma == 0.5f);
    nl_train_config tc = nl_train_defaults();
    tc.epochs = 3, tc.batch = BATCH, tc.seed = 22, tc.resume = &rs;
    tc.schedule = rs.schedule;
    CHECK(nl_train(m, &o, &tr, NULL, &tc, NULL, NULL, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "seed is 21, this run's 22");
    tc.seed = 21, tc.schedule.warmup = 0;
    CHECK(nl_train(m, &o, &tr, NULL, &tc, NULL, NULL, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "schedule is step (warmup 7");
    tc.schedule = rs.schedule, tc.shuffle = 0;
    CHECK(nl_train(m, &o, &tr, NULL, &tc, NULL, NULL, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "shuffled");
    tc.shuffle = 1;
    rs.rng[1] ^= 1;
    CHECK(nl_train(m, &o, &tr, NULL, &tc, NULL, NULL, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "shuffle RNG position");
    rs.rng[1] ^= 1;
    o.t--;
    CHECK(nl_train(m, &o, &tr, NULL, &tc, NULL, NULL, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "taken 25 steps, 2 epochs of 13 steps are 26");
    nl_optim_free(&o);
    nl_model_free(m);
    /* a file saved without a training state says so */
    run_out plain;
    CHECK(resume_run(&tr, &te, 1, step, NULL, NULL, 0, &plain, &err) == NL_OK);
    m = small_model();
    CHECK(nl_model_compile(m, BATCH, &err) == NL_OK);
    CHECK(nl_model_save(tu_path("plain.nnlab"), m, "small", &plain.opt, &err) == NL_OK);
    nl_model_free(m);
    has = 1;
    CHECK(nl_model_load_checkpoint(tu_path("plain.nnlab"), BATCH, &m, NULL, NULL, 0, &rs, &has,
                                   &err) == NL_OK);
    CHECK(has == 0 && rs.epoch == 0);
    nl_model_free(m);

    run_out *all[] = {&full, &first, &rest, &cfull, &crest, &plain};
    for (int i = 0; i < 6; i++) free(all[i]->params), nl_optim_free(&all[i]->opt);
    nl_dataset_free(&tr);
    nl_dataset_free(&te);
}

int main(void) {
    tu_tmpdir();
    test_step_end_and_order();
    test_set_dropout();
    test_schedule_in_loop();
    test_mse_training();
    test_resume();
    tu_cleanup();
    CHECK_DONE();
}

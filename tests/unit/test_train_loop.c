/* The training loop's options for step-by-step comparisons: shuffling off
 * (batches in dataset order), the step_end hook (every step's own loss and the
 * optimizer's step), nl_model_set_dropout. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "nnlab/core.h"
#include "nnlab/train.h"

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

int main(void) {
    test_step_end_and_order();
    test_set_dropout();
    CHECK_DONE();
}

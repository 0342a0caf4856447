/* The training loop's data-parallel hooks (nl_train_dist, nl_model_set_bn_sync)
 * without MPI: two threads are two ranks, the hooks a barrier and a sum in
 * rank order over shared buffers (what src/dist does over MPI). Two ranks
 * train as one process with the same global batch (per-step losses within
 * 1e-5 relative, dropout included; batch norm with the synchronised sums),
 * hold the same parameters, repeat bit for bit; a one-rank dist is the
 * one-process run exactly; a batch that leaves a rank without a sample is
 * refused. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "nnlab/core.h"
#include "nnlab/train.h"

#define NSAMP  100
#define BATCH  8
#define STEPS  ((NSAMP + BATCH - 1) / BATCH) /* the last batch has 4 */
#define EPOCHS 2
#define RANKS  2

static void synth(nl_dataset *d, size_t n, uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->n = n, d->h = 6, d->w = 6, d->c = 1, d->num_classes = 10;
    d->images = malloc(n * 36);
    d->labels = malloc(n);
    nl_rng r;
    nl_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int k = (int)nl_rng_below(&r, 10);
        d->labels[i] = (uint8_t)k;
        for (int p = 0; p < 36; p++)
            d->images[i * 36 + p] =
                (uint8_t)(p / 3 == k ? 200 + nl_rng_below(&r, 55) : nl_rng_below(&r, 90));
    }
}

/* 0: dense + dropout; 1: conv -> batch norm -> max pool (one fused step) ->
 * dense; 2: conv -> max pool -> batch norm (the plain layer) -> dense */
static nl_model *model(int kind) {
    nl_model *m = nl_model_new(6, 6, 1);
    if (kind == 0) {
        nl_model_dense(m, 16, NL_ACT_RELU);
        nl_model_dropout(m, 0.5f);
    } else {
        nl_model_conv2d(m, 16, 3, 1, NL_PAD_SAME, NL_ACT_RELU);
        if (kind == 1) nl_model_batchnorm(m, 1e-3f, 0.1f);
        nl_model_maxpool2d(m, 2, 2);
        nl_model_flatten(m);
        if (kind == 2) nl_model_batchnorm(m, 1e-3f, 0.1f);
    }
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    return m;
}

/* ---- two ranks in one process ---------------------------------------------- */
typedef struct world {
    pthread_barrier_t bar;
    const float *f[RANKS];
    const double *d[RANKS];
} world;

typedef struct rank_ctx {
    world *w;
    int rank;
    nl_train_dist dist;
} rank_ctx;

static nl_status sum_floats(void *user, float *v, size_t n, nl_error *err) {
    rank_ctx *r = user;
    float *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return nl_error_set(err, NL_ENOMEM, "sum_floats");
    r->w->f[r->rank] = v;
    pthread_barrier_wait(&r->w->bar);
    for (size_t k = 0; k < n; k++) tmp[k] = r->w->f[0][k];
    for (int j = 1; j < RANKS; j++)
        for (size_t k = 0; k < n; k++) tmp[k] += r->w->f[j][k];
    pthread_barrier_wait(&r->w->bar); /* every rank has read every v */
    memcpy(v, tmp, n * sizeof *v);
    free(tmp);
    return NL_OK;
}

static void sum_bn(void *user, double *v, size_t n) { /* RANKS ranks */
    rank_ctx *r = user;
    double *tmp = malloc(n * sizeof *tmp);
    if (!tmp) abort();
    r->w->d[r->rank] = v;
    pthread_barrier_wait(&r->w->bar);
    for (size_t k = 0; k < n; k++) {
        tmp[k] = r->w->d[0][k];
        for (int j = 1; j < RANKS; j++) tmp[k] += r->w->d[j][k];
    }
    pthread_barrier_wait(&r->w->bar);
    memcpy(v, tmp, n * sizeof *v);
    free(tmp);
}

static nl_status sum_doubles(void *user, double *v, size_t n, nl_error *err) {
    (void)err;
    sum_bn(user, v, n);
    return NL_OK;
}

static nl_status broadcast(void *user, float *v, size_t n, nl_error *err) {
    (void)err;
    rank_ctx *r = user;
    r->w->f[r->rank] = v;
    pthread_barrier_wait(&r->w->bar);
    if (r->rank) memcpy(v, r->w->f[0], n * sizeof *v);
    pthread_barrier_wait(&r->w->bar);
    return NL_OK;
}

/* ---- one run ---------------------------------------------------------------------- */
typedef struct run {
    int kind, sync_bn;
    size_t nsamp;
    const nl_dataset *tr, *te;
    rank_ctx *rc; /* NULL: one process */
    float loss[EPOCHS * STEPS];
    int steps;
    nl_epoch_stats st[EPOCHS];
    float *params; /* the trained parameters (malloc) */
    size_t nparams;
    nl_status status;
    char msg[1024];
} run;

static void on_step_end(void *user, uint64_t step, float loss) {
    run *r = user;
    if (r->steps < EPOCHS * STEPS) r->loss[r->steps] = loss;
    r->steps++;
    (void)step;
}

static void *train(void *arg) {
    run *r = arg;
    nl_error err = {0};
    nl_set_threads(1);
    nl_model *m = model(r->kind); /* no CHECK in a rank's thread: its status says it */
    if (nl_model_compile(m, BATCH, &err)) abort();
    /* rank 1 starts from other weights: the loop gives it rank 0's */
    nl_model_init(m, r->rc && r->rc->rank ? 99 : 5);
    if (r->rc && r->sync_bn) nl_model_set_bn_sync(m, sum_bn, r->rc);
    /* batch norm with SGD: a wrongly scaled gradient shows (Adam's step does
       not depend on the gradient's scale), and Adam's first steps (about lr x
       the sign of the gradient) would blow a gradient's rounding up to a step */
    nl_optim_config oc = nl_optim_defaults(r->kind ? NL_OPT_SGD : NL_OPT_ADAM);
    if (r->kind) oc.lr = 0.05f;
    nl_optimizer o;
    if (nl_optim_init(&o, &oc, nl_model_param_slab_size(m), &err)) abort();
    nl_train_config tc = nl_train_defaults();
    tc.epochs = EPOCHS, tc.batch = BATCH, tc.seed = 3;
    tc.dist = r->rc ? &r->rc->dist : NULL;
    nl_train_hooks hooks = {.user = r, .step_end = on_step_end};
    r->status = nl_train(m, &o, r->tr, r->te, &tc, &hooks, r->st, &err);
    snprintf(r->msg, sizeof r->msg, "%s", err.msg);
    r->nparams = nl_model_param_slab_size(m);
    r->params = malloc(r->nparams * sizeof(float));
    memcpy(r->params, nl_model_params(m), r->nparams * sizeof(float));
    nl_optim_free(&o);
    nl_model_free(m);
    return NULL;
}

/* r[0..RANKS) trained as the ranks of one job */
static void train_ranks(run r[RANKS]) {
    world w;
    pthread_barrier_init(&w.bar, NULL, RANKS);
    rank_ctx rc[RANKS];
    pthread_t t[RANKS];
    for (int i = 0; i < RANKS; i++) {
        rc[i] = (rank_ctx){.w = &w, .rank = i};
        rc[i].dist = (nl_train_dist){.rank = i,
                                     .size = RANKS,
                                     .user = &rc[i],
                                     .sum_floats = sum_floats,
                                     .sum_doubles = sum_doubles,
                                     .broadcast = broadcast};
        r[i].rc = &rc[i];
        pthread_create(&t[i], NULL, train, &r[i]);
    }
    for (int i = 0; i < RANKS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < RANKS; i++) r[i].rc = NULL;
    pthread_barrier_destroy(&w.bar);
}

static double max_rel(const float *a, const float *b, int n) {
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - (double)b[i]) / fabs((double)a[i]);
        if (!(d <= worst)) worst = d; /* NAN too */
    }
    return worst;
}

static void test_equivalence(int kind, int sync_bn) {
    nl_dataset tr, te;
    synth(&tr, NSAMP, 11);
    synth(&te, 37, 12);
    run one = {.kind = kind, .tr = &tr, .te = &te};
    train(&one);
    CHECK_MSG(one.status == NL_OK, "%s", one.msg);
    run r[RANKS], again[RANKS];
    for (int i = 0; i < RANKS; i++) {
        r[i] = (run){.kind = kind, .sync_bn = sync_bn, .tr = &tr, .te = &te};
        again[i] = r[i];
    }
    train_ranks(r);
    train_ranks(again);
    for (int i = 0; i < RANKS; i++) {
        CHECK_MSG(r[i].status == NL_OK, "rank %d: %s", i, r[i].msg);
        CHECK(r[i].steps == EPOCHS * STEPS);
        /* every rank holds the same parameters and the same global figures */
        CHECK(memcmp(r[i].params, r[0].params, r[0].nparams * sizeof(float)) == 0);
        CHECK(memcmp(r[i].loss, r[0].loss, sizeof r[0].loss) == 0);
        CHECK(r[i].st[EPOCHS - 1].samples == NSAMP);
        /* run after run, bit for bit */
        CHECK(memcmp(r[i].params, again[i].params, r[0].nparams * sizeof(float)) == 0);
        CHECK(memcmp(r[i].loss, again[i].loss, sizeof r[0].loss) == 0);
    }
    const double worst = max_rel(one.loss, r[0].loss, EPOCHS * STEPS);
    if (kind == 0 || sync_bn)
        CHECK_MSG(worst <= 1e-5, "kind %d sync %d: per-step losses differ by %g relative", kind,
                  sync_bn, worst);
    else /* per-rank statistics: another training */
        CHECK_MSG(worst > 1e-5, "per-rank batch norm matched one process (%g)", worst);
    for (int e = 0; e < EPOCHS && (kind == 0 || sync_bn); e++) {
        CHECK_NEAR(r[0].st[e].loss, one.st[e].loss, 1e-5 * one.st[e].loss);
        {
            /* the evaluation split across the ranks covers the whole test set */
            CHECK_NEAR(r[0].st[e].test_loss, one.st[e].test_loss, 1e-4 * one.st[e].test_loss);
            CHECK_NEAR(r[0].st[e].test_accuracy, one.st[e].test_accuracy, 1.5 / 37);
        }
    }
    free(one.params);
    for (int i = 0; i < RANKS; i++) free(r[i].params), free(again[i].params);
    nl_dataset_free(&tr);
    nl_dataset_free(&te);
}

/* A dist of one rank changes nothing; a batch without a sample for a rank is refused. */
static void test_one_rank_and_refusal(void) {
    nl_dataset tr;
    synth(&tr, NSAMP, 11);
    run a = {.kind = 0, .tr = &tr}, b = a;
    train(&a);
    world w;
    pthread_barrier_init(&w.bar, NULL, 1);
    rank_ctx rc = {.w = &w, .rank = 0};
    rc.dist = (nl_train_dist){.rank = 0,
                              .size = 1,
                              .user = &rc,
                              .sum_floats = sum_floats,
                              .sum_doubles = sum_doubles,
                              .broadcast = broadcast};
    b.rc = &rc;
    train(&b);
    CHECK(a.status == NL_OK && b.status == NL_OK);
    CHECK(memcmp(a.params, b.params, a.nparams * sizeof(float)) == 0);
    CHECK(memcmp(a.loss, b.loss, sizeof a.loss) == 0);
    free(a.params), free(b.params);
    pthread_barrier_destroy(&w.bar);

    nl_dataset_truncate(&tr, 97); /* the last batch has 1 sample */
    run r[RANKS];
    for (int i = 0; i < RANKS; i++) r[i] = (run){.kind = 0, .tr = &tr};
    train_ranks(r);
    for (int i = 0; i < RANKS; i++) {
        CHECK(r[i].status == NL_EINVAL);
        CHECK_CONTAINS(r[i].msg, "2 processes and a batch of 1 samples");
        free(r[i].params);
    }
    nl_dataset_free(&tr);
}

int main(void) {
    test_equivalence(0, 0);
    test_equivalence(1, 1);
    test_equivalence(2, 1);
    test_equivalence(1, 0);
    test_one_rank_and_refusal();
    CHECK_DONE();
}

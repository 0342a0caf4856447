/* The thread pool under nl_parallel_for (src/core/parallel.c): every chunk
 * exactly once with the boundaries n and grain give; a worker held back (the
 * test hook delays it before it claims anything) delays no loop, and when it
 * wakes late it leaves the loops that followed intact; reductions and whole
 * training runs (dense, conv2d, batchnorm, maxpool2d, dropout, the sparse
 * input path) give the same bits run after run for 1, 2 and 3 threads, and
 * with a held worker the same bits as without. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "nnlab/core.h"
#include "nnlab/train.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_us(long us) {
    const struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* ---- every chunk exactly once ---------------------------------------------------- */

#define MAX_ITEMS 5000

typedef struct once_job {
    size_t n, grain;
    _Atomic int chunk_runs[MAX_ITEMS];
    _Atomic int item_runs[MAX_ITEMS];
    _Atomic int bad_bounds;
    long work_us;
} once_job;

static void once_chunk(void *ctx, size_t lo, size_t hi, size_t k) {
    once_job *j = ctx;
    const size_t want_hi = (k + 1) * j->grain < j->n ? (k + 1) * j->grain : j->n;
    if (lo != k * j->grain || hi != want_hi || lo >= hi) atomic_fetch_add(&j->bad_bounds, 1);
    if (k < MAX_ITEMS) atomic_fetch_add(&j->chunk_runs[k], 1);
    for (size_t i = lo; i < hi && i < MAX_ITEMS; i++) atomic_fetch_add(&j->item_runs[i], 1);
    if (j->work_us) sleep_us(j->work_us);
}

static int run_once(once_job *j, size_t n, size_t grain, long work_us);

/* Loops of 64 chunks of 500 us until a worker ran some (a loaded machine may
 * start or wake one late): 1 when one did within 50 loops, each complete. */
static int workers_take_part(once_job *j) {
    for (int tries = 0; tries < 50; tries++) {
        const unsigned long w0 = nl_parallel_test_worker_chunks();
        if (!run_once(j, 64, 1, 500)) return 0;
        if (nl_parallel_test_worker_chunks() > w0) return 1;
    }
    return 0;
}

/* Runs one loop; 1 when every chunk and item ran once with the right bounds. */
static int run_once(once_job *j, size_t n, size_t grain, long work_us) {
    memset(j, 0, sizeof *j);
    j->n = n, j->grain = grain ? grain : 1, j->work_us = work_us;
    nl_parallel_for(n, grain, once_chunk, j);
    int ok = atomic_load(&j->bad_bounds) == 0;
    const size_t chunks = nl_parallel_chunks(n, grain);
    for (size_t k = 0; k < chunks; k++) ok &= atomic_load(&j->chunk_runs[k]) == 1;
    for (size_t k = chunks; k < MAX_ITEMS; k++) ok &= atomic_load(&j->chunk_runs[k]) == 0;
    for (size_t i = 0; i < n; i++) ok &= atomic_load(&j->item_runs[i]) == 1;
    return ok;
}

static void test_every_chunk_once(void) {
    static once_job j;
    static const size_t ns[] = {0, 1, 2, 3, 7, 16, 17, 63, 64, 65, 100, 1000, 4999};
    static const size_t grains[] = {0, 1, 2, 3, 5, 16, 64, 1000, 5000};
    for (int t = 1; t <= 4; t++) {
        CHECK(nl_set_threads(t) == t);
        CHECK(nl_get_threads() == t && nl_parallel_threads() == t);
        int bad = 0;
        for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
            for (size_t b = 0; b < sizeof grains / sizeof *grains; b++)
                for (int rep = 0; rep < 3; rep++)
                    if (!run_once(&j, ns[a], grains[b], 0)) {
                        if (bad++ < 5)
                            fprintf(stderr, "  %d threads: n %zu grain %zu: a chunk not once\n", t,
                                    ns[a], grains[b]);
                    }
        CHECK_MSG(bad == 0, "%d threads: %d loops ran a chunk not exactly once", t, bad);
        /* chunks long enough that the workers claim some */
        if (t > 1)
            CHECK_MSG(workers_take_part(&j), "%d threads: workers idle", t);
        else
            CHECK(run_once(&j, 64, 1, 500));
    }
    /* nested loops run inline, with the same chunks */
    CHECK(nl_set_threads(3) == 3);
    CHECK(!nl_parallel_in_loop());
}

/* A loop inside a chunk: its chunks run on the calling thread, all of them. */
static _Atomic int nested_bad;
static void inner_chunk(void *ctx, size_t lo, size_t hi, size_t k) {
    _Atomic int *runs = ctx;
    if (!nl_parallel_in_loop()) atomic_fetch_add(&nested_bad, 1);
    for (size_t i = lo; i < hi; i++) atomic_fetch_add(&runs[i], 1);
    (void)k;
}
static void outer_chunk(void *ctx, size_t lo, size_t hi, size_t k) {
    _Atomic int(*runs)[10] = ctx;
    for (size_t i = lo; i < hi; i++) nl_parallel_for(10, 3, inner_chunk, runs[i]);
    (void)k;
}
static void test_nested(void) {
    static _Atomic int runs[20][10];
    memset(runs, 0, sizeof runs);
    nl_parallel_for(20, 1, outer_chunk, runs);
    int ok = atomic_load(&nested_bad) == 0;
    for (int i = 0; i < 20; i++)
        for (int k = 0; k < 10; k++) ok &= atomic_load(&runs[i][k]) == 1;
    CHECK_MSG(ok, "nested loops: not every inner item once");
}

/* ---- a held-back worker ---------------------------------------------------------- */

static void test_held_worker(void) {
    static once_job a, b, c;
    for (int t = 2; t <= 3; t++) {
        CHECK(nl_set_threads(t) == t);
        CHECK(workers_take_part(&a)); /* the workers are started and waiting */
        nl_parallel_test_hold(1, 400);
        /* 8 chunks of 2 ms: without worker 1, at most 16 ms of work on the
           others; the loop must not wait the 400 ms worker 1 sleeps */
        double t0 = now();
        CHECK(run_once(&a, 8, 1, 2000));
        double dt = now() - t0;
        CHECK_MSG(dt < 0.250, "%d threads: a loop waited %.3f s for the held worker", t, dt);
        /* the next loop while worker 1 still sleeps: also complete */
        t0 = now();
        CHECK(run_once(&b, 100, 7, 0));
        CHECK_MSG(now() - t0 < 0.250, "%d threads: second loop waited for the held worker", t);
        /* a long loop (40 x 10 ms): worker 1 wakes during it, its loop long
           over, and may claim chunks of this one (with this loop's parameters) */
        CHECK(run_once(&c, 40, 1, 10000));
        /* the first loops' chunks were not run again by the late worker */
        int ok = 1;
        for (size_t k = 0; k < 8; k++) ok &= atomic_load(&a.chunk_runs[k]) == 1;
        for (size_t i = 0; i < 100; i++) ok &= atomic_load(&b.item_runs[i]) == 1;
        CHECK_MSG(ok, "%d threads: a late worker ran a chunk of a loop that had ended", t);
        nl_parallel_test_hold(1, 0);
        sleep_us(450000); /* let it finish its last hold */
        CHECK_MSG(workers_take_part(&a), "%d threads: workers idle after the hold", t);
    }
}

/* ---- reductions ------------------------------------------------------------------ */

#define RED_N 100003
static float red_x[RED_N];

static void red_chunk(void *ctx, size_t lo, size_t hi, size_t k) {
    double *parts = ctx;
    double s = 0.0, q = 0.0;
    for (size_t i = lo; i < hi; i++) s += red_x[i], q += (double)red_x[i] * red_x[i] * 1e-3;
    parts[2 * k] = s, parts[2 * k + 1] = q;
}

static void reduce(size_t grain, double out[2]) {
    static double parts[2 * RED_N];
    nl_parallel_reduce(RED_N, grain, red_chunk, parts, parts, 2, out);
}

static void test_reductions(void) {
    nl_rng r;
    nl_rng_seed(&r, 3);
    for (size_t i = 0; i < RED_N; i++) /* magnitudes 1e-6 .. 1e6: the order matters */
        red_x[i] = (float)(((double)nl_rng_below(&r, 2000001) - 1e6) * (i % 7 == 0   ? 1.0
                                                                        : i % 7 == 1 ? 1e-6
                                                                                     : 1e-2));
    double fixed[2] = {0}, first_parts[4][2];
    for (int t = 1; t <= 3; t++) {
        CHECK(nl_set_threads(t) == t);
        /* a fixed grain: the same bits for every thread count */
        for (int rep = 0; rep < 20; rep++) {
            double o[2];
            reduce(977, o);
            if (t == 1 && rep == 0) memcpy(fixed, o, sizeof o);
            CHECK_MSG(!memcmp(o, fixed, sizeof o), "%d threads: fixed-grain sum differs", t);
        }
        /* parts per thread count: the same bits run after run */
        const size_t grain = nl_parallel_grain(RED_N, nl_parallel_parts(RED_N, 16), 1);
        CHECK(nl_parallel_chunks(RED_N, grain) <= 16);
        for (int rep = 0; rep < 20; rep++) {
            double o[2];
            reduce(grain, o);
            if (rep == 0) memcpy(first_parts[t], o, sizeof o);
            CHECK_MSG(!memcmp(o, first_parts[t], sizeof o), "%d threads: sum differs run to run",
                      t);
        }
    }
    /* the parts helpers */
    CHECK(nl_set_threads(1) == 1);
    CHECK(nl_parallel_parts(1000, 16) == 1);
    CHECK(nl_set_threads(3) == 3);
    CHECK(nl_parallel_parts(1000, 16) == 6 && nl_parallel_parts(4, 16) == 4);
    CHECK(nl_parallel_parts(1000, 5) == 5 && nl_parallel_parts(0, 5) == 1);
    CHECK(nl_parallel_grain(100, 3, 16) == 48 && nl_parallel_grain(10, 3, 16) == 16);
    CHECK(nl_parallel_grain(0, 3, 1) == 1 && nl_parallel_grain_even(50, 0) == 50);
}

/* ---- training runs --------------------------------------------------------------- */

#define TR_N     192
#define TR_BATCH 32
#define TR_STEPS (2 * (TR_N / TR_BATCH))

/* class k: a bright block in row band k of an h x w x c image; sparse: most
   pixels 0 (the dense layer's sparse path) */
static void synth(nl_dataset *d, int h, int w, int c, int sparse, uint64_t seed) {
    memset(d, 0, sizeof *d);
    const size_t ss = (size_t)h * w * c;
    d->n = TR_N, d->h = h, d->w = w, d->c = c, d->num_classes = 10;
    d->images = malloc(TR_N * ss);
    d->labels = malloc(TR_N);
    nl_rng r;
    nl_rng_seed(&r, seed);
    for (size_t i = 0; i < TR_N; i++) {
        const int k = (int)nl_rng_below(&r, 10);
        d->labels[i] = (uint8_t)k;
        for (size_t p = 0; p < ss; p++) {
            const int row = (int)(p / ((size_t)w * c)) * 10 / h;
            uint8_t v = (uint8_t)nl_rng_below(&r, 90);
            if (row == k) v = (uint8_t)(160 + nl_rng_below(&r, 90));
            if (sparse && row != k && nl_rng_below(&r, 10) < 9) v = 0;
            d->images[i * ss + p] = v;
        }
    }
}

static nl_model *conv_model(void) {
    nl_model *m = nl_model_new(16, 16, 3);
    nl_model_conv2d(m, 16, 3, 1, NL_PAD_SAME, NL_ACT_RELU);
    nl_model_batchnorm(m, 1e-3f, 0.1f);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_conv2d(m, 32, 3, 1, NL_PAD_SAME, NL_ACT_RELU);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_flatten(m);
    nl_model_dense(m, 64, NL_ACT_RELU);
    nl_model_dropout(m, 0.3f);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    return m;
}

static nl_model *sparse_model(void) {
    nl_model *m = nl_model_new(28, 28, 1);
    nl_model_flatten(m);
    nl_model_dense(m, 128, NL_ACT_RELU);
    nl_model_dropout(m, 0.2f);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    return m;
}

typedef struct losses {
    int n;
    float v[TR_STEPS];
    uint32_t params_crc;
} losses;

static void on_step(void *user, uint64_t step, float loss) {
    losses *l = user;
    (void)step;
    if (l->n < TR_STEPS) l->v[l->n] = loss;
    l->n++;
}

static uint32_t hash_bytes(const void *p, size_t n) {
    const unsigned char *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

static void train_once(nl_model *(*build)(void), const nl_dataset *d, losses *out) {
    nl_error err = {0};
    memset(out, 0, sizeof *out);
    nl_model *m = build();
    CHECK_MSG(nl_model_compile(m, TR_BATCH, &err) == NL_OK, "%s", err.msg);
    nl_model_init(m, 9);
    nl_optim_config oc = nl_optim_defaults(NL_OPT_ADAM);
    nl_optimizer o;
    CHECK(nl_optim_init(&o, &oc, nl_model_param_slab_size(m), &err) == NL_OK);
    nl_train_config tc = nl_train_defaults();
    tc.epochs = 2, tc.batch = TR_BATCH, tc.seed = 4, tc.shuffle = 1;
    nl_train_hooks hooks = {.user = out, .step_end = on_step};
    CHECK_MSG(nl_train(m, &o, d, NULL, &tc, &hooks, NULL, &err) == NL_OK, "%s", err.msg);
    out->params_crc = hash_bytes(nl_model_params(m), nl_model_param_slab_size(m) * sizeof(float));
    nl_optim_free(&o);
    nl_model_free(m);
}

static int same(const losses *a, const losses *b) {
    return a->n == b->n && a->n == TR_STEPS && !memcmp(a->v, b->v, sizeof a->v) &&
           a->params_crc == b->params_crc;
}

static void test_training(const char *what, nl_model *(*build)(void), const nl_dataset *d) {
    losses base[4], again;
    for (int t = 1; t <= 3; t++) {
        CHECK(nl_set_threads(t) == t);
        train_once(build, d, &base[t]);
        CHECK_MSG(base[t].n == TR_STEPS, "%s: %d steps", what, base[t].n);
        CHECK_MSG(base[t].v[TR_STEPS - 1] == base[t].v[TR_STEPS - 1], "%s: loss NaN", what);
        for (int rep = 0; rep < 2; rep++) {
            train_once(build, d, &again);
            CHECK_MSG(same(&base[t], &again), "%s, %d threads: run %d differs from run 0", what, t,
                      rep + 1);
        }
    }
    /* 3 threads with worker 1 held back 1 ms every loop: the same bits */
    CHECK(nl_set_threads(3) == 3);
    nl_parallel_test_hold(1, 1);
    train_once(build, d, &again);
    nl_parallel_test_hold(1, 0);
    CHECK_MSG(same(&base[3], &again), "%s, 3 threads: a held worker changed the results", what);
    /* and it learned something */
    CHECK_MSG(base[1].v[TR_STEPS - 1] < base[1].v[0], "%s: loss %g -> %g", what,
              (double)base[1].v[0], (double)base[1].v[TR_STEPS - 1]);
}

int main(void) {
    test_every_chunk_once();
    test_nested();
    test_held_worker();
    test_reductions();
    nl_dataset img, sp;
    synth(&img, 16, 16, 3, 0, 21);
    synth(&sp, 28, 28, 1, 1, 22);
    test_training("conv model", conv_model, &img);
    test_training("sparse-input model", sparse_model, &sp);
    nl_dataset_free(&img);
    nl_dataset_free(&sp);
    nl_set_threads(0);
    CHECK(nl_get_threads() >= 1);
    CHECK_DONE();
}

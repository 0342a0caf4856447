/* Optimizer steps against values computed by hand. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nnlab/core.h"
#include "nnlab/optim.h"

static void test_adam(void) {
    nl_optim_config c = nl_optim_defaults(NL_OPT_ADAM);
    nl_optimizer o;
    CHECK(nl_optim_init(&o, &c, 2, NULL) == NL_OK);
    float p[2] = {1.0f, -2.0f};
    const float g[2] = {0.5f, -0.1f};
    nl_optim_step(&o, p, g);
    /* t=1: m = 0.1 g, v = 0.001 g^2; mhat = g, vhat = g^2 -> step lr * g/(|g| + eps) */
    CHECK_NEAR(p[0], 1.0 - 1e-3 * 0.5 / (0.5 + 1e-7), 1e-7);
    CHECK_NEAR(p[1], -2.0 + 1e-3 * 0.1 / (0.1 + 1e-7), 1e-7);
    /* t=2 with g' = (0.2, 0.3), by hand in double */
    const float g2[2] = {0.2f, 0.3f};
    double m0 = 0.9 * 0.05 + 0.1 * 0.2, v0 = 0.999 * 0.00025 + 0.001 * 0.04;
    double exp0 = p[0] - 1e-3 * (m0 / (1 - 0.81)) / (sqrt(v0 / (1 - 0.998001)) + 1e-7);
    nl_optim_step(&o, p, g2);
    CHECK_NEAR(p[0], exp0, 2e-7);
    CHECK(o.t == 2);
    nl_optim_free(&o);
}

static void test_adamw(void) {
    nl_optim_config c = nl_optim_defaults(NL_OPT_ADAMW);
    c.weight_decay = 0.1f;
    c.lr = 0.01f;
    nl_optimizer o;
    CHECK(nl_optim_init(&o, &c, 1, NULL) == NL_OK);
    float p[1] = {2.0f};
    const float g[1] = {0.0f};
    nl_optim_step(&o, p, g);
    /* zero gradient: only the decoupled decay acts: p *= 1 - lr * wd */
    CHECK_NEAR(p[0], 2.0 * (1 - 0.01 * 0.1), 1e-6);
    nl_optim_free(&o);
}

static void test_sgd(void) {
    nl_optim_config c = nl_optim_defaults(NL_OPT_SGD);
    c.lr = 0.1f;
    nl_optimizer o;
    CHECK(nl_optim_init(&o, &c, 1, NULL) == NL_OK);
    float p[1] = {1.0f};
    const float g[1] = {2.0f};
    nl_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 0.8, 1e-7);
    nl_optim_free(&o);
    c.momentum = 0.9f;
    CHECK(nl_optim_init(&o, &c, 1, NULL) == NL_OK);
    p[0] = 1.0f;
    nl_optim_step(&o, p, g); /* u = 2, p = 0.8 */
    nl_optim_step(&o, p, g); /* u = 0.9*2 + 2 = 3.8, p = 0.8 - 0.38 = 0.42 */
    CHECK_NEAR(p[0], 0.42, 1e-6);
    nl_optim_free(&o);
}

/* n parameters, 3 Adam steps on pseudo-random gradients with `threads`
 * threads; returns the parameters (malloc'd). */
static float *adam_run(size_t n, int threads, nl_optim_kind kind) {
    nl_set_threads(threads);
    nl_optim_config c = nl_optim_defaults(kind);
    nl_optimizer o;
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
    CHECK(p && g && nl_optim_init(&o, &c, n, NULL) == NL_OK);
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    for (int step = 0; step < 3; step++) {
        for (size_t i = 0; i < n; i++) {
            s = s * 1664525u + 1013904223u;
            /* some exact zeros, some tiny values */
            g[i] = (s >> 28) == 0 ? 0.0f : ((float)(s >> 8) / 16777216.0f - 0.5f) * 1e-3f;
        }
        nl_optim_step(&o, p, g);
    }
    nl_optim_free(&o);
    free(g);
    return p;
}

/* The update is elementwise and every element takes the same arithmetic path
 * wherever a thread's range starts or ends: the same result for 1, 2 and 3
 * threads, bit for bit, on a size with a ragged tail. */
static void test_split_invariance(void) {
    const size_t n = 70001; /* above the threading threshold; n % 16 != 0 */
    const nl_optim_kind kinds[] = {NL_OPT_ADAM, NL_OPT_ADAMW, NL_OPT_SGD};
    for (int k = 0; k < 3; k++) {
        float *a = adam_run(n, 1, kinds[k]), *b = adam_run(n, 2, kinds[k]);
        float *c = adam_run(n, 3, kinds[k]);
        CHECK_MSG(!memcmp(a, b, n * sizeof *a), "%s: 1 and 2 threads differ",
                  nl_optim_name(kinds[k]));
        CHECK_MSG(!memcmp(a, c, n * sizeof *a), "%s: 1 and 3 threads differ",
                  nl_optim_name(kinds[k]));
        free(a), free(b), free(c);
    }
}

static void test_config_errors(void) {
    nl_error err = {0};
    nl_optimizer o;
    nl_optim_config c = nl_optim_defaults(NL_OPT_ADAM);
    c.lr = -1;
    CHECK(nl_optim_init(&o, &c, 4, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "learning rate");
    c = nl_optim_defaults(NL_OPT_ADAM);
    c.beta1 = 1.0f;
    CHECK(nl_optim_init(&o, &c, 4, &err) == NL_EINVAL);
    nl_optim_kind k;
    CHECK(nl_optim_parse("adamw", &k, &err) == NL_OK && k == NL_OPT_ADAMW);
    CHECK(nl_optim_parse("rmsprop", &k, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "rmsprop");
    /* an option the kind does not use is refused, not dropped */
    c = nl_optim_defaults(NL_OPT_ADAM);
    c.weight_decay = 0.01f;
    CHECK(nl_optim_init(&o, &c, 4, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "adam: weight_decay");
    c = nl_optim_defaults(NL_OPT_SGD);
    c.weight_decay = 0.01f;
    CHECK(nl_optim_init(&o, &c, 4, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "sgd: weight_decay");
    c = nl_optim_defaults(NL_OPT_ADAMW);
    c.momentum = 0.9f;
    CHECK(nl_optim_init(&o, &c, 4, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "adamw: momentum");
    /* every option of the kinds that use it reaches the update */
    c = nl_optim_defaults(NL_OPT_ADAM);
    c.beta1 = 0.5f, c.beta2 = 0.75f, c.eps = 0.5f, c.lr = 0.1f;
    CHECK(nl_optim_init(&o, &c, 1, &err) == NL_OK);
    float p[1] = {1.0f};
    const float g[1] = {2.0f};
    nl_optim_step(&o, p, g); /* mhat = 2, vhat = 4: p -= 0.1 * 2 / (2 + 0.5) */
    CHECK_NEAR(p[0], 1.0 - 0.1 * 2.0 / 2.5, 1e-6);
    /* m = 0.5 * 1 + 0.5 * 2 = 1.5, v = 0.75 * 1 + 0.25 * 4 = 1.75; mhat = 1.5 / 0.75 = 2,
     * vhat = 1.75 / 0.4375 = 4: the same step again */
    nl_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 1.0 - 2 * 0.1 * 2.0 / 2.5, 1e-6);
    nl_optim_free(&o);
}

/* Every schedule against values computed by hand from the formula in optim.h. */
static void test_schedules(void) {
    nl_schedule c = {0}; /* zeroed: constant, no warm-up */
    /* constant: exactly the base rate, bit for bit, at every step */
    CHECK(nl_schedule_lr(&c, 1e-3f, 0, 10, 100) == 1e-3f);
    CHECK(nl_schedule_lr(&c, 1e-3f, 12345, 10, 100) == 1e-3f);
    CHECK(nl_schedule_lr(&c, 0.0123f, 99, 7, 50) == 0.0123f);
    CHECK(nl_schedule_lr(NULL, 0.5f, 3, 1, 1) == 0.5f);

    /* warm-up over 4 steps: (s+1)/4 of the rate for s = 0..3, then the rate */
    nl_schedule w = {.kind = NL_SCHED_CONSTANT, .warmup = 4};
    CHECK(nl_schedule_lr(&w, 1.0f, 0, 10, 100) == 0.25f);
    CHECK(nl_schedule_lr(&w, 1.0f, 1, 10, 100) == 0.5f);
    CHECK(nl_schedule_lr(&w, 1.0f, 2, 10, 100) == 0.75f);
    CHECK(nl_schedule_lr(&w, 1.0f, 3, 10, 100) == 1.0f);
    CHECK(nl_schedule_lr(&w, 1.0f, 4, 10, 100) == 1.0f);
    CHECK(nl_schedule_lr(&w, 0.1f, 0, 10, 100) == (float)(0.1f * 0.25));

    /* step: 10 steps an epoch, x0.5 every 2 epochs: steps 0..19 the rate,
     * 20..39 half of it, 40.. a quarter */
    nl_schedule st = {.kind = NL_SCHED_STEP, .step_size = 2, .gamma = 0.5f};
    CHECK(nl_schedule_lr(&st, 0.8f, 0, 10, 100) == 0.8f);
    CHECK(nl_schedule_lr(&st, 0.8f, 19, 10, 100) == 0.8f);
    CHECK(nl_schedule_lr(&st, 0.8f, 20, 10, 100) == 0.4f);
    CHECK(nl_schedule_lr(&st, 0.8f, 39, 10, 100) == 0.4f);
    CHECK(nl_schedule_lr(&st, 0.8f, 40, 10, 100) == 0.2f);
    CHECK(nl_schedule_lr(&st, 0.8f, 99, 10, 100) == 0.05f);
    /* defaults: step_size 0 is 1 epoch, gamma 0 is 0.1 (the float 0.1) */
    nl_schedule sd = {.kind = NL_SCHED_STEP};
    CHECK(nl_schedule_lr(&sd, 1.0f, 4, 5, 100) == 1.0f);
    CHECK(nl_schedule_lr(&sd, 1.0f, 5, 5, 100) == 0.1f);
    CHECK(nl_schedule_lr(&sd, 1.0f, 10, 5, 100) == (float)((double)0.1f * (double)0.1f));
    /* step with warm-up: the decayed rate times the warm-up factor */
    nl_schedule sw = {.kind = NL_SCHED_STEP, .warmup = 8, .step_size = 1, .gamma = 0.5f};
    CHECK(nl_schedule_lr(&sw, 1.0f, 5, 5, 100) == (float)(0.5 * 6.0 / 8.0));
    CHECK(nl_schedule_lr(&sw, 1.0f, 8, 5, 100) == 0.5f);

    /* cosine over T = 100 steps: 1 at the start, 0.5 half-way, and at the
     * last step 0.5 (1 + cos(0.99 pi)) = 2.4671981713417e-4 */
    nl_schedule co = {.kind = NL_SCHED_COSINE};
    CHECK(nl_schedule_lr(&co, 1.0f, 0, 10, 100) == 1.0f);
    CHECK(nl_schedule_lr(&co, 1.0f, 50, 10, 100) == 0.5f);
    CHECK_NEAR(nl_schedule_lr(&co, 1.0f, 25, 10, 100), 0.853553391, 1e-7); /* (1+cos(pi/4))/2 */
    CHECK(nl_schedule_lr(&co, 1.0f, 99, 10, 100) == (float)2.4671981713417e-4);
    CHECK(nl_schedule_lr(&co, 2.0f, 99, 10, 100) == (float)4.9343963426834e-4);
    /* cosine with 10 warm-up steps, T = 110: s/10 ramp (cosine still 1), then
     * the cosine over the remaining 100 steps */
    nl_schedule cw = {.kind = NL_SCHED_COSINE, .warmup = 10};
    CHECK(nl_schedule_lr(&cw, 1.0f, 0, 10, 110) == 0.1f);
    CHECK(nl_schedule_lr(&cw, 1.0f, 4, 10, 110) == 0.5f);
    CHECK(nl_schedule_lr(&cw, 1.0f, 9, 10, 110) == 1.0f);
    CHECK(nl_schedule_lr(&cw, 1.0f, 10, 10, 110) == 1.0f);
    CHECK(nl_schedule_lr(&cw, 1.0f, 60, 10, 110) == 0.5f);
    CHECK(nl_schedule_lr(&cw, 1.0f, 109, 10, 110) == (float)2.4671981713417e-4);
    /* warm-up longer than training: the cosine's denominator is 1 */
    nl_schedule cl = {.kind = NL_SCHED_COSINE, .warmup = 50};
    CHECK(nl_schedule_lr(&cl, 1.0f, 9, 1, 20) == 0.2f);

    /* names, parsing, checks */
    nl_error err = {0};
    nl_schedule_kind k;
    CHECK(nl_schedule_parse("cosine", &k, &err) == NL_OK && k == NL_SCHED_COSINE);
    CHECK(nl_schedule_parse("step", &k, &err) == NL_OK && k == NL_SCHED_STEP);
    CHECK(nl_schedule_parse("constant", &k, &err) == NL_OK && k == NL_SCHED_CONSTANT);
    CHECK(nl_schedule_parse("linear", &k, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "'linear'");
    CHECK_CONTAINS(err.msg, "constant, step or cosine");
    CHECK(!strcmp(nl_schedule_name(NL_SCHED_COSINE), "cosine"));
    CHECK(!strcmp(nl_schedule_name(NL_SCHED_STEP), "step"));
    CHECK(!strcmp(nl_schedule_name(NL_SCHED_CONSTANT), "constant"));
    CHECK(nl_schedule_check(&cw, &err) == NL_OK);
    nl_schedule bad = {.kind = NL_SCHED_STEP, .warmup = -1};
    CHECK(nl_schedule_check(&bad, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "warmup");
    bad.warmup = 0, bad.gamma = -0.5f;
    CHECK(nl_schedule_check(&bad, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "gamma");
    bad.gamma = 0, bad.step_size = -2;
    CHECK(nl_schedule_check(&bad, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "step_size");
    bad.step_size = 0, bad.kind = (nl_schedule_kind)7;
    CHECK(nl_schedule_check(&bad, &err) == NL_EINVAL);
}

/* nl_optim_step_lr at rate r equals nl_optim_step of an optimizer whose base
 * rate is r (bit for bit), and leaves cfg.lr alone. */
static void test_step_lr(void) {
    const nl_optim_kind kinds[] = {NL_OPT_ADAM, NL_OPT_ADAMW, NL_OPT_SGD};
    for (int k = 0; k < 3; k++) {
        nl_optim_config a = nl_optim_defaults(kinds[k]), b = a;
        if (kinds[k] == NL_OPT_SGD) a.momentum = b.momentum = 0.9f;
        b.lr = 0.25f * a.lr;
        nl_optimizer oa, ob;
        CHECK(nl_optim_init(&oa, &a, 3, NULL) == NL_OK && nl_optim_init(&ob, &b, 3, NULL) == NL_OK);
        float pa[3] = {1.0f, -0.5f, 0.25f}, pb[3] = {1.0f, -0.5f, 0.25f};
        const float g[3] = {0.3f, -0.2f, 0.1f};
        for (int s = 0; s < 3; s++) {
            nl_optim_step_lr(&oa, 0.25f * a.lr, pa, g);
            nl_optim_step(&ob, pb, g);
        }
        CHECK_MSG(!memcmp(pa, pb, sizeof pa), "%s", nl_optim_name(kinds[k]));
        CHECK(oa.cfg.lr == a.lr && oa.t == 3);
        nl_optim_free(&oa), nl_optim_free(&ob);
    }
}

int main(void) {
    test_adam();
    test_adamw();
    test_sgd();
    test_config_errors();
    test_split_invariance();
    test_schedules();
    test_step_lr();
    CHECK_DONE();
}

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
}

int main(void) {
    test_adam();
    test_adamw();
    test_sgd();
    test_config_errors();
    test_split_invariance();
    CHECK_DONE();
}

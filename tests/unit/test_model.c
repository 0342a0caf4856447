/* Model builder, model files (round trip, truncated, tampered), determinism;
 * the steps compile plans (model/steps.h), and the default plan (fused steps)
 * against one layer per step (nl_compile_options.no_fuse): the same model. */
#include "check.h"
#include "core/rng.h"
#include "model/steps.h"
#include "nnlab/core.h"
#include "nnlab/train.h"
#include "testutil.h"

/* A small synthetic 10-class problem: class k lights pixel block k. */
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
        for (int p = 0; p < 30; p++) {
            int on = p / 3 == k;
            d->images[i * 30 + p] =
                (uint8_t)(on ? 200 + nl_rng_below(&r, 55) : nl_rng_below(&r, 90));
        }
    }
}

static nl_model *small_model(void) {
    nl_model *m = nl_model_new(6, 5, 1);
    nl_model_dense(m, 16, NL_ACT_RELU);
    nl_model_dropout(m, 0.25f);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    return m;
}

static void train_run(uint64_t seed, nl_epoch_stats st[2], float *params_out, size_t np) {
    nl_dataset tr, te;
    synth(&tr, 300, 11);
    synth(&te, 100, 12);
    nl_model *m = small_model();
    nl_error err = {0};
    CHECK(nl_model_compile(m, 8, &err) == NL_OK);
    nl_model_init(m, seed);
    nl_optim_config oc = nl_optim_defaults(NL_OPT_ADAM);
    oc.lr = 1e-2f;
    nl_optimizer o;
    CHECK(nl_optim_init(&o, &oc, nl_model_param_slab_size(m), &err) == NL_OK);
    nl_train_config tc = nl_train_defaults();
    tc.epochs = 2;
    tc.batch = 8;
    tc.seed = seed;
    CHECK(nl_train(m, &o, &tr, &te, &tc, NULL, st, &err) == NL_OK);
    if (params_out) memcpy(params_out, nl_model_params(m), np * sizeof(float));
    nl_optim_free(&o);
    nl_model_free(m);
    nl_dataset_free(&tr);
    nl_dataset_free(&te);
}

static void test_determinism_and_learning(void) {
    nl_epoch_stats a[2], b[2], c[2];
    nl_model *m = small_model();
    CHECK(nl_model_compile(m, 8, NULL) == NL_OK);
    size_t np = nl_model_param_slab_size(m);
    nl_model_free(m);
    float *pa = malloc(np * 4), *pb = malloc(np * 4);
    train_run(5, a, pa, np);
    train_run(5, b, pb, np);
    train_run(6, c, NULL, 0);
    CHECK_MSG(memcmp(&a[0].loss, &b[0].loss, sizeof(double)) == 0 &&
                  memcmp(&a[1].loss, &b[1].loss, sizeof(double)) == 0,
              "same seed: losses %.17g %.17g vs %.17g %.17g", a[0].loss, a[1].loss, b[0].loss,
              b[1].loss);
    CHECK_MSG(memcmp(pa, pb, np * 4) == 0, "same seed must give bit-identical parameters");
    CHECK_MSG(a[1].loss != c[1].loss, "another seed should give another loss");
    CHECK_MSG(a[1].test_accuracy > 0.9, "synthetic problem: test accuracy %.3f",
              a[1].test_accuracy);
    CHECK(a[1].loss < a[0].loss);
    free(pa), free(pb);
}

static void test_builder_errors(void) {
    nl_error err = {0};
    nl_model *m = nl_model_new(28, 28, 1);
    nl_model_dense(m, 0, NL_ACT_RELU);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    CHECK(nl_model_compile(m, 32, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "layer 0 (dense)");
    nl_model_free(m);
    m = nl_model_new(28, 28, 1);
    nl_model_dense(m, 10, NL_ACT_RELU);
    CHECK(nl_model_compile(m, 32, &err) == NL_EINVAL);
    CHECK_CONTAINS(err.msg, "softmax");
    nl_model_free(m);
    m = nl_model_new(0, 28, 1);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    CHECK(nl_model_compile(m, 32, &err) == NL_EINVAL);
    nl_model_free(m);
    CHECK(nl_workload_build("resnet", &m, &err) == NL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "resnet");
    /* The mnist workload has 784*128+128 + 128*10+10 parameters. */
    CHECK(nl_workload_build("mnist", &m, &err) == NL_OK);
    CHECK(nl_model_compile(m, 32, &err) == NL_OK);
    CHECK(nl_model_num_params(m) == 101770);
    nl_model_free(m);
    CHECK(nl_workload_build("mnist-keras-paper", &m, &err) == NL_OK);
    CHECK(nl_model_compile(m, 32, &err) == NL_OK);
    CHECK(nl_model_num_params(m) == 118282);
    nl_model_free(m);
}

static void test_init(void) {
    nl_model *m = small_model();
    CHECK(nl_model_compile(m, 4, NULL) == NL_OK);
    nl_model_init(m, 9);
    const float *p = nl_model_params(m);
    const float limit = sqrtf(6.0f / (30 + 16));
    int inside = 1, nonzero = 0;
    for (int i = 0; i < 30 * 16; i++) inside &= fabsf(p[i]) <= limit, nonzero += p[i] != 0;
    CHECK_MSG(inside, "glorot-uniform weights within +-%g", limit);
    CHECK(nonzero > 400);
    int zero_bias = 1;
    for (int i = 0; i < 16; i++) zero_bias &= p[30 * 16 + i] == 0.0f;
    CHECK(zero_bias);
    nl_model_free(m);
}

static void test_model_file(void) {
    nl_error err = {0};
    nl_model *m = small_model();
    CHECK(nl_model_compile(m, 4, &err) == NL_OK);
    nl_model_init(m, 3);
    nl_optim_config oc = nl_optim_defaults(NL_OPT_ADAM);
    nl_optimizer o;
    CHECK(nl_optim_init(&o, &oc, nl_model_param_slab_size(m), &err) == NL_OK);
    /* take a step so that the moments are not zero */
    float *g = nl_model_grads(m);
    for (int l = 0; l < nl_model_num_layers(m); l++)
        for (size_t i = 0; i < nl_model_layer_params(m, l); i++)
            g[nl_model_layer_param_offset(m, l) + i] = 0.01f * (float)(i % 7);
    nl_optim_step(&o, nl_model_params(m), g);
    const char *path = tu_path("model.nnlab");
    CHECK(nl_model_save(path, m, "tiny", &o, &err) == NL_OK);

    nl_model *m2 = NULL;
    nl_optimizer o2;
    char name[64];
    CHECK(nl_model_load(path, 4, &m2, &o2, name, sizeof name, &err) == NL_OK);
    CHECK(m2 && !strcmp(name, "tiny"));
    if (m2) {
        CHECK(nl_model_num_layers(m2) == 3);
        CHECK(nl_model_param_slab_size(m2) == nl_model_param_slab_size(m));
        CHECK(memcmp(nl_model_params(m2), nl_model_params(m), nl_model_param_slab_size(m) * 4) ==
              0);
        CHECK(o2.t == 1 && o2.cfg.kind == NL_OPT_ADAM);
        CHECK(memcmp(o2.m, o.m, o.n * 4) == 0 && memcmp(o2.v, o.v, o.n * 4) == 0);
        /* same predictions */
        float x[30 * 2];
        for (int i = 0; i < 60; i++) x[i] = (float)i / 60;
        const float *y1 = nl_model_forward(m, x, 2, 0);
        float a[20];
        memcpy(a, y1, sizeof a);
        const float *y2 = nl_model_forward(m2, x, 2, 0);
        CHECK(memcmp(a, y2, sizeof a) == 0);
        nl_optim_free(&o2);
        nl_model_free(m2);
    }
    /* truncated and tampered copies */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)n);
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    tu_write("trunc.nnlab", buf, (size_t)n - 100);
    CHECK(nl_model_load(tu_path("trunc.nnlab"), 4, &m2, NULL, NULL, 0, &err) != NL_OK);
    CHECK_CONTAINS(err.msg, "trunc.nnlab");
    buf[n / 2] ^= 0x01;
    tu_write("tampered.nnlab", buf, (size_t)n);
    CHECK(nl_model_load(tu_path("tampered.nnlab"), 4, &m2, NULL, NULL, 0, &err) == NL_ECHECKSUM);
    CHECK_CONTAINS(err.msg, "checksum");
    buf[n / 2] ^= 0x01;
    buf[8] = 99; /* future version */
    tu_write("version.nnlab", buf, (size_t)n);
    CHECK(nl_model_load(tu_path("version.nnlab"), 4, &m2, NULL, NULL, 0, &err) == NL_ENOTSUP);
    CHECK_CONTAINS(err.msg, "version 99");
    tu_write("short.nnlab", "NNLAB", 5);
    CHECK(nl_model_load(tu_path("short.nnlab"), 4, &m2, NULL, NULL, 0, &err) == NL_EFORMAT);
    tu_write("other.nnlab", "PK\x03\x04 this is a zip file, not a model file", 40);
    CHECK(nl_model_load(tu_path("other.nnlab"), 4, &m2, NULL, NULL, 0, &err) == NL_EFORMAT);
    CHECK_CONTAINS(err.msg, "magic");
    /* saving into a missing directory fails cleanly and leaves nothing behind */
    CHECK(nl_model_save(tu_path("no/such/dir/m.nnlab"), m, "tiny", NULL, &err) == NL_EIO);
    free(buf);
    nl_optim_free(&o);
    nl_model_free(m);
}

/* conv -> BN -> pool -> conv -> BN -> pool -> dense: one forward and backward with the
 * default plan (variant 0: each convolution and its batch-norm/pool pair one step,
 * the convolution handing the pair its output and taking the pair's gradient image
 * by image) and with one layer per step (no_fuse). Variant 1: the first pool's
 * windows overlap (3x3, stride 2: the convolution's output is pooled after it, not
 * image by image), and a batch-norm/pool pair with no convolution before it. */
static nl_model *conv_model(int fuse, int variant) {
    /* variant 2: as 0 with gelu and tanh convolutions (activation.c's code
       inside the fused steps) */
    const nl_act a1 = variant == 2 ? NL_ACT_GELU : NL_ACT_RELU;
    const nl_act a2 = variant == 2 ? NL_ACT_TANH : NL_ACT_RELU;
    nl_model *m = nl_model_new(12, 11, 3);
    if (variant == 1) {
        nl_model_batchnorm(m, 1e-5f, 0.1f);
        nl_model_maxpool2d(m, 1, 1);
    }
    nl_model_conv2d(m, 16, 3, 1, NL_PAD_VALID, a1); /* direct: C = 3 */
    nl_model_batchnorm(m, 1e-5f, 0.1f);
    nl_model_maxpool2d(m, variant == 1 ? 3 : 2, 2);
    nl_model_conv2d(m, 16, 3, 1, NL_PAD_SAME, a2); /* Winograd */
    nl_model_batchnorm(m, 1e-5f, 0.1f);
    nl_model_maxpool2d(m, 2, 2);
    nl_model_flatten(m);
    nl_model_dense(m, 10, NL_ACT_SOFTMAX);
    nl_error err = {0};
    const nl_compile_options opt = {.no_fuse = !fuse};
    CHECK(nl_model_set_options(m, &opt, &err) == NL_OK);
    CHECK(nl_model_compile(m, 6, &err) == NL_OK);
    nl_model_init(m, 3);
    return m;
}

/* The steps of model m are names[0 .. n) and start at the layers first[]. */
static void check_steps(const char *what, const nl_model *m, int n, const char *const *names,
                        const int *first) {
    CHECK_MSG(nl_model_num_steps(m) == n, "%s: %d steps, expected %d", what, nl_model_num_steps(m),
              n);
    int next = 0;
    for (int k = 0; k < nl_model_num_steps(m) && k < n; k++) {
        int f, c;
        nl_model_step_layers(m, k, &f, &c);
        CHECK_MSG(!strcmp(nl_model_step_name(m, k), names[k]), "%s: step %d is %s, expected %s",
                  what, k, nl_model_step_name(m, k), names[k]);
        CHECK_MSG(f == first[k] && f == next && c >= 1, "%s: step %d runs layers %d..%d", what, k,
                  f, f + c - 1);
        next = f + c;
    }
    CHECK_MSG(next == nl_model_num_layers(m), "%s: the steps cover layers 0..%d of %d", what,
              next - 1, nl_model_num_layers(m));
    CHECK(nl_model_step_name(m, n) == NULL);
}

static void test_step_plan(void) {
    nl_error err = {0};
    nl_model *m = NULL;
    CHECK(nl_workload_build("cifar10", &m, &err) == NL_OK);
    CHECK(nl_model_num_steps(m) == 0); /* not compiled */
    CHECK(nl_model_compile(m, 4, &err) == NL_OK);
    static const char *const fused[] = {"conv2d+bn+pool", "conv2d+bn+pool", "flatten",
                                        "dense",          "dropout",        "dense"};
    static const int fused_first[] = {0, 3, 6, 7, 8, 9};
    check_steps("cifar10", m, 6, fused, fused_first);
    const size_t fused_bytes = nl_model_activation_bytes(m);
    /* no_fuse after compile: replanned, one layer per step, as the layers */
    const nl_compile_options nf = {.no_fuse = 1};
    CHECK(nl_model_set_options(m, &nf, &err) == NL_OK);
    static const char *const layers[] = {"conv2d",    "batchnorm", "maxpool2d", "conv2d",
                                         "batchnorm", "maxpool2d", "flatten",   "dense",
                                         "dropout",   "dense"};
    static const int layer_first[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    check_steps("cifar10, no_fuse", m, 10, layers, layer_first);
    CHECK(nl_model_activation_bytes(m) > fused_bytes);
    const nl_compile_options fu = {0};
    CHECK(nl_model_set_options(m, &fu, &err) == NL_OK);
    check_steps("cifar10, fused again", m, 6, fused, fused_first);
    CHECK(nl_model_activation_bytes(m) == fused_bytes);
    nl_model_free(m);
    /* variant 1: a pair alone, then a convolution with a pair whose windows overlap */
    m = conv_model(1, 1);
    static const char *const v1[] = {"batchnorm+pool", "conv2d+bn+pool", "conv2d+bn+pool",
                                     "flatten", "dense"};
    static const int v1_first[] = {0, 2, 5, 8, 9};
    check_steps("variant 1", m, 5, v1, v1_first);
    nl_model_free(m);
    /* mnist: nothing to fuse */
    CHECK(nl_workload_build("mnist", &m, &err) == NL_OK);
    CHECK(nl_model_compile(m, 4, &err) == NL_OK);
    static const char *const mn[] = {"dense", "dropout", "dense"};
    static const int mn_first[] = {0, 1, 2};
    check_steps("mnist", m, nl_model_num_layers(m), mn, mn_first);
    nl_model_free(m);
}

static void test_fusion_same_model(int variant) {
    nl_model *f = conv_model(1, variant), *u = conv_model(0, variant);
    const size_t in = nl_model_input_size(f), np = nl_model_param_slab_size(f);
    CHECK(np == nl_model_param_slab_size(u));
    CHECK_MSG(nl_model_activation_bytes(f) < nl_model_activation_bytes(u),
              "fused %zu bytes, unfused %zu: the batch-norm outputs need no buffers",
              nl_model_activation_bytes(f), nl_model_activation_bytes(u));
    float *x = malloc(6 * in * sizeof *x);
    uint8_t y[6] = {1, 7, 3, 3, 0, 9};
    nl_rng r;
    nl_rng_seed(&r, 4);
    for (size_t i = 0; i < 6 * in; i++) x[i] = nl_rng_uniform(&r);
    for (int step = 0; step < 2; step++) { /* the second with running statistics moved */
        const int training = step == 0;
        const float *lf = nl_model_forward(f, x, 6, training);
        const float *lu = nl_model_forward(u, x, 6, training);
        double e = 0;
        for (int i = 0; i < 60; i++) e = fmax(e, fabs((double)lf[i] - lu[i]));
        /* the pairs sum in another order; the second convolution (Winograd
           F(4x4) forward on 5x4 outputs) and batch norm over 6 images amplify
           that: 1.4e-5 measured at step 0 (2.5e-6 with F(2x2) or direct) */
        CHECK_MSG(e < 5e-5, "step %d: probabilities differ by %.3g", step, e);
        const float a = nl_model_loss_backward(f, y, 6, 1, NULL);
        const float b = nl_model_loss_backward(u, y, 6, 1, NULL);
        CHECK_NEAR(a, b, 1e-5);
        /* each layer's gradient as a vector: |gf - gu| / |gu| (2e-6 measured
           with gcc and clang). Not elementwise: a gradient near zero is the
           difference of larger terms, and its relative error is large (1-2% on
           a 4e-5 gradient of the first convolution here). */
        const float *gf = nl_model_grads(f), *gu = nl_model_grads(u);
        double eg = 0;
        for (int l = 0; l < nl_model_num_layers(f); l++) {
            const size_t off = nl_model_layer_param_offset(f, l), n = nl_model_layer_params(f, l);
            double d2 = 0, u2 = 0;
            for (size_t i = off; i < off + n; i++) {
                d2 += ((double)gf[i] - gu[i]) * ((double)gf[i] - gu[i]);
                u2 += (double)gu[i] * gu[i];
            }
            if (n) eg = fmax(eg, sqrt(d2 / u2));
        }
        CHECK_MSG(eg < 1e-4, "step %d: a layer's gradients differ (relative %.3g)", step, eg);
        double es = 0;
        for (size_t i = 0; i < nl_model_num_state(f); i++)
            es = fmax(es, fabs((double)nl_model_state(f)[i] - nl_model_state(u)[i]));
        CHECK_MSG(es < 1e-6, "step %d: running statistics differ by %.3g", step, es);
    }
    free(x);
    nl_model_free(f);
    nl_model_free(u);
}

/* Compiles m (which it frees on failure) and checks the outcome: the status,
 * a fragment of the message and the layer nl_model_error_layer names. */
static void compile_fails(const char *what, nl_model *m, const char *frag, int layer) {
    nl_error err = {0};
    const nl_status st = nl_model_compile(m, 4, &err);
    CHECK_MSG(st == NL_EINVAL, "%s: compile gave %d", what, st);
    CHECK_CONTAINS(err.msg, frag);
    CHECK_MSG(nl_model_error_layer(m) == layer, "%s: error layer %d, expected %d (%s)", what,
              nl_model_error_layer(m), layer, err.msg);
    nl_model_free(m);
}

static void test_loss_checks(void) {
    nl_model *m = nl_model_new(1, 1, 8);
    nl_model_dense(m, 8, NL_ACT_SOFTMAX);
    nl_model_dense(m, 4, NL_ACT_SOFTMAX);
    compile_fails("dense softmax not last", m,
                  "layer 0 (dense): softmax is only supported as the last layer", 0);
    m = nl_model_new(6, 6, 2);
    nl_model_conv2d(m, 4, 3, 1, NL_PAD_SAME, NL_ACT_GELU);
    nl_model_activation(m, NL_ACT_SOFTMAX, 0);
    nl_model_globalavgpool2d(m);
    nl_model_activation(m, NL_ACT_SOFTMAX, 0);
    compile_fails("softmax layer not last", m,
                  "layer 1 (activation): softmax is only supported as the last layer", 1);
    m = nl_model_new(1, 1, 8);
    nl_model_dense(m, 4, NL_ACT_NONE);
    compile_fails("crossentropy without softmax", m, "crossentropy loss needs softmax", 0);
    m = nl_model_new(4, 4, 3);
    nl_model_globalavgpool2d(m);
    compile_fails("crossentropy on a pool", m, "layer 0 (globalavgpool2d): the crossentropy", 0);
    m = nl_model_new(1, 1, 8);
    nl_model_dense(m, 6, NL_ACT_TANH);
    nl_model_dense(m, 3, NL_ACT_SOFTMAX);
    nl_model_set_loss(m, NL_LOSS_MSE);
    compile_fails("mse with dense softmax", m, "layer 1 (dense): mse with softmax", 1);
    m = nl_model_new(1, 1, 8);
    nl_model_dense(m, 6, NL_ACT_NONE);
    nl_model_activation(m, NL_ACT_LEAKYRELU, 0.1f);
    nl_model_activation(m, NL_ACT_SOFTMAX, 0);
    nl_model_set_loss(m, NL_LOSS_MSE);
    compile_fails("mse with a softmax layer", m, "layer 2 (activation): mse with softmax", 2);
    /* a layer's own check names its index too */
    m = nl_model_new(4, 4, 3);
    nl_model_conv2d(m, 8, 3, 1, NL_PAD_VALID, NL_ACT_RELU);
    nl_model_globalavgpool2d(m);
    nl_model_avgpool2d(m, 2, 2);
    nl_model_dense(m, 3, NL_ACT_SOFTMAX);
    compile_fails("avgpool on 1x1", m, "layer 2 (avgpool2d): avgpool2d: input 1x1x8 is smaller", 2);
    /* what compiles: a softmax layer last; mse on a linear or tanh output */
    nl_error err = {0};
    m = nl_model_new(3, 3, 2);
    nl_model_flatten(m);
    nl_model_dense(m, 7, NL_ACT_NONE);
    nl_model_activation(m, NL_ACT_SOFTMAX, 0);
    CHECK(nl_model_num_classes(m) == 0); /* not compiled, no dense last */
    CHECK(nl_model_compile(m, 4, &err) == NL_OK);
    CHECK(nl_model_error_layer(m) == -1);
    CHECK(nl_model_num_classes(m) == 7 && nl_model_num_outputs(m) == 7);
    nl_model_free(m);
    m = nl_model_new(1, 1, 5);
    nl_model_dense(m, 3, NL_ACT_TANH);
    nl_model_set_loss(m, NL_LOSS_MSE);
    CHECK(nl_model_compile(m, 4, &err) == NL_OK);
    CHECK(nl_model_loss_kind(m) == NL_LOSS_MSE);
    CHECK(nl_model_num_classes(m) == 0 && nl_model_num_outputs(m) == 3);
    nl_model_free(m);
}

/* dense 10 softmax against dense 10 and a softmax layer: the same parameters,
 * outputs, loss and gradients, bit for bit. */
static void test_softmax_layer(void) {
    nl_model *a = nl_model_new(6, 5, 1), *b = nl_model_new(6, 5, 1);
    nl_model_dense(a, 12, NL_ACT_GELU);
    nl_model_dense(a, 10, NL_ACT_SOFTMAX);
    nl_model_dense(b, 12, NL_ACT_GELU);
    nl_model_dense(b, 10, NL_ACT_NONE);
    nl_model_activation(b, NL_ACT_SOFTMAX, 0);
    CHECK(nl_model_compile(a, 8, NULL) == NL_OK && nl_model_compile(b, 8, NULL) == NL_OK);
    nl_model_init(a, 4), nl_model_init(b, 4);
    const size_t np = nl_model_param_slab_size(a);
    CHECK(np == nl_model_param_slab_size(b));
    CHECK(memcmp(nl_model_params(a), nl_model_params(b), np * 4) == 0);
    float x[8 * 30];
    uint8_t y[8] = {0, 1, 2, 3, 4, 5, 6, 9};
    nl_rng r;
    nl_rng_seed(&r, 5);
    for (int i = 0; i < 8 * 30; i++) x[i] = nl_rng_uniform(&r);
    const float *la = nl_model_forward(a, x, 8, 1), *lb = nl_model_forward(b, x, 8, 1);
    CHECK(memcmp(la, lb, 80 * 4) == 0);
    int ca = -1, cb = -2;
    const float lossa = nl_model_loss_backward(a, y, 8, 1, &ca);
    const float lossb = nl_model_loss_backward(b, y, 8, 1, &cb);
    CHECK(lossa == lossb && ca == cb);
    CHECK(memcmp(nl_model_grads(a), nl_model_grads(b), np * 4) == 0);
    nl_model_free(a), nl_model_free(b);
}

/* The mse loss: its value from the outputs, the gradient of the whole model
 * (tanh, batch norm after dense, gelu, a linear output) against central
 * differences, and each loss entry point refusing the other loss's model. */
static void test_mse(void) {
    enum { B = 6, I = 5, K = 3 };
    nl_model *m = nl_model_new(1, 1, I);
    nl_model_dense(m, 8, NL_ACT_TANH);
    nl_model_batchnorm(m, 1e-5f, 0.1f);
    nl_model_dense(m, 7, NL_ACT_GELU);
    nl_model_dense(m, K, NL_ACT_NONE);
    nl_model_set_loss(m, NL_LOSS_MSE);
    nl_error err = {0};
    CHECK(nl_model_compile(m, B, &err) == NL_OK);
    nl_model_init(m, 2);
    float x[B * I], t[B * K];
    nl_rng r;
    nl_rng_seed(&r, 8);
    for (int i = 0; i < B * I; i++) x[i] = 2 * nl_rng_uniform(&r) - 1;
    for (int i = 0; i < B * K; i++) t[i] = 2 * nl_rng_uniform(&r) - 1;
    const float *yv = nl_model_forward(m, x, B, 1);
    double ref = 0;
    for (int i = 0; i < B * K; i++) ref += ((double)yv[i] - t[i]) * ((double)yv[i] - t[i]);
    CHECK_NEAR(nl_model_loss_backward_values(m, t, B, 0), ref / (B * K), 1e-6);
    /* the cross-entropy entry point on an mse model: NAN, nothing touched */
    const size_t np = nl_model_param_slab_size(m);
    float *g = nl_model_grads(m), *p = nl_model_params(m);
    for (size_t i = 0; i < np; i++) g[i] = 12345.0f;
    uint8_t labels[B] = {0};
    CHECK(isnan(nl_model_loss_backward(m, labels, B, 1, NULL)));
    int untouched = 1;
    for (size_t i = 0; i < np; i++) untouched &= g[i] == 12345.0f;
    CHECK_MSG(untouched, "nl_model_loss_backward on an mse model wrote gradients");
    CHECK(isnan(nl_model_loss_backward_values(m, t, B + 1, 1))); /* over the max batch */
    /* gradient check over every layer's parameters (training mode: batch statistics) */
    nl_model_forward(m, x, B, 1);
    nl_model_loss_backward_values(m, t, B, 1);
    float *an = malloc(np * 4);
    memcpy(an, g, np * 4);
    int probes = 0, bad = 0;
    double worst = 0;
    for (int l = 0; l < nl_model_num_layers(m); l++) {
        const size_t off = nl_model_layer_param_offset(m, l), n = nl_model_layer_params(m, l);
        for (size_t i = off; i < off + n; i += n / 12 + 1) {
            const float v = p[i], h = 1e-2f;
            p[i] = v + h;
            nl_model_forward(m, x, B, 1);
            const double lp = nl_model_loss_backward_values(m, t, B, 0);
            p[i] = v - h;
            nl_model_forward(m, x, B, 1);
            const double lm = nl_model_loss_backward_values(m, t, B, 0);
            p[i] = v;
            const double num = (lp - lm) / (2 * h);
            const double e = fabs(num - an[i]) / fmax(fmax(fabs(num), fabs(an[i])), 1e-2);
            worst = fmax(worst, e);
            bad += e > 2e-2;
            probes++;
        }
    }
    CHECK_MSG(probes > 30 && bad == 0, "mse model gradient: %d of %d probes off (max %.3g)", bad,
              probes, worst);
    free(an);
    nl_model_free(m);
    /* the mse entry point on a cross-entropy model: NAN, nothing touched */
    m = small_model();
    CHECK(nl_model_compile(m, 4, NULL) == NL_OK);
    float xs[4 * 30] = {0}, ts[40] = {0};
    nl_model_forward(m, xs, 4, 1);
    g = nl_model_grads(m);
    for (size_t i = 0; i < nl_model_param_slab_size(m); i++) g[i] = 7.0f;
    CHECK(isnan(nl_model_loss_backward_values(m, ts, 4, 1)));
    untouched = 1;
    for (size_t i = 0; i < nl_model_param_slab_size(m); i++) untouched &= g[i] == 7.0f;
    CHECK_MSG(untouched, "nl_model_loss_backward_values on a cross-entropy model wrote gradients");
    nl_model_free(m);
}

/* Every new layer and activation in one model: a few SGD steps with 2 threads,
 * twice, give the same bits; the loss falls. */
static nl_model *every_layer_model(void) {
    nl_model *m = nl_model_new(12, 12, 3);
    nl_model_conv2d(m, 16, 3, 1, NL_PAD_SAME, NL_ACT_GELU); /* direct (3 channels) */
    nl_model_conv2d(m, 16, 3, 1, NL_PAD_SAME, NL_ACT_TANH); /* Winograd */
    nl_model_batchnorm(m, 1e-5f, 0.1f);
    nl_model_avgpool2d(m, 2, 2);
    nl_model_conv2d(m, 24, 2, 2, NL_PAD_SAME, NL_ACT_SIGMOID); /* even kernel, stride 2 */
    nl_model_activation(m, NL_ACT_LEAKYRELU, 0.2f);
    nl_model_conv2d(m, 16, 3, 1, NL_PAD_VALID, NL_ACT_LEAKYRELU);
    nl_model_batchnorm(m, 1e-5f, 0.1f);
    nl_model_maxpool2d(m, 1, 1);
    nl_model_globalavgpool2d(m);
    nl_model_dense(m, 12, NL_ACT_NONE);
    nl_model_batchnorm(m, 1e-5f, 0.1f); /* after dense: per feature */
    nl_model_activation(m, NL_ACT_GELU, 0);
    nl_model_activation(m, NL_ACT_TANH, 0);
    nl_model_activation(m, NL_ACT_SIGMOID, 0);
    nl_model_dense(m, 5, NL_ACT_NONE);
    nl_model_activation(m, NL_ACT_SOFTMAX, 0);
    return m;
}

static void every_layer_run(float *params, float *losses) {
    nl_model *m = every_layer_model();
    nl_error err = {0};
    CHECK_MSG(nl_model_compile(m, 10, &err) == NL_OK, "%s", err.msg);
    nl_model_init(m, 13);
    const size_t in = nl_model_input_size(m), np = nl_model_param_slab_size(m);
    float *x = malloc(10 * in * 4);
    uint8_t y[10];
    nl_rng r;
    nl_rng_seed(&r, 6);
    for (int b = 0; b < 10; b++) {
        y[b] = (uint8_t)(b % 5);
        for (size_t i = 0; i < in; i++)
            x[b * in + i] = nl_rng_uniform(&r) + (i % 5 == (size_t)y[b] ? 0.5f : 0.0f);
    }
    float *p = nl_model_params(m);
    const float *g = nl_model_grads(m);
    for (int step = 0; step < 12; step++) {
        nl_model_forward(m, x, 10, 1);
        losses[step] = nl_model_loss_backward(m, y, 10, 1, NULL);
        for (size_t i = 0; i < np; i++) p[i] -= 0.2f * g[i];
    }
    memcpy(params, p, np * 4);
    free(x);
    nl_model_free(m);
}

static void test_every_layer_bits(void) {
    nl_model *m = every_layer_model();
    CHECK(nl_model_compile(m, 10, NULL) == NL_OK);
    const size_t np = nl_model_param_slab_size(m);
    static const char *const steps[] = {
        "conv2d",     "conv2d",         "batchnorm",       "avgpool2d", "conv2d",
        "activation", "conv2d+bn+pool", "globalavgpool2d", "dense",     "batchnorm",
        "activation", "activation",     "activation",      "dense",     "activation"};
    static const int first[] = {0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16};
    check_steps("every layer", m, 15, steps, first);
    nl_model_free(m);
    float *a = malloc(np * 4), *b = malloc(np * 4), la[12], lb[12];
    nl_set_threads(2);
    every_layer_run(a, la);
    every_layer_run(b, lb);
    CHECK_MSG(memcmp(a, b, np * 4) == 0 && memcmp(la, lb, sizeof la) == 0,
              "every-layer model: two runs with 2 threads differ");
    CHECK_MSG(la[11] < la[0], "every-layer model: loss %.4f -> %.4f", la[0], la[11]);
    free(a), free(b);
}

int main(void) {
    tu_tmpdir();
    nl_set_threads(2);
    test_builder_errors();
    test_init();
    test_model_file();
    test_step_plan();
    test_fusion_same_model(0);
    test_fusion_same_model(1);
    test_fusion_same_model(2);
    test_loss_checks();
    test_softmax_layer();
    test_mse();
    test_every_layer_bits();
    test_determinism_and_learning();
    tu_cleanup();
    CHECK_DONE();
}
